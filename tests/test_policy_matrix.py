"""Who may do what: the whole permission matrix, client ticket rules, and the tenant wall."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.orm import Session

from helpdesk.enums import Priority, Role, Status
from helpdesk.errors import NotFound
from helpdesk.models import Ticket
from helpdesk.policy import Action, RoleName, can, can_on_ticket
from helpdesk.principal import Client, Operator, PlatformAdmin, Principal, Staff, System
from helpdesk.services import messages, ticket_links
from helpdesk.services import tickets as svc
from tests.factories import NOW, make_ticket
from tests.ticket_helpers import Desk, make_desk

HOME, ELSEWHERE = 1, 2
COLUMNS = ["client", "light_agent", "agent", "admin", "platform_admin", "system"]

# Written out by hand on purpose: computing it from policy.PERMISSIONS would
# make a test that agrees with any mistake in the table.
#                                           client light agent admin platform system
EXPECTED: dict[Action, str] = {
    Action.VIEW_TICKETS:                    "Y      Y     Y     Y     Y        Y",
    Action.VIEW_INTERNAL:                   "-      Y     Y     Y     Y        Y",
    Action.CREATE_TICKET:                   "Y      -     Y     Y     Y        Y",
    Action.REPLY_PUBLIC:                    "Y      -     Y     Y     Y        Y",
    Action.ADD_NOTE:                        "-      Y     Y     Y     Y        Y",
    Action.UPDATE_TICKET:                   "-      -     Y     Y     Y        Y",
    Action.RESOLVE_OWN_TICKET:              "Y      -     -     -     Y        -",
    Action.RATE_TICKET:                     "Y      -     -     -     Y        -",
    Action.ASSIGN_TICKET:                   "-      -     Y     Y     Y        Y",
    Action.WATCH_TICKET:                    "-      -     Y     Y     Y        -",
    Action.MERGE_TICKETS:                   "-      -     Y     Y     Y        -",
    Action.LINK_TICKETS:                    "-      -     Y     Y     Y        Y",
    Action.VIEW_CONTACTS:                   "-      Y     Y     Y     Y        Y",
    Action.MANAGE_CONTACTS:                 "-      -     Y     Y     Y        Y",
    Action.USE_CANNED_RESPONSES:            "-      Y     Y     Y     Y        -",
    Action.MANAGE_OWN_CANNED_RESPONSES:     "-      -     Y     Y     Y        -",
    Action.MANAGE_OWN_TOKENS:               "-      Y     Y     Y     Y        -",
    Action.MANAGE_TENANT:                   "-      -     -     Y     Y        -",
    Action.MANAGE_TENANTS:                  "-      -     -     -     Y        -",
}  # fmt: skip


def principal(role: str) -> Principal:
    """A principal of each kind whose home tenant is HOME."""
    kinds: dict[str, Principal] = {
        "client": Client(contact_id=7, tenant_id=HOME),
        "light_agent": Staff(user_id=3, tenant_id=HOME, role=Role.LIGHT_AGENT),
        "agent": Staff(user_id=4, tenant_id=HOME, role=Role.AGENT),
        "admin": Staff(user_id=5, tenant_id=HOME, role=Role.ADMIN),
        "platform_admin": PlatformAdmin(user_id=6),
        "system": System(tenant_id=HOME),
    }
    return kinds[role]


def expected(action: Action, role: str) -> bool:
    return dict(zip(COLUMNS, EXPECTED[action].split(), strict=True))[role] == "Y"


def test_the_expected_table_covers_every_action_and_every_role() -> None:
    assert set(EXPECTED) == set(Action)
    assert set(COLUMNS) == {role.value for role in RoleName}


@pytest.mark.parametrize("role", COLUMNS)
@pytest.mark.parametrize("action", list(Action))
def test_each_role_may_do_exactly_what_the_table_says_in_its_own_tenant(
    role: str, action: Action
) -> None:
    assert can(principal(role), action, HOME) is expected(action, role)


@pytest.mark.parametrize("role", COLUMNS)
@pytest.mark.parametrize("action", list(Action))
def test_nobody_but_a_platform_admin_may_do_anything_in_another_tenant(
    role: str, action: Action
) -> None:
    allowed = role == "platform_admin" and expected(action, role)
    assert can(principal(role), action, ELSEWHERE) is allowed


@pytest.mark.parametrize("action", list(Action))
def test_the_operator_at_the_command_line_is_trusted_like_a_platform_admin(
    action: Action,
) -> None:
    assert can(Operator(), action, HOME)
    assert can(Operator(), action, ELSEWHERE)


# Client rules on single tickets


@dataclass(frozen=True)
class Scope:
    tenant_id: int
    requester_id: int
    organization_id: int | None = None


ME, SOMEONE, ORG, OTHER_ORG = 7, 8, 50, 51
CLIENT_ACTIONS = [
    Action.VIEW_TICKETS,
    Action.REPLY_PUBLIC,
    Action.RESOLVE_OWN_TICKET,
    Action.RATE_TICKET,
]


def me(*, organization: int | None = None, shares: bool = False) -> Client:
    return Client(
        contact_id=ME, tenant_id=HOME, organization_id=organization, sees_organization=shares
    )


@pytest.mark.parametrize(
    ("client", "ticket", "participant", "allowed"),
    [
        pytest.param(me(), Scope(HOME, ME), False, True, id="own ticket"),
        pytest.param(me(), Scope(HOME, SOMEONE), False, False, id="someone else's"),
        pytest.param(me(), Scope(HOME, SOMEONE), True, True, id="participant"),
        pytest.param(
            me(organization=ORG, shares=True), Scope(HOME, SOMEONE, ORG), False, True,
            id="organization shares",
        ),
        pytest.param(
            me(organization=ORG, shares=False), Scope(HOME, SOMEONE, ORG), False, False,
            id="organization does not share",
        ),
        pytest.param(
            me(organization=ORG, shares=True), Scope(HOME, SOMEONE, OTHER_ORG), False, False,
            id="another organization",
        ),
        pytest.param(
            me(organization=None, shares=True), Scope(HOME, SOMEONE, None), False, False,
            id="no organization on either side",
        ),
        pytest.param(me(), Scope(ELSEWHERE, ME), False, False, id="other tenant, same id"),
        pytest.param(me(), Scope(ELSEWHERE, SOMEONE), True, False, id="other tenant participant"),
    ],
)  # fmt: skip
def test_client_acts_only_on_tickets_they_may_see(
    client: Client, ticket: Scope, participant: bool, allowed: bool
) -> None:
    for action in CLIENT_ACTIONS:
        assert can_on_ticket(client, action, ticket, is_participant=participant) is allowed
    for action in (Action.UPDATE_TICKET, Action.VIEW_INTERNAL, Action.ADD_NOTE):
        assert not can_on_ticket(client, action, ticket, is_participant=participant)


@pytest.mark.parametrize("role", ["light_agent", "agent", "admin", "system"])
def test_staff_act_on_any_ticket_of_their_tenant_and_none_elsewhere(role: str) -> None:
    actor = principal(role)
    assert can_on_ticket(actor, Action.VIEW_TICKETS, Scope(HOME, SOMEONE))
    assert not can_on_ticket(actor, Action.VIEW_TICKETS, Scope(ELSEWHERE, SOMEONE))


# The tenant wall, service by service: another tenant's ticket does not exist.

Call = Callable[[Session, Desk, Ticket, Ticket], Any]
SERVICES: dict[str, Call] = {
    "get_ticket_by_id": lambda s, d, t, own: svc.get_ticket_by_id(s, d.agent, t.id),
    "get_ticket": lambda s, d, t, own: svc.get_ticket(s, d.agent, t.tenant_id, t.number),
    "change_status": lambda s, d, t, own: svc.change_status(
        s, d.agent, t.id, Status.CLOSED, now=NOW
    ),
    "change_priority": lambda s, d, t, own: svc.change_priority(
        s, d.agent, t.id, Priority.HIGH, now=NOW
    ),
    "change_category": lambda s, d, t, own: svc.change_category(s, d.agent, t.id, "bug", now=NOW),
    "change_subject": lambda s, d, t, own: svc.change_subject(s, d.agent, t.id, "Mine", now=NOW),
    "set_tags": lambda s, d, t, own: svc.set_tags(s, d.agent, t.id, ["x"], now=NOW),
    "set_custom_fields": lambda s, d, t, own: svc.set_custom_fields(s, d.agent, t.id, {}, now=NOW),
    "assign_ticket": lambda s, d, t, own: svc.assign_ticket(
        s, d.agent, t.id, d.agent.user_id, now=NOW
    ),
    "assign_team": lambda s, d, t, own: svc.assign_team(s, d.agent, t.id, None, now=NOW),
    "add_watcher": lambda s, d, t, own: svc.add_watcher(s, d.agent, t.id, d.agent.user_id, now=NOW),
    "remove_watcher": lambda s, d, t, own: svc.remove_watcher(
        s, d.agent, t.id, d.agent.user_id, now=NOW
    ),
    "resolve_ticket_as_client": lambda s, d, t, own: svc.resolve_ticket_as_client(
        s, d.client, t.id, now=NOW
    ),
    "rate_ticket": lambda s, d, t, own: svc.rate_ticket(s, d.client, t.id, 5, now=NOW),
    "add_public_reply": lambda s, d, t, own: messages.add_public_reply(
        s, d.agent, t.id, "hi", now=NOW
    ),
    "add_internal_note": lambda s, d, t, own: messages.add_internal_note(
        s, d.admin, t.id, "hi", now=NOW
    ),
    "add_client_reply": lambda s, d, t, own: messages.add_client_reply(
        s, d.system, t.id, "hi", author_contact_id=t.requester_id, now=NOW
    ),
    "list_messages": lambda s, d, t, own: messages.list_messages(s, d.admin, t.id),
    "merge_tickets (theirs into ours)": lambda s, d, t, own: ticket_links.merge_tickets(
        s, d.agent, t.id, own.id, now=NOW
    ),
    "merge_tickets (ours into theirs)": lambda s, d, t, own: ticket_links.merge_tickets(
        s, d.agent, own.id, t.id, now=NOW
    ),
    "link_to_incident (theirs)": lambda s, d, t, own: ticket_links.link_to_incident(
        s, d.agent, t.id, None, now=NOW
    ),
    "link_to_incident (to theirs)": lambda s, d, t, own: ticket_links.link_to_incident(
        s, d.agent, own.id, t.id, now=NOW
    ),
}


@pytest.mark.parametrize("name", list(SERVICES))
def test_another_tenants_ticket_is_not_found_by_any_service(session: Session, name: str) -> None:
    ours, theirs = make_desk(session), make_desk(session)
    own_ticket = make_ticket(session, ours.tenant)
    their_ticket = make_ticket(session, theirs.tenant)
    with pytest.raises(NotFound):
        SERVICES[name](session, ours, their_ticket, own_ticket)
    assert their_ticket.status is Status.OPEN
    assert their_ticket.message_count == 1
