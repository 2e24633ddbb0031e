"""Ticket list benchmark: median list, filter, deep-page and search latency at two sizes.

Run by hand, not by `make test`:

    .venv/bin/python -m bench.api_list                        # PostgreSQL, 10k and 1M tickets
    .venv/bin/python -m bench.api_list --sizes 10000 100000   # other sizes
    .venv/bin/python -m bench.api_list --sqlite               # the embedded default instead
    .venv/bin/python -m bench.api_list --http                 # also through the Flask app
    .venv/bin/python -m bench.api_list --url postgresql+psycopg://u@host/db   # an EMPTY database

Without --url a throwaway PostgreSQL cluster is started in a temporary
directory (initdb must be installed). Each size gets a fresh database, seeded
in bulk (COPY on PostgreSQL, executemany on SQLite) with realistic spreads of
statuses, priorities, assignees, tags and requesters and one message (some
with an internal note) per ticket; then each query runs many times through
helpdesk.queries.tickets and the median is printed, with the ratio of the
largest size to the smallest (the goal: at most 3x from 10k to 1M).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import io
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bench.ticket_seed import BROAD_WORD, NOW, World, seed
from helpdesk import migrate
from helpdesk.db import make_engine
from helpdesk.enums import Status
from helpdesk.principal import Client, Operator
from helpdesk.queries.tickets import TicketFilter, list_tickets
from helpdesk.services import tokens
from helpdesk.settings import Settings

REPEATS, WARMUP = 30, 3


def main() -> None:
    options = _options()
    results: dict[int, dict[str, float]] = {}
    with _database_urls(options) as next_url:
        for size in options.sizes:
            engine = make_engine(next_url(size))
            try:
                print(f"== {size:,} tickets ({engine.dialect.name})", flush=True)
                migrate.upgrade(engine)
                world = seed(engine, size)
                results[size] = measure(engine, world, http=options.http)
            finally:
                engine.dispose()
    print_table(results)


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--url", help="an empty PostgreSQL database to fill (one size only)")
    parser.add_argument("--sqlite", action="store_true", help="benchmark SQLite instead")
    parser.add_argument("--http", action="store_true", help="also time GET /api/v1/tickets")
    return parser.parse_args()


@contextlib.contextmanager
def _database_urls(options: argparse.Namespace) -> Iterator[Callable[[int], str]]:
    if options.url:
        yield lambda _size: str(options.url)
        return
    base = Path(tempfile.mkdtemp(prefix="helpdesk-bench-"))
    base.chmod(0o755)
    try:
        if options.sqlite:
            yield lambda size: f"sqlite:///{base}/bench-{size}.db"
        else:
            with postgres_cluster(base / "pg") as server:
                yield lambda size: create_database(server, f"bench_{size}")
    finally:
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def postgres_cluster(base: Path, *, fsync: bool = False) -> Iterator[str]:
    """Run a throwaway cluster (as the postgres user when we are root); yield its admin URL.

    Without `fsync` commits skip the disk flush: fine for reads, not for timing writes.
    """
    bindir = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), None)
    bindir = bindir or Path(shutil.which("initdb") or "initdb").parent
    base.mkdir(parents=True)
    base.chmod(0o777)
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_postgres:
        shutil.chown(base, "postgres")
    port = 55432 + random.randrange(1000)
    subprocess.run([*as_postgres, str(bindir / "initdb"), "-D", str(base / "data"), "-A",
                    "trust", "-U", "bench"], check=True, capture_output=True)  # fmt: skip
    durability = "" if fsync else "-c fsync=off -c full_page_writes=off "
    settings = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c shared_buffers=1GB " \
               f"{durability}-c max_wal_size=4GB"  # fmt: skip
    pg_ctl = [*as_postgres, str(bindir / "pg_ctl"), "-D", str(base / "data")]
    subprocess.run([*pg_ctl, "-o", settings, "-l", str(base / "log"), "-w", "start"],
                   check=True, capture_output=True)  # fmt: skip
    try:
        yield f"postgresql+psycopg://bench@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*pg_ctl, "-m", "fast", "stop"], capture_output=True, check=False)


def create_database(admin_url: str, name: str) -> str:
    """Create an empty database on the cluster and return its URL."""
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def measure(engine: Engine, world: World, *, http: bool = False) -> dict[str, float]:
    """Return the median milliseconds of each query (and of HTTP calls with `http`)."""
    open_mine = TicketFilter(status=(Status.OPEN,), assignee=world.busiest_agent)
    client = Client(world.busiest_requester, world.tenant_id)

    def listing(actor: Any = world.agent, **options: Any) -> Callable[[], int]:
        def run() -> int:
            with Session(engine) as session:
                return len(list_tickets(session, actor, world.tenant_id, **options)[0])

        return run

    runs = {
        "first page": listing(criteria=TicketFilter()),
        "status+assignee": listing(criteria=open_mine),
        "deep page (cursor)": listing(criteria=TicketFilter(), after=world.middle_key),
        "search (a name)": listing(criteria=TicketFilter(q=world.surname)),
        "search (2% word)": listing(criteria=TicketFilter(q=BROAD_WORD)),
        "client's portal": listing(client, criteria=TicketFilter()),
    }
    if http:
        runs |= _http_runs(engine, world)
    return {name: _median(name, run) for name, run in runs.items()}


def _median(name: str, run: Callable[[], int]) -> float:
    times = []
    for attempt in range(WARMUP + REPEATS):
        started = time.perf_counter()
        count = run()
        if attempt >= WARMUP:
            times.append((time.perf_counter() - started) * 1000)
    median = statistics.median(times)
    print(f"  {name:<22} {median:8.2f} ms  ({count} tickets)", flush=True)
    return median


def _http_runs(engine: Engine, world: World) -> dict[str, Callable[[], int]]:
    # The whole request: authentication, the query, the shapes, JSON.
    from web import create_app

    with Session(engine) as session:
        _, secret = tokens.create_api_token(
            session, Operator(), world.tenant_id, world.busiest_agent, now=NOW
        )
        session.commit()
    var = Path(tempfile.mkdtemp(prefix="helpdesk-bench-var-"))
    atexit.register(shutil.rmtree, var, True)
    url = engine.url.render_as_string(hide_password=False)
    settings = Settings.for_var_dir(var, database_url=url, api_rate_limit="1000000 per minute")
    client = create_app(settings).test_client()
    headers = {"Authorization": f"Bearer {secret}"}

    def get(query: dict[str, str]) -> Callable[[], int]:
        def run() -> int:
            response = client.get("/api/v1/tickets", query_string=query, headers=headers)
            if response.status_code != 200:
                raise RuntimeError(response.get_data(as_text=True))
            return len(response.get_json()["items"])

        return run

    return {
        "HTTP first page": get({}),
        "HTTP status+assignee": get({"status": "open", "assignee": "me"}),
        "HTTP search (a name)": get({"q": world.surname}),
    }


def print_table(results: dict[int, dict[str, float]]) -> None:
    sizes = sorted(results)
    out = io.StringIO()
    header = ["query", *(f"{size:,}" for size in sizes)]
    if len(sizes) > 1:
        header.append(f"ratio {sizes[-1]:,}/{sizes[0]:,}")
    out.write("| " + " | ".join(header) + " |\n")
    out.write("|" + "---|" * len(header) + "\n")
    for name in results[sizes[0]]:
        cells = [name, *(f"{results[size][name]:.2f} ms" for size in sizes)]
        if len(sizes) > 1:
            cells.append(f"{results[sizes[-1]][name] / results[sizes[0]][name]:.2f}x")
        out.write("| " + " | ".join(cells) + " |\n")
    print(f"\nmedian of {REPEATS} runs each\n{out.getvalue()}")


if __name__ == "__main__":
    main()
