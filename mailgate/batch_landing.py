"""Landing a batch of routed copies together: the raw rows at once, the common shapes set-wise.

Each copy is decided in its turn by the same steps as alone (mailgate.landing).
What is decided waits in a group, and the group is filed in one go by
helpdesk.services.inbound_batches once a copy comes that depends on it:
one from a sender of the group, or naming a Message-ID the group has (its
own or referenced), or landing on a ticket the group lands on, or of a
shape that is filed alone (a bounce, a hold). The steps' questions are
asked of the database with the group not yet written; the two answers the
group could change are kept right: a subject tag naming no ticket yet, and
the count of tickets opened lately, file the group first when it matters.
So every copy lands as it would alone, in the order it came.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from helpdesk.addresses import normalize_email
from helpdesk.enums import RawMessageState
from helpdesk.errors import ValidationError
from helpdesk.models import RawMessage
from helpdesk.services.inbound_batches import receive_mails
from helpdesk.services.inbound_mail import receive_mail
from helpdesk.services.incoming import IncomingMail, ReceiveOutcome
from helpdesk.services.raw_messages import RawArrival, mark_raw_message, store_raw_messages
from helpdesk.services.thread_references import clean_message_id
from helpdesk.storage import BlobStore
from mailgate.batch_questions import BatchQuestions, Filings
from mailgate.inbound import Envelope, InboundMessage, tenant_of
from mailgate.pipeline import TenantPorts, decision_record
from mailgate.ports import IntakeCounts, NewTicketCounts, ThreadIndex, TicketPeople, TicketRef


@dataclass(frozen=True)
class IngestResult:
    """What became of one tenant's copy of a message."""

    action: str  # an outcome of receive_mail, or duplicate / quarantined
    tenant_id: int | None
    raw_message_id: int | None
    ticket_id: int | None = None
    reason: str = ""


class Group:
    """Decided copies not yet filed, none depending on another; filed together."""

    def __init__(self, session: Session, store: BlobStore, now: datetime) -> None:
        self.session = session
        self.store = store
        self.now = now
        self.waiting: list[tuple[RawMessage, InboundMessage, IncomingMail]] = []
        self.landed: dict[int, IngestResult] = {}  # by raw message id
        self._senders: set[tuple[int, str]] = set()
        self._ids: set[tuple[int, str]] = set()
        self._tickets: set[int] = set()
        self._opening: Counter[int] = Counter()
        self.filings = Filings()

    def depends(self, msg: InboundMessage) -> bool:
        """Whether the copy, not yet decided, may depend on what the group will write."""
        tenant_id = tenant_of(msg)
        if (tenant_id, _address(msg)) in self._senders:
            return True
        return any((tenant_id, name) in self._ids for name in _ids(msg))

    def lands_with(self, mail: IncomingMail) -> bool:
        """Whether the decided copy lands on a ticket a copy of the group lands on."""
        return mail.ticket_id is not None and mail.ticket_id in self._tickets

    def opening(self, tenant_id: int) -> int:
        """How many tickets of the tenant the group would open."""
        return self._opening[tenant_id]

    def add(self, raw: RawMessage, decided: InboundMessage, mail: IncomingMail) -> None:
        """Wait with the others; the caller checked `depends` and `lands_with`."""
        tenant_id = tenant_of(decided)
        self.waiting.append((raw, decided, mail))
        self._senders.add((tenant_id, _address(decided)))
        self._ids.update((tenant_id, name) for name in _ids(decided))
        if mail.ticket_id is not None:
            self._tickets.add(mail.ticket_id)
        else:
            self._opening[tenant_id] += 1

    def file(self) -> None:
        """File every waiting copy, together; then the group is empty."""
        if not self.waiting:
            return
        mails = [mail for _, _, mail in self.waiting]
        outcomes = receive_mails(self.session, mails, store=self.store, now=self.now)
        self.filings.wrote()
        for (raw, decided, _), outcome in zip(self.waiting, outcomes, strict=True):
            self._mark(raw, decided, outcome)
        self.waiting.clear()
        self._senders.clear()
        self._ids.clear()
        self._tickets.clear()
        self._opening.clear()

    def file_alone(self, raw: RawMessage, decided: InboundMessage, mail: IncomingMail) -> None:
        """File a copy that cannot wait with others, after the group."""
        self.file()
        outcome = receive_mail(self.session, mail, store=self.store, now=self.now)
        self.filings.wrote()
        self._mark(raw, decided, outcome)

    def _mark(self, raw: RawMessage, decided: InboundMessage, outcome: ReceiveOutcome) -> None:
        self.landed[raw.id] = mark_outcome(self.session, raw, decided, outcome, self.now)


class GroupIndex:
    """The thread index of a batch, kept right for a ticket the group opens (see the module's note).

    The questions every copy asks are answered from `questions`, asked for the
    whole batch at once (mailgate.batch_questions).
    """

    def __init__(self, index: ThreadIndex, group: Group, questions: BatchQuestions) -> None:
        self.index = index
        self.group = group
        self.questions = questions

    def ticket(self, tenant_id: int, ticket_id: int) -> TicketRef | None:
        return self.index.ticket(tenant_id, ticket_id)

    def ticket_by_number(self, tenant_id: int, number: int) -> TicketRef | None:
        found = self.index.ticket_by_number(tenant_id, number)
        if found is None and self.group.opening(tenant_id):
            # The number may be one the group is about to hand out.
            self.group.file()
            found = self.index.ticket_by_number(tenant_id, number)
        return found

    def ticket_for_message_ids(
        self, tenant_id: int, message_ids: Sequence[str]
    ) -> tuple[TicketRef, str] | None:
        return self.questions.ticket_for_message_ids(tenant_id, message_ids)

    def ticket_awaiting(self, tenant_id: int, message_id: str) -> TicketRef | None:
        return self.questions.ticket_awaiting(tenant_id, message_id)

    def people(self, ticket_id: int) -> TicketPeople:
        return self.questions.people(ticket_id)

    def agent_for(self, tenant_id: int, address: str) -> int | None:
        return self.index.agent_for(tenant_id, address)


class GroupCounts:
    """Tickets opened lately, the group's counted in; exact whenever the tenant's limit is near."""

    def __init__(self, counts: IntakeCounts, group: Group, per_tenant: int) -> None:
        self.counts = counts
        self.group = group
        self.per_tenant = per_tenant

    def new_tickets(self, tenant_id: int, sender: str, since: datetime) -> NewTicketCounts:
        counted = self.counts.new_tickets(tenant_id, sender, since)
        waiting = self.group.opening(tenant_id)
        if not waiting:
            return counted
        if counted.total + waiting >= self.per_tenant:
            # Near the limit the count must be exact: the group is written first.
            self.group.file()
            return self.counts.new_tickets(tenant_id, sender, since)
        # The sender has nothing in the group (it would have been filed first).
        return NewTicketCounts(from_sender=counted.from_sender, total=counted.total + waiting)


def group_ports(ports: TenantPorts, group: Group, questions: BatchQuestions) -> TenantPorts:
    """Return the tenant's ports as they answer beside a group not yet written."""
    return TenantPorts(
        index=GroupIndex(ports.index, group, questions),
        counts=GroupCounts(questions, group, ports.per_tenant_per_hour),
        file_rules=ports.file_rules,
        per_sender_per_hour=ports.per_sender_per_hour,
        per_tenant_per_hour=ports.per_tenant_per_hour,
    )


@dataclass(frozen=True)
class Refused:
    """A message that reaches no tenant's steps: why, and the tenant its quarantine is for."""

    envelope: Envelope
    tenant_id: int | None
    reason: str


def raw_arrival(data: bytes, msg: InboundMessage | Refused) -> RawArrival:
    """Return what of a routed copy (or a refused message) its raw row keeps."""
    if isinstance(msg, Refused):
        envelope = msg.envelope
        return RawArrival(
            data, envelope.mail_from, list(envelope.rcpt_tos), envelope.transport,
            msg.tenant_id, None, None, hashlib.sha256(data).hexdigest(),
        )  # fmt: skip
    return RawArrival(
        data=data,
        envelope_from=msg.envelope.mail_from,
        envelope_to=list(msg.envelope.rcpt_tos),
        transport=msg.envelope.transport,
        tenant_id=tenant_of(msg),
        mailbox_id=msg.route.mailbox_id if msg.route else None,
        message_id=msg.message_id,
        fingerprint=msg.fingerprint,
    )


def store_copies(
    session: Session,
    copies: Sequence[tuple[bytes, InboundMessage | Refused]],
    store: BlobStore,
    now: datetime,
) -> list[tuple[RawMessage, bool]]:
    """Keep the raw rows of all copies in one statement; each row, and whether a duplicate."""
    arrivals = [raw_arrival(data, msg) for data, msg in copies]
    return store_raw_messages(session, arrivals, store=store, now=now)


def quarantined(
    session: Session, raw: RawMessage, decided: InboundMessage | Refused, now: datetime
) -> IngestResult:
    """Keep a copy the steps dropped, or a refused message, as quarantined.

    The row is written with the transaction's next flush, as a group's are.
    """
    if isinstance(decided, Refused):
        reason, tenant_id = decided.reason, decided.tenant_id
        decision: dict[str, object] = {"quarantined": reason}
    else:
        assert decided.drop_reason is not None  # noqa: S101 - dropped copies only
        reason, tenant_id = decided.drop_reason, tenant_of(decided)
        decision = decision_record(decided)
    mark_raw_message(
        session, raw, RawMessageState.QUARANTINED, reason=reason, decision=decision,
        ticket_id=None, now=now, flush=False,
    )  # fmt: skip
    return IngestResult("quarantined", tenant_id, raw.id, None, reason)


def mark_outcome(
    session: Session,
    raw: RawMessage,
    decided: InboundMessage,
    outcome: ReceiveOutcome,
    now: datetime,
) -> IngestResult:
    """Record on the copy's raw row what filing it did, with the steps' decision; its result."""
    mark_raw_message(
        session, raw, outcome.raw_state, reason=outcome.reason,
        decision=decision_record(decided) | {"outcome": outcome.action},
        ticket_id=outcome.ticket_id, now=now, flush=False,
    )  # fmt: skip
    reason = outcome.reason or ""
    return IngestResult(outcome.action, tenant_of(decided), raw.id, outcome.ticket_id, reason)


def _address(msg: InboundMessage) -> str:
    # As the filing normalizes it: one sender is one key, however it is written.
    try:
        return normalize_email(msg.sender_address, "sender")
    except ValidationError:
        return msg.sender_address.strip().lower()


def _ids(msg: InboundMessage) -> set[str]:
    names = (msg.message_id, *msg.in_reply_to, *msg.references)
    return {name for name in map(clean_message_id, names) if name}


__all__ = [
    "Group",
    "GroupCounts",
    "GroupIndex",
    "IngestResult",
    "Refused",
    "group_ports",
    "mark_outcome",
    "quarantined",
    "store_copies",
]
