"""Correcting threading: moving a message to another ticket, or splitting it off into a new one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpdesk.enums import AuthorType, EventKind, LinkKind, Status, Visibility
from helpdesk.errors import Conflict, NotFound, ValidationError
from helpdesk.models import Contact, Message, Ticket
from helpdesk.policy import Action, is_staff
from helpdesk.principal import Principal
from helpdesk.search import index_tickets
from helpdesk.services.held_messages import drop_pending_participant
from helpdesk.services.thread_references import move_thread_reference
from helpdesk.services.ticket_access import record_change, ticket_for
from helpdesk.services.ticket_links import open_linked_ticket, ticket_ref


def move_message(
    session: Session, actor: Principal, message_id: int, target_ticket_id: int, *, now: datetime
) -> Message:
    """Move a message and its attachments to another ticket of the tenant.

    Both tickets' message counts and search index follow, both record
    MESSAGE_MOVED, and later replies to the message thread to its new ticket.
    Moving a message corrects threading as merging does, so it needs the
    same right.

    Raises:
        NotFound: no such message, or the actor may not see one of the tickets.
        PermissionDenied: the actor may not merge tickets.
        ValidationError: the message's own ticket, or a ticket of another tenant.
        Conflict: the message is its ticket's only one, or the target is
            merged or closed.
    """
    message, source = _movable(session, actor, message_id)
    target = ticket_for(session, actor, target_ticket_id, Action.MERGE_TICKETS)
    _check_target(source, target)
    _transfer(session, message, source, target, now=now)
    record_change(
        session, actor, source, EventKind.MESSAGE_MOVED, now=now,
        message_id=message.id, to=ticket_ref(target),
    )  # fmt: skip
    record_change(
        session, actor, target, EventKind.MESSAGE_MOVED, now=now,
        message_id=message.id, **{"from": ticket_ref(source)},
    )  # fmt: skip
    index_tickets(session, [source.id, target.id])
    return message


def split_message(session: Session, actor: Principal, message_id: int, *, now: datetime) -> Ticket:
    """Open a new ticket whose first message is this one, linked as related to the old one.

    The requester is the message's author (for an agent's message, the old
    ticket's requester); subject, priority, category, team and mailbox come
    from the old ticket. A contact's held message is released: on a ticket of
    their own it needs no acceptance, so it becomes public there, and a
    pending participant with nothing else on the old ticket leaves it.

    Raises:
        NotFound: no such message, or the actor may not see its ticket.
        PermissionDenied: the actor may not merge tickets.
        Conflict: the message is its ticket's only one, or an agent's held
            note (confirm or reject it first).
    """
    message, source = _movable(session, actor, message_id)
    released = _release(message)
    requester = session.get_one(Contact, message.author_contact_id or source.requester_id)
    ticket = open_linked_ticket(
        session, source, LinkKind.RELATED, subject=source.subject, requester=requester,
        source=message.source, now=now,
    )  # fmt: skip
    _transfer(session, message, source, ticket, now=now)
    left = released and drop_pending_participant(session, source, requester.id)
    record_change(
        session, actor, ticket, EventKind.MESSAGE_SPLIT, now=now,
        message_id=message.id, released=released, **{"from": ticket_ref(source)},
    )  # fmt: skip
    record_change(
        session, actor, source, EventKind.MESSAGE_SPLIT, now=now, message_id=message.id,
        to=ticket_ref(ticket), participant_removed=requester.id if left else None,
    )  # fmt: skip
    index_tickets(session, [source.id, ticket.id])
    return ticket


def _movable(session: Session, actor: Principal, message_id: int) -> tuple[Message, Ticket]:
    message = session.get(Message, message_id)
    # Only staff correct threading; to anyone else an internal message does not exist.
    if message is None or not is_staff(actor):
        raise NotFound("no such message")
    source = ticket_for(session, actor, message.ticket_id, Action.MERGE_TICKETS)
    count = session.scalar(
        select(func.count()).select_from(Message).where(Message.ticket_id == source.id)
    )
    if (count or 0) <= 1:
        raise Conflict("a ticket's only message cannot leave it; merge the ticket instead")
    return message, source


def _check_target(source: Ticket, target: Ticket) -> None:
    if source.id == target.id:
        raise ValidationError("target_ticket_id", "the message is already on this ticket")
    if source.tenant_id != target.tenant_id:
        raise ValidationError("target_ticket_id", "tickets of two tenants")
    if target.merged_into_id is not None:
        raise Conflict(f"ticket #{target.number} was merged; move to what it was merged into")
    if target.status is Status.CLOSED:
        raise Conflict(f"ticket #{target.number} is closed")


def _transfer(
    session: Session, message: Message, source: Ticket, target: Ticket, *, now: datetime
) -> None:
    message.ticket_id = target.id
    for attachment in message.attachments:
        attachment.ticket_id = target.id
    source.message_count = max(0, source.message_count - 1)
    target.message_count += 1
    target.last_activity_at = now
    move_thread_reference(session, source.tenant_id, message.message_id, source.id, target.id)
    session.flush()


def _release(message: Message) -> bool:
    if message.hold_reason is None:
        return False
    if message.author_type is not AuthorType.CLIENT:
        raise Conflict("confirm or reject the agent's held note first")
    message.hold_reason = None
    message.visibility = Visibility.PUBLIC
    return True
