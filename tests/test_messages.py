"""Message services: replies, notes, client replies and who may read what."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.enums import AuthorType, EventKind, LinkKind, Source, Status, Visibility
from helpdesk.errors import NotFound, PermissionDenied, ValidationError
from helpdesk.models import Contact, Ticket, TicketLink, TicketParticipant
from helpdesk.services import messages as svc
from helpdesk.services import organizations
from helpdesk.services.contacts import client_principal
from helpdesk.services.tickets import OUTBOX_TICKET_CREATED, change_status
from tests.factories import NOW, make_contact, make_ticket
from tests.ticket_helpers import Desk, events, kinds, make_desk, outbox

LATER = NOW + timedelta(hours=2)


@pytest.fixture
def ticket(session: Session, desk: Desk) -> Ticket:
    """A ticket the desk's client opened by mail."""
    email = session.get_one(Contact, desk.client.contact_id).primary_email
    return make_ticket(session, desk.tenant, requester_email=email)


def test_agent_reply_is_the_first_response_and_waits_on_the_client(
    session: Session, desk: Desk, ticket: Ticket
) -> None:
    message = svc.add_public_reply(session, desk.agent, ticket.id, "Try turning it off.", now=NOW)
    assert (message.author_type, message.author_user_id) == (AuthorType.AGENT, desk.agent.user_id)
    assert message.visibility is Visibility.PUBLIC
    assert ticket.first_response_at == NOW
    assert ticket.status is Status.WAITING_ON_CLIENT
    assert ticket.sla_paused_at == NOW
    assert (ticket.message_count, ticket.last_activity_at) == (2, NOW)
    assert events(session, ticket)[-1] == (
        EventKind.MESSAGE_ADDED,
        {
            "message_id": message.id,
            "visibility": "public",
            "status": {"from": "open", "to": "waiting_on_client"},
        },
    )
    assert outbox(session, svc.OUTBOX_PUBLIC_REPLY) == [
        {"ticket_id": ticket.id, "message_id": message.id}
    ]
    svc.add_public_reply(session, desk.admin, ticket.id, "Any news?", now=LATER)
    assert ticket.first_response_at == NOW


def test_agent_reply_leaves_on_hold_and_resolved_tickets_where_they_are(
    session: Session, desk: Desk, ticket: Ticket
) -> None:
    for status in (Status.ON_HOLD, Status.RESOLVED):
        change_status(session, desk.agent, ticket.id, status, now=NOW)
        svc.add_public_reply(session, desk.agent, ticket.id, "Still here.", now=NOW)
        assert ticket.status is status


def test_light_agents_add_notes_but_never_public_replies(
    session: Session, desk: Desk, ticket: Ticket
) -> None:
    with pytest.raises(PermissionDenied):
        svc.add_public_reply(session, desk.light, ticket.id, "Hello", now=NOW)
    note = svc.add_internal_note(session, desk.light, ticket.id, "Looks like a dup.", now=NOW)
    assert note.visibility is Visibility.INTERNAL
    assert ticket.status is Status.OPEN
    assert ticket.first_response_at is None
    assert events(session, ticket)[-1] == (EventKind.NOTE_ADDED, {"message_id": note.id})


def test_clients_never_add_notes_nor_agent_replies(
    session: Session, desk: Desk, ticket: Ticket
) -> None:
    with pytest.raises(PermissionDenied):
        svc.add_internal_note(session, desk.client, ticket.id, "psst", now=NOW)
    with pytest.raises(PermissionDenied):
        svc.add_public_reply(session, desk.client, ticket.id, "hi", now=NOW)


def test_empty_replies_are_refused(session: Session, desk: Desk, ticket: Ticket) -> None:
    with pytest.raises(ValidationError):
        svc.add_public_reply(session, desk.agent, ticket.id, "  \n", now=NOW)
    with pytest.raises(ValidationError):
        svc.add_client_reply(session, desk.client, ticket.id, "", now=NOW)


def test_staff_cannot_post_as_a_client(session: Session, desk: Desk, ticket: Ticket) -> None:
    with pytest.raises(PermissionDenied):
        svc.add_client_reply(
            session, desk.agent, ticket.id, "hi", author_contact_id=ticket.requester_id, now=NOW
        )


@pytest.mark.parametrize("status", [Status.WAITING_ON_CLIENT, Status.ON_HOLD])
def test_client_reply_hands_a_paused_ticket_back_to_us(
    session: Session, desk: Desk, ticket: Ticket, status: Status
) -> None:
    change_status(session, desk.agent, ticket.id, status, now=NOW)
    message = svc.add_client_reply(session, desk.client, ticket.id, "Here you go.", now=LATER)
    assert (message.author_type, message.author_contact_id) == (
        AuthorType.CLIENT,
        desk.client.contact_id,
    )
    assert message.source is Source.PORTAL
    assert ticket.status is Status.OPEN
    assert ticket.sla_paused_seconds == 2 * 3600
    assert outbox(session, svc.OUTBOX_CLIENT_REPLY)[-1] == {
        "ticket_id": ticket.id,
        "message_id": message.id,
    }


def test_client_reply_to_a_resolved_ticket_reopens_it(
    session: Session, desk: Desk, ticket: Ticket
) -> None:
    change_status(session, desk.agent, ticket.id, Status.RESOLVED, now=NOW)
    message = svc.add_client_reply(session, desk.client, ticket.id, "Not fixed.", now=LATER)
    assert (ticket.status, ticket.reopened_count, ticket.resolved_at) == (Status.OPEN, 1, None)
    assert events(session, ticket)[-1] == (
        EventKind.REOPENED,
        {"from": "resolved", "to": "open", "message_id": message.id},
    )


def test_client_reply_to_a_closed_ticket_opens_a_linked_follow_up(
    session: Session, desk: Desk, ticket: Ticket
) -> None:
    colleague = make_contact(session, desk.tenant, "colleague@client.example")
    session.add(
        TicketParticipant(
            ticket_id=ticket.id, contact_id=colleague.id, tenant_id=desk.tenant.id, created_at=NOW
        )
    )
    change_status(session, desk.agent, ticket.id, Status.CLOSED, now=NOW)
    message = svc.add_client_reply(session, desk.client, ticket.id, "It broke again.", now=LATER)
    follow_up = session.get_one(Ticket, message.ticket_id)
    assert follow_up.id != ticket.id
    assert follow_up.subject == f"Follow-up: {ticket.subject}"
    assert (follow_up.requester_id, follow_up.status) == (ticket.requester_id, Status.OPEN)
    assert follow_up.number == ticket.number + 1
    assert ticket.status is Status.CLOSED
    assert ticket.message_count == 1
    link = session.scalars(select(TicketLink)).one()
    assert (link.source_id, link.target_id, link.kind) == (
        follow_up.id,
        ticket.id,
        LinkKind.FOLLOW_UP,
    )
    assert kinds(session, ticket)[-1] is EventKind.FOLLOW_UP_CREATED
    assert kinds(session, follow_up) == [EventKind.FOLLOW_UP_CREATED]
    participant = session.get(TicketParticipant, (follow_up.id, colleague.id))
    assert participant is not None
    assert outbox(session, OUTBOX_TICKET_CREATED)[-1] == {
        "ticket_id": follow_up.id,
        "message_id": message.id,
        "follow_up_of": ticket.id,
    }


def test_mail_posted_for_a_contact_needs_a_contact_who_takes_part(
    session: Session, desk: Desk, ticket: Ticket
) -> None:
    stranger = make_contact(session, desk.tenant, "stranger@elsewhere.example")
    with pytest.raises(ValidationError):
        svc.add_client_reply(session, desk.system, ticket.id, "hi", now=NOW)
    with pytest.raises(PermissionDenied):
        svc.add_client_reply(
            session, desk.system, ticket.id, "hi", author_contact_id=stranger.id, now=NOW
        )
    pending = TicketParticipant(
        ticket_id=ticket.id,
        contact_id=stranger.id,
        tenant_id=desk.tenant.id,
        pending=True,
        created_at=NOW,
    )
    session.add(pending)
    session.flush()
    with pytest.raises(PermissionDenied):
        svc.add_client_reply(
            session, desk.system, ticket.id, "hi", author_contact_id=stranger.id, now=NOW
        )
    pending.pending = False
    message = svc.add_client_reply(
        session,
        desk.system,
        ticket.id,
        "",
        body_full_text="> quoted history",
        message_id="abc@mail.example",
        author_contact_id=stranger.id,
        now=NOW,
    )
    assert (message.source, message.author_contact_id) == (Source.EMAIL, stranger.id)
    assert (message.body_text, message.body_full_text) == ("", "> quoted history")
    assert message.message_id == "abc@mail.example"


def test_a_client_cannot_write_in_someone_elses_name(
    session: Session, desk: Desk, ticket: Ticket
) -> None:
    with pytest.raises(PermissionDenied):
        svc.add_client_reply(
            session,
            desk.client,
            ticket.id,
            "hi",
            author_contact_id=desk.client.contact_id + 1000,
            now=NOW,
        )


def test_clients_never_see_internal_notes(session: Session, desk: Desk, ticket: Ticket) -> None:
    svc.add_internal_note(session, desk.agent, ticket.id, "The client is wrong.", now=NOW)
    svc.add_public_reply(session, desk.agent, ticket.id, "We are on it.", now=LATER)
    staff_view = svc.list_messages(session, desk.light, ticket.id)
    assert [m.visibility for m in staff_view] == [
        Visibility.PUBLIC,
        Visibility.INTERNAL,
        Visibility.PUBLIC,
    ]
    client_view = svc.list_messages(session, desk.client, ticket.id)
    assert [m.body_text for m in client_view] == ["It is on fire.", "We are on it."]


def test_participants_and_organization_members_see_public_messages_only(
    session: Session, desk: Desk
) -> None:
    organization = organizations.create_organization(
        session,
        desk.admin,
        desk.tenant.id,
        name="Client Corp",
        domains=["corp.example"],
        shared_tickets=True,
        now=NOW,
    )
    requester = make_contact(session, desk.tenant, "ann@corp.example")
    cc = make_contact(session, desk.tenant, "carl@partner.example")
    ticket = make_ticket(
        session, desk.tenant, requester_email=requester.primary_email, cc=[cc.primary_email]
    )
    assert ticket.organization_id == organization.id
    svc.add_internal_note(session, desk.agent, ticket.id, "secret", now=NOW)
    colleague = make_contact(session, desk.tenant, "bea@corp.example")
    for contact in (cc, colleague):
        visible = svc.list_messages(session, client_principal(session, contact.id), ticket.id)
        assert all(m.visibility is Visibility.PUBLIC for m in visible)
        assert len(visible) == 1


def test_a_stranger_gets_not_found_for_the_messages(
    session: Session, desk: Desk, ticket: Ticket
) -> None:
    stranger = client_principal(session, make_contact(session, desk.tenant).id)
    other = make_desk(session)
    for actor in (stranger, other.agent, other.client, other.system):
        with pytest.raises(NotFound):
            svc.list_messages(session, actor, ticket.id)
