"""Opening and changing tickets through the agent API: PATCH, If-Match, history, watchers, links."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from helpdesk.enums import Priority, Role
from helpdesk.errors import Conflict
from helpdesk.models import Tenant, Ticket
from helpdesk.principal import Staff
from helpdesk.services import teams
from helpdesk.services.ticket_patch import TicketPatch, update_ticket
from tests.api.conftest import ApiWorld, Desk
from tests.factories import NOW, make_ticket

NEW_TICKET = {
    "subject": "VPN drops every hour",
    "body": "Since Monday the VPN drops at the top of every hour.",
    "requester_email": "Dana@Example.org",
    "requester_name": "Dana",
    "priority": "high",
    "category": "support",
    "tags": ["VPN", "network"],
}


def open_ticket(world: ApiWorld, desk: Desk | None = None, **overrides: Any) -> int:
    with world.sessions() as session:
        tenant = session.get_one(Tenant, (desk or world.own).tenant_id)
        return make_ticket(session, tenant, **overrides).number


def read(world: ApiWorld, number: int, role: str = "agent") -> dict[str, Any]:
    response = world.call(role, "GET", f"/api/v1/tickets/{number}")
    assert response.status_code == 200
    body: dict[str, Any] = response.get_json()
    return body


def events(world: ApiWorld, number: int) -> list[str]:
    page = world.call("agent", "GET", f"/api/v1/tickets/{number}/events").get_json()
    return [event["kind"] for event in page["items"]]


def test_an_agent_opens_a_ticket_for_a_requester(world: ApiWorld) -> None:
    response = world.call("agent", "POST", "/api/v1/tickets", json=NEW_TICKET)
    assert response.status_code == 201
    body = response.get_json()
    assert body["subject"] == "VPN drops every hour"
    assert body["requester"] == {"email": "dana@example.org", "name": "Dana"}
    assert (body["priority"], body["category"], body["source"]) == ("high", "support", "api")
    assert body["tags"] == ["network", "vpn"]
    assert response.headers["Location"] == f"/api/v1/tickets/{body['number']}"
    assert response.headers["ETag"] == f'"{body["version"]}"'
    first = world.call("agent", "GET", f"/api/v1/tickets/{body['number']}/messages").get_json()
    assert first["items"][0]["author"]["type"] == "agent"
    assert first["items"][0]["visibility"] == "public"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"requester_email": "not-an-address"}, "requester_email"),
        ({"category": "no-such-category"}, "category"),
        ({"priority": "whenever"}, "priority"),
        ({"body": ""}, "body"),
        ({"colour": "red"}, "colour"),
        ({"tags": ["no spaces?!"]}, "tags"),
    ],
)
def test_a_bad_new_ticket_is_422_naming_the_field(
    world: ApiWorld, change: dict[str, Any], field: str
) -> None:
    response = world.call("agent", "POST", "/api/v1/tickets", json=NEW_TICKET | change)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


@pytest.mark.parametrize(("role", "status"), [("light_agent", 403), ("client", 403), (None, 401)])
def test_only_agents_open_tickets_through_the_agent_api(
    world: ApiWorld, role: str | None, status: int
) -> None:
    response = world.call(role or "nobody", "POST", "/api/v1/tickets", json=NEW_TICKET)
    assert response.status_code == status


def test_patch_changes_several_fields_at_once_and_records_each(world: ApiWorld) -> None:
    number = open_ticket(world)
    before = read(world, number)
    change = {
        "status": "in_progress",
        "priority": "urgent",
        "assignee_id": world.own.ids["agent"],
        "subject": "Printer really on fire",
        "tags": ["hardware"],
    }
    response = world.call("agent", "PATCH", f"/api/v1/tickets/{number}", json=change)
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "in_progress"
    assert body["priority"] == "urgent"
    assert body["assignee"]["id"] == world.own.ids["agent"]
    assert body["tags"] == ["hardware"]
    assert body["version"] > before["version"]
    assert response.headers["ETag"] == f'"{body["version"]}"'
    recorded = events(world, number)
    for kind in ("status_changed", "priority_changed", "assigned", "subject_changed"):
        assert kind in recorded


def test_patch_with_a_stale_if_match_changes_nothing(world: ApiWorld) -> None:
    number = open_ticket(world)
    etag = world.call("agent", "GET", f"/api/v1/tickets/{number}").headers["ETag"]
    first = world.call(
        "admin",
        "PATCH",
        f"/api/v1/tickets/{number}",
        json={"priority": "low"},
        headers={"If-Match": etag},
    )
    assert first.status_code == 200
    second = world.call(
        "agent",
        "PATCH",
        f"/api/v1/tickets/{number}",
        json={"priority": "urgent"},
        headers={"If-Match": etag},
    )
    assert second.status_code == 409
    assert second.get_json()["error"]["code"] == "conflict"
    assert read(world, number)["priority"] == "low"
    fresh = world.call(
        "agent",
        "PATCH",
        f"/api/v1/tickets/{number}",
        json={"priority": "urgent"},
        headers={"If-Match": first.headers["ETag"]},
    )
    assert fresh.status_code == 200


def test_a_malformed_if_match_is_400(world: ApiWorld) -> None:
    number = open_ticket(world)
    response = world.call(
        "agent",
        "PATCH",
        f"/api/v1/tickets/{number}",
        json={"priority": "low"},
        headers={"If-Match": "yesterday"},
    )
    assert response.status_code == 400


def test_a_write_that_lost_a_race_is_a_conflict(world: ApiWorld) -> None:
    # Given a ticket loaded in one transaction, and changed by the API meanwhile,
    number = open_ticket(world)
    with world.sessions() as session:
        stale = session.scalars(
            select(Ticket).where(Ticket.tenant_id == world.own.tenant_id, Ticket.number == number)
        ).one()
    assert (
        world.call(
            "admin", "PATCH", f"/api/v1/tickets/{number}", json={"priority": "low"}
        ).status_code
        == 200
    )
    # when the first transaction writes its older copy, it fails instead of overwriting.
    with pytest.raises(Conflict):
        write_priority(world, stale, Priority.URGENT)
    assert read(world, number)["priority"] == "low"


def write_priority(world: ApiWorld, ticket: Ticket, priority: Priority) -> None:
    agent = Staff(world.own.ids["agent"], world.own.tenant_id, Role.AGENT)
    with world.sessions() as session:
        session.add(ticket)
        update_ticket(session, agent, ticket.id, TicketPatch(priority=priority), now=NOW)


def test_patch_is_all_or_nothing(world: ApiWorld) -> None:
    number = open_ticket(world)
    change = {"priority": "urgent", "assignee_id": world.own.ids["light_agent"]}
    response = world.call("agent", "PATCH", f"/api/v1/tickets/{number}", json=change)
    assert response.status_code == 422
    assert "assignee_id" in response.get_json()["error"]["fields"]
    assert read(world, number)["priority"] == "normal"
    assert "priority_changed" not in events(world, number)


@pytest.mark.parametrize(
    "change",
    [{}, {"status": None}, {"priority": None}, {"subject": ""}, {"owner": 1}, {"tags": "a,b"}],
)
def test_a_bad_patch_is_422(world: ApiWorld, change: dict[str, Any]) -> None:
    number = open_ticket(world)
    response = world.call("agent", "PATCH", f"/api/v1/tickets/{number}", json=change)
    assert response.status_code == 422


def test_null_unassigns_and_clears_the_team(world: ApiWorld) -> None:
    number = open_ticket(world)
    with world.sessions() as session:
        admin = Staff(world.own.ids["admin"], world.own.tenant_id, Role.ADMIN)
        team_id = teams.create_team(session, admin, world.own.tenant_id, "Level 2", now=NOW).id
    assigned = {"assignee_id": world.own.ids["admin"], "team_id": team_id}
    body = world.call("agent", "PATCH", f"/api/v1/tickets/{number}", json=assigned).get_json()
    assert body["team"]["name"] == "Level 2"
    cleared = {"assignee_id": None, "team_id": None}
    body = world.call("agent", "PATCH", f"/api/v1/tickets/{number}", json=cleared).get_json()
    assert (body["assignee"], body["team"]) == (None, None)
    assert "unassigned" in events(world, number)


def test_a_team_of_another_tenant_is_refused(world: ApiWorld) -> None:
    number = open_ticket(world)
    with world.sessions() as session:
        admin = Staff(world.other.ids["admin"], world.other.tenant_id, Role.ADMIN)
        team_id = teams.create_team(session, admin, world.other.tenant_id, "Theirs", now=NOW).id
    response = world.call("agent", "PATCH", f"/api/v1/tickets/{number}", json={"team_id": team_id})
    assert response.status_code == 422


def test_a_closed_ticket_cannot_be_reopened(world: ApiWorld) -> None:
    number = open_ticket(world)
    url = f"/api/v1/tickets/{number}"
    assert world.call("agent", "PATCH", url, json={"status": "closed"}).status_code == 200
    response = world.call("agent", "PATCH", url, json={"status": "open"})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "invalid_transition"


@pytest.mark.parametrize(
    ("role", "desk", "status"),
    [("light_agent", "own", 403), ("client", "own", 403), ("admin", "other", 404)],
)
def test_who_may_not_patch_a_ticket(world: ApiWorld, role: str, desk: str, status: int) -> None:
    number = open_ticket(world)
    caller = world.own if desk == "own" else world.other
    response = world.call(
        role, "PATCH", f"/api/v1/tickets/{number}", desk=caller, json={"priority": "low"}
    )
    assert response.status_code == status
    assert read(world, number)["priority"] == "normal"


def test_the_history_pages_through_by_id(world: ApiWorld) -> None:
    number = open_ticket(world)
    for priority in ("low", "high", "urgent"):
        world.call("agent", "PATCH", f"/api/v1/tickets/{number}", json={"priority": priority})
    kinds, cursor = [], None
    while True:
        query = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = world.call(
            "light_agent", "GET", f"/api/v1/tickets/{number}/events", query_string=query
        ).get_json()
        kinds += [(e["kind"], e["payload"].get("to")) for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert kinds == [
        ("created", None),
        ("priority_changed", "low"),
        ("priority_changed", "high"),
        ("priority_changed", "urgent"),
    ]
    other = world.call("admin", "GET", f"/api/v1/tickets/{number}/events", desk=world.other)
    assert other.status_code == 404


def test_watchers_are_added_listed_and_removed(world: ApiWorld) -> None:
    number = open_ticket(world)
    url = f"/api/v1/tickets/{number}/watchers"
    light = world.own.ids["light_agent"]
    assert world.call("agent", "PUT", f"{url}/{light}").status_code == 204
    assert world.call("agent", "PUT", f"{url}/{light}").status_code == 204
    watchers = world.call("light_agent", "GET", url).get_json()
    assert [w["id"] for w in watchers["items"]] == [light]
    assert world.call("agent", "DELETE", f"{url}/{light}").status_code == 204
    assert world.call("agent", "GET", url).get_json()["items"] == []


def test_watchers_must_be_staff_of_the_tenant_and_added_by_agents(world: ApiWorld) -> None:
    number = open_ticket(world)
    url = f"/api/v1/tickets/{number}/watchers"
    assert world.call("agent", "PUT", f"{url}/{world.other.ids['agent']}").status_code == 404
    assert world.call("light_agent", "PUT", f"{url}/{world.own.ids['agent']}").status_code == 403
    response = world.call("admin", "PUT", f"{url}/{world.other.ids['admin']}", desk=world.other)
    assert response.status_code == 404


def test_merging_answers_with_the_surviving_ticket(world: ApiWorld) -> None:
    duplicate, original = open_ticket(world), open_ticket(world)
    response = world.call(
        "agent", "POST", f"/api/v1/tickets/{duplicate}/merge", json={"into": original}
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["number"] == original
    assert body["message_count"] == 2
    merged = read(world, duplicate)
    assert (merged["status"], merged["merged_into"]) == ("closed", original)


def test_merging_into_itself_an_unknown_or_a_foreign_ticket_fails(world: ApiWorld) -> None:
    number, other = open_ticket(world), open_ticket(world)
    foreign = open_ticket(world, world.other, subject="Theirs")
    url = f"/api/v1/tickets/{number}/merge"
    assert world.call("agent", "POST", url, json={"into": number}).status_code == 422
    assert world.call("agent", "POST", url, json={"into": 99_999}).status_code == 404
    assert world.call("light_agent", "POST", url, json={"into": other}).status_code == 403
    # The other tenant's ticket numbered like ours is theirs: for us it does not exist.
    response = world.call(
        "admin", "POST", f"/api/v1/tickets/{foreign}/merge", desk=world.other, json={"into": other}
    )
    assert response.status_code == 404
    assert read(world, number)["status"] == "open"


def test_a_ticket_is_linked_to_an_incident_and_unlinked(world: ApiWorld) -> None:
    incident, symptom = open_ticket(world), open_ticket(world)
    url = f"/api/v1/tickets/{symptom}/parent"
    linked = world.call("agent", "PUT", url, json={"parent": incident})
    assert linked.status_code == 200
    assert linked.get_json()["parent"] == incident
    cycle = world.call(
        "agent", "PUT", f"/api/v1/tickets/{incident}/parent", json={"parent": symptom}
    )
    assert cycle.status_code == 422
    unlinked = world.call("agent", "PUT", url, json={"parent": None})
    assert unlinked.get_json()["parent"] is None
    assert world.call("agent", "PUT", url, json={}).status_code == 422
