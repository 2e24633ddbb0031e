"""The demo tenant `make run` starts with: an admin with a one-time password and a mailbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.enums import Role
from helpdesk.models import Mailbox, Membership, Tenant, User
from helpdesk.passwords import generate_password
from helpdesk.principal import Operator
from helpdesk.services.mailboxes import create_mailbox, credentials_box
from helpdesk.services.tenants import create_tenant
from helpdesk.services.users import create_user

DEMO_SLUG = "demo"
DEMO_NAME = "Demo Company"
DEMO_ADMIN_EMAIL = "admin@demo.example"
DEMO_ADMIN_NAME = "Demo Admin"
DEMO_MAILBOX = "support@demo.example"


@dataclass(frozen=True)
class Demo:
    """What to tell the person who ran `make run` about the demo tenant."""

    admin_email: str | None
    mailbox_address: str | None
    # Set only on the run that created the admin: it is never shown again.
    one_time_password: str | None = None


def has_tenants(session: Session) -> bool:
    """Whether any tenant exists (a database with none is a first run)."""
    return session.scalar(select(Tenant.id).limit(1)) is not None


def seed_demo(session: Session, secret_key: str, *, now: datetime) -> Demo:
    """Create the demo tenant with its admin and mailbox; the caller checked there is none."""
    operator = Operator()
    tenant = create_tenant(session, operator, DEMO_SLUG, DEMO_NAME, now=now)
    password = generate_password()
    create_user(
        session,
        operator,
        tenant.id,
        email=DEMO_ADMIN_EMAIL,
        name=DEMO_ADMIN_NAME,
        role=Role.ADMIN,
        password=password,
        password_is_temporary=True,
        now=now,
    )
    create_mailbox(
        session,
        operator,
        tenant.id,
        address=DEMO_MAILBOX,
        name=f"{DEMO_NAME} support",
        box=credentials_box(secret_key),
        now=now,
    )
    return Demo(DEMO_ADMIN_EMAIL, DEMO_MAILBOX, password)


def describe_demo(session: Session) -> Demo | None:
    """Return the demo tenant's admin and mailbox as they are now; None without a demo tenant."""
    tenant_id = session.scalar(select(Tenant.id).where(Tenant.slug == DEMO_SLUG))
    if tenant_id is None:
        return None
    admin = session.scalar(
        select(User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.tenant_id == tenant_id, Membership.role == Role.ADMIN)
        .order_by(Membership.id)
        .limit(1)
    )
    address = session.scalar(
        select(Mailbox.address).where(Mailbox.tenant_id == tenant_id).order_by(Mailbox.id).limit(1)
    )
    return Demo(admin, address)


def prepare_demo(session: Session, secret_key: str, *, seed: bool, now: datetime) -> Demo | None:
    """Seed the demo tenant if asked to and no tenant exists yet; describe what there is."""
    if seed and not has_tenants(session):
        return seed_demo(session, secret_key, now=now)
    return describe_demo(session)
