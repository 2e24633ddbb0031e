"""Agents replying and writing notes through the API; light agents only note."""

from __future__ import annotations

from typing import Any

import pytest

from helpdesk.models import Tenant
from tests.api.conftest import ApiWorld
from tests.factories import make_ticket


def open_ticket(world: ApiWorld) -> int:
    with world.sessions() as session:
        return make_ticket(session, session.get_one(Tenant, world.own.tenant_id)).number


def post(world: ApiWorld, role: str, number: int, **body: Any) -> Any:
    return world.call(role, "POST", f"/api/v1/tickets/{number}/messages", json=body)


def test_a_public_reply_is_answered_in_the_message_shape(world: ApiWorld) -> None:
    number = open_ticket(world)
    response = post(world, "agent", number, body="We are on it.", visibility="public")
    assert response.status_code == 201
    message = response.get_json()
    assert message["body_text"] == "We are on it."
    assert message["visibility"] == "public"
    assert message["author"] == {"type": "agent", "email": "agent@acme.example", "name": "agent"}
    assert message["source"] == "api"
    assert message["attachments"] == []
    ticket = world.call("agent", "GET", f"/api/v1/tickets/{number}").get_json()
    assert ticket["status"] == "waiting_on_client"
    assert ticket["first_response_at"] is not None


def test_an_internal_note_leaves_the_status_and_the_client_alone(world: ApiWorld) -> None:
    number = open_ticket(world)
    response = post(
        world, "light_agent", number, body="Looks like the fuser.", visibility="internal"
    )
    assert response.status_code == 201
    assert response.get_json()["visibility"] == "internal"
    ticket = world.call("agent", "GET", f"/api/v1/tickets/{number}").get_json()
    assert ticket["status"] == "open"
    assert ticket["first_response_at"] is None
    kinds = [
        e["kind"]
        for e in world.call("agent", "GET", f"/api/v1/tickets/{number}/events").get_json()["items"]
    ]
    assert kinds[-1] == "note_added"


def test_a_light_agent_may_not_reply_publicly(world: ApiWorld) -> None:
    number = open_ticket(world)
    response = post(world, "light_agent", number, body="Hello!", visibility="public")
    assert response.status_code == 403
    messages = world.call("agent", "GET", f"/api/v1/tickets/{number}/messages").get_json()
    assert len(messages["items"]) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"body": "Hi"},
        {"body": "", "visibility": "public"},
        {"body": "   ", "visibility": "internal"},
        {"body": "Hi", "visibility": "secret"},
        {"body": "Hi", "visibility": "public", "cc": ["x@example.org"]},
    ],
)
def test_a_bad_message_is_422(world: ApiWorld, body: dict[str, Any]) -> None:
    number = open_ticket(world)
    response = world.call("agent", "POST", f"/api/v1/tickets/{number}/messages", json=body)
    assert response.status_code == 422


def test_a_body_that_is_not_json_is_400(world: ApiWorld) -> None:
    number = open_ticket(world)
    response = world.call(
        "agent",
        "POST",
        f"/api/v1/tickets/{number}/messages",
        data="body=Hi",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400


def test_another_tenants_ticket_and_the_portal_are_out_of_reach(world: ApiWorld) -> None:
    number = open_ticket(world)
    foreign = world.call(
        "admin",
        "POST",
        f"/api/v1/tickets/{number}/messages",
        desk=world.other,
        json={"body": "Hi", "visibility": "internal"},
    )
    assert foreign.status_code == 404
    client = post(world, "client", number, body="Hi", visibility="public")
    assert client.status_code == 403
