"""Two drains filing mail at once (two doors or two hosts) take turns, and lose nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from helpdesk.enums import RawMessageState
from helpdesk.models import ContactEmail, Message, RawMessage
from helpdesk.settings import Settings
from helpdesk.storage import open_blob_store
from mailgate import ingest as ingest_module
from mailgate.batch_landing import Refused
from mailgate.deferred_store import DeferredStore
from mailgate.inbound import Envelope, InboundMessage
from mailgate.ingest import Delivery, Ingest, IngestResult
from mailgate.parse import parse_message
from mailgate.units import Unit
from tests.factories import NOW
from tests.mailgate.desk import build_desk, mail

SENDER = "Nina New <nina@newcomer.example>"
ENVELOPE = Envelope("nina@newcomer.example", ("support@acme.test",), "smtp")
FIRST = "<first@mail.newcomer.example>"


def linger_after_filing(ingest: Ingest, filed: threading.Event, seen: threading.Event) -> None:
    """Make `ingest` set `filed` once it has filed FIRST, then keep its transaction open a while.

    It lingers until `seen` is set (a second at most), and half a second
    more: time enough for another drain to look for FIRST before it is committed.
    """
    land_many = ingest.lander.land_many

    def land_and_linger(
        session: Session,
        copies: Sequence[tuple[bytes, InboundMessage | Refused]],
        now: datetime,
        blobs: DeferredStore,
    ) -> list[IngestResult]:
        results = land_many(session, copies, now, blobs)
        for (_, msg), result in zip(copies, results, strict=True):
            first = isinstance(msg, InboundMessage) and msg.message_id == FIRST.strip("<>")
            if first and result.action == "created":
                filed.set()
                if seen.wait(timeout=1.0):
                    time.sleep(0.5)
        return results

    ingest.lander.land_many = land_and_linger  # type: ignore[method-assign]


def draining(
    ingest: Ingest, batch: list[bytes], errors: list[BaseException], *, batch_size: int
) -> threading.Thread:
    """A thread that runs `batch` through `ingest`; what escapes is added to `errors`."""

    def drain() -> None:
        try:
            items = [(n, Delivery(data, ENVELOPE)) for n, data in enumerate(batch)]
            for _ in ingest.process_many(items, batch_size=batch_size):
                pass
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)

    return threading.Thread(target=drain)


def test_two_drains_filing_a_new_senders_mail_at_once_lose_none_of_it(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    # Given drain A filing mail of a sender nobody knew, in batches of five:
    # the first makes her contact, the second opens with a new conversation.
    # (Were her contact not committed before drain B starts, B's would wait
    # on it and fail on the unique index, and B's batch, run again, would
    # find everything committed: the race below would go unseen.)
    desk = build_desk(settings, engine)
    others = [mail(SENDER, f"Another problem {n}") for n in range(9)]
    opening = mail(SENDER, "Invoice 12 is wrong", message_id=FIRST)
    replies = [mail(SENDER, f"Also {n}", in_reply_to=FIRST, references=FIRST) for n in range(10)]
    parent_filed, b_began = threading.Event(), threading.Event()

    def b_clock() -> datetime:
        b_began.set()
        return NOW

    drain_a = Ingest(settings, desk.sessions, open_blob_store(settings), clock=lambda: NOW)
    drain_b = Ingest(settings, desk.sessions, open_blob_store(settings), clock=b_clock)
    linger_after_filing(drain_a, parent_filed, b_began)
    errors: list[BaseException] = []
    threads = [
        draining(drain_a, [*others[:5], opening, *others[5:]], errors, batch_size=5),
        draining(drain_b, replies, errors, batch_size=len(replies)),
    ]
    # when drain B takes up the replies once A has filed their parent, not yet committed,
    threads[0].start()
    assert parent_filed.wait(timeout=30), "drain A never filed the parent"
    threads[1].start()
    for thread in threads:
        thread.join()

    # then every message is filed, none quarantined, and the sender is one contact.
    assert errors == []

    def counts(session):  # type: ignore[no-untyped-def]
        states = session.execute(
            select(RawMessage.state, func.count()).group_by(RawMessage.state)
        ).all()
        contacts = session.scalar(
            select(func.count())
            .select_from(ContactEmail)
            .where(ContactEmail.email == "nina@newcomer.example")
        )
        return dict(states), contacts, session.scalar(select(func.count()).select_from(Message))

    states, contacts, messages = desk.run(counts)
    assert states == {RawMessageState.PROCESSED: 20}
    assert contacts == 1
    assert messages == 20
    # The replies sit on the first message's ticket, whichever drain filed them.
    tickets = {t.subject for t in desk.tickets(desk.acme)}
    assert "Invoice 12 is wrong" in tickets
    assert not any(subject.startswith("Also") for subject in tickets)


def test_a_second_filing_transaction_waits_until_the_first_one_ends(
    settings: Settings, engine: Engine
) -> None:
    desk = build_desk(settings, engine)
    holding, moments = threading.Event(), {}

    def first() -> None:
        with Unit(desk.sessions):
            holding.set()
            time.sleep(0.5)
            moments["first ends"] = time.monotonic()

    def second() -> None:
        holding.wait()
        with Unit(desk.sessions):
            moments["second begins"] = time.monotonic()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert moments["second begins"] >= moments["first ends"]


def test_a_drain_parses_its_batch_while_another_one_files(
    settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Parsing needs no database: a drain waiting for its turn to file has
    # its batch parsed by the time the turn comes.
    desk = build_desk(settings, engine)
    parsed: list[bytes] = []

    def counting_parse(data: bytes, envelope: Envelope) -> InboundMessage:
        parsed.append(data)
        return parse_message(data, envelope)

    monkeypatch.setattr(ingest_module, "parse_message", counting_parse)
    batch = [mail(SENDER, f"Problem {n}") for n in range(5)]
    errors: list[BaseException] = []
    holding, release = threading.Event(), threading.Event()

    def filing() -> None:
        with Unit(desk.sessions):
            holding.set()
            release.wait(timeout=30)

    other = threading.Thread(target=filing)
    other.start()
    assert holding.wait(timeout=30)
    waiting = draining(desk.ingest, batch, errors, batch_size=len(batch))
    waiting.start()
    try:
        deadline = time.monotonic() + 10
        while len(parsed) < len(batch) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sorted(parsed) == sorted(batch)
        assert waiting.is_alive()  # it waits for its turn to file
    finally:
        release.set()
        other.join()
        waiting.join()
    assert errors == []
    assert {t.subject for t in desk.tickets(desk.acme)} >= {f"Problem {n}" for n in range(5)}
