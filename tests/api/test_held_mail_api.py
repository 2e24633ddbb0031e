"""Held mail through the API: a client never reads a stranger's mail held on their ticket."""

from __future__ import annotations

from datetime import timedelta

from helpdesk.models import Tenant, Ticket
from helpdesk.storage.local import LocalBlobStore
from tests.api.conftest import ApiWorld
from tests.factories import NOW, receive

LATER = NOW + timedelta(hours=1)
PORTAL_CLIENT = "client@acme-client.example"


def test_portal_shows_clients_no_held_mail_of_their_ticket(
    world: ApiWorld, store: LocalBlobStore
) -> None:
    # Given the client's ticket, and a stranger's mail held on it
    with world.sessions() as session:
        tenant = session.get_one(Tenant, world.own.tenant_id)
        opened = receive(session, tenant, store, sender_email=PORTAL_CLIENT, body_text="Help")
        ticket = session.get_one(Ticket, opened.ticket_id)
        receive(
            session, tenant, store, rule="token", ticket_id=ticket.id, standing="pending",
            sender_email="eve@evil.example", body_text="Secret plans", now=LATER,
        )  # fmt: skip
        number = ticket.number
    # When the client reads the ticket in the portal
    path = f"/api/v1/portal/tickets/{number}/messages"
    listed = world.call("client", "GET", path).get_json()
    # Then only their own message is there; agents see both
    assert [item["body_text"] for item in listed["items"]] == ["Help"]
    staff = world.call("agent", "GET", f"/api/v1/tickets/{number}/messages").get_json()
    assert [item["visibility"] for item in staff["items"]] == ["public", "internal"]
