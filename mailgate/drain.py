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

from helpdesk.errors import one_line
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
# What reading an entry's files raises when they are missing or damaged.
UNREADABLE = (OSError, ValueError, KeyError)


def drain_spool(spool: Spool, ingest: Ingest) -> int:
    """Process every message waiting in the spool; return how many were processed.

    Messages go through `Ingest.process_many`, many to a transaction; an
    entry goes to done/ only after the commit that holds what became of it (a
    ticket message, a duplicate, or a quarantined raw message in the
    database). Entries whose processing was cut short before (suspects: they
    were in hand when the processor died or failed) go after the others, each
    in a transaction of its own and each tried whatever became of the one
    before, so that a poisoned message takes no innocent one down with it.
    One cut short MAX_ATTEMPTS times already is quarantined unprocessed: in
    the database, or in the spool's quarantine/ if the database refuses even
    that. An entry whose files cannot be read goes to the spool's quarantine/.

    Raises:
        DatabaseUnavailable: the database cannot be reached; every entry not
            committed is back in new/, the attempt not counted.
        Exception: another error escaped ingest (for suspects, the first one,
            once every suspect was tried); every entry not committed is back
            in new/, the attempt counted.
    """
    fresh: list[SpoolEntry] = []
    suspects: list[SpoolEntry] = []
    for entry in spool.pending():
        (suspects if entry.attempts else fresh).append(entry)
    processed = _count(process_entries(spool, ingest, _claim_each(spool, fresh)))
    return processed + _drain_suspects(spool, ingest, suspects)


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
        deliveries = _deliveries(spool, entries, claimed)
        for name, results in ingest.process_many(deliveries, batch_size=batch_size):
            settle(claimed.pop(name))
            yield results
    except DatabaseUnavailable:
        raise
    except Exception as exc:
        error = one_line(exc)
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
            try:
                # Reading the next batch may fail (a file that cannot be
                # read): the batch in hand, claimed, then goes back to new/.
                upcoming = [writers.submit(store, data) for data in next(batches, [])]
            except BaseException:
                _put_back(spool, entries)
                raise
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
        # Taken back on every pass, the first one included, not only at
        # start: a process sharing the spool may have died meanwhile. A live
        # process's entries are locked.
        recovered = self._spool.recover()
        if recovered:
            log.info("recovered %d spool entries a stopped process left in processing", recovered)
        if time.monotonic() - self._purged_at >= PURGE_SECONDS:
            self._purged_at = time.monotonic()
            keep_ns = int(KEEP_DONE.total_seconds() * 1e9)
            purged = self._spool.purge(time.time_ns() - keep_ns)
            if purged:
                log.info("deleted %d processed spool entries older than %s", purged, KEEP_DONE)


def _claim_each(spool: Spool, entries: list[SpoolEntry]) -> Iterator[SpoolEntry]:
    for entry in entries:
        taken = spool.claim(entry)
        if taken is not None:  # else another worker took it
            yield taken


def _drain_suspects(spool: Spool, ingest: Ingest, suspects: list[SpoolEntry]) -> int:
    """Process each suspect in a transaction of its own; then raise the first error, if any."""
    processed = 0
    failure: Exception | None = None
    for entry in _claim_each(spool, suspects):
        try:
            # Read again once claimed: another process may have counted an
            # attempt since the spool was listed.
            if entry.attempts >= MAX_ATTEMPTS:
                _give_up(spool, ingest, entry)
            else:
                processed += _count(process_entries(spool, ingest, [entry], batch_size=1))
        except DatabaseUnavailable:
            raise
        except Exception as exc:  # counted against this entry alone; the next one is tried
            log.warning("spool entry %s failed: %s", entry.name, one_line(exc))
            failure = failure or exc
    if failure is not None:
        raise failure
    return processed


def _give_up(spool: Spool, ingest: Ingest, entry: SpoolEntry) -> None:
    """Quarantine a claimed entry cut short MAX_ATTEMPTS times, without processing it.

    It goes to the database, where `quarantine retry` processes it; if the
    database refuses even that (the entry's tenant is gone, the blob store
    fails), to the spool's quarantine/, which needs neither and which
    `quarantine list` shows too.

    Raises:
        DatabaseUnavailable: the database cannot be reached; the entry is
            back in new/, the attempt not counted.
    """
    try:
        delivery = _delivery(entry)
    except UNREADABLE as exc:
        _set_aside(spool, entry, exc)
        return
    reason = f"{GAVE_UP}; last error: {entry.last_error}" if entry.last_error else GAVE_UP
    log.error("spool entry %s %s: quarantined, not processed", entry.name, reason)
    try:
        ingest.quarantine(delivery.data, delivery.envelope, reason, tenant_id=delivery.tenant_id)
    except DatabaseUnavailable:
        spool.release(entry)
        raise
    except Exception as exc:  # tried again, it would fail again, for ever
        log.exception("spool entry %s kept in the spool's quarantine/ instead", entry.name)
        spool.quarantine(entry, f"{reason}; the database refused it: {one_line(exc)}")
        return
    spool.finish(entry)


def _deliveries(
    spool: Spool, entries: Iterable[SpoolEntry], claimed: dict[str, SpoolEntry]
) -> Iterator[tuple[str, Delivery]]:
    for entry in entries:
        claimed[entry.name] = entry
        try:
            delivery = _delivery(entry)
        except UNREADABLE as exc:
            _set_aside(spool, claimed.pop(entry.name), exc)
            continue
        yield entry.name, delivery


def _set_aside(spool: Spool, entry: SpoolEntry, unreadable: Exception) -> None:
    log.error("spool entry %s is unreadable: %s", entry.name, unreadable)
    spool.quarantine(entry, f"unreadable spool entry: {unreadable}")


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


def _count(results: Iterable[object]) -> int:
    return sum(1 for _ in results)
