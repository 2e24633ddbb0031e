"""Opening tickets: numbering, the first message, the mailbox's defaults, the CC'd participants."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from helpdesk.addresses import normalize_email
from helpdesk.enums import AuthorType, EventKind, Priority, Source, Status
from helpdesk.errors import NotFound, PermissionDenied
from helpdesk.models import Contact, Mailbox, Message, Tenant, Ticket, TicketTag
from helpdesk.outbox import enqueue
from helpdesk.policy import Action, can, require
from helpdesk.principal import Client, PlatformAdmin, Principal, Staff
from helpdesk.services.audit import record_event
from helpdesk.services.contacts import find_contact, find_or_create_contact, require_not_blocked
from helpdesk.services.custom_fields import active_definitions, validate_custom_fields
from helpdesk.services.ticket_access import Author, Draft, MailFacts, append_message, checked_body
from helpdesk.services.ticket_fields import (
    category_id,
    clean_subject,
    normalize_tags,
    parse_priority,
)
from helpdesk.services.ticket_people import add_cc_participants
from helpdesk.transaction_state import cached

# The outbox kind the notification workers turn into "we received your request".
OUTBOX_TICKET_CREATED = "ticket_created"

_TENANTS: Table = Tenant.__table__  # type: ignore[assignment]
# A plain UPDATE of the table: the ORM's own would search the session for tenants to change.
_NEXT_NUMBERS = (
    update(_TENANTS)
    .where(_TENANTS.c.id == bindparam("tenant_id"))
    .values(last_ticket_number=_TENANTS.c.last_ticket_number + bindparam("count"))
    .returning(_TENANTS.c.last_ticket_number)
)


@dataclass(frozen=True, kw_only=True)
class NewTicket:
    """What a ticket is opened with: its first message, requester and initial fields.

    `body` is the first message without quoted history, `body_full_text` all
    of it (None: the same); `body_html` must already be sanitized; `mail`
    holds what the gateway knows of a first message that came by mail.
    """

    subject: str
    body: str
    requester_email: str
    requester_name: str = ""
    source: Source
    priority: Priority | None = None
    category: str | None = None
    tags: Iterable[str] = ()
    custom_fields: Mapping[str, Any] | None = None
    mailbox_id: int | None = None
    cc: Iterable[str] = ()
    body_html: str = ""
    body_full_text: str | None = None
    message_id: str | None = None
    mail: MailFacts | None = None
    # The contact owning `requester_email`, when the caller already looked it up.
    requester_contact: Contact | None = None


def next_ticket_number(session: Session, tenant_id: int) -> int:
    """Hand out the tenant's next ticket number.

    The increment happens in the database under the tenant row's write lock
    (a row lock on PostgreSQL; SQLite transactions begin IMMEDIATE), so two
    transactions never get the same number.

    Raises:
        NotFound: no such tenant.
    """
    return next_ticket_numbers(session, tenant_id, 1)[0]


def next_ticket_numbers(session: Session, tenant_id: int, count: int) -> range:
    """Hand out the tenant's next `count` ticket numbers at once, as `next_ticket_number` does.

    Raises:
        NotFound: no such tenant.
    """
    # A change to the tenant row waiting in the session goes first, as it would
    # for an ORM statement, and the session's copy of the row learns the number.
    session.flush()
    parameters = {"tenant_id": tenant_id, "count": count}
    last: int | None = session.execute(_NEXT_NUMBERS, parameters).scalar()
    if last is None:
        raise NotFound("no such tenant")
    tenant = session.identity_map.get(identity_key(Tenant, tenant_id))
    if tenant is not None:
        set_committed_value(tenant, "last_ticket_number", last)
    return range(last - count + 1, last + 1)


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
    request = NewTicket(
        subject=subject, body=body, requester_email=requester_email,
        requester_name=requester_name, source=source, priority=priority, category=category,
        tags=tags, custom_fields=custom_fields, mailbox_id=mailbox_id, cc=cc,
        body_html=body_html, message_id=message_id,
    )  # fmt: skip
    return open_new_ticket(session, actor, tenant_id, request, now=now)[0]


def open_new_ticket(
    session: Session, actor: Principal, tenant_id: int, request: NewTicket, *, now: datetime
) -> tuple[Ticket, Message]:
    """Open a ticket as `create_ticket` does; return it and its first message.

    Raises:
        PermissionDenied, NotFound, ValidationError: as `create_ticket`.
    """
    require(can(actor, Action.CREATE_TICKET, tenant_id), "you may not open tickets here")
    ticket, requester = prepare_ticket(session, actor, tenant_id, request, now=now)
    session.add(ticket)
    session.flush()
    author = first_author(actor, requester)
    message = append_message(session, ticket, author, draft_of(request), now=now)
    participants = add_cc_participants(session, actor, ticket, request.cc, now=now)
    record_opening(session, actor, ticket, message, request.source, participants, now=now)
    session.flush()
    return ticket, message


def record_opening(
    session: Session,
    actor: Principal,
    ticket: Ticket,
    message: Message,
    source: Source,
    participants: list[int],
    *,
    now: datetime,
) -> None:
    """Record a ticket just opened with its first message: its event and the outbox's note."""
    created = {"number": ticket.number, "source": source.value, "participants": participants}
    record_event(session, ticket, EventKind.CREATED, actor, now=now, **created)
    enqueue(
        session,
        OUTBOX_TICKET_CREATED,
        tenant_id=ticket.tenant_id,
        now=now,
        ticket_id=ticket.id,
        message_id=message.id,
    )


def prepare_ticket(
    session: Session,
    actor: Principal,
    tenant_id: int,
    request: NewTicket,
    *,
    now: datetime,
    number: int | None = None,
) -> tuple[Ticket, Contact]:
    """Return the ticket `request` opens, not yet added to the session, and its requester.

    The ticket takes `number`, or the tenant's next one. Callers check policy.

    Raises:
        PermissionDenied, NotFound, ValidationError: as `create_ticket`.
    """
    # Everything the ticket starts with is set before its row is written, once.
    source = request.source
    subject = clean_subject(request.subject, lenient=source is Source.EMAIL)
    checked_body(request.body, source)
    requester = _requester(session, actor, tenant_id, request, now=now)
    mailbox = _mailbox(session, tenant_id, request.mailbox_id)
    fields = _initial_custom_fields(session, actor, tenant_id, request.custom_fields)
    ticket = new_ticket(
        session, tenant_id, subject=subject, requester=requester, source=source, now=now,
        number=number,
    )  # fmt: skip
    _apply_defaults(session, ticket, mailbox, request.priority, request.category)
    ticket.tags = [TicketTag(tag=tag, tenant_id=tenant_id) for tag in normalize_tags(request.tags)]
    ticket.custom_fields = fields
    return ticket, requester


def new_ticket(
    session: Session,
    tenant_id: int,
    *,
    subject: str,
    requester: Contact,
    source: Source,
    now: datetime,
    number: int | None = None,
) -> Ticket:
    """Return an open ticket with `number` (or the tenant's next), not yet added to the session.

    The caller sets the rest of its fields, then adds it: its row is written
    once. Callers check policy and record.
    """
    return Ticket(
        tenant_id=tenant_id,
        number=next_ticket_number(session, tenant_id) if number is None else number,
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
        # A new ticket has no tags: known without asking the database.
        tags=[],
    )


def draft_of(request: NewTicket) -> Draft:
    """Return the first message a request opens its ticket with."""
    return Draft(
        request.body,
        request.source,
        body_html=request.body_html,
        body_full_text=request.body_full_text,
        message_id=request.message_id,
        mail=request.mail,
    )


def _requester(
    session: Session, actor: Principal, tenant_id: int, request: NewTicket, *, now: datetime
) -> Contact:
    address = normalize_email(request.requester_email, "requester_email")
    known = request.requester_contact
    if not isinstance(actor, Client):
        contact = known or find_or_create_contact(
            session, actor, tenant_id, address, request.requester_name, now=now
        )
    else:
        found = find_contact(session, tenant_id, address)
        if found is None or found.id != actor.contact_id:
            raise PermissionDenied("clients open tickets only as themselves")
        contact = found
    # Staff may still open a ticket for a blocked contact; the contact may not.
    if not isinstance(actor, Staff | PlatformAdmin):
        require_not_blocked(session, contact.id)
    return contact


def first_author(actor: Principal, requester: Contact) -> Author:
    """Return who signs a new ticket's first message."""
    # Staff writing "on behalf" sign the first message; mail and the portal
    # carry the requester's own words.
    author = Author.of(actor)
    return author if author.type is AuthorType.AGENT else Author.contact(requester.id)


def _mailbox(session: Session, tenant_id: int, mailbox_id: int | None) -> Mailbox | None:
    if mailbox_id is None:
        return None

    # Kept for the transaction: a batch of mail opens many tickets through one mailbox.
    def load() -> Mailbox | None:
        return session.get(Mailbox, mailbox_id)

    mailbox = cached(session, (Mailbox, mailbox_id), load, read_from=(Mailbox,))
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
    enforce_required = isinstance(actor, Staff | PlatformAdmin)
    if not values and not enforce_required:
        return {}
    cleaned = validate_custom_fields(
        active_definitions(session, tenant_id),
        values or {},
        enforce_required=enforce_required,
        client=isinstance(actor, Client),
    )
    return {key: value for key, value in cleaned.items() if value is not None}
