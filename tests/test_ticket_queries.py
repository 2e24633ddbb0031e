"""Ticket lists: every filter, every sort, keyset pages and who sees what, on both backends."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from helpdesk.enums import Priority, Status
from helpdesk.errors import PermissionDenied, ValidationError
from helpdesk.models import Ticket, TicketParticipant
from helpdesk.policy import can_view_ticket
from helpdesk.principal import Operator, PlatformAdmin
from helpdesk.queries.ticket_order import PRIORITY_ORDER
from helpdesk.queries.tickets import (
    Key,
    Sort,
    SortField,
    TicketFilter,
    list_tickets,
    list_tickets_across_tenants,
)
from helpdesk.services import organizations, teams
from helpdesk.services import tickets as svc
from helpdesk.services.contacts import client_principal
from helpdesk.services.ticket_access import is_participant
from tests.factories import NOW, make_contact, make_ticket
from tests.ticket_helpers import Desk, make_desk


def at(minutes: int) -> datetime:
    return NOW + timedelta(minutes=minutes)


@dataclass
class Shelf:
    """A tenant with four different tickets, and a look-alike in another tenant."""

    desk: Desk
    tickets: dict[str, Ticket]
    team_id: int
    organization_id: int

    def names(self, tickets: list[Ticket]) -> set[str]:
        by_id = {ticket.id: name for name, ticket in self.tickets.items()}
        return {by_id[ticket.id] for ticket in tickets}


@pytest.fixture
def shelf(session: Session) -> Shelf:
    desk = make_desk(session)
    tenant, agent = desk.tenant, desk.agent
    corp = organizations.create_organization(
        session, desk.admin, tenant.id, name="Corp", domains=["corp.example"], now=NOW
    )
    team = teams.create_team(session, desk.admin, tenant.id, "Support", now=NOW)
    tickets = {
        "a": make_ticket(session, tenant, requester_email="ann@corp.example",
                         priority=Priority.URGENT, category="billing", tags=["vip"], now=at(0)),
        "b": make_ticket(session, tenant, requester_email="bob@else.example",
                         priority=Priority.LOW, now=at(10)),
        "c": make_ticket(session, tenant, requester_email="Ann@Corp.example",
                         priority=Priority.HIGH, tags=["vip", "printer"], now=at(20)),
        "d": make_ticket(session, tenant, requester_email="cid@else.example", category="bug",
                         now=at(30)),
    }  # fmt: skip
    svc.assign_ticket(session, agent, tickets["a"].id, agent.user_id, now=at(40))
    svc.assign_team(session, agent, tickets["a"].id, team.id, now=at(40))
    svc.assign_ticket(session, agent, tickets["c"].id, desk.admin.user_id, now=at(41))
    svc.change_status(session, agent, tickets["b"].id, Status.IN_PROGRESS, now=at(42))
    svc.change_status(session, agent, tickets["d"].id, Status.RESOLVED, now=at(43))
    elsewhere = make_desk(session)
    make_ticket(session, elsewhere.tenant, requester_email="ann@corp.example", tags=["vip"])
    return Shelf(desk, tickets, team.id, corp.id)


FILTERS: list[tuple[str, Callable[[Shelf], TicketFilter], set[str]]] = [
    ("nothing", lambda s: TicketFilter(), {"a", "b", "c", "d"}),
    ("one status", lambda s: TicketFilter(status=(Status.OPEN,)), {"a", "c"}),
    ("statuses", lambda s: TicketFilter(status=(Status.OPEN, Status.IN_PROGRESS)),
     {"a", "b", "c"}),
    ("priority", lambda s: TicketFilter(priority=(Priority.URGENT,)), {"a"}),
    ("priorities", lambda s: TicketFilter(priority=(Priority.LOW, Priority.HIGH)), {"b", "c"}),
    ("category", lambda s: TicketFilter(category="billing"), {"a"}),
    ("unknown category", lambda s: TicketFilter(category="nope"), set()),
    ("assigned to me", lambda s: TicketFilter(assignee="me"), {"a"}),
    ("unassigned", lambda s: TicketFilter(assignee="none"), {"b", "d"}),
    ("assigned to an id", lambda s: TicketFilter(assignee=s.desk.admin.user_id), {"c"}),
    ("team", lambda s: TicketFilter(team=s.team_id), {"a"}),
    ("no team", lambda s: TicketFilter(team="none"), {"b", "c", "d"}),
    ("requester", lambda s: TicketFilter(requester=" ANN@corp.example"), {"a", "c"}),
    ("unknown requester", lambda s: TicketFilter(requester="nobody@corp.example"), set()),
    ("malformed requester", lambda s: TicketFilter(requester="not an address"), set()),
    ("organization", lambda s: TicketFilter(organization=s.organization_id), {"a", "c"}),
    ("tag", lambda s: TicketFilter(tag="vip"), {"a", "c"}),
    ("tag in capitals", lambda s: TicketFilter(tag="PRINTER"), {"c"}),
    ("created at or after", lambda s: TicketFilter(created_after=at(10)), {"b", "c", "d"}),
    ("created before", lambda s: TicketFilter(created_before=at(10)), {"a"}),
    ("updated at or after", lambda s: TicketFilter(updated_after=at(42)), {"b", "d"}),
    ("updated before", lambda s: TicketFilter(updated_before=at(41)), {"a"}),
    ("several at once", lambda s: TicketFilter(status=(Status.OPEN,), tag="vip", assignee="me"),
     {"a"}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("make_filter", "expected"),
    [pytest.param(make, expected, id=name) for name, make, expected in FILTERS],
)
def test_each_filter_lists_exactly_its_tickets_of_the_tenant(
    session: Session, shelf: Shelf, make_filter: Callable[[Shelf], TicketFilter], expected: set[str]
) -> None:
    desk = shelf.desk
    tickets, next_key = list_tickets(session, desk.agent, desk.tenant.id, make_filter(shelf))
    assert shelf.names(tickets) == expected
    assert next_key is None


def test_without_a_sort_the_most_recently_active_come_first(session: Session, shelf: Shelf) -> None:
    desk = shelf.desk
    tickets, _ = list_tickets(session, desk.light, desk.tenant.id, TicketFilter())
    assert [shelf.names([t]).pop() for t in tickets] == ["d", "b", "c", "a"]


def _sort_key(sort: Sort) -> Callable[[Ticket], tuple[object, ...]]:
    if sort.field is SortField.PRIORITY:
        return lambda t: (PRIORITY_ORDER.index(t.priority), t.last_activity_at, t.id)
    return lambda t: (getattr(t, sort.field.value), t.id)


def every_page(
    session: Session, desk: Desk, sort: Sort | None, limit: int, **filters: object
) -> list[int]:
    """Walk the whole list a page at a time; keys travel through JSON as cursors do."""
    seen: list[int] = []
    after: Key | None = None
    for _page in range(100):
        criteria = TicketFilter(**filters)  # type: ignore[arg-type]
        tickets, key = list_tickets(
            session, desk.agent, desk.tenant.id, criteria, sort=sort, after=after, limit=limit
        )
        assert len(tickets) <= limit
        seen += [ticket.id for ticket in tickets]
        if key is None:
            return seen
        after = tuple(json.loads(json.dumps(list(key))))
    raise AssertionError(f"the pages never end: {seen}")


SORTS = [
    Sort(field, descending)
    for field in SortField
    if field is not SortField.RELEVANCE
    for descending in (True, False)
]


@pytest.mark.parametrize("sort", SORTS, ids=str)
def test_pages_follow_the_sort_without_duplicates_or_gaps_across_ties(
    session: Session, sort: Sort
) -> None:
    # Given many tickets sharing their timestamps and priorities
    desk = make_desk(session)
    priorities = [Priority.NORMAL, Priority.URGENT, Priority.LOW, Priority.NORMAL, Priority.HIGH]
    tickets = [
        make_ticket(session, desk.tenant, priority=priorities[i % 5], now=at(i // 4))
        for i in range(11)
    ]
    # When paging through them three at a time
    paged = every_page(session, desk, sort, limit=3)
    # Then every ticket comes once, in the order of the sort with ids breaking ties
    expected = sorted(tickets, key=_sort_key(sort), reverse=sort.descending)
    assert paged == [ticket.id for ticket in expected]
    assert every_page(session, desk, sort, limit=100) == paged


def test_pages_of_a_filtered_list_hold_to_the_filter(session: Session) -> None:
    desk = make_desk(session)
    urgent = [make_ticket(session, desk.tenant, priority=Priority.URGENT) for _ in range(5)]
    make_ticket(session, desk.tenant, priority=Priority.LOW)
    paged = every_page(session, desk, None, limit=2, priority=(Priority.URGENT,))
    assert paged == sorted(ticket.id for ticket in urgent)[::-1]


def test_a_key_of_another_sort_is_refused(session: Session, shelf: Shelf) -> None:
    desk = shelf.desk
    _, key = list_tickets(
        session, desk.agent, desk.tenant.id, TicketFilter(), sort=Sort(SortField.NUMBER), limit=1
    )
    assert key is not None
    with pytest.raises(ValidationError) as error:
        list_tickets(session, desk.agent, desk.tenant.id, TicketFilter(), after=key)
    assert error.value.field == "cursor"


def test_relevance_needs_search_words(session: Session, shelf: Shelf) -> None:
    desk = shelf.desk
    with pytest.raises(ValidationError):
        list_tickets(
            session, desk.agent, desk.tenant.id, TicketFilter(), sort=Sort(SortField.RELEVANCE)
        )


def test_staff_of_another_tenant_may_not_list(session: Session, shelf: Shelf) -> None:
    stranger = make_desk(session).agent
    with pytest.raises(PermissionDenied):
        list_tickets(session, stranger, shelf.desk.tenant.id, TicketFilter())


def test_me_is_for_agents_and_tags_are_for_staff(session: Session, shelf: Shelf) -> None:
    desk = shelf.desk
    refused = [(TicketFilter(assignee="me"), "assignee"), (TicketFilter(tag="vip"), "tag")]
    for criteria, field in refused:
        with pytest.raises(ValidationError) as error:
            list_tickets(session, desk.client, desk.tenant.id, criteria)
        assert error.value.field == field


def _take_part(session: Session, ticket: Ticket, contact_id: int, *, pending: bool) -> None:
    session.add(
        TicketParticipant(
            ticket_id=ticket.id, contact_id=contact_id, tenant_id=ticket.tenant_id,
            pending=pending, created_at=NOW,
        )
    )  # fmt: skip
    session.flush()


def test_a_client_lists_what_the_policy_lets_them_see(session: Session) -> None:
    # Given a client of an organization, and tickets related to them in every way
    desk = make_desk(session)
    corp = organizations.create_organization(
        session, desk.admin, desk.tenant.id, name="Corp", domains=["corp.example"], now=NOW
    )
    me = make_contact(session, desk.tenant, "me@corp.example")
    own = make_ticket(session, desk.tenant, requester_email="me@corp.example")
    copied = make_ticket(session, desk.tenant, cc=["me@corp.example"])
    pending = make_ticket(session, desk.tenant)
    _take_part(session, pending, me.id, pending=True)
    colleagues = make_ticket(session, desk.tenant, requester_email="col@corp.example")
    make_ticket(session, desk.tenant)
    make_ticket(session, make_desk(session).tenant, requester_email="me@corp.example")
    for shares, visible in ((False, {own, copied}), (True, {own, copied, colleagues})):
        organizations.update_organization(
            session, desk.admin, corp.id, shared_tickets=shares, now=NOW
        )
        client = client_principal(session, me.id)
        # When they list their tickets
        listed, _ = list_tickets(session, client, desk.tenant.id, TicketFilter())
        # Then they get exactly those the policy lets them open, and nothing elsewhere
        assert {t.id for t in listed} == {t.id for t in visible}
        every = session.query(Ticket).filter(Ticket.tenant_id == desk.tenant.id).all()
        allowed = {
            t.id
            for t in every
            if can_view_ticket(client, t, is_participant=is_participant(session, client, t))
        }
        assert allowed == {t.id for t in listed}


def test_a_clients_pages_merge_every_way_they_see_tickets_in_order(session: Session) -> None:
    # Given tickets a client sees in three ways, interleaved in time, with ties
    desk = make_desk(session)
    corp = organizations.create_organization(
        session, desk.admin, desk.tenant.id, name="Corp", domains=["corp.example"],
        shared_tickets=True, now=NOW,
    )  # fmt: skip
    me = make_contact(session, desk.tenant, "me@corp.example")
    ways: list[dict[str, object]] = [
        {"requester_email": "me@corp.example"},
        {"cc": ["me@corp.example"]},
        {"requester_email": "colleague@corp.example"},
    ]
    seen = []
    for minute in range(12):
        seen.append(make_ticket(session, desk.tenant, now=at(minute // 2), **ways[minute % 3]))
        make_ticket(session, desk.tenant, now=at(minute // 2))
    client = client_principal(session, me.id)
    assert client.organization_id == corp.id
    for sort in (Sort(), Sort(SortField.PRIORITY), Sort(SortField.CREATED, descending=False)):
        # When they page through two at a time
        paged: list[int] = []
        after: Key | None = None
        for _page in range(20):
            tickets, after = list_tickets(
                session, client, desk.tenant.id, TicketFilter(), sort=sort, after=after, limit=2
            )
            paged += [ticket.id for ticket in tickets]
            if after is None:
                break
        # Then they get each of their tickets once, in order
        expected = sorted(seen, key=_sort_key(sort), reverse=sort.descending)
        assert paged == [ticket.id for ticket in expected]


def test_a_client_of_another_tenant_is_refused(session: Session, shelf: Shelf) -> None:
    outsider = make_desk(session).client
    with pytest.raises(PermissionDenied):
        list_tickets(session, outsider, shelf.desk.tenant.id, TicketFilter())


def test_platform_admins_list_across_tenants_or_one_tenant(session: Session, shelf: Shelf) -> None:
    admin = PlatformAdmin(user_id=shelf.desk.admin.user_id)
    everything, _ = list_tickets_across_tenants(session, Operator(), TicketFilter(), limit=200)
    mine = {t.id for t in shelf.tickets.values()}
    assert mine < {t.id for t in everything}
    assert len({t.tenant_id for t in everything}) >= 2
    one, _ = list_tickets_across_tenants(
        session, admin, TicketFilter(tag="vip"), tenant_slug=shelf.desk.tenant.slug
    )
    assert shelf.names(one) == {"a", "c"}
    assert list_tickets_across_tenants(session, admin, TicketFilter(), tenant_slug="nope") == (
        [],
        None,
    )
    with pytest.raises(PermissionDenied):
        list_tickets_across_tenants(session, shelf.desk.admin, TicketFilter())
