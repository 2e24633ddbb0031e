"""The scheduler: runs periodic jobs (the outbox dispatch) until told to stop."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from helpdesk.clock import Clock, utcnow
from helpdesk.db import SessionFactory
from workers.outbox import dispatch_pending

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 1.0

Job = Callable[[], object]


def run_jobs(jobs: Sequence[Job], stop: threading.Event, *, interval: float) -> None:
    """Run every job, then wait `interval` seconds, until `stop` is set."""
    while not stop.is_set():
        for job in jobs:
            _run_one(job)
        stop.wait(interval)


def _run_one(job: Job) -> None:
    # The loop is a boundary: a failing job (the database restarting, the
    # broker unreachable) is logged and tried again on the next tick.
    try:
        job()
    except Exception:
        log.exception("scheduled job %r failed", job)


def outbox_job(
    session_factory: SessionFactory, send: Callable[[int], Any], *, clock: Clock = utcnow
) -> Job:
    """Return the job that dispatches due outbox events through `send`."""

    def dispatch_outbox() -> int:
        return dispatch_pending(session_factory, send, now=clock())

    return dispatch_outbox


class Scheduler:
    """The job loop in a thread of its own; `stop()` ends it after the current tick."""

    def __init__(self, jobs: Sequence[Job], *, interval: float = INTERVAL_SECONDS) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=partial(run_jobs, tuple(jobs), self._stop, interval=interval),
            name="helpdesk-scheduler",
            daemon=True,
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
