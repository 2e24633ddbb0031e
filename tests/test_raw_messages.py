"""Raw mail: stored once per tenant and content, marked with its fate, read by admins only."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from helpdesk import migrate
from helpdesk.db import make_engine
from helpdesk.enums import RawMessageState, Role
from helpdesk.errors import NotFound, PermissionDenied, ValidationError
from helpdesk.models import RawMessage, Tenant
from helpdesk.principal import Operator, PlatformAdmin
from helpdesk.services.raw_messages import (
    get_raw_message,
    list_raw_messages,
    mark_raw_message,
    raw_key,
    read_raw_bytes,
    store_raw_message,
)
from helpdesk.storage.local import LocalBlobStore
from tests.factories import NOW, make_staff, make_tenant, make_ticket

RAW = (
    b"From: Ann <ann@client.example>\r\nTo: help@acme.example\r\n"
    b"Message-ID: <m1@client.example>\r\nSubject: Printer\r\n\r\nIt is on fire.\r\n"
)


def _store(
    session: Session, store: LocalBlobStore, tenant: Tenant | None, **kw: object
) -> tuple[RawMessage, bool]:
    values: dict[str, object] = {
        "data": RAW,
        "envelope_from": "ann@client.example",
        "envelope_to": ["help@acme.example"],
        "transport": "smtp",
        "tenant_id": tenant.id if tenant else None,
        "mailbox_id": None,
        "message_id": "<m1@client.example>",
        "fingerprint": "f" * 64,
        "store": store,
        "now": NOW,
    }
    values.update(kw)
    return store_raw_message(session, **values)  # type: ignore[arg-type]


def _count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(RawMessage)) or 0)


def test_accepted_mail_is_kept_byte_for_byte_under_its_tenant(
    session: Session, store: LocalBlobStore
) -> None:
    tenant = make_tenant(session)
    raw, duplicate = _store(session, store, tenant)
    assert duplicate is False
    digest = hashlib.sha256(RAW).hexdigest()
    assert raw.storage_key == f"t{tenant.id}/{digest[:2]}/{digest[2:4]}/{digest}"
    assert read_raw_bytes(raw, store) == RAW
    assert (raw.message_id, raw.state, raw.size, raw.sha256) == (
        "m1@client.example", RawMessageState.RECEIVED, len(RAW), digest,
    )  # fmt: skip
    assert raw.envelope_to == {"rcpt_tos": ["help@acme.example"]}


def test_the_same_message_delivered_twice_is_stored_once(
    session: Session, store: LocalBlobStore
) -> None:
    tenant = make_tenant(session)
    first, _ = _store(session, store, tenant)
    # Relayed again: other transport headers, the same content fingerprint.
    again, duplicate = _store(session, store, tenant, data=b"Received: x\r\n" + RAW)
    assert (again.id, duplicate) == (first.id, True)
    assert _count(session) == 1


def test_a_different_message_reusing_a_message_id_is_kept_too(
    session: Session, store: LocalBlobStore
) -> None:
    tenant = make_tenant(session)
    first, _ = _store(session, store, tenant)
    other, duplicate = _store(session, store, tenant, data=RAW + b"PS", fingerprint="e" * 64)
    assert duplicate is False
    assert other.id != first.id
    assert other.message_id == first.message_id


def test_the_same_message_to_two_tenants_is_each_tenants_own(
    session: Session, store: LocalBlobStore
) -> None:
    first, _ = _store(session, store, make_tenant(session))
    second, duplicate = _store(session, store, make_tenant(session))
    assert duplicate is False
    assert first.storage_key != second.storage_key


def test_mail_of_no_known_tenant_is_kept_apart_and_still_stored_once(
    session: Session, store: LocalBlobStore
) -> None:
    raw, _ = _store(session, store, None)
    assert raw.storage_key.startswith("unrouted/")
    again, duplicate = _store(session, store, None)
    assert (again.id, duplicate) == (raw.id, True)


def test_bad_fingerprints_and_digests_are_refused(session: Session, store: LocalBlobStore) -> None:
    with pytest.raises(ValidationError):
        _store(session, store, None, fingerprint="")
    with pytest.raises(ValidationError):
        raw_key(None, "../" + "a" * 61)


def test_marking_records_the_fate_and_the_pipelines_explanation(
    session: Session, store: LocalBlobStore
) -> None:
    tenant = make_tenant(session)
    ticket = make_ticket(session, tenant)
    raw, _ = _store(session, store, tenant)
    decision = {"route": "envelope", "thread": {"rule": "new"}}
    later = NOW + timedelta(seconds=2)
    mark_raw_message(
        session, raw, RawMessageState.PROCESSED, reason=None, decision=decision,
        ticket_id=ticket.id, now=later,
    )  # fmt: skip
    session.expire(raw)
    assert (raw.state, raw.decision, raw.ticket_id) == (
        RawMessageState.PROCESSED, decision, ticket.id,
    )  # fmt: skip
    assert (raw.processed_at, raw.attempts) == (later, 1)


def _one_of_each(session: Session, store: LocalBlobStore) -> tuple[Tenant, Tenant, RawMessage]:
    own, other = make_tenant(session), make_tenant(session)
    mine, _ = _store(session, store, own, fingerprint="1" * 64)
    theirs, _ = _store(session, store, other, fingerprint="2" * 64)
    _store(session, store, None, fingerprint="3" * 64)
    for raw in (mine, theirs):
        mark_raw_message(
            session, raw, RawMessageState.QUARANTINED, reason="broken", decision={},
            ticket_id=None, now=NOW,
        )  # fmt: skip
    return own, other, theirs


def test_tenant_admins_see_their_own_tenants_raw_mail_only(
    session: Session, store: LocalBlobStore
) -> None:
    own, other, theirs = _one_of_each(session, store)
    admin = make_staff(session, own, Role.ADMIN)
    listed = list_raw_messages(session, admin, state=RawMessageState.QUARANTINED)
    assert [raw.tenant_id for raw in listed] == [own.id]
    with pytest.raises(PermissionDenied):
        list_raw_messages(session, admin, state=RawMessageState.QUARANTINED, tenant_id=other.id)
    with pytest.raises(NotFound):
        get_raw_message(session, admin, theirs.id)
    assert get_raw_message(session, admin, listed[0].id) is listed[0]


def test_platform_admins_see_every_tenants_raw_mail(
    session: Session, store: LocalBlobStore
) -> None:
    _own, other, theirs = _one_of_each(session, store)
    admin = PlatformAdmin(user_id=1)
    everything = list_raw_messages(session, admin, state=RawMessageState.RECEIVED)
    assert None in {raw.tenant_id for raw in everything}
    listed = list_raw_messages(
        session, admin, state=RawMessageState.QUARANTINED, tenant_id=other.id
    )
    assert [raw.id for raw in listed] == [theirs.id]
    assert get_raw_message(session, Operator(), theirs.id) is theirs


def test_nobody_but_admins_reads_raw_mail(session: Session, store: LocalBlobStore) -> None:
    own, _other, _theirs = _one_of_each(session, store)
    mine = list_raw_messages(
        session, Operator(), state=RawMessageState.QUARANTINED, tenant_id=own.id
    )
    for role in (Role.AGENT, Role.LIGHT_AGENT):
        staff = make_staff(session, own, role)
        with pytest.raises(PermissionDenied):
            list_raw_messages(session, staff, state=RawMessageState.QUARANTINED)
        with pytest.raises(PermissionDenied):
            get_raw_message(session, staff, mine[0].id)


def test_raw_mail_lists_are_newest_first_and_bounded(
    session: Session, store: LocalBlobStore
) -> None:
    tenant = make_tenant(session)
    stored = [_store(session, store, tenant, fingerprint=f"{n:064x}")[0] for n in range(3)]
    listed = list_raw_messages(
        session, Operator(), state=RawMessageState.RECEIVED, tenant_id=tenant.id, limit=2
    )
    assert [raw.id for raw in listed] == [stored[2].id, stored[1].id]


def test_upgrading_a_filled_sqlite_database_keeps_messages_linked_to_their_raw_mail(
    tmp_path: Path,
) -> None:
    # SQLite changes raw_messages' constraints by copying the table, which on
    # its own would clear every message's link to its stored original.
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate.upgrade(engine, "0003")
    with engine.begin() as connection:
        for statement in _FILLED_0003:
            connection.execute(text(statement))
    migrate.upgrade(engine)
    with engine.connect() as connection:
        links = connection.execute(text("SELECT id, raw_message_id FROM messages")).all()
        fingerprints = connection.execute(text("SELECT fingerprint FROM raw_messages")).all()
    engine.dispose()
    assert links == [(1, 1)]
    assert fingerprints == [("a" * 64,)]


_FILLED_0003 = [
    "INSERT INTO tenants (id, slug, name, timezone, settings, last_ticket_number, active, "
    "created_at) VALUES (1, 'acme', 'Acme', 'UTC', '{}', 1, 1, '2026-03-02')",
    "INSERT INTO contacts (id, tenant_id, name, portal_access, blocked, created_at) "
    "VALUES (1, 1, 'Ann', 1, 0, '2026-03-02')",
    "INSERT INTO tickets (id, tenant_id, number, subject, status, priority, source, requester_id, "
    "custom_fields, sla_paused_seconds, last_activity_at, reopened_count, message_count, "
    "created_at, updated_at, version) VALUES (1, 1, 1, 'Printer', 'open', 'normal', 'email', 1, "
    "'{}', 0, '2026-03-02', 0, 1, '2026-03-02', '2026-03-02', 1)",
    "INSERT INTO raw_messages (id, tenant_id, state, storage_key, size, sha256, transport, "
    f"envelope_to, attempts, received_at) VALUES (1, 1, 'processed', 'k', 1, '{'a' * 64}', "
    "'smtp', '{}', 1, '2026-03-02')",
    "INSERT INTO messages (id, tenant_id, ticket_id, author_type, visibility, body_text, "
    "body_full_text, body_html, source, raw_message_id, created_at) VALUES (1, 1, 1, 'client', "
    "'public', 'Fire', 'Fire', '', 'email', 1, '2026-03-02')",
]
