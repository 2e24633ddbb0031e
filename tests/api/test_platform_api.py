"""The platform admin API: the installation's tenants, across the walls between them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from helpdesk.enums import Role
from helpdesk.models import Category, SlaPolicy, Tenant, User
from helpdesk.principal import Operator
from helpdesk.services import tokens, users
from tests.api.conftest import ApiWorld
from tests.factories import NOW


@pytest.fixture
def operator(world: ApiWorld) -> ApiWorld:
    """The world with acme's admin made a platform admin."""
    with world.sessions() as session:
        session.get_one(User, world.own.ids["admin"]).is_platform_admin = True
    return world


def test_platform_admin_lists_every_tenant(operator: ApiWorld) -> None:
    response = operator.call("admin", "GET", "/api/v1/platform/tenants")
    assert response.status_code == 200
    page = response.get_json()
    assert [t["slug"] for t in page["items"]] == ["acme", "globex"]
    assert page["items"][1]["active"] is True
    assert page["next_cursor"] is None


@pytest.mark.parametrize("role", ["admin", "agent", "light_agent", "client"])
def test_only_platform_admins_reach_the_platform(world: ApiWorld, role: str) -> None:
    response = world.call(role, "GET", "/api/v1/platform/tenants")
    assert response.status_code == 403
    new = {"slug": "initech", "name": "Initech"}
    assert world.call(role, "POST", "/api/v1/platform/tenants", json=new).status_code == 403
    patch = {"active": False}
    path = "/api/v1/platform/tenants/globex"
    assert world.call(role, "PATCH", path, json=patch).status_code == 403


def test_without_a_token_the_platform_is_401(world: ApiWorld) -> None:
    assert world.call("anonymous", "GET", "/api/v1/platform/tenants").status_code == 401


def test_platform_admin_creates_a_seeded_tenant(operator: ApiWorld) -> None:
    body = {"slug": "initech", "name": "Initech", "timezone": "America/Chicago"}
    response = operator.call("admin", "POST", "/api/v1/platform/tenants", json=body)
    assert response.status_code == 201
    tenant = response.get_json()
    assert (tenant["slug"], tenant["timezone"], tenant["active"]) == (
        "initech",
        "America/Chicago",
        True,
    )
    with operator.sessions() as session:
        categories = session.scalars(select(Category).where(Category.tenant_id == tenant["id"]))
        policies = session.scalars(select(SlaPolicy).where(SlaPolicy.tenant_id == tenant["id"]))
        assert len(list(categories)) == 5
        assert len(list(policies)) == 4
    again = operator.call("admin", "POST", "/api/v1/platform/tenants", json=body)
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"slug": "Not a slug!", "name": "X"}, "slug"),
        ({"slug": "ok", "name": "X", "timezone": "Mars/Olympus"}, "timezone"),
        ({"slug": "ok", "name": ""}, "name"),
    ],
)
def test_a_bad_tenant_names_the_field(operator: ApiWorld, body: dict[str, str], field: str) -> None:
    response = operator.call("admin", "POST", "/api/v1/platform/tenants", json=body)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


def test_a_suspended_tenant_is_locked_until_resumed(operator: ApiWorld) -> None:
    path = "/api/v1/platform/tenants/globex"
    suspended = operator.call("admin", "PATCH", path, json={"active": False})
    assert (suspended.status_code, suspended.get_json()["active"]) == (200, False)
    for role in ("admin", "client"):
        assert operator.call(role, "GET", "/api/v1/me", desk=operator.other).status_code == 401
    resumed = operator.call("admin", "PATCH", path, json={"active": True, "name": "Globex Corp"})
    assert resumed.get_json()["name"] == "Globex Corp"
    assert operator.call("admin", "GET", "/api/v1/me", desk=operator.other).status_code == 200
    with operator.sessions() as session:
        assert session.scalar(select(Tenant.name).where(Tenant.slug == "globex")) == "Globex Corp"


def test_an_unknown_tenant_is_404(operator: ApiWorld) -> None:
    response = operator.call("admin", "PATCH", "/api/v1/platform/tenants/nope", json={"name": "X"})
    assert response.status_code == 404


def test_a_platform_admin_works_from_any_of_their_tenants(operator: ApiWorld) -> None:
    # The platform admin joins globex too, and uses a token of that tenant.
    with operator.sessions() as session:
        user = session.get_one(User, operator.own.ids["admin"])
        users.create_user(
            session,
            Operator(),
            operator.other.tenant_id,
            email=user.email,
            name=user.name,
            role=Role.AGENT,
            now=NOW,
        )
        _, secret = tokens.create_api_token(
            session, Operator(), operator.other.tenant_id, user.id, now=NOW
        )
    bearer = {"Authorization": f"Bearer {secret}"}
    response = operator.client().get("/api/v1/platform/tenants", headers=bearer)
    assert response.status_code == 200
