"""The statements behind helpdesk.queries.inbound, built once with bound parameters.

Every mail asks these questions; a statement built per call costs more in
Python than the database takes to answer it, and a prebuilt one is compiled
and cached by SQLAlchemy once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BindParameter,
    CompoundSelect,
    Select,
    and_,
    bindparam,
    case,
    func,
    literal_column,
    select,
    union,
    union_all,
)

from helpdesk.enums import Source
from helpdesk.models import (
    ContactEmail,
    Membership,
    Message,
    OrganizationDomain,
    ThreadReference,
    Ticket,
    TicketParticipant,
    TicketWatcher,
    User,
)

# Any statement of any columns, for annotations.
AnySelect = Select[*tuple[Any, ...]]
_TENANT: BindParameter[int] = bindparam("tenant_id")
_TICKET: BindParameter[int] = bindparam("ticket_id")
_IDS: BindParameter[list[str]] = bindparam("message_ids", expanding=True)
# What threading needs of a ticket, in the order of TicketRef's fields.
REF_COLUMNS = (Ticket.id, Ticket.tenant_id, Ticket.number, Ticket.status, Ticket.merged_into_id)

TICKET_BY_ID = select(*REF_COLUMNS).where(Ticket.tenant_id == _TENANT, Ticket.id == _TICKET)
TICKET_BY_NUMBER = select(*REF_COLUMNS).where(
    Ticket.tenant_id == _TENANT, Ticket.number == bindparam("number")
)
# The references awaiting these Message-IDs (one row each, of a unique index),
# with their tickets: (message id, ticket...). Each ticket is found by primary
# key: a planner that believes the tables small (fresh, not yet analyzed)
# might otherwise scan every ticket of the tenant.
TICKETS_AWAITING = (
    select(ThreadReference.message_id, *REF_COLUMNS)
    .join(Ticket, Ticket.id == ThreadReference.ticket_id)
    .where(
        ThreadReference.tenant_id == _TENANT,
        ThreadReference.message_id.in_(_IDS),
        ThreadReference.seen.is_(False),
        Ticket.tenant_id == _TENANT,
    )
)
# The tenant's active staff: (address, user id), addresses lower-cased as stored.
STAFF_ADDRESSES = (
    select(User.email, User.id)
    .join(Membership, Membership.user_id == User.id)
    .where(
        User.active.is_(True),
        Membership.tenant_id == _TENANT,
        Membership.active.is_(True),
    )
)


def _known_ids() -> AnySelect:
    # Rank 0: ids recorded in thread_references; rank 1: ids of stored messages,
    # which come last so that they win (the message itself answers better).
    references: AnySelect = select(
        ThreadReference.message_id.label("message_id"),
        ThreadReference.ticket_id.label("ticket_id"),
        literal_column("0").label("rank"),
    ).where(ThreadReference.tenant_id == _TENANT, ThreadReference.message_id.in_(_IDS))
    stored: AnySelect = select(Message.message_id, Message.ticket_id, literal_column("1")).where(
        Message.tenant_id == _TENANT, Message.message_id.in_(_IDS)
    )
    known = union_all(references, stored).subquery("known")
    # Ordered fully, so that of one id stored twice the same row comes last
    # however many ids are asked at once.
    return (
        select(known.c.message_id, known.c.rank, *REF_COLUMNS)
        .outerjoin(Ticket, Ticket.id == known.c.ticket_id)
        .order_by(known.c.rank, known.c.ticket_id)
    )


KNOWN_IDS = _known_ids()


def _people() -> CompoundSelect[int, str, str]:
    # Who takes part in each of some tickets, as (ticket id, role, address)
    # rows; the "ticket" row says the ticket exists at all.
    ticket = (
        select(
            Ticket.id,
            Ticket.tenant_id,
            Ticket.requester_id,
            Ticket.organization_id,
            Ticket.assignee_id,
        )
        .where(Ticket.id.in_(bindparam("ticket_ids", expanding=True)))
        .cte("ticket")
    )
    t = ticket.c
    exists: AnySelect = select(t.id, literal_column("'ticket'"), literal_column("''")).select_from(
        ticket
    )
    requester: AnySelect = select(t.id, literal_column("'requester'"), ContactEmail.email).join(
        ticket,
        and_(ContactEmail.contact_id == t.requester_id, ContactEmail.tenant_id == t.tenant_id),
    )
    role = case(
        (TicketParticipant.pending, literal_column("'pending'")),
        else_=literal_column("'participant'"),
    )
    participants = (
        select(t.id, role, ContactEmail.email)
        .join(
            ticket,
            and_(TicketParticipant.ticket_id == t.id, TicketParticipant.tenant_id == t.tenant_id),
        )
        .join(
            ContactEmail,
            and_(
                ContactEmail.contact_id == TicketParticipant.contact_id,
                ContactEmail.tenant_id == t.tenant_id,
            ),
        )
    )
    watchers: AnySelect = select(t.id.label("ticket_id"), TicketWatcher.user_id.label("user_id"))
    watchers = watchers.join(
        ticket, and_(TicketWatcher.ticket_id == t.id, TicketWatcher.tenant_id == t.tenant_id)
    )
    writers = (
        select(t.id, Message.author_user_id)
        .join(ticket, and_(Message.ticket_id == t.id, Message.tenant_id == t.tenant_id))
        .where(Message.author_user_id.is_not(None))
    )
    assignee = select(t.id, t.assignee_id).where(t.assignee_id.is_not(None))
    staff = union(watchers, writers, assignee).subquery("staff")
    agents: AnySelect = select(staff.c.ticket_id, literal_column("'agent'"), User.email).join(
        User, User.id == staff.c.user_id
    )
    domains: AnySelect = select(t.id, literal_column("'domain'"), OrganizationDomain.domain).join(
        ticket,
        and_(
            OrganizationDomain.tenant_id == t.tenant_id,
            OrganizationDomain.organization_id == t.organization_id,
        ),
    )
    return union_all(exists, requester, participants, agents, domains)


PEOPLE = _people()

# Tickets opened by mail since a moment: all of the tenant's, and those of
# each of some senders (by the contact of the address), as (sender, count)
# rows, the total's sender NULL.
_OPENED = and_(
    Ticket.tenant_id == _TENANT,
    Ticket.created_at >= bindparam("since"),
    Ticket.source == Source.EMAIL,
)
_TOTAL: AnySelect = select(literal_column("NULL").label("sender"), func.count()).where(_OPENED)
_PER_SENDER: AnySelect = (
    select(ContactEmail.email, func.count())
    .join(Ticket, Ticket.requester_id == ContactEmail.contact_id)
    .where(
        ContactEmail.tenant_id == _TENANT,
        ContactEmail.email.in_(bindparam("senders", expanding=True)),
        _OPENED,
    )
    .group_by(ContactEmail.email)
)
INTAKE_COUNTS = union_all(_TOTAL, _PER_SENDER)
