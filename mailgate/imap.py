"""The IMAP poller: a worker per fetched mailbox, IDLE or polling, reconnecting with backoff."""

from __future__ import annotations

import contextlib
import logging
import ssl
import threading
import time
from collections.abc import Iterator
from typing import Any

from imapclient import IMAPClient, SocketTimeout

from helpdesk.clock import Clock, utcnow
from helpdesk.db import SessionFactory, session_scope
from helpdesk.errors import NotFound, one_line
from helpdesk.principal import System
from helpdesk.services.mailbox_health import (
    MAX_ERROR_CHARS,
    FetchedMailbox,
    fetched_mailbox,
    fetched_mailboxes,
    record_fetch_error,
)
from helpdesk.services.mailboxes import credentials_box
from helpdesk.settings import Settings
from mailgate.imap_fetch import FetchRound, ImapTarget, parse_imap_url
from mailgate.spool import Spool

__all__ = ["FetchError", "ImapPoller"]

log = logging.getLogger(__name__)

POLL_SECONDS = 60.0
# RFC 2177: servers may drop an IDLE after 30 minutes; end it before that.
IDLE_SECONDS = 25 * 60.0
FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 300.0
# How often the list of fetched mailboxes is read again for added ones, and
# a mailbox waiting in IDLE looks whether its settings changed.
RESCAN_SECONDS = 60.0
# How long one IDLE wait blocks before looking whether we are stopping.
_IDLE_SLICE_SECONDS = 1.0
_TIMEOUT = SocketTimeout(connect=15.0, read=120.0)


class FetchError(Exception):
    """Fetching a mailbox failed; the reason is also its health record's last error."""


class ImapPoller:
    """Fetches every active mailbox that has an IMAP URL into the spool."""

    def __init__(
        self,
        settings: Settings,
        session_factory: SessionFactory,
        spool: Spool,
        *,
        poll_interval: float = POLL_SECONDS,
        idle_timeout: float = IDLE_SECONDS,
        max_backoff: float = MAX_BACKOFF_SECONDS,
        rescan_interval: float = RESCAN_SECONDS,
        clock: Clock = utcnow,
    ) -> None:
        self.settings = settings
        self.sessions = session_factory
        self.spool = spool
        self.poll_interval = poll_interval
        self.idle_timeout = min(idle_timeout, IDLE_SECONDS)
        self.max_backoff = max_backoff
        self.rescan_interval = rescan_interval
        self.clock = clock
        self._box = credentials_box(settings.secret_key)
        self._stop = threading.Event()
        self._workers: dict[int, threading.Thread] = {}
        self._supervisor = threading.Thread(target=self._supervise, name="helpdesk-imap")

    def start(self) -> None:
        """Start a worker per fetched mailbox, and watch for mailboxes added later."""
        self._supervisor.start()

    def stop(self) -> None:
        """Stop every worker; a message being fetched is fetched again next time."""
        self._stop.set()
        if self._supervisor.is_alive():
            self._supervisor.join()
        for worker in list(self._workers.values()):
            worker.join()

    def poll_once(self, mailbox_id: int) -> int:
        """Fetch one mailbox's new messages into the spool; return how many were stored.

        Raises:
            NotFound: no fetched mailbox has this id (none does, or it is switched
                off, or its tenant is suspended, or it has no IMAP URL).
            FetchError: connecting or fetching failed (recorded as its last error).
        """
        mailbox = self._mailbox(mailbox_id)
        if mailbox is None:
            raise NotFound("no such fetched mailbox")
        try:
            with self._connect(mailbox) as client:
                return self._round(mailbox).run(client)
        except Exception as exc:
            self._record_error(mailbox, exc)
            raise FetchError(one_line(exc, limit=MAX_ERROR_CHARS)) from exc

    def _supervise(self) -> None:
        while not self._stop.is_set():
            try:
                self._start_workers()
            except Exception:  # a loop boundary: the database may be away for a while
                log.exception("cannot read the mailboxes to fetch")
            self._stop.wait(self.rescan_interval)

    def _start_workers(self) -> None:
        with session_scope(self.sessions) as session:
            ids = [mailbox.id for mailbox in fetched_mailboxes(session)]
        for mailbox_id in ids:
            worker = self._workers.get(mailbox_id)
            if worker is None or not worker.is_alive():
                worker = threading.Thread(
                    target=self._work, args=(mailbox_id,), name=f"helpdesk-imap-{mailbox_id}"
                )
                self._workers[mailbox_id] = worker
                worker.start()

    def _work(self, mailbox_id: int) -> None:
        """Keep one mailbox fetched until stopping, or until it is no longer fetched.

        Each connection uses the settings read just before it; `_serve` ends
        the connection when they change.
        """
        backoff = _Backoff(self.max_backoff)
        while not self._stop.is_set():
            mailbox = None
            try:
                mailbox = self._mailbox(mailbox_id)
                if mailbox is None:
                    return
                with self._connect(mailbox) as client:
                    self._serve(mailbox, client, backoff)
            except Exception as exc:  # a loop boundary: record, back off, reconnect
                if mailbox is not None:
                    self._record_error(mailbox, exc)
                self._stop.wait(backoff.next())

    def _serve(self, mailbox: FetchedMailbox, client: Any, backoff: _Backoff) -> None:
        """Fetch and wait, round after round, until stopping or until the mailbox changes."""
        fetch = self._round(mailbox)
        idle = bool(client.has_capability("IDLE"))
        # Each round reads the mailbox again: one switched off (or whose
        # tenant is suspended) is fetched no more, and one whose URL or
        # password changed is reconnected to by `_work` with the new ones.
        while not self._stop.is_set() and self._unchanged(mailbox):
            stored = fetch.run(client)
            backoff.reset()
            if stored:
                log.info("%s: fetched %d messages", mailbox.address, stored)
            if idle:
                self._idle(client, mailbox)
            else:
                self._stop.wait(self.poll_interval)
                client.noop()

    def _idle(self, client: Any, mailbox: FetchedMailbox) -> None:
        """Wait for new mail, for stopping, for the IDLE timeout, or for the mailbox to change."""
        start = time.monotonic()
        deadline, next_look = start + self.idle_timeout, start + self.rescan_interval
        client.idle()
        try:
            while not self._stop.is_set() and time.monotonic() < deadline:
                began = time.monotonic()
                responses = client.idle_check(timeout=_IDLE_SLICE_SECONDS)
                if any(len(item) > 1 and item[1] == b"EXISTS" for item in responses):
                    return
                # imapclient answers a connection closed under it with no
                # responses at once, where a live one waits out the timeout.
                if not responses and time.monotonic() - began < _IDLE_SLICE_SECONDS / 2:
                    raise ConnectionError("the server closed the connection during IDLE")
                if began >= next_look:
                    if not self._unchanged(mailbox):
                        return
                    next_look = began + self.rescan_interval
        finally:
            client.idle_done()

    @contextlib.contextmanager
    def _connect(self, mailbox: FetchedMailbox) -> Iterator[Any]:
        target = parse_imap_url(mailbox.imap_url)
        client = _client(target)
        try:
            client.login(target.username, self._password(mailbox))
            yield client
        except BaseException:
            # The connection may be dead: close it without a LOGOUT that
            # could wait for the read timeout.
            with contextlib.suppress(Exception):
                client.shutdown()
            raise
        with contextlib.suppress(Exception):
            client.logout()

    def _password(self, mailbox: FetchedMailbox) -> str:
        if mailbox.password_encrypted is None:
            raise FetchError("the mailbox has no IMAP password")
        return self._box.decrypt(mailbox.password_encrypted)

    def _mailbox(self, mailbox_id: int) -> FetchedMailbox | None:
        with session_scope(self.sessions) as session:
            return fetched_mailbox(session, mailbox_id)

    def _unchanged(self, mailbox: FetchedMailbox) -> bool:
        """Whether the mailbox is still fetched, with the settings it was connected with."""
        return self._mailbox(mailbox.id) == mailbox

    def _round(self, mailbox: FetchedMailbox) -> FetchRound:
        return FetchRound(mailbox, self.sessions, self.spool, self.clock)

    def _record_error(self, mailbox: FetchedMailbox, exc: BaseException) -> None:
        reason = one_line(exc, limit=MAX_ERROR_CHARS)
        log.warning("%s: fetching failed: %s", mailbox.address, reason)
        try:
            with session_scope(self.sessions) as session:
                actor = System(mailbox.tenant_id, "imap poller")
                record_fetch_error(session, actor, mailbox.id, reason, now=self.clock())
        except Exception:  # the database may be what failed
            log.exception("%s: cannot record the fetch error", mailbox.address)


def _client(target: ImapTarget) -> Any:
    context = ssl.create_default_context() if target.tls else None
    return IMAPClient(
        target.host, port=target.port, ssl=target.tls, ssl_context=context, timeout=_TIMEOUT
    )


class _Backoff:
    """Exponential waits between reconnections, from one second up to a cap."""

    def __init__(self, cap: float) -> None:
        self.cap = cap
        self.wait = min(FIRST_BACKOFF_SECONDS, self.cap)

    def next(self) -> float:
        wait, self.wait = self.wait, min(self.wait * 2, self.cap)
        return wait

    def reset(self) -> None:
        self.wait = min(FIRST_BACKOFF_SECONDS, self.cap)
