"""Platform admin endpoints: the installation's tenants."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from helpdesk.models import Tenant
from helpdesk.services.platform import change_tenant, list_tenants
from helpdesk.services.tenants import create_tenant
from web.api.blueprint import api
from web.api.core import Audience, Context
from web.api.endpoints.admin_common import changes, optional, page_of
from web.api.schemas import Page, PageQuery, Strict

TAG = "platform"
SLUG = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"


class TenantOut(BaseModel):
    id: int
    slug: str
    name: str
    timezone: str
    active: bool = Field(description="false: suspended; nobody signs in, mail is refused")
    created_at: datetime


class TenantPage(Page[TenantOut]):
    pass


class TenantIn(Strict):
    slug: str = Field(pattern=SLUG, description="1-63 lower-case letters, digits, inner hyphens")
    name: str = Field(min_length=1, max_length=200)
    timezone: str = Field(default="UTC", max_length=64, description="IANA time zone name")


class TenantPatch(Strict):
    name: str = optional("The tenant's display name", min_length=1, max_length=200)
    active: bool = optional("false suspends the tenant, true resumes it")


@api.endpoint(
    "GET", "/platform/tenants", audience=Audience.PLATFORM, summary="List tenants", tag=TAG,
    query=PageQuery, response=TenantPage,
)  # fmt: skip
def list_platform_tenants(ctx: Context, query: PageQuery) -> TenantPage:
    """Every tenant of the installation, suspended ones too, by slug."""
    page, cursor = page_of(ctx, "tenants", list_tenants(ctx.session, ctx.actor), query)
    return TenantPage(items=[present_tenant(t) for t in page], next_cursor=cursor)


@api.endpoint(
    "POST", "/platform/tenants", audience=Audience.PLATFORM, summary="Create a tenant", tag=TAG,
    body=TenantIn, response=TenantOut, status=201,
)  # fmt: skip
def create_platform_tenant(ctx: Context, body: TenantIn) -> TenantOut:
    """A tenant with the default categories, business hours and SLA policies; 409 if the slug
    is taken."""
    tenant = create_tenant(
        ctx.session, ctx.actor, body.slug, body.name, timezone=body.timezone, now=ctx.now
    )
    return present_tenant(tenant)


@api.endpoint(
    "PATCH", "/platform/tenants/<slug>", audience=Audience.PLATFORM,
    summary="Rename, suspend or resume a tenant", tag=TAG, body=TenantPatch, response=TenantOut,
)  # fmt: skip
def update_platform_tenant(ctx: Context, slug: str, body: TenantPatch) -> TenantOut:
    """Change only what is sent. A suspended tenant keeps its data; its people cannot sign in
    and its mailboxes refuse mail until it is resumed."""
    tenant = change_tenant(ctx.session, ctx.actor, slug, **changes(body), now=ctx.now)
    return present_tenant(tenant)


def present_tenant(tenant: Tenant) -> TenantOut:
    return TenantOut(
        id=tenant.id, slug=tenant.slug, name=tenant.name, timezone=tenant.timezone,
        active=tenant.active, created_at=tenant.created_at,
    )  # fmt: skip
