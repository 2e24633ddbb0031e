"""Read marks: which tickets an agent has seen since their last activity.

A read mark is the agent's own bookkeeping, not a change to the ticket: it
writes no TicketEvent and does not touch the ticket's version.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.errors import PermissionDenied
from helpdesk.models import Ticket, UserTicketRead
from helpdesk.policy import Action
from helpdesk.principal import PlatformAdmin, Principal, Staff
from helpdesk.services.ticket_access import ticket_for


def mark_read(session: Session, actor: Principal, ticket_id: int, *, now: datetime) -> None:
    """Note that the agent has read the ticket as it is now.

    Raises:
        NotFound: the actor may not see the ticket.
        PermissionDenied: the actor is no agent (clients keep no read marks here).
    """
    user_id = _reader(actor)
    ticket = ticket_for(session, actor, ticket_id, Action.VIEW_TICKETS)
    mark = session.get(UserTicketRead, (user_id, ticket.id))
    if mark is None:
        mark = UserTicketRead(user_id=user_id, ticket_id=ticket.id, tenant_id=ticket.tenant_id)
        session.add(mark)
    # "As it is now" includes activity stamped by a clock a little ahead of ours.
    mark.read_at = max(now, ticket.last_activity_at)
    session.flush()


def mark_unread(session: Session, actor: Principal, ticket_id: int, *, now: datetime) -> None:
    """Make the ticket count as unread for the agent again; unread already is a no-op.

    Raises:
        NotFound: the actor may not see the ticket.
        PermissionDenied: the actor is no agent.
    """
    user_id = _reader(actor)
    ticket = ticket_for(session, actor, ticket_id, Action.VIEW_TICKETS)
    mark = session.get(UserTicketRead, (user_id, ticket.id))
    if mark is not None:
        session.delete(mark)
        session.flush()


def unread_ticket_ids(session: Session, user_id: int, tickets: Sequence[Ticket]) -> set[int]:
    """Return the ids of those tickets with activity the user has not read, in one query."""
    if not tickets:
        return set()
    rows = session.execute(
        select(UserTicketRead.ticket_id, UserTicketRead.read_at).where(
            UserTicketRead.user_id == user_id,
            UserTicketRead.ticket_id.in_([t.id for t in tickets]),
        )
    )
    read_at = {ticket_id: at for ticket_id, at in rows}
    return {t.id for t in tickets if t.id not in read_at or read_at[t.id] < t.last_activity_at}


def _reader(actor: Principal) -> int:
    if isinstance(actor, Staff | PlatformAdmin):
        return actor.user_id
    raise PermissionDenied("only agents keep read marks")
