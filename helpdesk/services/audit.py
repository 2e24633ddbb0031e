"""The ticket audit trail: one event per change, written by the service that changes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from helpdesk.enums import AuthorType, EventKind
from helpdesk.models import Ticket, TicketEvent
from helpdesk.principal import Client, PlatformAdmin, Principal, Staff


def record_event(
    session: Session,
    ticket: Ticket,
    kind: EventKind,
    actor: Principal,
    *,
    now: datetime,
    **payload: Any,
) -> TicketEvent:
    """Append an event to the ticket's trail, attributed to `actor`."""
    event = TicketEvent(
        tenant_id=ticket.tenant_id,
        ticket_id=ticket.id,
        kind=kind,
        actor_type=actor_type(actor),
        actor_user_id=actor.user_id if isinstance(actor, Staff | PlatformAdmin) else None,
        actor_contact_id=actor.contact_id if isinstance(actor, Client) else None,
        payload=payload,
        created_at=now,
    )
    session.add(event)
    return event


def actor_type(actor: Principal) -> AuthorType:
    """Name the kind of author an actor is, as messages and events show it."""
    if isinstance(actor, Client):
        return AuthorType.CLIENT
    if isinstance(actor, Staff | PlatformAdmin):
        return AuthorType.AGENT
    return AuthorType.SYSTEM
