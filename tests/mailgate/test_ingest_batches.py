"""Batches: one transaction per batch; results only once committed.

When a message fails, the batch runs again with a savepoint per message, so
that the failing one alone is rolled back and quarantined.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from helpdesk.db import make_engine, make_session_factory, session_scope
from helpdesk.models import Message, RawMessage, Ticket
from helpdesk.principal import Operator
from helpdesk.queries.ticket_filters import TicketFilter
from helpdesk.queries.tickets import list_tickets
from helpdesk.services.mailboxes import create_mailbox, credentials_box
from helpdesk.settings import Settings
from helpdesk.storage.local import LocalBlobStore
from mailgate.inbound import Envelope
from mailgate.ingest import DatabaseUnavailable, Delivery, Ingest
from tests.factories import NOW
from tests.mailgate.desk import Desk, mail
from tests.statements import recorded_sql

SMTP = Envelope("ann@client.example", ("support@acme.test",), "smtp")


def conversation() -> list[tuple[str, Delivery]]:
    """A new mail, two replies to it, and another new mail, as SMTP delivered them."""
    return [
        ("first", Delivery(mail(message_id="<b1@client.example>"), SMTP)),
        ("reply", Delivery(mail(subject="Re: Printer on fire", body="Still burning.",
                                in_reply_to="<b1@client.example>"), SMTP)),
        ("again", Delivery(mail(subject="Re: Printer on fire", body="Now smoke.",
                                in_reply_to="<b1@client.example>"), SMTP)),
        ("other", Delivery(mail(subject="VPN down", message_id="<b2@client.example>"), SMTP)),
    ]  # fmt: skip


def count(desk: Desk, model: type[object]) -> int:
    with session_scope(desk.sessions) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_batch_lands_each_message_like_one_at_a_time(desk: Desk) -> None:
    results = dict(desk.ingest.process_many(conversation(), batch_size=3))
    actions = {key: [r.action for r in found] for key, found in results.items()}
    assert actions == {
        "first": ["created"],
        "reply": ["appended"],
        "again": ["appended"],
        "other": ["created"],
    }
    [first], [reply], [again] = results["first"], results["reply"], results["again"]
    assert first.ticket_id == reply.ticket_id == again.ticket_id
    assert results["other"][0].ticket_id != first.ticket_id
    assert [m.body_text for m in desk.messages(first.ticket_id)][1:] == [
        "Still burning.",
        "Now smoke.",
    ]


def test_a_batch_rewrites_the_search_index_once_and_every_message_is_found(desk: Desk) -> None:
    engine = desk.sessions.kw["bind"]
    with recorded_sql(engine, lambda sql: "ticket_search" in sql) as writes:
        results = dict(desk.ingest.process_many(conversation(), batch_size=4))
    # SQLite rewrites in two statements (drop the rows, insert them), PostgreSQL in one.
    assert 1 <= len(writes) <= 2
    printer, vpn = results["first"][0].ticket_id, results["other"][0].ticket_id

    def found(words: str) -> list[int]:
        with session_scope(desk.sessions) as session:
            tickets, _ = list_tickets(session, Operator(), desk.acme, TicketFilter(q=words))
            return [ticket.id for ticket in tickets]

    assert found("smoke") == [printer]  # the second reply's words, in the same batch
    assert found("vpn") == [vpn]


def test_results_come_only_once_their_batch_is_committed(desk: Desk) -> None:
    # Given four messages in batches of two
    batches = desk.ingest.process_many(conversation(), batch_size=2)
    # When the first result arrives, its whole batch is committed, and no more
    key, _ = next(batches)
    assert key == "first"
    assert count(desk, Message) == 2
    next(batches)
    assert count(desk, Message) == 2
    # Then the next batch is committed before its results are given
    assert next(batches)[0] == "again"
    assert count(desk, Message) == 4
    assert [key for key, _ in batches] == ["other"]


def test_the_same_message_twice_in_one_batch_is_stored_once(desk: Desk) -> None:
    data = mail(message_id="<twice@client.example>")
    items = [("one", Delivery(data, SMTP)), ("two", Delivery(data, SMTP))]
    results = dict(desk.ingest.process_many(items))
    assert [r.action for r in results["two"]] == ["duplicate"]
    assert results["two"][0].raw_message_id == results["one"][0].raw_message_id
    assert count(desk, Ticket) == 1


class FullDiskForImages(LocalBlobStore):
    """A blob store whose disk fills up whenever an image is written."""

    def put(self, key: str, data: bytes) -> None:
        if data.startswith(b"\x89PNG"):
            raise OSError(28, "No space left on device")
        super().put(key, data)


def test_a_message_that_fails_is_quarantined_alone_and_the_batch_goes_on(
    desk: Desk, eml: Callable[[str], bytes], tmp_path: Path
) -> None:
    # Given a store that cannot take the inline image of one message
    store = FullDiskForImages(tmp_path / "blobs")
    ingest = Ingest(desk.settings, desk.sessions, store, clock=lambda: NOW)
    image_mail = eml("gmail_inline_image_cid_related")
    items = [
        ("before", Delivery(mail(message_id="<q1@client.example>"), SMTP)),
        ("image", Delivery(image_mail, SMTP)),
        ("after", Delivery(mail(subject="VPN down", message_id="<q2@client.example>"), SMTP)),
    ]
    # When the three come in one batch
    results = dict(ingest.process_many(items))
    # Then the failing one is kept, quarantined with its reason, and nothing else of it stays
    [image] = results["image"]
    assert image.action == "quarantined"
    assert "No space left on device" in image.reason
    assert desk.raw(image.raw_message_id).reason == image.reason
    assert store.get(desk.raw(image.raw_message_id).storage_key) == image_mail
    assert [r.action for r in results["before"] + results["after"]] == ["created", "created"]
    assert count(desk, Ticket) == 2
    assert count(desk, RawMessage) == 3


def test_an_unroutable_message_in_a_batch_is_quarantined_and_the_batch_goes_on(
    desk: Desk,
) -> None:
    nowhere = Envelope("ann@client.example", ("nobody@nowhere.example",), "smtp")
    items = [
        ("lost", Delivery(mail(), nowhere)),
        ("garbage", Delivery(b"\x00\x01 not a mail at all", SMTP)),
        ("fine", Delivery(mail(message_id="<ok@client.example>"), SMTP)),
    ]
    results = dict(desk.ingest.process_many(items))
    assert [r.action for r in results["lost"] + results["garbage"]] == ["quarantined"] * 2
    assert results["lost"][0].reason == "no mailbox of ours among the recipients"
    assert [r.action for r in results["fine"]] == ["created"]


def test_a_database_that_cannot_be_reached_yields_nothing(
    desk: Desk, settings: Settings, tmp_path: Path
) -> None:
    gone = dataclasses.replace(settings, database_url=f"sqlite:///{tmp_path}/no/such/dir/x.db")
    broken = Ingest(gone, make_session_factory(make_engine(gone.database_url)), desk.ingest.store)
    batches = broken.process_many(conversation())
    with pytest.raises(DatabaseUnavailable):
        next(batches)


def test_a_batch_sees_a_mailbox_created_a_moment_ago(desk: Desk) -> None:
    # Given an Ingest that has read the mailboxes already
    assert desk.one(mail(message_id="<seen@client.example>")).action == "created"
    # When a mailbox is created and mail for it comes at once
    with session_scope(desk.sessions) as session:
        box = credentials_box(desk.settings.secret_key)
        create_mailbox(session, Operator(), desk.acme, address="new@acme.test", box=box, now=NOW)
    to_new = Envelope("ann@client.example", ("new@acme.test",), "smtp")
    [(_, [result])] = list(desk.ingest.process_many([("new", Delivery(mail(), to_new))]))
    # Then the address the kept mailboxes lack is looked up again
    assert (result.action, result.tenant_id) == ("created", desk.acme)


def test_a_message_the_helpdesk_refuses_is_rolled_back_alone_and_quarantined(
    desk: Desk,
) -> None:
    # Given a mail whose From is no address, though its envelope sender is
    bad_from = mail("Ann <ann@localhost>", message_id="<bad@client.example>")
    items = [
        ("before", Delivery(mail(message_id="<r1@client.example>"), SMTP)),
        ("bad", Delivery(bad_from, SMTP)),
        ("after", Delivery(mail(subject="VPN down", message_id="<r2@client.example>"), SMTP)),
    ]
    results = dict(desk.ingest.process_many(items))
    [bad] = results["bad"]
    assert bad.action == "quarantined"
    assert bad.reason.startswith("ValidationError")
    assert [r.action for r in results["before"] + results["after"]] == ["created", "created"]
    # What the refused mail had written before it failed is gone with it.
    assert count(desk, Ticket) == 2
    assert count(desk, RawMessage) == 3
