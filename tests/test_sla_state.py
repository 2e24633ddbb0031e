"""The SLA state word shown with every ticket."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from helpdesk.enums import Status
from helpdesk.sla_state import SlaState, sla_state

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@dataclass
class T:
    status: Status = Status.OPEN
    first_response_due_at: datetime | None = None
    first_response_at: datetime | None = None
    resolution_due_at: datetime | None = None
    resolved_at: datetime | None = None
    sla_paused_at: datetime | None = None


@pytest.mark.parametrize(
    ("ticket", "state"),
    [
        (T(), SlaState.NONE),
        (T(first_response_due_at=NOW + HOUR), SlaState.RUNNING),
        (T(first_response_due_at=NOW - HOUR), SlaState.BREACHED),
        (T(first_response_due_at=NOW - HOUR, first_response_at=NOW - 2 * HOUR), SlaState.MET),
        (T(first_response_due_at=NOW - 2 * HOUR, first_response_at=NOW - HOUR), SlaState.BREACHED),
        (
            T(first_response_due_at=NOW - HOUR, first_response_at=NOW - 2 * HOUR,
              resolution_due_at=NOW + HOUR, sla_paused_at=NOW - HOUR),
            SlaState.PAUSED,
        ),
        (
            T(first_response_due_at=NOW - HOUR, first_response_at=NOW - 2 * HOUR,
              resolution_due_at=NOW + HOUR, resolved_at=NOW),
            SlaState.MET,
        ),
        (T(resolution_due_at=NOW - HOUR, sla_paused_at=NOW - 2 * HOUR), SlaState.BREACHED),
    ],
)  # fmt: skip
def test_state_follows_the_deadlines(ticket: T, state: SlaState) -> None:
    assert sla_state(ticket, NOW) is state
