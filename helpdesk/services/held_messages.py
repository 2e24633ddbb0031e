"""Held messages: mail kept on a ticket, internal, until an agent accepts or rejects it."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.enums import AuthorType, EventKind, Role, Visibility
from helpdesk.errors import Conflict, NotFound
from helpdesk.models import Message, Ticket, TicketParticipant
from helpdesk.policy import Action, is_staff, require
from helpdesk.principal import PlatformAdmin, Principal, Staff
from helpdesk.search import index_ticket
from helpdesk.services.messages import (
    AFTER_AGENT_REPLY,
    AFTER_CLIENT_REPLY,
    OUTBOX_CLIENT_REPLY,
    OUTBOX_INTERNAL_NOTE,
    OUTBOX_PUBLIC_REPLY,
    follow_status,
    notify_message,
)
from helpdesk.services.ticket_access import (
    Author,
    Draft,
    append_message,
    is_member,
    record_change,
    ticket_for,
)
from helpdesk.services.ticket_people import add_participant
from helpdesk.workflow import is_reopen

# The outbox kind that tells agents a message waits for them.
OUTBOX_MESSAGE_HELD = "message_held"
MAX_HOLD_REASON = 300
# Who may answer clients (see helpdesk.policy: light agents only add notes).
REPLYING_ROLES = (Role.AGENT, Role.ADMIN)


def hold_message(
    session: Session,
    actor: Principal,
    ticket: Ticket,
    author: Author,
    draft: Draft,
    reason: str,
    *,
    now: datetime,
    **payload: Any,
) -> Message:
    """Add a message that waits for an agent, internal until accepted; callers check policy.

    Records MESSAGE_HELD (with `payload`) and tells the outbox, so agents hear of it.
    """
    held = replace(draft, visibility=Visibility.INTERNAL, hold_reason=reason[:MAX_HOLD_REASON])
    message = append_message(session, ticket, author, held, now=now)
    record_change(
        session, actor, ticket, EventKind.MESSAGE_HELD, now=now,
        message_id=message.id, reason=message.hold_reason, **payload,
    )  # fmt: skip
    notify_message(session, OUTBOX_MESSAGE_HELD, message, now)
    return message


def accept_held_message(
    session: Session, actor: Principal, message_id: int, *, now: datetime
) -> Message:
    """Post a held message as the public reply of whoever wrote it.

    A contact's message becomes their reply: a pending participant becomes a
    participant, a waiting ticket opens, a resolved one reopens (a closed one
    stays closed). An agent's note becomes their reply: only that agent or an
    admin may confirm it, since it goes out in the agent's name. The outbox
    hears of the reply as of any other.

    Raises:
        NotFound: no such message, or the actor may not see its ticket.
        PermissionDenied: the actor may not post public replies, or confirms
            another agent's note without being an admin.
        Conflict: the message is not held.
    """
    message, ticket = _held(session, actor, message_id)
    if message.author_type is AuthorType.AGENT:
        require(_may_post_as(actor, message.author_user_id), "only that agent or an admin may")
    reason = message.hold_reason
    message.hold_reason = None
    ticket.last_activity_at = now
    if message.author_type is AuthorType.CLIENT:
        _post_contact_reply(session, actor, ticket, message, reason, now=now)
    else:
        _post_agent_reply(session, actor, ticket, message, reason, now=now)
    index_ticket(session, ticket)
    return message


def release_vouched_messages(
    session: Session, actor: Principal, ticket: Ticket, contact_ids: list[int], *, now: datetime
) -> list[Message]:
    """Post the held mail of contacts someone on the ticket has just vouched for; callers check.

    When the requester or a participant copies a pending participant on their
    own mail, that person is in the conversation after all: what they wrote
    while unknown is posted as if an agent had accepted it. This is what makes
    the order mail arrives in not matter.
    """
    if not contact_ids:
        return []
    held = session.scalars(
        select(Message)
        .where(
            Message.ticket_id == ticket.id,
            Message.author_contact_id.in_(contact_ids),
            Message.hold_reason.is_not(None),
        )
        .order_by(Message.id)
    ).all()
    for message in held:
        reason = message.hold_reason
        message.hold_reason = None
        _post_contact_reply(session, actor, ticket, message, reason, now=now)
    if held:
        index_ticket(session, ticket)
    return list(held)


def reject_held_message(
    session: Session, actor: Principal, message_id: int, *, now: datetime
) -> Message:
    """Keep a held message internal for good; it is never posted.

    A pending participant who wrote it leaves the ticket, unless a public
    message of theirs is on it.

    Raises:
        NotFound: no such message, or the actor may not see its ticket.
        PermissionDenied: the actor may not post public replies.
        Conflict: the message is not held.
    """
    message, ticket = _held(session, actor, message_id)
    reason = message.hold_reason
    message.hold_reason = None
    removed = None
    if message.author_contact_id is not None and drop_pending_participant(
        session, ticket, message.author_contact_id
    ):
        removed = message.author_contact_id
    record_change(
        session, actor, ticket, EventKind.HELD_MESSAGE_REJECTED, now=now,
        message_id=message.id, reason=reason, participant_removed=removed,
    )  # fmt: skip
    return message


def drop_pending_participant(session: Session, ticket: Ticket, contact_id: int) -> bool:
    """Remove a pending participant who has no public message on the ticket; return whether."""
    participant = session.get(TicketParticipant, (ticket.id, contact_id))
    if participant is None or not participant.pending:
        return False
    public = select(Message.id).where(
        Message.ticket_id == ticket.id,
        Message.author_contact_id == contact_id,
        Message.visibility == Visibility.PUBLIC,
    )
    if session.scalar(public.limit(1)) is not None:
        return False
    session.delete(participant)
    session.flush()
    return True


def _held(session: Session, actor: Principal, message_id: int) -> tuple[Message, Ticket]:
    message = session.get(Message, message_id)
    # Held mail is internal: for a client it does not exist.
    if message is None or not is_staff(actor):
        raise NotFound("no such message")
    ticket = ticket_for(session, actor, message.ticket_id, Action.REPLY_PUBLIC)
    require(isinstance(actor, Staff | PlatformAdmin), "an agent decides on held mail")
    if message.hold_reason is None:
        raise Conflict("this message is not held")
    return message, ticket


def _may_post_as(actor: Principal, user_id: int | None) -> bool:
    if isinstance(actor, PlatformAdmin):
        return True
    return isinstance(actor, Staff) and (actor.user_id == user_id or actor.role is Role.ADMIN)


def _post_contact_reply(
    session: Session,
    actor: Principal,
    ticket: Ticket,
    message: Message,
    reason: str | None,
    *,
    now: datetime,
) -> None:
    message.visibility = Visibility.PUBLIC
    contact_id = message.author_contact_id
    joined = contact_id is not None and add_participant(session, ticket, contact_id, now=now)
    previous = ticket.status
    change = follow_status(ticket, AFTER_CLIENT_REPLY, now)
    record_change(
        session, actor, ticket, EventKind.HELD_MESSAGE_ACCEPTED, now=now, message_id=message.id,
        reason=reason, status=change, participant_added=contact_id if joined else None,
    )  # fmt: skip
    if change is not None and is_reopen(previous, ticket.status):
        record_change(
            session, actor, ticket, EventKind.REOPENED, now=now, **change, message_id=message.id
        )
    notify_message(session, OUTBOX_CLIENT_REPLY, message, now)


def _post_agent_reply(
    session: Session,
    actor: Principal,
    ticket: Ticket,
    message: Message,
    reason: str | None,
    *,
    now: datetime,
) -> None:
    author_id = message.author_user_id or 0
    if not is_member(session, ticket.tenant_id, author_id, REPLYING_ROLES):
        # A light agent never answers clients: their mail stays a note.
        record_change(
            session, actor, ticket, EventKind.HELD_MESSAGE_ACCEPTED, now=now,
            message_id=message.id, reason=reason, visibility=Visibility.INTERNAL.value,
        )  # fmt: skip
        notify_message(session, OUTBOX_INTERNAL_NOTE, message, now)
        return
    message.visibility = Visibility.PUBLIC
    if ticket.first_response_at is None:
        ticket.first_response_at = now
    change = follow_status(ticket, AFTER_AGENT_REPLY, now)
    record_change(
        session, actor, ticket, EventKind.HELD_MESSAGE_ACCEPTED, now=now,
        message_id=message.id, reason=reason, status=change,
    )  # fmt: skip
    notify_message(session, OUTBOX_PUBLIC_REPLY, message, now)
