"""Ticket numbers stay unique and gap-free when many writers open tickets at once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from helpdesk.db import make_session_factory, session_scope
from helpdesk.enums import Source
from helpdesk.errors import NotFound
from helpdesk.principal import System
from helpdesk.services.tickets import create_ticket, next_ticket_number
from tests.factories import NOW, make_contact, make_tenant

THREADS, TICKETS_EACH = 8, 25


def open_tickets(engine: Engine, tenant_id: int, start: threading.Barrier) -> list[int]:
    """Open TICKETS_EACH tickets, each in its own committed transaction."""
    factory = make_session_factory(engine)
    numbers = []
    start.wait()
    for _ in range(TICKETS_EACH):
        with session_scope(factory) as session:
            ticket = create_ticket(
                session,
                System(tenant_id=tenant_id),
                tenant_id,
                subject="Concurrent",
                body="Hello",
                requester_email="racer@client.example",
                source=Source.EMAIL,
                now=NOW,
            )
            numbers.append(ticket.number)
    return numbers


@pytest.mark.slow
def test_concurrent_writers_get_unique_consecutive_numbers(engine: Engine) -> None:
    # Given two tenants whose requester already exists,
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        rows = [make_tenant(session), make_tenant(session)]
        for tenant in rows:
            make_contact(session, tenant, "racer@client.example")
        tenants = [tenant.id for tenant in rows]
    # when 8 threads per tenant open 25 tickets each, all at once,
    start = threading.Barrier(THREADS * len(tenants))
    with ThreadPoolExecutor(max_workers=THREADS * len(tenants)) as pool:
        futures = {
            tenant_id: [pool.submit(open_tickets, engine, tenant_id, start) for _ in range(THREADS)]
            for tenant_id in tenants
        }
        results = {
            tenant_id: [n for future in jobs for n in future.result()]
            for tenant_id, jobs in futures.items()
        }
    # then each tenant numbered its own tickets 1..200, every number exactly once.
    for numbers in results.values():
        assert sorted(numbers) == list(range(1, THREADS * TICKETS_EACH + 1))


def test_next_number_counts_per_tenant(session: Session) -> None:
    first, second = make_tenant(session), make_tenant(session)
    assert [next_ticket_number(session, first.id) for _ in range(3)] == [1, 2, 3]
    assert next_ticket_number(session, second.id) == 1
    session.refresh(first)
    assert first.last_ticket_number == 3


def test_next_number_of_a_missing_tenant_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound):
        next_ticket_number(session, 999_999)
