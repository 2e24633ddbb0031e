"""Ticket lists: filtered, sorted, searched and paged, showing only what the actor may see."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from helpdesk.models import Tenant, Ticket, TicketParticipant
from helpdesk.policy import Action, can, client_reach, is_staff, require, tenant_of
from helpdesk.principal import Client, Principal
from helpdesk.queries.ticket_filters import TicketFilter, filter_conditions
from helpdesk.queries.ticket_order import (
    DEFAULT_SORT,
    RELEVANCE,
    Key,
    Sort,
    SortField,
    fetch_page,
)
from helpdesk.search import search_hits, search_terms

__all__ = [
    "DEFAULT_SORT",
    "Key",
    "Sort",
    "SortField",
    "TicketFilter",
    "list_tickets",
    "list_tickets_across_tenants",
]

Page = tuple[list[Ticket], Key | None]


def list_tickets(
    session: Session,
    actor: Principal,
    tenant_id: int,
    criteria: TicketFilter,
    *,
    sort: Sort | None = None,
    after: Key | None = None,
    limit: int = 50,
) -> Page:
    """Return one page of the tenant's tickets the actor may see, and the next page's key.

    Staff see every ticket of the tenant; a client those of helpdesk.policy's
    ClientReach (see `_ways_to_see`). Without `sort`, search results come
    best match first and other lists most recently active first. Pass the
    returned key as `after` for the next page; None means this was the last.

    Raises:
        PermissionDenied: the actor may not see this tenant's tickets.
        ValidationError: see `filter_conditions` and `fetch_page`.
    """
    require(can(actor, Action.VIEW_TICKETS, tenant_id), "you may not see this tenant's tickets")
    scope = [Ticket.tenant_id == tenant_id]
    ways = _ways_to_see(actor)
    return _page(session, actor, scope, tenant_id, criteria, sort, after, limit, ways=ways)


def list_tickets_across_tenants(
    session: Session,
    actor: Principal,
    criteria: TicketFilter,
    *,
    tenant_slug: str | None = None,
    sort: Sort | None = None,
    after: Key | None = None,
    limit: int = 50,
) -> Page:
    """Return one page of every tenant's tickets (or the one tenant's) for a platform admin.

    An unknown `tenant_slug` has no tickets.

    Raises:
        PermissionDenied: the actor is no platform admin.
        ValidationError: see `filter_conditions` and `fetch_page`.
    """
    require(tenant_of(actor) is None, "only platform admins list tickets across tenants")
    if tenant_slug is None:
        return _page(session, actor, [], None, criteria, sort, after, limit)
    tenant_id = session.scalar(select(Tenant.id).where(Tenant.slug == tenant_slug))
    if tenant_id is None:
        return [], None
    scope = [Ticket.tenant_id == tenant_id]
    return _page(session, actor, scope, tenant_id, criteria, sort, after, limit)


def _page(
    session: Session,
    actor: Principal,
    scope: list[ColumnElement[bool]],
    tenant_id: int | None,
    criteria: TicketFilter,
    sort: Sort | None,
    after: Key | None,
    limit: int,
    *,
    ways: Sequence[ColumnElement[bool]] = (),
) -> Page:
    conditions = filter_conditions(session, actor, tenant_id, criteria)
    statement = select(Ticket).where(*scope, *conditions)
    terms = search_terms(criteria.q or "")
    score = None
    if terms:
        # Only staff search internal notes: a client's words never meet them.
        hits = search_hits(session, terms, everything=is_staff(actor))
        statement = statement.join(hits, hits.c.ticket_id == Ticket.id)
        score = hits.c.score
    statements = [statement.where(way) for way in ways] or [statement]
    order = sort or (RELEVANCE if terms else DEFAULT_SORT)
    return fetch_page(session, statements, order, after, limit, score=score)


def _ways_to_see(actor: Principal) -> list[ColumnElement[bool]]:
    """Return each way helpdesk.policy.ClientReach lets a client see a ticket; none for staff.

    The list query reads each way along its own index and merges the pages:
    a single OR would make the database test every ticket of the tenant.
    """
    if not isinstance(actor, Client):
        return []
    reach = client_reach(actor)
    taking_part = select(TicketParticipant.ticket_id).where(
        TicketParticipant.contact_id == reach.contact_id, TicketParticipant.pending.is_(False)
    )
    ways = [Ticket.requester_id == reach.contact_id, Ticket.id.in_(taking_part)]
    if reach.organization_id is not None:
        ways.append(Ticket.organization_id == reach.organization_id)
    return ways
