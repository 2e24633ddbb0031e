"""Build the read shapes from rows, a page at a time, with one query per related table."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpdesk.enums import AuthorType, Visibility
from helpdesk.models import (
    Attachment,
    Category,
    Contact,
    ContactEmail,
    CustomFieldDefinition,
    Message,
    Organization,
    Team,
    Ticket,
    TicketEvent,
    User,
)
from helpdesk.services.reads import unread_ticket_ids
from helpdesk.sla_state import sla_state
from web.api.shapes import (
    AgentRef,
    AttachmentOut,
    Author,
    EventOut,
    MessageOut,
    NamedRef,
    PersonRef,
    Satisfaction,
    Sla,
    TicketOut,
)

SYSTEM_NAME = "System"


def present_tickets(
    session: Session,
    tickets: Sequence[Ticket],
    *,
    now: datetime,
    for_client: bool = False,
    reader_id: int | None = None,
) -> list[TicketOut]:
    """Return the API shape of each ticket; clients see only what is theirs to see.

    For clients, tags and staff-only custom fields are left out and the message
    count counts public messages only. With `reader_id` (the calling agent's
    user id) each ticket says whether it is unread for them.
    """
    if not tickets:
        return []
    related = _Related(session, tickets, for_client=for_client)
    shapes = [related.ticket(ticket, now) for ticket in tickets]
    if reader_id is not None and not for_client:
        unread = unread_ticket_ids(session, reader_id, tickets)
        for shape in shapes:
            shape.unread = shape.id in unread
    return shapes


def present_ticket(
    session: Session,
    ticket: Ticket,
    *,
    now: datetime,
    for_client: bool = False,
    reader_id: int | None = None,
) -> TicketOut:
    return present_tickets(session, [ticket], now=now, for_client=for_client, reader_id=reader_id)[
        0
    ]


class _Related:
    """What a page of tickets refers to, loaded once per table."""

    def __init__(self, session: Session, tickets: Sequence[Ticket], *, for_client: bool) -> None:
        self.for_client = for_client
        self.requesters = _people(session, {t.requester_id for t in tickets})
        self.users = _by_id(session, User, {t.assignee_id for t in tickets})
        self.teams = _by_id(session, Team, {t.team_id for t in tickets})
        self.organizations = _by_id(session, Organization, {t.organization_id for t in tickets})
        self.categories = _by_id(session, Category, {t.category_id for t in tickets})
        linked = {t.merged_into_id for t in tickets} | {t.parent_id for t in tickets}
        self.numbers = _numbers(session, linked)
        self.public_counts = _public_counts(session, tickets) if for_client else {}
        self.client_fields = _client_fields(session, tickets) if for_client else set()

    def ticket(self, ticket: Ticket, now: datetime) -> TicketOut:
        assignee = self.users.get(ticket.assignee_id)
        team = self.teams.get(ticket.team_id)
        organization = self.organizations.get(ticket.organization_id)
        category = self.categories.get(ticket.category_id)
        return TicketOut(
            id=ticket.id,
            number=ticket.number,
            subject=ticket.subject,
            status=ticket.status,
            priority=ticket.priority,
            category=category.key if category else None,
            source=ticket.source,
            requester=self.requesters[ticket.requester_id],
            assignee=AgentRef(id=assignee.id, email=assignee.email, name=assignee.name)
            if assignee
            else None,
            team=NamedRef(id=team.id, name=team.name) if team else None,
            organization=NamedRef(id=organization.id, name=organization.name)
            if organization
            else None,
            tags=[] if self.for_client else ticket.tag_names,
            custom_fields=self._custom_fields(ticket),
            created_at=ticket.created_at,
            updated_at=ticket.updated_at,
            last_activity_at=ticket.last_activity_at,
            first_response_at=ticket.first_response_at,
            resolved_at=ticket.resolved_at,
            closed_at=ticket.closed_at,
            sla=Sla(
                first_response_due_at=ticket.first_response_due_at,
                resolution_due_at=ticket.resolution_due_at,
                state=sla_state(ticket, now),
            ),
            message_count=self.public_counts.get(ticket.id, 0)
            if self.for_client
            else ticket.message_count,
            reopened_count=ticket.reopened_count,
            satisfaction=Satisfaction(
                rating=ticket.satisfaction_rating, comment=ticket.satisfaction_comment
            )
            if ticket.satisfaction_rating
            else None,
            merged_into=self.numbers.get(ticket.merged_into_id),
            parent=self.numbers.get(ticket.parent_id),
            version=ticket.version,
        )

    def _custom_fields(self, ticket: Ticket) -> dict[str, Any]:
        if not self.for_client:
            return dict(ticket.custom_fields)
        key = ticket.tenant_id
        return {k: v for k, v in ticket.custom_fields.items() if (key, k) in self.client_fields}


def present_messages(session: Session, messages: Sequence[Message]) -> list[MessageOut]:
    """Return the API shape of each message (the caller has already filtered what to show)."""
    authors = _Authors(
        session,
        contact_ids={m.author_contact_id for m in messages},
        user_ids={m.author_user_id for m in messages},
    )
    return [
        MessageOut(
            id=message.id,
            author=authors.of(
                message.author_type, message.author_user_id, message.author_contact_id
            ),
            visibility=message.visibility,
            body_text=message.body_text,
            body_html=message.body_html,
            attachments=[present_attachment(a) for a in message.attachments],
            message_id=message.message_id,
            source=message.source,
            created_at=message.created_at,
        )
        for message in messages
    ]


def present_attachment(attachment: Attachment) -> AttachmentOut:
    """An attachment as the API shows it: the type is what the bytes are, not what was claimed."""
    return AttachmentOut(
        id=attachment.id,
        filename=attachment.filename,
        content_type=attachment.sniffed_type,
        size=attachment.size,
    )


def present_events(session: Session, events: Sequence[TicketEvent]) -> list[EventOut]:
    authors = _Authors(
        session,
        contact_ids={e.actor_contact_id for e in events},
        user_ids={e.actor_user_id for e in events},
    )
    return [
        EventOut(
            id=event.id,
            kind=event.kind,
            actor=authors.of(event.actor_type, event.actor_user_id, event.actor_contact_id),
            payload=dict(event.payload),
            created_at=event.created_at,
        )
        for event in events
    ]


class _Authors:
    def __init__(
        self, session: Session, *, contact_ids: set[int | None], user_ids: set[int | None]
    ) -> None:
        self.people = _people(session, contact_ids)
        self.users = _by_id(session, User, user_ids)

    def of(self, kind: AuthorType, user_id: int | None, contact_id: int | None) -> Author:
        user = self.users.get(user_id)
        if user is not None:
            return Author(type=kind, email=user.email, name=user.name)
        person = self.people.get(contact_id) if contact_id is not None else None
        if person is not None:
            return Author(type=kind, email=person.email, name=person.name)
        return Author(type=kind, email=None, name=SYSTEM_NAME)


def _by_id(session: Session, model: Any, ids: Iterable[int | None]) -> dict[int | None, Any]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {row.id: row for row in session.scalars(select(model).where(model.id.in_(wanted)))}


def _people(session: Session, contact_ids: Iterable[int | None]) -> dict[int | None, PersonRef]:
    wanted = {i for i in contact_ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(
        select(Contact.id, Contact.name, ContactEmail.email, ContactEmail.is_primary)
        .join(ContactEmail, ContactEmail.contact_id == Contact.id)
        .where(Contact.id.in_(wanted))
        .order_by(Contact.id, ContactEmail.is_primary.desc(), ContactEmail.id)
    )
    people: dict[int | None, PersonRef] = {}
    for contact_id, name, email, _primary in rows:
        people.setdefault(contact_id, PersonRef(email=email, name=name))
    return people


def _numbers(session: Session, ticket_ids: Iterable[int | None]) -> dict[int | None, int]:
    wanted = {i for i in ticket_ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(Ticket.id, Ticket.number).where(Ticket.id.in_(wanted)))
    return {ticket_id: number for ticket_id, number in rows}


def _public_counts(session: Session, tickets: Sequence[Ticket]) -> dict[int, int]:
    rows = session.execute(
        select(Message.ticket_id, func.count())
        .where(
            Message.ticket_id.in_([t.id for t in tickets]),
            Message.visibility == Visibility.PUBLIC,
        )
        .group_by(Message.ticket_id)
    )
    return {ticket_id: count for ticket_id, count in rows}


def _client_fields(session: Session, tickets: Sequence[Ticket]) -> set[tuple[int, str]]:
    rows = session.execute(
        select(CustomFieldDefinition.tenant_id, CustomFieldDefinition.key).where(
            CustomFieldDefinition.tenant_id.in_({t.tenant_id for t in tickets}),
            CustomFieldDefinition.visible_to_clients.is_(True),
        )
    )
    return {(tenant_id, key) for tenant_id, key in rows}
