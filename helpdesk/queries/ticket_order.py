"""Sorting ticket lists and paging through them by key, never by offset.

A page starts after the key of the previous page's last ticket: its sort
value(s) and its id, which breaks ties, so no ticket is shown twice or
skipped however many share a timestamp. Each order walks an index of
helpdesk/models/ticket.py that starts with the tenant and ends with the sort
column and id, so the millionth ticket costs what the first does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, literal, tuple_
from sqlalchemy.orm import Session

from helpdesk.enums import Priority
from helpdesk.errors import ValidationError
from helpdesk.models import Ticket

# A page key as plain JSON values: what a cursor carries.
Key = tuple[Any, ...]
# A ticket read for a page, with its search score when searching.
Row = tuple[Ticket, float | None]
PRIORITY_ORDER = (Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT)


class SortField(StrEnum):
    LAST_ACTIVITY = "last_activity_at"
    CREATED = "created_at"
    UPDATED = "updated_at"
    NUMBER = "number"
    # Urgent to low (descending), then by last activity.
    PRIORITY = "priority"
    # Best search match first; only with search words.
    RELEVANCE = "relevance"


@dataclass(frozen=True)
class Sort:
    field: SortField = SortField.LAST_ACTIVITY
    descending: bool = True

    @classmethod
    def parse(cls, value: str) -> Sort:
        """Read "-created_at" (descending) or "created_at" (ascending).

        Raises:
            ValidationError: no such sort.
        """
        name = value.removeprefix("-")
        try:
            return cls(SortField(name), descending=value.startswith("-"))
        except ValueError:
            choices = ", ".join(field.value for field in SortField)
            raise ValidationError("sort", f"sort by one of {choices}") from None

    def __str__(self) -> str:
        return f"{'-' if self.descending else ''}{self.field.value}"


DEFAULT_SORT = Sort()
RELEVANCE = Sort(SortField.RELEVANCE)
_KEY_TYPES: dict[SortField, tuple[type, ...]] = {
    SortField.LAST_ACTIVITY: (datetime, int),
    SortField.CREATED: (datetime, int),
    SortField.UPDATED: (datetime, int),
    SortField.NUMBER: (int, int),
    SortField.PRIORITY: (Priority, datetime, int),
    SortField.RELEVANCE: (float, int),
}


def fetch_page(
    session: Session,
    statements: Sequence[Select[Ticket]],
    sort: Sort,
    after: Key | None,
    limit: int,
    *,
    score: ColumnElement[float] | None = None,
) -> tuple[list[Ticket], Key | None]:
    """Return up to `limit` tickets after `after` in `sort` order, and the next page's key.

    The list is the union of `statements`: each is read along its own index
    and the pages are merged, so a union costs a page per part instead of
    every row of every part. `score` is the search hits' score column,
    needed for the relevance sort.

    Raises:
        ValidationError: `after` is no key of this sort (field "cursor"), or
            relevance is asked without search words (field "sort").
    """
    start = decode_key(sort, after) if after is not None else None
    rows: list[Row] = []
    for statement in statements:
        if sort.field is SortField.PRIORITY:
            rows += _by_priority(session, statement, sort, start, limit)
        else:
            columns = _columns(sort, score)
            rows += _rows(session, statement, columns, sort.descending, start, limit, score)
    if len(statements) > 1:
        rows = _merged(rows, sort)
    page, more = rows[:limit], len(rows) > limit
    next_key = _key_of(sort, *page[-1]) if more else None
    return [ticket for ticket, _score in page], next_key


def decode_key(sort: Sort, key: Key) -> Key:
    """Return the key's values as the query binds them.

    Raises:
        ValidationError: the key does not fit this sort.
    """
    types = _KEY_TYPES[sort.field]
    try:
        if len(key) != len(types):
            raise ValueError("wrong length")
        return tuple(_parse(kind, value) for kind, value in zip(types, key, strict=True))
    except (TypeError, ValueError):
        raise ValidationError("cursor", "this cursor belongs to another list") from None


def _parse(kind: type, value: Any) -> Any:
    if kind is datetime:
        if not isinstance(value, str):
            raise TypeError("a timestamp is a string")
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError("naive timestamp")
        return moment
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError("not a number")
        return float(value)
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("not an integer")
        return value
    return Priority(value)


def _columns(sort: Sort, score: ColumnElement[float] | None) -> list[ColumnElement[Any]]:
    if sort.field is SortField.RELEVANCE:
        if score is None:
            raise ValidationError("sort", "sort by relevance only when searching")
        return [score, Ticket.id.expression]
    name = "last_activity_at" if sort.field is SortField.PRIORITY else sort.field.value
    return [getattr(Ticket, name).expression, Ticket.id.expression]


def _rows(
    session: Session,
    statement: Select[Ticket],
    columns: Sequence[ColumnElement[Any]],
    descending: bool,
    start: Key | None,
    limit: int,
    score: ColumnElement[float] | None = None,
) -> list[Row]:
    query = statement if score is None else statement.add_columns(score)
    if start is not None:
        position = tuple_(*columns)
        bound = tuple_(
            *(literal(value, column.type) for value, column in zip(start, columns, strict=True))
        )
        query = query.where(position < bound if descending else position > bound)
    order = [column.desc() if descending else column.asc() for column in columns]
    result = session.execute(query.order_by(*order).limit(limit + 1))
    if score is None:
        return [(ticket, None) for ticket in result.scalars()]
    return [(row[0], row[1]) for row in result]


def _by_priority(
    session: Session,
    statement: Select[Ticket],
    sort: Sort,
    start: Key | None,
    limit: int,
) -> list[Row]:
    # Priorities are words, not ranks an index could order: read one priority
    # after the other, each in (last_activity_at, id) order along
    # ix_tickets_priority_activity, until the page is full.
    levels = list(reversed(PRIORITY_ORDER) if sort.descending else PRIORITY_ORDER)
    if start is not None:
        levels = levels[levels.index(start[0]) :]
    columns = _columns(sort, None)
    rows: list[Row] = []
    for level in levels:
        within = start[1:] if start is not None and level == start[0] else None
        level_rows = _rows(
            session, statement.where(Ticket.priority == level), columns, sort.descending,
            within, limit - len(rows),
        )  # fmt: skip
        rows += level_rows
        if len(rows) > limit:
            break
    return rows


def _merged(rows: list[Row], sort: Sort) -> list[Row]:
    # Python orders like the database here: the same values, ids breaking ties.
    unique = {ticket.id: (ticket, score) for ticket, score in rows}
    return sorted(unique.values(), key=lambda row: _order_of(sort, *row), reverse=sort.descending)


def _order_of(sort: Sort, ticket: Ticket, score: float | None) -> tuple[Any, ...]:
    if sort.field is SortField.RELEVANCE:
        return (score, ticket.id)
    if sort.field is SortField.PRIORITY:
        return (PRIORITY_ORDER.index(ticket.priority), ticket.last_activity_at, ticket.id)
    return (getattr(ticket, sort.field.value), ticket.id)


def _key_of(sort: Sort, ticket: Ticket, score: float | None) -> Key:
    if sort.field is SortField.RELEVANCE:
        return (score, ticket.id)
    if sort.field is SortField.PRIORITY:
        return (ticket.priority.value, ticket.last_activity_at.isoformat(), ticket.id)
    value = getattr(ticket, sort.field.value)
    return (value.isoformat() if isinstance(value, datetime) else value, ticket.id)
