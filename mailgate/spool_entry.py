"""One spool entry on disk: its envelope, the notes beside the message, and its lock."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

MESSAGE_FILE = "message.eml"
ENVELOPE_FILE = "envelope.json"
REASON_FILE = "reason.txt"
ATTEMPTS_FILE = "attempts"
ERROR_FILE = "error.txt"


@dataclass(frozen=True)
class Envelope:
    """Who sent a message to whom, how it reached us, and its tenant when imported."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    transport: str
    received_at: datetime
    peer: str = ""
    tenant_id: int | None = None

    def to_json(self) -> bytes:
        """Return the envelope as the UTF-8 JSON stored beside the message."""
        document = {
            "mail_from": self.mail_from,
            "rcpt_tos": list(self.rcpt_tos),
            "transport": self.transport,
            "received_at": self.received_at.isoformat(),
            "peer": self.peer,
            "tenant_id": self.tenant_id,
        }
        return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> Envelope:
        """Read an envelope stored by `to_json`."""
        document = json.loads(data)
        tenant_id = document.get("tenant_id")
        return cls(
            mail_from=document["mail_from"],
            rcpt_tos=tuple(document["rcpt_tos"]),
            transport=document["transport"],
            received_at=datetime.fromisoformat(document["received_at"]),
            peer=document.get("peer", ""),
            tenant_id=None if tenant_id is None else int(tenant_id),
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

    @property
    def attempts(self) -> int:
        """How many times its processing was cut short: the processor died or failed on it."""
        try:
            return int((self.path / ATTEMPTS_FILE).read_text(encoding="ascii"))
        except (OSError, ValueError):
            return 0

    @property
    def last_error(self) -> str:
        """The error that last ended its processing, or "" (none, or the processor died)."""
        return _read_note(self.path / ERROR_FILE)

    @property
    def reason(self) -> str:
        """Why the entry is in quarantine/, or ""."""
        return _read_note(self.path / REASON_FILE)

    @property
    def arrived_at_ns(self) -> int | None:
        """When the entry was stored, in nanoseconds since the epoch, read from its name."""
        stamp = self.name.split(".", 1)[0]
        return int(stamp) if stamp.isdigit() else None

    def read_message(self) -> bytes:
        return self.message_path.read_bytes()

    def read_envelope(self) -> Envelope:
        return Envelope.from_json((self.path / ENVELOPE_FILE).read_bytes())


def lock_entry(directory: Path) -> int | None:
    """Open and lock an entry's directory; None if the entry is gone or someone holds it."""
    # The directory itself is locked: nothing is created on the hot path,
    # and the lock moves with the directory from state to state.
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def write_note(path: Path, text: str) -> None:
    """Write a small file beside the message, whole or not at all; never raise.

    A note is renamed into place, so a process killed half way leaves the
    old one, never an empty file. It is not fsynced: it has to survive the
    death of a process, which the page cache does; after a crash of the whole
    machine, an older note only costs a retry. A disk too full to take a note
    must not keep accepted mail from being processed: the note is then lost.
    """
    staging = path.with_name(f"{path.name}.new")
    try:
        staging.write_text(text + "\n", encoding="utf-8")
        staging.replace(path)
    except OSError:
        with contextlib.suppress(OSError):
            staging.unlink(missing_ok=True)


def _read_note(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""
