"""The platform admin's view of tenants: listing them, renaming, suspending and resuming."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.models import Tenant
from helpdesk.policy import Action, can, require
from helpdesk.principal import Principal
from helpdesk.services.tenant_settings import update_tenant
from helpdesk.services.tenants import get_tenant_by_slug
from helpdesk.unchanged import UNCHANGED, Unchanged

# Platform actions concern no tenant in particular; policy reads 0 as "none".
NO_TENANT = 0


def list_tenants(session: Session, actor: Principal) -> list[Tenant]:
    """Return every tenant, by slug.

    Raises:
        PermissionDenied: the actor is not a platform admin.
    """
    require(can(actor, Action.MANAGE_TENANTS, NO_TENANT), "only a platform admin lists tenants")
    return list(session.scalars(select(Tenant).order_by(Tenant.slug)))


def change_tenant(
    session: Session,
    actor: Principal,
    slug: str,
    *,
    name: str | Unchanged = UNCHANGED,
    active: bool | Unchanged = UNCHANGED,
    now: datetime,
) -> Tenant:
    """Rename a tenant, or suspend (`active=False`) or resume it; only what is passed changes.

    A suspended tenant keeps its data, but its staff and clients cannot sign
    in and its mailboxes refuse mail, until it is resumed.

    Raises:
        PermissionDenied: the actor is not a platform admin.
        NotFound: no tenant has this slug.
        ValidationError: an empty or overlong name.
    """
    require(can(actor, Action.MANAGE_TENANTS, NO_TENANT), "only a platform admin may")
    tenant = get_tenant_by_slug(session, slug)
    if name is not UNCHANGED:
        update_tenant(session, actor, tenant.id, name=name, now=now)
    if active is not UNCHANGED:
        tenant.active = active
    session.flush()
    return tenant
