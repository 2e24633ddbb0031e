"""Drain the spool: each stored message through ingest, moved on once its outcome is committed."""

from __future__ import annotations

import itertools
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from functools import partial

from mailgate.inbound import Envelope
from mailgate.ingest import BATCH_SIZE, DatabaseUnavailable, Delivery, Ingest, IngestResult
from mailgate.spool import Envelope as SpoolEnvelope
from mailgate.spool import Spool, SpoolEntry

log = logging.getLogger(__name__)

# How long the drain loop waits between looks at an empty spool, in seconds.
IDLE_SECONDS = 0.5
# How long it waits after the database went away, or a drain failed, before trying again.
RETRY_SECONDS = 5.0
# An entry whose processing was cut short this many times (the processor
# died holding it, or failed on it) is quarantined rather than tried again.
MAX_ATTEMPTS = 3
GAVE_UP = f"crashed the processor {MAX_ATTEMPTS} times"
# Processed entries are kept this long after they arrived: the database holds
# the message, the spool's copy is only for a person investigating.
KEEP_DONE = timedelta(days=7)
# How often the drain loop deletes the processed entries older than that, in seconds.
PURGE_SECONDS = 3600.0
# Threads that write an import's messages into the spool, and delete them.
SPOOL_WRITERS = 4


def drain_spool(spool: Spool, ingest: Ingest) -> int:
    """Process every message waiting in the spool; return how many were processed.

    Messages go through `Ingest.process_many`, many to a transaction; an
    entry goes to done/ only after the commit that holds what became of it (a
    ticket message, a duplicate, or a quarantined raw message in the
    database). Entries whose processing was cut short before (suspects: they
    were in hand when the processor died or failed) go one to a transaction
    after the others, so that a poisoned message takes no innocent one down
    with it; one cut short MAX_ATTEMPTS times already is quarantined in the
    database unprocessed. An entry whose files cannot be
    read goes to the spool's quarantine/.

    Raises:
        DatabaseUnavailable: the database cannot be reached; every entry not
            committed is back in new/, the attempt not counted.
        Exception: another error escaped ingest; every entry not committed is
            back in new/, the attempt counted.
    """
    pending = spool.pending()
    fresh = [entry for entry in pending if entry.attempts == 0]
    suspects = [entry for entry in pending if entry.attempts > 0]
    processed = sum(1 for _ in process_entries(spool, ingest, _claim_each(spool, fresh)))
    singly = process_entries(spool, ingest, _claim_each(spool, suspects), batch_size=1)
    return processed + sum(1 for _ in singly)


def process_entries(
    spool: Spool,
    ingest: Ingest,
    entries: Iterable[SpoolEntry],
    *,
    batch_size: int = BATCH_SIZE,
    settle: Callable[[SpoolEntry], object] | None = None,
) -> Iterator[list[IngestResult]]:
    """Process claimed entries; yield each one's results once they are committed.

    A committed entry is handed to `settle`, by default `spool.finish`
    (moved to done/). When processing stops half way, each entry still
    claimed goes back to new/: its attempt counted if an error escaped
    ingest, not counted if the database went away or the caller stopped.

    Raises:
        DatabaseUnavailable: the database cannot be reached.
        Exception: another error escaped ingest.
    """
    claimed: dict[str, SpoolEntry] = {}
    settle = settle or spool.finish
    error = ""
    try:
        deliveries = _deliveries(spool, ingest, entries, claimed)
        for name, results in ingest.process_many(deliveries, batch_size=batch_size):
            settle(claimed.pop(name))
            yield results
    except DatabaseUnavailable:
        raise
    except Exception as exc:
        error = _describe(exc)
        raise
    finally:
        for entry in claimed.values():
            if error:
                spool.fail(entry, error)
            else:
                spool.release(entry)


def import_messages(
    spool: Spool, ingest: Ingest, messages: Iterable[bytes], envelope: SpoolEnvelope
) -> Iterator[list[IngestResult]]:
    """Store each message in the spool and process it from there; yield each one's results.

    The entries are stored claimed, so that no other drain takes them, and
    deleted once committed: the imported files stay the copy, and an import
    does not double the disk it uses. An import that stops half way leaves
    its uncommitted entries in new/, where the next drain finds them.

    Raises:
        OSError: the spool cannot be written.
        DatabaseUnavailable: the database cannot be reached.
    """
    pending = iter(messages)
    batches = iter(lambda: list(itertools.islice(pending, BATCH_SIZE)), [])
    store = partial(spool.store, envelope=envelope, claimed=True)
    with ThreadPoolExecutor(SPOOL_WRITERS, thread_name_prefix="spool-writer") as writers:
        # The spool's writes and deletes run beside the processing, on
        # several threads: they mostly wait for the disk, which leaves the
        # processor free, and fsyncs that wait together are flushed together.
        def discard(entry: SpoolEntry) -> None:
            writers.submit(spool.discard, entry)

        upcoming = [writers.submit(store, data) for data in next(batches, [])]
        while upcoming:
            entries = _written(spool, upcoming)
            upcoming = [writers.submit(store, data) for data in next(batches, [])]
            try:
                yield from process_entries(spool, ingest, entries, settle=discard)
            except BaseException:
                _put_back(spool, _settle(upcoming)[0])
                raise


class SpoolDrainer:
    """A thread that drains the spool until stopped, taking back what dead processes left."""

    def __init__(self, spool: Spool, ingest: Ingest) -> None:
        self._spool = spool
        self._ingest = ingest
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="helpdesk-ingest", daemon=True)
        self._purged_at = -math.inf

    def start(self) -> None:
        self._recover()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._tidy()
                busy = drain_spool(self._spool, self._ingest) > 0
            except DatabaseUnavailable as exc:
                log.warning("database unavailable, mail waits in the spool: %s", exc)
                self._stop.wait(RETRY_SECONDS)
                continue
            except Exception:  # a loop boundary: log, keep draining
                log.exception("spool drain failed; its messages are tried again one at a time")
                self._stop.wait(RETRY_SECONDS)
                continue
            if not busy:
                self._stop.wait(IDLE_SECONDS)

    def _tidy(self) -> None:
        # Taken back on every pass, not only at start: a process sharing the
        # spool may have died meanwhile. A live process's entries are locked.
        self._recover()
        if time.monotonic() - self._purged_at >= PURGE_SECONDS:
            self._purged_at = time.monotonic()
            keep_ns = int(KEEP_DONE.total_seconds() * 1e9)
            purged = self._spool.purge(time.time_ns() - keep_ns)
            if purged:
                log.info("deleted %d processed spool entries older than %s", purged, KEEP_DONE)

    def _recover(self) -> None:
        recovered = self._spool.recover()
        if recovered:
            log.info("recovered %d spool entries a stopped process left in processing", recovered)


def _claim_each(spool: Spool, entries: list[SpoolEntry]) -> Iterator[SpoolEntry]:
    for entry in entries:
        taken = spool.claim(entry)
        if taken is not None:  # else another worker took it
            yield taken


def _deliveries(
    spool: Spool, ingest: Ingest, entries: Iterable[SpoolEntry], claimed: dict[str, SpoolEntry]
) -> Iterator[tuple[str, Delivery]]:
    for entry in entries:
        claimed[entry.name] = entry
        try:
            delivery = _delivery(entry)
        except (OSError, ValueError, KeyError) as exc:
            log.error("spool entry %s is unreadable: %s", entry.name, exc)
            spool.quarantine(claimed.pop(entry.name), f"unreadable spool entry: {exc}")
            continue
        if entry.attempts < MAX_ATTEMPTS:
            yield entry.name, delivery
            continue
        reason = f"{GAVE_UP}; last error: {entry.last_error}" if entry.last_error else GAVE_UP
        log.error("spool entry %s %s: quarantined, not processed", entry.name, reason)
        ingest.quarantine(delivery.data, delivery.envelope, reason, tenant_id=delivery.tenant_id)
        spool.finish(claimed.pop(entry.name))


def _delivery(entry: SpoolEntry) -> Delivery:
    data, stored = entry.read_message(), entry.read_envelope()
    envelope = Envelope(stored.mail_from, stored.rcpt_tos, stored.transport)
    return Delivery(data, envelope, stored.tenant_id)


def _written(spool: Spool, writes: list[Future[SpoolEntry]]) -> list[SpoolEntry]:
    """Wait for the writes and return their entries; if one failed, put the rest back and raise."""
    entries, failures = _settle(writes)
    if failures:
        _put_back(spool, entries)
        raise failures[0]
    return entries


def _settle(
    writes: list[Future[SpoolEntry]],
) -> tuple[list[SpoolEntry], list[BaseException]]:
    entries, failures = [], []
    for write in writes:
        failure = write.exception()
        if failure is None:
            entries.append(write.result())
        else:
            failures.append(failure)
    return entries, failures


def _put_back(spool: Spool, entries: list[SpoolEntry]) -> None:
    # Entries of an import that stops go to new/, for the next drain.
    for entry in entries:
        spool.release(entry)


def _describe(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"[:500]
