"""The tenant admin API: mailboxes, staff, teams, catalog, settings and tokens."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from helpdesk.crypto import SecretBox
from helpdesk.enums import CustomFieldType, Role
from helpdesk.models import ApiToken, Mailbox
from helpdesk.principal import Operator, Staff
from helpdesk.services import canned_responses, catalog, mailboxes, teams
from helpdesk.services.mailboxes import MAILBOX_CREDENTIALS
from tests.api.conftest import ApiWorld
from tests.factories import NOW
from web.api import endpoints
from web.api.blueprint import api
from web.api.core import Operation

Ids = dict[str, int]

# A valid body for each admin endpoint that takes one: an agent must meet a
# 403, not a 422, and an admin a success.
SAMPLE_BODIES: dict[tuple[str, str], Callable[[Ids], dict[str, Any]]] = {
    ("POST", "/admin/mailboxes"): lambda ids: {"address": "sales@acme.example"},
    ("PATCH", "/admin/mailboxes/<int:mailbox_id>"): lambda ids: {"name": "Support"},
    ("POST", "/admin/staff"): lambda ids: {
        "email": "new@staff.example",
        "name": "New",
        "role": "agent",
    },
    ("PATCH", "/admin/staff/<int:user_id>"): lambda ids: {"role": "light_agent"},
    ("POST", "/admin/teams"): lambda ids: {"name": "Tier 2"},
    ("PATCH", "/admin/teams/<int:team_id>"): lambda ids: {"name": "Tier 3"},
    ("POST", "/admin/categories"): lambda ids: {"key": "returns", "name": "Returns"},
    ("PATCH", "/admin/categories/<int:category_id>"): lambda ids: {"name": "Help"},
    ("PUT", "/admin/categories/order"): lambda ids: {"keys": ["bug"]},
    ("POST", "/admin/custom-fields"): lambda ids: {"key": "sku", "label": "SKU", "type": "text"},
    ("PATCH", "/admin/custom-fields/<int:field_id>"): lambda ids: {"label": "Order number"},
    ("POST", "/admin/canned-responses"): lambda ids: {"title": "Hi", "body": "Hello"},
    ("PATCH", "/admin/canned-responses/<int:response_id>"): lambda ids: {"title": "Hey"},
    ("PATCH", "/admin/settings"): lambda ids: {"name": "Acme Inc"},
    ("POST", "/admin/tokens"): lambda ids: {"user_id": ids["user_id"], "name": "CI"},
}


def declared_operations(prefix: str) -> list[Operation]:
    """Return the API's endpoints under `prefix`, every endpoint module loaded."""
    for module in pkgutil.iter_modules(endpoints.__path__, endpoints.__name__ + "."):
        importlib.import_module(module.name)
    return [op for op in api.operations if op.rule.startswith(prefix)]


ADMIN_OPERATIONS = declared_operations("/admin/")


def _objects(world: ApiWorld) -> Ids:
    """One of each thing the admin endpoints address, in the own tenant."""
    tenant_id = world.own.tenant_id
    actor = Operator()
    with world.sessions() as session:
        mailbox = mailboxes.create_mailbox(
            session,
            actor,
            tenant_id,
            address="help@acme.example",
            box=SecretBox("test-secret-key", MAILBOX_CREDENTIALS),
            now=NOW,
        )
        team = teams.create_team(session, actor, tenant_id, "Tier 1", now=NOW)
        field = catalog.create_custom_field(
            session,
            actor,
            tenant_id,
            key="order_no",
            label="Order",
            type=CustomFieldType.TEXT,
            now=NOW,
        )
        admin = Staff(world.own.ids["admin"], tenant_id, Role.ADMIN)
        response = canned_responses.create_canned_response(
            session, admin, tenant_id, title="Thanks", body="Thank you!", shared=True, now=NOW
        )
        token_id = session.scalars(
            select(ApiToken.id).where(ApiToken.user_id == world.own.ids["light_agent"])
        ).one()
        return {
            "mailbox_id": mailbox.id,
            "team_id": team.id,
            "field_id": field.id,
            "response_id": response.id,
            "category_id": catalog.list_categories(session, actor, tenant_id)[0].id,
            "user_id": world.own.ids["agent"],
            "token_id": token_id,
        }


def _call(world: ApiWorld, role: str, op: Operation, ids: Ids, **kw: Any) -> Any:
    path = "/api/v1" + op.rule
    for name, _converter in op.path_params:
        path = path.replace(f"<int:{name}>", str(ids[name]))
    sample = SAMPLE_BODIES.get((op.method, op.rule))
    if op.body is not None and sample is not None:
        kw["json"] = sample(ids)
    return world.call(role, op.method, path, **kw)


def test_every_admin_endpoint_with_a_body_has_a_sample() -> None:
    missing = [
        (op.method, op.rule)
        for op in ADMIN_OPERATIONS
        if op.body is not None and (op.method, op.rule) not in SAMPLE_BODIES
    ]
    assert missing == []


@pytest.mark.parametrize("op", ADMIN_OPERATIONS, ids=lambda op: f"{op.method} {op.rule}")
def test_admin_endpoints_serve_admins_only(world: ApiWorld, op: Operation) -> None:
    ids = _objects(world)
    for role in ("agent", "light_agent", "client"):
        response = _call(world, role, op, ids)
        assert response.status_code == 403, (role, response.get_json())
    response = _call(world, "admin", op, ids)
    assert response.status_code == op.status, response.get_json()


@pytest.mark.parametrize(
    "op", [op for op in ADMIN_OPERATIONS if op.path_params], ids=lambda op: f"{op.method} {op.rule}"
)
def test_another_tenants_objects_are_not_found(world: ApiWorld, op: Operation) -> None:
    ids = _objects(world)
    response = _call(world, "admin", op, ids, desk=world.other)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


# Mailboxes


def test_admin_adds_a_mailbox_and_its_password_stays_secret(world: ApiWorld) -> None:
    body = {
        "address": "Help@Acme.example",
        "name": "Acme help",
        "imap_url": "imaps://help@imap.acme.example/INBOX",
        "imap_password": "hunter2",
    }
    response = world.call("admin", "POST", "/api/v1/admin/mailboxes", json=body)
    assert response.status_code == 201
    mailbox = response.get_json()
    assert mailbox["address"] == "help@acme.example"
    assert mailbox["imap_password_set"] is True
    assert "hunter2" not in response.get_data(as_text=True)
    # The IMAP poller reads the password with the key `helpdesk mailbox create` uses.
    with world.sessions() as session:
        row = session.get_one(Mailbox, mailbox["id"])
        box = SecretBox("test-secret-key", MAILBOX_CREDENTIALS)
        assert mailboxes.imap_password(row, box) == "hunter2"
    again = world.call("admin", "POST", "/api/v1/admin/mailboxes", json=body)
    assert again.status_code == 409


def test_admin_changes_only_what_the_patch_names(world: ApiWorld) -> None:
    ids = _objects(world)
    path = f"/api/v1/admin/mailboxes/{ids['mailbox_id']}"
    patch = {
        "default_category": "billing",
        "default_priority": "high",
        "default_team_id": ids["team_id"],
        "signature": "-- Acme",
    }
    response = world.call("admin", "PATCH", path, json=patch)
    assert response.status_code == 200
    mailbox = response.get_json()
    assert {k: mailbox[k] for k in patch} == patch
    assert mailbox["address"] == "help@acme.example"
    cleared = world.call("admin", "PATCH", path, json={"default_category": None}).get_json()
    assert (cleared["default_category"], cleared["default_priority"]) == (None, "high")
    assert world.call("admin", "PATCH", path, json={"name": None}).status_code == 422
    bad_url = world.call("admin", "PATCH", path, json={"imap_url": "ftp://x"})
    assert "imap_url" in bad_url.get_json()["error"]["fields"]


# Staff and teams


def test_inviting_someone_new_returns_a_one_time_password(world: ApiWorld) -> None:
    body = {"email": "Dora@staff.example", "name": "Dora", "role": "agent"}
    response = world.call("admin", "POST", "/api/v1/admin/staff", json=body)
    assert response.status_code == 201
    member = response.get_json()
    assert (member["email"], member["role"], member["active"]) == (
        "dora@staff.example",
        "agent",
        True,
    )
    assert len(member["one_time_password"]) > 10
    twice = world.call("admin", "POST", "/api/v1/admin/staff", json=body)
    assert twice.status_code == 409


def test_someone_from_another_tenant_keeps_their_password(world: ApiWorld) -> None:
    body = {"email": "agent@globex.example", "name": "Gus", "role": "light_agent"}
    response = world.call("admin", "POST", "/api/v1/admin/staff", json=body)
    assert response.status_code == 201
    assert response.get_json()["one_time_password"] is None


def test_the_last_admin_may_not_step_down(world: ApiWorld) -> None:
    path = f"/api/v1/admin/staff/{world.own.ids['admin']}"
    for patch in ({"role": "agent"}, {"active": False}):
        response = world.call("admin", "PATCH", path, json=patch)
        assert response.status_code == 409
        assert response.get_json()["error"]["code"] == "conflict"


def test_admin_deactivates_and_brings_back_an_agent(world: ApiWorld) -> None:
    path = f"/api/v1/admin/staff/{world.own.ids['agent']}"
    gone = world.call("admin", "PATCH", path, json={"active": False}).get_json()
    assert gone["active"] is False
    assert world.call("agent", "GET", "/api/v1/me").status_code == 401
    back = world.call("admin", "PATCH", path, json={"active": True, "role": "admin"}).get_json()
    assert (back["active"], back["role"]) == (True, "admin")
    listed = world.call("admin", "GET", "/api/v1/admin/staff").get_json()["items"]
    assert {m["email"] for m in listed} == {
        "admin@acme.example",
        "agent@acme.example",
        "light_agent@acme.example",
    }


def test_admin_builds_a_team(world: ApiWorld) -> None:
    team = world.call("admin", "POST", "/api/v1/admin/teams", json={"name": "Billing"}).get_json()
    members = f"/api/v1/admin/teams/{team['id']}/members"
    agent, outsider = world.own.ids["agent"], world.other.ids["agent"]
    added = world.call("admin", "PUT", f"{members}/{agent}")
    assert added.status_code == 200
    assert [m["email"] for m in added.get_json()["members"]] == ["agent@acme.example"]
    assert world.call("admin", "PUT", f"{members}/{outsider}").status_code == 404
    assert world.call("admin", "DELETE", f"{members}/{agent}").status_code == 204
    listed = world.call("admin", "GET", "/api/v1/admin/teams").get_json()
    assert listed["items"] == [{"id": team["id"], "name": "Billing", "members": []}]
    same_name = world.call("admin", "POST", "/api/v1/admin/teams", json={"name": "Billing"})
    assert same_name.status_code == 409


# Catalog


def test_admin_retires_and_restores_a_category(world: ApiWorld) -> None:
    created = world.call(
        "admin", "POST", "/api/v1/admin/categories", json={"key": "returns", "name": "Returns"}
    ).get_json()
    path = f"/api/v1/admin/categories/{created['id']}"
    assert world.call("admin", "PATCH", path, json={"active": False}).get_json()["active"] is False
    portal = world.call("client", "GET", "/api/v1/portal/categories").get_json()["items"]
    assert "returns" not in [c["key"] for c in portal]
    restored = world.call("admin", "PATCH", path, json={"active": True, "name": "Refunds"})
    assert restored.get_json() | {"id": 0} == {
        "id": 0,
        "key": "returns",
        "name": "Refunds",
        "position": 5,
        "active": True,
    }


def test_categories_keep_their_keys_unique_and_well_formed(world: ApiWorld) -> None:
    path = "/api/v1/admin/categories"
    assert world.call("admin", "POST", path, json={"key": "bug", "name": "B"}).status_code == 409
    bad = world.call("admin", "POST", path, json={"key": "Not A Key", "name": "B"})
    assert bad.status_code == 422
    assert "key" in bad.get_json()["error"]["fields"]


def test_admin_reorders_categories(world: ApiWorld) -> None:
    response = world.call(
        "admin", "PUT", "/api/v1/admin/categories/order", json={"keys": ["bug", "billing"]}
    )
    keys = [c["key"] for c in response.get_json()["items"]]
    assert keys == ["bug", "billing", "support", "work_order", "feature_request"]
    unknown = world.call("admin", "PUT", "/api/v1/admin/categories/order", json={"keys": ["x"]})
    assert unknown.status_code == 422


def test_admin_defines_a_select_field_for_clients(world: ApiWorld) -> None:
    body = {
        "key": "product",
        "label": "Product",
        "type": "select",
        "options": {"choices": ["Printer", "Scanner"]},
        "visible_to_clients": True,
    }
    created = world.call("admin", "POST", "/api/v1/admin/custom-fields", json=body)
    assert created.status_code == 201
    field = created.get_json()
    assert field["options"] == {"choices": ["Printer", "Scanner"]}
    no_choices = body | {"key": "model", "options": None}
    assert (
        world.call("admin", "POST", "/api/v1/admin/custom-fields", json=no_choices).status_code
        == 422
    )
    path = f"/api/v1/admin/custom-fields/{field['id']}"
    hidden = world.call("admin", "PATCH", path, json={"visible_to_clients": False}).get_json()
    assert (hidden["visible_to_clients"], hidden["label"]) == (False, "Product")
    assert world.call("client", "GET", "/api/v1/portal/custom-fields").get_json()["items"] == []


def test_shared_canned_responses_are_apart_from_agents_own(world: ApiWorld) -> None:
    with world.sessions() as session:
        agent = Staff(world.own.ids["agent"], world.own.tenant_id, Role.AGENT)
        own = canned_responses.create_canned_response(
            session, agent, world.own.tenant_id, title="Mine", body="My words", now=NOW
        )
        own_id = own.id
    path = "/api/v1/admin/canned-responses"
    created = world.call("admin", "POST", path, json={"title": "Hi", "body": "Hi {{agent_name}}"})
    assert created.status_code == 201
    shared = created.get_json()
    assert [r["title"] for r in world.call("admin", "GET", path).get_json()["items"]] == ["Hi"]
    assert world.call("admin", "PATCH", f"{path}/{own_id}", json={"title": "X"}).status_code == 404
    changed = world.call("admin", "PATCH", f"{path}/{shared['id']}", json={"body": "Hello"})
    assert (changed.get_json()["title"], changed.get_json()["body"]) == ("Hi", "Hello")
    assert world.call("admin", "DELETE", f"{path}/{shared['id']}").status_code == 204
    assert world.call("admin", "GET", path).get_json()["items"] == []


# Settings


def test_admin_reads_and_changes_the_tenants_settings(world: ApiWorld) -> None:
    current = world.call("admin", "GET", "/api/v1/admin/settings").get_json()
    assert (current["slug"], current["timezone"]) == ("acme", "UTC")
    assert current["settings"]["auto_close_days"] == 7
    patch = {"timezone": "Europe/Berlin", "settings": {"auto_close_days": 3}}
    changed = world.call("admin", "PATCH", "/api/v1/admin/settings", json=patch).get_json()
    assert (changed["timezone"], changed["name"]) == ("Europe/Berlin", "Acme")
    assert changed["settings"]["auto_close_days"] == 3
    assert changed["settings"]["notify_watchers"] is True


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"settings": {"auto_close_days": 1000}}, "settings.auto_close_days"),
        ({"settings": {"colour": "red"}}, "settings.colour"),
    ],
)
def test_bad_settings_name_the_field(world: ApiWorld, patch: dict[str, Any], field: str) -> None:
    response = world.call("admin", "PATCH", "/api/v1/admin/settings", json=patch)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


# Tokens


def test_admin_issues_and_revokes_a_token_for_an_agent(world: ApiWorld) -> None:
    body = {"user_id": world.own.ids["agent"], "name": "CI"}
    created = world.call("admin", "POST", "/api/v1/admin/tokens", json=body).get_json()
    bearer = {"Authorization": f"Bearer {created['secret']}"}
    assert world.client().get("/api/v1/me", headers=bearer).get_json()["email"] == (
        "agent@acme.example"
    )
    listed = world.call("admin", "GET", "/api/v1/admin/tokens").get_json()["items"]
    assert created["id"] in [t["id"] for t in listed]
    assert all("secret" not in t for t in listed)
    revoked = world.call("admin", "DELETE", f"/api/v1/admin/tokens/{created['id']}")
    assert revoked.status_code == 204
    assert world.client().get("/api/v1/me", headers=bearer).status_code == 401
    outsider = {"user_id": world.other.ids["agent"]}
    assert world.call("admin", "POST", "/api/v1/admin/tokens", json=outsider).status_code == 404


@pytest.mark.parametrize("role", ["admin", "agent", "light_agent"])
def test_staff_keep_their_own_tokens(world: ApiWorld, role: str) -> None:
    created = world.call(role, "POST", "/api/v1/me/tokens", json={"name": "laptop"})
    assert created.status_code == 201
    mine = world.call(role, "GET", "/api/v1/me/tokens").get_json()["items"]
    assert [t["name"] for t in mine] == ["", "laptop"]
    assert {t["user_id"] for t in mine} == {world.own.ids[role]}
    path = f"/api/v1/me/tokens/{created.get_json()['id']}"
    assert world.call(role, "DELETE", path).status_code == 204


def test_my_tokens_are_mine_alone(world: ApiWorld) -> None:
    ids = _objects(world)
    path = f"/api/v1/me/tokens/{ids['token_id']}"
    assert world.call("admin", "DELETE", path).status_code == 404
    assert world.call("client", "GET", "/api/v1/me/tokens").status_code == 403
