"""Start real servers for the tests on loopback, in temporary directories."""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text

from helpdesk import migrate
from helpdesk.db import make_engine

REQUIRE_SERVICES = os.environ.get("HELPDESK_REQUIRE_SERVICES") == "1"


def missing(what: str) -> None:
    """Skip the test for a missing server, or fail when CI requires every service."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (HELPDESK_REQUIRE_SERVICES=1) but not installed")
    pytest.skip(f"{what} is not installed")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(predicate: Callable[[], object], seconds: float, what: str) -> None:
    """Wait until `predicate()` is true; fail the test, naming `what`, after `seconds`."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"after {seconds} s still not: {what}")
        time.sleep(0.05)


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def _postgres_bin() -> Path | None:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {result.stderr or result.stdout}")


@dataclass(frozen=True)
class PostgresServer:
    port: int
    user: str = "helpdesk"
    # How to stop and start it again: pg_ctl for its data directory, and its options.
    pg_ctl: tuple[str, ...] = ()
    options: str = ""
    log: Path | None = None

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str, *, template: str | None = None) -> str:
        """Create a database, a copy of `template` if given, and return its URL."""
        statement = f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
        admin = make_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                connection.execute(text(statement))
        finally:
            admin.dispose()
        return self.url(name)

    def stop(self) -> None:
        """Stop the server at once, as a crash of the database host would."""
        _run([*self.pg_ctl, "-m", "immediate", "-w", "stop"])

    def start(self) -> None:
        """Start the stopped server again, on the same port, and wait until it answers."""
        _run([*self.pg_ctl, "-o", self.options, "-l", str(self.log), "-w", "start"])


def migrated_database(server: PostgresServer, name: str) -> str:
    """Create a database migrated to the code's revision, and return its URL."""
    url = server.create_database(name)
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    return url


@contextlib.contextmanager
def postgres_server(base: Path) -> Iterator[PostgresServer]:
    """Run a throwaway PostgreSQL cluster; initdb refuses root, so run it as postgres."""
    bindir = _postgres_bin()
    if bindir is None:
        missing("PostgreSQL (initdb)")
        raise AssertionError("unreachable")
    data = base / "data"
    base.mkdir(parents=True, exist_ok=True)
    base.chmod(0o777)
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    options = (
        f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    )
    pg_ctl = (*as_postgres, str(bindir / "pg_ctl"), "-D", str(data))
    server = PostgresServer(port, pg_ctl=pg_ctl, options=options, log=base / "log")
    _run([*as_postgres, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", server.user])
    server.start()
    try:
        yield server
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True, check=False)


@contextlib.contextmanager
def private_postgres(prefix: str) -> Iterator[PostgresServer]:
    """Run a PostgreSQL cluster in a directory of its own, removed afterwards."""
    # pytest's temporary directories are private to root; the postgres user
    # needs a directory of its own that it can reach.
    base = Path(tempfile.mkdtemp(prefix=prefix))
    base.chmod(0o755)
    try:
        with postgres_server(base / "cluster") as server:
            yield server
    finally:
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def redis_server(base: Path) -> Iterator[str]:
    """Run a throwaway Redis on loopback; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        missing("Redis (redis-server)")
        raise AssertionError("unreachable")
    port = free_port()
    base.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(base),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """Run moto's server (S3, SNS and the other AWS APIs it mocks) on loopback; yields its URL."""
    binary = Path(sys.executable).with_name("moto_server")
    if not binary.exists():
        missing("moto's server (moto_server)")
    port = free_port()
    command = [str(binary), "-H", "127.0.0.1", "-p", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        try:
            wait_for_port(port)
        except TimeoutError:
            missing("moto's server (moto_server did not start)")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextlib.contextmanager
def serve_wsgi(app: Any) -> Iterator[str]:
    """Serve a WSGI app with waitress on an ephemeral loopback port; yields its base URL."""
    from waitress import wasyncore
    from waitress.server import create_server

    socket_map: dict[int, Any] = {}
    port = free_port()
    server = create_server(app, map=socket_map, host="127.0.0.1", port=port, threads=4)
    stopping = threading.Event()

    def loop() -> None:
        while not stopping.is_set():
            wasyncore.loop(timeout=0.05, map=socket_map, use_poll=True, count=1)

    thread = threading.Thread(target=loop, name="test-waitress", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stopping.set()
        thread.join()
        server.task_dispatcher.shutdown()
        wasyncore.close_all(socket_map)


def http_post(
    url: str, body: bytes, headers: Mapping[str, str]
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """POST over a real socket; return the status, headers (any case) and body of the answer."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=10)
    try:
        connection.request("POST", parts.path, body=body, headers=dict(headers))
        response = connection.getresponse()
        return response.status, response.msg, response.read()
    finally:
        connection.close()
