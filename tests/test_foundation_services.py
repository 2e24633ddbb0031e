"""Tenants, staff and contacts: the rows every other service stands on."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.enums import Priority, Role
from helpdesk.errors import Conflict, PermissionDenied, ValidationError
from helpdesk.models import Category, SlaPolicy
from helpdesk.principal import Operator
from helpdesk.services import contacts, tenants, users
from tests.factories import NOW, make_contact, make_staff, make_tenant


def test_new_tenant_starts_with_default_categories_and_sla(session: Session) -> None:
    tenant = make_tenant(session, "acme", timezone="Europe/Berlin")
    keys = session.scalars(
        select(Category.key).where(Category.tenant_id == tenant.id).order_by(Category.position)
    ).all()
    assert keys == ["support", "work_order", "billing", "bug", "feature_request"]
    policies = {
        p.priority: (p.first_response_minutes, p.resolution_minutes)
        for p in session.scalars(select(SlaPolicy).where(SlaPolicy.tenant_id == tenant.id))
    }
    assert policies[Priority.URGENT] == (15, 120)
    assert policies[Priority.LOW] == (24 * 60, 72 * 60)


def test_tenant_slug_is_unique(session: Session) -> None:
    make_tenant(session, "acme")
    with pytest.raises(Conflict):
        make_tenant(session, "ACME")


@pytest.mark.parametrize("slug", ["", "-acme", "a b", "x" * 64])
def test_tenant_slug_is_validated(session: Session, slug: str) -> None:
    with pytest.raises(ValidationError):
        tenants.create_tenant(session, Operator(), slug, "Name", now=NOW)


def test_agent_cannot_create_tenants_or_staff(session: Session) -> None:
    tenant = make_tenant(session)
    agent = make_staff(session, tenant, Role.AGENT)
    with pytest.raises(PermissionDenied):
        tenants.create_tenant(session, agent, "other", "Other", now=NOW)
    with pytest.raises(PermissionDenied):
        users.create_user(
            session, agent, tenant.id, email="x@y.example", name="X", role=Role.AGENT, now=NOW
        )


def test_one_person_may_work_in_two_tenants_but_join_each_once(session: Session) -> None:
    first, second = make_tenant(session), make_tenant(session)
    user = users.create_user(
        session,
        Operator(),
        first.id,
        email="Ann@Staff.example",
        name="Ann",
        role=Role.ADMIN,
        now=NOW,
    )
    again = users.create_user(
        session,
        Operator(),
        second.id,
        email="ann@staff.example",
        name="Ann",
        role=Role.AGENT,
        now=NOW,
    )
    assert again.id == user.id
    assert users.staff_principal(session, user.id, second.id).role is Role.AGENT
    with pytest.raises(Conflict):
        users.create_user(
            session,
            Operator(),
            first.id,
            email="ann@staff.example",
            name="Ann",
            role=Role.AGENT,
            now=NOW,
        )


def test_contact_is_found_by_any_case_of_its_address(session: Session) -> None:
    tenant = make_tenant(session)
    contact = make_contact(session, tenant, "Bob@Client.example")
    again = contacts.find_or_create_contact(
        session, Operator(), tenant.id, "bob@client.EXAMPLE", now=NOW
    )
    assert again.id == contact.id
    assert contact.primary_email == "bob@client.example"


def test_same_address_is_two_contacts_in_two_tenants(session: Session) -> None:
    first, second = make_tenant(session), make_tenant(session)
    a = make_contact(session, first, "bob@client.example")
    b = make_contact(session, second, "bob@client.example")
    assert a.id != b.id


def test_suspended_tenant_receives_no_mail_and_accepts_no_credentials(session: Session) -> None:
    # Given a tenant with a mailbox, an admin with a token and a client with portal access
    from datetime import timedelta

    from helpdesk.crypto import SecretBox
    from helpdesk.services import mailboxes, sign_in, tokens

    tenant = make_tenant(session)
    mailboxes.create_mailbox(
        session,
        Operator(),
        tenant.id,
        address="help@acme.example",
        box=SecretBox("k", "mailbox-credentials"),
        now=NOW,
    )
    admin = make_staff(session, tenant, Role.ADMIN)
    _, secret = tokens.create_api_token(session, Operator(), tenant.id, admin.user_id, now=NOW)
    make_contact(session, tenant, "client@client.example")
    link = sign_in.create_sign_in_link(session, tenant.id, "client@client.example", now=NOW)
    assert link is not None
    assert mailboxes.find_mailbox_for_address(session, "help+x@acme.example") is not None

    # When the platform suspends the tenant
    tenant.active = False
    session.flush()
    later = NOW + timedelta(minutes=1)

    # Then mail for it is refused and none of its credentials work
    assert mailboxes.find_mailbox_for_address(session, "help+x@acme.example") is None
    with pytest.raises(PermissionDenied):
        tokens.authenticate_api_token(session, secret, now=later)
    with pytest.raises(PermissionDenied):
        users.staff_principal(session, admin.user_id, tenant.id)
    with pytest.raises(PermissionDenied):
        sign_in.redeem_sign_in_link(session, link, now=later)
    assert (
        sign_in.create_sign_in_link(session, tenant.id, "client@client.example", now=later) is None
    )
