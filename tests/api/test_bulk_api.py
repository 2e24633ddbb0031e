"""Changing many tickets in one call: each ticket on its own, each with its own result."""

from __future__ import annotations

from typing import Any

import pytest

from helpdesk.models import Tenant
from tests.api.conftest import ApiWorld, Desk
from tests.factories import make_ticket


def open_tickets(world: ApiWorld, count: int, desk: Desk | None = None) -> list[int]:
    with world.sessions() as session:
        tenant = session.get_one(Tenant, (desk or world.own).tenant_id)
        return [make_ticket(session, tenant).number for _ in range(count)]


def bulk(world: ApiWorld, numbers: list[int], role: str = "agent", **changes: Any) -> Any:
    body = {"numbers": numbers, "changes": changes}
    return world.call(role, "POST", "/api/v1/tickets/bulk", json=body)


def ticket(world: ApiWorld, number: int) -> dict[str, Any]:
    body: dict[str, Any] = world.call("agent", "GET", f"/api/v1/tickets/{number}").get_json()
    return body


def test_every_ticket_changes_and_says_so(world: ApiWorld) -> None:
    numbers = open_tickets(world, 3)
    response = bulk(
        world,
        numbers,
        status="in_progress",
        priority="high",
        assignee_id=world.own.ids["agent"],
        add_tags=["Outage"],
    )
    assert response.status_code == 200
    assert response.get_json() == {
        "results": [{"number": n, "ok": True, "error": None} for n in numbers]
    }
    for number in numbers:
        body = ticket(world, number)
        assert (body["status"], body["priority"], body["tags"]) == (
            "in_progress",
            "high",
            ["outage"],
        )
        assert body["assignee"]["id"] == world.own.ids["agent"]


def test_a_ticket_that_fails_is_left_as_it_was_and_the_others_change(world: ApiWorld) -> None:
    # Given three tickets, the second closed (closed is final),
    first, closed, third = open_tickets(world, 3)
    bulk(world, [closed], status="closed")
    # when all three are put on hold and tagged,
    response = bulk(world, [first, closed, third], status="on_hold", add_tags=["batch"])
    # then the closed one reports why and keeps its tags; the others change.
    results = response.get_json()["results"]
    assert [r["ok"] for r in results] == [True, False, True]
    assert results[1]["error"]["code"] == "invalid_transition"
    assert ticket(world, closed)["tags"] == []
    assert ticket(world, closed)["status"] == "closed"
    assert ticket(world, first)["tags"] == ["batch"]
    assert ticket(world, third)["status"] == "on_hold"


def test_another_tenants_tickets_and_unknown_numbers_are_not_found(world: ApiWorld) -> None:
    (own,) = open_tickets(world, 1)
    theirs = open_tickets(world, 3, desk=world.other)[-1]
    response = bulk(world, [own, theirs, own], priority="low")
    assert response.get_json()["results"] == [
        {"number": own, "ok": True, "error": None},
        {
            "number": theirs,
            "ok": False,
            "error": {"code": "not_found", "message": "no such ticket"},
        },
    ]
    foreign = world.call("admin", "GET", f"/api/v1/tickets/{theirs}", desk=world.other)
    assert foreign.get_json()["priority"] == "normal"


def test_tags_are_added_and_removed_together(world: ApiWorld) -> None:
    (number,) = open_tickets(world, 1)
    bulk(world, [number], add_tags=["a", "b"])
    bulk(world, [number], add_tags=["c"], remove_tags=["a"])
    assert ticket(world, number)["tags"] == ["b", "c"]


def test_a_bad_assignee_fails_each_ticket_with_the_reason(world: ApiWorld) -> None:
    numbers = open_tickets(world, 2)
    response = bulk(world, numbers, priority="urgent", assignee_id=world.own.ids["light_agent"])
    results = response.get_json()["results"]
    assert {r["error"]["code"] for r in results} == {"invalid"}
    assert "assignee_id" in results[0]["error"]["message"]
    assert all(ticket(world, n)["priority"] == "normal" for n in numbers)


@pytest.mark.parametrize(("role", "status"), [("light_agent", 403), ("client", 403)])
def test_only_agents_change_tickets_in_bulk(world: ApiWorld, role: str, status: int) -> None:
    numbers = open_tickets(world, 1)
    assert bulk(world, numbers, role=role, priority="low").status_code == status
    assert ticket(world, numbers[0])["priority"] == "normal"


@pytest.mark.parametrize(
    "body",
    [
        {"numbers": [], "changes": {"priority": "low"}},
        {"numbers": list(range(1, 202)), "changes": {"priority": "low"}},
        {"numbers": [1], "changes": {}},
        {"numbers": [1], "changes": {"subject": "Renamed"}},
        {"numbers": [1], "changes": {"status": None}},
        {"numbers": [1]},
    ],
)
def test_a_bad_bulk_request_is_422(world: ApiWorld, body: dict[str, Any]) -> None:
    open_tickets(world, 1)
    response = world.call("agent", "POST", "/api/v1/tickets/bulk", json=body)
    assert response.status_code == 422
