"""Changing a category: renamed, retired and offered again, by admins only."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from helpdesk.enums import Role
from helpdesk.errors import NotFound, PermissionDenied, ValidationError
from helpdesk.services import catalog
from helpdesk.services.categories import update_category
from tests.factories import NOW, make_staff, make_tenant


def test_admin_retires_and_restores_a_category(session: Session) -> None:
    tenant = make_tenant(session)
    admin = make_staff(session, tenant, Role.ADMIN)
    billing = next(
        c for c in catalog.list_categories(session, admin, tenant.id) if c.key == "billing"
    )
    update_category(session, admin, billing.id, active=False, now=NOW)
    assert "billing" not in [c.key for c in catalog.list_categories(session, admin, tenant.id)]
    restored = update_category(session, admin, billing.id, active=True, name="Invoices", now=NOW)
    assert (restored.key, restored.name, restored.active) == ("billing", "Invoices", True)
    with pytest.raises(ValidationError):
        update_category(session, admin, billing.id, name=" ", now=NOW)


def test_only_the_tenants_admin_changes_a_category(session: Session) -> None:
    tenant = make_tenant(session)
    agent = make_staff(session, tenant, Role.AGENT)
    outsider = make_staff(session, make_tenant(session), Role.ADMIN)
    category = catalog.list_categories(session, agent, tenant.id)[0]
    with pytest.raises(PermissionDenied):
        update_category(session, agent, category.id, active=False, now=NOW)
    with pytest.raises(NotFound):
        update_category(session, outsider, category.id, active=False, now=NOW)
