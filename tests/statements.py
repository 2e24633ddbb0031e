"""The SQL a block of code runs, for tests that count round trips."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session


@contextmanager
def recorded_sql(
    target: Session | Engine, keep: Callable[[str], bool] = lambda _sql: True
) -> Iterator[list[str]]:
    """Collect the statements `keep` accepts that run inside the block.

    A session is watched on its own connection; an engine on every
    connection it hands out, for code that opens sessions of its own.
    """
    seen: list[str] = []
    watched: Connection | Engine = target.connection() if isinstance(target, Session) else target

    def remember(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if keep(statement):
            seen.append(statement)

    event.listen(watched, "before_cursor_execute", remember)
    try:
        yield seen
    finally:
        event.remove(watched, "before_cursor_execute", remember)
