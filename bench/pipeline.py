"""Inbound pipeline benchmark: mails per second into committed ticket messages, and peak memory.

Run by hand, not by `make test`:

    .venv/bin/python -m bench.pipeline                        # 2000 mails, SQLite and PostgreSQL
    .venv/bin/python -m bench.pipeline --count 500 --sqlite-only
    .venv/bin/python -m bench.pipeline --sqlite-only --profile    # where SQLite's time goes

One run generates a deterministic mix of realistic mails (bench.mail_mix: new
tickets from about 300 senders, replies quoting earlier mails of the mix,
HTML, PDF and PNG attachments, German, French and Japanese) and measures, on
one core:

1. the bare rate: Python's `email` parsing each mail (policy.default), walking
   it and decoding every leaf part with get_content() (median of 3 passes);
2. the pipeline on SQLite: a fresh var directory, one tenant with the mailbox
   support@acme.test, each mail through mailgate.ingest.Ingest.process() as
   SMTP delivered it; wall time from the first mail to the last result, every
   result checked (none may be quarantined);
3. the same on PostgreSQL: a throwaway cluster with fsync on (initdb must be
   installed);
   each backend twice: one mail per transaction (`Ingest.process`, as a
   single message is handled) and batched (`Ingest.process_many`, 50 mails to
   a transaction, as the spool drain and `helpdesk import` run);
4. peak memory for one mail of 25 MiB raw (the largest the gateway accepts;
   nearly all of it one base64 PDF of about 18 MiB), in a fresh process on
   SQLite: the peak resident size (VmHWM) after a few warm-up mails is idle;
   its growth while the big mail is read from disk and ingested is the
   figure, so it counts the raw bytes themselves (1x).

The tenant's intake limits (new tickets per sender and per hour) are raised
to 1,000,000, so that every mail lands as a ticket message: the limits are
checked as always, but they do not hold mail back. Goals (issue 4): the
pipeline on SQLite at least half the bare rate; peak memory under 4x the
mail's size above idle.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import pstats
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy

from sqlalchemy import func, select

from bench.api_list import create_database, postgres_cluster
from bench.mail_desk import fresh_desk, scratch_dir, smtp_envelope
from bench.mail_mix import MixedMail, generate_mix
from bench.pipeline_memory import MemoryFigures, peak_memory
from helpdesk.models import Message
from helpdesk.settings import Settings
from mailgate.inbound import Envelope
from mailgate.ingest import Delivery, Ingest, IngestResult

GOAL_RATIO = 0.5  # of the bare parse rate, on SQLite
GOAL_MEMORY = 4.0  # times the mail's size, above idle
PROGRESS_SECONDS = 5.0
BARE_PASSES = 3


@dataclass
class Run:
    """What one pass of the mix through the pipeline did, and how fast."""

    backend: str
    profiled: bool = False  # then slower than it really is
    batched: bool = False  # through process_many, as the spool drain runs
    seconds: float = 0.0
    mails: int = 0
    committed: int = 0  # ticket messages written
    actions: Counter[str] = field(default_factory=Counter)
    quarantined: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.mails / self.seconds


def main() -> None:
    options = _options()
    _log_first_few(3)
    print(f"generating {options.count:,} mails (seed {options.seed}) ...", flush=True)
    mix = generate_mix(options.count, seed=options.seed)
    describe_mix(mix)
    bare = bare_rate(mix)
    runs = []
    with scratch_dir() as base:
        for batched in (False, True):
            settings = Settings.for_var_dir(base / f"sqlite-{batched}")
            runs.append(
                pipeline_run("SQLite", settings, mix, profile=options.profile, batched=batched)
            )
        if not options.sqlite_only:
            # fsync on: a commit is as durable as in production, as SQLite's is.
            with postgres_cluster(base / "cluster", fsync=True) as admin:
                for batched in (False, True):
                    url = create_database(admin, f"bench_pipeline_{int(batched)}")
                    settings = Settings.for_var_dir(base / f"pg-{batched}", database_url=url)
                    runs.append(pipeline_run("PostgreSQL", settings, mix, batched=batched))
        memory = peak_memory(base)
    print_table(bare, runs, memory)
    if any(run.quarantined or run.committed != run.mails for run in runs):
        sys.exit("some mails did not become ticket messages (see above)")


class _FirstFew(logging.Filter):
    """Lets the first few records through: one traceback explains, thousands bury the table."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.left = limit

    def filter(self, record: logging.LogRecord) -> bool:
        self.left -= 1
        return self.left >= 0


def _log_first_few(limit: int) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(_FirstFew(limit))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="mails in the mix")
    parser.add_argument("--seed", type=int, default=4, help="the mix's random seed")
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--profile", action="store_true", help="profile the SQLite run")
    return parser.parse_args()


def describe_mix(mix: list[MixedMail]) -> None:
    """Print what the mix is made of: shapes, languages, sizes."""
    sizes = sorted(len(mail.data) for mail in mix)
    shapes = Counter(mail.shape for mail in mix)
    replies = sum(mail.reply for mail in mix)
    other = sum(mail.language != "en" for mail in mix)
    median, low, high = sizes[len(sizes) // 2], sizes[len(sizes) // 10], sizes[len(sizes) * 9 // 10]
    print(f"  {len(mix) - replies} new, {replies} replies; {shapes['html']} HTML, "
          f"{shapes['attachment']} with attachments; {other} not in English; "
          f"{len({mail.sender for mail in mix})} senders\n"
          f"  sizes: median {_kb(median)}, 10% {_kb(low)}, 90% {_kb(high)}, "
          f"total {sum(sizes) / 2**20:.1f} MiB", flush=True)  # fmt: skip


def bare_rate(mix: list[MixedMail]) -> float:
    """Return mails per second through the standard library's parse, walk and decode.

    The median of a few passes: one pass is short, and easily disturbed.
    """
    rates = sorted(_bare_pass(mix) for _ in range(BARE_PASSES))
    spread = ", ".join(f"{rate:,.1f}" for rate in rates)
    median = rates[len(rates) // 2]
    print(f"bare email parse-walk-decode: {median:,.1f} mails/s (passes: {spread})", flush=True)
    return median


def _bare_pass(mix: list[MixedMail]) -> float:
    started = time.perf_counter()
    for mail in mix:
        message = message_from_bytes(mail.data, policy=policy.default)
        for part in message.walk():
            if not part.is_multipart():
                part.get_content()
    return len(mix) / (time.perf_counter() - started)


def pipeline_run(
    backend: str,
    settings: Settings,
    mix: list[MixedMail],
    *,
    profile: bool = False,
    batched: bool = False,
) -> Run:
    """Pass the mix through a fresh desk on the settings' database; return what happened."""
    print(f"pipeline on {backend}{' batched' if batched else ''}: setting up ...", flush=True)
    ingest = fresh_desk(settings)
    ingest.process(*_warmup_mail())  # imports and first-use caches, not measured
    before = _committed(ingest)
    run = Run(backend, profiled=profile, batched=batched)
    profiler = cProfile.Profile() if profile else None
    started = last_report = time.perf_counter()
    if profiler:
        profiler.enable()
    for results in _results(ingest, mix, batched):
        _record(run, results)
        if time.perf_counter() - last_report > PROGRESS_SECONDS:
            last_report = time.perf_counter()
            print(
                f"  {run.mails:,}/{len(mix):,}  {run.mails / (last_report - started):.1f} mails/s",
                flush=True,
            )
    if profiler:
        profiler.disable()
    run.seconds = time.perf_counter() - started
    run.committed = _committed(ingest) - before
    _report(run, profiler)
    return run


def _results(ingest: Ingest, mix: list[MixedMail], batched: bool) -> Iterator[list[IngestResult]]:
    if not batched:
        for mail in mix:
            yield ingest.process(mail.data, smtp_envelope(mail.sender))
        return
    deliveries = ((n, Delivery(m.data, smtp_envelope(m.sender))) for n, m in enumerate(mix))
    for _, results in ingest.process_many(deliveries):
        yield results


def _warmup_mail() -> tuple[bytes, Envelope]:
    mail = generate_mix(1, seed=999)[0]
    return mail.data, smtp_envelope(mail.sender)


def _committed(ingest: Ingest) -> int:
    with ingest.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Message)) or 0)


def _record(run: Run, results: list[IngestResult]) -> None:
    run.mails += 1
    for result in results:
        run.actions[result.action] += 1
        if result.action == "quarantined":
            run.quarantined.append(result.reason)


def _report(run: Run, profiler: cProfile.Profile | None) -> None:
    actions = ", ".join(f"{count} {action}" for action, count in run.actions.most_common())
    print(f"  {run.mails:,} mails in {run.seconds:.1f} s: {run.rate:.1f} mails/s ({actions}); "
          f"{run.committed:,} ticket messages committed", flush=True)  # fmt: skip
    for reason, count in Counter(run.quarantined).most_common(10):
        print(f"  QUARANTINED {count}x: {reason}", flush=True)
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
        print(out.getvalue(), flush=True)


def print_table(bare: float, runs: list[Run], memory: MemoryFigures) -> None:
    """Print the rates beside the bare parse rate, and the memory multiple, with the goals."""
    rows: list[tuple[str, ...]] = [
        ("bare email parse-walk-decode", f"{bare:,.1f} mails/s", "1.00x", "", "")
    ]
    rows += [_rate_row(run, bare) for run in runs]
    rows.append(_memory_row(memory))
    out = io.StringIO()
    out.write("| measure | value | ratio | goal | met |\n|---|---|---|---|---|\n")
    for row in rows:
        out.write("| " + " | ".join(row) + " |\n")
    print(f"\none process, one core\n{out.getvalue()}", flush=True)


def _rate_row(run: Run, bare: float) -> tuple[str, ...]:
    ratio = run.rate / bare
    mode = "batched" if run.batched else "one per transaction"
    name = f"pipeline, {run.backend}, {mode}" + (" (profiled)" if run.profiled else "")
    value = f"{run.rate:,.1f} mails/s"
    if run.backend != "SQLite":
        return (name, value, f"{ratio:.2f}x", "", "")
    return (name, value, f"{ratio:.2f}x", f">= {GOAL_RATIO:.2f}x", _met(ratio >= GOAL_RATIO))


def _memory_row(memory: MemoryFigures) -> tuple[str, ...]:
    return (
        f"peak memory, one {memory.size / 2**20:.1f} MiB mail",
        f"{(memory.peak - memory.idle) / 2**20:,.0f} MiB above idle",
        f"{memory.multiple:.2f}x its size",
        f"< {GOAL_MEMORY:.0f}x",
        _met(memory.multiple < GOAL_MEMORY),
    )


def _met(ok: bool) -> str:
    return "yes" if ok else "NO"


def _kb(size: int) -> str:
    return f"{size / 1024:.1f} KiB"


if __name__ == "__main__":
    main()
