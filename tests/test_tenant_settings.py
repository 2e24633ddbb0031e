"""A tenant's own settings: validated against the product's, changed by its admins."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.enums import Role
from helpdesk.errors import NotFound, PermissionDenied, ValidationError
from helpdesk.models import BusinessCalendar
from helpdesk.models.tenant import DEFAULT_TENANT_SETTINGS
from helpdesk.principal import Operator
from helpdesk.services.tenant_settings import update_tenant
from tests.factories import NOW, make_client, make_staff, make_tenant


def test_admin_renames_the_tenant_and_changes_a_setting(session: Session) -> None:
    tenant = make_tenant(session)
    admin = make_staff(session, tenant, Role.ADMIN)
    update_tenant(session, admin, tenant.id, name=" Acme Support ", now=NOW)
    update_tenant(session, admin, tenant.id, settings={"auto_close_days": 14}, now=NOW)
    update_tenant(session, admin, tenant.id, settings={"notify_watchers": False}, now=NOW)
    session.expire_all()
    assert tenant.name == "Acme Support"
    assert tenant.setting("auto_close_days") == 14
    assert tenant.setting("notify_watchers") is False
    assert tenant.setting("notify_assignee") is DEFAULT_TENANT_SETTINGS["notify_assignee"]


def test_unknown_setting_is_refused(session: Session) -> None:
    tenant = make_tenant(session)
    with pytest.raises(ValidationError) as caught:
        update_tenant(session, Operator(), tenant.id, settings={"auto_close": 3}, now=NOW)
    assert caught.value.field == "settings.auto_close"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("auto_close_days", -1),
        ("auto_close_days", 366),
        ("auto_close_days", "7"),
        ("auto_close_days", 7.5),
        ("auto_close_days", True),
        ("notify_watchers", 1),
        ("notify_watchers", "false"),
        ("notify_client_on_reply", None),
    ],
)
def test_setting_of_the_wrong_type_or_range_is_refused(
    session: Session, key: str, value: object
) -> None:
    tenant = make_tenant(session)
    with pytest.raises(ValidationError) as caught:
        update_tenant(session, Operator(), tenant.id, settings={key: value}, now=NOW)
    assert caught.value.field == f"settings.{key}"
    assert tenant.setting(key) == DEFAULT_TENANT_SETTINGS[key]


@pytest.mark.parametrize("days", [0, 365])
def test_auto_close_days_bounds_are_allowed(session: Session, days: int) -> None:
    tenant = make_tenant(session)
    update_tenant(session, Operator(), tenant.id, settings={"auto_close_days": days}, now=NOW)
    assert tenant.setting("auto_close_days") == days


def test_new_time_zone_moves_the_business_hours_that_followed_the_old_one(
    session: Session,
) -> None:
    tenant = make_tenant(session, timezone="Europe/Berlin")
    own = BusinessCalendar(tenant_id=tenant.id, name="Tokyo desk", timezone="Asia/Tokyo")
    session.add(own)
    session.flush()
    update_tenant(session, Operator(), tenant.id, timezone="America/New_York", now=NOW)
    query = select(BusinessCalendar.name, BusinessCalendar.timezone).where(
        BusinessCalendar.tenant_id == tenant.id
    )
    zones = {name: zone for name, zone in session.execute(query)}
    assert tenant.timezone == "America/New_York"
    assert zones == {"Business hours": "America/New_York", "Tokyo desk": "Asia/Tokyo"}


def test_unknown_time_zone_and_empty_name_are_refused(session: Session) -> None:
    tenant = make_tenant(session)
    with pytest.raises(ValidationError):
        update_tenant(session, Operator(), tenant.id, timezone="Mars/Olympus", now=NOW)
    with pytest.raises(ValidationError):
        update_tenant(session, Operator(), tenant.id, name="  ", now=NOW)
    assert tenant.timezone == "UTC"


@pytest.mark.parametrize("role", [Role.AGENT, Role.LIGHT_AGENT])
def test_staff_below_admin_cannot_change_the_tenant(session: Session, role: Role) -> None:
    tenant = make_tenant(session)
    with pytest.raises(PermissionDenied):
        update_tenant(session, make_staff(session, tenant, role), tenant.id, name="X", now=NOW)


def test_client_and_other_tenants_admin_cannot_change_the_tenant(session: Session) -> None:
    tenant, other = make_tenant(session), make_tenant(session)
    for actor in (make_client(session, tenant), make_staff(session, other, Role.ADMIN)):
        with pytest.raises(PermissionDenied):
            update_tenant(session, actor, tenant.id, settings={"notify_watchers": False}, now=NOW)


def test_missing_tenant_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound):
        update_tenant(session, Operator(), 999_999, name="Ghost", now=NOW)
