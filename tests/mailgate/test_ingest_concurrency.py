"""Two drains filing mail at once (two doors or two hosts) take turns, and lose nothing."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from helpdesk.enums import RawMessageState
from helpdesk.models import ContactEmail, Message, RawMessage
from helpdesk.settings import Settings
from helpdesk.storage import open_blob_store
from mailgate.inbound import Envelope
from mailgate.ingest import Delivery, Ingest
from mailgate.units import Unit
from tests.factories import NOW
from tests.mailgate.desk import build_desk, mail

SENDER = "Nina New <nina@newcomer.example>"


def test_two_drains_filing_a_new_senders_mail_at_once_lose_none_of_it(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    # Given two drains, each with a batch of mail from one sender nobody knows yet
    # and replies to a first message the other drain is filing at the same moment,
    desk = build_desk(settings, engine)
    drains = [
        Ingest(settings, desk.sessions, open_blob_store(settings), clock=lambda: NOW)
        for _ in range(2)
    ]
    first = "<first@mail.newcomer.example>"
    batches = [
        [mail(SENDER, "Invoice 12 is wrong", message_id=first)]
        + [mail(SENDER, f"Also {n}", in_reply_to=first, references=first) for n in range(9)],
        [mail(SENDER, f"Another problem {n}") for n in range(10)],
    ]
    envelope = Envelope("nina@newcomer.example", ("support@acme.test",), "smtp")
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def drain(ingest: Ingest, batch: list[bytes]) -> None:
        start.wait()
        try:
            items = [(n, Delivery(data, envelope)) for n, data in enumerate(batch)]
            for _ in ingest.process_many(items, batch_size=len(items)):
                pass
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [
        threading.Thread(target=drain, args=(ingest, batch))
        for ingest, batch in zip(drains, batches, strict=True)
    ]
    # when both run at once,
    for thread in threads:
        thread.start()
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
