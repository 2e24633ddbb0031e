"""The status machine alone: allowed moves, stamps, pauses, and invariants under random use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk.enums import Status
from helpdesk.errors import InvalidTransition
from helpdesk.workflow import (
    ALLOWED_TRANSITIONS,
    StatusState,
    check_transition,
    is_reopen,
    plan_transition,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ACTIVE = [Status.OPEN, Status.IN_PROGRESS, Status.WAITING_ON_CLIENT, Status.ON_HOLD]


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def walk(*steps: tuple[Status, int]) -> StatusState:
    state = StatusState(Status.OPEN)
    for target, minute in steps:
        state = plan_transition(state, target, at(minute))
    return state


def test_the_table_lets_every_status_but_closed_reach_every_other() -> None:
    for current in Status:
        expected = set() if current is Status.CLOSED else set(Status) - {current}
        assert set(ALLOWED_TRANSITIONS[current]) == expected, current


@pytest.mark.parametrize("target", [s for s in Status if s is not Status.CLOSED])
def test_nothing_leaves_closed(target: Status) -> None:
    with pytest.raises(InvalidTransition, match="closed is final"):
        check_transition(Status.CLOSED, target)


@pytest.mark.parametrize("status", list(Status))
def test_staying_in_the_same_status_is_a_no_op(status: Status) -> None:
    state = StatusState(status, sla_paused_seconds=5)
    check_transition(status, status)
    assert plan_transition(state, status, at(10)) == state


def test_resolving_stamps_resolved_at() -> None:
    state = walk((Status.RESOLVED, 30))
    assert state.resolved_at == at(30)
    assert state.closed_at is None


def test_closing_an_unresolved_ticket_stamps_both_times() -> None:
    state = walk((Status.CLOSED, 30))
    assert (state.resolved_at, state.closed_at) == (at(30), at(30))


def test_closing_a_resolved_ticket_keeps_the_resolution_time() -> None:
    state = walk((Status.RESOLVED, 30), (Status.CLOSED, 90))
    assert (state.resolved_at, state.closed_at) == (at(30), at(90))


def test_resolved_to_open_is_a_reopen_that_counts_and_clears_resolved_at() -> None:
    state = walk((Status.RESOLVED, 30), (Status.OPEN, 60))
    assert state.status is Status.OPEN
    assert state.resolved_at is None
    assert state.reopened_count == 1
    assert is_reopen(Status.RESOLVED, Status.OPEN)
    assert not is_reopen(Status.RESOLVED, Status.CLOSED)
    assert not is_reopen(Status.WAITING_ON_CLIENT, Status.OPEN)


def test_waiting_on_the_client_pauses_the_clock_until_the_ticket_moves_on() -> None:
    waiting = walk((Status.WAITING_ON_CLIENT, 10))
    assert waiting.sla_paused_at == at(10)
    back = plan_transition(waiting, Status.OPEN, at(40))
    assert back.sla_paused_at is None
    assert back.sla_paused_seconds == 30 * 60


def test_moving_between_the_two_paused_statuses_keeps_one_pause_running() -> None:
    state = walk((Status.WAITING_ON_CLIENT, 10), (Status.ON_HOLD, 20), (Status.IN_PROGRESS, 70))
    assert state.sla_paused_seconds == 60 * 60
    assert state.sla_paused_at is None


def test_resolving_while_paused_ends_the_pause() -> None:
    state = walk((Status.ON_HOLD, 0), (Status.RESOLVED, 15))
    assert state.sla_paused_at is None
    assert state.sla_paused_seconds == 15 * 60


def test_a_clock_stepping_backwards_never_makes_paused_time_negative() -> None:
    state = walk((Status.WAITING_ON_CLIENT, 60), (Status.OPEN, 30))
    assert state.sla_paused_seconds == 0


def test_reopening_into_a_paused_status_starts_a_pause() -> None:
    state = walk((Status.RESOLVED, 5), (Status.WAITING_ON_CLIENT, 10))
    assert state.reopened_count == 1
    assert state.sla_paused_at == at(10)
    assert state.resolved_at is None


def assert_consistent(state: StatusState) -> None:
    done = state.status in (Status.RESOLVED, Status.CLOSED)
    paused = state.status in (Status.WAITING_ON_CLIENT, Status.ON_HOLD)
    assert (state.resolved_at is not None) == done
    assert (state.closed_at is not None) == (state.status is Status.CLOSED)
    assert (state.sla_paused_at is not None) == paused
    assert state.sla_paused_seconds >= 0
    assert state.reopened_count >= 0


steps = st.lists(
    st.tuples(st.sampled_from(list(Status)), st.integers(min_value=-3600, max_value=86400)),
    max_size=40,
)


@settings(database=None, max_examples=300)
@given(steps)
def test_random_sequences_never_leave_an_inconsistent_ticket(
    sequence: list[tuple[Status, int]],
) -> None:
    # Given any sequence of requested moves at jittery times (even backwards),
    # when each allowed one is applied, then the invariants hold after every step.
    state = StatusState(Status.OPEN)
    now = T0
    for target, offset in sequence:
        now += timedelta(seconds=offset)
        if state.status is Status.CLOSED and target is not Status.CLOSED:
            with pytest.raises(InvalidTransition):
                plan_transition(state, target, now)
            continue
        before = state
        state = plan_transition(state, target, now)
        assert_consistent(state)
        assert state.sla_paused_seconds >= before.sla_paused_seconds
        assert state.reopened_count - before.reopened_count == int(is_reopen(before.status, target))


@settings(database=None, max_examples=200)
@given(steps)
def test_closed_is_absorbing(sequence: list[tuple[Status, int]]) -> None:
    closed = plan_transition(StatusState(Status.IN_PROGRESS), Status.CLOSED, T0)
    for target, _offset in sequence:
        if target is Status.CLOSED:
            assert plan_transition(closed, target, T0) == closed
        else:
            with pytest.raises(InvalidTransition):
                plan_transition(closed, target, T0)


@settings(database=None, max_examples=200)
@given(
    st.lists(st.sampled_from(ACTIVE), min_size=1, max_size=20),
    st.integers(min_value=1, max_value=3600),
)
def test_paused_seconds_add_up_to_the_time_spent_paused(statuses: list[Status], gap: int) -> None:
    # Each status is held for `gap` seconds; the clock must count exactly the
    # paused ones once the ticket finally resolves.
    state = StatusState(Status.OPEN)
    now = T0
    for status in statuses:
        state = plan_transition(state, status, now)
        now += timedelta(seconds=gap)
    state = plan_transition(state, Status.RESOLVED, now)
    paused_spans = [s for s in statuses if s in (Status.WAITING_ON_CLIENT, Status.ON_HOLD)]
    assert state.sla_paused_seconds == len(paused_spans) * gap
