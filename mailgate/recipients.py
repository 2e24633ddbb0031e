"""Which recipients the doors accept at RCPT: the receiving mailboxes, kept for a few seconds."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from helpdesk.db import SessionFactory, session_scope
from helpdesk.services.mailboxes import (
    find_mailbox_for_address,
    receives_mail,
    receiving_addresses,
)

# How long RCPT trusts its list of receiving addresses, in seconds.
RECIPIENTS_TTL_SECONDS = 5.0


def mailbox_exists(session_factory: SessionFactory, address: str) -> bool:
    """Whether mail to `address` (or its +tag form) belongs to a mailbox; one short session."""
    with session_scope(session_factory) as session:
        return find_mailbox_for_address(session, address) is not None


class KnownRecipients:
    """The receiving addresses, read again when older than `ttl` seconds, for RCPT checks.

    A database round trip per RCPT would cost the gateway a third of its
    rate; an address not in the list is looked up at once all the same, so
    a new mailbox receives mail from its first minute. A mailbox switched off
    may still be accepted for `ttl` seconds; its mail is then quarantined.
    When the list is stale and cannot be read, the lookup raises, and the
    sender hears 451.
    """

    def __init__(
        self,
        session_factory: SessionFactory,
        *,
        ttl: float = RECIPIENTS_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = session_factory
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._addresses: frozenset[str] = frozenset()
        self._read_at = -math.inf

    def __call__(self, address: str) -> bool:
        if receives_mail(self._current(), address):
            return True
        return mailbox_exists(self._sessions, address)

    def _current(self) -> frozenset[str]:
        with self._lock:
            if self._clock() - self._read_at >= self._ttl:
                with session_scope(self._sessions) as session:
                    self._addresses = receiving_addresses(session)
                self._read_at = self._clock()
            return self._addresses
