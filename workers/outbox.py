"""The outbox dispatcher and its actor: committed side effects handed to Dramatiq and run.

The dispatcher moves due rows to `dispatched` under a lease and commits before
it sends their ids, so a message never names a row the worker cannot see yet.
A worker that dies before finishing leaves its row `dispatched`; once the lease
expires the dispatcher hands it out again. Handlers therefore run at least
once, and must be safe to run twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

import dramatiq
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from helpdesk.clock import Clock, utcnow
from helpdesk.db import SessionFactory, session_scope
from helpdesk.enums import OutboxState
from helpdesk.models import OutboxEvent

log = logging.getLogger(__name__)

ACTOR_NAME = "handle_outbox_event"
QUEUE_NAME = "outbox"
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8
FIRST_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=1)
_ERROR_LENGTH = 2000


class Handler(Protocol):
    """Carries out one kind of side effect inside the actor's transaction."""

    def __call__(self, session: Session, event: OutboxEvent, *, now: datetime) -> None: ...


HANDLERS: dict[str, Handler] = {}


def register_handler(kind: str, handler: Handler) -> None:
    """Have `handler` run the outbox events of `kind` (the last registration wins)."""
    HANDLERS[kind] = handler


def dispatch_pending(
    session_factory: SessionFactory,
    send: Callable[[int], Any],
    *,
    now: datetime,
    limit: int = 100,
) -> int:
    """Hand due outbox events to the workers; return how many were sent.

    Due: pending and available, or dispatched with an expired lease.
    """
    with session_scope(session_factory) as session:
        ids = _lease_due(session, now=now, limit=limit)
    for event_id in ids:
        send(event_id)
    return len(ids)


def _lease_due(session: Session, *, now: datetime, limit: int) -> list[int]:
    due = (
        select(OutboxEvent.id)
        .where(
            or_(
                OutboxEvent.state == OutboxState.PENDING,
                OutboxEvent.state == OutboxState.DISPATCHED,
            ),
            OutboxEvent.available_at <= now,
        )
        .order_by(OutboxEvent.available_at, OutboxEvent.id)
        .limit(limit)
        # Two dispatchers never take the same rows (PostgreSQL; SQLite
        # serializes writers anyway).
        .with_for_update(skip_locked=True)
    )
    ids = list(session.scalars(due))
    if ids:
        session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_(ids))
            .values(state=OutboxState.DISPATCHED, available_at=now + LEASE)
        )
    return ids


def run_outbox_event(
    session_factory: SessionFactory,
    event_id: int,
    *,
    now: datetime,
    handlers: Mapping[str, Handler] = HANDLERS,
    max_attempts: int = MAX_ATTEMPTS,
) -> None:
    """Run one dispatched event's handler and mark it done, in one transaction.

    A failing handler's changes are rolled back; the event is retried later
    with exponential backoff, and marked failed after `max_attempts`.
    """
    try:
        with session_scope(session_factory) as session:
            _run(session, event_id, now=now, handlers=handlers)
    # The actor is a loop boundary: whatever a handler raises is recorded on
    # the row and retried, never lost.
    except Exception as exc:
        log.warning("outbox event %s failed: %s", event_id, exc, exc_info=True)
        with session_scope(session_factory) as session:
            _record_failure(session, event_id, exc, now=now, max_attempts=max_attempts)


def _run(
    session: Session, event_id: int, *, now: datetime, handlers: Mapping[str, Handler]
) -> None:
    event = session.get(OutboxEvent, event_id, with_for_update=True)
    # Done, failed or rescheduled already: this message is a duplicate delivery.
    if event is None or event.state != OutboxState.DISPATCHED:
        return
    handler = handlers.get(event.kind)
    if handler is None:
        log.debug("no handler for outbox event kind %r; marking %s done", event.kind, event_id)
    else:
        handler(session, event, now=now)
    event.state = OutboxState.DONE
    event.done_at = now
    event.last_error = None


def _record_failure(
    session: Session, event_id: int, exc: Exception, *, now: datetime, max_attempts: int
) -> None:
    event = session.get(OutboxEvent, event_id, with_for_update=True)
    if event is None:
        return
    event.attempts += 1
    event.last_error = f"{type(exc).__name__}: {exc}"[:_ERROR_LENGTH]
    if event.attempts >= max_attempts:
        event.state = OutboxState.FAILED
        log.error("outbox event %s (%s) failed for good: %s", event_id, event.kind, exc)
    else:
        event.state = OutboxState.PENDING
        event.available_at = now + backoff(event.attempts)


def backoff(attempts: int) -> timedelta:
    """Return the wait before the next try after `attempts` failures: 30 s, 1 min, 2 min, ..."""
    return min(FIRST_BACKOFF * (1 << min(max(attempts - 1, 0), 20)), MAX_BACKOFF)


def declare_outbox_actor(
    broker: dramatiq.Broker,
    session_factory: SessionFactory,
    *,
    clock: Clock = utcnow,
    handlers: Mapping[str, Handler] = HANDLERS,
    max_attempts: int = MAX_ATTEMPTS,
) -> dramatiq.Actor[[int], None]:
    """Declare the `handle_outbox_event` actor on `broker`, bound to this process's database."""

    def handle_outbox_event(event_id: int) -> None:
        run_outbox_event(
            session_factory, event_id, now=clock(), handlers=handlers, max_attempts=max_attempts
        )

    # Retries live in the outbox row (attempts, backoff), not in the broker.
    decorate = dramatiq.actor(
        broker=broker, actor_name=ACTOR_NAME, queue_name=QUEUE_NAME, max_retries=0
    )
    return decorate(handle_outbox_event)
