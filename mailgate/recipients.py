"""Which recipients the doors accept at RCPT: the mailboxes as DeskSetup keeps them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from helpdesk.db import SessionFactory, session_scope
from mailgate.desk_setup import SETUP_TTL_SECONDS, DeskSetup, RoutingDirectory

# How long RCPT trusts the mailboxes it read, in seconds: as long as the
# pipeline trusts its own (tests/mailgate/test_faults.py waits this long).
RECIPIENTS_TTL_SECONDS = SETUP_TTL_SECONDS


class KnownRecipients:
    """Whether mail to an address is for a mailbox, from mailboxes read again after `ttl` seconds.

    A database round trip per RCPT would cost the gateway a third of its
    rate; an address the kept mailboxes do not know is looked up at once all
    the same, so a new mailbox receives mail from its first minute. A mailbox
    switched off may still be accepted for `ttl` seconds; its mail is then
    quarantined. When the kept mailboxes are too old and cannot be read
    again, the lookup raises, and the sender hears 451.
    """

    def __init__(
        self,
        session_factory: SessionFactory,
        *,
        ttl: float = RECIPIENTS_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = session_factory
        self._setup = DeskSetup(ttl=ttl, timer=clock)
        # The doors look recipients up from several threads at once; one of
        # them reads the mailboxes again while the others wait for the result.
        self._lock = threading.Lock()

    def known_at_once(self, address: str) -> bool:
        """Whether the kept mailboxes, not too old yet, know the address: no database, no wait.

        False means "ask `self(address)`", which may read the database.
        """
        snapshot = self._setup.kept_mailboxes()
        return snapshot is not None and snapshot.mailbox_for(address) is not None

    def __call__(self, address: str) -> bool:
        # A session opens no connection until it runs a query, so an address
        # the kept mailboxes know costs no database round trip.
        with session_scope(self._sessions) as session:
            with self._lock:
                snapshot = self._setup.mailboxes(session)
            return RoutingDirectory(snapshot, session).mailbox_for(address) is not None
