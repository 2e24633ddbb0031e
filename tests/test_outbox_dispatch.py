"""The outbox dispatcher and actor, end to end through a real Dramatiq broker and worker."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import dramatiq
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from helpdesk import outbox
from helpdesk.db import SessionFactory, make_session_factory, session_scope
from helpdesk.enums import OutboxState
from helpdesk.models import OutboxEvent
from helpdesk.settings import Settings
from tests.factories import NOW
from workers.broker import build_broker, start_worker
from workers.outbox import (
    HANDLERS,
    LEASE,
    Handler,
    backoff,
    declare_outbox_actor,
    dispatch_pending,
    register_handler,
)
from workers.scheduler import Scheduler, outbox_job

BROKERS = ["embedded", pytest.param("redis", marks=pytest.mark.redis)]


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def sessions(engine: Engine) -> SessionFactory:
    return make_session_factory(engine)


@pytest.fixture(params=BROKERS)
def broker_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    if request.param == "embedded":
        return settings
    return dataclasses.replace(settings, broker_url=request.getfixturevalue("redis_url"))


@contextmanager
def running_worker(
    settings: Settings, sessions: SessionFactory, clock: FakeClock, **options: Any
) -> Iterator[dramatiq.Actor[[int], None]]:
    broker = build_broker(settings)
    # Redis outlives a test: drop whatever an earlier test left queued.
    broker.flush_all()
    actor = declare_outbox_actor(broker, sessions, clock=clock, **options)
    worker = start_worker(broker, threads=2)
    try:
        yield actor
    finally:
        worker.stop(timeout=10_000)
        broker.close()


def enqueue(sessions: SessionFactory, kind: str, *, now: datetime = NOW) -> int:
    with session_scope(sessions) as session:
        event = outbox.enqueue(session, kind, tenant_id=None, now=now, ticket_id=7)
        session.flush()
        return event.id


def settled(sessions: SessionFactory, event_id: int, timeout: float = 15.0) -> OutboxEvent:
    """Wait until the worker has finished with the event.

    Not yet dispatched (pending, never tried) or dispatched both mean the
    worker has not run it yet.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope(sessions) as session:
            event = session.get(OutboxEvent, event_id)
            assert event is not None
            untouched = event.state == OutboxState.PENDING and event.attempts == 0
            if event.state != OutboxState.DISPATCHED and not untouched:
                return event
        time.sleep(0.02)
    raise AssertionError(f"outbox event {event_id} still dispatched after {timeout}s")


@pytest.fixture
def calls() -> Iterator[list[tuple[int, dict[str, Any]]]]:
    seen: list[tuple[int, dict[str, Any]]] = []

    def record(session: Session, event: OutboxEvent, *, now: datetime) -> None:
        seen.append((event.id, dict(event.payload)))

    register_handler("test.recorded", record)
    yield seen
    HANDLERS.pop("test.recorded")


def test_registered_handler_runs_exactly_once_and_the_event_ends_done(
    broker_settings: Settings, sessions: SessionFactory, calls: list[tuple[int, dict[str, Any]]]
) -> None:
    clock = FakeClock(NOW)
    event_id = enqueue(sessions, "test.recorded")
    with running_worker(broker_settings, sessions, clock) as actor:
        # The scheduler dispatches many times while the event is handled.
        scheduler = Scheduler([outbox_job(sessions, actor.send, clock=clock)], interval=0.01)
        scheduler.start()
        try:
            event = settled(sessions, event_id)
            time.sleep(0.2)
        finally:
            scheduler.stop()
        assert dispatch_pending(sessions, actor.send, now=clock() + LEASE * 2) == 0
    assert calls == [(event_id, {"ticket_id": 7})]
    assert (event.state, event.done_at, event.attempts) == (OutboxState.DONE, NOW, 0)


def test_failing_handler_backs_off_and_fails_after_the_attempts_limit(
    broker_settings: Settings, sessions: SessionFactory
) -> None:
    attempts: list[datetime] = []

    def explode(session: Session, event: OutboxEvent, *, now: datetime) -> None:
        attempts.append(now)
        raise RuntimeError("the relay said no")

    clock = FakeClock(NOW)
    event_id = enqueue(sessions, "test.failing")
    handlers: dict[str, Handler] = {"test.failing": explode}
    with running_worker(
        broker_settings, sessions, clock, handlers=handlers, max_attempts=3
    ) as actor:
        for attempt in (1, 2):
            assert dispatch_pending(sessions, actor.send, now=clock()) == 1
            event = settled(sessions, event_id)
            assert (event.state, event.attempts) == (OutboxState.PENDING, attempt)
            assert event.available_at == clock() + backoff(attempt)
            # Not due again before its backoff has passed.
            assert dispatch_pending(sessions, actor.send, now=clock()) == 0
            clock.advance(backoff(attempt))
        assert dispatch_pending(sessions, actor.send, now=clock()) == 1
        event = settled(sessions, event_id)
        assert dispatch_pending(sessions, actor.send, now=clock() + timedelta(days=1)) == 0
    assert (event.state, event.attempts) == (OutboxState.FAILED, 3)
    assert event.last_error == "RuntimeError: the relay said no"
    assert attempts == [NOW, NOW + backoff(1), NOW + backoff(1) + backoff(2)]


def test_failed_handler_leaves_no_partial_changes(
    settings: Settings, sessions: SessionFactory
) -> None:
    def half_done(session: Session, event: OutboxEvent, *, now: datetime) -> None:
        outbox.enqueue(session, "test.follow_up", tenant_id=None, now=now)
        session.flush()
        raise RuntimeError("crashed half way")

    clock = FakeClock(NOW)
    event_id = enqueue(sessions, "test.half")
    with running_worker(settings, sessions, clock, handlers={"test.half": half_done}) as actor:
        dispatch_pending(sessions, actor.send, now=clock())
        event = settled(sessions, event_id)
    assert (event.state, event.attempts) == (OutboxState.PENDING, 1)
    assert count_events(sessions, "test.follow_up") == 0


def test_event_of_unknown_kind_is_marked_done(settings: Settings, sessions: SessionFactory) -> None:
    clock = FakeClock(NOW)
    event_id = enqueue(sessions, "test.nobody_handles_this")
    with running_worker(settings, sessions, clock, handlers={}) as actor:
        assert dispatch_pending(sessions, actor.send, now=clock()) == 1
        event = settled(sessions, event_id)
    assert event.state == OutboxState.DONE


def test_event_whose_worker_died_is_dispatched_again_after_the_lease(
    sessions: SessionFactory,
) -> None:
    sent: list[int] = []
    event_id = enqueue(sessions, "test.lost")
    assert dispatch_pending(sessions, sent.append, now=NOW) == 1
    # No worker ever ran it: within the lease it stays with that worker.
    assert dispatch_pending(sessions, sent.append, now=NOW + LEASE - timedelta(seconds=1)) == 0
    assert dispatch_pending(sessions, sent.append, now=NOW + LEASE) == 1
    assert sent == [event_id, event_id]


def test_future_events_wait_and_the_limit_is_respected(sessions: SessionFactory) -> None:
    later = enqueue(sessions, "test.later", now=NOW + timedelta(minutes=2))
    due = [enqueue(sessions, "test.due") for _ in range(3)]
    sent: list[int] = []
    assert dispatch_pending(sessions, sent.append, now=NOW, limit=2) == 2
    assert dispatch_pending(sessions, sent.append, now=NOW, limit=2) == 1
    assert sent == due
    assert dispatch_pending(sessions, sent.append, now=NOW + timedelta(minutes=2)) == 1
    assert sent[-1] == later


def test_a_dispatch_that_cannot_send_is_retried_after_the_lease(sessions: SessionFactory) -> None:
    event_id = enqueue(sessions, "test.unsent")

    def broker_down(_event_id: int) -> None:
        raise ConnectionError("broker unreachable")

    with pytest.raises(ConnectionError):
        dispatch_pending(sessions, broker_down, now=NOW)
    sent: list[int] = []
    assert dispatch_pending(sessions, sent.append, now=NOW + LEASE) == 1
    assert sent == [event_id]


def count_events(sessions: SessionFactory, kind: str) -> int:
    with session_scope(sessions) as session:
        return (
            session.scalar(
                select(func.count()).select_from(OutboxEvent).where(OutboxEvent.kind == kind)
            )
            or 0
        )
