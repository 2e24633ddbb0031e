"""Ticket services: opening, finding, and changing tickets, on both backends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.crypto import SecretBox
from helpdesk.enums import (
    AuthorType,
    CustomFieldType,
    EventKind,
    Priority,
    Role,
    Source,
    Status,
    Visibility,
)
from helpdesk.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from helpdesk.models import Category, Contact, Message, TicketParticipant
from helpdesk.principal import Operator
from helpdesk.services import catalog, mailboxes, organizations, teams, users
from helpdesk.services import tickets as svc
from helpdesk.services.contacts import client_principal
from tests.factories import NOW, make_contact, make_staff, make_ticket, make_user
from tests.ticket_helpers import Desk, events, kinds, make_desk, outbox

LATER = NOW + timedelta(hours=1)


def test_mail_from_a_new_address_opens_a_ticket_by_a_new_contact(
    session: Session, desk: Desk
) -> None:
    ticket = make_ticket(
        session, desk.tenant, requester_email="Ann@Client.example", requester_name="Ann"
    )
    requester = session.get_one(Contact, ticket.requester_id)
    assert requester.primary_email == "ann@client.example"
    assert (ticket.number, ticket.status, ticket.priority) == (1, Status.OPEN, Priority.NORMAL)
    message = session.scalars(select(Message).where(Message.ticket_id == ticket.id)).one()
    assert message.author_type is AuthorType.CLIENT
    assert message.author_contact_id == requester.id
    assert message.visibility is Visibility.PUBLIC
    assert ticket.message_count == 1
    assert kinds(session, ticket) == [EventKind.CREATED]
    assert outbox(session, svc.OUTBOX_TICKET_CREATED) == [
        {"ticket_id": ticket.id, "message_id": message.id}
    ]


def test_ticket_numbers_count_up_per_tenant(session: Session, desk: Desk) -> None:
    numbers = [make_ticket(session, desk.tenant).number for _ in range(3)]
    other = make_desk(session)
    assert numbers == [1, 2, 3]
    assert make_ticket(session, other.tenant).number == 1


def test_agent_opening_a_ticket_on_behalf_signs_the_first_public_message(
    session: Session, desk: Desk
) -> None:
    ticket = make_ticket(
        session,
        desk.tenant,
        actor=desk.agent,
        source=Source.CONSOLE,
        requester_email="caller@client.example",
    )
    message = session.scalars(select(Message).where(Message.ticket_id == ticket.id)).one()
    assert message.author_type is AuthorType.AGENT
    assert message.author_user_id == desk.agent.user_id
    assert message.visibility is Visibility.PUBLIC
    requester = session.get_one(Contact, ticket.requester_id)
    assert requester.primary_email == "caller@client.example"
    assert ticket.first_response_at is None


def test_client_opens_a_ticket_only_as_themselves(session: Session, desk: Desk) -> None:
    own = session.get_one(Contact, desk.client.contact_id).primary_email
    ticket = make_ticket(
        session, desk.tenant, actor=desk.client, source=Source.PORTAL, requester_email=own
    )
    assert ticket.requester_id == desk.client.contact_id
    someone = make_contact(session, desk.tenant, "someone@client.example")
    for address in (someone.primary_email, "new-person@client.example"):
        with pytest.raises(PermissionDenied):
            make_ticket(
                session,
                desk.tenant,
                actor=desk.client,
                source=Source.PORTAL,
                requester_email=address,
            )


def test_light_agent_and_other_tenants_cannot_open_tickets(session: Session, desk: Desk) -> None:
    other = make_desk(session)
    for actor in (desk.light, other.agent, other.system):
        with pytest.raises(PermissionDenied):
            make_ticket(session, desk.tenant, actor=actor, source=Source.CONSOLE)


def test_ticket_from_a_mailbox_takes_its_defaults(session: Session, desk: Desk) -> None:
    team = teams.create_team(session, desk.admin, desk.tenant.id, "Billing desk", now=NOW)
    box = SecretBox("k" * 40, "imap")
    mailbox = mailboxes.create_mailbox(
        session, desk.admin, desk.tenant.id, address="billing@acme.example", box=box, now=NOW
    )
    mailboxes.update_mailbox(
        session,
        desk.admin,
        mailbox.id,
        default_category="billing",
        default_priority=Priority.HIGH,
        default_team_id=team.id,
        now=NOW,
    )
    ticket = make_ticket(session, desk.tenant, mailbox_id=mailbox.id)
    billing = session.scalars(
        select(Category).where(Category.tenant_id == desk.tenant.id, Category.key == "billing")
    ).one()
    assert (ticket.priority, ticket.category_id, ticket.team_id) == (
        Priority.HIGH,
        billing.id,
        team.id,
    )
    explicit = make_ticket(
        session, desk.tenant, mailbox_id=mailbox.id, priority=Priority.LOW, category="bug"
    )
    assert explicit.priority is Priority.LOW
    assert explicit.category_id != billing.id


def test_a_mailbox_of_another_tenant_is_not_found(session: Session, desk: Desk) -> None:
    other = make_desk(session)
    box = SecretBox("k" * 40, "imap")
    mailbox = mailboxes.create_mailbox(
        session, other.admin, other.tenant.id, address="help@other.example", box=box, now=NOW
    )
    with pytest.raises(NotFound):
        make_ticket(session, desk.tenant, mailbox_id=mailbox.id)


def test_cc_addresses_become_participants_but_never_our_own_mailboxes(
    session: Session, desk: Desk
) -> None:
    box = SecretBox("k" * 40, "imap")
    mailboxes.create_mailbox(
        session, desk.admin, desk.tenant.id, address="help@acme.example", box=box, now=NOW
    )
    ticket = make_ticket(
        session,
        desk.tenant,
        requester_email="ann@client.example",
        cc=[
            "Help@Acme.example",
            "help+abc123@acme.example",
            "ann@client.example",
            "undisclosed-recipients:;",
            "bob@client.example",
            "BOB@client.example",
            "carol@elsewhere.example",
        ],
    )
    participants = session.scalars(
        select(Contact)
        .join(TicketParticipant, TicketParticipant.contact_id == Contact.id)
        .where(TicketParticipant.ticket_id == ticket.id)
    ).all()
    assert sorted(c.primary_email for c in participants) == [
        "bob@client.example",
        "carol@elsewhere.example",
    ]
    created = events(session, ticket)[0][1]
    assert sorted(created["participants"]) == sorted(c.id for c in participants)


def test_subject_is_required_from_forms_but_mail_without_one_still_opens_a_ticket(
    session: Session, desk: Desk
) -> None:
    assert make_ticket(session, desk.tenant, subject="  ").subject == "(no subject)"
    assert make_ticket(session, desk.tenant, subject="Two\r\nlines").subject == "Two lines"
    with pytest.raises(ValidationError) as error:
        make_ticket(session, desk.tenant, actor=desk.agent, source=Source.CONSOLE, subject="")
    assert error.value.field == "subject"
    with pytest.raises(ValidationError):
        make_ticket(session, desk.tenant, actor=desk.agent, source=Source.API, body=" ")


def test_unknown_or_inactive_category_is_refused(session: Session, desk: Desk) -> None:
    with pytest.raises(ValidationError) as error:
        make_ticket(session, desk.tenant, category="nope")
    assert error.value.field == "category"
    bug = session.scalars(
        select(Category).where(Category.tenant_id == desk.tenant.id, Category.key == "bug")
    ).one()
    catalog.deactivate_category(session, desk.admin, bug.id, now=NOW)
    with pytest.raises(ValidationError):
        make_ticket(session, desk.tenant, category="bug")


def test_tags_are_normalized_when_a_ticket_opens(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session, desk.tenant, tags=[" VIP ", "vip", "Needs Review", ""])
    assert ticket.tag_names == ["needs-review", "vip"]


def test_required_custom_fields_bind_staff_but_not_mail(session: Session, desk: Desk) -> None:
    catalog.create_custom_field(
        session,
        desk.admin,
        desk.tenant.id,
        key="contract",
        label="Contract",
        type=CustomFieldType.TEXT,
        required=True,
        now=NOW,
    )
    assert make_ticket(session, desk.tenant).custom_fields == {}
    with pytest.raises(ValidationError) as error:
        make_ticket(session, desk.tenant, actor=desk.agent, source=Source.CONSOLE)
    assert error.value.field == "contract"
    ticket = make_ticket(
        session,
        desk.tenant,
        actor=desk.agent,
        source=Source.CONSOLE,
        custom_fields={"contract": " C-42 "},
    )
    assert ticket.custom_fields == {"contract": "C-42"}


def test_unknown_custom_field_is_refused_by_its_key(session: Session, desk: Desk) -> None:
    with pytest.raises(ValidationError) as error:
        make_ticket(session, desk.tenant, custom_fields={"colour": "red"})
    assert error.value.field == "colour"


def test_clients_may_only_fill_fields_shown_to_them(session: Session, desk: Desk) -> None:
    for key, visible in (("internal_code", False), ("order", True)):
        catalog.create_custom_field(
            session,
            desk.admin,
            desk.tenant.id,
            key=key,
            label=key,
            type=CustomFieldType.TEXT,
            visible_to_clients=visible,
            now=NOW,
        )
    own = session.get_one(Contact, desk.client.contact_id).primary_email
    common = {"actor": desk.client, "source": Source.PORTAL, "requester_email": own}
    ticket = make_ticket(session, desk.tenant, custom_fields={"order": "A1"}, **common)
    assert ticket.custom_fields == {"order": "A1"}
    with pytest.raises(ValidationError):
        make_ticket(session, desk.tenant, custom_fields={"internal_code": "x"}, **common)


# Finding tickets


def test_get_ticket_finds_by_number_within_the_tenant(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session, desk.tenant)
    assert svc.get_ticket(session, desk.agent, desk.tenant.id, ticket.number) is ticket
    assert svc.get_ticket_by_id(session, desk.light, ticket.id) is ticket
    with pytest.raises(NotFound):
        svc.get_ticket(session, desk.agent, desk.tenant.id, ticket.number + 1)


def test_another_tenants_ticket_is_not_found_even_by_number(session: Session, desk: Desk) -> None:
    other = make_desk(session)
    theirs = make_ticket(session, other.tenant)
    with pytest.raises(NotFound):
        svc.get_ticket_by_id(session, desk.agent, theirs.id)
    with pytest.raises(NotFound):
        svc.get_ticket(session, desk.agent, other.tenant.id, theirs.number)


def test_client_sees_own_and_participating_tickets_but_not_pending_ones(
    session: Session, desk: Desk
) -> None:
    email = session.get_one(Contact, desk.client.contact_id).primary_email
    own = make_ticket(session, desk.tenant, requester_email=email)
    cc = make_ticket(session, desk.tenant, cc=[email])
    stranger = make_ticket(session, desk.tenant)
    assert svc.get_ticket_by_id(session, desk.client, own.id) is own
    assert svc.get_ticket_by_id(session, desk.client, cc.id) is cc
    with pytest.raises(NotFound):
        svc.get_ticket_by_id(session, desk.client, stranger.id)
    session.add(
        TicketParticipant(
            ticket_id=stranger.id,
            contact_id=desk.client.contact_id,
            tenant_id=desk.tenant.id,
            pending=True,
            created_at=NOW,
        )
    )
    with pytest.raises(NotFound):
        svc.get_ticket_by_id(session, desk.client, stranger.id)


def test_organization_members_see_each_others_tickets_only_when_it_shares(
    session: Session, desk: Desk
) -> None:
    organization = organizations.create_organization(
        session, desk.admin, desk.tenant.id, name="Corp", domains=["corp.example"], now=NOW
    )
    ticket = make_ticket(session, desk.tenant, requester_email="ann@corp.example")
    colleague = make_contact(session, desk.tenant, "bea@corp.example")
    with pytest.raises(NotFound):
        svc.get_ticket_by_id(session, client_principal(session, colleague.id), ticket.id)
    organizations.update_organization(
        session, desk.admin, organization.id, shared_tickets=True, now=NOW
    )
    as_colleague = client_principal(session, colleague.id)
    assert svc.get_ticket_by_id(session, as_colleague, ticket.id) is ticket


# Status


def test_agent_moves_a_ticket_through_its_statuses(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session, desk.tenant)
    svc.change_status(session, desk.agent, ticket.id, Status.IN_PROGRESS, now=NOW)
    svc.change_status(session, desk.agent, ticket.id, Status.RESOLVED, now=LATER)
    assert ticket.resolved_at == LATER
    assert ticket.last_activity_at == LATER
    svc.change_status(session, desk.agent, ticket.id, Status.OPEN, now=LATER)
    assert ticket.reopened_count == 1
    assert ticket.resolved_at is None
    trail = events(session, ticket)
    assert [kind for kind, _ in trail] == [
        EventKind.CREATED,
        EventKind.STATUS_CHANGED,
        EventKind.STATUS_CHANGED,
        EventKind.REOPENED,
    ]
    assert trail[2][1] == {"from": "in_progress", "to": "resolved"}
    assert len(outbox(session, svc.OUTBOX_STATUS_CHANGED)) == 3


def test_same_status_again_records_nothing(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session, desk.tenant)
    svc.change_status(session, desk.agent, ticket.id, Status.OPEN, now=NOW)
    assert kinds(session, ticket) == [EventKind.CREATED]


def test_closed_ticket_cannot_be_moved(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session, desk.tenant)
    svc.change_status(session, desk.agent, ticket.id, Status.CLOSED, now=NOW)
    assert ticket.closed_at == ticket.resolved_at == NOW
    with pytest.raises(InvalidTransition):
        svc.change_status(session, desk.agent, ticket.id, Status.OPEN, now=LATER)


def test_waiting_on_the_client_pauses_the_resolution_clock(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session, desk.tenant)
    svc.change_status(session, desk.agent, ticket.id, Status.WAITING_ON_CLIENT, now=NOW)
    assert ticket.sla_paused_at == NOW
    svc.change_status(session, desk.agent, ticket.id, Status.IN_PROGRESS, now=LATER)
    assert ticket.sla_paused_at is None
    assert ticket.sla_paused_seconds == 3600


def test_light_agents_and_clients_cannot_change_status(session: Session, desk: Desk) -> None:
    email = session.get_one(Contact, desk.client.contact_id).primary_email
    ticket = make_ticket(session, desk.tenant, requester_email=email)
    for actor in (desk.light, desk.client):
        with pytest.raises(PermissionDenied):
            svc.change_status(session, actor, ticket.id, Status.CLOSED, now=NOW)


def test_unknown_status_is_a_validation_error(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session, desk.tenant)
    with pytest.raises(ValidationError):
        svc.change_status(session, desk.agent, ticket.id, "done", now=NOW)  # type: ignore[arg-type]


# Fields


def test_priority_category_and_subject_changes_are_recorded_from_and_to(
    session: Session, desk: Desk
) -> None:
    ticket = make_ticket(session, desk.tenant, subject="Old", category="bug")
    svc.change_priority(session, desk.agent, ticket.id, Priority.URGENT, now=LATER)
    svc.change_category(session, desk.agent, ticket.id, "billing", now=LATER)
    svc.change_subject(session, desk.agent, ticket.id, " New ", now=LATER)
    svc.change_category(session, desk.agent, ticket.id, None, now=LATER)
    svc.change_priority(session, desk.agent, ticket.id, Priority.URGENT, now=LATER)
    assert events(session, ticket)[1:] == [
        (EventKind.PRIORITY_CHANGED, {"from": "normal", "to": "urgent"}),
        (EventKind.CATEGORY_CHANGED, {"from": "bug", "to": "billing"}),
        (EventKind.SUBJECT_CHANGED, {"from": "Old", "to": "New"}),
        (EventKind.CATEGORY_CHANGED, {"from": "billing", "to": None}),
    ]
    assert ticket.updated_at == LATER
    with pytest.raises(ValidationError):
        svc.change_category(session, desk.agent, ticket.id, "nope", now=LATER)
    with pytest.raises(ValidationError):
        svc.change_subject(session, desk.agent, ticket.id, "x" * 999, now=LATER)


def test_set_tags_records_what_was_added_and_removed(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session, desk.tenant, tags=["a", "b"])
    svc.set_tags(session, desk.agent, ticket.id, ["B", "c", "Log In"], now=NOW)
    assert ticket.tag_names == ["b", "c", "log-in"]
    assert events(session, ticket)[-1] == (
        EventKind.TAGS_CHANGED,
        {"added": ["c", "log-in"], "removed": ["a"]},
    )
    svc.set_tags(session, desk.agent, ticket.id, ["log-in", "c", "b"], now=NOW)
    assert kinds(session, ticket).count(EventKind.TAGS_CHANGED) == 1


@pytest.mark.parametrize("bad", ["x" * 65, "no;semicolons", "-leading", "<script>"])
def test_malformed_tags_are_refused(session: Session, desk: Desk, bad: str) -> None:
    ticket = make_ticket(session, desk.tenant)
    with pytest.raises(ValidationError) as error:
        svc.set_tags(session, desk.agent, ticket.id, [bad], now=NOW)
    assert error.value.field == "tags"


def test_custom_fields_are_typed_merged_and_cleared(session: Session, desk: Desk) -> None:
    definitions = [
        ("seats", CustomFieldType.NUMBER, None),
        ("renewal", CustomFieldType.DATE, None),
        ("plan", CustomFieldType.SELECT, {"choices": ["basic", "pro"]}),
        ("onsite", CustomFieldType.CHECKBOX, None),
    ]
    for key, kind, options in definitions:
        catalog.create_custom_field(
            session,
            desk.admin,
            desk.tenant.id,
            key=key,
            label=key,
            type=kind,
            options=options,
            now=NOW,
        )
    ticket = make_ticket(session, desk.tenant, custom_fields={"seats": 3})
    values = {"seats": "12", "renewal": "2026-05-01", "plan": "pro", "onsite": True}
    svc.set_custom_fields(session, desk.agent, ticket.id, values, now=NOW)
    assert ticket.custom_fields == {
        "seats": 12,
        "renewal": "2026-05-01",
        "plan": "pro",
        "onsite": True,
    }
    svc.set_custom_fields(session, desk.agent, ticket.id, {"plan": None}, now=NOW)
    assert "plan" not in ticket.custom_fields
    assert events(session, ticket)[-1] == (
        EventKind.CUSTOM_FIELDS_CHANGED,
        {"changes": {"plan": {"from": "pro", "to": None}}},
    )
    bad_values = {"seats": True, "renewal": "01/05/2026", "plan": "gold", "onsite": "maybe"}
    for key, bad in bad_values.items():
        with pytest.raises(ValidationError) as error:
            svc.set_custom_fields(session, desk.agent, ticket.id, {key: bad}, now=NOW)
        assert error.value.field == key


# People


def test_assigning_records_events_and_tells_the_assignee(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session, desk.tenant)
    svc.assign_ticket(session, desk.agent, ticket.id, desk.admin.user_id, now=NOW)
    svc.assign_ticket(session, desk.agent, ticket.id, desk.admin.user_id, now=NOW)
    svc.assign_ticket(session, desk.agent, ticket.id, None, now=LATER)
    assert ticket.assignee_id is None
    assert events(session, ticket)[1:] == [
        (EventKind.ASSIGNED, {"from": None, "to": desk.admin.user_id}),
        (EventKind.UNASSIGNED, {"from": desk.admin.user_id}),
    ]
    assert outbox(session, svc.OUTBOX_TICKET_ASSIGNED) == [
        {"ticket_id": ticket.id, "assignee_id": desk.admin.user_id}
    ]


def test_only_active_agents_and_admins_of_the_tenant_can_be_assignees(
    session: Session, desk: Desk
) -> None:
    ticket = make_ticket(session, desk.tenant)
    other = make_desk(session)
    leaver = make_staff(session, desk.tenant, Role.AGENT)
    users.deactivate_membership(session, Operator(), desk.tenant.id, leaver.user_id, now=NOW)
    for user_id in (desk.light.user_id, other.agent.user_id, leaver.user_id, 999_999):
        with pytest.raises(ValidationError) as error:
            svc.assign_ticket(session, desk.agent, ticket.id, user_id, now=NOW)
        assert error.value.field == "assignee_id"


def test_light_agents_cannot_assign(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session, desk.tenant)
    with pytest.raises(PermissionDenied):
        svc.assign_ticket(session, desk.light, ticket.id, desk.agent.user_id, now=NOW)


def test_team_must_be_of_the_same_tenant(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session, desk.tenant)
    ours = teams.create_team(session, desk.admin, desk.tenant.id, "Tier 2", now=NOW)
    other = make_desk(session)
    theirs = teams.create_team(session, other.admin, other.tenant.id, "Tier 2", now=NOW)
    svc.assign_team(session, desk.agent, ticket.id, ours.id, now=NOW)
    assert events(session, ticket)[-1] == (EventKind.TEAM_CHANGED, {"from": None, "to": ours.id})
    with pytest.raises(ValidationError):
        svc.assign_team(session, desk.agent, ticket.id, theirs.id, now=NOW)


def test_watchers_are_added_and_removed_once(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session, desk.tenant)
    assert svc.add_watcher(session, desk.agent, ticket.id, desk.light.user_id, now=NOW)
    assert not svc.add_watcher(session, desk.agent, ticket.id, desk.light.user_id, now=NOW)
    assert svc.remove_watcher(session, desk.agent, ticket.id, desk.light.user_id, now=NOW)
    assert not svc.remove_watcher(session, desk.agent, ticket.id, desk.light.user_id, now=NOW)
    assert kinds(session, ticket)[1:] == [EventKind.WATCHER_ADDED, EventKind.WATCHER_REMOVED]
    outsider = make_user(session, make_desk(session).tenant)
    with pytest.raises(NotFound):
        svc.add_watcher(session, desk.agent, ticket.id, outsider.id, now=NOW)


# Client actions


def test_client_resolves_their_ticket_and_rates_it(session: Session, desk: Desk) -> None:
    email = session.get_one(Contact, desk.client.contact_id).primary_email
    ticket = make_ticket(session, desk.tenant, requester_email=email)
    with pytest.raises(Conflict):
        svc.rate_ticket(session, desk.client, ticket.id, 5, now=NOW)
    svc.resolve_ticket_as_client(session, desk.client, ticket.id, now=NOW)
    assert (ticket.status, ticket.resolved_at) == (Status.RESOLVED, NOW)
    svc.rate_ticket(session, desk.client, ticket.id, 4, " Quick! ", now=LATER)
    assert (ticket.satisfaction_rating, ticket.satisfaction_comment) == (4, "Quick!")
    assert events(session, ticket)[-1] == (
        EventKind.SATISFACTION_RATED,
        {"rating": 4, "comment": "Quick!"},
    )
    for rating in (0, 6):
        with pytest.raises(ValidationError):
            svc.rate_ticket(session, desk.client, ticket.id, rating, now=LATER)


def test_only_the_requester_rates_and_only_clients_resolve_as_client(
    session: Session, desk: Desk
) -> None:
    requester = session.get_one(Contact, desk.client.contact_id).primary_email
    colleague = make_contact(session, desk.tenant, "colleague@client.example")
    ticket = make_ticket(
        session, desk.tenant, requester_email=requester, cc=[colleague.primary_email]
    )
    svc.change_status(session, desk.agent, ticket.id, Status.RESOLVED, now=NOW)
    as_colleague = client_principal(session, colleague.id)
    with pytest.raises(PermissionDenied):
        svc.rate_ticket(session, as_colleague, ticket.id, 5, now=NOW)
    with pytest.raises(PermissionDenied):
        svc.rate_ticket(session, desk.agent, ticket.id, 5, now=NOW)
    with pytest.raises(PermissionDenied):
        svc.resolve_ticket_as_client(session, desk.agent, ticket.id, now=NOW)


def test_other_clients_get_not_found_on_client_actions(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session, desk.tenant)
    with pytest.raises(NotFound):
        svc.resolve_ticket_as_client(session, desk.client, ticket.id, now=NOW)
    with pytest.raises(NotFound):
        svc.rate_ticket(session, desk.client, ticket.id, 5, now=NOW)
