"""Portal sign-in links: one use, a short life, nothing that reveals who has an account."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from helpdesk.errors import PermissionDenied, ValidationError
from helpdesk.principal import Client, Operator
from helpdesk.services import contacts, sign_in
from tests.factories import NOW, make_contact, make_tenant


def test_link_signs_the_contact_in_once(session: Session) -> None:
    tenant = make_tenant(session)
    contact = make_contact(session, tenant, "ann@client.example")
    secret = sign_in.create_sign_in_link(session, tenant.id, "Ann@Client.example", now=NOW)
    assert secret is not None
    client = sign_in.redeem_sign_in_link(session, secret, now=NOW + timedelta(minutes=1))
    assert client == Client(contact_id=contact.id, tenant_id=tenant.id)
    with pytest.raises(PermissionDenied):
        sign_in.redeem_sign_in_link(session, secret, now=NOW + timedelta(minutes=2))


def test_link_expires(session: Session) -> None:
    tenant = make_tenant(session)
    make_contact(session, tenant, "ann@client.example")
    secret = sign_in.create_sign_in_link(session, tenant.id, "ann@client.example", now=NOW)
    assert secret is not None
    with pytest.raises(PermissionDenied):
        sign_in.redeem_sign_in_link(session, secret, now=NOW + timedelta(minutes=15))


def test_link_lives_as_long_as_asked(session: Session) -> None:
    tenant = make_tenant(session)
    make_contact(session, tenant, "ann@client.example")
    secret = sign_in.create_sign_in_link(
        session, tenant.id, "ann@client.example", now=NOW, ttl=timedelta(hours=1)
    )
    assert secret is not None
    sign_in.redeem_sign_in_link(session, secret, now=NOW + timedelta(minutes=59))


def test_unknown_used_and_expired_links_fail_alike(session: Session) -> None:
    tenant = make_tenant(session)
    make_contact(session, tenant, "ann@client.example")
    used = sign_in.create_sign_in_link(session, tenant.id, "ann@client.example", now=NOW)
    expired = sign_in.create_sign_in_link(session, tenant.id, "ann@client.example", now=NOW)
    assert used is not None
    assert expired is not None
    sign_in.redeem_sign_in_link(session, used, now=NOW)
    messages = set()
    for secret, at in ((used, NOW), (expired, NOW + timedelta(days=1)), ("made-up", NOW)):
        with pytest.raises(PermissionDenied) as caught:
            sign_in.redeem_sign_in_link(session, secret, now=at)
        messages.add(str(caught.value))
    assert len(messages) == 1


def test_no_link_for_unknown_blocked_or_portalless_contacts(session: Session) -> None:
    tenant = make_tenant(session)
    blocked = make_contact(session, tenant, "blocked@client.example")
    no_portal = make_contact(session, tenant, "noportal@client.example")
    contacts.update_contact(session, Operator(), blocked.id, blocked=True, now=NOW)
    contacts.update_contact(session, Operator(), no_portal.id, portal_access=False, now=NOW)
    for address in ("nobody@client.example", "blocked@client.example", "noportal@client.example"):
        assert sign_in.create_sign_in_link(session, tenant.id, address, now=NOW) is None


def test_no_link_for_a_contact_of_another_tenant(session: Session) -> None:
    tenant, other = make_tenant(session), make_tenant(session)
    make_contact(session, other, "ann@client.example")
    assert sign_in.create_sign_in_link(session, tenant.id, "ann@client.example", now=NOW) is None


def test_malformed_address_is_a_validation_error(session: Session) -> None:
    tenant = make_tenant(session)
    with pytest.raises(ValidationError):
        sign_in.create_sign_in_link(session, tenant.id, "not an address", now=NOW)


def test_link_of_a_contact_blocked_since_it_was_sent_is_refused(session: Session) -> None:
    tenant = make_tenant(session)
    contact = make_contact(session, tenant, "ann@client.example")
    secret = sign_in.create_sign_in_link(session, tenant.id, "ann@client.example", now=NOW)
    assert secret is not None
    contacts.update_contact(session, Operator(), contact.id, blocked=True, now=NOW)
    with pytest.raises(PermissionDenied):
        sign_in.redeem_sign_in_link(session, secret, now=NOW)


def test_link_secret_is_never_stored_in_clear(session: Session) -> None:
    tenant = make_tenant(session)
    make_contact(session, tenant, "ann@client.example")
    secret = sign_in.create_sign_in_link(session, tenant.id, "ann@client.example", now=NOW)
    assert secret is not None
    assert len(secret) >= 43
    rows = session.execute(text("SELECT * FROM sign_in_links")).all()
    assert len(rows) == 1
    assert all(secret not in str(value) for value in rows[0])


def test_links_per_contact_are_capped_within_a_window(session: Session) -> None:
    tenant = make_tenant(session)
    make_contact(session, tenant, "ann@client.example")
    issued = [
        sign_in.create_sign_in_link(
            session, tenant.id, "ann@client.example", now=NOW + timedelta(minutes=i)
        )
        for i in range(6)
    ]
    assert all(issued[:5])
    assert issued[5] is None
    later = NOW + sign_in.RATE_WINDOW + timedelta(minutes=1)
    assert sign_in.create_sign_in_link(session, tenant.id, "ann@client.example", now=later)
