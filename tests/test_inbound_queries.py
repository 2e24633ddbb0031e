"""The pipeline's questions answered in SQL: mailboxes, known Message-IDs, people, intake counts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from helpdesk.enums import Role, Source, Status
from helpdesk.models import User
from helpdesk.principal import Operator
from helpdesk.queries.inbound import (
    NOBODY,
    MailboxRef,
    NewTicketCounts,
    SqlIntakeCounts,
    SqlMailboxDirectory,
    SqlThreadIndex,
    TicketRef,
)
from helpdesk.services import contacts, mailboxes, messages, organizations, users
from helpdesk.services.thread_references import record_thread_references
from helpdesk.services.ticket_links import merge_tickets
from helpdesk.services.ticket_people import add_participant, add_watcher, assign_ticket
from tests.factories import NOW, make_contact, make_mailbox, make_staff, make_tenant, make_ticket
from tests.statements import recorded_sql
from tests.ticket_helpers import Desk, make_desk

ANN = "ann@client.example"


# Mailboxes


def test_mailbox_directory_routes_plain_and_tagged_addresses(session: Session, desk: Desk) -> None:
    mailbox = make_mailbox(session, desk.tenant, "help@acme.example")
    directory = SqlMailboxDirectory(session)
    expected = MailboxRef(desk.tenant.id, mailbox.id, "help@acme.example")
    assert directory.mailbox_for("Help@ACME.example") == expected
    assert directory.mailbox_for("help+a1b2@acme.example") == expected
    assert directory.mailbox_for("sales@acme.example") is None
    assert directory.mailbox_for("not an address") is None


def test_tenant_addresses_include_inactive_mailboxes_and_no_one_elses(
    session: Session, desk: Desk
) -> None:
    first = make_mailbox(session, desk.tenant, "help@acme.example")
    make_mailbox(session, desk.tenant, "billing@acme.example")
    make_mailbox(session, make_tenant(session), "help@globex.example")
    mailboxes.update_mailbox(session, Operator(), first.id, active=False, now=NOW)
    directory = SqlMailboxDirectory(session)
    assert directory.mailbox_for("help@acme.example") is None
    assert directory.tenant_addresses(desk.tenant.id) == {
        "help@acme.example",
        "billing@acme.example",
    }


# Tickets


def test_tickets_are_found_by_id_and_number_inside_their_tenant_only(
    session: Session, desk: Desk
) -> None:
    ticket = make_ticket(session, desk.tenant)
    other = make_tenant(session)
    index = SqlThreadIndex(session)
    expected = TicketRef(ticket.id, desk.tenant.id, ticket.number, Status.OPEN, None)
    assert index.ticket(desk.tenant.id, ticket.id) == expected
    assert index.ticket_by_number(desk.tenant.id, ticket.number) == expected
    assert index.ticket(other.id, ticket.id) is None
    assert index.ticket_by_number(other.id, ticket.number) is None


def test_first_known_message_id_in_the_given_order_wins(session: Session, desk: Desk) -> None:
    older, newer = make_ticket(session, desk.tenant), make_ticket(session, desk.tenant)
    record_thread_references(session, desk.tenant.id, older.id, own="a@x.example", now=NOW)
    messages.add_public_reply(
        session, desk.agent, newer.id, "Hello", message_id="b@help.example", now=NOW
    )
    index = SqlThreadIndex(session)
    found = index.ticket_for_message_ids(
        desk.tenant.id, ["z@x.example", "b@help.example", "a@x.example"]
    )
    assert found is not None
    assert (found[0].id, found[1]) == (newer.id, "b@help.example")
    found = index.ticket_for_message_ids(desk.tenant.id, ["a@x.example", "b@help.example"])
    assert found is not None
    assert found[0].id == older.id
    assert index.ticket_for_message_ids(desk.tenant.id, ["z@x.example"]) is None
    assert index.ticket_for_message_ids(desk.tenant.id, []) is None


def test_another_tenants_message_ids_are_unknown(session: Session, desk: Desk) -> None:
    other = make_desk(session)
    theirs = make_ticket(session, other.tenant)
    record_thread_references(session, other.tenant.id, theirs.id, own="a@x.example", now=NOW)
    messages.add_public_reply(
        session, other.agent, theirs.id, "Hi", message_id="b@help.example", now=NOW
    )
    index = SqlThreadIndex(session)
    assert index.ticket_for_message_ids(desk.tenant.id, ["a@x.example", "b@help.example"]) is None
    assert index.ticket_awaiting(desk.tenant.id, "a@x.example") is None


def test_only_a_message_id_referenced_but_never_seen_is_awaited(
    session: Session, desk: Desk
) -> None:
    ticket = make_ticket(session, desk.tenant)
    record_thread_references(
        session, desk.tenant.id, ticket.id, own="reply@x.example",
        referenced=["original@x.example"], now=NOW,
    )  # fmt: skip
    index = SqlThreadIndex(session)
    awaiting = index.ticket_awaiting(desk.tenant.id, "original@x.example")
    assert awaiting is not None
    assert awaiting.id == ticket.id
    assert index.ticket_awaiting(desk.tenant.id, "reply@x.example") is None
    found = index.ticket_for_message_ids(desk.tenant.id, ["original@x.example"])
    assert found is not None
    assert found[0].id == ticket.id


def test_a_merged_ticket_says_where_it_went(session: Session, desk: Desk) -> None:
    source, target = make_ticket(session, desk.tenant), make_ticket(session, desk.tenant)
    merge_tickets(session, desk.agent, source.id, target.id, now=NOW)
    ref = SqlThreadIndex(session).ticket(desk.tenant.id, source.id)
    assert ref is not None
    assert (ref.status, ref.merged_into_id) == (Status.CLOSED, target.id)


# People


def test_people_of_a_ticket_by_their_role_in_it(session: Session, desk: Desk) -> None:
    organizations.create_organization(
        session, Operator(), desk.tenant.id, name="Client", domains=["client.example"], now=NOW
    )
    ticket = make_ticket(session, desk.tenant, requester_email=ANN, cc=["cy@client.example"])
    contacts.add_contact_email(
        session, Operator(), ticket.requester_id, "ann@home.example", now=NOW
    )
    stranger = make_contact(session, desk.tenant, "eve@other.example")
    add_participant(session, ticket, stranger.id, pending=True, now=NOW)
    assignee, watcher, writer = (make_staff(session, desk.tenant, Role.AGENT) for _ in range(3))
    assign_ticket(session, desk.admin, ticket.id, assignee.user_id, now=NOW)
    add_watcher(session, desk.admin, ticket.id, watcher.user_id, now=NOW)
    messages.add_public_reply(session, writer, ticket.id, "On it", now=NOW)
    people = SqlThreadIndex(session).people(ticket.id)
    assert people.requester == {ANN, "ann@home.example"}
    assert people.participants == {"cy@client.example"}
    assert people.pending == {"eve@other.example"}
    staff = (assignee, watcher, writer)
    assert people.agents == {session.get_one(User, s.user_id).email for s in staff}
    assert people.organization_domains == {"client.example"}


def test_people_of_no_ticket_is_nobody(session: Session) -> None:
    assert SqlThreadIndex(session).people(10**9) == NOBODY


def test_many_at_once_are_answered_as_each_alone(session: Session, desk: Desk) -> None:
    # What a batch asks once for all its mail: people of several tickets,
    # tickets of several Message-IDs, awaited ids, tickets opened per sender.
    ann = make_ticket(session, desk.tenant, requester_email=ANN, cc=["cy@client.example"])
    bob = make_ticket(session, desk.tenant, requester_email="bob@client.example")
    record_thread_references(
        session, desk.tenant.id, ann.id, own="a2@x.example", referenced=["a1@x.example"], now=NOW
    )
    messages.add_public_reply(
        session, desk.agent, bob.id, "Hi", message_id="b1@help.example", now=NOW
    )
    index, counts = SqlThreadIndex(session), SqlIntakeCounts(session)
    tickets = [ann.id, bob.id, 10**9]
    people = index.people_of(tickets)
    assert people == {ticket_id: index.people(ticket_id) for ticket_id in tickets[:2]}
    assert people[ann.id].requester == frozenset({ANN})
    assert people[ann.id].participants == frozenset({"cy@client.example"})
    assert people[bob.id].requester == frozenset({"bob@client.example"})
    ids = ["a1@x.example", "a2@x.example", "b1@help.example", "none@x.example"]
    known = index.known_tickets(desk.tenant.id, ids)
    assert {name: ref and ref.id for name, ref in known.items()} == {
        "a1@x.example": ann.id, "a2@x.example": ann.id, "b1@help.example": bob.id,
    }  # fmt: skip
    awaited = index.tickets_awaiting(desk.tenant.id, ids)
    assert {name: ref.id for name, ref in awaited.items()} == {"a1@x.example": ann.id}
    since = NOW - timedelta(hours=1)
    senders = [ANN, "bob@client.example", "nobody@client.example"]
    total, per_sender = counts.new_tickets_from(desk.tenant.id, senders, since)
    for sender in senders:
        alone = counts.new_tickets(desk.tenant.id, sender, since)
        assert alone == NewTicketCounts(from_sender=per_sender.get(sender, 0), total=total)
    assert (total, per_sender) == (2, {ANN: 1, "bob@client.example": 1})


def test_agent_for_finds_active_staff_of_the_tenant_only(session: Session, desk: Desk) -> None:
    index = SqlThreadIndex(session)
    agent = make_staff(session, desk.tenant, Role.LIGHT_AGENT, "Lee@Staff.example")
    assert index.agent_for(desk.tenant.id, "LEE@staff.example") == agent.user_id
    assert index.agent_for(make_tenant(session).id, "lee@staff.example") is None
    users.deactivate_membership(session, Operator(), desk.tenant.id, agent.user_id, now=NOW)
    assert index.agent_for(desk.tenant.id, "lee@staff.example") is None
    assert index.agent_for(desk.tenant.id, ANN) is None


def test_agent_for_reads_the_staff_once_per_transaction(session: Session, desk: Desk) -> None:
    # A batch of mail asks for every message whether its sender is staff.
    make_staff(session, desk.tenant, Role.AGENT, "kim@staff.example")
    session.commit()
    index = SqlThreadIndex(session)
    with recorded_sql(session, lambda sql: "memberships" in sql) as reads:
        found = [index.agent_for(desk.tenant.id, who) for who in ("kim@staff.example", ANN, ANN)]
    assert found[0] is not None
    assert found[1:] == [None, None]
    assert len(reads) == 1
    session.commit()
    # A new transaction reads again, and sees who joined meanwhile.
    joined = make_staff(session, desk.tenant, Role.AGENT, "max@staff.example")
    with recorded_sql(session, lambda sql: "memberships" in sql) as reads:
        assert index.agent_for(desk.tenant.id, "max@staff.example") == joined.user_id
    assert len(reads) == 1


# Intake counts


def test_intake_counts_tickets_mail_opened_per_sender_and_tenant(
    session: Session, desk: Desk
) -> None:
    since = NOW - timedelta(hours=1)
    for _ in range(2):
        make_ticket(session, desk.tenant, requester_email=ANN)
    make_ticket(session, desk.tenant, requester_email="bob@client.example")
    make_ticket(session, desk.tenant, requester_email=ANN, source=Source.PORTAL)
    make_ticket(session, make_tenant(session), requester_email=ANN)
    counts = SqlIntakeCounts(session)
    ann = counts.new_tickets(desk.tenant.id, "Ann@client.example", since)
    assert ann == NewTicketCounts(from_sender=2, total=3)
    nobody = counts.new_tickets(desk.tenant.id, "nobody@client.example", since)
    assert nobody == NewTicketCounts(from_sender=0, total=3)
    later = counts.new_tickets(desk.tenant.id, ANN, NOW + timedelta(seconds=1))
    assert later == NewTicketCounts(from_sender=0, total=0)


def test_an_awaited_message_id_becomes_seen_on_the_ticket_that_awaited_it(
    session: Session, desk: Desk
) -> None:
    waiting, other = make_ticket(session, desk.tenant), make_ticket(session, desk.tenant)
    record_thread_references(
        session, desk.tenant.id, waiting.id, own="reply@x.example",
        referenced=["original@x.example", "older@x.example"], now=NOW,
    )  # fmt: skip
    # The original arrives, recorded on another ticket, naming an id known already.
    record_thread_references(
        session, desk.tenant.id, other.id, own="original@x.example",
        referenced=["older@x.example", "new@x.example"], now=NOW,
    )  # fmt: skip
    index = SqlThreadIndex(session)
    assert index.ticket_awaiting(desk.tenant.id, "original@x.example") is None
    assert index.ticket_awaiting(desk.tenant.id, "older@x.example") is not None
    for message_id, ticket in (("original", waiting), ("older", waiting), ("new", other)):
        found = index.ticket_for_message_ids(desk.tenant.id, [f"{message_id}@x.example"])
        assert found is not None
        assert found[0].id == ticket.id, message_id
