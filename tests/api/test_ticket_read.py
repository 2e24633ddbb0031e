"""Reading one ticket and its messages through the agent API."""

from __future__ import annotations

from helpdesk.enums import Role
from helpdesk.models import Tenant
from helpdesk.principal import Staff
from helpdesk.services import messages
from tests.api.conftest import ApiWorld
from tests.factories import NOW, make_ticket


def _ticket_with_note(world: ApiWorld) -> int:
    with world.sessions() as session:
        tenant = session.get(Tenant, world.own.tenant_id)
        ticket = make_ticket(session, tenant, subject="Printer on fire")
        agent = Staff(world.own.ids["agent"], tenant.id, Role.AGENT)
        messages.add_public_reply(session, agent, ticket.id, "Have you tried water?", now=NOW)
        messages.add_internal_note(session, agent, ticket.id, "Secret: it is the fuser", now=NOW)
        return ticket.number


def test_agent_reads_a_ticket_in_the_contract_shape(world: ApiWorld) -> None:
    number = _ticket_with_note(world)
    response = world.call("agent", "GET", f"/api/v1/tickets/{number}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["number"] == number
    assert body["subject"] == "Printer on fire"
    assert body["status"] == "waiting_on_client"
    assert body["requester"]["email"].endswith("@client.example")
    assert body["message_count"] == 3
    assert set(body["sla"]) == {"first_response_due_at", "resolution_due_at", "state"}
    assert response.headers["ETag"] == f'"{body["version"]}"'


def test_another_tenants_ticket_is_not_found(world: ApiWorld) -> None:
    number = _ticket_with_note(world)
    response = world.call("admin", "GET", f"/api/v1/tickets/{number}", desk=world.other)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_messages_page_through_with_a_cursor(world: ApiWorld) -> None:
    number = _ticket_with_note(world)
    seen, cursor = [], None
    while True:
        query = {"limit": "1"} | ({"cursor": cursor} if cursor else {})
        page = world.call("light_agent", "GET", f"/api/v1/tickets/{number}/messages",
                          query_string=query).get_json()  # fmt: skip
        seen += [(m["visibility"], m["body_text"]) for m in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [text for _v, text in seen] == [
        "It is on fire.",
        "Have you tried water?",
        "Secret: it is the fuser",
    ]
    assert seen[2][0] == "internal"


def test_a_forged_cursor_is_400(world: ApiWorld) -> None:
    number = _ticket_with_note(world)
    response = world.call("agent", "GET", f"/api/v1/tickets/{number}/messages",
                          query_string={"cursor": "WyIyMDI2Il0.forged"})  # fmt: skip
    assert response.status_code == 400


def test_clients_use_the_portal_not_the_agent_api(world: ApiWorld) -> None:
    number = _ticket_with_note(world)
    assert world.call("client", "GET", f"/api/v1/tickets/{number}").status_code == 403
