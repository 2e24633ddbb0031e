"""Canned responses for agents: the ones each may use, filled in for a ticket."""

from __future__ import annotations

from helpdesk.enums import Role
from helpdesk.models import Tenant
from helpdesk.principal import Staff
from helpdesk.services.canned_responses import create_canned_response
from helpdesk.services.contacts import update_contact
from tests.api.conftest import ApiWorld, Desk
from tests.factories import NOW, make_ticket

GREETING = "Hello {{requester_name}}, about #{{ticket_number}}: {{ mood }}. {{agent_name}}"


def staff(desk: Desk, role: Role) -> Staff:
    return Staff(desk.ids[role.value], desk.tenant_id, role)


def save_response(world: ApiWorld, title: str, *, owner: Role, desk: Desk | None = None) -> int:
    desk = desk or world.own
    with world.sessions() as session:
        response = create_canned_response(
            session,
            staff(desk, owner),
            desk.tenant_id,
            title=title,
            body=GREETING,
            shared=owner is Role.ADMIN,
            now=NOW,
        )
        return response.id


def open_ticket(world: ApiWorld, requester_name: str = "Dana") -> int:
    with world.sessions() as session:
        ticket = make_ticket(session, session.get_one(Tenant, world.own.tenant_id))
        update_contact(
            session, staff(world.own, Role.ADMIN), ticket.requester_id, name=requester_name, now=NOW
        )
        return ticket.number


def test_agents_see_shared_responses_and_their_own_only(world: ApiWorld) -> None:
    save_response(world, "Welcome", owner=Role.ADMIN)
    save_response(world, "My sign-off", owner=Role.AGENT)
    save_response(world, "Theirs", owner=Role.ADMIN, desk=world.other)
    mine = world.call("agent", "GET", "/api/v1/canned-responses").get_json()
    assert [(r["title"], r["shared"]) for r in mine["items"]] == [
        ("My sign-off", False),
        ("Welcome", True),
    ]
    assert mine["next_cursor"] is None
    light = world.call("light_agent", "GET", "/api/v1/canned-responses").get_json()
    assert [r["title"] for r in light["items"]] == ["Welcome"]
    assert world.call("client", "GET", "/api/v1/canned-responses").status_code == 403


def test_a_response_is_filled_in_for_a_ticket(world: ApiWorld) -> None:
    response_id = save_response(world, "Welcome", owner=Role.ADMIN)
    number = open_ticket(world)
    rendered = world.call(
        "light_agent",
        "POST",
        f"/api/v1/canned-responses/{response_id}/render",
        json={"ticket": number},
    )
    assert rendered.status_code == 200
    assert rendered.get_json() == {
        "body": f"Hello Dana, about #{number}: {{{{ mood }}}}. light_agent"
    }


def test_another_agents_own_response_or_tenant_is_not_found(world: ApiWorld) -> None:
    own = save_response(world, "Mine", owner=Role.AGENT)
    theirs = save_response(world, "Theirs", owner=Role.ADMIN, desk=world.other)
    number = open_ticket(world)
    for role, response_id in (("admin", own), ("agent", theirs)):
        url = f"/api/v1/canned-responses/{response_id}/render"
        assert world.call(role, "POST", url, json={"ticket": number}).status_code == 404
    url = f"/api/v1/canned-responses/{own}/render"
    assert world.call("agent", "POST", url, json={"ticket": number + 1}).status_code == 404
    assert world.call("agent", "POST", url, json={"ticket": "one"}).status_code == 422
