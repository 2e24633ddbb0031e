"""Where a ticket stands against its SLA deadlines, as one word for lists and the API."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Protocol

from helpdesk.enums import Status


class SlaState(StrEnum):
    NONE = "none"  # no SLA deadlines on the ticket
    RUNNING = "running"  # a deadline is ahead
    PAUSED = "paused"  # waiting on the client or on hold: the resolution clock stops
    BREACHED = "breached"  # a deadline passed before it was met
    MET = "met"  # every deadline was met


class SlaFields(Protocol):
    @property
    def status(self) -> Status: ...
    @property
    def first_response_due_at(self) -> datetime | None: ...
    @property
    def first_response_at(self) -> datetime | None: ...
    @property
    def resolution_due_at(self) -> datetime | None: ...
    @property
    def resolved_at(self) -> datetime | None: ...
    @property
    def sla_paused_at(self) -> datetime | None: ...


def sla_state(ticket: SlaFields, now: datetime) -> SlaState:
    """Return the ticket's SLA state at `now`."""
    deadlines = [
        (ticket.first_response_due_at, ticket.first_response_at),
        (ticket.resolution_due_at, ticket.resolved_at),
    ]
    set_deadlines = [(due, done) for due, done in deadlines if due is not None]
    if not set_deadlines:
        return SlaState.NONE
    if any(_missed(due, done, now) for due, done in set_deadlines):
        return SlaState.BREACHED
    if all(done is not None for _due, done in set_deadlines):
        return SlaState.MET
    if ticket.sla_paused_at is not None:
        return SlaState.PAUSED
    return SlaState.RUNNING


def _missed(due: datetime, done: datetime | None, now: datetime) -> bool:
    return done > due if done is not None else now > due
