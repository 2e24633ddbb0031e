"""Who is on a ticket: its assignee, team, watching agents and participating contacts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.addresses import normalize_email
from helpdesk.enums import EventKind, Role
from helpdesk.errors import NotFound, ValidationError
from helpdesk.models import Team, Ticket, TicketParticipant, TicketWatcher
from helpdesk.outbox import enqueue
from helpdesk.policy import Action
from helpdesk.principal import Principal
from helpdesk.services.contacts import find_or_create_contact
from helpdesk.services.mailboxes import find_mailbox_for_address
from helpdesk.services.ticket_access import is_member, record_change, set_and_record, ticket_for

# The outbox kind the notification workers turn into "assigned to you".
OUTBOX_TICKET_ASSIGNED = "ticket_assigned"

# Light agents may look and comment, but a ticket is never theirs to answer.
ASSIGNABLE_ROLES = (Role.AGENT, Role.ADMIN)
STAFF_ROLES = (Role.AGENT, Role.ADMIN, Role.LIGHT_AGENT)


def assign_ticket(
    session: Session, actor: Principal, ticket_id: int, assignee_id: int | None, *, now: datetime
) -> Ticket:
    """Give the ticket to an agent or admin of its tenant, or to nobody (None).

    Raises:
        NotFound, PermissionDenied: see `ticket_for`.
        ValidationError: the assignee is not an active agent or admin there.
    """
    ticket = ticket_for(session, actor, ticket_id, Action.ASSIGN_TICKET)
    if assignee_id is not None and not is_member(
        session, ticket.tenant_id, assignee_id, ASSIGNABLE_ROLES
    ):
        raise ValidationError("assignee_id", "not an active agent or admin of this tenant")
    previous = ticket.assignee_id
    if previous == assignee_id:
        return ticket
    ticket.assignee_id = assignee_id
    if assignee_id is None:
        record_change(session, actor, ticket, EventKind.UNASSIGNED, now=now, **{"from": previous})
        return ticket
    change = {"from": previous, "to": assignee_id}
    record_change(session, actor, ticket, EventKind.ASSIGNED, now=now, **change)
    enqueue(
        session,
        OUTBOX_TICKET_ASSIGNED,
        tenant_id=ticket.tenant_id,
        now=now,
        ticket_id=ticket.id,
        assignee_id=assignee_id,
    )
    return ticket


def assign_team(
    session: Session, actor: Principal, ticket_id: int, team_id: int | None, *, now: datetime
) -> Ticket:
    """Give the ticket to a team of its tenant, or to none (None).

    Raises:
        NotFound, PermissionDenied: see `ticket_for`.
        ValidationError: no such team in the ticket's tenant.
    """
    ticket = ticket_for(session, actor, ticket_id, Action.ASSIGN_TICKET)
    team = session.get(Team, team_id) if team_id is not None else None
    if team_id is not None and (team is None or team.tenant_id != ticket.tenant_id):
        raise ValidationError("team_id", "no such team")
    set_and_record(session, actor, ticket, "team_id", team_id, EventKind.TEAM_CHANGED, now=now)
    return ticket


def add_watcher(
    session: Session, actor: Principal, ticket_id: int, user_id: int, *, now: datetime
) -> bool:
    """Let a staff member of the tenant follow the ticket; False if they already do.

    Raises:
        NotFound, PermissionDenied: see `ticket_for`.
        NotFound: the user is not active staff of the ticket's tenant (another
            tenant's user answers like one that does not exist).
    """
    ticket = ticket_for(session, actor, ticket_id, Action.WATCH_TICKET)
    if not is_member(session, ticket.tenant_id, user_id, STAFF_ROLES):
        raise NotFound("no such agent in this tenant")
    if session.get(TicketWatcher, (ticket.id, user_id)) is not None:
        return False
    watcher = TicketWatcher(
        ticket_id=ticket.id, user_id=user_id, tenant_id=ticket.tenant_id, created_at=now
    )
    session.add(watcher)
    record_change(session, actor, ticket, EventKind.WATCHER_ADDED, now=now, user_id=user_id)
    return True


def remove_watcher(
    session: Session, actor: Principal, ticket_id: int, user_id: int, *, now: datetime
) -> bool:
    """Stop a user following the ticket; False if they did not.

    Raises:
        NotFound, PermissionDenied: see `ticket_for`.
    """
    ticket = ticket_for(session, actor, ticket_id, Action.WATCH_TICKET)
    watcher = session.get(TicketWatcher, (ticket.id, user_id))
    if watcher is None:
        return False
    session.delete(watcher)
    record_change(session, actor, ticket, EventKind.WATCHER_REMOVED, now=now, user_id=user_id)
    return True


def watcher_ids(session: Session, ticket_id: int) -> list[int]:
    """Return the ids of the users watching a ticket, in order."""
    return list(
        session.scalars(
            select(TicketWatcher.user_id)
            .where(TicketWatcher.ticket_id == ticket_id)
            .order_by(TicketWatcher.user_id)
        )
    )


def add_cc_participants(
    session: Session, actor: Principal, ticket: Ticket, cc: Iterable[str], *, now: datetime
) -> list[int]:
    """Make the CC'd addresses participants; return the ids of the contacts added.

    Our own mailbox addresses are skipped: a participant gets our notifications,
    and a mailbox writing to itself is a mail loop. Callers check policy and record.
    """
    added: list[int] = []
    for address in filter(None, map(_cc_address, cc)):
        if find_mailbox_for_address(session, address) is not None:
            continue
        contact = find_or_create_contact(session, actor, ticket.tenant_id, address, now=now)
        if add_participant(session, ticket, contact.id, now=now):
            added.append(contact.id)
    return added


def add_participant(
    session: Session, ticket: Ticket, contact_id: int, *, pending: bool = False, now: datetime
) -> bool:
    """Let a contact take part in the ticket; return whether anything changed.

    The requester is no participant. Adding a pending participant as a full
    one accepts them. Callers check policy and record.
    """
    if contact_id == ticket.requester_id:
        return False
    existing = session.get(TicketParticipant, (ticket.id, contact_id))
    if existing is None:
        session.add(
            TicketParticipant(
                ticket_id=ticket.id,
                contact_id=contact_id,
                tenant_id=ticket.tenant_id,
                pending=pending,
                created_at=now,
            )
        )
        session.flush()
        return True
    if existing.pending and not pending:
        existing.pending = False
        return True
    return False


def _cc_address(raw: str) -> str | None:
    # Mail headers carry groups such as "undisclosed-recipients:;" that name
    # nobody; they must not make a ticket fail.
    try:
        return normalize_email(raw, "cc")
    except ValidationError:
        return None
