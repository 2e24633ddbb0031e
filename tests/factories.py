"""Plain factory functions for tests: real rows made through the services."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from helpdesk.enums import Role, Source
from helpdesk.models import Contact, Mailbox, Tenant, Ticket, User
from helpdesk.principal import Client, Operator, Staff, System
from helpdesk.services import contacts, mailboxes, tenants, users
from helpdesk.services.inbound_mail import IncomingMail, ReceiveOutcome, receive_mail
from helpdesk.services.tickets import create_ticket
from helpdesk.storage import BlobStore

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
_serial = itertools.count(1)


def make_tenant(session: Session, slug: str | None = None, **overrides: object) -> Tenant:
    slug = slug or f"tenant-{next(_serial)}"
    name = str(overrides.pop("name", slug.title()))
    return tenants.create_tenant(session, Operator(), slug, name, now=NOW, **overrides)  # type: ignore[arg-type]


def make_user(
    session: Session, tenant: Tenant, role: Role = Role.AGENT, email: str | None = None
) -> User:
    email = email or f"{role.value}-{next(_serial)}@staff.example"
    return users.create_user(
        session, Operator(), tenant.id, email=email, name=email.split("@")[0], role=role, now=NOW
    )


def make_staff(
    session: Session, tenant: Tenant, role: Role = Role.AGENT, email: str | None = None
) -> Staff:
    user = make_user(session, tenant, role, email)
    return Staff(user_id=user.id, tenant_id=tenant.id, role=role)


def make_contact(session: Session, tenant: Tenant, email: str | None = None) -> Contact:
    email = email or f"client-{next(_serial)}@client.example"
    return contacts.find_or_create_contact(session, Operator(), tenant.id, email, now=NOW)


def make_client(session: Session, tenant: Tenant, email: str | None = None) -> Client:
    contact = make_contact(session, tenant, email)
    return contacts.client_principal(session, contact.id)


def make_ticket(session: Session, tenant: Tenant, **overrides: object) -> Ticket:
    """Open a ticket by e-mail as the mail gateway would; overrides go to create_ticket."""
    values: dict[str, object] = {
        "subject": f"Printer on fire {next(_serial)}",
        "body": "It is on fire.",
        "requester_email": f"client-{next(_serial)}@client.example",
        "source": Source.EMAIL,
        "now": NOW,
    }
    values.update(overrides)
    actor = values.pop("actor", System(tenant_id=tenant.id))
    return create_ticket(session, actor, tenant.id, **values)  # type: ignore[arg-type]


def make_mailbox(session: Session, tenant: Tenant, address: str | None = None) -> Mailbox:
    address = address or f"help-{next(_serial)}@{tenant.slug}.example"
    box = mailboxes.credentials_box("test-secret-key")
    return mailboxes.create_mailbox(
        session, Operator(), tenant.id, address=address, box=box, now=NOW
    )


def incoming_mail(tenant: Tenant, **overrides: object) -> IncomingMail:
    """A plain new e-mail to the tenant as the pipeline hands it over; overrides change fields."""
    serial = next(_serial)
    values: dict[str, object] = {
        "tenant_id": tenant.id,
        "mailbox_id": None,
        "raw_message_id": None,
        "sender_email": f"client-{serial}@client.example",
        "subject": f"Printer on fire {serial}",
        "body_text": "It is on fire.",
        "message_id": f"mail-{serial}@client.example",
    }
    values.update(overrides)
    return IncomingMail(**values)  # type: ignore[arg-type]


def receive(
    session: Session, tenant: Tenant, store: BlobStore, **overrides: object
) -> ReceiveOutcome:
    """Receive `incoming_mail(tenant, **overrides)` at NOW (or `now=`) as the gateway would."""
    now = overrides.pop("now", NOW)
    assert isinstance(now, datetime)
    return receive_mail(session, incoming_mail(tenant, **overrides), store=store, now=now)
