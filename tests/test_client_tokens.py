"""Portal sessions: a sign-in link becomes a bearer token for the portal API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.errors import PermissionDenied
from helpdesk.models import ClientToken
from helpdesk.principal import Operator
from helpdesk.services import client_tokens, contacts, sign_in
from tests.factories import NOW, make_contact, make_tenant


def _signed_in(session: Session) -> tuple[int, str]:
    tenant = make_tenant(session)
    contact = make_contact(session, tenant, "ann@client.example")
    link = sign_in.create_sign_in_link(session, tenant.id, "ann@client.example", now=NOW)
    assert link is not None
    client, _token, secret = client_tokens.sign_in_with_link(session, link, now=NOW)
    assert client.contact_id == contact.id
    return contact.id, secret


def test_link_becomes_a_token_that_signs_the_client_in(session: Session) -> None:
    contact_id, secret = _signed_in(session)
    later = NOW + timedelta(days=1)
    assert (
        client_tokens.authenticate_client_token(session, secret, now=later).contact_id == contact_id
    )
    stored = session.scalars(select(ClientToken.token_hash)).all()
    assert secret not in stored


def test_token_expires_and_can_be_revoked(session: Session) -> None:
    _contact_id, secret = _signed_in(session)
    with pytest.raises(PermissionDenied):
        client_tokens.authenticate_client_token(session, secret, now=NOW + client_tokens.LIFETIME)
    client_tokens.sign_out(session, secret, now=NOW)
    with pytest.raises(PermissionDenied):
        client_tokens.authenticate_client_token(session, secret, now=NOW + timedelta(minutes=1))


def test_blocking_a_contact_ends_their_sessions(session: Session) -> None:
    contact_id, secret = _signed_in(session)
    contacts.update_contact(session, Operator(), contact_id, blocked=True, now=NOW)
    with pytest.raises(PermissionDenied):
        client_tokens.authenticate_client_token(session, secret, now=NOW + timedelta(minutes=1))


def test_a_link_signs_in_once(session: Session) -> None:
    tenant = make_tenant(session)
    make_contact(session, tenant, "bob@client.example")
    link = sign_in.create_sign_in_link(session, tenant.id, "bob@client.example", now=NOW)
    assert link is not None
    client_tokens.sign_in_with_link(session, link, now=NOW)
    with pytest.raises(PermissionDenied):
        client_tokens.sign_in_with_link(session, link, now=NOW)


@pytest.mark.parametrize("secret", ["", "hdc_", "hd_staff-token", "hdc_" + "x" * 300])
def test_malformed_tokens_are_refused(session: Session, secret: str) -> None:
    with pytest.raises(PermissionDenied):
        client_tokens.authenticate_client_token(session, secret, now=NOW)
