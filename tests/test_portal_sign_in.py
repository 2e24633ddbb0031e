"""Asking for a portal sign-in link: a mail queued for known clients only, its link encrypted."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.crypto import SecretBox
from helpdesk.errors import ConfigError, ValidationError
from helpdesk.models import OutboxEvent, SignInLink
from helpdesk.principal import Operator
from helpdesk.services import client_tokens, contacts
from helpdesk.services.portal_sign_in import (
    OUTBOX_SIGN_IN_LINK,
    request_sign_in_link,
    sign_in_url_from,
)
from tests.factories import NOW, make_contact, make_tenant

BOX = SecretBox("test-secret-key", "outbox")
BASE = "https://help.example.com/"


def _queued(session: Session) -> list[OutboxEvent]:
    query = select(OutboxEvent).where(OutboxEvent.kind == OUTBOX_SIGN_IN_LINK)
    return list(session.scalars(query))


def test_a_known_client_gets_a_mail_whose_link_signs_them_in(session: Session) -> None:
    tenant = make_tenant(session, "acme")
    contact = make_contact(session, tenant, "ann@client.example")
    request_sign_in_link(session, "ACME", " Ann@Client.example", base_url=BASE, box=BOX, now=NOW)
    (row,) = _queued(session)
    link = session.get_one(SignInLink, row.payload["link_id"])
    assert (row.tenant_id, row.payload["contact_id"], row.payload["email"]) == (
        tenant.id,
        contact.id,
        "ann@client.example",
    )
    assert row.payload["expires_at"] == link.expires_at.isoformat()
    url = sign_in_url_from(row.payload, BOX)
    assert url.startswith("https://help.example.com/portal/sign-in/")
    secret = url.rsplit("/", 1)[1]
    assert secret not in str(row.payload)
    client, _token, _secret = client_tokens.sign_in_with_link(session, secret, now=NOW)
    assert client.contact_id == contact.id


def test_nobody_else_gets_a_mail(session: Session) -> None:
    tenant = make_tenant(session, "acme")
    blocked = make_contact(session, tenant, "bob@client.example")
    contacts.update_contact(session, Operator(), blocked.id, blocked=True, now=NOW)
    make_contact(session, make_tenant(session, "globex"), "cy@client.example")
    for slug, email in (
        ("acme", "stranger@client.example"),
        ("acme", "bob@client.example"),
        ("acme", "cy@client.example"),
        ("nope", "ann@client.example"),
    ):
        request_sign_in_link(session, slug, email, base_url=BASE, box=BOX, now=NOW)
    assert _queued(session) == []


def test_a_malformed_address_is_refused_for_any_tenant(session: Session) -> None:
    for slug in ("acme", "no-such-tenant"):
        with pytest.raises(ValidationError):
            request_sign_in_link(session, slug, "not an address", base_url=BASE, box=BOX, now=NOW)


def test_only_the_installations_key_reads_the_link(session: Session) -> None:
    tenant = make_tenant(session, "acme")
    make_contact(session, tenant, "ann@client.example")
    request_sign_in_link(session, "acme", "ann@client.example", base_url=BASE, box=BOX, now=NOW)
    (row,) = _queued(session)
    with pytest.raises(ConfigError):
        sign_in_url_from(row.payload, SecretBox("another-key", "outbox"))
