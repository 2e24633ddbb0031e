"""The spool keeps every accepted message whole, byte for byte, across crashes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailgate.spool import Envelope, Spool

RAW = b"From: a@client.example\r\nSubject: caf\xe9\r\n\r\nbody \xff\xfe bytes\r\n"
ENVELOPE = Envelope(
    mail_from="a@client.example",
    rcpt_tos=("support@acme.example", "support+tok@acme.example"),
    transport="smtp",
    received_at=datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
    peer="127.0.0.1:4242",
)

# A worker in a process of its own: it claims every waiting entry, then dies
# (SIGKILL, as a crash would) or waits to be killed.
CLAIM_ALL = """
import os, signal, sys, time
from pathlib import Path
from mailgate.spool import Spool
spool = Spool(Path({root!r}))
for entry in spool.pending():
    spool.claim(entry)
print("claimed", flush=True)
{then}
"""
DIE = "os.kill(os.getpid(), signal.SIGKILL)"
SLEEP = "time.sleep(60)"


def claim_all_and_die(spool: Spool) -> None:
    code = CLAIM_ALL.format(root=str(spool.root), then=DIE)
    died = subprocess.run([sys.executable, "-c", code], capture_output=True, check=False)
    assert died.returncode == -9, died.stderr


@pytest.fixture
def spool(tmp_path: Path) -> Spool:
    return Spool(tmp_path / "spool")


def test_stored_message_waits_in_new_with_exact_bytes_and_envelope(spool: Spool) -> None:
    entry = spool.store(RAW, ENVELOPE)
    assert entry.state == "new"
    assert entry.read_message() == RAW
    assert entry.read_envelope() == ENVELOPE
    assert spool.pending() == [entry]
    assert list((spool.root / "tmp").iterdir()) == []


def test_pending_lists_entries_oldest_first(spool: Spool) -> None:
    entries = [spool.store(RAW + bytes([n]), ENVELOPE) for n in range(5)]
    assert [entry.read_message()[-1] for entry in spool.pending()] == [0, 1, 2, 3, 4]
    assert spool.pending() == entries


def test_an_entry_is_claimed_once_then_finished(spool: Spool) -> None:
    entry = spool.store(RAW, ENVELOPE)
    claimed = spool.claim(entry)
    assert claimed is not None
    assert claimed.state == "processing"
    assert spool.claim(entry) is None
    assert spool.pending() == []
    done = spool.finish(claimed)
    assert done is not None
    assert done.state == "done"
    assert done.read_message() == RAW


def test_recover_returns_entries_a_dead_process_left_in_processing_to_new(spool: Spool) -> None:
    first, second = spool.store(RAW, ENVELOPE), spool.store(RAW, ENVELOPE)
    claim_all_and_die(spool)
    assert [entry.name for entry in spool.entries("processing")] == [first.name, second.name]
    assert spool.recover() == 2
    assert [entry.name for entry in spool.pending()] == [first.name, second.name]
    assert spool.entries("processing") == []


def test_recover_leaves_alone_an_entry_a_live_process_works_on(spool: Spool) -> None:
    spool.store(RAW, ENVELOPE)
    code = CLAIM_ALL.format(root=str(spool.root), then=SLEEP)
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE) as worker:
        assert worker.stdout is not None
        assert worker.stdout.readline() == b"claimed\n"
        try:
            assert Spool(spool.root).recover() == 0
            assert len(spool.entries("processing")) == 1
            assert spool.pending() == []
        finally:
            worker.kill()
    assert Spool(spool.root).recover() == 1


def test_another_spool_object_of_the_same_process_cannot_take_a_claimed_entry(
    spool: Spool,
) -> None:
    claimed = spool.claim(spool.store(RAW, ENVELOPE))
    assert claimed is not None
    other = Spool(spool.root)
    assert other.recover() == 0
    assert spool.finish(claimed) is not None
    assert len(spool.entries("done")) == 1


def test_a_released_entry_waits_again_without_an_attempt_counted(spool: Spool) -> None:
    claimed = spool.claim(spool.store(RAW, ENVELOPE))
    assert claimed is not None
    released = spool.release(claimed)
    assert released is not None
    assert (released.state, released.attempts) == ("new", 0)


def test_a_failed_attempt_counts_and_keeps_the_error(spool: Spool) -> None:
    claimed = spool.claim(spool.store(RAW, ENVELOPE))
    assert claimed is not None
    failed = spool.fail(claimed, "OSError: disk on fire")
    assert failed is not None
    assert (failed.state, failed.attempts, failed.last_error) == ("new", 1, "OSError: disk on fire")
    again = spool.claim(failed)
    assert again is not None
    again_failed = spool.fail(again, "OSError: disk still on fire")
    assert again_failed is not None
    assert (again_failed.attempts, again_failed.last_error) == (2, "OSError: disk still on fire")


def test_attempts_of_processes_that_died_add_up(spool: Spool) -> None:
    spool.store(RAW, ENVELOPE)
    for _ in range(3):
        claim_all_and_die(spool)
        spool.recover()
    [entry] = spool.pending()
    assert entry.attempts == 3


def test_an_entry_stored_claimed_goes_straight_to_processing_and_stays_there(
    spool: Spool,
) -> None:
    entry = spool.store(RAW, ENVELOPE, claimed=True)
    assert (entry.state, entry.attempts) == ("processing", 0)
    assert entry.read_message() == RAW
    assert Spool(spool.root).recover() == 0
    assert spool.pending() == []


def test_a_discarded_entry_is_gone(spool: Spool) -> None:
    entry = spool.store(RAW, ENVELOPE, claimed=True)
    spool.discard(entry)
    for state in ("new", "processing", "done"):
        assert spool.entries(state) == []
    assert list((spool.root / "tmp").iterdir()) == []


def test_purge_deletes_done_entries_and_tmp_leftovers_that_arrived_before_the_cutoff(
    spool: Spool,
) -> None:
    # Given, before the cutoff, a processed entry, a waiting one, and a crash's leftover in tmp/
    old = spool.claim(spool.store(RAW, ENVELOPE))
    assert old is not None
    spool.finish(old)
    waiting = spool.store(RAW, ENVELOPE)
    leftover = spool.root / "tmp" / f"{time.time_ns()}.crashed"
    leftover.mkdir()
    (leftover / "message.eml").write_bytes(RAW[:10])
    cutoff = time.time_ns()
    # and, after it, a processed entry and one being written
    recent = spool.claim(spool.store(RAW, ENVELOPE))
    assert recent is not None
    spool.finish(recent)
    being_written = spool.root / "tmp" / f"{time.time_ns()}.writing"
    being_written.mkdir()
    # Then the old processed entry and the leftover go; the waiting mail stays, however old
    assert spool.purge(cutoff) == 2
    assert [entry.name for entry in spool.entries("done")] == [recent.name]
    assert spool.pending() == [waiting]
    assert [path.name for path in (spool.root / "tmp").iterdir()] == [being_written.name]


def test_the_tenant_of_imported_mail_is_kept_in_the_envelope(spool: Spool) -> None:
    imported = Envelope("", (), "import", ENVELOPE.received_at, tenant_id=7)
    assert spool.store(RAW, imported).read_envelope() == imported
    document = json.loads(ENVELOPE.to_json())
    del document["tenant_id"]
    assert Envelope.from_json(json.dumps(document).encode()) == ENVELOPE


def test_quarantined_entry_keeps_its_bytes_and_the_reason(spool: Spool) -> None:
    claimed = spool.claim(spool.store(RAW, ENVELOPE))
    assert claimed is not None
    kept = spool.quarantine(claimed, "cannot parse: no headers")
    assert kept is not None
    assert kept.state == "quarantine"
    assert kept.read_message() == RAW
    assert (kept.path / "reason.txt").read_text() == "cannot parse: no headers\n"


def test_store_raises_oserror_and_leaves_nothing_when_the_spool_cannot_be_written(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "spool"
    blocker.write_text("a file where the spool directory should be")
    with pytest.raises(OSError, match=r"exists|directory"):
        Spool(blocker).store(RAW, ENVELOPE)


def test_half_written_entries_in_tmp_are_never_pending(spool: Spool) -> None:
    (spool.root / "tmp" / "1.crashed").mkdir(parents=True)
    (spool.root / "tmp" / "1.crashed" / "message.eml").write_bytes(RAW[:10])
    assert spool.pending() == []


def test_unknown_state_is_refused(spool: Spool) -> None:
    with pytest.raises(ValueError, match="no spool state"):
        spool.entries("tmp")
