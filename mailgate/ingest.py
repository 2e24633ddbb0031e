"""Ingest: raw bytes in, ticket messages out; what cannot be processed is quarantined, never lost.

Every transport (SMTP, LMTP, IMAP, HTTP, import) ends here with the bytes it
stored and its envelope. A message is one transaction, and each tenant's copy
of it a savepoint: the raw message is stored (once: a duplicate is recognised
by its fingerprint), the steps decide, and helpdesk.services.inbound_mail
applies the decision. Anything unexpected rolls that copy back and quarantines
the raw message with the reason, so one bad message never stops the others.
Only a database that cannot be reached at all is raised to the caller, whose
copy of the bytes (the spool entry, the file being imported) must then be kept
for a later try. Batch callers use `process_many`: one transaction per batch,
its messages filed together (mailgate.batch_landing); when a message fails,
the batch runs again with a savepoint per message.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from sqlalchemy.orm import Session

from helpdesk.clock import utcnow
from helpdesk.db import SessionFactory
from helpdesk.errors import NotFound, one_line
from helpdesk.models import RawMessage
from helpdesk.queries.inbound import SqlMailboxDirectory
from helpdesk.services.raw_messages import read_raw_bytes
from helpdesk.settings import Settings
from helpdesk.storage import BlobStore
from mailgate.batch_landing import IngestResult, Refused
from mailgate.deferred_store import DeferredStore
from mailgate.desk_setup import DeskSetup, RoutingDirectory
from mailgate.inbound import Envelope, InboundMessage, tenant_of
from mailgate.landing import Lander
from mailgate.parse import parse_message
from mailgate.pipeline import run_steps
from mailgate.steps.route import route_by_tenant
from mailgate.units import DatabaseUnavailable, Unit, is_unreachable

__all__ = ["DatabaseUnavailable", "Delivery", "Ingest", "IngestResult"]

log = logging.getLogger(__name__)
K = TypeVar("K")
NO_MAILBOX = "no mailbox of ours among the recipients"
# Messages per transaction in process_many: a commit (an fsync) per this many.
BATCH_SIZE = 50


@dataclass(frozen=True)
class Delivery:
    """One message for `process_many`: its bytes, envelope, and tenant when imported."""

    data: bytes
    envelope: Envelope = field(default_factory=Envelope)
    tenant_id: int | None = None


class _NeedsSavepoints(Exception):
    """A message of a batch filed together failed: the batch must run again, a savepoint each."""


@dataclass(frozen=True)
class _Unroutable:
    """Why a message reaches no tenant's steps, and the tenant its quarantine is for."""

    tenant_id: int | None
    reason: str


class Ingest:
    """Runs messages through the pipeline into the database: a transaction per message or batch."""

    def __init__(
        self,
        settings: Settings,
        sessions: SessionFactory,
        store: BlobStore,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.store = store
        self.clock = clock
        self.setup = DeskSetup()
        self.lander = Lander(settings, store, self.setup)

    def process(
        self, data: bytes, envelope: Envelope, *, tenant_id: int | None = None
    ) -> list[IngestResult]:
        """Ingest one message in one transaction; `tenant_id` names its tenant for imported mail.

        Each tenant's copy runs in a savepoint: one that fails is rolled back
        alone and quarantined, and the others land.

        Raises:
            DatabaseUnavailable: the database cannot be reached; nothing was stored.
        """
        item = Delivery(data, envelope, tenant_id)
        return self._process_alone(item, self._parse(item))

    def process_many(
        self, items: Iterable[tuple[K, Delivery]], *, batch_size: int = BATCH_SIZE
    ) -> Iterator[tuple[K, list[IngestResult]]]:
        """Ingest many messages, `batch_size` to a transaction; yield each one's results.

        One transaction per batch; when a message fails, the batch runs again
        with a savepoint per message, so that the failing one alone is rolled
        back and quarantined in the same transaction. A batch's results are
        yielded only once the commit that holds them returned, so a caller
        may drop its own copy of a message (move the spool entry) for every
        result it was given; whatever was not yielded yet is not stored and
        must be tried again. A batch whose commit fails is processed again a
        message at a time, as `process` does.

        Raises:
            DatabaseUnavailable: the database cannot be reached; nothing of
                the current batch was stored.
        """
        pending = iter(items)
        while batch := list(itertools.islice(pending, max(1, batch_size))):
            yield from self._process_batch(batch)

    def quarantine(
        self, data: bytes, envelope: Envelope, reason: str, *, tenant_id: int | None = None
    ) -> IngestResult:
        """Keep a message as quarantined with `reason`, without running any step on it.

        For a message that must not be processed again (it crashed the
        processor); `retry` processes it when an admin asks.

        Raises:
            DatabaseUnavailable: the database cannot be reached; nothing was stored.
        """
        return self._quarantine(data, envelope, tenant_id, reason, self.clock())

    def retry(self, raw_message_id: int) -> list[IngestResult]:
        """Process a quarantined or held raw message again, from its stored bytes.

        Its row is replaced by the row of the new outcome (under a new id).

        Raises:
            DatabaseUnavailable: the database cannot be reached.
            NotFound: no such raw message.
        """
        with self._session() as session:
            raw = session.get(RawMessage, raw_message_id)
            if raw is None:
                raise NotFound("no such raw message")
            item = Delivery(read_raw_bytes(raw, self.store), _envelope(raw), raw.tenant_id)
            parsed = self._parse(item)
            # The row makes way for its new outcome in the same transaction:
            # the message is stored once, and a retry that cannot commit
            # leaves it as it was. Each copy's blobs are written before its
            # savepoint ends (no `blobs`), so one that fails is quarantined.
            session.delete(raw)
            session.flush()
            return self._process_in(session, item, parsed, None)

    def explain(self, data: bytes, envelope: Envelope, *, tenant_id: int) -> list[InboundMessage]:
        """Run the steps without writing anything and return each copy's decisions.

        Raises:
            MalformedMessage: the bytes are not an e-mail at all.
        """
        now = self.clock()
        parsed = parse_message(data, envelope)
        session = self.sessions()
        try:
            copies = route_by_tenant(
                parsed, directory=SqlMailboxDirectory(session), tenant_id=tenant_id
            )
            return [run_steps(copy, self.lander.steps(session, copy, now)) for copy in copies]
        finally:
            session.rollback()
            session.close()

    @staticmethod
    def _parse(item: Delivery) -> InboundMessage | _Unroutable:
        try:
            return parse_message(item.data, item.envelope)
        except Exception as exc:
            return _Unroutable(item.tenant_id, one_line(exc))

    def _route(
        self, session: Session, item: Delivery, parsed: InboundMessage | _Unroutable
    ) -> list[InboundMessage] | _Unroutable:
        if isinstance(parsed, _Unroutable):
            return parsed
        directory = RoutingDirectory(self.setup.mailboxes(session), session)
        copies = route_by_tenant(parsed, directory=directory, tenant_id=item.tenant_id)
        return copies or _Unroutable(None, NO_MAILBOX)

    def _process_batch(self, batch: list[tuple[K, Delivery]]) -> list[tuple[K, list[IngestResult]]]:
        # Most batches fail nowhere: a batch is first filed together (its
        # rows written set-wise, no savepoints: see mailgate.batch_landing),
        # and only when one of its messages fails is it run again with a
        # savepoint per message, so that the failing one alone is rolled back
        # and quarantined. The messages are parsed first, outside the
        # transaction: it holds the ingest lock, and parsing needs no
        # database, so another drain files its batch meanwhile. A group may
        # hold a whole batch's parsed messages anyway.
        parsed = [self._parse(item) for _, item in batch]
        for together in (True, False):
            try:
                return self._in_one_transaction(batch, parsed, together=together)
            except DatabaseUnavailable:
                raise
            except _NeedsSavepoints:
                continue
            except Exception:
                log.warning("a batch of %d messages failed to commit; one at a time", len(batch))
                log.debug("why the batch failed", exc_info=True)
                break
        return [
            (key, self._process_alone(item, message))
            for (key, item), message in zip(batch, parsed, strict=True)
        ]

    def _process_alone(
        self, item: Delivery, parsed: InboundMessage | _Unroutable
    ) -> list[IngestResult]:
        # Parsed before the transaction begins: it holds the ingest lock.
        with self._session() as session:
            return self._process_in(session, item, parsed, None)

    def _in_one_transaction(
        self,
        batch: list[tuple[K, Delivery]],
        parsed: list[InboundMessage | _Unroutable],
        *,
        together: bool,
    ) -> list[tuple[K, list[IngestResult]]]:
        # The batch's blobs are written beside it and waited for once, before
        # the commit; one that cannot be written fails the batch, whose
        # messages then go one at a time, so that only its own is quarantined.
        blobs = self.lander.deferred()
        with self._session() as session:
            if together:
                done = self._file_together(session, batch, parsed, blobs)
            else:
                done = [
                    (key, self._process_in(session, item, message, blobs))
                    for (key, item), message in zip(batch, parsed, strict=True)
                ]
            blobs.settle()
            return done

    def _file_together(
        self,
        session: Session,
        batch: list[tuple[K, Delivery]],
        parsed: list[InboundMessage | _Unroutable],
        blobs: DeferredStore,
    ) -> list[tuple[K, list[IngestResult]]]:
        now = self.clock()
        results: dict[int, list[IngestResult]] = {}
        copies: list[tuple[int, bytes, InboundMessage | Refused]] = []
        for position, ((_, item), message) in enumerate(zip(batch, parsed, strict=True)):
            routed = self._route(session, item, message)
            if isinstance(routed, _Unroutable):
                refused = Refused(item.envelope, routed.tenant_id, routed.reason)
                copies.append((position, item.data, refused))
            else:
                copies += [(position, item.data, copy) for copy in routed]
        try:
            landed = self.lander.land_many(
                session, [(data, copy) for _, data, copy in copies], now, blobs
            )
        except Exception as exc:
            if is_unreachable(exc):
                raise DatabaseUnavailable(str(exc)) from exc
            raise _NeedsSavepoints from exc
        for (position, _, _), result in zip(copies, landed, strict=True):
            results.setdefault(position, []).append(result)
        return [(key, results[position]) for position, (key, _) in enumerate(batch)]

    def _process_in(
        self,
        session: Session,
        item: Delivery,
        parsed: InboundMessage | _Unroutable,
        blobs: DeferredStore | None,
    ) -> list[IngestResult]:
        now = self.clock()
        routed = self._route(session, item, parsed)
        if isinstance(routed, _Unroutable):
            reason, tenant_id = routed.reason, routed.tenant_id
            return [
                self.lander.quarantine(session, item.data, item.envelope, tenant_id, reason, now)
            ]
        return [self._attempt(session, item.data, copy, now, blobs) for copy in routed]

    def _attempt(
        self,
        session: Session,
        data: bytes,
        msg: InboundMessage,
        now: datetime,
        blobs: DeferredStore | None,
    ) -> IngestResult:
        try:
            with session.begin_nested():
                return self.lander.land(session, data, msg, now, blobs)
        except Exception as exc:
            if is_unreachable(exc):
                raise DatabaseUnavailable(str(exc)) from exc
            reason = _failed(msg, exc)
        return self.lander.quarantine(session, data, msg.envelope, tenant_of(msg), reason, now)

    def _quarantine(
        self, data: bytes, envelope: Envelope, tenant_id: int | None, reason: str, now: datetime
    ) -> IngestResult:
        with self._session() as session:
            return self.lander.quarantine(session, data, envelope, tenant_id, reason, now)

    def _session(self) -> Unit:
        return Unit(self.sessions)


def _failed(msg: InboundMessage, exc: BaseException) -> str:
    reason = one_line(exc)
    log.warning("quarantined a message for tenant %s: %s", tenant_of(msg), reason)
    log.debug("why it was quarantined", exc_info=exc)
    return reason


def _envelope(raw: RawMessage) -> Envelope:
    rcpt_tos = tuple(raw.envelope_to.get("rcpt_tos", []))
    return Envelope(raw.envelope_from or "", rcpt_tos, raw.transport)
