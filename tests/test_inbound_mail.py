"""receive_mail: what each decision of the pipeline writes, and what it never writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from helpdesk.enums import (
    AuthorType,
    DeliveryState,
    EventKind,
    Priority,
    RawMessageState,
    Source,
    Status,
    Visibility,
)
from helpdesk.errors import NotFound, PermissionDenied, ValidationError
from helpdesk.models import (
    Contact,
    ContactEmail,
    Mailbox,
    Message,
    OutboxEvent,
    ThreadReference,
    Ticket,
    TicketEvent,
    TicketParticipant,
)
from helpdesk.principal import Operator
from helpdesk.queries.inbound import SqlThreadIndex
from helpdesk.services import (
    catalog,
    contacts,
    mailboxes,
    messages,
    organizations,
    teams,
    ticket_links,
)
from helpdesk.services.inbound_mail import (
    IncomingBounce,
    IncomingFile,
    ReceiveAction,
    ReceiveOutcome,
    receive_mail,
)
from helpdesk.services.tickets import change_status
from helpdesk.settings import Settings
from helpdesk.storage.local import LocalBlobStore
from tests.factories import (
    NOW,
    incoming_mail,
    make_contact,
    make_mailbox,
    make_staff,
    make_ticket,
    receive,
)
from tests.mailgate.desk import build_desk, mail
from tests.statements import recorded_sql
from tests.ticket_helpers import Desk, events, kinds, make_desk

LATER = NOW + timedelta(hours=1)
ANN = "ann@client.example"


@pytest.fixture
def ticket(session: Session, desk: Desk, store: LocalBlobStore) -> Ticket:
    """A ticket Ann opened by mail; her Message-ID is <first@client.example>."""
    outcome = receive(
        session, desk.tenant, store, sender_email=ANN, message_id="first@client.example"
    )
    return session.get_one(Ticket, outcome.ticket_id)


def _reply(
    session: Session, desk: Desk, ticket: Ticket, store: LocalBlobStore, **kw: object
) -> ReceiveOutcome:
    values: dict[str, object] = {
        "rule": "header",
        "ticket_id": ticket.id,
        "standing": "requester",
        "sender_email": ANN,
        "body_text": "Still burning.",
        "in_reply_to": "first@client.example",
        "references": ("first@client.example",),
        "now": LATER,
    }
    values.update(kw)
    return receive(session, desk.tenant, store, **values)


def _message(session: Session, message_id: int | None) -> Message:
    assert message_id is not None
    return session.get_one(Message, message_id)


def _ticket_count(session: Session, tenant_id: int) -> int:
    query = select(func.count()).select_from(Ticket).where(Ticket.tenant_id == tenant_id)
    return int(session.scalar(query) or 0)


def _client_view(session: Session, contact_id: int, ticket: Ticket) -> list[int]:
    client = contacts.client_principal(session, contact_id)
    return [message.id for message in messages.list_messages(session, client, ticket.id)]


# New tickets


def test_new_mail_opens_a_ticket_that_remembers_how_the_mail_was_read(
    session: Session, desk: Desk, store: LocalBlobStore
) -> None:
    mailbox = make_mailbox(session, desk.tenant)
    sent = datetime(2026, 3, 2, 9, 58, tzinfo=UTC)
    outcome = receive(
        session, desk.tenant, store, mailbox_id=mailbox.id, sender_email="Ann@Client.example",
        sender_name="Ann Example", cc=("bob@client.example",), subject="Invoice 42 wrong",
        body_text="Please fix.", body_full_text="Please fix.\n\n> old quote",
        body_html="<p>Please fix.</p>", message_id="<new-1@client.example>",
        references=("older@client.example",), in_reply_to="parent@client.example",
        evidence="no known reference", sent_at=sent, masked_secrets=2,
        blocked=(("setup.exe", "executable"),), external_refs=("JIRA-7",),
        files=(IncomingFile("invoice.pdf", "application/pdf", "application/pdf", b"%PDF-1.4"),),
    )  # fmt: skip
    assert outcome.action is ReceiveAction.CREATED
    assert outcome.raw_state is RawMessageState.PROCESSED
    ticket = session.get_one(Ticket, outcome.ticket_id)
    assert (ticket.subject, ticket.source, ticket.mailbox_id) == (
        "Invoice 42 wrong", Source.EMAIL, mailbox.id,
    )  # fmt: skip
    requester = session.get_one(Contact, ticket.requester_id)
    assert (requester.primary_email, requester.name) == (ANN, "Ann Example")
    participants = session.scalars(
        select(TicketParticipant).where(TicketParticipant.ticket_id == ticket.id)
    ).all()
    assert [p.pending for p in participants] == [False]
    message = _message(session, outcome.message_id)
    assert (message.author_type, message.visibility) == (AuthorType.CLIENT, Visibility.PUBLIC)
    assert (message.body_text, message.body_full_text) == (
        "Please fix.",
        "Please fix.\n\n> old quote",
    )
    assert (message.thread_rule, message.thread_evidence) == ("new", "no known reference")
    assert (message.mail_kind, message.masked_secrets, message.sent_at) == ("normal", 2, sent)
    assert message.blocked_attachments == [{"filename": "setup.exe", "reason": "executable"}]
    assert message.external_refs == ["JIRA-7"]
    assert (message.message_id, message.in_reply_to, message.references) == (
        "new-1@client.example", "parent@client.example", "older@client.example",
    )  # fmt: skip
    assert [a.filename for a in message.attachments] == ["invoice.pdf"]
    assert store.get(message.attachments[0].storage_key) == b"%PDF-1.4"


def test_mail_through_the_gateway_opens_a_ticket_with_its_mailboxs_defaults(
    settings: Settings, engine: Engine
) -> None:
    # Given a mailbox that gives its tickets a team, a priority and a category
    gateway = build_desk(settings, engine)

    def give_defaults(session: Session) -> tuple[int, int]:
        team = teams.create_team(session, Operator(), gateway.acme, "Facilities", now=NOW)
        category = catalog.create_category(
            session, Operator(), gateway.acme, key="hardware", name="Hardware", now=NOW
        )
        address = Mailbox.address == "support@acme.test"
        mailbox_id = session.scalars(select(Mailbox.id).where(address)).one()
        mailboxes.update_mailbox(
            session, Operator(), mailbox_id, default_team_id=team.id,
            default_priority=Priority.HIGH, default_category="hardware", now=NOW,
        )  # fmt: skip
        return team.id, category.id

    team_id, category_id = gateway.run(give_defaults)
    # When mail to it opens a ticket
    result = gateway.one(mail())
    # Then the ticket has them
    assert result.action == "created"
    ticket = gateway.ticket(result.ticket_id)
    assert (ticket.team_id, ticket.priority, ticket.category_id) == (
        team_id, Priority.HIGH, category_id,
    )  # fmt: skip


def test_a_new_senders_address_is_looked_up_once_before_their_contact_is_made(
    session: Session, desk: Desk, store: LocalBlobStore, ticket: Ticket
) -> None:
    with recorded_sql(session, _reads_addresses) as opening:
        opened = receive(session, desk.tenant, store, sender_email="new@client.example")
    with recorded_sql(session, _reads_addresses) as holding:
        held = _reply(
            session, desk, ticket, store, standing="pending", sender_email="eve@evil.example"
        )
    assert (opened.action, held.action) == (
        ReceiveAction.CREATED, ReceiveAction.PENDING_PARTICIPANT,
    )  # fmt: skip
    assert (len(opening), len(holding)) == (1, 1)
    for address in ("new@client.example", "eve@evil.example"):
        assert contacts.find_contact(session, desk.tenant.id, address) is not None


def test_the_message_ids_of_new_mail_are_remembered_seen_and_awaited(
    session: Session, desk: Desk, store: LocalBlobStore
) -> None:
    outcome = receive(
        session, desk.tenant, store, message_id="own@client.example",
        in_reply_to="parent@client.example",
        references=("root@client.example", "parent@client.example"),
    )  # fmt: skip
    rows = session.scalars(
        select(ThreadReference).where(ThreadReference.tenant_id == desk.tenant.id)
    ).all()
    assert {(r.message_id, r.seen, r.ticket_id) for r in rows} == {
        ("own@client.example", True, outcome.ticket_id),
        ("parent@client.example", False, outcome.ticket_id),
        ("root@client.example", False, outcome.ticket_id),
    }


def test_mail_over_a_limit_is_held_for_review_without_a_ticket(
    session: Session, desk: Desk, store: LocalBlobStore
) -> None:
    before = _ticket_count(session, desk.tenant.id)
    outcome = receive(session, desk.tenant, store, hold_reason="over 20 new tickets in an hour")
    assert (outcome.action, outcome.ticket_id) == (ReceiveAction.HELD_FOR_REVIEW, None)
    assert outcome.reason == "over 20 new tickets in an hour"
    assert outcome.raw_state is RawMessageState.HELD
    assert _ticket_count(session, desk.tenant.id) == before


def test_mail_from_a_blocked_contact_is_held_for_review(
    session: Session, desk: Desk, store: LocalBlobStore, ticket: Ticket
) -> None:
    contacts.update_contact(session, Operator(), ticket.requester_id, blocked=True, now=NOW)
    for rule in ("new", "header"):
        outcome = _reply(session, desk, ticket, store, rule=rule)
        assert (outcome.action, outcome.reason) == (
            ReceiveAction.HELD_FOR_REVIEW,
            "sender is blocked",
        )
    assert ticket.message_count == 1


# Replies from people who take part


def test_requesters_reply_is_appended_and_answers_the_agents_question(
    session: Session, desk: Desk, store: LocalBlobStore, ticket: Ticket
) -> None:
    messages.add_public_reply(session, desk.agent, ticket.id, "Is it plugged in?", now=NOW)
    outcome = _reply(session, desk, ticket, store, evidence="In-Reply-To first@client.example")
    assert (outcome.action, outcome.ticket_id) == (ReceiveAction.APPENDED, ticket.id)
    message = _message(session, outcome.message_id)
    assert (message.visibility, message.thread_rule) == (Visibility.PUBLIC, "header")
    assert message.thread_evidence == "In-Reply-To first@client.example"
    assert ticket.status is Status.OPEN


def test_reply_to_a_resolved_ticket_reopens_it(
    session: Session, desk: Desk, store: LocalBlobStore, ticket: Ticket
) -> None:
    change_status(session, desk.agent, ticket.id, Status.RESOLVED, now=NOW)
    outcome = _reply(session, desk, ticket, store)
    assert outcome.action is ReceiveAction.APPENDED
    assert ticket.status is Status.OPEN
    assert EventKind.REOPENED in kinds(session, ticket)


def test_reply_to_a_closed_ticket_opens_a_follow_up_where_later_replies_go(
    session: Session, desk: Desk, store: LocalBlobStore, ticket: Ticket
) -> None:
    change_status(session, desk.agent, ticket.id, Status.CLOSED, now=NOW)
    outcome = _reply(session, desk, ticket, store, message_id="late@client.example")
    assert outcome.action is ReceiveAction.FOLLOW_UP
    assert outcome.ticket_id != ticket.id
    assert ticket_links.follow_ups_of(session, ticket.id) == [outcome.ticket_id]
    found = SqlThreadIndex(session).ticket_for_message_ids(desk.tenant.id, ["late@client.example"])
    assert found is not None
    assert found[0].id == outcome.ticket_id


def test_reply_to_a_merged_ticket_lands_on_the_ticket_it_went_into(
    session: Session, desk: Desk, store: LocalBlobStore, ticket: Ticket
) -> None:
    survivor = make_ticket(session, desk.tenant, requester_email=ANN)
    ticket_links.merge_tickets(session, desk.agent, ticket.id, survivor.id, now=NOW)
    outcome = _reply(session, desk, ticket, store)
    assert (outcome.action, outcome.ticket_id) == (ReceiveAction.APPENDED, survivor.id)


def test_colleague_of_the_requesters_organization_joins_and_is_posted(
    session: Session, desk: Desk, store: LocalBlobStore
) -> None:
    organizations.create_organization(
        session, Operator(), desk.tenant.id, name="Client", domains=["client.example"], now=NOW
    )
    opened = receive(session, desk.tenant, store, sender_email=ANN)
    ticket = session.get_one(Ticket, opened.ticket_id)
    outcome = _reply(
        session, desk, ticket, store, standing="organization", sender_email="cy@client.example"
    )
    assert outcome.action is ReceiveAction.APPENDED
    cy = contacts.find_contact(session, desk.tenant.id, "cy@client.example")
    assert cy is not None
    participant = session.get_one(TicketParticipant, (ticket.id, cy.id))
    assert participant.pending is False
    assert _message(session, outcome.message_id).visibility is Visibility.PUBLIC
    assert (EventKind.PARTICIPANT_ADDED, {"contact_id": cy.id, "via": "organization"}) in events(
        session, ticket
    )


# Agents writing by mail


def test_agents_mail_is_their_public_reply(
    session: Session, desk: Desk, store: LocalBlobStore, ticket: Ticket
) -> None:
    outcome = _reply(
        session, desk, ticket, store, standing="agent", agent_user_id=desk.agent.user_id,
        message_id="<fixed@agent.example>", body_full_text="Fixed.\n\n> Still burning.",
    )  # fmt: skip
    assert outcome.action is ReceiveAction.AGENT_REPLY
    message = _message(session, outcome.message_id)
    assert (message.author_type, message.author_user_id) == (AuthorType.AGENT, desk.agent.user_id)
    assert (message.visibility, message.source) == (Visibility.PUBLIC, Source.EMAIL)
    assert (message.message_id, message.thread_rule) == ("fixed@agent.example", "header")
    assert (message.in_reply_to, message.body_full_text) == (
        "first@client.example",
        "Fixed.\n\n> Still burning.",
    )
    assert ticket.first_response_at == LATER
    assert ticket.status is Status.WAITING_ON_CLIENT


def test_light_agents_mail_becomes_a_note(
    session: Session, desk: Desk, store: LocalBlobStore, ticket: Ticket
) -> None:
    outcome = _reply(
        session, desk, ticket, store, standing="agent", agent_user_id=desk.light.user_id,
        message_id="note@agent.example",
    )  # fmt: skip
    message = _message(session, outcome.message_id)
    assert message.visibility is Visibility.INTERNAL
    # The note is still the mail: later replies to it thread by its Message-ID.
    assert (message.message_id, message.thread_rule) == ("note@agent.example", "header")
    assert ticket.status is Status.OPEN


def test_mail_naming_no_staff_member_of_the_tenant_is_refused(
    session: Session, desk: Desk, store: LocalBlobStore, ticket: Ticket
) -> None:
    stranger = make_staff(session, make_desk(session).tenant)
    with pytest.raises(PermissionDenied):
        _reply(session, desk, ticket, store, standing="agent", agent_user_id=stranger.user_id)


def test_agents_address_without_proof_is_held_as_their_note(
    session: Session, desk: Desk, store: LocalBlobStore, ticket: Ticket
) -> None:
    outcome = _reply(
        session, desk, ticket, store, standing="unproven_agent", agent_user_id=desk.agent.user_id
    )
    assert outcome.action is ReceiveAction.HELD_AGENT_NOTE
    message = _message(session, outcome.message_id)
    assert (message.author_user_id, message.visibility) == (desk.agent.user_id, Visibility.INTERNAL)
    assert message.hold_reason == "sent from an agent's address without proof; confirm to post it"
    assert events(session, ticket)[-1] == (
        EventKind.MESSAGE_HELD, {"message_id": message.id, "reason": message.hold_reason},
    )  # fmt: skip
    assert ticket.first_response_at is None


# Strangers


@pytest.mark.parametrize("standing", ["pending", "token_other_recipient"])
def test_strangers_mail_is_held_and_never_shown_to_clients(
    session: Session, desk: Desk, store: LocalBlobStore, ticket: Ticket, standing: str
) -> None:
    outcome = _reply(
        session, desk, ticket, store, standing=standing, sender_email="eve@evil.example"
    )
    assert (outcome.action, outcome.ticket_id) == (ReceiveAction.PENDING_PARTICIPANT, ticket.id)
    message = _message(session, outcome.message_id)
    assert message.visibility is Visibility.INTERNAL
    assert message.hold_reason
    eve = contacts.find_contact(session, desk.tenant.id, "eve@evil.example")
    assert eve is not None
    assert session.get_one(TicketParticipant, (ticket.id, eve.id)).pending is True
    # Neither the requester nor the stranger sees the held message.
    assert message.id not in _client_view(session, ticket.requester_id, ticket)
    with pytest.raises(NotFound):
        _client_view(session, eve.id, ticket)
    assert ticket.status is Status.OPEN
    kinds_written = {row.kind for row in session.scalars(select(OutboxEvent))}
    assert messages.OUTBOX_CLIENT_REPLY not in kinds_written


def test_mail_the_pipeline_holds_from_a_requester_stays_internal(
    session: Session, desk: Desk, store: LocalBlobStore, ticket: Ticket
) -> None:
    outcome = _reply(session, desk, ticket, store, hold_reason="too many replies in a minute")
    assert outcome.action is ReceiveAction.HELD
    message = _message(session, outcome.message_id)
    assert (message.visibility, message.hold_reason) == (
        Visibility.INTERNAL, "too many replies in a minute",
    )  # fmt: skip


# Tenant wall


def test_another_tenants_ticket_is_never_written_to(
    session: Session, desk: Desk, store: LocalBlobStore
) -> None:
    other = make_desk(session)
    theirs = make_ticket(session, other.tenant)
    for standing in ("requester", "pending", "agent"):
        with pytest.raises(NotFound):
            _reply(
                session, desk, theirs, store, standing=standing, agent_user_id=desk.agent.user_id
            )
    with pytest.raises(NotFound):
        _reply(session, desk, theirs, store, kind="auto_reply")
    assert theirs.message_count == 1


def test_unknown_kinds_and_threaded_mail_without_ticket_or_standing_are_refused(
    session: Session, desk: Desk, store: LocalBlobStore
) -> None:
    with pytest.raises(ValidationError):
        receive(session, desk.tenant, store, kind="newsletter")
    with pytest.raises(ValidationError):
        receive(session, desk.tenant, store, rule="header", standing="requester")
    ticket = make_ticket(session, desk.tenant)
    with pytest.raises(ValidationError):
        receive(session, desk.tenant, store, rule="header", ticket_id=ticket.id, standing="new")
    assert ticket.message_count == 1


# Auto-replies, loops, spam


def test_auto_reply_is_recorded_for_agents_and_changes_nothing_else(
    session: Session, desk: Desk, store: LocalBlobStore, ticket: Ticket
) -> None:
    messages.add_public_reply(session, desk.agent, ticket.id, "Try this.", now=NOW)
    outbox_before = session.scalar(select(func.count()).select_from(OutboxEvent))
    outcome = _reply(session, desk, ticket, store, kind="auto_reply", body_text="Out of office.")
    assert outcome.action is ReceiveAction.AUTO_REPLY_RECORDED
    message = _message(session, outcome.message_id)
    assert (message.visibility, message.mail_kind) == (Visibility.INTERNAL, "auto_reply")
    assert message.author_contact_id == ticket.requester_id
    assert ticket.status is Status.WAITING_ON_CLIENT
    assert kinds(session, ticket)[-1] is EventKind.AUTO_REPLY_RECEIVED
    assert session.scalar(select(func.count()).select_from(OutboxEvent)) == outbox_before


@pytest.mark.parametrize("kind", ["auto_reply", "spam", "loop"])
def test_auto_replies_without_a_ticket_loops_and_spam_open_nothing(
    session: Session, desk: Desk, store: LocalBlobStore, kind: str
) -> None:
    before = _ticket_count(session, desk.tenant.id)
    outcome = receive(session, desk.tenant, store, kind=kind)
    assert (outcome.action, outcome.raw_state) == (ReceiveAction.IGNORED, RawMessageState.IGNORED)
    assert _ticket_count(session, desk.tenant.id) == before


def test_a_loop_pauses_the_mailboxs_automatic_answers_for_an_hour(
    session: Session, desk: Desk, store: LocalBlobStore
) -> None:
    mailbox = make_mailbox(session, desk.tenant)
    receive(session, desk.tenant, store, kind="loop", mailbox_id=mailbox.id)
    assert mailbox.auto_answers_paused_until == NOW + timedelta(hours=1)


# Bounces


def _bounce(**kw: object) -> IncomingBounce:
    values: dict[str, object] = {
        "original_message_id": "out-1@help.example",
        "recipients": (ANN,),
        "status": "5.1.1",
        "action": "failed",
        "diagnostic": "550 5.1.1 <ann@client.example>: Recipient address rejected",
        "permanent": True,
    }
    values.update(kw)
    return IncomingBounce(**values)  # type: ignore[arg-type]


def test_bounce_is_recorded_on_its_ticket_message_and_address(
    session: Session, desk: Desk, store: LocalBlobStore, ticket: Ticket
) -> None:
    reply = messages.add_public_reply(
        session, desk.agent, ticket.id, "Fixed?", message_id="out-1@help.example", now=NOW
    )
    outcome = receive(session, desk.tenant, store, kind="bounce", bounce=_bounce(), now=LATER)
    assert (outcome.action, outcome.ticket_id) == (ReceiveAction.BOUNCE_RECORDED, ticket.id)
    assert reply.delivery_state is DeliveryState.BOUNCED
    kind, payload = events(session, ticket)[-1]
    assert kind is EventKind.DELIVERY_FAILED
    assert (payload["recipients"], payload["status"], payload["permanent"]) == (
        [ANN],
        "5.1.1",
        True,
    )
    address = session.scalars(select(ContactEmail).where(ContactEmail.email == ANN)).one()
    assert address.bounced_at == LATER
    assert (
        address.bounce_reason == "5.1.1 550 5.1.1 <ann@client.example>: Recipient address rejected"
    )
    assert ticket.message_count == 2


def test_temporary_failure_is_recorded_but_leaves_the_address_alone(
    session: Session, desk: Desk, store: LocalBlobStore, ticket: Ticket
) -> None:
    messages.add_public_reply(
        session, desk.agent, ticket.id, "Fixed?", message_id="out-1@help.example", now=NOW
    )
    bounce = _bounce(status="4.2.2", permanent=False)
    outcome = receive(session, desk.tenant, store, kind="bounce", bounce=bounce)
    assert outcome.action is ReceiveAction.BOUNCE_RECORDED
    address = session.scalars(select(ContactEmail).where(ContactEmail.email == ANN)).one()
    assert address.bounced_at is None


def test_delay_notices_and_bounces_of_unknown_mail_are_ignored(
    session: Session, desk: Desk, store: LocalBlobStore
) -> None:
    delayed = _bounce(action="delayed", status="4.4.7", permanent=False)
    assert receive(session, desk.tenant, store, kind="bounce", bounce=delayed).action is (
        ReceiveAction.IGNORED
    )
    unknown = _bounce(recipients=("nobody@else.example",))
    assert receive(session, desk.tenant, store, kind="bounce", bounce=unknown).action is (
        ReceiveAction.IGNORED
    )


def test_bounce_never_marks_another_tenants_contact(
    session: Session, desk: Desk, store: LocalBlobStore
) -> None:
    other = make_desk(session)
    theirs = make_contact(session, other.tenant, ANN)
    receive(session, desk.tenant, store, kind="bounce", bounce=_bounce())
    assert all(entry.bounced_at is None for entry in theirs.emails)


def test_mail_from_a_bounced_address_clears_its_mark(
    session: Session, desk: Desk, store: LocalBlobStore, ticket: Ticket
) -> None:
    receive(session, desk.tenant, store, kind="bounce", bounce=_bounce(), now=LATER)
    _reply(session, desk, ticket, store)
    session.flush()
    session.expire_all()
    address = session.scalars(select(ContactEmail).where(ContactEmail.email == ANN)).one()
    assert (address.bounced_at, address.bounce_reason) == (None, None)


# Order does not matter


def test_reply_first_then_original_both_land_on_one_ticket(
    session: Session, desk: Desk, store: LocalBlobStore
) -> None:
    # Given a reply that arrives before the message it answers
    index = SqlThreadIndex(session)
    reply = receive(
        session, desk.tenant, store, sender_email=ANN, message_id="reply@client.example",
        in_reply_to="original@client.example", references=("original@client.example",),
    )  # fmt: skip
    # When the original arrives, it finds the ticket that awaited it
    awaiting = index.ticket_awaiting(desk.tenant.id, "original@client.example")
    assert awaiting is not None
    assert awaiting.id == reply.ticket_id
    original = receive(
        session, desk.tenant, store, sender_email=ANN, rule="header", standing="requester",
        ticket_id=awaiting.id, message_id="original@client.example", now=LATER,
    )  # fmt: skip
    # Then both are on one ticket, and the original is no longer awaited
    assert original.ticket_id == reply.ticket_id
    assert index.ticket_awaiting(desk.tenant.id, "original@client.example") is None
    found = index.ticket_for_message_ids(desk.tenant.id, ["original@client.example"])
    assert found is not None
    assert found[0].id == reply.ticket_id


def test_a_message_id_known_on_one_ticket_keeps_it(
    session: Session, desk: Desk, store: LocalBlobStore
) -> None:
    first = receive(session, desk.tenant, store, references=("shared@client.example",))
    receive(session, desk.tenant, store, references=("shared@client.example",))
    found = SqlThreadIndex(session).ticket_for_message_ids(
        desk.tenant.id, ["shared@client.example"]
    )
    assert found is not None
    assert found[0].id == first.ticket_id


def test_files_of_a_held_message_are_kept_on_it(
    session: Session, desk: Desk, store: LocalBlobStore, ticket: Ticket
) -> None:
    files = (
        IncomingFile("", "image/png", "image/png", b"\x89PNG", content_id="logo", inline=True),
    )
    outcome = _reply(
        session, desk, ticket, store, standing="pending", sender_email="eve@evil.example",
        files=files,
    )  # fmt: skip
    [attachment] = _message(session, outcome.message_id).attachments
    assert (attachment.filename, attachment.inline, attachment.content_id) == (
        "attachment",
        True,
        "logo",
    )


def test_received_mail_acts_as_the_system_of_its_tenant(
    session: Session, desk: Desk, store: LocalBlobStore
) -> None:
    outcome = receive_mail(session, incoming_mail(desk.tenant), store=store, now=NOW)
    rows = session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == outcome.ticket_id))
    assert {(row.kind, row.actor_type, row.tenant_id) for row in rows} == {
        (EventKind.CREATED, AuthorType.SYSTEM, desk.tenant.id)
    }


def _reads_addresses(sql: str) -> bool:
    """Whether a statement reads contact_emails, joined or not."""
    return sql.startswith("SELECT") and "contact_emails" in sql
