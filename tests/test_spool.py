"""The spool keeps every accepted message whole, byte for byte, across crashes."""

from __future__ import annotations

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


def test_recover_returns_entries_left_in_processing_to_new(spool: Spool) -> None:
    first = spool.claim(spool.store(RAW, ENVELOPE))
    second = spool.claim(spool.store(RAW, ENVELOPE))
    assert first is not None
    assert second is not None
    assert spool.recover() == 2
    assert [entry.name for entry in spool.pending()] == [first.name, second.name]
    assert spool.entries("processing") == []


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
