"""The ticket status machine: which moves are allowed and what each move stamps.

Statuses (helpdesk.enums.Status)::

    +--------------------------- active ---------------------------+
    |  open    in_progress    waiting_on_client (p)   on_hold (p)  |
    |  each of the four moves freely to any of the other three     |
    +--------------------------------------------------------------+
          |        ^                                        |
  resolve |        | reopen (to any active status)          | close
          v        |                                        v
       resolved ---+------------------- close -------->  closed
                                                     (final: nothing leaves)

    (p) paused: the resolution clock stops while the ticket is there.

- Any status other than `closed` may move to any other status; asking for the
  status a ticket already has is a no-op, not an error.
- `closed` is final: nothing leaves it. A client writing to a closed ticket
  gets a follow-up ticket linked to it instead (services.ticket_links).
- Leaving `resolved` for an active status is a *reopen*: `reopened_count` goes
  up by one, `resolved_at` is cleared and the service records REOPENED.
- Entering `resolved` stamps `resolved_at`; entering `closed` stamps
  `closed_at`, and `resolved_at` too when the ticket was never resolved.
- `waiting_on_client` and `on_hold` pause the resolution clock: entering a
  paused status stamps `sla_paused_at`; leaving it adds the paused seconds to
  `sla_paused_seconds` and clears `sla_paused_at`. Moving between the two
  paused statuses keeps the pause running.

The functions here are pure: `plan_transition` computes a ticket's new
`StatusState` from its current one, the target and the time; services apply
the result to the row with `apply_state` and write the event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any, Protocol

from helpdesk.enums import Status
from helpdesk.errors import InvalidTransition

ACTIVE_STATUSES = frozenset(
    {Status.OPEN, Status.IN_PROGRESS, Status.WAITING_ON_CLIENT, Status.ON_HOLD}
)
# While a ticket waits on the client or is on hold, the resolution clock stops.
PAUSED_STATUSES = frozenset({Status.WAITING_ON_CLIENT, Status.ON_HOLD})
DONE_STATUSES = frozenset({Status.RESOLVED, Status.CLOSED})

# The whole machine as data: the statuses each status may move to.
ALLOWED_TRANSITIONS: Mapping[Status, frozenset[Status]] = {
    Status.OPEN: frozenset(
        {
            Status.IN_PROGRESS,
            Status.WAITING_ON_CLIENT,
            Status.ON_HOLD,
            Status.RESOLVED,
            Status.CLOSED,
        }
    ),
    Status.IN_PROGRESS: frozenset(
        {Status.OPEN, Status.WAITING_ON_CLIENT, Status.ON_HOLD, Status.RESOLVED, Status.CLOSED}
    ),
    Status.WAITING_ON_CLIENT: frozenset(
        {Status.OPEN, Status.IN_PROGRESS, Status.ON_HOLD, Status.RESOLVED, Status.CLOSED}
    ),
    Status.ON_HOLD: frozenset(
        {Status.OPEN, Status.IN_PROGRESS, Status.WAITING_ON_CLIENT, Status.RESOLVED, Status.CLOSED}
    ),
    Status.RESOLVED: frozenset(
        {Status.OPEN, Status.IN_PROGRESS, Status.WAITING_ON_CLIENT, Status.ON_HOLD, Status.CLOSED}
    ),
    Status.CLOSED: frozenset(),
}


class HasStatusState(Protocol):
    """What the machine reads of a ticket (a `Ticket` row fits)."""

    status: Status
    resolved_at: datetime | None
    closed_at: datetime | None
    sla_paused_at: datetime | None
    sla_paused_seconds: int
    reopened_count: int


@dataclass(frozen=True)
class StatusState:
    """The fields of a ticket that the status machine owns."""

    status: Status
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    sla_paused_at: datetime | None = None
    sla_paused_seconds: int = 0
    reopened_count: int = 0


def check_transition(current: Status, target: Status) -> None:
    """Accept a move from `current` to `target`; staying put is always accepted.

    Raises:
        InvalidTransition: the machine has no such move (anything out of closed).
    """
    if current == target or target in ALLOWED_TRANSITIONS[current]:
        return
    if current is Status.CLOSED:
        raise InvalidTransition(
            f"a closed ticket cannot move to {target.value}; closed is final "
            "(a client reply opens a follow-up ticket instead)"
        )
    raise InvalidTransition(f"a ticket cannot move from {current.value} to {target.value}")


def is_reopen(current: Status, target: Status) -> bool:
    """Whether moving from `current` to `target` reopens a resolved ticket."""
    return current is Status.RESOLVED and target in ACTIVE_STATUSES


def state_of(ticket: HasStatusState) -> StatusState:
    """Read the machine's fields off a ticket."""
    return StatusState(**{field.name: getattr(ticket, field.name) for field in fields(StatusState)})


def apply_state(ticket: HasStatusState, state: StatusState) -> None:
    """Write the machine's fields onto a ticket."""
    for field in fields(StatusState):
        setattr(ticket, field.name, getattr(state, field.name))


def plan_transition(state: StatusState, target: Status, now: datetime) -> StatusState:
    """Return the ticket's fields after moving to `target` at `now`.

    Raises:
        InvalidTransition: the move is not allowed.
    """
    check_transition(state.status, target)
    if state.status == target:
        return state
    changes: dict[str, Any] = {"status": target}
    changes |= _pause_changes(state, target, now)
    changes |= _resolution_changes(state, target, now)
    return replace(state, **changes)


def _pause_changes(state: StatusState, target: Status, now: datetime) -> dict[str, Any]:
    was_paused = state.status in PAUSED_STATUSES
    if target in PAUSED_STATUSES:
        return {} if was_paused else {"sla_paused_at": now}
    if not was_paused:
        return {}
    return {
        "sla_paused_at": None,
        "sla_paused_seconds": state.sla_paused_seconds + paused_seconds(state, now),
    }


def paused_seconds(state: StatusState, now: datetime) -> int:
    """Return how long the running pause has lasted at `now`, never negative."""
    if state.sla_paused_at is None:
        return 0
    # A clock that stepped backwards must not give time back to the SLA.
    return max(0, int((now - state.sla_paused_at).total_seconds()))


def _resolution_changes(state: StatusState, target: Status, now: datetime) -> dict[str, Any]:
    if target is Status.RESOLVED:
        return {"resolved_at": now}
    if target is Status.CLOSED:
        return {"closed_at": now, "resolved_at": state.resolved_at or now}
    if is_reopen(state.status, target):
        return {"resolved_at": None, "reopened_count": state.reopened_count + 1}
    return {}
