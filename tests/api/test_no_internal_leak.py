"""No portal route ever hands a client what is for staff: notes, their files, tags, fields.

Every route under /portal is called, found in the API's own list of endpoints,
so a route added later is held to the same rule without anyone remembering to.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from helpdesk.enums import CustomFieldType, Role, Status
from helpdesk.models import Tenant
from helpdesk.principal import Operator, Staff
from helpdesk.services import attachments, catalog, messages, tickets
from tests.api.conftest import ApiWorld
from tests.api.test_admin_api import declared_operations
from tests.factories import NOW, make_ticket
from web.api.core import Operation
from web.app import app_state

# A string no public text contains; it is also a valid tag and file name.
MARKER = "zq-internal-7f3a9"
CLIENT_EMAIL = "client@acme-client.example"
PORTAL_OPERATIONS = declared_operations("/portal")


@dataclass(frozen=True)
class Seen:
    """What the client's routes may be asked about: their tickets, messages and files."""

    numbers: tuple[int, ...]
    message_ids: tuple[int, ...]
    attachment_ids: tuple[int, ...]


# A valid body for each portal route that takes one.
SAMPLE_BODIES: dict[tuple[str, str], Callable[[], dict[str, Any]]] = {
    ("POST", "/portal/sign-in"): lambda: {"tenant": "acme", "email": CLIENT_EMAIL},
    ("POST", "/portal/sessions"): lambda: {"token": "not-a-link"},
    ("POST", "/portal/tickets"): lambda: {"subject": "New one", "body": "Hello"},
    ("POST", "/portal/tickets/<int:number>/messages"): lambda: {"body": "Any news?"},
    ("POST", "/portal/tickets/<int:number>/rating"): lambda: {"rating": 3},
}
# Candidate values of each path parameter, by its name.
PARAMETERS: dict[str, Callable[[Seen], tuple[int, ...]]] = {
    "number": lambda seen: seen.numbers,
    "message_id": lambda seen: seen.message_ids,
    "attachment_id": lambda seen: seen.attachment_ids,
    "id": lambda seen: seen.message_ids + seen.attachment_ids,
}


def _staff_only_things(world: ApiWorld) -> Seen:
    """Two of the client's tickets, one open and one closed, each marked where staff see."""
    tenant_id = world.own.tenant_id
    agent = Staff(world.own.ids["agent"], tenant_id, Role.AGENT)
    store = app_state(world.app).blob_store
    numbers, message_ids, attachment_ids = [], [], []
    with world.sessions() as session:
        catalog.create_custom_field(
            session,
            Operator(),
            tenant_id,
            key="cost_centre",
            label="Cost centre",
            type=CustomFieldType.TEXT,
            now=NOW,
        )
        for status in (Status.OPEN, Status.CLOSED):
            tenant = session.get_one(Tenant, tenant_id)
            ticket = make_ticket(session, tenant, requester_email=CLIENT_EMAIL)
            public = messages.add_public_reply(session, agent, ticket.id, "Try this.", now=NOW)
            note = messages.add_internal_note(
                session,
                agent,
                ticket.id,
                f"Between us: {MARKER}",
                body_html=f"<p>Between us: {MARKER}</p>",
                now=NOW,
            )
            for message, name in ((public, "manual.txt"), (note, f"{MARKER}.txt")):
                attachment = attachments.add_attachment(
                    session,
                    agent,
                    message.id,
                    filename=name,
                    data=f"about {name}".encode(),
                    declared_type="text/plain",
                    sniffed_type="text/plain",
                    store=store,
                    now=NOW,
                )
                attachment_ids.append(attachment.id)
            tickets.set_tags(session, agent, ticket.id, [MARKER], now=NOW)
            tickets.set_custom_fields(session, agent, ticket.id, {"cost_centre": MARKER}, now=NOW)
            tickets.change_status(session, agent, ticket.id, status, now=NOW)
            numbers.append(ticket.number)
            message_ids += [public.id, note.id]
    return Seen(tuple(numbers), tuple(message_ids), tuple(attachment_ids))


def _paths(op: Operation, seen: Seen) -> Iterator[str]:
    names = [name for name, _converter in op.path_params]
    if any(name not in PARAMETERS for name in names):
        raise AssertionError(f"{op.rule}: add its path parameters to PARAMETERS")
    for values in itertools.product(*(PARAMETERS[name](seen) for name in names)):
        path = op.rule
        for name, value in zip(names, values, strict=True):
            path = path.replace(f"<int:{name}>", str(value)).replace(f"<{name}>", str(value))
        yield "/api/v1" + path


def _request(op: Operation) -> dict[str, Any]:
    if op.upload:
        return {"data": {"file": (io.BytesIO(b"hello"), "hello.txt")}}
    if op.body is None:
        return {}
    sample = SAMPLE_BODIES.get((op.method, op.rule))
    if sample is None:
        raise AssertionError(f"{op.method} {op.rule}: add a valid body to SAMPLE_BODIES")
    return {"json": sample()}


@pytest.mark.parametrize("op", PORTAL_OPERATIONS, ids=lambda op: f"{op.method} {op.rule}")
def test_no_portal_route_shows_a_client_anything_for_staff(world: ApiWorld, op: Operation) -> None:
    seen = _staff_only_things(world)
    queries: list[dict[str, str]] = [{}]
    if op.query is not None and "q" in op.query.model_fields:
        queries.append({"q": MARKER})
    for path, query in itertools.product(list(_paths(op, seen)), queries):
        response = world.call("client", op.method, path, query_string=query, **_request(op))
        assert response.status_code < 500, (path, response.status_code)
        assert MARKER not in response.get_data(as_text=True), (path, query)
        if query and response.status_code == 200:
            # A search for a note's words must not even find the ticket.
            assert response.get_json()["items"] == [], path


def test_the_portal_routes_were_found() -> None:
    rules = {(op.method, op.rule) for op in PORTAL_OPERATIONS}
    assert ("GET", "/portal/tickets/<int:number>/messages") in rules
    assert ("POST", "/portal/tickets/<int:number>/messages") in rules
