"""The durable spool: accepted mail is on disk, fsynced, before the sender hears 250.

Layout, Maildir style, under one root directory::

    tmp/         entries being written or deleted (leftovers of a crash too); never read
    new/         stored entries waiting to be processed
    processing/  entries a worker has claimed
    done/        processed entries, deleted some days after they arrived
    quarantine/  entries that could not even be read, kept for a person

Each entry is a directory named ``<nanoseconds>.<random hex>`` (so names sort by
arrival) holding:

- ``message.eml``: the message exactly as received, byte for byte;
- ``envelope.json``: the SMTP envelope (``mail_from``, ``rcpt_tos``,
  ``transport``, ``received_at`` in ISO 8601 UTC, ``peer``) and, for imported
  mail, the ``tenant_id`` it belongs to;
- ``attempts``: how many times its processing was cut short (the processor
  died holding it, or failed on it), and ``error.txt``: the last such error;
- ``reason.txt``: in quarantine/, why it is there.

The process working on an entry holds an exclusive ``flock`` on its directory,
from before it claims the entry until it moves it on; the kernel releases it
when that process dies, even by ``kill -9``.

An entry is written completely in ``tmp/``, each file and the entry directory
fsynced, and then renamed into ``new/`` (or, stored claimed as `helpdesk import`
does, into ``processing/``) in one atomic step, after which that directory is
fsynced too: an entry there is always whole, and survives a crash.
Moving between the other directories is a rename as well; those moves are not
fsynced, because a move lost in a crash only makes an entry be processed again,
and processing is idempotent (one stored copy per Message-ID and tenant). An
entry in ``processing/`` whose lock nobody holds was left by a process that
died: `Spool.recover` counts the attempt and puts it back into ``new/``, and
any number of processes may share one spool.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from mailgate.spool_entry import (
    ATTEMPTS_FILE,
    ENVELOPE_FILE,
    ERROR_FILE,
    MESSAGE_FILE,
    REASON_FILE,
    Envelope,
    SpoolEntry,
    lock_entry,
    write_note,
)

__all__ = ["STATES", "Envelope", "Spool", "SpoolEntry"]

STATES = ("new", "processing", "done", "quarantine")


class Spool:
    """The spool directory; every method raises OSError when the disk fails it.

    An entry this object claimed stays locked by it until it is moved on
    (`finish`, `release`, `fail`, `quarantine`, `discard`).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        # The open lock file of each entry this object holds, by entry name.
        self._held: dict[str, int] = {}

    def store(self, data: bytes, envelope: Envelope, *, claimed: bool = False) -> SpoolEntry:
        """Write a message durably into new/ and return its entry.

        With `claimed`, the entry goes straight to processing/, claimed by
        this object, as if `claim` had taken it from new/.

        Raises:
            OSError: it could not be written (disk full, no permission, ...);
                nothing is left in new/ then.
        """
        target = self._ensure("processing" if claimed else "new")
        tmp, name = self._ensure("tmp"), f"{time.time_ns()}.{uuid.uuid4().hex}"
        staging = tmp / name
        lock = None
        try:
            staging.mkdir()
            _write_synced(staging / MESSAGE_FILE, data)
            _write_synced(staging / ENVELOPE_FILE, envelope.to_json())
            _sync_directory(staging)
            lock = lock_entry(staging) if claimed else None
            staging.rename(target / name)
        except OSError:
            if lock is not None:
                os.close(lock)
            shutil.rmtree(staging, ignore_errors=True)
            raise
        entry = SpoolEntry(target / name)
        if lock is not None:
            self._held[name] = lock
        _sync_directory(target)
        return entry

    def pending(self) -> list[SpoolEntry]:
        """Return the entries waiting in new/, oldest first."""
        return list(self._entries("new"))

    def entries(self, state: str) -> list[SpoolEntry]:
        """Return the entries in one of STATES, oldest first."""
        if state not in STATES:
            raise ValueError(f"no spool state {state!r}")
        return list(self._entries(state))

    def claim(self, entry: SpoolEntry) -> SpoolEntry | None:
        """Lock an entry of new/ and move it to processing/.

        Returns None if another worker, in this process or another, took it first.
        """
        # The lock is taken before the move: an entry in processing/ is then
        # always locked while its worker lives, and `recover` never takes it.
        lock = lock_entry(entry.path)
        if lock is None:
            return None
        taken = self._move(entry, "processing")
        if taken is None:
            os.close(lock)
            return None
        self._held[taken.name] = lock
        return taken

    def finish(self, entry: SpoolEntry) -> SpoolEntry | None:
        """Move a processed entry to done/."""
        return self._let_go(entry, "done")

    def release(self, entry: SpoolEntry) -> SpoolEntry | None:
        """Put a claimed entry back into new/, the attempt not counted: it was not its fault."""
        return self._let_go(entry, "new")

    def fail(self, entry: SpoolEntry, error: str) -> SpoolEntry | None:
        """Put a claimed entry back into new/ after `error`; the attempt counts."""
        _count_attempt(entry)
        write_note(entry.path / ERROR_FILE, error)
        return self._let_go(entry, "new")

    def quarantine(self, entry: SpoolEntry, reason: str) -> SpoolEntry | None:
        """Move an entry a person must look at to quarantine/, with the reason beside it."""
        write_note(entry.path / REASON_FILE, reason)
        return self._let_go(entry, "quarantine")

    def discard(self, entry: SpoolEntry) -> None:
        """Delete a claimed entry that is no longer needed (its message is committed)."""
        # Moved out of sight first, so that no one ever reads a half-deleted entry.
        gone = self._let_go(entry, "tmp")
        if gone is not None:
            shutil.rmtree(gone.path, ignore_errors=True)

    def recover(self) -> int:
        """Put entries left in processing/ by a process that died back into new/; return how many.

        Each counts an attempt. Safe at any time and from any process: an
        entry whose worker lives is locked, and left alone.
        """
        moved = 0
        for entry in self._entries("processing"):
            lock = None if entry.name in self._held else lock_entry(entry.path)
            if lock is None:
                continue
            try:
                # Counted before the move: a recovery cut short counts too,
                # so that no crash loop goes on for ever.
                _count_attempt(entry)
                moved += self._move(entry, "new") is not None
            finally:
                os.close(lock)
        return moved

    def purge(self, before_ns: int) -> int:
        """Delete entries of done/ (and leftovers in tmp/) that arrived before `before_ns`.

        Returns how many were deleted.
        """
        old = [
            entry
            for state in ("done", "tmp")
            for entry in self._entries(state)
            if (entry.arrived_at_ns or before_ns) < before_ns
        ]
        for entry in old:
            shutil.rmtree(entry.path, ignore_errors=True)
        return len(old)

    def _let_go(self, entry: SpoolEntry, state: str) -> SpoolEntry | None:
        # The move comes before the unlock: no one finds the entry unlocked
        # in processing/ meanwhile.
        try:
            return self._move(entry, state)
        finally:
            lock = self._held.pop(entry.name, None)
            if lock is not None:
                os.close(lock)

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


def _count_attempt(entry: SpoolEntry) -> None:
    write_note(entry.path / ATTEMPTS_FILE, str(entry.attempts + 1))


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
