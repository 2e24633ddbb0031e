"""Time as a value passed in: every timestamp is timezone-aware UTC."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)


def require_aware(moment: datetime) -> datetime:
    """Return `moment` in UTC; a naive datetime is a programming error.

    Raises:
        ValueError: `moment` carries no time zone.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: pass timezone-aware UTC times")
    return moment.astimezone(UTC)
