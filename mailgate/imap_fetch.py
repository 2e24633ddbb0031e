"""One IMAP fetch round: every message above the checkpoint into the spool, then flagged."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from helpdesk.clock import Clock
from helpdesk.db import SessionFactory, session_scope
from helpdesk.principal import System
from helpdesk.services.mailbox_health import (
    Checkpoint,
    FetchedMailbox,
    advance_checkpoint,
    read_checkpoint,
    record_fetch_success,
)
from mailgate.spool import Envelope, Spool

log = logging.getLogger(__name__)

# Our own keyword on fetched messages. \Seen is left alone: the people who
# read the mailbox keep seeing what they have not read yet, and we never
# rely on either flag (the UID checkpoint decides what is new).
FETCHED_KEYWORD = b"$HelpdeskFetched"
DEFAULT_FOLDER = "INBOX"


@dataclass(frozen=True)
class ImapTarget:
    """Where a mailbox's mail is: server, TLS or not, login name and folder."""

    host: str
    port: int
    tls: bool
    username: str
    folder: str


def parse_imap_url(url: str) -> ImapTarget:
    """Read imaps://user@host[:port][/FOLDER] (imap:// is plain, for loopback tests).

    Raises:
        ValueError: the URL is not an IMAP URL.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username:
        raise ValueError(f"not an IMAP URL: {url!r}")
    tls = parts.scheme == "imaps"
    folder = unquote(parts.path.lstrip("/")) or DEFAULT_FOLDER
    return ImapTarget(
        host=parts.hostname,
        port=parts.port or (993 if tls else 143),
        tls=tls,
        username=unquote(parts.username),
        folder=folder,
    )


class FetchRound:
    """Fetches one mailbox's new messages over a connected, logged-in client.

    The order is what makes it safe: a message is written to the spool
    (fsynced) first, the checkpoint is advanced past its UID next (committed),
    and only then is it flagged. A connection dropped anywhere loses nothing
    (what was not stored is above the checkpoint and fetched again) and
    repeats nothing (what was stored is below it).
    """

    def __init__(
        self,
        mailbox: FetchedMailbox,
        sessions: SessionFactory,
        spool: Spool,
        clock: Clock,
    ) -> None:
        self.mailbox = mailbox
        self.sessions = sessions
        self.spool = spool
        self.clock = clock
        self.actor = System(mailbox.tenant_id, "imap poller")
        self.target = parse_imap_url(mailbox.imap_url)

    def run(self, client: Any) -> int:
        """Fetch every message above the checkpoint; return how many were stored."""
        selected = client.select_folder(self.target.folder)
        checkpoint = self._start_from(int(selected[b"UIDVALIDITY"]))
        may_flag = b"\\*" in selected.get(b"PERMANENTFLAGS", ())
        stored = 0
        for uid in self._new_uids(client, checkpoint.last_uid):
            if self._fetch_one(client, uid):
                stored += 1
            checkpoint = Checkpoint(checkpoint.uidvalidity, uid)
            self._advance(checkpoint)
            if may_flag:
                client.add_flags([uid], [FETCHED_KEYWORD], silent=True)
        with session_scope(self.sessions) as session:
            record_fetch_success(session, self.actor, self.mailbox.id, now=self.clock())
        return stored

    def _start_from(self, uidvalidity: int) -> Checkpoint:
        with session_scope(self.sessions) as session:
            checkpoint = read_checkpoint(session, self.actor, self.mailbox.id)
        if checkpoint.uidvalidity == uidvalidity:
            return checkpoint
        if checkpoint.uidvalidity is not None:
            # RFC 3501 §2.3.1.1: the old UIDs mean nothing now. Everything is
            # fetched again; the pipeline's fingerprints store each message once.
            log.warning(
                "%s: UIDVALIDITY changed from %s to %s; fetching the folder again",
                self.mailbox.address,
                checkpoint.uidvalidity,
                uidvalidity,
            )
        fresh = Checkpoint(uidvalidity, 0)
        self._advance(fresh)
        return fresh

    def _new_uids(self, client: Any, last_uid: int) -> list[int]:
        # "N:*" always matches the last message, even below N (RFC 3501 §6.4.8).
        found = client.search(["UID", f"{last_uid + 1}:*"])
        return sorted(int(uid) for uid in found if int(uid) > last_uid)

    def _fetch_one(self, client: Any, uid: int) -> bool:
        # BODY.PEEK leaves \Seen as it was. One message a command, so that
        # each is stored and checkpointed before the next is asked for.
        response = client.fetch([uid], ["BODY.PEEK[]"])
        data = response.get(uid, {}).get(b"BODY[]")
        if data is None:
            log.info("%s: UID %d was expunged before we read it", self.mailbox.address, uid)
            return False
        envelope = Envelope(
            mail_from="",
            rcpt_tos=(self.mailbox.address,),
            transport="imap",
            received_at=self.clock(),
            peer=self.target.host,
        )
        self.spool.store(bytes(data), envelope)
        return True

    def _advance(self, checkpoint: Checkpoint) -> None:
        with session_scope(self.sessions) as session:
            advance_checkpoint(session, self.actor, self.mailbox.id, checkpoint, now=self.clock())
