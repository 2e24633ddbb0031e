"""SMTP ingest benchmark: our gateway's acceptance and end-to-end rates beside bare and fsync sinks.

Run by hand, not by `make test`:

    .venv/bin/python -m bench.ingest                       # 10,000 mails, 1, 4 and 16 connections
    .venv/bin/python -m bench.ingest --n 2000 --connections 16
    .venv/bin/python -m bench.ingest --database sqlite     # the embedded default
    .venv/bin/python -m bench.ingest --profile             # cProfile of the drain, last run
    .venv/bin/python -m bench.ingest --drain-processes 2   # experiment: two drains

The mails are bench.mail_mix's realistic mix (new tickets and replies, HTML,
attachments, four languages), sent to support@acme.test by bench.smtp_client,
a process of its own (asyncio sockets), over 1, 4 and 16 connections at once.
For each number of connections, one run prints:

1. the null sink: the client against a server that answers without looking,
   so that it is seen not to be the bottleneck;
2. a bare aiosmtpd sink: a handler answering 250 at once;
3. a fsync sink: aiosmtpd storing each message in a spool (write, fsync,
   rename, fsync the directory) before 250;
4. our gateway's acceptance: mailgate.smtp.start_smtp with its recipient
   check against the database, its session limits and its spool, nothing
   processing;
5. the drain alone: the drain process over the spool (4) filled, with
   nothing else running, until every mail is a committed ticket message: the
   ceiling of (6), which shares the machine with the gateway and the client;
6. our end-to-end rate: the gateway and its drain in a process of its own,
   as `helpdesk smtp` runs them (helpdesk.cli.ingest_process), from the first
   mail sent until every mail is a committed ticket message;

with (4) to (6) as a ratio of (3). (3) and (4) take turns, three rounds
each (`--rounds`), and each is the median of its rounds: the fsync rate of
a shared machine's disk moves by a fifth from one minute to the next. Each
measure but the null sink also prints where the CPU went, in milliseconds
per mail for each process. Goals (issue 5), at 16 connections on
PostgreSQL: acceptance at least 0.90 of the fsync sink, end to end at least
0.60. PostgreSQL is a throwaway cluster with fsync on; each gateway run gets
a fresh database, spool and blob store.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path

from sqlalchemy import func, select

from bench.api_list import create_database, postgres_cluster
from bench.ingest_probes import (
    CpuMeter,
    ProfiledDrainer,
    SqlCounter,
    postgres_seconds,
    process_seconds,
)
from bench.ingest_report import DRAIN_ALONE, FSYNC_SINK, Rate, print_table
from bench.mail_desk import fresh_desk, scratch_dir, smtp_envelope
from bench.mail_mix import generate_mix
from bench.smtp_client import ClientRun, SmtpClient
from bench.smtp_sinks import HOST, bare_sink, free_port, fsync_sink, null_sink
from helpdesk.cli.ingest_process import IngestProcess
from helpdesk.models import Message, RawMessage, Ticket
from helpdesk.settings import Listen, Settings
from mailgate.ingest import Ingest
from mailgate.smtp import start_smtp
from mailgate.spool import Spool

POLL_SECONDS = 0.05
# How long the drain may take after the last mail was accepted, at most.
DRAIN_TIMEOUT = 3600.0


Urls = Callable[[str], str | None]


def main() -> None:
    options = _options()
    client = SmtpClient(options.n, options.seed)
    results: dict[int, list[Rate]] = {}
    try:
        with scratch_dir() as base, _database_urls(options.database, base) as urls:
            print(f"generating {options.n:,} mails in the client process ...", flush=True)
            client.wait_ready()
            for connections in options.connections:
                last = connections == options.connections[-1]
                run = argparse.Namespace(**vars(options) | {"profile": options.profile and last})
                rates = measure(client, connections, base / f"c{connections}", urls, run)
                results[connections] = rates
    finally:
        client.close()
    print_table(results, options.database, options.n, _mode(options))


def _mode(options: argparse.Namespace) -> str:
    drains = options.drain_processes
    mode = f"{drains} drain process(es) beside the server"
    if options.profile:
        mode += " (profiled: the last run's drain is a thread beside the server)"
    interval = sys.getswitchinterval() * 1000
    return f"{mode}, thread switch interval {interval:g} ms"


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="mails to send (default 10,000)")
    parser.add_argument(
        "--connections",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[1, 4, 16],
        help="comma-separated numbers of concurrent connections (default 1,4,16)",
    )
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--seed", type=int, default=4, help="the mix's random seed")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds of the fsync sink and the gateway's acceptance, taking turns; "
        "each is the median of its rounds (default 3)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="cProfile the last drain (it then runs as a thread beside the server, where "
        "the profiler can see it)",
    )
    parser.add_argument(
        "--drain-processes",
        type=int,
        default=1,
        help="drain processes beside the server (default 1, as `helpdesk smtp` runs; "
        "several take turns: filing holds a lock)",
    )
    parser.add_argument(
        "--switch-interval",
        type=float,
        help="experiment: sys.setswitchinterval() for this process, in seconds",
    )
    options = parser.parse_args()
    if options.switch_interval:
        sys.setswitchinterval(options.switch_interval)
    return options


@contextlib.contextmanager
def _database_urls(database: str, base: Path) -> Iterator[Urls]:
    if database == "sqlite":
        yield lambda _name: None
        return
    # fsync on: a commit is as durable as in production.
    with postgres_cluster(base / "cluster", fsync=True) as admin:
        yield lambda name: create_database(admin, name)


def measure(
    client: SmtpClient, connections: int, base: Path, urls: Urls, options: argparse.Namespace
) -> list[Rate]:
    """Run the six measures at one number of connections; print each as it is known."""
    print(f"== {connections} connection(s)", flush=True)
    rates = []
    os.sync()  # the disk starts each measure quiet, not flushing the last one's writes
    with null_sink() as port:
        rates.append(_sent("null sink (the client alone)", client.run(port, connections)))
    with bare_sink() as port:
        rates.append(_sent_metered("bare aiosmtpd sink", client, port, connections))
    # The two rates the acceptance goal compares take turns, round after
    # round, and each is the median of its rounds: a disk's fsyncs slow down
    # and speed up by a fifth from one minute to the next on a shared machine.
    sinks, acceptances = [], []
    for number in range(1, options.rounds + 1):
        with fsync_sink(base / "fsync-spool") as port:
            sinks.append(_sent_metered(FSYNC_SINK, client, port, connections))
        shutil.rmtree(base / "fsync-spool", ignore_errors=True)
        os.sync()
        var_dir, name = base / f"gateway-{number}", f"gateway_{connections}_{number}"
        acceptances.append(gateway_acceptance(client, connections, var_dir, urls, name))
        if number < options.rounds:
            _dispose(acceptances[-1][2], var_dir)
            os.sync()
    rates.append(_median(sinks))
    rate, settings, ingest = acceptances[-1]
    rates.append(_median([rate for rate, _settings, _ingest in acceptances]))
    os.sync()
    rates.append(drain_alone(settings, ingest, rate.mails, options))
    _dispose(ingest, var_dir)
    os.sync()
    rates.append(end_to_end(client, connections, base / "e2e", urls, options))
    return rates


def _sent_metered(name: str, client: SmtpClient, port: int, connections: int) -> Rate:
    """Send the mix to a server in this process; print the rate and where the CPU went."""
    meter = _cpu_meter(client, [], server="server (this process)")
    run = client.run(port, connections)
    rate = _sent(name, run)
    print(f"    {meter.describe(run.accepted)}", flush=True)
    return rate


def _sent(name: str, run: ClientRun, note: str = "") -> Rate:
    if run.refused or not run.accepted:
        sys.exit(f"{name}: {len(run.refused)} mails refused: {run.refused[:3]}")
    rate = Rate(name, run.accepted, run.seconds, note)
    print(f"  {name:<32} {rate.rate:9,.1f} mails/s  ({run.seconds:.1f} s) {note}", flush=True)
    return rate


def _desk(var_dir: Path, urls: Urls, name: str) -> tuple[Settings, Ingest]:
    url = urls(name)
    listen = Listen(HOST, free_port())
    overrides = {"database_url": url} if url else {}
    settings = Settings.for_var_dir(var_dir, smtp_listen=listen, **overrides)
    return settings, fresh_desk(settings)


def gateway_acceptance(
    client: SmtpClient, connections: int, var_dir: Path, urls: Urls, name: str
) -> tuple[Rate, Settings, Ingest]:
    """Send the mix to our gateway with nothing processing; every mail must be spooled."""
    settings, ingest = _desk(var_dir, urls, name)
    counter = SqlCounter(ingest.sessions.kw["bind"])
    controller = start_smtp(settings, ingest.sessions)
    meter = _cpu_meter(client, [])
    try:
        run = client.run(settings.smtp_listen.port, connections)
        cpu = meter.describe(run.accepted)
    finally:
        controller.stop()
    spooled = len(Spool(settings.spool_dir).pending())
    if spooled != run.accepted:
        sys.exit(f"gateway: {run.accepted} accepted but {spooled} in the spool")
    rate = _sent("gateway acceptance", run, f"[{counter.describe(run.accepted, ('smtp',))}]")
    print(f"    {cpu}", flush=True)
    return rate, settings, ingest


def _median(rates: list[Rate]) -> Rate:
    middle = sorted(rates, key=lambda rate: rate.rate)[(len(rates) - 1) // 2]
    if len(rates) == 1:
        return middle
    each = ", ".join(f"{rate.rate:,.1f}" for rate in rates)
    median = replace(middle, note=f"(median of {len(rates)} rounds: {each})")
    print(f"  {median.name:<32} {median.rate:9,.1f} mails/s  {median.note}", flush=True)
    return median


def drain_alone(
    settings: Settings, ingest: Ingest, mails: int, options: argparse.Namespace
) -> Rate:
    """Time the drain over a spool filled beforehand, with nothing else running.

    What the drain files a second when it has the machine to itself: the
    ceiling of the end-to-end rate, where the gateway runs beside it.
    """
    spool = Spool(settings.spool_dir)
    with _drains(
        settings, ingest, spool, argparse.Namespace(**vars(options) | {"profile": False})
    ) as drains:
        meter = _cpu_meter(None, drains)
        started = time.perf_counter()
        _wait_drained(spool, mails)
        seconds = time.perf_counter() - started
        cpu = meter.describe(mails)
    tickets = _check_committed(ingest, spool, mails)
    rate = _sent(DRAIN_ALONE, ClientRun(seconds, mails, []), f"({tickets:,} tickets)")
    print(f"    {cpu}", flush=True)
    return rate


def end_to_end(
    client: SmtpClient, connections: int, var_dir: Path, urls: Urls, options: argparse.Namespace
) -> Rate:
    """Send the mix to the gateway with the drain beside it; time it until all is committed."""
    settings, ingest = _desk(var_dir, urls, f"e2e_{connections}")
    warmup = generate_mix(1, seed=999)[0]
    ingest.process(warmup.data, smtp_envelope(warmup.sender))  # imports, first-use caches
    counter = SqlCounter(ingest.sessions.kw["bind"])
    spool = Spool(settings.spool_dir)
    with _drains(settings, ingest, spool, options) as drains:
        controller = start_smtp(settings, ingest.sessions)
        meter = _cpu_meter(client, drains)
        try:
            started = time.perf_counter()
            run = client.run(settings.smtp_listen.port, connections)
            _wait_drained(spool, run.accepted)
            seconds = time.perf_counter() - started
            cpu = meter.describe(run.accepted)
        finally:
            controller.stop()
    tickets = _check_committed(ingest, spool, run.accepted + 1)
    note = f"(acceptance meanwhile {run.rate():,.1f} mails/s; {tickets:,} tickets) "
    # A drain process counts its statements where this process does not see them.
    note += (
        f"[{counter.describe(run.accepted, ('drain', 'smtp') if options.profile else ('smtp',))}]"
    )
    rate = _sent("end to end (committed)", ClientRun(seconds, run.accepted, []), note)
    print(f"    {cpu}", flush=True)
    if isinstance(drains, ProfiledDrainer):
        print(drains.report(), flush=True)
    _dispose(ingest, var_dir)
    return rate


def _cpu_meter(
    client: SmtpClient | None,
    drains: ProfiledDrainer | list[IngestProcess],
    *,
    server: str = "gateway (this process)",
) -> CpuMeter:
    processes: dict[str, Callable[[], float]] = {}
    if client is not None:
        processes["client"] = partial(process_seconds, client.pid)
        processes[server] = time.process_time
    for number, drain in enumerate(drains if isinstance(drains, list) else [], 1):
        assert drain.pid is not None  # noqa: S101 - started and ready
        processes[f"drain {number}"] = partial(process_seconds, drain.pid)
    if drains:
        processes["PostgreSQL"] = postgres_seconds
    return CpuMeter(processes)


@contextlib.contextmanager
def _drains(
    settings: Settings, ingest: Ingest, spool: Spool, options: argparse.Namespace
) -> Iterator[ProfiledDrainer | list[IngestProcess]]:
    # As `helpdesk smtp` runs it: a drain process beside the server; profiled,
    # a drain thread (cProfile sees only its own process).
    if options.profile:
        drainer = ProfiledDrainer(spool, ingest)
        drainer.start()
        try:
            yield drainer
        finally:
            drainer.stop()
        return
    processes = [IngestProcess(settings) for _ in range(options.drain_processes)]
    for process in processes:
        process.start()
    try:
        for process in processes:
            if not process.wait_ready(60):
                sys.exit("the drain process did not start")
        yield processes
    finally:
        for process in processes:
            process.stop()


def _wait_drained(spool: Spool, count: int) -> None:
    deadline = time.monotonic() + DRAIN_TIMEOUT
    # A bare listing: building an entry for each of 10,000 names would take
    # the interpreter from the drain being measured.
    done = spool.root / "done"
    while (len(os.listdir(done)) if done.is_dir() else 0) < count:
        if time.monotonic() > deadline:
            sys.exit("the drain did not finish in time")
        time.sleep(POLL_SECONDS)


def _check_committed(ingest: Ingest, spool: Spool, expected: int) -> int:
    """Exit unless every mail is a ticket message; return how many tickets they made."""
    with ingest.sessions() as session:
        messages = int(session.scalar(select(func.count()).select_from(Message)) or 0)
        tickets = int(session.scalar(select(func.count()).select_from(Ticket)) or 0)
        outcomes = session.execute(
            select(RawMessage.state, RawMessage.reason, func.count()).group_by(
                RawMessage.state, RawMessage.reason
            )
        ).all()
    quarantined = len(spool.entries("quarantine"))
    if messages != expected or quarantined:
        for state, reason, count in outcomes:
            print(f"    raw messages {state}: {count} ({reason or 'no reason'})", flush=True)
        sys.exit(f"end to end: {messages} ticket messages of {expected}, {quarantined} quarantined")
    return tickets


def _dispose(ingest: Ingest, var_dir: Path) -> None:
    ingest.sessions.kw["bind"].dispose()
    shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
