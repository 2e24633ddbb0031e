"""The client portal API: sign-in by mailed link, and the client's own tickets."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from helpdesk.clock import utcnow
from helpdesk.crypto import SecretBox
from helpdesk.enums import CustomFieldType, Role, Status
from helpdesk.models import Message, OutboxEvent, Tenant
from helpdesk.principal import Operator, Staff
from helpdesk.services import attachments, catalog, messages, organizations, sign_in, tickets
from helpdesk.services.portal_sign_in import (
    OUTBOX_SECRETS,
    OUTBOX_SIGN_IN_LINK,
    sign_in_url_from,
)
from tests.api.conftest import ApiWorld, Desk
from tests.factories import NOW, make_contact, make_ticket
from web.app import app_state

CLIENT_EMAIL = "client@acme-client.example"
SECRET_KEY = "test-secret-key"


def _ticket(world: ApiWorld, requester: str = CLIENT_EMAIL, desk: Desk | None = None) -> int:
    """A ticket by mail with an agent's public reply and an internal note."""
    desk = desk or world.own
    with world.sessions() as session:
        tenant = session.get_one(Tenant, desk.tenant_id)
        ticket = make_ticket(session, tenant, subject="Printer on fire", requester_email=requester)
        agent = Staff(desk.ids["agent"], tenant.id, Role.AGENT)
        messages.add_public_reply(session, agent, ticket.id, "Have you tried water?", now=NOW)
        messages.add_internal_note(session, agent, ticket.id, "Between us: it is", now=NOW)
        return ticket.number


def _sign_in_rows(world: ApiWorld) -> list[OutboxEvent]:
    with world.sessions() as session:
        query = select(OutboxEvent).where(OutboxEvent.kind == OUTBOX_SIGN_IN_LINK)
        return list(session.scalars(query))


def _ask(world: ApiWorld, email: str, tenant: str = "acme") -> tuple[int, str]:
    response = world.call(
        "anonymous", "POST", "/api/v1/portal/sign-in", json={"tenant": tenant, "email": email}
    )
    return response.status_code, response.get_data(as_text=True)


# Sign-in


def test_sign_in_answers_the_same_for_known_and_unknown_addresses(world: ApiWorld) -> None:
    answers = {
        _ask(world, CLIENT_EMAIL),
        _ask(world, "stranger@nowhere.example"),
        _ask(world, CLIENT_EMAIL, tenant="no-such-desk"),
    }
    assert len(answers) == 1
    status, body = answers.pop()
    assert status == 202
    assert json.loads(body) == {"status": "sent"}
    # Only the known address got a mail.
    assert [row.payload["email"] for row in _sign_in_rows(world)] == [CLIENT_EMAIL]


def test_the_mailed_link_is_kept_encrypted_and_signs_the_client_in(world: ApiWorld) -> None:
    _ask(world, CLIENT_EMAIL)
    (row,) = _sign_in_rows(world)
    url = sign_in_url_from(row.payload, SecretBox(SECRET_KEY, OUTBOX_SECRETS))
    secret = url.rsplit("/", 1)[1]
    assert url == f"http://127.0.0.1:5000/portal/sign-in/{secret}"
    assert secret not in str(row.payload)

    response = world.call("anonymous", "POST", "/api/v1/portal/sessions", json={"token": secret})
    assert response.status_code == 201
    body = response.get_json()
    assert body["token"].startswith("hdc_")
    assert body["client"]["email"] == CLIENT_EMAIL
    me = world.client().get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.get_json()["type"] == "client"


def test_a_link_signs_in_once_and_bad_links_read_alike(world: ApiWorld) -> None:
    _ask(world, CLIENT_EMAIL)
    (row,) = _sign_in_rows(world)
    secret = sign_in_url_from(row.payload, SecretBox(SECRET_KEY, OUTBOX_SECRETS)).rsplit("/")[-1]
    first = world.call("anonymous", "POST", "/api/v1/portal/sessions", json={"token": secret})
    assert first.status_code == 201
    answers = [
        world.call("anonymous", "POST", "/api/v1/portal/sessions", json={"token": token})
        for token in (secret, "made-up")
    ]
    assert {answer.status_code for answer in answers} == {401}
    assert len({answer.get_json()["error"]["message"] for answer in answers}) == 1


def test_a_malformed_address_is_422(world: ApiWorld) -> None:
    status, body = _ask(world, "not an address")
    assert status == 422
    assert "email" in json.loads(body)["error"]["fields"]


def test_asking_for_links_is_limited_per_client_address(world: ApiWorld) -> None:
    statuses = [_ask(world, f"someone{i}@client.example")[0] for i in range(6)]
    assert statuses == [202] * 5 + [429]


def test_signing_out_ends_the_session(world: ApiWorld) -> None:
    assert world.call("client", "DELETE", "/api/v1/portal/sessions/current").status_code == 204
    assert world.call("client", "GET", "/api/v1/portal/categories").status_code == 401


def test_staff_tokens_do_not_open_the_portal(world: ApiWorld) -> None:
    number = _ticket(world)
    assert world.call("admin", "GET", f"/api/v1/portal/tickets/{number}").status_code == 403


# Tickets


def test_client_opens_a_ticket_from_the_portal(world: ApiWorld) -> None:
    with world.sessions() as session:
        for key, shown in (("order_no", True), ("cost_centre", False)):
            catalog.create_custom_field(
                session,
                Operator(),
                world.own.tenant_id,
                key=key,
                label=key,
                type=CustomFieldType.TEXT,
                visible_to_clients=shown,
                now=NOW,
            )
    body = {
        "subject": "Invoice wrong",
        "body": "Twice the price.",
        "category": "billing",
        "custom_fields": {"order_no": "A-17"},
    }
    response = world.call("client", "POST", "/api/v1/portal/tickets", json=body)
    assert response.status_code == 201
    ticket = response.get_json()
    assert (ticket["source"], ticket["category"], ticket["status"]) == ("portal", "billing", "open")
    assert ticket["requester"]["email"] == CLIENT_EMAIL
    assert ticket["custom_fields"] == {"order_no": "A-17"}
    assert ticket["message_count"] == 1
    staff_only = body | {"custom_fields": {"cost_centre": "X"}}
    refused = world.call("client", "POST", "/api/v1/portal/tickets", json=staff_only)
    assert refused.status_code == 422
    assert "cost_centre" in refused.get_json()["error"]["fields"]


def test_client_reads_their_ticket_without_staff_details(world: ApiWorld) -> None:
    number = _ticket(world)
    response = world.call("client", "GET", f"/api/v1/portal/tickets/{number}")
    assert response.status_code == 200
    ticket = response.get_json()
    assert ticket["number"] == number
    assert ticket["tags"] == []
    # The opening mail and the agent's reply; the note does not count.
    assert ticket["message_count"] == 2


def test_another_clients_or_tenants_ticket_is_not_found(world: ApiWorld) -> None:
    someone_elses = _ticket(world, requester="else@elsewhere.example")
    other_tenants = _ticket(world, requester="client@globex-client.example", desk=world.other)
    for number in (someone_elses, other_tenants):
        response = world.call("client", "GET", f"/api/v1/portal/tickets/{number}")
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("shared", [True, False])
def test_colleagues_tickets_show_only_where_the_organization_shares(
    world: ApiWorld, shared: bool
) -> None:
    with world.sessions() as session:
        organizations.create_organization(
            session,
            Operator(),
            world.own.tenant_id,
            name="Acme Client Ltd",
            domains=["acme-client.example"],
            shared_tickets=shared,
            now=NOW,
        )
    number = _ticket(world, requester="colleague@acme-client.example")
    response = world.call("client", "GET", f"/api/v1/portal/tickets/{number}")
    assert response.status_code == (200 if shared else 404)


def test_messages_are_the_public_ones_only(world: ApiWorld) -> None:
    number = _ticket(world)
    response = world.call("client", "GET", f"/api/v1/portal/tickets/{number}/messages")
    assert response.status_code == 200
    page = response.get_json()
    assert [m["body_text"] for m in page["items"]] == ["It is on fire.", "Have you tried water?"]
    assert {m["visibility"] for m in page["items"]} == {"public"}
    assert page["next_cursor"] is None


def test_client_replies_and_the_ticket_comes_back_to_the_agents(world: ApiWorld) -> None:
    number = _ticket(world)
    path = f"/api/v1/portal/tickets/{number}/messages"
    response = world.call("client", "POST", path, json={"body": "Water made it worse."})
    assert response.status_code == 201
    message = response.get_json()
    assert (message["ticket_number"], message["author"]["type"]) == (number, "client")
    assert message["source"] == "portal"
    ticket = world.call("client", "GET", f"/api/v1/portal/tickets/{number}").get_json()
    assert ticket["status"] == "open"


def test_a_reply_to_a_closed_ticket_lands_on_a_follow_up(world: ApiWorld) -> None:
    number = _ticket(world)
    with world.sessions() as session:
        admin = Staff(world.own.ids["admin"], world.own.tenant_id, Role.ADMIN)
        ticket = tickets.get_ticket(session, admin, world.own.tenant_id, number)
        tickets.change_status(session, admin, ticket.id, Status.CLOSED, now=NOW)
    path = f"/api/v1/portal/tickets/{number}/messages"
    message = world.call("client", "POST", path, json={"body": "It is back."}).get_json()
    assert message["ticket_number"] != number
    follow_up = world.call("client", "GET", f"/api/v1/portal/tickets/{message['ticket_number']}")
    assert follow_up.get_json()["status"] == "open"


def test_client_resolves_then_rates_their_ticket(world: ApiWorld) -> None:
    number = _ticket(world)
    rate = f"/api/v1/portal/tickets/{number}/rating"
    early = world.call("client", "POST", rate, json={"rating": 5})
    assert early.status_code == 409
    resolved = world.call("client", "POST", f"/api/v1/portal/tickets/{number}/resolve")
    assert (resolved.status_code, resolved.get_json()["status"]) == (200, "resolved")
    rated = world.call("client", "POST", rate, json={"rating": 4, "comment": "Quick."})
    assert rated.status_code == 200
    assert rated.get_json()["satisfaction"] == {"rating": 4, "comment": "Quick."}
    assert world.call("client", "POST", rate, json={"rating": 6}).status_code == 422


def test_a_colleague_may_see_but_not_rate_a_shared_ticket(world: ApiWorld) -> None:
    with world.sessions() as session:
        organizations.create_organization(
            session,
            Operator(),
            world.own.tenant_id,
            name="Acme Client Ltd",
            domains=["acme-client.example"],
            shared_tickets=True,
            now=NOW,
        )
    number = _ticket(world, requester="colleague@acme-client.example")
    world.call("client", "POST", f"/api/v1/portal/tickets/{number}/resolve")
    rated = world.call(
        "client", "POST", f"/api/v1/portal/tickets/{number}/rating", json={"rating": 1}
    )
    assert rated.status_code == 403


# The new-ticket form


def test_the_form_offers_active_categories_and_client_fields(world: ApiWorld) -> None:
    with world.sessions() as session:
        admin = Operator()
        billing = next(
            c
            for c in catalog.list_categories(session, admin, world.own.tenant_id)
            if c.key == "billing"
        )
        catalog.deactivate_category(session, admin, billing.id, now=NOW)
        for key, shown in (("order_no", True), ("cost_centre", False)):
            catalog.create_custom_field(
                session,
                admin,
                world.own.tenant_id,
                key=key,
                label=key.title(),
                type=CustomFieldType.TEXT,
                visible_to_clients=shown,
                now=NOW,
            )
    categories = world.call("client", "GET", "/api/v1/portal/categories").get_json()
    keys = [c["key"] for c in categories["items"]]
    assert "billing" not in keys
    assert "support" in keys
    fields = world.call("client", "GET", "/api/v1/portal/custom-fields").get_json()
    assert [f["key"] for f in fields["items"]] == ["order_no"]


def test_short_lists_page_through_with_a_cursor(world: ApiWorld) -> None:
    seen, cursor = [], None
    while True:
        query = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = world.call(
            "client", "GET", "/api/v1/portal/categories", query_string=query
        ).get_json()
        seen += [c["key"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["support", "work_order", "billing", "bug", "feature_request"]


def test_an_expired_link_is_401(world: ApiWorld) -> None:
    with world.sessions() as session:
        tenant = session.get_one(Tenant, world.own.tenant_id)
        make_contact(session, tenant, "late@client.example")
        an_hour_ago = utcnow() - timedelta(hours=1)
        old = sign_in.create_sign_in_link(
            session, tenant.id, "late@client.example", now=an_hour_ago
        )
    response = world.call("anonymous", "POST", "/api/v1/portal/sessions", json={"token": old})
    assert response.status_code == 401


# Files


def _upload(world: ApiWorld, number: int, message_id: int, name: str, data: bytes) -> Any:
    path = f"/api/v1/portal/tickets/{number}/messages/{message_id}/attachments"
    return world.call("client", "POST", path, data={"file": (io.BytesIO(data), name)})


def _message_ids(world: ApiWorld, number: int) -> dict[str, int]:
    with world.sessions() as session:
        ticket = tickets.get_ticket(session, Operator(), world.own.tenant_id, number)
        rows = session.scalars(select(Message).where(Message.ticket_id == ticket.id))
        return {m.visibility.value + ":" + m.author_type.value: m.id for m in rows}


def test_client_attaches_a_file_to_their_message_and_downloads_it(world: ApiWorld) -> None:
    number = _ticket(world)
    mine = _message_ids(world, number)["public:client"]
    uploaded = _upload(world, number, mine, "notes.txt", b"the fuser smells\n")
    assert uploaded.status_code == 201
    attachment = uploaded.get_json()
    assert (attachment["filename"], attachment["size"]) == ("notes.txt", 17)
    listed = world.call("client", "GET", f"/api/v1/portal/tickets/{number}/messages").get_json()
    assert listed["items"][0]["attachments"] == [attachment]
    path = f"/api/v1/portal/tickets/{number}/attachments/{attachment['id']}"
    download = world.call("client", "GET", path)
    assert download.status_code == 200
    assert download.data == b"the fuser smells\n"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_client_attaches_only_to_their_own_public_messages(world: ApiWorld) -> None:
    number = _ticket(world)
    ids = _message_ids(world, number)
    assert _upload(world, number, ids["public:agent"], "a.txt", b"hi").status_code == 403
    assert _upload(world, number, ids["internal:agent"], "a.txt", b"hi").status_code == 404
    refused = _upload(world, number, ids["public:client"], "setup.exe", b"MZ\x90\x00" * 64)
    assert refused.status_code == 422
    assert "file" in refused.get_json()["error"]["fields"]


def test_files_on_staff_notes_do_not_exist_for_clients(world: ApiWorld) -> None:
    number = _ticket(world)
    note = _message_ids(world, number)["internal:agent"]
    with world.sessions() as session:
        agent = Staff(world.own.ids["agent"], world.own.tenant_id, Role.AGENT)
        hidden = attachments.add_attachment(
            session,
            agent,
            note,
            filename="plan.txt",
            data=b"secret plan",
            declared_type="text/plain",
            sniffed_type="text/plain",
            store=app_state(world.app).blob_store,
            now=NOW,
        )
        hidden_id = hidden.id
    path = f"/api/v1/portal/tickets/{number}/attachments/{hidden_id}"
    assert world.call("client", "GET", path).status_code == 404
    assert world.call("agent", "GET", f"/api/v1/tickets/{number}/attachments/{hidden_id}").data == (
        b"secret plan"
    )
