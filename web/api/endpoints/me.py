"""Who am I: the caller as the API sees them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from helpdesk.errors import NotFound
from helpdesk.models import Contact, User
from helpdesk.principal import Staff
from helpdesk.services.scope import get_tenant
from web.api.blueprint import api
from web.api.core import Audience, Context


class TenantRef(BaseModel):
    id: int
    slug: str
    name: str


class MeOut(BaseModel):
    type: Literal["agent", "client"]
    id: int
    email: str
    name: str
    role: Literal["admin", "agent", "light_agent", "client"]
    is_platform_admin: bool
    tenant: TenantRef


@api.endpoint(
    "GET", "/me", audience=Audience.ANYONE, summary="The caller", tag="me", response=MeOut
)
def get_me(ctx: Context) -> MeOut:
    """The signed-in agent or client, their role and tenant."""
    tenant = get_tenant(ctx.session, ctx.tenant_id)
    tenant_ref = TenantRef(id=tenant.id, slug=tenant.slug, name=tenant.name)
    if isinstance(ctx.principal, Staff):
        user = ctx.session.get(User, ctx.staff.user_id)
        if user is None:
            raise NotFound("no such user")
        role = ctx.staff.role.value
        return MeOut(
            type="agent", id=user.id, email=user.email, name=user.name, role=role,  # type: ignore[arg-type]
            is_platform_admin=user.is_platform_admin, tenant=tenant_ref,
        )  # fmt: skip
    contact = ctx.session.get(Contact, ctx.client.contact_id)
    if contact is None:
        raise NotFound("no such contact")
    return MeOut(
        type="client", id=contact.id, email=contact.primary_email, name=contact.name,
        role="client", is_platform_admin=False, tenant=tenant_ref,
    )  # fmt: skip
