"""The spool drained through the pipeline: done once committed, kept while the database is away."""

from __future__ import annotations

import dataclasses
import smtplib
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from helpdesk.db import make_engine, make_session_factory
from helpdesk.enums import RawMessageState
from helpdesk.models import RawMessage
from helpdesk.settings import Listen, Settings
from helpdesk.storage import BlobStore
from helpdesk.storage.local import LocalBlobStore
from mailgate.drain import (
    GAVE_UP,
    KEEP_DONE,
    MAX_ATTEMPTS,
    SpoolDrainer,
    drain_spool,
    import_messages,
)
from mailgate.ingest import BATCH_SIZE, DatabaseUnavailable, Ingest
from mailgate.smtp import start_smtp
from mailgate.spool import Envelope, Spool
from tests.factories import NOW
from tests.mailgate.desk import Desk, mail
from tests.servers import free_port, wait_until
from tests.test_spool import CLAIM_ALL, SLEEP, claim_all_and_die

# No tenant has this id: a tenant deleted since its mail was imported.
GONE_TENANT = 999_999


def stored(spool: Spool, data: bytes) -> None:
    envelope = Envelope("ann@client.example", ("support@acme.test",), "smtp", NOW)
    spool.store(data, envelope)


def broken_ingest(desk: Desk, tmp_path: Path) -> Ingest:
    """An ingest on a database that cannot be reached."""
    gone = dataclasses.replace(desk.settings, database_url=f"sqlite:///{tmp_path}/no/such/dir/x.db")
    return Ingest(gone, make_session_factory(make_engine(gone.database_url)), desk.ingest.store)


def test_drained_messages_become_tickets_and_their_entries_are_done(
    desk: Desk, spool: Spool
) -> None:
    stored(spool, mail(message_id="<d1@client.example>"))
    stored(spool, mail(subject="Re: x", in_reply_to="<d1@client.example>"))
    assert drain_spool(spool, desk.ingest) == 2
    assert len(desk.tickets(desk.acme)) == 1
    assert len(spool.entries("done")) == 2
    assert spool.pending() == []


def test_database_away_leaves_the_message_waiting_in_the_spool(
    desk: Desk, spool: Spool, tmp_path: Path
) -> None:
    stored(spool, mail())
    with pytest.raises(DatabaseUnavailable):
        drain_spool(spool, broken_ingest(desk, tmp_path))
    assert len(spool.pending()) == 1
    assert spool.pending()[0].attempts == 0
    assert spool.entries("done") == []


def test_an_import_that_loses_the_database_leaves_its_mail_for_the_next_drain(
    desk: Desk, spool: Spool, tmp_path: Path
) -> None:
    imported = Envelope("", (), "import", NOW, tenant_id=desk.globex)
    # From 60 senders, so that no hourly limit per sender holds any back.
    messages = [mail(f"c{n}@client.example", to="x@elsewhere.example") for n in range(60)]
    with pytest.raises(DatabaseUnavailable):
        list(import_messages(spool, broken_ingest(desk, tmp_path), messages, imported))
    # Both batches, the one in hand and the one written ahead, wait in new/ for a drain.
    assert len(spool.pending()) == 60
    assert spool.entries("processing") == []
    assert drain_spool(spool, desk.ingest) == 60
    assert len(desk.tickets(desk.globex)) == 60
    assert spool.pending() == []


def test_an_import_whose_source_cannot_be_read_leaves_the_batch_in_hand_for_the_next_drain(
    desk: Desk, spool: Spool
) -> None:
    imported = Envelope("", (), "import", NOW, tenant_id=desk.globex)

    def messages() -> Iterator[bytes]:
        # A batch is read, and the next file read after it is not ours to read.
        for n in range(BATCH_SIZE):
            yield mail(f"c{n}@client.example", to="x@elsewhere.example")
        raise PermissionError(13, "Permission denied", "export/cur/51")

    with pytest.raises(PermissionError):
        list(import_messages(spool, desk.ingest, messages(), imported))
    # The batch stored before the failure waits in new/, its attempt not counted.
    assert spool.entries("processing") == []
    assert [entry.attempts for entry in spool.pending()] == [0] * BATCH_SIZE
    assert drain_spool(spool, desk.ingest) == BATCH_SIZE
    assert len(desk.tickets(desk.globex)) == BATCH_SIZE


def test_unreadable_entry_goes_to_the_spool_quarantine_and_others_go_on(
    desk: Desk, spool: Spool
) -> None:
    stored(spool, mail())
    stored(spool, mail(subject="second"))
    (spool.pending()[0].path / "envelope.json").write_text("{ not json")
    assert drain_spool(spool, desk.ingest) == 1
    assert len(spool.entries("quarantine")) == 1
    assert len(desk.tickets(desk.acme)) == 1


def test_mail_accepted_over_smtp_becomes_a_ticket(desk: Desk, settings: Settings) -> None:
    smtp_settings = dataclasses.replace(settings, smtp_listen=Listen("127.0.0.1", free_port()))
    controller = start_smtp(smtp_settings, desk.sessions)
    drainer = SpoolDrainer(Spool(settings.spool_dir), desk.ingest)
    drainer.start()
    try:
        with smtplib.SMTP(*_address(smtp_settings)) as client:
            # On the wire every line ends in CRLF: the server refuses bare LF.
            wire = mail().replace(b"\n", b"\r\n")
            client.sendmail("ann@client.example", ["support@acme.test"], wire)
        wait_until(lambda: desk.tickets(desk.acme), 10, "a ticket of the mail")
    finally:
        drainer.stop()
        controller.stop()
    [ticket] = desk.tickets(desk.acme)
    assert ticket.subject == "Printer on fire"


class Outage(LocalBlobStore):
    """A blob store that refuses every write while `down`, as an unreachable S3 does."""

    down = False

    def put(self, key: str, data: bytes) -> None:
        if self.down:
            raise OSError("blob store unreachable")
        super().put(key, data)


def ingest_with(
    desk: Desk, *, store: BlobStore | None = None, clock: Callable[[], datetime] = lambda: NOW
) -> Ingest:
    return Ingest(desk.settings, desk.sessions, store or desk.ingest.store, clock=clock)


def outage(desk: Desk, tmp_path: Path) -> tuple[Outage, Ingest]:
    """An ingest whose blob store can be taken down, and that store."""
    store = Outage(tmp_path / "blobs")
    return store, ingest_with(desk, store=store)


def processing_seen(spool: Spool, seen: list[int]) -> datetime:
    """A clock that notes how many entries are claimed whenever a message is processed."""
    seen.append(len(spool.entries("processing")))
    return NOW


def test_fresh_mail_goes_many_to_a_transaction_and_mail_in_hand_at_a_crash_one_at_a_time(
    desk: Desk, spool: Spool
) -> None:
    seen: list[int] = []
    ingest = ingest_with(desk, clock=lambda: processing_seen(spool, seen))
    for n in range(4):
        stored(spool, mail(subject=f"fresh {n}"))
    assert drain_spool(spool, ingest) == 4
    # (A batch reads the clock once: its messages are filed together.)
    assert seen == [4]
    # Given four messages a processor had claimed when it died
    for n in range(4):
        stored(spool, mail(subject=f"suspect {n}"))
    claim_all_and_die(spool)
    assert spool.recover() == 4
    seen.clear()
    # Then each is processed in a transaction of its own, and all of them land
    assert drain_spool(spool, ingest) == 4
    assert seen == [1, 1, 1, 1]
    assert len(desk.tickets(desk.acme)) == 8


def test_a_message_that_crashed_the_processor_three_times_is_quarantined_for_an_admin(
    desk: Desk, spool: Spool
) -> None:
    stored(spool, mail(subject="Poison"))
    for _ in range(3):
        claim_all_and_die(spool)
        spool.recover()
    assert drain_spool(spool, desk.ingest) == 0
    assert desk.tickets(desk.acme) == []
    [entry] = spool.entries("done")
    [raw] = desk.run(lambda s: s.query(RawMessage).all())
    assert (raw.state, raw.reason) == (RawMessageState.QUARANTINED, GAVE_UP)
    assert raw.envelope_from == "ann@client.example"
    assert desk.ingest.store.get(raw.storage_key) == entry.read_message()
    # An admin retries it, and it is processed after all
    [retried] = desk.ingest.retry(raw.id)
    assert retried.action == "created"


def test_an_error_escaping_ingest_puts_the_batch_back_and_it_lands_once_the_error_is_gone(
    desk: Desk, spool: Spool, tmp_path: Path
) -> None:
    store, ingest = outage(desk, tmp_path)
    stored(spool, mail(subject="one"))
    stored(spool, mail(subject="two"))
    store.down = True
    with pytest.raises(OSError, match="blob store unreachable"):
        drain_spool(spool, ingest)
    assert spool.entries("processing") == []
    assert [entry.attempts for entry in spool.pending()] == [1, 1]
    store.down = False
    assert drain_spool(spool, ingest) == 2
    assert len(desk.tickets(desk.acme)) == 2


def test_a_message_failing_three_times_is_quarantined_with_the_last_error(
    desk: Desk, spool: Spool, tmp_path: Path
) -> None:
    store, ingest = outage(desk, tmp_path)
    stored(spool, mail())
    store.down = True
    for _ in range(3):
        with pytest.raises(OSError, match="unreachable"):
            drain_spool(spool, ingest)
    store.down = False
    assert drain_spool(spool, ingest) == 0
    [raw] = desk.run(lambda s: s.query(RawMessage).all())
    assert raw.state == RawMessageState.QUARANTINED
    assert raw.reason == f"{GAVE_UP}; last error: OSError: blob store unreachable"


def orphan(spool: Spool) -> None:
    """Store mail imported for a tenant deleted since: the database refuses even its quarantine."""
    spool.store(mail(subject="Orphan"), Envelope("", (), "import", NOW, tenant_id=GONE_TENANT))


def test_a_suspect_that_fails_again_keeps_no_suspect_after_it_waiting(
    desk: Desk, spool: Spool
) -> None:
    # Given an orphan and an innocent message, both cut short once by the orphan
    orphan(spool)
    stored(spool, mail(subject="Innocent"))
    with pytest.raises(IntegrityError):
        drain_spool(spool, desk.ingest)
    assert [entry.attempts for entry in spool.pending()] == [1, 1]
    # When they are tried again, one at a time, and the orphan fails first
    with pytest.raises(IntegrityError):
        drain_spool(spool, desk.ingest)
    # Then the innocent one is processed all the same
    assert [ticket.subject for ticket in desk.tickets(desk.acme)] == ["Innocent"]
    assert [entry.attempts for entry in spool.pending()] == [2]


def test_a_message_the_database_refuses_even_to_quarantine_goes_to_the_spools_quarantine(
    desk: Desk, spool: Spool
) -> None:
    orphan(spool)
    for _ in range(MAX_ATTEMPTS):
        with pytest.raises(IntegrityError):
            drain_spool(spool, desk.ingest)
    assert drain_spool(spool, desk.ingest) == 0
    assert spool.pending() == []
    [kept] = spool.entries("quarantine")
    assert kept.reason.startswith(f"{GAVE_UP}; last error: ")
    assert "; the database refused it: " in kept.reason
    assert kept.read_envelope().tenant_id == GONE_TENANT
    assert desk.run(lambda s: s.query(RawMessage).all()) == []


def test_a_drain_leaves_alone_what_a_live_process_works_on_and_takes_over_when_it_dies(
    desk: Desk, spool: Spool
) -> None:
    stored(spool, mail())
    drainer = SpoolDrainer(spool, desk.ingest)
    code = CLAIM_ALL.format(root=str(spool.root), then=SLEEP)
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE) as sibling:
        assert sibling.stdout is not None
        assert sibling.stdout.readline() == b"claimed\n"
        drainer.start()
        try:
            time.sleep(1.0)
            assert desk.tickets(desk.acme) == []
            assert len(spool.entries("processing")) == 1
            sibling.kill()
            sibling.wait()
            wait_until(lambda: desk.tickets(desk.acme), 10, "a ticket of the mail")
        finally:
            drainer.stop()
    assert len(desk.tickets(desk.acme)) == 1
    assert [entry.attempts for entry in spool.entries("done")] == [1]


def test_mail_a_killed_import_left_in_the_spool_lands_in_its_tenant(
    desk: Desk, spool: Spool
) -> None:
    # No recipient and no mailbox in its headers: only the import's tenant routes it.
    imported = Envelope("", (), "import", NOW, tenant_id=desk.globex)
    spool.store(mail(to="someone@elsewhere.example"), imported)
    claim_all_and_die(spool)
    assert spool.recover() == 1
    assert drain_spool(spool, desk.ingest) == 1
    [ticket] = desk.tickets(desk.globex)
    assert ticket.subject == "Printer on fire"


def test_the_drain_deletes_processed_entries_older_than_a_week_and_keeps_the_rest(
    desk: Desk, spool: Spool
) -> None:
    stored(spool, mail(subject="old"))
    stored(spool, mail(subject="recent"))
    assert drain_spool(spool, desk.ingest) == 2
    # Entry names carry their arrival time: make one of them eight days old.
    old, recent = spool.entries("done")
    eight_days_ago = time.time_ns() - (KEEP_DONE + timedelta(days=1)).total_seconds() * 1e9
    old.path.rename(old.path.with_name(f"{int(eight_days_ago)}.{old.name.split('.')[1]}"))
    drainer = SpoolDrainer(spool, desk.ingest)
    drainer.start()
    try:
        wait_until(lambda: len(spool.entries("done")) <= 1, 10, "the old entry deleted")
    finally:
        drainer.stop()
    assert [entry.name for entry in spool.entries("done")] == [recent.name]
    assert len(desk.tickets(desk.acme)) == 2


def _address(settings: Settings) -> tuple[str, int]:
    return settings.smtp_listen.host, settings.smtp_listen.port
