"""What a session keeps for the length of one transaction, forgotten when it ends.

Two kinds: values read once per transaction (`cached`: asked fifty times by a
batch of mail, read once), and work a transaction owes before it commits (the
search index rows of the tickets it touched, `helpdesk.search`). Either is
dropped when the transaction ends (commit, rollback or close); a savepoint's
end does not count, so what the rest of the transaction did still holds.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

T = TypeVar("T")
_KEY = "helpdesk.transaction_state"
_CACHE = "cached values"


def transaction_state(session: Session, key: Hashable, new: Callable[[], T]) -> T:
    """Return the session's value under `key` for this transaction, made by `new` the first time."""
    state: dict[Hashable, object] = session.info.setdefault(_KEY, {})
    if key not in state:
        state[key] = new()
    return cast(T, state[key])


@dataclass(frozen=True)
class _Kept:
    value: object
    read_from: frozenset[type]


def cached(
    session: Session, key: Hashable, load: Callable[[], T], *, read_from: tuple[type, ...]
) -> T:
    """Return the value kept under `key` in this transaction, loading it the first time.

    `read_from` names the models the value is read from: a change the session
    flushes to a row of one of them forgets the value, so that a transaction
    never sees one out of date.
    """
    values: dict[Hashable, _Kept] = transaction_state(session, _CACHE, dict)
    kept = values.get(key)
    if kept is None:
        kept = values[key] = _Kept(load(), frozenset(read_from))
    return cast(T, kept.value)


@event.listens_for(Session, "before_flush")
def _forget_changed(session: Session, _context: Any, _instances: Any) -> None:
    values: dict[Hashable, _Kept] | None = session.info.get(_KEY, {}).get(_CACHE)
    if not values:
        return
    changed = {type(row) for row in (*session.new, *session.dirty, *session.deleted)}
    for key in [key for key, kept in values.items() if kept.read_from & changed]:
        del values[key]


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_KEY, None)
