"""Reaching a ticket as an actor, and the steps every change to a ticket shares."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.enums import AuthorType, EventKind, Role, Source, Status, Visibility
from helpdesk.errors import NotFound, ValidationError
from helpdesk.models import Membership, Message, Ticket, TicketParticipant, User
from helpdesk.policy import Action, can_on_ticket, can_view_ticket, require
from helpdesk.principal import Client, PlatformAdmin, Principal, Staff
from helpdesk.search import index_ticket
from helpdesk.services.audit import record_event
from helpdesk.workflow import apply_state, plan_transition, state_of


@dataclass(frozen=True)
class Author:
    """Who a message is by: a contact, an agent, or the system."""

    type: AuthorType
    user_id: int | None = None
    contact_id: int | None = None

    @classmethod
    def contact(cls, contact_id: int) -> Author:
        return cls(AuthorType.CLIENT, contact_id=contact_id)

    @classmethod
    def of(cls, actor: Principal) -> Author:
        """Return the author an acting principal writes as."""
        if isinstance(actor, Client):
            return cls.contact(actor.contact_id)
        if isinstance(actor, Staff | PlatformAdmin):
            return cls(AuthorType.AGENT, user_id=actor.user_id)
        return cls(AuthorType.SYSTEM)


@dataclass(frozen=True)
class MailFacts:
    """What the mail gateway knows of a message beyond its text; written with its row."""

    raw_message_id: int | None = None
    in_reply_to: str | None = None
    references: str | None = None  # the Message-IDs, space-separated
    thread_rule: str | None = None
    thread_evidence: str | None = None
    mail_kind: str | None = None
    sent_at: datetime | None = None
    masked_secrets: int = 0
    blocked_attachments: tuple[tuple[str, str], ...] = ()  # (filename, reason)
    external_refs: tuple[str, ...] = ()

    def stamp(self, message: Message) -> None:
        """Write these facts onto the message."""
        message.raw_message_id = self.raw_message_id
        message.in_reply_to = self.in_reply_to
        message.references = self.references
        message.thread_rule = self.thread_rule
        message.thread_evidence = self.thread_evidence
        message.mail_kind = self.mail_kind
        message.sent_at = self.sent_at
        message.masked_secrets = self.masked_secrets
        message.blocked_attachments = [
            {"filename": name, "reason": reason} for name, reason in self.blocked_attachments
        ]
        message.external_refs = list(self.external_refs)


@dataclass(frozen=True)
class Draft:
    """A message about to be written: its text and where it comes from.

    `body` is the text without quoted history, `body_full_text` all of it
    (None: the same); `body_html` must already be sanitized. `mail` holds
    what the gateway knows of a message that came by mail.
    """

    body: str
    source: Source
    body_html: str = ""
    body_full_text: str | None = None
    message_id: str | None = None
    visibility: Visibility = Visibility.PUBLIC
    mail: MailFacts | None = None
    # Set on a message that waits for an agent to accept it (it stays internal).
    hold_reason: str | None = None


def get_ticket(session: Session, actor: Principal, tenant_id: int, number: int) -> Ticket:
    """Return the tenant's ticket with this number, if the actor may see it.

    Raises:
        NotFound: no such ticket, or one the actor may not see (never a 403, so
            that a ticket's existence does not leak).
    """
    ticket = session.scalar(
        select(Ticket).where(Ticket.tenant_id == tenant_id, Ticket.number == number)
    )
    return _checked(session, actor, ticket, Action.VIEW_TICKETS)


def get_ticket_by_id(session: Session, actor: Principal, ticket_id: int) -> Ticket:
    """Return the ticket if the actor may see it.

    Raises:
        NotFound: no such ticket, or one the actor may not see.
    """
    return ticket_for(session, actor, ticket_id, Action.VIEW_TICKETS)


def ticket_for(session: Session, actor: Principal, ticket_id: int, action: Action) -> Ticket:
    """Return the ticket for the actor to do `action` on.

    Raises:
        NotFound: the actor may not even see the ticket.
        PermissionDenied: the actor sees it but may not do `action`.
    """
    return _checked(session, actor, session.get(Ticket, ticket_id), action)


def _checked(session: Session, actor: Principal, ticket: Ticket | None, action: Action) -> Ticket:
    if ticket is None:
        raise NotFound("no such ticket")
    participant = is_participant(session, actor, ticket)
    if not can_view_ticket(actor, ticket, is_participant=participant):
        raise NotFound("no such ticket")
    allowed = can_on_ticket(actor, action, ticket, is_participant=participant)
    require(allowed, f"you may not {action.value.replace('_', ' ')} on this ticket")
    return ticket


def is_participant(session: Session, actor: Principal, ticket: Ticket) -> bool:
    """Whether the actor is a client taking part (a pending participant is not)."""
    if not isinstance(actor, Client):
        return False
    return is_contact_participant(session, ticket.id, actor.contact_id)


def is_contact_participant(session: Session, ticket_id: int, contact_id: int) -> bool:
    """Whether the contact takes part in the ticket (pending participants do not)."""
    row = session.scalar(
        select(TicketParticipant.contact_id).where(
            TicketParticipant.ticket_id == ticket_id,
            TicketParticipant.contact_id == contact_id,
            TicketParticipant.pending.is_(False),
        )
    )
    return row is not None


def is_member(session: Session, tenant_id: int, user_id: int, roles: Iterable[Role]) -> bool:
    """Whether the user is active staff of the tenant in one of `roles`."""
    row = session.scalar(
        select(Membership.id)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.tenant_id == tenant_id,
            Membership.user_id == user_id,
            Membership.active.is_(True),
            User.active.is_(True),
            Membership.role.in_(list(roles)),
        )
    )
    return row is not None


def checked_body(body: str, source: Source) -> str:
    """Return the body of a new message.

    Raises:
        ValidationError: an empty body from anywhere but mail (a mail may carry
            only attachments; a form or API call without text is a slip).
    """
    if source is not Source.EMAIL and not body.strip():
        raise ValidationError("body", "must not be empty")
    return body


def append_message(
    session: Session, ticket: Ticket, author: Author, draft: Draft, *, now: datetime
) -> Message:
    """Add a message to the ticket and count it; callers check policy and record."""
    message = draft_message(ticket, author, draft, now=now)
    session.add(message)
    session.flush()
    index_ticket(session, ticket)
    return message


def draft_message(ticket: Ticket, author: Author, draft: Draft, *, now: datetime) -> Message:
    """Return the ticket's next message, counted on the ticket but not yet added to the session.

    The ticket must have its id. `append_message` adds it at once; a batch of
    mail adds many and writes them together.
    """
    message = Message(
        tenant_id=ticket.tenant_id,
        ticket_id=ticket.id,
        author_type=author.type,
        author_user_id=author.user_id,
        author_contact_id=author.contact_id,
        visibility=draft.visibility,
        body_text=draft.body,
        body_full_text=draft.body if draft.body_full_text is None else draft.body_full_text,
        body_html=draft.body_html,
        message_id=draft.message_id,
        source=draft.source,
        hold_reason=draft.hold_reason,
        created_at=now,
    )
    if draft.mail is not None:
        draft.mail.stamp(message)
    ticket.message_count += 1
    ticket.last_activity_at = ticket.updated_at = now
    return message


def shift_status(ticket: Ticket, target: Status, *, now: datetime) -> dict[str, str] | None:
    """Move the row to `target` without recording it; return {"from", "to"}, or None.

    Raises:
        InvalidTransition: helpdesk.workflow has no such move.
    """
    previous = ticket.status
    apply_state(ticket, plan_transition(state_of(ticket), target, now))
    if previous == target:
        return None
    ticket.last_activity_at = now
    return {"from": previous.value, "to": target.value}


def record_change(
    session: Session,
    actor: Principal,
    ticket: Ticket,
    kind: EventKind,
    *,
    now: datetime,
    **payload: Any,
) -> None:
    """Stamp the ticket as updated, write the change's event and flush."""
    note_change(session, actor, ticket, kind, now=now, **payload)
    session.flush()


def note_change(
    session: Session,
    actor: Principal,
    ticket: Ticket,
    kind: EventKind,
    *,
    now: datetime,
    **payload: Any,
) -> None:
    """Stamp the ticket as updated and add the change's event, as `record_change`, unflushed.

    For a batch that writes the rows of many changes together.
    """
    ticket.updated_at = now
    record_event(session, ticket, kind, actor, now=now, **payload)


def set_and_record(
    session: Session,
    actor: Principal,
    ticket: Ticket,
    attribute: str,
    value: Any,
    kind: EventKind,
    *,
    now: datetime,
) -> bool:
    """Set one column and record {"from", "to"} when it changed; return whether it did."""
    previous = getattr(ticket, attribute)
    if previous == value:
        return False
    setattr(ticket, attribute, value)
    record_change(session, actor, ticket, kind, now=now, **{"from": previous, "to": value})
    return True
