"""Tickets: numbering, opening, finding, and moving them through their statuses."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from helpdesk.enums import EventKind, Status
from helpdesk.errors import Conflict, ValidationError
from helpdesk.models import Ticket
from helpdesk.outbox import enqueue
from helpdesk.policy import Action, require
from helpdesk.principal import Client, Principal
from helpdesk.services.ticket_access import (
    get_ticket,
    get_ticket_by_id,
    record_change,
    shift_status,
    ticket_for,
)
from helpdesk.services.ticket_fields import (
    change_category,
    change_priority,
    change_subject,
    set_custom_fields,
    set_tags,
)
from helpdesk.services.ticket_opening import (
    OUTBOX_TICKET_CREATED,
    create_ticket,
    next_ticket_number,
)
from helpdesk.services.ticket_people import (
    OUTBOX_TICKET_ASSIGNED,
    add_watcher,
    assign_team,
    assign_ticket,
    remove_watcher,
)
from helpdesk.workflow import DONE_STATUSES, is_reopen

# The changes of fields and people live in ticket_fields and ticket_people; they
# are answered for here too, so that callers find every ticket service in one place.
__all__ = [
    "OUTBOX_STATUS_CHANGED",
    "OUTBOX_TICKET_ASSIGNED",
    "OUTBOX_TICKET_CREATED",
    "add_watcher",
    "assign_team",
    "assign_ticket",
    "change_category",
    "change_priority",
    "change_status",
    "change_subject",
    "create_ticket",
    "get_ticket",
    "get_ticket_by_id",
    "move_ticket",
    "next_ticket_number",
    "rate_ticket",
    "remove_watcher",
    "resolve_ticket_as_client",
    "set_custom_fields",
    "set_tags",
]

# Outbox kinds this module writes; the workers act on these names.
OUTBOX_STATUS_CHANGED = "ticket_status_changed"


def change_status(
    session: Session, actor: Principal, ticket_id: int, status: Status, *, now: datetime
) -> Ticket:
    """Move the ticket to `status` (see helpdesk.workflow); the same status is a no-op.

    Raises:
        NotFound, PermissionDenied: see `ticket_for`.
        ValidationError: not a status.
        InvalidTransition: the ticket is closed.
    """
    ticket = ticket_for(session, actor, ticket_id, Action.UPDATE_TICKET)
    move_ticket(session, actor, ticket, parse_status(status), now=now)
    return ticket


def parse_status(value: str) -> Status:
    """Raises:
    ValidationError: `value` names no status.
    """
    try:
        return Status(value)
    except ValueError:
        raise ValidationError("status", f"no status {value!r}") from None


def move_ticket(
    session: Session, actor: Principal, ticket: Ticket, target: Status, *, now: datetime
) -> bool:
    """Move the ticket, record STATUS_CHANGED (REOPENED out of resolved), tell the outbox.

    Callers check policy. Returns whether the status changed.

    Raises:
        InvalidTransition: helpdesk.workflow has no such move.
    """
    previous = ticket.status
    change = shift_status(ticket, target, now=now)
    if change is None:
        return False
    kind = EventKind.REOPENED if is_reopen(previous, target) else EventKind.STATUS_CHANGED
    record_change(session, actor, ticket, kind, now=now, **change)
    enqueue(
        session,
        OUTBOX_STATUS_CHANGED,
        tenant_id=ticket.tenant_id,
        now=now,
        ticket_id=ticket.id,
        from_status=change["from"],
        to_status=change["to"],
    )
    return True


def resolve_ticket_as_client(
    session: Session, actor: Principal, ticket_id: int, *, now: datetime
) -> Ticket:
    """Let a client mark their ticket resolved; resolving it again is a no-op.

    Raises:
        NotFound, PermissionDenied: see `ticket_for`.
        InvalidTransition: the ticket is closed.
    """
    ticket = ticket_for(session, actor, ticket_id, Action.RESOLVE_OWN_TICKET)
    move_ticket(session, actor, ticket, Status.RESOLVED, now=now)
    return ticket


def rate_ticket(
    session: Session,
    actor: Principal,
    ticket_id: int,
    rating: int,
    comment: str = "",
    *,
    now: datetime,
) -> Ticket:
    """Record the requester's satisfaction (1 to 5) with a resolved or closed ticket.

    Rating again replaces the earlier rating.

    Raises:
        NotFound, PermissionDenied: see `ticket_for`; PermissionDenied also
            for anyone but the requester.
        Conflict: the ticket is not resolved or closed.
        ValidationError: the rating is not a whole number from 1 to 5.
    """
    ticket = ticket_for(session, actor, ticket_id, Action.RATE_TICKET)
    is_requester = isinstance(actor, Client) and actor.contact_id == ticket.requester_id
    require(is_requester, "only the requester rates a ticket")
    if ticket.status not in DONE_STATUSES:
        raise Conflict("a ticket can be rated once it is resolved")
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ValidationError("rating", "must be a whole number from 1 to 5")
    ticket.satisfaction_rating = rating
    ticket.satisfaction_comment = comment.strip() or None
    rated = {"rating": rating, "comment": ticket.satisfaction_comment}
    record_change(session, actor, ticket, EventKind.SATISFACTION_RATED, now=now, **rated)
    return ticket
