"""Held mail: an agent accepts it (then it is posted as written) or rejects it (never posted)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.enums import EventKind, Role, Status, Visibility
from helpdesk.errors import Conflict, NotFound, PermissionDenied
from helpdesk.models import Message, Ticket, TicketParticipant
from helpdesk.principal import PlatformAdmin, Principal
from helpdesk.services import contacts, messages
from helpdesk.services.held_messages import accept_held_message, reject_held_message
from helpdesk.services.tickets import change_status
from helpdesk.storage.local import LocalBlobStore
from tests.factories import NOW, make_staff, receive
from tests.ticket_helpers import Desk, events, kinds, make_desk, outbox

LATER = NOW + timedelta(hours=1)
ANN, EVE = "ann@client.example", "eve@other.example"


@pytest.fixture
def ticket(session: Session, desk: Desk, store: LocalBlobStore) -> Ticket:
    outcome = receive(session, desk.tenant, store, sender_email=ANN)
    return session.get_one(Ticket, outcome.ticket_id)


def _held_from_stranger(
    session: Session, desk: Desk, ticket: Ticket, store: LocalBlobStore
) -> Message:
    outcome = receive(
        session, desk.tenant, store, rule="token", ticket_id=ticket.id, standing="pending",
        sender_email=EVE, body_text="I can help too.", now=LATER,
    )  # fmt: skip
    return session.get_one(Message, outcome.message_id)


def _held_agent_note(
    session: Session, desk: Desk, ticket: Ticket, store: LocalBlobStore, user_id: int
) -> Message:
    outcome = receive(
        session, desk.tenant, store, rule="header", ticket_id=ticket.id,
        standing="unproven_agent", agent_user_id=user_id, body_text="Reboot it.", now=LATER,
    )  # fmt: skip
    return session.get_one(Message, outcome.message_id)


def _eve(session: Session, desk: Desk) -> int:
    contact = contacts.find_contact(session, desk.tenant.id, EVE)
    assert contact is not None
    return contact.id


def test_accepted_strangers_mail_is_their_public_reply_and_they_take_part(
    session: Session, desk: Desk, ticket: Ticket, store: LocalBlobStore
) -> None:
    messages.add_public_reply(session, desk.agent, ticket.id, "Is it plugged in?", now=NOW)
    held = _held_from_stranger(session, desk, ticket, store)
    accepted = accept_held_message(session, desk.agent, held.id, now=LATER)
    assert (accepted.visibility, accepted.hold_reason) == (Visibility.PUBLIC, None)
    participant = session.get_one(TicketParticipant, (ticket.id, _eve(session, desk)))
    assert participant.pending is False
    assert ticket.status is Status.OPEN
    kind, payload = events(session, ticket)[-1]
    assert kind is EventKind.HELD_MESSAGE_ACCEPTED
    assert payload["participant_added"] == _eve(session, desk)
    assert payload["status"] == {"from": "waiting_on_client", "to": "open"}
    assert {"ticket_id": ticket.id, "message_id": held.id} in outbox(
        session, messages.OUTBOX_CLIENT_REPLY
    )
    eve = contacts.client_principal(session, _eve(session, desk))
    assert held.id in [m.id for m in messages.list_messages(session, eve, ticket.id)]


def test_accepting_on_a_resolved_ticket_reopens_it(
    session: Session, desk: Desk, ticket: Ticket, store: LocalBlobStore
) -> None:
    held = _held_from_stranger(session, desk, ticket, store)
    change_status(session, desk.agent, ticket.id, Status.RESOLVED, now=LATER)
    accept_held_message(session, desk.agent, held.id, now=LATER)
    assert ticket.status is Status.OPEN
    assert kinds(session, ticket)[-2:] == [EventKind.HELD_MESSAGE_ACCEPTED, EventKind.REOPENED]


def test_rejected_strangers_mail_stays_internal_and_they_leave(
    session: Session, desk: Desk, ticket: Ticket, store: LocalBlobStore
) -> None:
    held = _held_from_stranger(session, desk, ticket, store)
    reason = held.hold_reason
    rejected = reject_held_message(session, desk.agent, held.id, now=LATER)
    assert (rejected.visibility, rejected.hold_reason) == (Visibility.INTERNAL, None)
    assert session.get(TicketParticipant, (ticket.id, _eve(session, desk))) is None
    assert events(session, ticket)[-1] == (
        EventKind.HELD_MESSAGE_REJECTED,
        {"message_id": held.id, "reason": reason, "participant_removed": _eve(session, desk)},
    )
    with pytest.raises(Conflict):
        accept_held_message(session, desk.agent, held.id, now=LATER)


def test_rejecting_one_message_keeps_a_participant_who_was_accepted_before(
    session: Session, desk: Desk, ticket: Ticket, store: LocalBlobStore
) -> None:
    first = _held_from_stranger(session, desk, ticket, store)
    accept_held_message(session, desk.agent, first.id, now=LATER)
    second = receive(
        session, desk.tenant, store, rule="header", ticket_id=ticket.id, standing="participant",
        sender_email=EVE, hold_reason="held by the pipeline", now=LATER,
    )  # fmt: skip
    assert second.message_id is not None
    reject_held_message(session, desk.agent, second.message_id, now=LATER)
    assert session.get_one(TicketParticipant, (ticket.id, _eve(session, desk))).pending is False


def test_unproven_agent_note_is_confirmed_by_that_agent_as_their_reply(
    session: Session, desk: Desk, ticket: Ticket, store: LocalBlobStore
) -> None:
    held = _held_agent_note(session, desk, ticket, store, desk.agent.user_id)
    accepted = accept_held_message(session, desk.agent, held.id, now=LATER)
    assert (accepted.visibility, accepted.author_user_id) == (Visibility.PUBLIC, desk.agent.user_id)
    assert ticket.first_response_at == LATER
    assert ticket.status is Status.WAITING_ON_CLIENT
    assert {"ticket_id": ticket.id, "message_id": held.id} in outbox(
        session, messages.OUTBOX_PUBLIC_REPLY
    )


def test_only_that_agent_or_an_admin_confirms_an_agents_note(
    session: Session, desk: Desk, ticket: Ticket, store: LocalBlobStore
) -> None:
    colleague = make_staff(session, desk.tenant, Role.AGENT)
    held = _held_agent_note(session, desk, ticket, store, desk.agent.user_id)
    with pytest.raises(PermissionDenied):
        accept_held_message(session, colleague, held.id, now=LATER)
    assert held.hold_reason is not None
    accept_held_message(session, desk.admin, held.id, now=LATER)
    assert held.visibility is Visibility.PUBLIC
    other = _held_agent_note(session, desk, ticket, store, desk.agent.user_id)
    accept_held_message(session, PlatformAdmin(user_id=desk.admin.user_id), other.id, now=LATER)
    assert other.visibility is Visibility.PUBLIC


def test_any_agent_may_reject_a_forged_agent_note(
    session: Session, desk: Desk, ticket: Ticket, store: LocalBlobStore
) -> None:
    colleague = make_staff(session, desk.tenant, Role.AGENT)
    held = _held_agent_note(session, desk, ticket, store, desk.agent.user_id)
    reject_held_message(session, colleague, held.id, now=LATER)
    assert (held.visibility, held.hold_reason) == (Visibility.INTERNAL, None)


def test_a_light_agents_confirmed_note_stays_a_note(
    session: Session, desk: Desk, ticket: Ticket, store: LocalBlobStore
) -> None:
    held = _held_agent_note(session, desk, ticket, store, desk.light.user_id)
    accept_held_message(session, desk.admin, held.id, now=LATER)
    assert (held.visibility, held.hold_reason) == (Visibility.INTERNAL, None)
    assert ticket.first_response_at is None


def test_who_may_decide_on_held_mail(
    session: Session, desk: Desk, ticket: Ticket, store: LocalBlobStore
) -> None:
    held = _held_from_stranger(session, desk, ticket, store)
    requester = contacts.client_principal(session, ticket.requester_id)
    other_agent = make_staff(session, make_desk(session).tenant, Role.AGENT)
    outsiders: list[Principal] = [requester, other_agent]
    for actor in outsiders:
        for decide in (accept_held_message, reject_held_message):
            with pytest.raises(NotFound):
                decide(session, actor, held.id, now=LATER)
    insiders: list[Principal] = [desk.light, desk.system]
    for actor in insiders:
        with pytest.raises(PermissionDenied):
            accept_held_message(session, actor, held.id, now=LATER)
    assert held.hold_reason is not None


def test_a_message_that_is_not_held_cannot_be_accepted_or_rejected(
    session: Session, desk: Desk, ticket: Ticket
) -> None:
    first = session.scalars(select(Message).where(Message.ticket_id == ticket.id)).one()
    for decide in (accept_held_message, reject_held_message):
        with pytest.raises(Conflict):
            decide(session, desk.agent, first.id, now=LATER)
