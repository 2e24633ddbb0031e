"""What bench.ingest looks at inside the gateway: SQL statements per thread, a profiled drain."""

from __future__ import annotations

import cProfile
import io
import pstats
import threading
from collections import Counter
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

    def describe(self, mails: int) -> str:
        """Return the counts per mail, the drain's and the SMTP side's."""
        parts = []
        for who in ("drain", "smtp"):
            parts.append(
                f"{who}: {self.statements[who] / mails:.1f} statements, "
                f"{self.checkouts[who] / mails:.2f} connection checkouts (each pinged), "
                f"{self.commits[who] / mails:.2f} commits per mail"
            )
        return "; ".join(parts)


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
