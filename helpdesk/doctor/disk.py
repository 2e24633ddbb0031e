"""Checks of what mail is written to: the spool (room, backlog, quarantine) and the blob store."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from helpdesk.doctor.findings import Finding, problem, warning
from helpdesk.errors import one_line
from helpdesk.storage import BlobStore

# A drain takes new entries within a second or two; this long means none runs.
BACKLOG_AFTER = timedelta(minutes=5)
_REFUSED = "the SMTP and LMTP doors answer 451 to every message and the IMAP poller stores nothing"


class SpoolEntryView(Protocol):
    """One stored message: its directory."""

    @property
    def path(self) -> Path: ...


class SpoolView(Protocol):
    """The spool as the doctor reads it (mailgate.spool.Spool is one)."""

    root: Path

    def entries(self, state: str) -> Sequence[SpoolEntryView]: ...


def check_spool_dir(spool_dir: Path) -> list[Finding]:
    """Find a spool directory that cannot be written, by creating and deleting a probe file."""
    reason = _unwritable(spool_dir)
    if reason is None:
        return []
    return [
        problem(
            f"the spool {spool_dir} cannot be written: {reason}",
            f"{_REFUSED}: mail waits at the senders, and bounces after some days",
            f"make {spool_dir} a directory the helpdesk's user may write "
            f"(mkdir -p {spool_dir}; chown USER {spool_dir}), or set HELPDESK_SPOOL_DIR",
        )
    ]


def check_spool_room(
    spool_dir: Path, free_bytes: Callable[[Path], int], needed: int, needed_as: str
) -> list[Finding]:
    """Find a spool disk with less room than the doors insist on before they take a message."""
    try:
        free = free_bytes(spool_dir)
    except OSError as exc:
        free, detail = 0, f"cannot tell: {exc.strerror or exc}"
    else:
        detail = f"{_mib(free)} free"
    if free >= needed:
        return []
    return [
        problem(
            f"the spool's disk ({spool_dir}) has too little room: {detail}, "
            f"the doors want {_mib(needed)} ({needed_as})",
            "MAIL FROM is answered 452 until there is room: senders retry, and bounce "
            "after some days",
            f"free space on that disk (entries in {spool_dir / 'done'} may be deleted), "
            "move HELPDESK_SPOOL_DIR to a larger disk, or lower HELPDESK_MAX_MESSAGE_BYTES",
        )
    ]


def check_spool_backlog(spool: SpoolView, *, now: datetime) -> list[Finding]:
    """Find stored mail that no drain has taken for BACKLOG_AFTER."""
    times = [_modified(entry.path) for entry in _entries(spool, "new")]
    stale = [time for time in times if time is not None and now - time > BACKLOG_AFTER]
    if not stale:
        return []
    minutes = int(BACKLOG_AFTER.total_seconds() // 60)
    return [
        problem(
            f"{_messages(len(stale))} waited in {spool.root / 'new'} for more than "
            f"{minutes} minutes (the oldest since {min(stale):%Y-%m-%d %H:%M} UTC)",
            "accepted mail becomes tickets only through a drain, which runs inside "
            "`helpdesk serve` and beside each door; none runs, or it fails",
            "start `helpdesk serve` (or `helpdesk smtp`, `lmtp`, `imap` or `web`); if one "
            "runs, its log says why the drain fails ('spool drain failed', 'database unavailable')",
        )
    ]


def check_spool_quarantine(spool: SpoolView) -> list[Finding]:
    """Find spool entries that could not even be read, kept in quarantine/ for a person."""
    entries = _entries(spool, "quarantine")
    if not entries:
        return []
    folder = spool.root / "quarantine"
    return [
        warning(
            f"{len(entries)} spool {'entry' if len(entries) == 1 else 'entries'} in {folder} "
            f"could not be read (the newest: {entries[-1].path.name})",
            "that mail never reached the pipeline: no ticket, no raw message in the database",
            "read why in each entry's reason.txt (`helpdesk quarantine list` shows them too); "
            f"if its message.eml is whole, run `helpdesk import {folder}/NAME/message.eml "
            "--tenant SLUG`, then delete the entry",
        )
    ]


def check_storage(open_store: Callable[[], BlobStore], url: str) -> list[Finding]:
    """Find a blob store that cannot be written, by putting and deleting a probe object."""
    try:
        reason = _store_unwritable(open_store())
    # Whatever the store raises (no bucket, no credentials, a full disk) is the finding.
    except Exception as exc:
        reason = one_line(exc)
    if reason is None:
        return []
    return [
        problem(
            f"attachment storage {url} cannot be written: {reason}",
            "every received message and attachment is stored there first: while it "
            "fails, no mail becomes a ticket",
            _storage_fix(url),
        )
    ]


def _store_unwritable(store: BlobStore) -> str | None:
    """Put and delete a probe blob; a local store not made yet is only checked, not made."""
    root = getattr(store, "root", None)
    if isinstance(root, Path) and not root.exists():
        return _unwritable(root)
    key = f"doctor-probe-{uuid.uuid4().hex}"
    store.put(key, b"probe")
    store.delete(key)
    return None


def _unwritable(directory: Path) -> str | None:
    """Say why `directory` (or the place it would be created) cannot be written, or None."""
    existing = directory
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing != directory:
        # The doors create the spool on first use: its nearest parent must allow that.
        if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
            return f"it does not exist and cannot be created in {existing}"
        return None
    for folder in (directory, directory / "tmp", directory / "new"):
        if folder == directory or folder.exists():
            reason = _probe(folder)
            if reason is not None:
                return reason
    return None


def _probe(folder: Path) -> str | None:
    try:
        fd, name = tempfile.mkstemp(dir=folder, prefix=".doctor-probe-")
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        return f"{folder}: {exc.strerror or exc}"
    return None


def _entries(spool: SpoolView, state: str) -> Sequence[SpoolEntryView]:
    try:
        return spool.entries(state)
    except OSError:
        return []  # an unreadable spool is check_spool_dir's finding


def _modified(path: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except FileNotFoundError:
        return None  # a drain took it meanwhile


def _storage_fix(url: str) -> str:
    if url.startswith("s3://"):
        return (
            "check that the bucket exists and that the credentials (AWS_* variables, "
            "~/.aws, the instance role) may PutObject and DeleteObject in it; "
            "HELPDESK_S3_ENDPOINT_URL for an S3-compatible store"
        )
    folder = url.removeprefix("file:").removeprefix("//")
    return f"make {folder} a directory the helpdesk's user may write, or set HELPDESK_STORAGE_URL"


def _messages(count: int) -> str:
    return "1 message has" if count == 1 else f"{count} messages have"


def _mib(size: int) -> str:
    return f"{size / 1_048_576:,.1f} MiB"
