"""Merging duplicates, linking symptoms to incidents, and follow-up links."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.enums import EventKind, Priority, Status
from helpdesk.errors import Conflict, NotFound, PermissionDenied, ValidationError
from helpdesk.models import Attachment, Message, Ticket, TicketParticipant
from helpdesk.principal import Operator
from helpdesk.services import catalog, messages, teams, ticket_links
from helpdesk.services import tickets as svc
from helpdesk.services.contacts import client_principal, find_contact
from helpdesk.services.ticket_people import watcher_ids
from tests.factories import NOW, make_mailbox, make_ticket
from tests.statements import recorded_sql
from tests.ticket_helpers import Desk, events, kinds, make_desk

LATER = NOW + timedelta(hours=1)
# An UPDATE of tickets that sets one of the fields a follow-up takes from its closed ticket.
_FIELD_UPDATE = re.compile(r"^UPDATE tickets SET .*\b(priority|category_id|team_id|mailbox_id)=")


def add_attachment(session: Session, message: Message) -> Attachment:
    attachment = Attachment(
        tenant_id=message.tenant_id,
        ticket_id=message.ticket_id,
        message_id=message.id,
        filename="log.txt",
        declared_type="text/plain",
        sniffed_type="text/plain",
        size=3,
        sha256="0" * 64,
        storage_key="ab/cd",
        created_at=NOW,
    )
    session.add(attachment)
    session.flush()
    return attachment


def test_merging_moves_the_conversation_and_unites_people_and_tags(
    session: Session, desk: Desk
) -> None:
    source = make_ticket(
        session, desk.tenant, tags=["printer"], cc=["bob@client.example"], subject="Dup"
    )
    target = make_ticket(session, desk.tenant, tags=["vip"])
    reply = messages.add_public_reply(session, desk.agent, source.id, "Looking.", now=NOW)
    attachment = add_attachment(session, reply)
    svc.add_watcher(session, desk.agent, source.id, desk.light.user_id, now=NOW)
    svc.add_watcher(session, desk.agent, target.id, desk.agent.user_id, now=NOW)

    ticket_links.merge_tickets(session, desk.agent, source.id, target.id, now=LATER)

    moved = session.scalars(select(Message.ticket_id).where(Message.id == reply.id)).one()
    assert moved == target.id
    assert session.get_one(Attachment, attachment.id).ticket_id == target.id
    assert (source.message_count, target.message_count) == (0, 3)
    assert target.tag_names == ["printer", "vip"]
    assert watcher_ids(session, target.id) == sorted([desk.agent.user_id, desk.light.user_id])
    participants = session.scalars(
        select(TicketParticipant.contact_id).where(TicketParticipant.ticket_id == target.id)
    ).all()
    bob = find_contact(session, desk.tenant.id, "bob@client.example")
    assert bob is not None
    assert set(participants) == {bob.id, source.requester_id}
    assert (source.status, source.merged_into_id, source.closed_at) == (
        Status.CLOSED,
        target.id,
        LATER,
    )
    assert events(session, source)[-1] == (
        EventKind.MERGED,
        {
            "into": {"id": target.id, "number": target.number},
            "status": {"from": "waiting_on_client", "to": "closed"},
        },
    )
    assert events(session, target)[-1] == (
        EventKind.MERGED_FROM,
        {"source": {"id": source.id, "number": source.number}, "messages": 2},
    )


def test_the_merged_tickets_requester_still_sees_their_messages(
    session: Session, desk: Desk
) -> None:
    source = make_ticket(session, desk.tenant, requester_email="ann@client.example")
    target = make_ticket(session, desk.tenant, requester_email="bob@client.example")
    ticket_links.merge_tickets(session, desk.agent, source.id, target.id, now=NOW)
    ann = client_principal(session, source.requester_id)
    visible = messages.list_messages(session, ann, target.id)
    assert len(visible) == 2


def test_a_reply_to_a_merged_ticket_lands_in_the_ticket_it_went_into(
    session: Session, desk: Desk
) -> None:
    source = make_ticket(session, desk.tenant, requester_email="ann@client.example")
    target = make_ticket(session, desk.tenant, requester_email="bob@client.example")
    ticket_links.merge_tickets(session, desk.agent, source.id, target.id, now=NOW)
    ann = client_principal(session, source.requester_id)
    message = messages.add_client_reply(session, ann, source.id, "Any news?", now=LATER)
    assert message.ticket_id == target.id
    assert ticket_links.follow_ups_of(session, source.id) == []


def test_a_ticket_cannot_be_merged_into_itself_or_twice(session: Session, desk: Desk) -> None:
    first, second, third = (make_ticket(session, desk.tenant) for _ in range(3))
    with pytest.raises(ValidationError):
        ticket_links.merge_tickets(session, desk.agent, first.id, first.id, now=NOW)
    ticket_links.merge_tickets(session, desk.agent, first.id, second.id, now=NOW)
    with pytest.raises(Conflict):
        ticket_links.merge_tickets(session, desk.agent, first.id, third.id, now=NOW)
    with pytest.raises(Conflict):
        ticket_links.merge_tickets(session, desk.agent, third.id, first.id, now=NOW)


def test_merging_into_a_closed_ticket_is_refused(session: Session, desk: Desk) -> None:
    source, target = make_ticket(session, desk.tenant), make_ticket(session, desk.tenant)
    svc.change_status(session, desk.agent, target.id, Status.CLOSED, now=NOW)
    with pytest.raises(Conflict):
        ticket_links.merge_tickets(session, desk.agent, source.id, target.id, now=NOW)


def test_merging_across_tenants_finds_no_ticket(session: Session, desk: Desk) -> None:
    other = make_desk(session)
    ours, theirs = make_ticket(session, desk.tenant), make_ticket(session, other.tenant)
    with pytest.raises(NotFound):
        ticket_links.merge_tickets(session, desk.agent, ours.id, theirs.id, now=NOW)
    with pytest.raises(NotFound):
        ticket_links.merge_tickets(session, desk.agent, theirs.id, ours.id, now=NOW)
    assert ours.merged_into_id is None


def test_light_agents_cannot_merge(session: Session, desk: Desk) -> None:
    source, target = make_ticket(session, desk.tenant), make_ticket(session, desk.tenant)
    with pytest.raises(PermissionDenied):
        ticket_links.merge_tickets(session, desk.light, source.id, target.id, now=NOW)


def test_linking_a_symptom_to_an_incident_and_unlinking_it(session: Session, desk: Desk) -> None:
    incident, symptom = make_ticket(session, desk.tenant), make_ticket(session, desk.tenant)
    ticket_links.link_to_incident(session, desk.agent, symptom.id, incident.id, now=NOW)
    ticket_links.link_to_incident(session, desk.agent, symptom.id, incident.id, now=NOW)
    assert symptom.parent_id == incident.id
    ticket_links.link_to_incident(session, desk.agent, symptom.id, None, now=LATER)
    ticket_links.link_to_incident(session, desk.agent, symptom.id, None, now=LATER)
    assert symptom.parent_id is None
    assert events(session, symptom)[1:] == [
        (EventKind.LINKED, {"incident": {"id": incident.id, "number": 1}, "previous": None}),
        (EventKind.UNLINKED, {"incident": incident.id}),
    ]


def test_incident_links_never_make_a_cycle(session: Session, desk: Desk) -> None:
    a, b, c = (make_ticket(session, desk.tenant) for _ in range(3))
    ticket_links.link_to_incident(session, desk.agent, b.id, a.id, now=NOW)
    ticket_links.link_to_incident(session, desk.agent, c.id, b.id, now=NOW)
    for child, parent in ((a, c), (a, a)):
        with pytest.raises(ValidationError) as error:
            ticket_links.link_to_incident(session, desk.agent, child.id, parent.id, now=NOW)
        assert error.value.field == "incident_ticket_id"
    assert a.parent_id is None


def test_incident_of_another_tenant_is_not_found(session: Session, desk: Desk) -> None:
    other = make_desk(session)
    ours, theirs = make_ticket(session, desk.tenant), make_ticket(session, other.tenant)
    with pytest.raises(NotFound):
        ticket_links.link_to_incident(session, desk.agent, ours.id, theirs.id, now=NOW)


def test_light_agents_cannot_link(session: Session, desk: Desk) -> None:
    a, b = make_ticket(session, desk.tenant), make_ticket(session, desk.tenant)
    with pytest.raises(PermissionDenied):
        ticket_links.link_to_incident(session, desk.light, a.id, b.id, now=NOW)


def test_follow_ups_are_found_from_the_closed_ticket(session: Session, desk: Desk) -> None:
    closed = make_ticket(session, desk.tenant, subject="Follow-up: Printer")
    svc.change_status(session, desk.agent, closed.id, Status.CLOSED, now=NOW)
    first = messages.add_client_reply(
        session, desk.system, closed.id, "Again", author_contact_id=closed.requester_id, now=NOW
    )
    second = messages.add_client_reply(
        session,
        desk.system,
        closed.id,
        "And again",
        author_contact_id=closed.requester_id,
        now=LATER,
    )
    follow_ups = ticket_links.follow_ups_of(session, closed.id)
    assert follow_ups == [first.ticket_id, second.ticket_id]
    assert session.get_one(Ticket, first.ticket_id).subject == "Follow-up: Printer"
    assert kinds(session, closed).count(EventKind.FOLLOW_UP_CREATED) == 2


def test_a_follow_up_is_inserted_with_its_closed_tickets_fields_not_updated_to_them(
    session: Session, desk: Desk
) -> None:
    # Given a closed ticket with a priority, category, team and mailbox
    team = teams.create_team(session, Operator(), desk.tenant.id, "Facilities", now=NOW)
    catalog.create_category(
        session, Operator(), desk.tenant.id, key="hardware", name="Hardware", now=NOW
    )
    mailbox = make_mailbox(session, desk.tenant)
    closed = make_ticket(
        session, desk.tenant, priority=Priority.HIGH, category="hardware", mailbox_id=mailbox.id
    )
    svc.assign_team(session, desk.agent, closed.id, team.id, now=NOW)
    svc.change_status(session, desk.agent, closed.id, Status.CLOSED, now=NOW)
    # When its requester writes again
    with recorded_sql(session, lambda sql: sql.startswith("UPDATE tickets ")) as updates:
        reply = messages.add_client_reply(
            session, desk.system, closed.id, "Again", author_contact_id=closed.requester_id,
            now=LATER,
        )  # fmt: skip
    # Then the follow-up has the closed ticket's fields from its INSERT on
    follow_up = session.get_one(Ticket, reply.ticket_id)
    assert follow_up.id != closed.id
    fields = ("priority", "category_id", "team_id", "mailbox_id")
    assert [getattr(follow_up, name) for name in fields] == [
        getattr(closed, name) for name in fields
    ]
    assert follow_up.team_id == team.id
    assert [statement for statement in updates if _FIELD_UPDATE.search(statement)] == []
