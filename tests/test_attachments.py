"""Attachments: bytes in the blob store, rows on the message, notes' files hidden from clients."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from helpdesk.enums import EventKind
from helpdesk.errors import NotFound, PermissionDenied, ValidationError
from helpdesk.models import Attachment, Message
from helpdesk.services import attachments, messages
from helpdesk.storage.local import LocalBlobStore
from tests.factories import NOW, make_ticket
from tests.ticket_helpers import Desk, kinds, make_desk

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def _attach(
    session: Session, desk: Desk, message: Message, store: LocalBlobStore, **kw: object
) -> Attachment:
    values: dict[str, object] = {
        "filename": "invoice.pdf",
        "data": PDF,
        "declared_type": "application/pdf",
        "sniffed_type": "application/pdf",
        "store": store,
        "now": NOW,
    }
    values.update(kw)
    actor = values.pop("actor", desk.agent)
    return attachments.add_attachment(session, actor, message.id, **values)  # type: ignore[arg-type]


def test_attachment_bytes_round_trip_and_the_event_is_recorded(
    session: Session, desk: Desk, store: LocalBlobStore
) -> None:
    ticket = make_ticket(session, desk.tenant)
    reply = messages.add_public_reply(session, desk.agent, ticket.id, "See attached.", now=NOW)
    attachment = _attach(session, desk, reply, store)
    assert attachment.size == len(PDF)
    assert attachment.storage_key.startswith(f"t{desk.tenant.id}/")
    _, data = attachments.read_attachment(
        session, desk.agent, ticket.id, attachment.id, store=store
    )
    assert data == PDF
    assert EventKind.ATTACHMENT_ADDED in kinds(session, ticket)
    assert [a.filename for a in reply.attachments] == ["invoice.pdf"]


def test_the_same_file_twice_is_stored_once(
    session: Session, desk: Desk, store: LocalBlobStore, tmp_path: Path
) -> None:
    ticket = make_ticket(session, desk.tenant)
    first = messages.add_public_reply(session, desk.agent, ticket.id, "One", now=NOW)
    second = messages.add_public_reply(session, desk.agent, ticket.id, "Two", now=NOW)
    a = _attach(session, desk, first, store)
    b = _attach(session, desk, second, store, filename="copy.pdf")
    assert a.storage_key == b.storage_key
    assert len([p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]) == 1


def test_client_reaches_public_files_but_not_files_on_internal_notes(
    session: Session, desk: Desk, store: LocalBlobStore
) -> None:
    ticket = make_ticket(session, desk.tenant, requester_email="me@client.example")
    from helpdesk.services.contacts import client_principal, find_contact

    contact = find_contact(session, desk.tenant.id, "me@client.example")
    assert contact is not None
    client = client_principal(session, contact.id)
    reply = messages.add_public_reply(session, desk.agent, ticket.id, "Public", now=NOW)
    note = messages.add_internal_note(session, desk.agent, ticket.id, "Secret", now=NOW)
    public_file = _attach(session, desk, reply, store)
    secret_file = _attach(session, desk, note, store, data=b"internal numbers", filename="x.txt")

    assert (
        attachments.get_attachment(session, client, ticket.id, public_file.id).id == public_file.id
    )
    with pytest.raises(NotFound):
        attachments.get_attachment(session, client, ticket.id, secret_file.id)
    with pytest.raises(NotFound):
        attachments.read_attachment(session, client, ticket.id, secret_file.id, store=store)
    # Staff see both.
    assert attachments.get_attachment(session, desk.light, ticket.id, secret_file.id)


def test_light_agent_may_attach_to_a_note_but_not_to_a_public_reply(
    session: Session, desk: Desk, store: LocalBlobStore
) -> None:
    ticket = make_ticket(session, desk.tenant)
    reply = messages.add_public_reply(session, desk.agent, ticket.id, "Public", now=NOW)
    note = messages.add_internal_note(session, desk.light, ticket.id, "Look", now=NOW)
    _attach(session, desk, note, store, actor=desk.light)
    with pytest.raises(PermissionDenied):
        _attach(session, desk, reply, store, actor=desk.light)


def test_another_tenants_attachment_does_not_exist(
    session: Session, desk: Desk, store: LocalBlobStore
) -> None:
    other = make_desk(session)
    ticket = make_ticket(session, desk.tenant)
    reply = messages.add_public_reply(session, desk.agent, ticket.id, "Public", now=NOW)
    attachment = _attach(session, desk, reply, store)
    with pytest.raises(NotFound):
        attachments.get_attachment(session, other.admin, ticket.id, attachment.id)
    with pytest.raises(NotFound):
        _attach(session, desk, reply, store, actor=other.agent)
    # Nor is it reachable through a ticket of one's own.
    own = make_ticket(session, other.tenant)
    with pytest.raises(NotFound):
        attachments.get_attachment(session, other.admin, own.id, attachment.id)


@pytest.mark.parametrize(
    ("given_name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\bob\\report.docx", "report.docx"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),
        ("  notes.txt  ", "notes.txt"),
    ],
)
def test_file_names_lose_paths_and_control_characters(given_name: str, expected: str) -> None:
    assert attachments.clean_filename(given_name) == expected


def test_a_file_name_of_nothing_is_refused() -> None:
    with pytest.raises(ValidationError):
        attachments.clean_filename("/../")


@given(st.text(min_size=1, max_size=600))
def test_cleaned_names_are_short_and_have_no_separators_or_controls(name: str) -> None:
    try:
        cleaned = attachments.clean_filename(name)
    except ValidationError:
        return
    assert 0 < len(cleaned) <= attachments.MAX_FILENAME_LENGTH
    assert "/" not in cleaned
    assert "\\" not in cleaned
    assert all(ch.isprintable() or ch == " " for ch in cleaned)


def test_long_names_keep_their_extension() -> None:
    cleaned = attachments.clean_filename("a" * 400 + ".pdf")
    assert cleaned.endswith(".pdf")
    assert len(cleaned) == attachments.MAX_FILENAME_LENGTH
