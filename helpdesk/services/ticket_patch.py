"""Many changes to a ticket as one (the API's PATCH), and one change to many tickets (bulk)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from helpdesk.enums import Priority, Status
from helpdesk.errors import Conflict, HelpdeskError, ValidationError
from helpdesk.models import Ticket
from helpdesk.policy import Action, can, require
from helpdesk.principal import Principal
from helpdesk.services.ticket_access import get_ticket, ticket_for
from helpdesk.services.ticket_fields import (
    change_category,
    change_priority,
    change_subject,
    normalize_tags,
    set_custom_fields,
    set_tags,
)
from helpdesk.services.ticket_people import assign_team, assign_ticket
from helpdesk.services.tickets import change_status
from helpdesk.unchanged import UNCHANGED, Unchanged

MAX_BULK_TICKETS = 200
STALE = "the ticket was changed by someone else meanwhile; reload it and try again"


@dataclass(frozen=True)
class TicketPatch:
    """The changes to make; a field left UNCHANGED stays as it is.

    `tags` replaces the tags; `add_tags` and `remove_tags` then apply on top.
    """

    status: Status | Unchanged = UNCHANGED
    priority: Priority | Unchanged = UNCHANGED
    category: str | Unchanged | None = UNCHANGED
    assignee_id: int | Unchanged | None = UNCHANGED
    team_id: int | Unchanged | None = UNCHANGED
    subject: str | Unchanged = UNCHANGED
    tags: tuple[str, ...] | Unchanged = UNCHANGED
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()
    custom_fields: Mapping[str, Any] | Unchanged = UNCHANGED


@dataclass(frozen=True)
class BulkOutcome:
    """What became of one ticket of a bulk change: `error` is None when it changed."""

    number: int
    error: HelpdeskError | None = None


def update_ticket(
    session: Session,
    actor: Principal,
    ticket_id: int,
    patch: TicketPatch,
    *,
    expected_version: int | None = None,
    now: datetime,
) -> Ticket:
    """Make every change of the patch through the single-change services.

    Each change checks its own permission and records its own event. Fields
    change first, then assignee and team, the status last, so that a ticket
    being closed takes its final values with it. The caller's transaction
    makes it all or nothing: when anything raises, roll back.

    Raises:
        NotFound: the actor may not see the ticket.
        PermissionDenied: the actor may not make one of the changes.
        Conflict: the ticket is no longer at `expected_version`, or another
            transaction changed it while this one ran.
        ValidationError, InvalidTransition: a change is not possible.
    """
    ticket = ticket_for(session, actor, ticket_id, Action.VIEW_TICKETS)
    if expected_version is not None and ticket.version != expected_version:
        raise Conflict(f"the ticket is at version {ticket.version}, not {expected_version}")
    try:
        _apply(session, actor, ticket, patch, now=now)
        session.flush()
    except StaleDataError as exc:
        # The version column guards each UPDATE: another transaction got there first.
        raise Conflict(STALE) from exc
    return ticket


def bulk_update(
    session: Session,
    actor: Principal,
    tenant_id: int,
    numbers: Iterable[int],
    patch: TicketPatch,
    *,
    now: datetime,
) -> list[BulkOutcome]:
    """Make the same changes to each ticket on its own; return each ticket's outcome.

    Every ticket changes in a savepoint of its own: one that fails (not found,
    closed, a bad assignee) is left exactly as it was and the others still
    change, as agents expect when they select a page of tickets. A number
    given twice is done once.

    Raises:
        PermissionDenied: the actor may not change tickets at all.
        ValidationError: no tickets, or more than MAX_BULK_TICKETS.
    """
    require(can(actor, Action.UPDATE_TICKET, tenant_id), "you may not change tickets")
    wanted = list(dict.fromkeys(numbers))
    if not 1 <= len(wanted) <= MAX_BULK_TICKETS:
        raise ValidationError("numbers", f"name 1 to {MAX_BULK_TICKETS} tickets")
    return [_bulk_one(session, actor, tenant_id, number, patch, now=now) for number in wanted]


def _bulk_one(
    session: Session,
    actor: Principal,
    tenant_id: int,
    number: int,
    patch: TicketPatch,
    *,
    now: datetime,
) -> BulkOutcome:
    try:
        with session.begin_nested():
            ticket = get_ticket(session, actor, tenant_id, number)
            update_ticket(session, actor, ticket.id, patch, now=now)
    except HelpdeskError as exc:
        return BulkOutcome(number, exc)
    return BulkOutcome(number)


def _apply(
    session: Session, actor: Principal, ticket: Ticket, patch: TicketPatch, *, now: datetime
) -> None:
    if patch.subject is not UNCHANGED:
        change_subject(session, actor, ticket.id, patch.subject, now=now)
    if patch.priority is not UNCHANGED:
        change_priority(session, actor, ticket.id, patch.priority, now=now)
    if patch.category is not UNCHANGED:
        change_category(session, actor, ticket.id, patch.category, now=now)
    tags = _tags(ticket, patch)
    if tags is not None:
        set_tags(session, actor, ticket.id, tags, now=now)
    if patch.custom_fields is not UNCHANGED:
        set_custom_fields(session, actor, ticket.id, patch.custom_fields, now=now)
    if patch.team_id is not UNCHANGED:
        assign_team(session, actor, ticket.id, patch.team_id, now=now)
    if patch.assignee_id is not UNCHANGED:
        assign_ticket(session, actor, ticket.id, patch.assignee_id, now=now)
    if patch.status is not UNCHANGED:
        change_status(session, actor, ticket.id, patch.status, now=now)


def _tags(ticket: Ticket, patch: TicketPatch) -> list[str] | None:
    """Return the ticket's new tags, or None when the patch leaves them alone."""
    if patch.tags is UNCHANGED and not patch.add_tags and not patch.remove_tags:
        return None
    base = ticket.tag_names if patch.tags is UNCHANGED else normalize_tags(patch.tags)
    removed = set(normalize_tags(patch.remove_tags))
    return [tag for tag in {*base, *normalize_tags(patch.add_tags)} if tag not in removed]
