"""What a ticket list is narrowed to: the filter and the SQL conditions it makes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, false, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from helpdesk.addresses import normalize_email
from helpdesk.clock import require_aware
from helpdesk.enums import Priority, Status
from helpdesk.errors import ValidationError
from helpdesk.models import Category, ContactEmail, Ticket, TicketTag
from helpdesk.principal import Client, PlatformAdmin, Principal, Staff

Me = Literal["me"]
Nobody = Literal["none"]


@dataclass(frozen=True)
class TicketFilter:
    """Which tickets a list shows; every field left at None (or empty) filters nothing.

    `assignee` is a user id, "me" (the acting agent) or "none" (unassigned);
    `team` a team id or "none". `*_after` bounds are inclusive, `*_before`
    exclusive. `q` is search text: it narrows the list to the tickets whose
    subject or messages contain every word (as a prefix).
    """

    status: tuple[Status, ...] = ()
    priority: tuple[Priority, ...] = ()
    category: str | None = None
    assignee: int | Me | Nobody | None = None
    team: int | Nobody | None = None
    requester: str | None = None
    organization: int | None = None
    tag: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    q: str | None = None


def filter_conditions(
    session: Session, actor: Principal, tenant_id: int | None, criteria: TicketFilter
) -> list[ColumnElement[bool]]:
    """Return the WHERE conditions of the filter, within one tenant (None: all tenants).

    An unknown category, requester or tag matches no ticket.

    Raises:
        ValidationError: "me" for an actor who is no agent, or a tag filter
            from a client (clients do not see tags).
    """
    conditions = [
        *_one_of(Ticket.status, criteria.status),
        *_one_of(Ticket.priority, criteria.priority),
        *_assignee(actor, criteria.assignee),
        *_team(criteria.team),
        *_ranges(criteria),
    ]
    if criteria.organization is not None:
        conditions.append(Ticket.organization_id == criteria.organization)
    if criteria.category is not None:
        conditions.append(_category(session, tenant_id, criteria.category))
    if criteria.requester is not None:
        conditions.append(_requester(session, tenant_id, criteria.requester))
    if criteria.tag is not None:
        if isinstance(actor, Client):
            raise ValidationError("tag", "tags are for staff")
        conditions.append(_tagged(tenant_id, criteria.tag))
    return conditions


def _one_of(column: InstrumentedAttribute[Any], values: Sequence[Any]) -> list[ColumnElement[bool]]:
    # A single value as equality, so that SQLite too walks an index in order.
    if not values:
        return []
    if len(values) == 1:
        return [column == values[0]]
    return [column.in_(sorted(set(values)))]


def _assignee(actor: Principal, assignee: int | str | None) -> list[ColumnElement[bool]]:
    if assignee is None:
        return []
    if assignee == "none":
        return [Ticket.assignee_id.is_(None)]
    if assignee == "me":
        if not isinstance(actor, Staff | PlatformAdmin):
            raise ValidationError("assignee", "only agents have tickets assigned to them")
        return [Ticket.assignee_id == actor.user_id]
    return [Ticket.assignee_id == int(assignee)]


def _team(team: int | str | None) -> list[ColumnElement[bool]]:
    if team is None:
        return []
    if team == "none":
        return [Ticket.team_id.is_(None)]
    return [Ticket.team_id == int(team)]


def _ranges(criteria: TicketFilter) -> list[ColumnElement[bool]]:
    bounds = [
        (Ticket.created_at, criteria.created_after, criteria.created_before),
        (Ticket.updated_at, criteria.updated_after, criteria.updated_before),
    ]
    conditions: list[ColumnElement[bool]] = []
    for column, after, before in bounds:
        if after is not None:
            conditions.append(column >= require_aware(after))
        if before is not None:
            conditions.append(column < require_aware(before))
    return conditions


def _category(session: Session, tenant_id: int | None, key: str) -> ColumnElement[bool]:
    # Inactive categories still name their old tickets; an unknown one names none.
    query = select(Category.id).where(Category.key == key)
    if tenant_id is not None:
        query = query.where(Category.tenant_id == tenant_id)
    return _any_of(Ticket.category_id, list(session.scalars(query)))


def _requester(session: Session, tenant_id: int | None, email: str) -> ColumnElement[bool]:
    # Nobody requested a ticket from an address that cannot be one.
    try:
        address = normalize_email(email, "requester")
    except ValidationError:
        return false()
    query = select(ContactEmail.contact_id).where(ContactEmail.email == address)
    if tenant_id is not None:
        query = query.where(ContactEmail.tenant_id == tenant_id)
    return _any_of(Ticket.requester_id, list(session.scalars(query)))


def _any_of(column: InstrumentedAttribute[Any], ids: list[int]) -> ColumnElement[bool]:
    return _one_of(column, ids)[0] if ids else false()


def _tagged(tenant_id: int | None, tag: str) -> ColumnElement[bool]:
    # Tags are stored as helpdesk.services.ticket_fields.normalize_tags writes them.
    wanted = "-".join(tag.lower().split())
    tagged = select(TicketTag.ticket_id).where(TicketTag.tag == wanted)
    if tenant_id is not None:
        tagged = tagged.where(TicketTag.tenant_id == tenant_id)
    return Ticket.id.in_(tagged)
