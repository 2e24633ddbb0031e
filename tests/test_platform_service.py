"""The platform's tenants: listed, renamed, suspended and resumed by platform admins only."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from helpdesk.enums import Role
from helpdesk.errors import NotFound, PermissionDenied
from helpdesk.principal import PlatformAdmin
from helpdesk.services import platform, users
from tests.factories import NOW, make_staff, make_tenant, make_user


def test_platform_admin_lists_every_tenant(session: Session) -> None:
    make_tenant(session, "globex")
    make_tenant(session, "acme")
    operator = PlatformAdmin(make_user(session, make_tenant(session, "zeta")).id)
    slugs = [tenant.slug for tenant in platform.list_tenants(session, operator)]
    assert [slug for slug in slugs if slug in {"acme", "globex", "zeta"}] == [
        "acme",
        "globex",
        "zeta",
    ]


def test_a_tenant_admin_is_no_platform_admin(session: Session) -> None:
    tenant = make_tenant(session)
    admin = make_staff(session, tenant, Role.ADMIN)
    with pytest.raises(PermissionDenied):
        platform.list_tenants(session, admin)
    with pytest.raises(PermissionDenied):
        platform.change_tenant(session, admin, tenant.slug, active=False, now=NOW)


def test_a_suspended_tenant_lets_nobody_in_until_resumed(session: Session) -> None:
    tenant = make_tenant(session)
    agent = make_staff(session, tenant, Role.AGENT)
    operator = PlatformAdmin(agent.user_id)
    platform.change_tenant(session, operator, tenant.slug, active=False, now=NOW)
    with pytest.raises(PermissionDenied):
        users.staff_principal(session, agent.user_id, tenant.id)
    resumed = platform.change_tenant(
        session, operator, tenant.slug, active=True, name="New", now=NOW
    )
    assert (resumed.active, resumed.name) == (True, "New")
    assert users.staff_principal(session, agent.user_id, tenant.id) == agent


def test_an_unknown_slug_is_not_found(session: Session) -> None:
    operator = PlatformAdmin(make_user(session, make_tenant(session)).id)
    with pytest.raises(NotFound):
        platform.change_tenant(session, operator, "no-such-tenant", name="X", now=NOW)
