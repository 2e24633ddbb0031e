"""The three ticket lists of the API: agents', a client's in the portal, the platform's."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from helpdesk.enums import Priority, Role, Status
from helpdesk.models import Tenant, Ticket, User
from helpdesk.principal import Staff
from helpdesk.services import messages
from helpdesk.services import tickets as svc
from tests.api.conftest import ApiWorld, Desk
from tests.factories import NOW, make_ticket

# The ticket of CONTRACT §6; the API may add fields, never drop one.
CONTRACT_KEYS = {
    "id", "number", "subject", "status", "priority", "category", "source", "requester",
    "assignee", "team", "organization", "tags", "custom_fields", "created_at", "updated_at",
    "last_activity_at", "first_response_at", "resolved_at", "closed_at", "sla",
    "message_count",
}  # fmt: skip


def seed(world: ApiWorld, desk: Desk, *subjects: str, **overrides: Any) -> list[int]:
    """Open tickets a minute apart (oldest first); return their numbers."""
    numbers = []
    with world.sessions() as session:
        tenant = session.get_one(Tenant, desk.tenant_id)
        for minute, subject in enumerate(subjects):
            now = NOW + timedelta(minutes=minute)
            ticket = make_ticket(session, tenant, subject=subject, now=now, **overrides)
            numbers.append(ticket.number)
    return numbers


def numbers(response: Any) -> list[int]:
    assert response.status_code == 200, response.get_json()
    return [item["number"] for item in response.get_json()["items"]]


def get(world: ApiWorld, role: str, path: str, **query: Any) -> Any:
    """Call GET as `role` of the own tenant with `query` as the query string."""
    return world.call(role, "GET", path, query_string=query)


def test_agents_list_their_tenants_tickets_most_recently_active_first(world: ApiWorld) -> None:
    mine = seed(world, world.own, "First", "Second", "Third")
    seed(world, world.other, "Elsewhere")
    response = get(world, "light_agent", "/api/v1/tickets")
    assert numbers(response) == mine[::-1]
    body = response.get_json()
    assert body["next_cursor"] is None
    assert set(body["items"][0]) >= CONTRACT_KEYS
    assert body["items"][0]["subject"] == "Third"


def listed(world: ApiWorld, **query: Any) -> list[int]:
    return numbers(get(world, "agent", "/api/v1/tickets", **query))


def test_filters_and_sorts_come_from_the_query_string(world: ApiWorld) -> None:
    first, second, third = seed(world, world.own, "Alpha", "Beta", "Gamma")
    with world.sessions() as session:
        agent = Staff(world.own.ids["agent"], world.own.tenant_id, Role.AGENT)
        rows = session.query(Ticket).filter(Ticket.tenant_id == world.own.tenant_id)
        ids = {ticket.number: ticket.id for ticket in rows}
        svc.change_status(session, agent, ids[second], Status.RESOLVED, now=NOW)
        svc.assign_ticket(session, agent, ids[third], agent.user_id, now=NOW)
        svc.change_priority(session, agent, ids[first], Priority.URGENT, now=NOW)
        svc.set_tags(session, agent, ids[first], ["vip"], now=NOW)
    assert listed(world, status="resolved") == [second]
    assert listed(world, status="open,resolved", sort="number") == [first, second, third]
    assert listed(world, assignee="me") == [third]
    assert listed(world, assignee="none", sort="-number") == [second, first]
    assert listed(world, priority="urgent,high") == [first]
    assert listed(world, tag="vip") == [first]
    assert listed(world, sort="-priority") == [first, third, second]
    after = (NOW + timedelta(minutes=1)).isoformat()
    assert listed(world, created_after=after, sort="created_at") == [second, third]
    assert listed(world, q="gam") == [third]


def test_pages_follow_a_cursor_that_only_its_own_filter_accepts(world: ApiWorld) -> None:
    seeded = seed(world, world.own, *(f"Ticket {i}" for i in range(5)))
    seen, cursor = [], None
    for _page in range(5):
        query = {"limit": 2, "status": "open"} | ({"cursor": cursor} if cursor else {})
        body = get(world, "agent", "/api/v1/tickets", **query).get_json()
        seen += [item["number"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == seeded[::-1]
    first = get(world, "agent", "/api/v1/tickets", limit=2, status="open").get_json()
    other_filter = get(world, "agent", "/api/v1/tickets", status="closed",
                       cursor=first["next_cursor"])  # fmt: skip
    assert other_filter.status_code == 400
    assert other_filter.get_json()["error"]["code"] == "bad_cursor"
    portal = get(world, "client", "/api/v1/portal/tickets", status="open",
                 cursor=first["next_cursor"])  # fmt: skip
    assert portal.status_code == 400


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("status", "bogus"),
        ("status", "open,"),
        ("priority", "meh"),
        ("sort", "-subject"),
        ("limit", "0"),
        ("limit", "500"),
        ("assignee", "someone"),
        ("team", "me"),
        ("organization", "0"),
        ("created_after", "yesterday"),
        ("created_before", "2026-03-01T00:00:00"),
        ("updated_after", "1700000000"),
        ("requester", "not an address"),
        ("tag", "two words"),
        ("category", "Billing!"),
        ("q", "x" * 501),
        ("colour", "blue"),
    ],
)
def test_bad_parameters_are_422_naming_the_field(world: ApiWorld, name: str, value: str) -> None:
    response = get(world, "agent", "/api/v1/tickets", **{name: value})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid"
    assert name in error["fields"]


def test_internal_notes_are_searchable_by_agents_but_not_in_the_portal(world: ApiWorld) -> None:
    with world.sessions() as session:
        tenant = session.get_one(Tenant, world.own.tenant_id)
        ticket = make_ticket(session, tenant, subject="Printer on fire",
                             requester_email="client@acme-client.example")  # fmt: skip
        agent = Staff(world.own.ids["agent"], tenant.id, Role.AGENT)
        messages.add_internal_note(session, agent, ticket.id, "Pangolin in the tray", now=NOW)
        number = ticket.number
    assert numbers(get(world, "agent", "/api/v1/tickets", q="pangolin")) == [number]
    assert numbers(get(world, "client", "/api/v1/portal/tickets", q="pangolin")) == []
    portal = get(world, "client", "/api/v1/portal/tickets", q="printer")
    assert numbers(portal) == [number]
    assert "Pangolin" not in portal.get_data(as_text=True)


def test_clients_list_their_own_tickets_in_the_portal_shape(world: ApiWorld) -> None:
    own = seed(world, world.own, "Mine", "Also mine", requester_email="client@acme-client.example",
               tags=["vip"])  # fmt: skip
    seed(world, world.own, "Someone else's")
    seed(world, world.other, "Another tenant's", requester_email="client@acme-client.example")
    response = get(world, "client", "/api/v1/portal/tickets")
    assert numbers(response) == own[::-1]
    assert all(item["tags"] == [] for item in response.get_json()["items"])
    assert numbers(get(world, "client", "/api/v1/portal/tickets", status="resolved")) == []
    assert get(world, "client", "/api/v1/portal/tickets", tag="vip").status_code == 422


@pytest.mark.parametrize(
    ("role", "path", "status"),
    [
        ("client", "/api/v1/tickets", 403),
        ("agent", "/api/v1/portal/tickets", 403),
        ("admin", "/api/v1/platform/tickets", 403),
        ("nobody", "/api/v1/tickets", 401),
        ("nobody", "/api/v1/portal/tickets", 401),
    ],
)
def test_each_list_is_for_its_own_audience(
    world: ApiWorld, role: str, path: str, status: int
) -> None:
    assert get(world, role, path).status_code == status


def test_platform_admins_list_every_tenant_or_one(world: ApiWorld) -> None:
    seed(world, world.own, "Acme's")
    seed(world, world.other, "Globex's")
    with world.sessions() as session:
        session.get_one(User, world.own.ids["admin"]).is_platform_admin = True
    everything = get(world, "admin", "/api/v1/platform/tickets").get_json()["items"]
    # Equally recent: the later ticket (the larger id) comes first.
    assert [item["subject"] for item in everything] == ["Globex's", "Acme's"]
    one = get(world, "admin", "/api/v1/platform/tickets", tenant="globex").get_json()["items"]
    assert [item["subject"] for item in one] == ["Globex's"]
    assert numbers(get(world, "admin", "/api/v1/platform/tickets", tenant="nope")) == []
