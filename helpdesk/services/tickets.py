"""Tickets: numbering, opening, finding, and moving them through their statuses."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from helpdesk.addresses import normalize_email
from helpdesk.enums import AuthorType, EventKind, Priority, Source, Status
from helpdesk.errors import Conflict, NotFound, PermissionDenied, ValidationError
from helpdesk.models import Contact, Mailbox, Tenant, Ticket, TicketTag
from helpdesk.outbox import enqueue
from helpdesk.policy import Action, can, require
from helpdesk.principal import Client, PlatformAdmin, Principal, Staff
from helpdesk.services.audit import record_event
from helpdesk.services.contacts import find_contact, find_or_create_contact, require_not_blocked
from helpdesk.services.custom_fields import active_definitions, validate_custom_fields
from helpdesk.services.ticket_access import (
    Author,
    Draft,
    append_message,
    checked_body,
    get_ticket,
    get_ticket_by_id,
    record_change,
    shift_status,
    ticket_for,
)
from helpdesk.services.ticket_fields import (
    category_id,
    change_category,
    change_priority,
    change_subject,
    clean_subject,
    normalize_tags,
    parse_priority,
    set_custom_fields,
    set_tags,
)
from helpdesk.services.ticket_people import (
    OUTBOX_TICKET_ASSIGNED,
    add_cc_participants,
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
    "open_ticket",
    "rate_ticket",
    "remove_watcher",
    "resolve_ticket_as_client",
    "set_custom_fields",
    "set_tags",
]

# Outbox kinds this module writes; the workers act on these names.
OUTBOX_TICKET_CREATED = "ticket_created"
OUTBOX_STATUS_CHANGED = "ticket_status_changed"


def next_ticket_number(session: Session, tenant_id: int) -> int:
    """Hand out the tenant's next ticket number.

    The increment happens in the database under the tenant row's write lock
    (a row lock on PostgreSQL; SQLite transactions begin IMMEDIATE), so two
    transactions never get the same number.

    Raises:
        NotFound: no such tenant.
    """
    statement = (
        update(Tenant)
        .where(Tenant.id == tenant_id)
        .values(last_ticket_number=Tenant.last_ticket_number + 1)
        .returning(Tenant.last_ticket_number)
    )
    number = session.execute(statement).scalar_one_or_none()
    if number is None:
        raise NotFound("no such tenant")
    return number


def create_ticket(
    session: Session,
    actor: Principal,
    tenant_id: int,
    *,
    subject: str,
    body: str,
    requester_email: str,
    requester_name: str = "",
    source: Source,
    priority: Priority | None = None,
    category: str | None = None,
    tags: Iterable[str] = (),
    custom_fields: Mapping[str, Any] | None = None,
    mailbox_id: int | None = None,
    cc: Iterable[str] = (),
    body_html: str = "",
    message_id: str | None = None,
    now: datetime,
) -> Ticket:
    """Open a ticket with its first, public message.

    The requester's contact is found or created; a client opens tickets only
    as themselves. Priority, category and team default to the mailbox's. The
    first message is by the requester, unless staff open the ticket on the
    requester's behalf: then it is by the agent (and still public). CC'd
    addresses other than the tenant's own mailboxes become participants.
    `body_html` must already be sanitized.

    Raises:
        PermissionDenied: the actor may not open tickets here, or a client
            names someone else as requester.
        NotFound: `mailbox_id` is not one of the tenant's mailboxes.
        ValidationError: bad subject, body, address, category, tag or field.
    """
    require(can(actor, Action.CREATE_TICKET, tenant_id), "you may not open tickets here")
    subject = clean_subject(subject, lenient=source is Source.EMAIL)
    checked_body(body, source)
    requester = _requester(session, actor, tenant_id, requester_email, requester_name, now=now)
    mailbox = _mailbox(session, tenant_id, mailbox_id)
    fields = _initial_custom_fields(session, actor, tenant_id, custom_fields)
    ticket = open_ticket(
        session, tenant_id, subject=subject, requester=requester, source=source, now=now
    )
    _apply_defaults(session, ticket, mailbox, priority, category)
    ticket.tags = [TicketTag(tag=tag, tenant_id=tenant_id) for tag in normalize_tags(tags)]
    ticket.custom_fields = fields
    draft = Draft(body, source, body_html=body_html, message_id=message_id)
    message = append_message(session, ticket, _first_author(actor, requester), draft, now=now)
    participants = add_cc_participants(session, actor, ticket, cc, now=now)
    created = {"number": ticket.number, "source": source.value, "participants": participants}
    record_event(session, ticket, EventKind.CREATED, actor, now=now, **created)
    enqueue(
        session,
        OUTBOX_TICKET_CREATED,
        tenant_id=tenant_id,
        now=now,
        ticket_id=ticket.id,
        message_id=message.id,
    )
    session.flush()
    return ticket


def open_ticket(
    session: Session,
    tenant_id: int,
    *,
    subject: str,
    requester: Contact,
    source: Source,
    now: datetime,
) -> Ticket:
    """Insert a bare open ticket with the next number; callers check policy and record."""
    ticket = Ticket(
        tenant_id=tenant_id,
        number=next_ticket_number(session, tenant_id),
        subject=subject,
        status=Status.OPEN,
        priority=Priority.NORMAL,
        source=source,
        requester_id=requester.id,
        organization_id=requester.organization_id,
        custom_fields={},
        last_activity_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    session.flush()
    return ticket


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


def _requester(
    session: Session, actor: Principal, tenant_id: int, email: str, name: str, *, now: datetime
) -> Contact:
    address = normalize_email(email, "requester_email")
    if not isinstance(actor, Client):
        contact = find_or_create_contact(session, actor, tenant_id, address, name, now=now)
    else:
        found = find_contact(session, tenant_id, address)
        if found is None or found.id != actor.contact_id:
            raise PermissionDenied("clients open tickets only as themselves")
        contact = found
    # Staff may still open a ticket for a blocked contact; the contact may not.
    if not isinstance(actor, Staff | PlatformAdmin):
        require_not_blocked(session, contact.id)
    return contact


def _first_author(actor: Principal, requester: Contact) -> Author:
    # Staff writing "on behalf" sign the first message; mail and the portal
    # carry the requester's own words.
    author = Author.of(actor)
    return author if author.type is AuthorType.AGENT else Author.contact(requester.id)


def _mailbox(session: Session, tenant_id: int, mailbox_id: int | None) -> Mailbox | None:
    if mailbox_id is None:
        return None
    mailbox = session.get(Mailbox, mailbox_id)
    if mailbox is None or mailbox.tenant_id != tenant_id:
        raise NotFound("no such mailbox")
    return mailbox


def _apply_defaults(
    session: Session,
    ticket: Ticket,
    mailbox: Mailbox | None,
    priority: Priority | None,
    category: str | None,
) -> None:
    ticket.mailbox_id = mailbox.id if mailbox else None
    ticket.team_id = mailbox.default_team_id if mailbox else None
    fallback = mailbox.default_priority if mailbox else Priority.NORMAL
    ticket.priority = parse_priority(priority) if priority else fallback
    if category:
        ticket.category_id = category_id(session, ticket.tenant_id, category)
    elif mailbox:
        ticket.category_id = mailbox.default_category_id


def _initial_custom_fields(
    session: Session, actor: Principal, tenant_id: int, values: Mapping[str, Any] | None
) -> dict[str, Any]:
    # Required fields bind staff filling in the console's form; mail and
    # clients cannot be asked, so an agent fills the gaps later.
    cleaned = validate_custom_fields(
        active_definitions(session, tenant_id),
        values or {},
        enforce_required=isinstance(actor, Staff | PlatformAdmin),
        client=isinstance(actor, Client),
    )
    return {key: value for key, value in cleaned.items() if value is not None}
