"""A tenant's own settings: its name, time zone and behaviour toggles."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from helpdesk.errors import ValidationError
from helpdesk.filetypes import normalize_entries
from helpdesk.models import BusinessCalendar, Tenant
from helpdesk.models.tenant import DEFAULT_TENANT_SETTINGS
from helpdesk.policy import Action, can, require
from helpdesk.principal import Principal
from helpdesk.services.scope import get_tenant
from helpdesk.services.tenants import validate_timezone
from helpdesk.unchanged import UNCHANGED, Unchanged

# Inclusive bounds of the whole-number settings; the others take their default's type.
INTEGER_RANGES: dict[str, tuple[int, int]] = {
    "auto_close_days": (0, 365),
    "max_attachment_bytes": (1024, 1024 * 1024 * 1024),
    "max_new_tickets_per_sender_per_hour": (1, 1_000_000),
    "max_new_tickets_per_hour": (1, 1_000_000),
}
# Settings holding lists of file type keys or extensions (see helpdesk.filetypes).
FILE_TYPE_LISTS = frozenset({"attachment_allowed", "attachment_blocked"})
MAX_LIST_ENTRIES = 100


def update_tenant(
    session: Session,
    actor: Principal,
    tenant_id: int,
    *,
    name: str | Unchanged = UNCHANGED,
    timezone: str | Unchanged = UNCHANGED,
    settings: Mapping[str, object] | None = None,
    now: datetime,
) -> Tenant:
    """Change the tenant's name, time zone or settings; only what is passed changes.

    `settings` merges into the current ones. Business calendars that kept the
    tenant's old time zone move to the new one with it.

    Raises:
        PermissionDenied: the actor may not manage this tenant.
        NotFound: no such tenant.
        ValidationError: empty name, unknown time zone, or an unknown setting
            or a value of the wrong type or range (`field` is "settings.KEY").
    """
    require(can(actor, Action.MANAGE_TENANT, tenant_id), "only an admin changes the tenant")
    tenant = get_tenant(session, tenant_id)
    if name is not UNCHANGED:
        tenant.name = _valid_name(name)
    if timezone is not UNCHANGED:
        _move_timezone(session, tenant, timezone)
    if settings:
        cleaned = validate_settings(settings)
        # A new dict, so that the JSON column is seen as changed.
        tenant.settings = {**tenant.settings, **cleaned}
    session.flush()
    return tenant


def validate_settings(settings: Mapping[str, object]) -> dict[str, Any]:
    """Return the settings checked against the product's defaults.

    Raises:
        ValidationError: an unknown key, or a value of the wrong type or range.
    """
    return {key: _valid_setting(key, value) for key, value in settings.items()}


def _valid_setting(key: str, value: object) -> object:
    field = f"settings.{key}"
    if key not in DEFAULT_TENANT_SETTINGS:
        raise ValidationError(field, "unknown setting")
    if key in INTEGER_RANGES:
        low, high = INTEGER_RANGES[key]
        # bool is an int to Python, but `true` is no number of days.
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValidationError(field, f"use a whole number from {low} to {high}")
        return value
    if key in FILE_TYPE_LISTS:
        return _valid_file_types(field, value)
    default = DEFAULT_TENANT_SETTINGS[key]
    if isinstance(default, bool) and not isinstance(value, bool):
        raise ValidationError(field, "use true or false")
    if type(value) is not type(default):
        raise ValidationError(field, f"use a value like {default!r}")
    return value


def _valid_file_types(field: str, value: object) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_LIST_ENTRIES:
        raise ValidationError(field, f"use a list of at most {MAX_LIST_ENTRIES} extensions")
    try:
        return sorted(set(normalize_entries(value)))
    except ValueError as exc:
        raise ValidationError(field, str(exc)) from None


def _move_timezone(session: Session, tenant: Tenant, timezone: str) -> None:
    validate_timezone(timezone)
    session.execute(
        update(BusinessCalendar)
        .where(
            BusinessCalendar.tenant_id == tenant.id,
            BusinessCalendar.timezone == tenant.timezone,
        )
        .values(timezone=timezone)
        .execution_options(synchronize_session="fetch")
    )
    tenant.timezone = timezone


def _valid_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise ValidationError("name", "use 1 to 200 characters")
    return name
