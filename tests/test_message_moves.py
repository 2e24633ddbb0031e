"""Agents correct threading: a message moves to another ticket, or splits off into a new one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.enums import EventKind, LinkKind, Status, Visibility
from helpdesk.errors import Conflict, NotFound, PermissionDenied, ValidationError
from helpdesk.models import Attachment, Contact, Message, Ticket, TicketLink, TicketParticipant
from helpdesk.queries.inbound import SqlThreadIndex
from helpdesk.search import search_hits
from helpdesk.services import contacts, messages
from helpdesk.services.inbound_mail import IncomingFile
from helpdesk.services.message_moves import move_message, split_message
from helpdesk.services.tickets import change_status
from helpdesk.storage.local import LocalBlobStore
from tests.factories import NOW, receive
from tests.ticket_helpers import Desk, events, make_desk

LATER = NOW + timedelta(hours=1)
ANN, BEN = "ann@client.example", "ben@client.example"


def _ticket(session: Session, desk: Desk, store: LocalBlobStore, sender: str, *cc: str) -> Ticket:
    outcome = receive(
        session, desk.tenant, store, sender_email=sender, subject=f"From {sender}", cc=cc
    )
    return session.get_one(Ticket, outcome.ticket_id)


def _misthreaded(session: Session, desk: Desk, ticket: Ticket, store: LocalBlobStore) -> Message:
    """Ann's reply on `ticket` that is really about something else: zebras, with a file."""
    standing = "requester" if ticket.requester_id == _ann(session, desk) else "participant"
    outcome = receive(
        session, desk.tenant, store, rule="header", ticket_id=ticket.id, standing=standing,
        sender_email=ANN, body_text="Also, the zebra escaped.", message_id="zebra@client.example",
        files=(IncomingFile("zebra.txt", "text/plain", "text/plain", b"stripes"),), now=LATER,
    )  # fmt: skip
    return session.get_one(Message, outcome.message_id)


def _ann(session: Session, desk: Desk) -> int | None:
    contact = contacts.find_contact(session, desk.tenant.id, ANN)
    return contact.id if contact else None


def _matches(session: Session, word: str) -> set[int]:
    hits = search_hits(session, [word], everything=True)
    return set(session.scalars(select(hits.c.ticket_id)))


def test_moved_message_takes_its_files_counts_search_and_replies_along(
    session: Session, desk: Desk, store: LocalBlobStore
) -> None:
    source = _ticket(session, desk, store, ANN)
    target = _ticket(session, desk, store, ANN)
    message = _misthreaded(session, desk, source, store)
    moved = move_message(session, desk.agent, message.id, target.id, now=LATER)
    assert moved.ticket_id == target.id
    attachment = session.scalars(
        select(Attachment).where(Attachment.message_id == message.id)
    ).one()
    assert attachment.ticket_id == target.id
    assert (source.message_count, target.message_count) == (1, 2)
    assert _matches(session, "zebra") == {target.id}
    found = SqlThreadIndex(session).ticket_for_message_ids(desk.tenant.id, ["zebra@client.example"])
    assert found is not None
    assert found[0].id == target.id
    ref = {"id": target.id, "number": target.number}
    assert events(session, source)[-1] == (
        EventKind.MESSAGE_MOVED, {"message_id": message.id, "to": ref},
    )  # fmt: skip
    assert events(session, target)[-1] == (
        EventKind.MESSAGE_MOVED,
        {"message_id": message.id, "from": {"id": source.id, "number": source.number}},
    )


def test_a_message_moves_only_where_it_may(
    session: Session, desk: Desk, store: LocalBlobStore
) -> None:
    source = _ticket(session, desk, store, ANN)
    message = _misthreaded(session, desk, source, store)
    closed = _ticket(session, desk, store, BEN)
    change_status(session, desk.agent, closed.id, Status.CLOSED, now=NOW)
    theirs = _ticket(session, make_desk(session), store, BEN)
    with pytest.raises(ValidationError):
        move_message(session, desk.agent, message.id, source.id, now=LATER)
    with pytest.raises(Conflict):
        move_message(session, desk.agent, message.id, closed.id, now=LATER)
    with pytest.raises(NotFound):
        move_message(session, desk.agent, message.id, theirs.id, now=LATER)
    with pytest.raises(PermissionDenied):
        move_message(session, desk.light, message.id, closed.id, now=LATER)
    assert message.ticket_id == source.id


def test_a_tickets_only_message_cannot_leave_it(
    session: Session, desk: Desk, store: LocalBlobStore
) -> None:
    source = _ticket(session, desk, store, ANN)
    target = _ticket(session, desk, store, BEN)
    only = session.scalars(select(Message).where(Message.ticket_id == source.id)).one()
    with pytest.raises(Conflict):
        move_message(session, desk.agent, only.id, target.id, now=LATER)
    with pytest.raises(Conflict):
        split_message(session, desk.agent, only.id, now=LATER)


def test_split_message_opens_a_related_ticket_for_its_author(
    session: Session, desk: Desk, store: LocalBlobStore
) -> None:
    source = _ticket(session, desk, store, BEN, ANN)
    message = _misthreaded(session, desk, source, store)
    ticket = split_message(session, desk.agent, message.id, now=LATER)
    requester = session.get_one(Contact, ticket.requester_id)
    assert requester.primary_email == ANN
    assert (ticket.subject, ticket.priority, ticket.message_count) == (
        source.subject, source.priority, 1,
    )  # fmt: skip
    assert message.ticket_id == ticket.id
    link = session.scalars(select(TicketLink).where(TicketLink.source_id == ticket.id)).one()
    assert (link.target_id, link.kind) == (source.id, LinkKind.RELATED)
    assert [kind for kind, _ in events(session, ticket)] == [EventKind.MESSAGE_SPLIT]
    assert events(session, source)[-1][0] is EventKind.MESSAGE_SPLIT
    assert _matches(session, "zebra") == {ticket.id}


def test_split_agent_message_keeps_the_old_requester(
    session: Session, desk: Desk, store: LocalBlobStore
) -> None:
    source = _ticket(session, desk, store, BEN)
    reply = messages.add_public_reply(session, desk.agent, source.id, "About zebras", now=NOW)
    ticket = split_message(session, desk.agent, reply.id, now=LATER)
    assert ticket.requester_id == source.requester_id


def test_split_releases_a_strangers_held_message_onto_their_own_ticket(
    session: Session, desk: Desk, store: LocalBlobStore
) -> None:
    # Given a stranger's mail held on Ben's ticket
    source = _ticket(session, desk, store, BEN)
    held = receive(
        session, desk.tenant, store, rule="token", ticket_id=source.id, standing="pending",
        sender_email="eve@other.example", body_text="My own problem.", now=LATER,
    )  # fmt: skip
    message = session.get_one(Message, held.message_id)
    # When an agent splits it off
    ticket = split_message(session, desk.agent, message.id, now=LATER)
    # Then it is the stranger's own public request, and they are gone from Ben's ticket
    assert (message.visibility, message.hold_reason) == (Visibility.PUBLIC, None)
    assert ticket.requester_id == message.author_contact_id
    participants = session.scalars(
        select(TicketParticipant).where(TicketParticipant.ticket_id == source.id)
    ).all()
    assert participants == []


def test_an_agents_held_note_is_not_split(
    session: Session, desk: Desk, store: LocalBlobStore
) -> None:
    source = _ticket(session, desk, store, BEN)
    held = receive(
        session, desk.tenant, store, rule="header", ticket_id=source.id,
        standing="unproven_agent", agent_user_id=desk.agent.user_id, now=LATER,
    )  # fmt: skip
    assert held.message_id is not None
    with pytest.raises(Conflict):
        split_message(session, desk.agent, held.message_id, now=LATER)


def test_clients_cannot_move_or_split(session: Session, desk: Desk, store: LocalBlobStore) -> None:
    source = _ticket(session, desk, store, ANN)
    target = _ticket(session, desk, store, ANN)
    message = _misthreaded(session, desk, source, store)
    with pytest.raises(NotFound):
        move_message(session, desk.client, message.id, target.id, now=LATER)
    with pytest.raises(NotFound):
        split_message(session, desk.client, message.id, now=LATER)
