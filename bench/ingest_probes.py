"""What bench.ingest looks at inside the gateway: SQL statements per thread, a profiled drain."""

from __future__ import annotations

import contextlib
import cProfile
import io
import os
import pstats
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from mailgate.drain import SpoolDrainer
from mailgate.ingest import Ingest
from mailgate.spool import Spool

DRAIN_THREAD = "helpdesk-ingest"  # the name mailgate.drain gives its thread


class SqlCounter:
    """Counts the statements, commits and pool checkouts of the drain and of everyone else."""

    def __init__(self, engine: Engine) -> None:
        self.statements: Counter[str] = Counter()
        self.commits: Counter[str] = Counter()
        self.checkouts: Counter[str] = Counter()
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)
        event.listen(engine, "checkout", self._checkout)

    def _statement(self, *_: Any) -> None:
        self.statements[_who()] += 1

    def _commit(self, *_: Any) -> None:
        self.commits[_who()] += 1

    def _checkout(self, *_: Any) -> None:
        self.checkouts[_who()] += 1

    def describe(self, mails: int, who_ran: tuple[str, ...] = ("drain", "smtp")) -> str:
        """Return the counts per mail of those that ran here: the drain's, the SMTP side's."""
        parts = []
        for who in who_ran:
            parts.append(
                f"{who}: {self.statements[who] / mails:.1f} statements, "
                f"{self.checkouts[who] / mails:.2f} connection checkouts (each pinged), "
                f"{self.commits[who] / mails:.2f} commits per mail"
            )
        return "; ".join(parts)


class CpuMeter:
    """CPU time spent from now on: by the whole machine, and by some processes.

    Read from /proc (Linux): how busy the cores were shows whether a rate
    is bound by the processor, and each process's share where it went.
    """

    def __init__(self, processes: dict[str, Callable[[], float]]) -> None:
        self.processes = processes
        self.started = time.perf_counter()
        self.machine = _machine_busy()
        self.spent = {name: seconds() for name, seconds in processes.items()}

    def describe(self, mails: int) -> str:
        """Return the cores busy meanwhile, and each process's milliseconds of CPU per mail."""
        seconds = time.perf_counter() - self.started
        busy = (_machine_busy() - self.machine) / seconds
        shares = [
            f"{name} {1000 * (seconds() - self.spent[name]) / mails:.1f}"
            for name, seconds in self.processes.items()
        ]
        everything = 1000 * busy * seconds / mails
        return (
            f"CPU: {busy:.2f} of {os.cpu_count()} cores busy; ms per mail: "
            + ", ".join(shares)
            + f", everything on the machine {everything:.1f}"
        )


def postgres_seconds() -> float:
    """CPU seconds the live PostgreSQL processes of this machine have spent."""
    total = 0.0
    for comm in Path("/proc").glob("[0-9]*/comm"):
        with contextlib.suppress(OSError):
            if comm.read_text().strip() == "postgres":
                total += process_seconds(int(comm.parent.name))
    return total


def _machine_busy() -> float:
    # /proc/stat's first line: jiffies of all cores by kind; idle and iowait are not busy.
    fields = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def process_seconds(pid: int) -> float:
    """CPU seconds the process has spent, or 0 if it is gone."""
    with contextlib.suppress(OSError):
        after_name = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        # utime and stime, the 14th and 15th fields (the 12th and 13th after the name).
        return (int(after_name[11]) + int(after_name[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


def _who() -> str:
    return "drain" if threading.current_thread().name == DRAIN_THREAD else "smtp"


class ProfiledDrainer(SpoolDrainer):
    """The spool drain with cProfile running in its thread (and only there)."""

    def __init__(self, spool: Spool, ingest: Ingest) -> None:
        super().__init__(spool, ingest)
        self.profiler = cProfile.Profile()

    def _loop(self) -> None:
        self.profiler.enable()
        try:
            super()._loop()
        finally:
            self.profiler.disable()

    def report(self, lines: int = 40) -> str:
        """Return the busiest functions, by cumulative and by own time."""
        out = io.StringIO()
        stats = pstats.Stats(self.profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(lines)
        stats.sort_stats("tottime").print_stats(lines)
        return out.getvalue()
