"""Reaching rows inside the actor's tenant: anything beyond the wall does not exist."""

from __future__ import annotations

from typing import Protocol, TypeVar

from sqlalchemy.orm import Session

from helpdesk.errors import NotFound
from helpdesk.models import Tenant
from helpdesk.policy import tenant_of
from helpdesk.principal import Principal


class TenantScoped(Protocol):
    @property
    def tenant_id(self) -> int: ...


T = TypeVar("T", bound=TenantScoped)


def within_tenant(actor: Principal, tenant_id: int) -> bool:
    """Whether the row of `tenant_id` lies inside the actor's reach at all."""
    home = tenant_of(actor)
    return home is None or home == tenant_id


def get_scoped(session: Session, model: type[T], object_id: int, actor: Principal, noun: str) -> T:
    """Return the row if it exists in a tenant the actor reaches.

    Another tenant's row answers exactly like a missing one, so that ids
    cannot be probed across tenants.

    Raises:
        NotFound: no such row, or it belongs to another tenant.
    """
    row = session.get(model, object_id)
    if row is None or not within_tenant(actor, row.tenant_id):
        raise NotFound(f"no such {noun}")
    return row


def get_tenant(session: Session, tenant_id: int) -> Tenant:
    """Return the tenant; call after the policy admitted the actor to it.

    Raises:
        NotFound: there is no such tenant.
    """
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound("no such tenant")
    return tenant
