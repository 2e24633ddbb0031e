"""Ingest: raw bytes in, ticket messages out; what cannot be processed is quarantined, never lost.

Every transport (SMTP, LMTP, IMAP, HTTP, import) ends here with the bytes it
stored and its envelope. Each tenant's copy of a message is one transaction:
the raw message is stored (once: a duplicate is recognised by its
fingerprint), the steps decide, and helpdesk.services.inbound_mail applies the
decision. Anything unexpected rolls that transaction back and quarantines the
raw message with the reason, so one bad message never stops the others. Only
a database that cannot be reached at all is raised to the caller, whose copy
of the bytes (the spool entry, the file being imported) must then be kept for
a later try.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from helpdesk.clock import utcnow
from helpdesk.db import SessionFactory
from helpdesk.enums import RawMessageState
from helpdesk.errors import NotFound
from helpdesk.mail_limits import intake_limits
from helpdesk.models import RawMessage
from helpdesk.queries.inbound import SqlIntakeCounts, SqlMailboxDirectory, SqlThreadIndex
from helpdesk.reply_tokens import ReplyTokens
from helpdesk.services.inbound_mail import (
    IncomingBounce,
    IncomingFile,
    IncomingMail,
    receive_mail,
)
from helpdesk.services.raw_messages import mark_raw_message, read_raw_bytes, store_raw_message
from helpdesk.services.scope import get_tenant
from helpdesk.services.uploads import file_rules
from helpdesk.settings import Settings
from helpdesk.storage import BlobStore
from mailgate.inbound import Envelope, InboundMessage
from mailgate.parse import parse_message
from mailgate.pipeline import TenantPorts, build_steps, decision_record, run_steps
from mailgate.steps.route import route_by_tenant

log = logging.getLogger(__name__)


class DatabaseUnavailable(Exception):
    """The database could not be reached: keep the bytes and try again later."""


@dataclass(frozen=True)
class IngestResult:
    """What became of one tenant's copy of a message."""

    action: str  # an outcome of receive_mail, or duplicate / quarantined
    tenant_id: int | None
    raw_message_id: int | None
    ticket_id: int | None = None
    reason: str = ""


class Ingest:
    """Runs messages through the pipeline into the database, one transaction per copy."""

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
        self.tokens = ReplyTokens(settings.secret_key)

    def process(
        self, data: bytes, envelope: Envelope, *, tenant_id: int | None = None
    ) -> list[IngestResult]:
        """Ingest one message; `tenant_id` names its tenant for imported mail.

        Raises:
            DatabaseUnavailable: the database cannot be reached; nothing was stored.
        """
        now = self.clock()
        try:
            parsed = parse_message(data, envelope)
        except Exception as exc:
            return [self._quarantine(data, envelope, tenant_id, _describe(exc), now)]
        with self._session() as session:
            copies = route_by_tenant(
                parsed, directory=SqlMailboxDirectory(session), tenant_id=tenant_id
            )
        if not copies:
            reason = "no mailbox of ours among the recipients"
            return [self._quarantine(data, envelope, None, reason, now)]
        return [self._deliver(data, copy, now) for copy in copies]

    def retry(self, raw_message_id: int) -> list[IngestResult]:
        """Process a quarantined or held raw message again, from its stored bytes.

        Raises:
            DatabaseUnavailable: the database cannot be reached.
            NotFound: no such raw message.
        """
        with self._session() as session:
            raw = session.get(RawMessage, raw_message_id)
            if raw is None:
                raise NotFound("no such raw message")
            data = read_raw_bytes(raw, self.store)
            envelope = Envelope(
                raw.envelope_from or "", tuple(raw.envelope_to.get("rcpt_tos", [])), raw.transport
            )
            tenant_id = raw.tenant_id
            session.delete(raw)
        return self.process(data, envelope, tenant_id=tenant_id)

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
            return [run_steps(copy, self._steps(session, copy, now)) for copy in copies]
        finally:
            session.rollback()
            session.close()

    def _deliver(self, data: bytes, msg: InboundMessage, now: datetime) -> IngestResult:
        assert msg.route is not None  # noqa: S101 - route_by_tenant sets it
        tenant_id = msg.route.tenant_id
        try:
            with self._session() as session:
                return self._apply(session, data, msg, now)
        except DatabaseUnavailable:
            raise
        except Exception as exc:
            log.warning("quarantined a message for tenant %s: %s", tenant_id, _describe(exc))
            log.debug("why it was quarantined", exc_info=True)
            return self._quarantine(data, msg.envelope, tenant_id, _describe(exc), now)

    def _apply(
        self, session: Session, data: bytes, msg: InboundMessage, now: datetime
    ) -> IngestResult:
        assert msg.route is not None  # noqa: S101
        raw, duplicate = store_raw_message(
            session,
            data=data,
            envelope_from=msg.envelope.mail_from,
            envelope_to=list(msg.envelope.rcpt_tos),
            transport=msg.envelope.transport,
            tenant_id=msg.route.tenant_id,
            mailbox_id=msg.route.mailbox_id,
            message_id=msg.message_id,
            fingerprint=msg.fingerprint,
            store=self.store,
            now=now,
        )
        if duplicate:
            return IngestResult("duplicate", msg.route.tenant_id, raw.id, raw.ticket_id)
        decided = run_steps(msg, self._steps(session, msg, now))
        if decided.drop_reason is not None:
            record = decision_record(decided)
            mark_raw_message(
                session,
                raw,
                RawMessageState.QUARANTINED,
                reason=decided.drop_reason,
                decision=record,
                ticket_id=None,
                now=now,
            )
            return IngestResult(
                "quarantined", msg.route.tenant_id, raw.id, None, decided.drop_reason
            )
        own_addresses = SqlMailboxDirectory(session).tenant_addresses(msg.route.tenant_id)
        incoming = to_incoming(decided, raw.id, own_addresses)
        outcome = receive_mail(session, incoming, store=self.store, now=now)
        record = decision_record(decided) | {"outcome": outcome.action}
        mark_raw_message(
            session,
            raw,
            outcome.raw_state,
            reason=outcome.reason,
            decision=record,
            ticket_id=outcome.ticket_id,
            now=now,
        )
        reason = outcome.reason or ""
        return IngestResult(outcome.action, msg.route.tenant_id, raw.id, outcome.ticket_id, reason)

    def _steps(self, session: Session, msg: InboundMessage, now: datetime) -> Any:
        assert msg.route is not None  # noqa: S101
        tenant = get_tenant(session, msg.route.tenant_id)
        per_sender, per_tenant = intake_limits(tenant)
        ports = TenantPorts(
            index=SqlThreadIndex(session),
            counts=SqlIntakeCounts(session),
            file_rules=file_rules(session, tenant.id),
            per_sender_per_hour=per_sender,
            per_tenant_per_hour=per_tenant,
        )
        return build_steps(
            ports,
            tokens=self.tokens,
            authserv_id=self.settings.authserv_id,
            max_message_bytes=self.settings.max_message_bytes,
            now=now,
        )

    def _quarantine(
        self, data: bytes, envelope: Envelope, tenant_id: int | None, reason: str, now: datetime
    ) -> IngestResult:
        with self._session() as session:
            raw, _ = store_raw_message(
                session,
                data=data,
                envelope_from=envelope.mail_from,
                envelope_to=list(envelope.rcpt_tos),
                transport=envelope.transport,
                tenant_id=tenant_id,
                mailbox_id=None,
                message_id=None,
                fingerprint=hashlib.sha256(data).hexdigest(),
                store=self.store,
                now=now,
            )
            mark_raw_message(
                session,
                raw,
                RawMessageState.QUARANTINED,
                reason=reason,
                decision={"quarantined": reason},
                ticket_id=None,
                now=now,
            )
            return IngestResult("quarantined", tenant_id, raw.id, None, reason)

    def _session(self) -> Any:
        return _Unit(self.sessions)


class _Unit:
    """One transaction; a database that cannot be reached becomes DatabaseUnavailable."""

    def __init__(self, sessions: SessionFactory) -> None:
        self.session = sessions()

    def __enter__(self) -> Session:
        return self.session

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        try:
            if kind is None:
                self.session.commit()
            else:
                self.session.rollback()
        except DBAPIError as failure:
            if failure.connection_invalidated or _is_unreachable(failure):
                raise DatabaseUnavailable(str(failure.orig)) from failure
            raise
        finally:
            self.session.close()
        if isinstance(exc, DBAPIError) and (exc.connection_invalidated or _is_unreachable(exc)):
            raise DatabaseUnavailable(str(exc.orig)) from exc


def to_incoming(msg: InboundMessage, raw_id: int, own_addresses: frozenset[str]) -> IncomingMail:
    """Return the plain values the helpdesk service needs from a decided message."""
    assert msg.route is not None  # noqa: S101
    assert msg.thread is not None  # noqa: S101
    sender = msg.sender.address if msg.sender else msg.envelope.mail_from.lower()
    others = [a.address for a in (*msg.to, *msg.cc)]
    cc = tuple(dict.fromkeys(a for a in others if a not in own_addresses and a != sender))
    report = msg.report
    return IncomingMail(
        tenant_id=msg.route.tenant_id,
        mailbox_id=msg.route.mailbox_id,
        raw_message_id=raw_id,
        kind=msg.kind.value,
        rule=msg.thread.rule.value,
        ticket_id=msg.thread.ticket_id,
        standing=msg.thread.standing.value,
        evidence=msg.thread.evidence,
        agent_user_id=msg.thread.agent_user_id,
        sender_email=sender,
        sender_name=msg.sender.name if msg.sender else "",
        cc=cc,
        subject=msg.subject,
        body_text=msg.visible_text or msg.text,
        body_full_text=msg.text,
        body_html=msg.safe_html,
        message_id=msg.message_id,
        in_reply_to=msg.in_reply_to[0] if msg.in_reply_to else None,
        references=msg.references,
        sent_at=msg.date,
        files=tuple(
            IncomingFile(
                p.filename, p.declared_type, p.sniffed_type, p.data, p.content_id, p.inline
            )
            for p in msg.kept_parts
        ),
        blocked=tuple((b.filename, b.reason) for b in msg.blocked_parts),
        masked_secrets=msg.masked_secrets,
        external_refs=msg.external_refs,
        hold_reason=msg.hold_reason,
        bounce=None
        if report is None
        else IncomingBounce(
            report.original_message_id,
            report.recipients,
            report.status,
            report.action,
            report.diagnostic,
            report.permanent,
        ),
    )


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:500]


def _is_unreachable(exc: DBAPIError) -> bool:
    # Connection refused, server gone, database file unreachable: errors of
    # the connection, not of this message.
    return isinstance(exc, InterfaceError | OperationalError) and "locked" not in str(exc.orig)
