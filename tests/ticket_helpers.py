"""Shared set-up for the ticket service tests: a tenant with its people, and readers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.enums import EventKind, Role
from helpdesk.models import OutboxEvent, Tenant, Ticket, TicketEvent
from helpdesk.principal import Client, Staff, System
from tests.factories import make_client, make_staff, make_tenant


@dataclass
class Desk:
    """One tenant with one person of each kind."""

    tenant: Tenant
    admin: Staff
    agent: Staff
    light: Staff
    client: Client
    system: System


def make_desk(session: Session) -> Desk:
    tenant = make_tenant(session)
    return Desk(
        tenant=tenant,
        admin=make_staff(session, tenant, Role.ADMIN),
        agent=make_staff(session, tenant, Role.AGENT),
        light=make_staff(session, tenant, Role.LIGHT_AGENT),
        client=make_client(session, tenant),
        system=System(tenant_id=tenant.id),
    )


def events(session: Session, ticket: Ticket) -> list[tuple[EventKind, dict[str, Any]]]:
    """Return the ticket's audit trail as (kind, payload), oldest first."""
    session.flush()
    rows = session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
    )
    return [(row.kind, row.payload) for row in rows]


def kinds(session: Session, ticket: Ticket) -> list[EventKind]:
    return [kind for kind, _payload in events(session, ticket)]


def outbox(session: Session, kind: str) -> list[dict[str, Any]]:
    """Return the payloads of the outbox rows of one kind, oldest first."""
    session.flush()
    rows = session.scalars(
        select(OutboxEvent).where(OutboxEvent.kind == kind).order_by(OutboxEvent.id)
    )
    return [row.payload for row in rows]
