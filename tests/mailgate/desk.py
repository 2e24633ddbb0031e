"""A desk for end-to-end pipeline tests: two tenants, their mailboxes, an agent, mail to send."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.db import SessionFactory, make_session_factory, session_scope
from helpdesk.enums import Role
from helpdesk.models import Message, RawMessage, Tenant, Ticket
from helpdesk.principal import Operator
from helpdesk.reply_tokens import ReplyTokens
from helpdesk.services.mailboxes import create_mailbox, credentials_box
from helpdesk.settings import Settings
from helpdesk.storage import open_blob_store
from mailgate.inbound import Envelope
from mailgate.ingest import Ingest, IngestResult
from tests.factories import NOW, make_tenant, make_user

_ids = itertools.count(1)


def mail(
    sender: str = "Ann Client <ann@client.example>",
    subject: str = "Printer on fire",
    body: str = "Hello,\n\nthe printer on floor 3 is on fire.\n\nAnn\n",
    *,
    to: str = "support@acme.test",
    cc: str | None = None,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    headers: dict[str, str] | None = None,
    minutes: int = 0,
) -> bytes:
    """Return the bytes of a plain mail as a client's program writes it."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Date"] = format_datetime(NOW + timedelta(minutes=minutes))
    msg["Message-ID"] = message_id or f"<m{next(_ids)}@mail.client.example>"
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    msg["User-Agent"] = "Mozilla/5.0 Thunderbird/128.3.0"
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg.as_bytes()


@dataclass
class Desk:
    settings: Settings
    sessions: SessionFactory
    ingest: Ingest
    acme: int
    globex: int
    agent_id: int
    tokens: ReplyTokens = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = ReplyTokens(self.settings.secret_key)

    def send(
        self, data: bytes, *rcpt: str, mail_from: str = "ann@client.example", **kw: Any
    ) -> list[IngestResult]:
        envelope = Envelope(mail_from, rcpt or ("support@acme.test",), kw.get("transport", "smtp"))
        return self.ingest.process(data, envelope)

    def one(self, data: bytes, *rcpt: str, **kw: Any) -> IngestResult:
        [result] = self.send(data, *rcpt, **kw)
        return result

    def token(self, ticket_id: int | None, recipient: str) -> str:
        """Return the reply token our mail to `recipient` about the acme ticket carries."""
        assert ticket_id is not None
        return self.tokens.issue(self.acme, ticket_id, recipient)

    def ticket(self, ticket_id: int | None) -> Ticket:
        assert ticket_id is not None
        with session_scope(self.sessions) as session:
            ticket = session.get(Ticket, ticket_id)
            assert ticket is not None
            return ticket

    def messages(self, ticket_id: int | None) -> list[Message]:
        with session_scope(self.sessions) as session:
            query = select(Message).where(Message.ticket_id == ticket_id).order_by(Message.id)
            return list(session.scalars(query))

    def tickets(self, tenant_id: int) -> list[Ticket]:
        with session_scope(self.sessions) as session:
            query = select(Ticket).where(Ticket.tenant_id == tenant_id).order_by(Ticket.id)
            return list(session.scalars(query))

    def raw(self, raw_id: int | None) -> RawMessage:
        with session_scope(self.sessions) as session:
            raw = session.get(RawMessage, raw_id)
            assert raw is not None
            return raw

    def run(self, work: Any) -> Any:
        with session_scope(self.sessions) as session:
            return work(session)


def build_desk(settings: Settings, engine: Any) -> Desk:
    sessions = make_session_factory(engine)
    box = credentials_box(settings.secret_key)
    with session_scope(sessions) as session:
        acme, globex = make_tenant(session, "acme"), make_tenant(session, "globex")
        for tenant, address in ((acme, "support"), (acme, "billing"), (globex, "help")):
            domain = f"{tenant.slug}.test"
            create_mailbox(
                session, Operator(), tenant.id, address=f"{address}@{domain}", box=box, now=NOW
            )
        agent = make_user(session, acme, Role.AGENT, email="alice@acme.test")
        ids = acme.id, globex.id, agent.id
    store = open_blob_store(settings)
    ingest = Ingest(settings, sessions, store, clock=lambda: NOW)
    return Desk(settings, sessions, ingest, *ids)


def tenant_of(session: Session, slug: str) -> Tenant:
    return session.scalars(select(Tenant).where(Tenant.slug == slug)).one()
