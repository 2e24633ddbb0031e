"""The steps' questions for every copy still to come in a batch: asked at once, after each filing.

Each copy's steps ask the database a few questions: does a mail await its
Message-ID, which ticket its references lead to, who takes part in that
ticket, how many tickets its sender and its tenant opened lately. Asked copy
by copy, they are two or three statements a mail. Between two filings (a
group written, a copy filed alone) nothing they read changes: the batch
holds the ingest lock, and what else it writes meanwhile (a quarantine mark)
is on raw rows, which they do not read. So each question is asked once for
every copy of the tenant still to come in the batch, and asked again after
the next filing. A question beyond those (a ticket reached by a reply token
or a subject tag, or through a merge) goes to the database, as alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from helpdesk.queries.inbound import (
    NOBODY,
    NewTicketCounts,
    SqlIntakeCounts,
    SqlThreadIndex,
    TicketPeople,
    TicketRef,
    first_known,
    lookup_ids,
    sender_key,
)
from mailgate.inbound import InboundMessage


class Filings:
    """How many times the batch has written mail so far; the answers are good until the next."""

    def __init__(self) -> None:
        self.count = 0

    def wrote(self) -> None:
        self.count += 1


@dataclass
class _Answers:
    """One tenant's answers for the copies still to come, as the database stood at one filing."""

    own_ids: frozenset[str]
    awaited: dict[str, TicketRef]
    thread_ids: frozenset[str]
    known: dict[str, TicketRef | None]
    people: dict[int, TicketPeople]
    senders: frozenset[str]
    # Asked at the first count, since not every copy needs one: (since, total, per sender).
    opened: tuple[datetime, int, dict[str, int]] | None = field(default=None)


class BatchQuestions:
    """The thread index's and the intake counts' answers for a batch's copies (see the module)."""

    def __init__(
        self, session: Session, copies: Sequence[InboundMessage | object], filings: Filings
    ) -> None:
        self.index = SqlThreadIndex(session)
        self.counts = SqlIntakeCounts(session)
        self.copies = copies
        self.filings = filings
        self.position = 0
        self._asked_at = -1
        self._answers: dict[int, _Answers] = {}

    def at(self, position: int) -> None:
        """The copy at `position` of the batch is the one being decided now."""
        self.position = position

    def ticket_awaiting(self, tenant_id: int, message_id: str) -> TicketRef | None:
        answers = self._of(tenant_id)
        if message_id in answers.own_ids:
            return answers.awaited.get(message_id)
        return self.index.ticket_awaiting(tenant_id, message_id)

    def ticket_for_message_ids(
        self, tenant_id: int, message_ids: Sequence[str]
    ) -> tuple[TicketRef, str] | None:
        answers = self._of(tenant_id)
        wanted = lookup_ids(message_ids)
        if answers.thread_ids.issuperset(wanted):
            return first_known(answers.known, wanted, tenant_id)
        return self.index.ticket_for_message_ids(tenant_id, message_ids)

    def people(self, ticket_id: int) -> TicketPeople:
        self._forget_if_written()
        for answers in self._answers.values():
            if ticket_id in answers.people:
                return answers.people[ticket_id]
        return self.index.people(ticket_id)

    def new_tickets(self, tenant_id: int, sender: str, since: datetime) -> NewTicketCounts:
        answers = self._of(tenant_id)
        key = sender_key(sender)
        if key not in answers.senders:
            return self.counts.new_tickets(tenant_id, sender, since)
        if answers.opened is None or answers.opened[0] != since:
            total, per_sender = self.counts.new_tickets_from(tenant_id, answers.senders, since)
            answers.opened = (since, total, per_sender)
        _, total, per_sender = answers.opened
        return NewTicketCounts(from_sender=per_sender.get(key, 0), total=total)

    def _of(self, tenant_id: int) -> _Answers:
        self._forget_if_written()
        answers = self._answers.get(tenant_id)
        if answers is None:
            answers = self._answers[tenant_id] = self._ask(tenant_id)
        return answers

    def _forget_if_written(self) -> None:
        if self._asked_at != self.filings.count:
            self._answers.clear()
            self._asked_at = self.filings.count

    def _ask(self, tenant_id: int) -> _Answers:
        coming = [
            copy
            for copy in self.copies[self.position :]
            if isinstance(copy, InboundMessage)
            and copy.route is not None
            and copy.route.tenant_id == tenant_id
        ]
        own_ids = frozenset(copy.message_id for copy in coming if copy.message_id)
        thread_ids = frozenset(name for copy in coming for name in lookup_ids(copy.thread_ids))
        awaited = self.index.tickets_awaiting(tenant_id, own_ids)
        known = self.index.known_tickets(tenant_id, thread_ids)
        tickets = {ref.id for ref in awaited.values()}
        tickets.update(ref.id for ref in known.values() if ref and ref.tenant_id == tenant_id)
        people = self.index.people_of(tickets)
        # A ticket that is gone has nobody, as the database would answer alone.
        people.update((ticket_id, NOBODY) for ticket_id in tickets - people.keys())
        senders = frozenset(sender_key(copy.sender_address) for copy in coming)
        return _Answers(own_ids, awaited, thread_ids, known, people, senders)
