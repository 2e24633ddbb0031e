"""Values read once per transaction: asked fifty times by a batch of mail, read once.

A value kept here lives until its session's transaction ends (commit,
rollback or close), or until the session writes a row of a model the value
was read from, so that a transaction never sees one out of date.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

T = TypeVar("T")
_KEY = "helpdesk.transaction_cache"


@dataclass(frozen=True)
class _Kept:
    value: object
    read_from: frozenset[type]


def cached(
    session: Session, key: Hashable, load: Callable[[], T], *, read_from: tuple[type, ...]
) -> T:
    """Return the value kept under `key` in this transaction, loading it the first time.

    `read_from` names the models the value is read from: a change the session
    flushes to a row of one of them forgets the value.
    """
    values: dict[Hashable, _Kept] = session.info.setdefault(_KEY, {})
    kept = values.get(key)
    if kept is None:
        kept = values[key] = _Kept(load(), frozenset(read_from))
    return cast(T, kept.value)


@event.listens_for(Session, "before_flush")
def _forget_changed(session: Session, _context: Any, _instances: Any) -> None:
    values: dict[Hashable, _Kept] | None = session.info.get(_KEY)
    if not values:
        return
    changed = {type(row) for row in (*session.new, *session.dirty, *session.deleted)}
    for key in [key for key, kept in values.items() if kept.read_from & changed]:
        del values[key]


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    # A savepoint's end does not count: what was read before it still holds.
    if transaction.parent is None:
        session.info.pop(_KEY, None)
