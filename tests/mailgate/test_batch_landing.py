"""A batch filed together: the same rows as its mails one at a time, in far fewer statements."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from helpdesk.db import make_engine, session_scope
from helpdesk.models import Base, Tenant
from helpdesk.settings import Settings
from mailgate.inbound import Envelope
from mailgate.ingest import Delivery
from tests.conftest import fresh_database_url
from tests.mailgate.conftest import read_eml
from tests.mailgate.desk import Desk, build_desk, mail
from tests.statements import recorded_sql

ACME = ("support@acme.test",)
# The acme tenant's hourly limit of new tickets by mail, low enough for the corpus to reach.
TENANT_LIMIT = 14
# Columns that count changes rather than hold data: how often a row was written differs.
COUNTERS = {"tickets": {"version"}}


def smtp(data: bytes, *rcpt: str, sender: str = "someone@client.example") -> Delivery:
    return Delivery(data, Envelope(sender, rcpt or ACME, "smtp"))


def corpus() -> list[tuple[str, Delivery]]:
    """Mail of every shape, in an order where later mail depends on earlier mail of the batch."""
    ann, bob, carl = "Ann <ann@client.example>", "Bob <bob@client.example>", "Carl <carl@x.example>"
    first = mail(ann, "Printer on fire", message_id="<p1@client.example>")
    shapes = [
        ("new ticket", smtp(first)),
        ("new, another sender", smtp(mail(bob, "VPN down", message_id="<v1@client.example>"))),
        ("requester's reply in the same batch", smtp(mail(
            ann, "Re: Printer on fire", "Still burning.", message_id="<p2@client.example>",
            in_reply_to="<p1@client.example>", references="<p1@client.example>"))),
        ("reply naming a mail not come yet", smtp(mail(
            carl, "Re: Budget", "See below.", message_id="<c2@x.example>",
            in_reply_to="<c1@x.example>"))),
        ("the awaited mail itself", smtp(mail(
            "Dora <dora@y.example>", "Budget", message_id="<c1@x.example>"))),
        ("a CC", smtp(mail("Erin <erin@client.example>", "Access", cc="Finn <finn@z.example>"))),
        ("the same bytes again", smtp(first)),
        ("a reply to the VPN ticket", smtp(mail(
            bob, "Re: VPN down", "Works now.", in_reply_to="<v1@client.example>"))),
        ("our agent", smtp(mail("Alice <alice@acme.test>", "Re: VPN down", "On it.",
                                in_reply_to="<v1@client.example>"))),
        ("both tenants", smtp(mail("Gus <gus@client.example>", "Shared", to="help@globex.test"),
                              "support@acme.test", "help@globex.test")),
        ("no tenant", smtp(mail(ann, "Lost"), "nobody@nowhere.example")),
        ("no sender", smtp(mail("", "Anonymous"))),
        ("a subject tag", smtp(mail(ann, "Re: [#1] Printer on fire", "Tagged."))),
        ("a stranger on the printer ticket", smtp(mail(
            "Hal <hal@other.example>", "Re: Printer on fire", "Mine too.",
            in_reply_to="<p1@client.example>"))),
        ("an out-of-office on it", smtp(mail(
            ann, "Automatic reply: Printer on fire", "Away until Monday.",
            in_reply_to="<p2@client.example>", headers={"Auto-Submitted": "auto-replied"}))),
        ("a bounce", smtp(read_eml("postfix_dsn_user_unknown"), sender="")),
        ("an auto-reply", smtp(read_eml("exchange_auto_reply_automatic_reply"))),
        ("an attachment", smtp(read_eml("gmail_inline_image_cid_related"))),
        ("Outlook", smtp(read_eml("outlook_reply_from_sent_block"))),
        ("Apple Mail", smtp(read_eml("apple_mail_reply_blockquote_cite"))),
        ("Thunderbird", smtp(read_eml("thunderbird_attached_message_rfc822"))),
        ("Japanese", smtp(read_eml("rfc2047_iso2022jp_japanese"))),
    ]  # fmt: skip
    # Past the tenant's hourly limit: the rest of the new tickets are held.
    crowd = [
        (f"new ticket {n}", smtp(mail(f"P{n} <p{n}@crowd.example>", f"Question {n}")))
        for n in range(6)
    ]
    return shapes + crowd


def dump(desk: Desk) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, by primary key, without the columns that count writes."""
    tables: dict[str, list[dict[str, Any]]] = {}
    with session_scope(desk.sessions) as session:
        for table in Base.metadata.sorted_tables:
            skip = COUNTERS.get(table.name, set())
            columns = [column for column in table.columns if column.name not in skip]
            rows = session.execute(select(*columns).order_by(*table.primary_key.columns))
            tables[table.name] = [dict(row._mapping) for row in rows]
    return tables


def limited(desk: Desk) -> Desk:
    with session_scope(desk.sessions) as session:
        tenant = session.get(Tenant, desk.acme)
        assert tenant is not None
        tenant.settings = {**tenant.settings, "max_new_tickets_per_hour": TENANT_LIMIT}
    return desk


@pytest.fixture
def twin(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, settings: Settings
) -> Iterator[Desk]:
    """A second desk like `desk`, on a database of its own."""
    url = fresh_database_url(backend, request, tmp_path / "twin.db")
    twin_settings = Settings.for_var_dir(
        tmp_path / "twin", database_url=url, secret_key=settings.secret_key
    )
    engine = make_engine(url)
    yield build_desk(twin_settings, engine)
    engine.dispose()


def test_a_batch_filed_together_writes_every_row_as_its_mails_one_at_a_time(
    desk: Desk, twin: Desk
) -> None:
    mails = corpus()
    alone, together = limited(desk), limited(twin)
    one_by_one = [(key, alone.ingest.process(d.data, d.envelope)) for key, d in mails]
    batched = list(together.ingest.process_many(mails, batch_size=len(mails)))
    assert batched == one_by_one
    actions = {result.action for _, results in batched for result in results}
    # The corpus takes every path: filed together, filed alone, and neither.
    assert actions == {
        "created", "appended", "duplicate", "quarantined", "held_for_review", "ignored",
        "held_agent_note", "pending_participant", "auto_reply_recorded",
    }  # fmt: skip
    assert dump(together) == dump(alone)


# Round trips are what a statement costs on a server; SQLite's are calls in the process.
@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_a_batch_of_new_mail_takes_a_fifth_of_the_statements_of_one_at_a_time(desk: Desk) -> None:
    def questions(batch: str) -> list[tuple[int, Delivery]]:
        return [
            (n, smtp(mail(f"C{n} <c{n}@{batch}.example>", f"Question {n} of {batch}")))
            for n in range(20)
        ]

    engine = desk.sessions.kw["bind"]
    with recorded_sql(engine) as alone:
        for _, delivery in questions("alone"):
            desk.ingest.process(delivery.data, delivery.envelope)
    with recorded_sql(engine) as together:
        results = dict(desk.ingest.process_many(questions("together"), batch_size=20))
    assert {result.action for found in results.values() for result in found} == {"created"}
    # The rows go in a statement per table, and the steps' questions are
    # asked for the whole batch at once.
    assert len(together) * 5 < len(alone)


def test_the_steps_questions_are_asked_once_for_a_batch_not_once_a_mail(desk: Desk) -> None:
    # Given twenty open tickets of twenty requesters,
    def message(n: int, *text: str, **fields: Any) -> bytes:
        return mail(f"C{n} <c{n}@client.example>", *text, **fields)

    firsts = [(n, smtp(message(n, f"Q{n}", message_id=f"<q{n}@c.example>"))) for n in range(20)]
    opened = dict(desk.ingest.process_many(firsts, batch_size=20))
    # when each requester replies, in one batch,
    replies = [
        (n, smtp(message(n, f"Re: Q{n}", "More.", in_reply_to=f"<q{n}@c.example>")))
        for n in range(20)
    ]

    def threading(sql: str) -> bool:
        return sql.lstrip().startswith(("SELECT", "WITH")) and (
            "thread_references" in sql or "ticket_participants" in sql
        )

    with recorded_sql(desk.sessions.kw["bind"], threading) as questions:
        results = dict(desk.ingest.process_many(replies, batch_size=20))
    # then each lands on its ticket,
    for n in range(20):
        [result] = results[n]
        assert (result.action, result.ticket_id) == ("appended", opened[n][0].ticket_id)
    # and which ticket a reference leads to, which mail awaits its
    # Message-ID and who takes part in a ticket were asked once each.
    assert len(questions) == 3


def test_tickets_opened_together_get_their_numbers_in_the_order_the_mail_came(desk: Desk) -> None:
    mails = [(n, smtp(mail(f"C{n} <c{n}@client.example>", f"Question {n}"))) for n in range(5)]
    results = dict(desk.ingest.process_many(mails, batch_size=5))
    numbers = [desk.ticket(results[n][0].ticket_id).number for n in range(5)]
    assert numbers == sorted(numbers) == list(range(numbers[0], numbers[0] + 5))
