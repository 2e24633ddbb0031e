"""Read marks: each agent's own unread state of a ticket, shown on the ticket."""

from __future__ import annotations

from helpdesk.models import Tenant
from tests.api.conftest import ApiWorld
from tests.factories import make_ticket


def open_ticket(world: ApiWorld) -> int:
    with world.sessions() as session:
        return make_ticket(session, session.get_one(Tenant, world.own.tenant_id)).number


def unread(world: ApiWorld, number: int, role: str = "agent") -> bool:
    value: bool = world.call(role, "GET", f"/api/v1/tickets/{number}").get_json()["unread"]
    return value


def test_a_ticket_is_unread_until_read_and_again_after_new_activity(world: ApiWorld) -> None:
    number = open_ticket(world)
    assert unread(world, number)
    assert world.call("agent", "PUT", f"/api/v1/tickets/{number}/read").status_code == 204
    assert not unread(world, number)
    world.call(
        "light_agent",
        "POST",
        f"/api/v1/tickets/{number}/messages",
        json={"body": "Have a look", "visibility": "internal"},
    )
    assert unread(world, number)


def test_marks_are_each_agents_own_and_can_be_undone(world: ApiWorld) -> None:
    number = open_ticket(world)
    world.call("agent", "PUT", f"/api/v1/tickets/{number}/read")
    assert unread(world, number, role="admin")
    assert world.call("agent", "DELETE", f"/api/v1/tickets/{number}/read").status_code == 204
    assert unread(world, number)
    assert world.call("agent", "DELETE", f"/api/v1/tickets/{number}/read").status_code == 204


def test_reading_writes_no_history_and_keeps_the_version(world: ApiWorld) -> None:
    number = open_ticket(world)
    before = world.call("agent", "GET", f"/api/v1/tickets/{number}").get_json()
    world.call("agent", "PUT", f"/api/v1/tickets/{number}/read")
    after = world.call("agent", "GET", f"/api/v1/tickets/{number}").get_json()
    assert after["version"] == before["version"]
    events = world.call("agent", "GET", f"/api/v1/tickets/{number}/events").get_json()
    assert [e["kind"] for e in events["items"]] == ["created"]


def test_another_tenants_ticket_and_clients_are_refused(world: ApiWorld) -> None:
    number = open_ticket(world)
    url = f"/api/v1/tickets/{number}/read"
    assert world.call("admin", "PUT", url, desk=world.other).status_code == 404
    assert world.call("client", "PUT", url).status_code == 403
    assert unread(world, number)


def test_the_ticket_list_shows_each_agents_unread_marks(world: ApiWorld) -> None:
    number = open_ticket(world)

    def listed(role: str) -> bool:
        items = world.call(role, "GET", "/api/v1/tickets").get_json()["items"]
        return bool(next(item["unread"] for item in items if item["number"] == number))

    assert listed("agent") is True
    assert world.call("agent", "PUT", f"/api/v1/tickets/{number}/read").status_code == 204
    assert listed("agent") is False
    assert listed("admin") is True
