"""Drain the spool: each stored message through ingest, moved on once its outcome is committed."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

from mailgate.inbound import Envelope
from mailgate.ingest import DatabaseUnavailable, Delivery, Ingest
from mailgate.spool import Spool, SpoolEntry

log = logging.getLogger(__name__)

# How long the drain loop waits between looks at an empty spool, in seconds.
IDLE_SECONDS = 0.5
# How long it waits after the database went away before trying again.
RETRY_SECONDS = 5.0


def drain_spool(spool: Spool, ingest: Ingest) -> int:
    """Process every message waiting in the spool; return how many were processed.

    Messages go through `Ingest.process_many`, many to a transaction. An
    entry goes to done/ only after the commit that holds what became of it (a
    ticket message, a duplicate, or a quarantined raw message in the
    database). An entry whose files cannot be read goes to the spool's
    quarantine/. When the database cannot be reached, every entry not yet
    committed goes back to new/ and the error is raised: nothing is lost, and
    the next drain tries again.

    Raises:
        DatabaseUnavailable: the database cannot be reached.
    """
    claimed: dict[str, SpoolEntry] = {}
    processed = 0
    try:
        for name, _ in ingest.process_many(_deliveries(spool, claimed)):
            spool.finish(claimed.pop(name))
            processed += 1
    except DatabaseUnavailable:
        for entry in claimed.values():
            spool.release(entry)
        raise
    return processed


def _deliveries(spool: Spool, claimed: dict[str, SpoolEntry]) -> Iterator[tuple[str, Delivery]]:
    for entry in spool.pending():
        taken = spool.claim(entry)
        if taken is None:
            continue  # another process took it
        try:
            data, stored = taken.read_message(), taken.read_envelope()
        except (OSError, ValueError, KeyError) as exc:
            log.error("spool entry %s is unreadable: %s", taken.name, exc)
            spool.quarantine(taken, f"unreadable spool entry: {exc}")
            continue
        claimed[taken.name] = taken
        yield (
            taken.name,
            Delivery(data, Envelope(stored.mail_from, stored.rcpt_tos, stored.transport)),
        )


class SpoolDrainer:
    """A thread that drains the spool until stopped; recovers interrupted entries at start."""

    def __init__(self, spool: Spool, ingest: Ingest) -> None:
        self._spool = spool
        self._ingest = ingest
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="helpdesk-ingest", daemon=True)

    def start(self) -> None:
        recovered = self._spool.recover()
        if recovered:
            log.info("recovered %d spool entries left in processing", recovered)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                busy = drain_spool(self._spool, self._ingest) > 0
            except DatabaseUnavailable as exc:
                log.warning("database unavailable, mail waits in the spool: %s", exc)
                self._stop.wait(RETRY_SECONDS)
                continue
            except Exception:  # a loop boundary: log, keep draining
                log.exception("spool drain failed")
                busy = False
            if not busy:
                self._stop.wait(IDLE_SECONDS)
