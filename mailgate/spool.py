"""The durable spool: accepted mail is on disk, fsynced, before the sender hears 250.

Layout, Maildir style, under one root directory::

    tmp/         entries being written; never read
    new/         stored entries waiting to be processed
    processing/  entries a worker has claimed
    done/        processed entries
    quarantine/  entries that could not be processed, kept for a person

Each entry is a directory named ``<nanoseconds>.<random hex>`` (so names sort by
arrival) holding two files:

- ``message.eml``: the message exactly as received, byte for byte;
- ``envelope.json``: the SMTP envelope (``mail_from``, ``rcpt_tos``,
  ``transport``, ``received_at`` in ISO 8601 UTC, ``peer``).

An entry is written completely in ``tmp/``, each file and the entry directory
fsynced, and then renamed into ``new/`` in one atomic step, after which ``new/``
is fsynced too: an entry in ``new/`` is always whole, and survives a crash.
Moving between the other directories is a rename as well; those moves are not
fsynced, because a move lost in a crash only makes an entry be processed again,
and processing is idempotent (one stored copy per Message-ID and tenant).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

MESSAGE_FILE = "message.eml"
ENVELOPE_FILE = "envelope.json"
REASON_FILE = "reason.txt"
STATES = ("new", "processing", "done", "quarantine")


@dataclass(frozen=True)
class Envelope:
    """Who sent a message to whom, and how it reached us."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    transport: str
    received_at: datetime
    peer: str = ""

    def to_json(self) -> bytes:
        """Return the envelope as the UTF-8 JSON stored beside the message."""
        document = {
            "mail_from": self.mail_from,
            "rcpt_tos": list(self.rcpt_tos),
            "transport": self.transport,
            "received_at": self.received_at.isoformat(),
            "peer": self.peer,
        }
        return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> Envelope:
        """Read an envelope stored by `to_json`."""
        document = json.loads(data)
        return cls(
            mail_from=document["mail_from"],
            rcpt_tos=tuple(document["rcpt_tos"]),
            transport=document["transport"],
            received_at=datetime.fromisoformat(document["received_at"]),
            peer=document.get("peer", ""),
        )


@dataclass(frozen=True)
class SpoolEntry:
    """One stored message; `path` is its directory in the state it was last seen in."""

    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def state(self) -> str:
        return self.path.parent.name

    @property
    def message_path(self) -> Path:
        return self.path / MESSAGE_FILE

    def read_message(self) -> bytes:
        return self.message_path.read_bytes()

    def read_envelope(self) -> Envelope:
        return Envelope.from_json((self.path / ENVELOPE_FILE).read_bytes())


class Spool:
    """The spool directory; every method raises OSError when the disk fails it."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def store(self, data: bytes, envelope: Envelope) -> SpoolEntry:
        """Write a message durably into new/ and return its entry.

        Raises:
            OSError: it could not be written (disk full, no permission, ...);
                nothing is left in new/ then.
        """
        tmp, new = self._ensure("tmp"), self._ensure("new")
        name = f"{time.time_ns()}.{uuid.uuid4().hex}"
        staging = tmp / name
        try:
            staging.mkdir()
            _write_synced(staging / MESSAGE_FILE, data)
            _write_synced(staging / ENVELOPE_FILE, envelope.to_json())
            _sync_directory(staging)
            staging.rename(new / name)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _sync_directory(new)
        return SpoolEntry(new / name)

    def pending(self) -> list[SpoolEntry]:
        """Return the entries waiting in new/, oldest first."""
        return list(self._entries("new"))

    def entries(self, state: str) -> list[SpoolEntry]:
        """Return the entries in one of STATES, oldest first."""
        if state not in STATES:
            raise ValueError(f"no spool state {state!r}")
        return list(self._entries(state))

    def claim(self, entry: SpoolEntry) -> SpoolEntry | None:
        """Move an entry from new/ to processing/; None if another worker took it first."""
        return self._move(entry, "processing")

    def finish(self, entry: SpoolEntry) -> SpoolEntry | None:
        """Move a processed entry to done/."""
        return self._move(entry, "done")

    def release(self, entry: SpoolEntry) -> SpoolEntry | None:
        """Put a claimed entry back into new/, to be processed again later."""
        return self._move(entry, "new")

    def quarantine(self, entry: SpoolEntry, reason: str) -> SpoolEntry | None:
        """Move an entry a person must look at to quarantine/, with the reason beside it."""
        (entry.path / REASON_FILE).write_text(reason + "\n", encoding="utf-8")
        return self._move(entry, "quarantine")

    def recover(self) -> int:
        """Put entries left in processing/ by a stopped process back into new/; return how many.

        Call it once at start, before any worker claims entries.
        """
        moved = [self._move(entry, "new") for entry in self._entries("processing")]
        return sum(1 for entry in moved if entry is not None)

    def _ensure(self, state: str) -> Path:
        directory = self.root / state
        directory.mkdir(parents=True, exist_ok=True)
        return directory

    def _entries(self, state: str) -> Iterator[SpoolEntry]:
        directory = self.root / state
        if not directory.is_dir():
            return
        for name in sorted(os.listdir(directory)):
            yield SpoolEntry(directory / name)

    def _move(self, entry: SpoolEntry, state: str) -> SpoolEntry | None:
        target = self._ensure(state) / entry.name
        try:
            entry.path.rename(target)
        except FileNotFoundError:
            return None
        return SpoolEntry(target)


def _write_synced(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_directory(path: Path) -> None:
    # A rename or a new file is durable only once its directory is flushed too.
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
