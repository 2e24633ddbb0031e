"""Admin endpoints for the tenant itself: its name, time zone and behaviour settings."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from helpdesk.models import Tenant
from helpdesk.models.tenant import DEFAULT_TENANT_SETTINGS
from helpdesk.services.scope import get_tenant
from helpdesk.services.tenant_settings import update_tenant
from web.api.blueprint import api
from web.api.core import Audience, Context
from web.api.endpoints.admin_common import changes, optional, require_admin
from web.api.schemas import Strict

TAG = "admin: settings"
SETTINGS_KEYS = ", ".join(sorted(DEFAULT_TENANT_SETTINGS))


class TenantSettingsOut(BaseModel):
    slug: str
    name: str
    timezone: str = Field(description="IANA time zone of business hours and reports")
    settings: dict[str, Any] = Field(description=f"Every setting with its value: {SETTINGS_KEYS}")


class TenantSettingsPatch(Strict):
    name: str = optional("The tenant's display name", min_length=1, max_length=200)
    timezone: str = optional("An IANA time zone name, e.g. Europe/Berlin", max_length=64)
    settings: dict[str, Any] = optional(
        f"Settings to change; the others stay. Keys: {SETTINGS_KEYS}"
    )


@api.endpoint(
    "GET", "/admin/settings", audience=Audience.STAFF, summary="The tenant's settings", tag=TAG,
    response=TenantSettingsOut,
)  # fmt: skip
def get_tenant_settings(ctx: Context) -> TenantSettingsOut:
    """Name, time zone and every setting, defaults filled in."""
    require_admin(ctx)
    return present_settings(get_tenant(ctx.session, ctx.tenant_id))


@api.endpoint(
    "PATCH", "/admin/settings", audience=Audience.STAFF, summary="Change the tenant's settings",
    tag=TAG, body=TenantSettingsPatch, response=TenantSettingsOut,
)  # fmt: skip
def update_tenant_settings(ctx: Context, body: TenantSettingsPatch) -> TenantSettingsOut:
    """Change only what is sent; business hours that followed the old time zone follow the new."""
    tenant = update_tenant(ctx.session, ctx.staff, ctx.tenant_id, **changes(body), now=ctx.now)
    return present_settings(tenant)


def present_settings(tenant: Tenant) -> TenantSettingsOut:
    return TenantSettingsOut(
        slug=tenant.slug,
        name=tenant.name,
        timezone=tenant.timezone,
        settings={key: tenant.setting(key) for key in DEFAULT_TENANT_SETTINGS},
    )
