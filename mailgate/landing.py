"""Landing one tenant's copy of a message in a transaction: the raw bytes, the steps, the outcome.

The caller owns the transaction (mailgate.ingest): one per copy, a whole
batch filed together (`land_many`, see mailgate.batch_landing), or a
savepoint per copy in a batch run again. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from helpdesk.models import RawMessage
from helpdesk.queries.inbound import SqlIntakeCounts, SqlThreadIndex
from helpdesk.reply_tokens import ReplyTokens
from helpdesk.services.inbound_batches import batchable
from helpdesk.services.inbound_mail import receive_mail
from helpdesk.settings import Settings
from helpdesk.storage import BlobStore
from mailgate.batch_landing import (
    Group,
    IngestResult,
    Refused,
    group_ports,
    mark_outcome,
    quarantined,
    store_copies,
)
from mailgate.batch_questions import BatchQuestions
from mailgate.deferred_store import DeferredStore
from mailgate.desk_setup import DeskSetup
from mailgate.inbound import Envelope, InboundMessage, tenant_of
from mailgate.incoming import to_incoming
from mailgate.pipeline import Step, TenantPorts, build_steps, run_steps

# Blob writes run on this many threads beside the pipeline (see mailgate.deferred_store);
# one keeps up with the pipeline, and each thread adds to the peak memory.
BLOB_WRITERS = 1


class Lander:
    """Lands routed copies of messages, and quarantines what cannot land."""

    def __init__(self, settings: Settings, store: BlobStore, setup: DeskSetup) -> None:
        self.settings = settings
        self.store = store
        self.setup = setup
        self.tokens = ReplyTokens(settings.secret_key)
        self.writers = ThreadPoolExecutor(BLOB_WRITERS, thread_name_prefix="blob-writer")

    def land(
        self,
        session: Session,
        data: bytes,
        msg: InboundMessage,
        now: datetime,
        blobs: DeferredStore | None = None,
    ) -> IngestResult:
        """Store the copy's raw message once, run the steps, apply what they decided.

        Returns once the bytes it stored are durable; with `blobs`, the
        caller's store of a whole batch, once they are being written: the
        caller settles `blobs` before it commits.
        """
        if blobs is not None:
            return self._land(session, data, msg, now, blobs)
        store = self.deferred()
        result = self._land(session, data, msg, now, store)
        store.settle()
        return result

    def land_many(
        self,
        session: Session,
        copies: Sequence[tuple[bytes, InboundMessage | Refused]],
        now: datetime,
        blobs: DeferredStore,
    ) -> list[IngestResult]:
        """Land many copies as `land` lands each, in order; the common shapes written together.

        A refused message is quarantined, as `quarantine` keeps it. See
        mailgate.batch_landing. The caller settles `blobs` before it commits.
        """
        group = Group(session, blobs, now)
        questions = BatchQuestions(session, [msg for _, msg in copies], group.filings)
        # A filed copy's and a duplicate's results are told once all is filed.
        told: list[IngestResult | _Filed | _Duplicate] = []
        stored = store_copies(session, copies, blobs, now)
        for position, ((_, msg), (raw, duplicate)) in enumerate(zip(copies, stored, strict=True)):
            if isinstance(msg, Refused):
                told.append(quarantined(session, raw, msg, now))
                continue
            if duplicate:
                told.append(_Duplicate(raw))
                continue
            if group.depends(msg):
                group.file()
            questions.at(position)
            decided = run_steps(msg, self.steps(session, msg, now, (group, questions)))
            if decided.drop_reason is not None:
                told.append(quarantined(session, raw, decided, now))
                continue
            own_addresses = self.setup.mailboxes(session).tenant_addresses(tenant_of(msg))
            mail = to_incoming(decided, raw.id, own_addresses)
            if not batchable(mail):
                group.file_alone(raw, decided, mail)
            else:
                if group.lands_with(mail):
                    group.file()
                group.add(raw, decided, mail)
            told.append(_Filed(raw))
        group.file()
        return [_result(entry, group) for entry in told]

    def deferred(self) -> DeferredStore:
        """Return a store whose writes run beside the caller until it settles them."""
        return DeferredStore(self.store, self.writers)

    def quarantine(
        self,
        session: Session,
        data: bytes,
        envelope: Envelope,
        tenant_id: int | None,
        reason: str,
        now: datetime,
    ) -> IngestResult:
        """Keep the bytes as quarantined, with the reason, for an admin to look at."""
        refused = Refused(envelope, tenant_id, reason)
        [(raw, _)] = store_copies(session, [(data, refused)], self.store, now)
        return quarantined(session, raw, refused, now)

    def steps(
        self,
        session: Session,
        msg: InboundMessage,
        now: datetime,
        batch: tuple[Group, BatchQuestions] | None = None,
    ) -> tuple[Step, ...]:
        """Return the steps for the copy's tenant, with its ports and limits.

        With `batch`, the ports answer beside the copies of its group not yet
        written, from the questions asked for the whole batch.

        Raises:
            NotFound: the copy's tenant does not exist.
        """
        setup = self.setup.tenant(session, tenant_of(msg))
        ports = TenantPorts(
            index=SqlThreadIndex(session),
            counts=SqlIntakeCounts(session),
            file_rules=setup.file_rules,
            per_sender_per_hour=setup.per_sender_per_hour,
            per_tenant_per_hour=setup.per_tenant_per_hour,
        )
        if batch is not None:
            ports = group_ports(ports, *batch)
        return build_steps(
            ports,
            tokens=self.tokens,
            authserv_id=self.settings.authserv_id,
            max_message_bytes=self.settings.max_message_bytes,
            now=now,
        )

    def _land(
        self, session: Session, data: bytes, msg: InboundMessage, now: datetime, store: BlobStore
    ) -> IngestResult:
        [(raw, duplicate)] = store_copies(session, [(data, msg)], store, now)
        if duplicate:
            return IngestResult("duplicate", tenant_of(msg), raw.id, raw.ticket_id)
        decided = run_steps(msg, self.steps(session, msg, now))
        if decided.drop_reason is not None:
            return quarantined(session, raw, decided, now)
        own_addresses = self.setup.mailboxes(session).tenant_addresses(tenant_of(msg))
        incoming = to_incoming(decided, raw.id, own_addresses)
        outcome = receive_mail(session, incoming, store=store, now=now)
        return mark_outcome(session, raw, decided, outcome, now)


@dataclass(frozen=True)
class _Filed:
    raw: RawMessage


@dataclass(frozen=True)
class _Duplicate:
    raw: RawMessage


def _result(entry: IngestResult | _Filed | _Duplicate, group: Group) -> IngestResult:
    if isinstance(entry, _Duplicate):
        # Stored before, or earlier in the batch: its row tells where it went.
        raw = entry.raw
        return IngestResult("duplicate", raw.tenant_id, raw.id, raw.ticket_id)
    return group.landed[entry.raw.id] if isinstance(entry, _Filed) else entry
