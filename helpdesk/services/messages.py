"""Messages on a ticket: agents' replies and notes, clients' replies, and reading them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.enums import AuthorType, EventKind, Source, Status, Visibility
from helpdesk.errors import ValidationError
from helpdesk.models import Message, Ticket
from helpdesk.outbox import enqueue
from helpdesk.policy import Action, can_on_ticket, is_staff, require
from helpdesk.principal import Client, Principal, System
from helpdesk.services.contacts import client_principal, require_not_blocked
from helpdesk.services.ticket_access import (
    Author,
    Draft,
    MailFacts,
    append_message,
    checked_body,
    get_ticket_by_id,
    is_participant,
    note_change,
    record_change,
    shift_status,
    ticket_for,
)
from helpdesk.services.ticket_links import create_follow_up
from helpdesk.workflow import is_reopen

# Outbox kinds this module writes: who hears of a message is the workers' call,
# but an internal note never reaches a client.
OUTBOX_PUBLIC_REPLY = "public_reply_added"
OUTBOX_CLIENT_REPLY = "client_reply_added"
OUTBOX_INTERNAL_NOTE = "internal_note_added"

# An agent's public reply hands an active ticket over to the client: the
# resolution clock pauses until they answer.
AFTER_AGENT_REPLY = {
    Status.OPEN: Status.WAITING_ON_CLIENT,
    Status.IN_PROGRESS: Status.WAITING_ON_CLIENT,
}
# A client's reply hands the ticket back to us; on a resolved ticket it reopens it.
# (On a closed ticket it opens a follow-up instead; see ticket_links.)
AFTER_CLIENT_REPLY = {
    Status.WAITING_ON_CLIENT: Status.OPEN,
    Status.ON_HOLD: Status.OPEN,
    Status.RESOLVED: Status.OPEN,
}


def add_public_reply(
    session: Session,
    actor: Principal,
    ticket_id: int,
    body: str,
    *,
    body_html: str = "",
    body_full_text: str | None = None,
    source: Source = Source.CONSOLE,
    message_id: str | None = None,
    mail: MailFacts | None = None,
    now: datetime,
) -> Message:
    """Append an agent's public reply, which the client will be sent.

    The first reply by an agent stamps `first_response_at`. An open or
    in-progress ticket moves to waiting_on_client; other statuses stay.
    `body_html` must already be sanitized; `mail` holds what the gateway
    knows of a reply that came by mail.

    Raises:
        NotFound: the actor may not see the ticket.
        PermissionDenied: a client, or a light agent (who may only add notes).
        ValidationError: the body is empty.
    """
    ticket = ticket_for(session, actor, ticket_id, Action.REPLY_PUBLIC)
    require(not isinstance(actor, Client), "clients answer with a client reply")
    author = Author.of(actor)
    text = checked_body(body, source)
    draft = Draft(text, source, body_html, body_full_text, message_id, mail=mail)
    message = append_message(session, ticket, author, draft, now=now)
    if author.type is AuthorType.AGENT and ticket.first_response_at is None:
        ticket.first_response_at = now
    change = follow_status(ticket, AFTER_AGENT_REPLY, now)
    _record_public_message(session, actor, ticket, message, change, now=now)
    notify_message(session, OUTBOX_PUBLIC_REPLY, message, now)
    return message


def add_internal_note(
    session: Session,
    actor: Principal,
    ticket_id: int,
    body: str,
    *,
    body_html: str = "",
    body_full_text: str | None = None,
    source: Source = Source.CONSOLE,
    message_id: str | None = None,
    mail: MailFacts | None = None,
    now: datetime,
) -> Message:
    """Append a note only staff will ever see; the status stays as it is.

    `mail` holds what the gateway knows of a note that came by mail.

    Raises:
        NotFound: the actor may not see the ticket.
        PermissionDenied: the actor may not add notes (clients never may).
        ValidationError: the body is empty.
    """
    ticket = ticket_for(session, actor, ticket_id, Action.ADD_NOTE)
    text = checked_body(body, source)
    draft = Draft(
        text, source, body_html, body_full_text, message_id, Visibility.INTERNAL, mail=mail
    )
    message = append_message(session, ticket, Author.of(actor), draft, now=now)
    record_change(session, actor, ticket, EventKind.NOTE_ADDED, now=now, message_id=message.id)
    notify_message(session, OUTBOX_INTERNAL_NOTE, message, now)
    return message


def add_client_reply(
    session: Session,
    actor: Principal,
    ticket_id: int,
    body: str,
    *,
    author_contact_id: int | None = None,
    body_html: str = "",
    body_full_text: str | None = None,
    message_id: str | None = None,
    source: Source | None = None,
    mail: MailFacts | None = None,
    now: datetime,
) -> Message:
    """Append a client's reply, from the portal (a Client) or by mail (the System).

    The System must name the contact it posts for, who must be allowed on the
    ticket as a client. A reply to a merged ticket goes to the ticket it was
    merged into. The reply moves a waiting or on-hold ticket to open
    and reopens a resolved one; on a closed ticket it opens a follow-up ticket
    and the message returned is on that new ticket. `body` is the reply
    without quoted history, `body_full_text` the whole text; `mail` holds
    what the gateway knows of a reply that came by mail.

    Raises:
        NotFound: the actor may not see the ticket, or no such contact.
        PermissionDenied: staff (they reply with add_public_reply), or a
            contact who takes no part in the ticket.
        ValidationError: no `author_contact_id` from the System, or an empty
            body from anywhere but mail.
    """
    ticket = _merge_survivor(
        session, actor, ticket_for(session, actor, ticket_id, Action.REPLY_PUBLIC)
    )
    require(isinstance(actor, Client | System), "staff answer with a public reply")
    contact_id = _reply_author(session, actor, ticket, author_contact_id)
    source = source or (Source.PORTAL if isinstance(actor, Client) else Source.EMAIL)
    text = checked_body(body, source)
    draft = Draft(text, source, body_html, body_full_text, message_id, mail=mail)
    if ticket.status is Status.CLOSED:
        return create_follow_up(session, actor, ticket, contact_id, draft, now=now)
    message = append_message(session, ticket, Author.contact(contact_id), draft, now=now)
    record_client_reply(session, actor, ticket, message, now=now)
    return message


def record_client_reply(
    session: Session,
    actor: Principal,
    ticket: Ticket,
    message: Message,
    *,
    now: datetime,
    flush: bool = True,
) -> None:
    """Move the ticket as a client's reply does and record the reply: events and outbox.

    `message` is the reply, already on the ticket. Callers check policy; a
    batch of mail passes `flush=False` and writes its rows together.
    """
    record = record_change if flush else note_change
    previous = ticket.status
    change = follow_status(ticket, AFTER_CLIENT_REPLY, now)
    record(
        session, actor, ticket, EventKind.MESSAGE_ADDED, now=now, message_id=message.id,
        visibility=Visibility.PUBLIC.value, status=change,
    )  # fmt: skip
    if change is not None and is_reopen(previous, ticket.status):
        record(session, actor, ticket, EventKind.REOPENED, now=now, **change, message_id=message.id)
    notify_message(session, OUTBOX_CLIENT_REPLY, message, now)


def _record_public_message(
    session: Session,
    actor: Principal,
    ticket: Ticket,
    message: Message,
    status_change: dict[str, str] | None,
    *,
    now: datetime,
) -> None:
    record_change(
        session, actor, ticket, EventKind.MESSAGE_ADDED, now=now, message_id=message.id,
        visibility=Visibility.PUBLIC.value, status=status_change,
    )  # fmt: skip


def list_messages(session: Session, actor: Principal, ticket_id: int) -> list[Message]:
    """Return the ticket's messages, oldest first; clients get public ones only.

    Raises:
        NotFound: the actor may not see the ticket.
    """
    ticket = get_ticket_by_id(session, actor, ticket_id)
    query = (
        select(Message)
        .where(Message.ticket_id == ticket.id)
        .order_by(Message.created_at, Message.id)
    )
    # Internal notes are for staff: filtered in SQL, so no code path below
    # can hand one to a client by mistake.
    if not is_staff(actor):
        query = query.where(Message.visibility == Visibility.PUBLIC)
    return list(session.scalars(query))


def _reply_author(
    session: Session, actor: Principal, ticket: Ticket, author_contact_id: int | None
) -> int:
    if isinstance(actor, Client):
        require(author_contact_id in (None, actor.contact_id), "clients write as themselves")
        require_not_blocked(session, actor.contact_id)
        return actor.contact_id
    if author_contact_id is None:
        raise ValidationError("author_contact_id", "name the contact the reply is from")
    require_not_blocked(session, author_contact_id)
    # Mail posted for a contact carries exactly the rights that contact has.
    as_client = client_principal(session, author_contact_id)
    participant = is_participant(session, as_client, ticket)
    allowed = can_on_ticket(as_client, Action.REPLY_PUBLIC, ticket, is_participant=participant)
    require(allowed, "this contact takes no part in the ticket")
    return author_contact_id


def _merge_survivor(session: Session, actor: Principal, ticket: Ticket) -> Ticket:
    # Merging closes the duplicate, but its thread lives on in the ticket it
    # went into: a reply there must not spawn a follow-up of the duplicate.
    seen = {ticket.id}
    while ticket.merged_into_id is not None and ticket.merged_into_id not in seen:
        ticket = ticket_for(session, actor, ticket.merged_into_id, Action.REPLY_PUBLIC)
        seen.add(ticket.id)
    return ticket


def follow_status(
    ticket: Ticket, moves: dict[Status, Status], now: datetime
) -> dict[str, str] | None:
    """Move the ticket as `moves` says for its status; return the change, or None."""
    target = moves.get(ticket.status)
    return None if target is None else shift_status(ticket, target, now=now)


def notify_message(session: Session, kind: str, message: Message, now: datetime) -> None:
    """Tell the outbox about a message (the workers decide who hears of it)."""
    enqueue(
        session,
        kind,
        tenant_id=message.tenant_id,
        now=now,
        ticket_id=message.ticket_id,
        message_id=message.id,
    )
