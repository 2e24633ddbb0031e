"""Tickets pointing at tickets: merging duplicates, incident parents, follow-ups."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from helpdesk.enums import EventKind, LinkKind, Source, Status
from helpdesk.errors import Conflict, ValidationError
from helpdesk.models import (
    Attachment,
    Contact,
    Message,
    Ticket,
    TicketLink,
    TicketParticipant,
    TicketTag,
    TicketWatcher,
)
from helpdesk.outbox import enqueue
from helpdesk.policy import Action
from helpdesk.principal import Principal
from helpdesk.search import index_tickets
from helpdesk.services.ticket_access import (
    Author,
    Draft,
    append_message,
    record_change,
    shift_status,
    ticket_for,
)
from helpdesk.services.ticket_opening import OUTBOX_TICKET_CREATED, new_ticket
from helpdesk.services.ticket_people import add_participant, watcher_ids

FOLLOW_UP_PREFIX = "Follow-up: "


def merge_tickets(
    session: Session,
    actor: Principal,
    source_ticket_id: int,
    target_ticket_id: int,
    *,
    now: datetime,
) -> Ticket:
    """Fold a duplicate ticket into another one; return the target.

    Messages and attachments move to the target; participants, watchers and
    tags are united, and the source's requester becomes a participant of the
    target so they keep seeing their own messages. The source is closed and
    points at the target (`merged_into_id`).

    Raises:
        NotFound: the actor may not see one of the tickets.
        PermissionDenied: the actor may not merge tickets.
        ValidationError: the same ticket twice, or tickets of two tenants.
        Conflict: the source is already merged, or the target is merged or closed.
    """
    source = ticket_for(session, actor, source_ticket_id, Action.MERGE_TICKETS)
    target = ticket_for(session, actor, target_ticket_id, Action.MERGE_TICKETS)
    _check_mergeable(source, target)
    moved = _move_messages(session, source, target)
    _unite_people(session, source, target, now=now)
    missing = set(source.tag_names) - set(target.tag_names)
    new_tags = [TicketTag(tag=tag, tenant_id=target.tenant_id) for tag in missing]
    target.tags = sorted([*target.tags, *new_tags], key=lambda entry: entry.tag)
    change = shift_status(source, Status.CLOSED, now=now)
    source.merged_into_id = target.id
    target.last_activity_at = now
    record_change(
        session, actor, source, EventKind.MERGED, now=now, into=ticket_ref(target), status=change
    )
    record_change(
        session,
        actor,
        target,
        EventKind.MERGED_FROM,
        now=now,
        source=ticket_ref(source),
        messages=moved,
    )
    index_tickets(session, [source.id, target.id])
    return target


def link_to_incident(
    session: Session,
    actor: Principal,
    ticket_id: int,
    incident_ticket_id: int | None,
    *,
    now: datetime,
) -> Ticket:
    """Make the ticket a symptom of an incident ticket (its parent), or unlink it (None).

    Raises:
        NotFound: the actor may not see one of the tickets.
        PermissionDenied: the actor may not link tickets.
        ValidationError: tickets of two tenants, or the link would make a cycle.
    """
    ticket = ticket_for(session, actor, ticket_id, Action.LINK_TICKETS)
    previous = ticket.parent_id
    if incident_ticket_id is None:
        if previous is not None:
            ticket.parent_id = None
            record_change(session, actor, ticket, EventKind.UNLINKED, now=now, incident=previous)
        return ticket
    incident = ticket_for(session, actor, incident_ticket_id, Action.LINK_TICKETS)
    _check_incident(session, ticket, incident)
    if previous != incident.id:
        ticket.parent_id = incident.id
        record_change(
            session,
            actor,
            ticket,
            EventKind.LINKED,
            now=now,
            incident=ticket_ref(incident),
            previous=previous,
        )
    return ticket


def create_follow_up(
    session: Session,
    actor: Principal,
    closed: Ticket,
    author_contact_id: int,
    draft: Draft,
    *,
    now: datetime,
) -> Message:
    """Open a follow-up of a closed ticket for a client's new message; return that message.

    The follow-up has the same requester, priority, category, team, mailbox and
    participants; a FOLLOW_UP link points from it to the closed ticket, and
    both record FOLLOW_UP_CREATED. Callers check policy.
    """
    requester = session.get_one(Contact, closed.requester_id)
    follow_up = open_linked_ticket(
        session, closed, LinkKind.FOLLOW_UP, subject=follow_up_subject(closed.subject),
        requester=requester, source=draft.source, now=now,
    )  # fmt: skip
    _copy_participants(session, closed, follow_up, author_contact_id, now=now)
    author = Author.contact(author_contact_id)
    message = append_message(session, follow_up, author, draft, now=now)
    _record_follow_up(session, actor, closed, follow_up, message, now=now)
    return message


def open_linked_ticket(
    session: Session,
    old: Ticket,
    kind: LinkKind,
    *,
    subject: str,
    requester: Contact,
    source: Source,
    now: datetime,
) -> Ticket:
    """Open a ticket linked to `old` as `kind`, with its priority, category, team and mailbox.

    Callers check policy and record.
    """
    ticket = new_ticket(
        session, old.tenant_id, subject=subject, requester=requester, source=source, now=now
    )
    ticket.priority = old.priority
    ticket.category_id = old.category_id
    ticket.team_id = old.team_id
    ticket.mailbox_id = old.mailbox_id
    session.add(ticket)
    session.flush()
    link = TicketLink(
        tenant_id=old.tenant_id, source_id=ticket.id, target_id=old.id, kind=kind, created_at=now
    )
    session.add(link)
    return ticket


def ticket_ref(ticket: Ticket) -> dict[str, int]:
    """Return how an event names another ticket."""
    return {"id": ticket.id, "number": ticket.number}


def follow_up_subject(subject: str) -> str:
    """Return the subject of a follow-up, without stacking prefixes."""
    if subject.startswith(FOLLOW_UP_PREFIX):
        return subject
    return f"{FOLLOW_UP_PREFIX}{subject}"[:998]


def follow_ups_of(session: Session, ticket_id: int) -> list[int]:
    """Return the ids of the follow-up tickets opened from a ticket, oldest first."""
    return list(
        session.scalars(
            select(TicketLink.source_id)
            .where(TicketLink.target_id == ticket_id, TicketLink.kind == LinkKind.FOLLOW_UP)
            .order_by(TicketLink.id)
        )
    )


def _check_mergeable(source: Ticket, target: Ticket) -> None:
    if source.id == target.id:
        raise ValidationError("target_ticket_id", "a ticket cannot be merged into itself")
    if source.tenant_id != target.tenant_id:
        raise ValidationError("target_ticket_id", "tickets of two tenants cannot be merged")
    if source.merged_into_id is not None:
        raise Conflict(f"ticket #{source.number} is already merged")
    if target.merged_into_id is not None:
        raise Conflict(f"ticket #{target.number} was merged; merge into what it was merged into")
    if target.status is Status.CLOSED:
        raise Conflict(f"ticket #{target.number} is closed")


def _move_messages(session: Session, source: Ticket, target: Ticket) -> int:
    count = session.scalar(
        select(func.count()).select_from(Message).where(Message.ticket_id == source.id)
    )
    for model in (Message, Attachment):
        session.execute(
            update(model).where(model.ticket_id == source.id).values(ticket_id=target.id)
        )
    moved = int(count or 0)
    target.message_count += moved
    source.message_count = 0
    return moved


def _unite_people(session: Session, source: Ticket, target: Ticket, *, now: datetime) -> None:
    participants = session.scalars(
        select(TicketParticipant).where(TicketParticipant.ticket_id == source.id)
    ).all()
    for participant in participants:
        add_participant(
            session, target, participant.contact_id, pending=participant.pending, now=now
        )
    add_participant(session, target, source.requester_id, now=now)
    watching = set(watcher_ids(session, target.id))
    for user_id in watcher_ids(session, source.id):
        if user_id not in watching:
            session.add(
                TicketWatcher(
                    ticket_id=target.id, user_id=user_id, tenant_id=target.tenant_id, created_at=now
                )
            )
    session.flush()


def _copy_participants(
    session: Session, closed: Ticket, follow_up: Ticket, author_contact_id: int, *, now: datetime
) -> None:
    participants = session.scalars(
        select(TicketParticipant.contact_id).where(
            TicketParticipant.ticket_id == closed.id, TicketParticipant.pending.is_(False)
        )
    ).all()
    for contact_id in [*participants, author_contact_id]:
        add_participant(session, follow_up, contact_id, now=now)


def _record_follow_up(
    session: Session,
    actor: Principal,
    closed: Ticket,
    follow_up: Ticket,
    message: Message,
    *,
    now: datetime,
) -> None:
    created = EventKind.FOLLOW_UP_CREATED
    record_change(
        session, actor, follow_up, created, now=now,
        follow_up_of=ticket_ref(closed), message_id=message.id,
    )  # fmt: skip
    record_change(session, actor, closed, created, now=now, follow_up=ticket_ref(follow_up))
    enqueue(
        session, OUTBOX_TICKET_CREATED, tenant_id=follow_up.tenant_id, now=now,
        ticket_id=follow_up.id, message_id=message.id, follow_up_of=closed.id,
    )  # fmt: skip


def _check_incident(session: Session, ticket: Ticket, incident: Ticket) -> None:
    if incident.tenant_id != ticket.tenant_id:
        raise ValidationError("incident_ticket_id", "tickets of two tenants cannot be linked")
    # Walk up from the incident: meeting the ticket itself would close a loop.
    seen: set[int] = set()
    node: Ticket | None = incident
    while node is not None and node.id not in seen:
        if node.id == ticket.id:
            raise ValidationError("incident_ticket_id", "that link would make a cycle")
        seen.add(node.id)
        node = session.get(Ticket, node.parent_id) if node.parent_id is not None else None
