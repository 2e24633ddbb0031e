"""The spool drain in a process of its own, beside a door, watched and restarted when it dies.

A door (SMTP, LMTP, IMAP, HTTP) mostly waits for the disk; the drain parses
and files mail, which is work for the interpreter. In one process they would
take turns at one interpreter lock, and the door would answer more slowly
while mail is filed. So the role that drains runs `SpoolDrainer` in a child
process (started with `spawn`: nothing of the door's threads, sockets or
connections is inherited) and supervises it:

- the child says "ready" once it can file mail;
- a child that dies (a crash, an out-of-memory kill) is started again after a
  pause that doubles up to a minute; the spool entries it held are taken back
  by the next drain pass (their `flock` died with it), their attempt counted;
- to stop, the parent closes its end of the pipe: the child finishes the
  batch in hand, commits, and exits; one that does not within
  STOP_TIMEOUT is killed (its entries again taken back on the next start);
- Ctrl-C reaches the whole process group: the child ignores SIGINT and waits
  for its parent to stop it. On Linux the child also dies with its parent
  (`PR_SET_PDEATHSIG`), so a door killed with -9 leaves no drain behind, and
  what the pair had in hand is taken back as after any crash.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from multiprocessing.connection import Connection, wait
from typing import Any

from helpdesk.cli.roles import configure_logging
from helpdesk.settings import Settings

log = logging.getLogger(__name__)

# How long a stopped child may take to finish its batch and commit, in seconds.
STOP_TIMEOUT = 60.0
# The pause before the first restart of a child that died, in seconds; it
# doubles at each death, up to MAX_RESTART_SECONDS, and starts again at this
# once a child lived HEALTHY_SECONDS.
RESTART_SECONDS = 1.0
MAX_RESTART_SECONDS = 60.0
HEALTHY_SECONDS = 60.0
# How often the supervisor looks at its stop flag, in seconds.
POLL_SECONDS = 0.25
READY = "ready"
# prctl(2): the signal a process gets when the thread that started it dies.
PR_SET_PDEATHSIG = 1


class IngestProcess:
    """The `ingest` role: a drain process over the spool and database of `settings`."""

    name = "ingest"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self.pid: int | None = None

    def start(self) -> None:
        # The supervisor thread starts every child: on Linux a child dies
        # with the thread that started it, and this one lives until stop().
        self._thread = threading.Thread(target=self._supervise, name="helpdesk-ingest", daemon=True)
        self._thread.start()

    def wait_ready(self, timeout: float) -> bool:
        """Wait until a drain process is ready to file mail; return whether one is."""
        return self._ready.wait(timeout)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()

    def _supervise(self) -> None:
        pause = RESTART_SECONDS
        while not self._stopping.is_set():
            started = time.monotonic()
            code = self._run_child()
            if code is None:  # stopped
                return
            if time.monotonic() - started >= HEALTHY_SECONDS:
                pause = RESTART_SECONDS
            log.error(
                "the ingest process exited (%s); mail waits in the spool, starting another in %g s",
                _describe_exit(code),
                pause,
            )
            if self._stopping.wait(pause):
                return
            pause = min(pause * 2, MAX_RESTART_SECONDS)

    def _run_child(self) -> int | None:
        """Run one child until it exits (return its exit code) or we stop (return None)."""
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        process = context.Process(
            target=drain_in_this_process,
            args=(self._settings, theirs, os.getpid()),
            name="helpdesk-ingest",
        )
        process.start()
        theirs.close()  # the child's end lives in the child alone: its exit is our EOF
        self.pid = process.pid
        try:
            while not self._stopping.is_set():
                for ready in wait([ours, process.sentinel], timeout=POLL_SECONDS):
                    if ready is ours:
                        self._hear(ours)
                if not process.is_alive():
                    self._ready.clear()
                    return process.exitcode
            return None
        finally:
            ours.close()  # the child's cue to stop, if it still runs
            process.join(STOP_TIMEOUT)
            if process.is_alive():
                log.error("the ingest process did not stop in %g s; killed", STOP_TIMEOUT)
                process.kill()
                process.join()

    def _hear(self, connection: Connection) -> None:
        try:
            said = connection.recv()
        except (EOFError, OSError):  # the child is gone; its sentinel says so next
            return
        if said == READY:
            self._ready.set()


def drain_in_this_process(settings: Settings, parent: Connection, parent_pid: int) -> None:
    """The child: drain the spool until the parent closes its end of `parent`, or dies."""
    _die_with_parent(parent_pid)
    # Ctrl-C reaches the whole process group; the parent decides when we stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    configure_logging()

    from helpdesk.db import make_engine, make_session_factory
    from helpdesk.storage import open_blob_store
    from mailgate.drain import SpoolDrainer
    from mailgate.ingest import Ingest
    from mailgate.spool import Spool

    engine = make_engine(settings.database_url)
    ingest = Ingest(settings, make_session_factory(engine), open_blob_store(settings))
    drainer = SpoolDrainer(Spool(settings.spool_dir), ingest)
    drainer.start()
    try:
        parent.send(READY)
        while True:
            parent.recv()  # nothing else is sent: returns at EOF, by raising
    except (EOFError, OSError, SystemExit):
        pass
    finally:
        drainer.stop()
        engine.dispose()


def _die_with_parent(parent_pid: int) -> None:
    if sys.platform == "linux":
        libc: Any = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    # The parent may have died before prctl took effect: we were then re-parented.
    if os.getppid() != parent_pid:
        os._exit(1)


def _exit_on_signal(signum: int, _frame: object) -> None:
    # Raised in the main thread, out of parent.recv(): the drain then stops as asked.
    raise SystemExit(128 + signum)


def _describe_exit(code: int) -> str:
    if code >= 0:
        return f"exit code {code}"
    try:
        return f"killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"killed by signal {-code}"
