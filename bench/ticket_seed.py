"""Bulk-seeding a benchmark database with realistic tickets (COPY on PostgreSQL).

One tenant gets the tickets measured, another a tenth as many, so that every
query has another tenant's rows to step over. Statuses, priorities, assignees,
requesters and tags follow skewed spreads like a real desk's; each ticket has
one public message, some an internal note, and subjects and bodies draw on a
long tail of words, a surname shared by about twenty tickets at any size, and
BROAD_WORD in about 2% of tickets (4% of texts).
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from helpdesk.enums import Priority, Role, Status
from helpdesk.models import Contact, ContactEmail, Message, Organization, Ticket, TicketTag
from helpdesk.principal import Operator, Staff
from helpdesk.queries.tickets import Key
from helpdesk.search import reindex_tickets
from helpdesk.services import tenants, users

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
STATUSES = {Status.CLOSED: 55, Status.RESOLVED: 15, Status.OPEN: 12, Status.IN_PROGRESS: 6,
            Status.WAITING_ON_CLIENT: 8, Status.ON_HOLD: 4}  # fmt: skip
PRIORITIES = {Priority.LOW: 20, Priority.NORMAL: 55, Priority.HIGH: 18, Priority.URGENT: 7}
TAGS = [f"tag-{i}" for i in range(30)]
WORDS = [
    "printer", "toner", "invoice", "refund", "login", "password", "reset", "error", "crash",
    "slow", "network", "vpn", "email", "outlook", "calendar", "license", "upgrade", "install",
    "backup", "restore", "account", "billing", "payment", "order", "delivery", "laptop",
]  # fmt: skip
AGENTS, ORGANIZATIONS = 25, 200
BROAD_WORD = "printer"  # in about 2% of tickets, whatever their number


class World:
    """What the seeding made that the queries need: the tenant and its people."""

    def __init__(self, tenant_id: int, agents: list[int], busiest_requester: int) -> None:
        self.tenant_id = tenant_id
        self.agent = Staff(agents[0], tenant_id, Role.AGENT)
        self.busiest_agent = agents[0]
        self.busiest_requester = busiest_requester
        self.surname = ""
        self.middle_key: Key = ()


def seed(engine: Engine, size: int) -> World:
    """Fill the database: one tenant with `size` tickets, and a tenth as many elsewhere."""
    started = time.perf_counter()
    rng = random.Random(size)
    with Session(engine) as session:
        other = tenants.create_tenant(session, Operator(), "noise", "Noise", now=NOW).id
        tenant = tenants.create_tenant(session, Operator(), "bench", "Bench", now=NOW).id
        agents = [
            users.create_user(session, Operator(), tenant, email=f"agent{i}@bench.example",
                              name=f"Agent {i}", role=Role.AGENT, now=NOW).id
            for i in range(AGENTS)
        ]  # fmt: skip
        session.commit()
    _bulk_tickets(engine, other, size // 10, [], random.Random(1))
    busiest = _bulk_tickets(engine, tenant, size, agents, rng)
    world = World(tenant, agents, busiest)
    with Session(engine) as session:
        print("  search index ...", flush=True)
        reindex_tickets(session, progress=_progress("indexed"), batch_size=5000)
        session.commit()
    _analyze(engine)
    _pick_probes(engine, world, size, rng)
    print(f"  seeded in {time.perf_counter() - started:.0f} s", flush=True)
    return world


def _progress(label: str) -> Callable[[int, int], None]:
    step = itertools.count(1)

    def report(done: int, total: int) -> None:
        if next(step) % 20 == 0 or done == total:
            print(f"    {label} {done:,}/{total:,}", flush=True)

    return report


def _bulk_tickets(
    engine: Engine, tenant_id: int, count: int, agents: list[int], rng: random.Random
) -> int:
    """Insert `count` tickets with requesters, tags and messages; return the busiest requester."""
    ids = _next_ids(engine)
    organizations = [_row(Organization, id=ids["organizations"] + i, tenant_id=tenant_id,
                          name=f"Org {i}", shared_tickets=i % 3 == 0, notes="", created_at=NOW)
                     for i in range(ORGANIZATIONS)]  # fmt: skip
    contacts, emails = _contacts(tenant_id, max(count // 8, 1), ids, organizations, rng)
    _insert(engine, Organization, organizations)
    _insert(engine, Contact, contacts)
    _insert(engine, ContactEmail, emails)
    requester_weights = [1 / (rank + 1) ** 0.7 for rank in range(len(contacts))]
    requesters = rng.choices(contacts, weights=requester_weights, k=count)
    chunk = 50_000
    for start in range(0, count, chunk):
        tickets, messages, tags = [], [], []
        for offset in range(start, min(start + chunk, count)):
            ticket_id = ids["tickets"] + offset
            row = _ticket(tenant_id, ticket_id, offset, count, requesters[offset], agents, rng)
            tickets.append(row)
            messages += _messages(row, ids["messages"] + 2 * offset, rng)
            tags += _tags(tenant_id, ticket_id, rng)
        for model, rows in ((Ticket, tickets), (Message, messages), (TicketTag, tags)):
            _insert(engine, model, rows)
        print(f"    tickets {min(start + chunk, count):,}/{count:,}", flush=True)
    _finish_sequences(engine, tenant_id, count)
    # The weights fall with the rank: the first contact asked the most.
    return int(contacts[0]["id"])


def _tags(tenant_id: int, ticket_id: int, rng: random.Random) -> list[dict[str, Any]]:
    chosen = set(rng.choices(TAGS, k=rng.choice((0, 0, 1, 1, 2, 3))))
    return [_row(TicketTag, ticket_id=ticket_id, tag=tag, tenant_id=tenant_id) for tag in chosen]


def _next_ids(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            model.__tablename__: int(connection.scalar(select(func.max(model.id))) or 0) + 1
            for model in (Organization, Contact, ContactEmail, Ticket, Message)
        }


def _contacts(
    tenant_id: int, count: int, ids: dict[str, int], organizations: list[dict[str, Any]],
    rng: random.Random,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:  # fmt: skip
    contacts, emails = [], []
    for i in range(count):
        organization = rng.choice(organizations) if rng.random() < 0.6 else None
        contact_id = ids["contacts"] + i
        contacts.append(_row(Contact, id=contact_id, tenant_id=tenant_id, name=f"Client {i}",
                             organization_id=organization["id"] if organization else None,
                             portal_access=True, blocked=False, created_at=NOW))  # fmt: skip
        emails.append(_row(ContactEmail, id=ids["contact_emails"] + i, tenant_id=tenant_id,
                           contact_id=contact_id, email=f"client{i}.{tenant_id}@c.example",
                           is_primary=True, bounced_at=None))  # fmt: skip
    return contacts, emails


def _ticket(
    tenant_id: int, ticket_id: int, offset: int, count: int, requester: dict[str, Any],
    agents: list[int], rng: random.Random,
) -> dict[str, Any]:  # fmt: skip
    # Tickets arrive steadily over three years; activity follows within a month.
    created = NOW - timedelta(days=1095) * (1 - offset / max(count, 1))
    active = min(created + timedelta(minutes=rng.randrange(60 * 24 * 30)), NOW)
    status = rng.choices(list(STATUSES), weights=list(STATUSES.values()))[0]
    surname = f"surname{rng.randrange(max(count // 20, 1))}"
    subject = " ".join([*_words(rng, 5), surname])
    return _row(
        Ticket, id=ticket_id, tenant_id=tenant_id, number=offset + 1, subject=subject,
        status=status.value, source="email",
        priority=rng.choices(list(PRIORITIES), weights=list(PRIORITIES.values()))[0].value,
        category_id=None, requester_id=requester["id"],
        organization_id=requester["organization_id"],
        assignee_id=_assignee(agents, rng), team_id=None, custom_fields={},
        sla_paused_seconds=0, last_activity_at=active, reopened_count=0, message_count=1,
        created_at=created, updated_at=active, version=1,
    )  # fmt: skip


def _assignee(agents: list[int], rng: random.Random) -> int | None:
    if not agents or rng.random() < 0.1:
        return None
    return rng.choices(agents, weights=[1 / (rank + 1) for rank in range(len(agents))])[0]


def _words(rng: random.Random, count: int) -> list[str]:
    # A long tail of made-up words around a few helpdesk words; BROAD_WORD is in ~2%.
    words = [f"w{int(rng.paretovariate(1.1)) % 20000}" for _ in range(count)]
    if rng.random() < 0.02:
        words[0] = BROAD_WORD
    words[-1] = rng.choice(WORDS[1:])
    return words


def _messages(ticket: dict[str, Any], first_id: int, rng: random.Random) -> list[dict[str, Any]]:
    base = {"tenant_id": ticket["tenant_id"], "ticket_id": ticket["id"], "body_html": "",
            "source": "email", "created_at": ticket["created_at"]}  # fmt: skip
    body = " ".join(_words(rng, 40))
    rows = [_row(Message, id=first_id, author_type="client", visibility="public",
                 author_contact_id=ticket["requester_id"], body_text=body,
                 body_full_text=body, **base)]  # fmt: skip
    if rng.random() < 0.1:
        note = " ".join(_words(rng, 15))
        rows.append(_row(Message, id=first_id + 1, author_type="agent", visibility="internal",
                         author_user_id=ticket["assignee_id"], body_text=note,
                         body_full_text=note, **base))  # fmt: skip
    return rows


def _row(model: type, **values: Any) -> dict[str, Any]:
    columns = model.__table__.columns  # type: ignore[attr-defined]
    return {column.name: values.get(column.name) for column in columns}


def _insert(engine: Engine, model: type, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    table = model.__table__  # type: ignore[attr-defined]
    if engine.dialect.name == "sqlite":
        with engine.begin() as connection:
            connection.execute(insert(table), rows)
        return
    names = list(rows[0])
    quoted = ", ".join(f'"{name}"' for name in names)
    raw: Any = engine.raw_connection()
    try:
        with (
            raw.cursor() as cursor,
            cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy,
        ):
            for row in rows:
                copy.write_row([_copy_value(row[name]) for name in names])
        raw.commit()
    finally:
        raw.close()


def _copy_value(value: Any) -> Any:
    if isinstance(value, dict):
        return "{}"
    return value


def _finish_sequences(engine: Engine, tenant_id: int, count: int) -> None:
    with engine.begin() as connection:
        connection.execute(text("UPDATE tenants SET last_ticket_number = :n WHERE id = :t"),
                           {"n": count, "t": tenant_id})  # fmt: skip
        if engine.dialect.name != "sqlite":
            for table in ("organizations", "contacts", "contact_emails", "tickets", "messages"):
                connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                        f"(SELECT max(id) FROM {table}))"))  # fmt: skip


def _analyze(engine: Engine) -> None:
    print("  analyze ...", flush=True)
    isolation = {} if engine.dialect.name == "sqlite" else {"isolation_level": "AUTOCOMMIT"}
    with engine.connect().execution_options(**isolation) as connection:
        connection.exec_driver_sql(
            "ANALYZE" if engine.dialect.name == "sqlite" else "VACUUM ANALYZE"
        )
        connection.commit()


def _pick_probes(engine: Engine, world: World, size: int, rng: random.Random) -> None:
    with Session(engine) as session:
        middle = session.execute(
            select(Ticket.last_activity_at, Ticket.id).where(Ticket.tenant_id == world.tenant_id)
            .order_by(Ticket.last_activity_at.desc(), Ticket.id.desc()).offset(size // 2).limit(1)
        ).one()  # fmt: skip
        world.middle_key = (middle[0].isoformat(), middle[1])
        world.surname = f"surname{rng.randrange(max(size // 20, 1))}"
