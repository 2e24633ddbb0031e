"""Pages of contacts and organizations for the agent's directory, filtered and in keyset order."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, exists, func, or_, select, tuple_
from sqlalchemy.orm import Session, selectinload

from helpdesk.addresses import normalize_email
from helpdesk.models import Contact, ContactEmail, Organization
from helpdesk.policy import Action, can, require
from helpdesk.principal import Principal


@dataclass(frozen=True)
class ContactFilter:
    """Which contacts to list: by exact address, organization, or text in name or address."""

    email: str | None = None
    organization_id: int | None = None
    q: str | None = None


def list_contacts(
    session: Session,
    actor: Principal,
    tenant_id: int,
    filters: ContactFilter,
    *,
    after_id: int | None,
    limit: int,
) -> list[Contact]:
    """Return up to `limit` of the tenant's contacts after `after_id`, oldest first.

    Raises:
        PermissionDenied: the actor may not see contacts.
        ValidationError: the e-mail filter is not an address.
    """
    require(can(actor, Action.VIEW_CONTACTS, tenant_id), "staff only")
    statement = select(Contact).where(Contact.tenant_id == tenant_id)
    for condition in _contact_conditions(filters):
        statement = statement.where(condition)
    if after_id is not None:
        statement = statement.where(Contact.id > after_id)
    statement = statement.options(selectinload(Contact.emails))
    return list(session.scalars(statement.order_by(Contact.id).limit(limit)))


def list_organization_page(
    session: Session,
    actor: Principal,
    tenant_id: int,
    *,
    q: str | None,
    after: tuple[str, int] | None,
    limit: int,
) -> list[Organization]:
    """Return up to `limit` of the tenant's organizations by name after (name, id) `after`.

    Raises:
        PermissionDenied: the actor may not see contacts.
    """
    require(can(actor, Action.VIEW_CONTACTS, tenant_id), "staff only")
    statement = select(Organization).where(Organization.tenant_id == tenant_id)
    if q:
        statement = statement.where(func.lower(Organization.name).like(_pattern(q), escape="\\"))
    if after is not None:
        statement = statement.where(tuple_(Organization.name, Organization.id) > after)
    statement = statement.options(selectinload(Organization.domains))
    return list(
        session.scalars(statement.order_by(Organization.name, Organization.id).limit(limit))
    )


def _contact_conditions(filters: ContactFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.email:
        address = normalize_email(filters.email, "email")
        conditions.append(_has_email(ContactEmail.email == address))
    if filters.organization_id is not None:
        conditions.append(Contact.organization_id == filters.organization_id)
    if filters.q:
        pattern = _pattern(filters.q)
        conditions.append(
            or_(
                func.lower(Contact.name).like(pattern, escape="\\"),
                _has_email(ContactEmail.email.like(pattern, escape="\\")),
            )
        )
    return conditions


def _has_email(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(ContactEmail.contact_id == Contact.id, condition)


def _pattern(text: str) -> str:
    escaped = text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
