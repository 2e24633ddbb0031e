"""The ticket lists walk indexes in order: no table scan, no sort of a tenant's tickets."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from helpdesk.enums import Priority, Status
from helpdesk.queries.tickets import Sort, SortField
from helpdesk.services import tickets as svc
from tests.factories import make_ticket
from tests.test_ticket_queries import at, every_page
from tests.ticket_helpers import Desk, make_desk


@pytest.fixture
def desk(session: Session) -> Desk:
    """A tenant with a few tickets of each kind the walks below filter on."""
    desk = make_desk(session)
    for minute, priority in enumerate([Priority.URGENT, Priority.LOW, Priority.URGENT] * 2):
        ticket = make_ticket(session, desk.tenant, priority=priority, now=at(minute // 2))
        if minute % 2:
            svc.assign_ticket(session, desk.agent, ticket.id, desk.agent.user_id, now=at(9))
    return desk


@contextmanager
def list_statements(session: Session) -> Iterator[list[tuple[str, Any]]]:
    """Collect the SQL (with parameters) of the ticket list queries run inside the block."""
    seen: list[tuple[str, Any]] = []
    connection = session.connection()

    def remember(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM tickets" in statement and "ORDER BY" in statement:
            seen.append((statement, parameters))

    event.listen(connection, "before_cursor_execute", remember)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", remember)


def plan(session: Session, statement: str, parameters: Any) -> str:
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        return "\n".join(row[3] for row in rows)
    # With both off, a plan still scanning or sorting the table has no index to walk.
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    connection.exec_driver_sql("SET LOCAL enable_sort = off")
    rows = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
    return "\n".join(row[0] for row in rows)


WALKS = [
    pytest.param({}, None, id="default"),
    pytest.param({"status": (Status.OPEN,)}, None, id="status"),
    pytest.param({"status": (Status.OPEN,), "assignee": "me"}, None, id="status and assignee"),
    pytest.param({}, Sort(SortField.CREATED, descending=False), id="created"),
    pytest.param({}, Sort(SortField.UPDATED), id="updated"),
    pytest.param({}, Sort(SortField.NUMBER), id="number"),
    pytest.param({}, Sort(SortField.PRIORITY), id="priority"),
]


@pytest.mark.parametrize(("filters", "sort"), WALKS)
def test_lists_walk_an_index_in_order_instead_of_sorting_the_tenant(
    session: Session, desk: Desk, filters: dict[str, Any], sort: Sort | None
) -> None:
    with list_statements(session) as statements:
        every_page(session, desk, sort, 1, **filters)
    assert statements
    for statement, parameters in statements:
        text = plan(session, statement, parameters)
        assert re.search(r"USING (COVERING )?INDEX|Index (Only )?Scan", text), text
        assert "Seq Scan on tickets" not in text, text
        assert not re.search(r"(^|->  )Sort\b", text, re.MULTILINE), text
        assert "TEMP B-TREE FOR ORDER BY" not in text, text
