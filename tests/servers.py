"""Start real servers for the tests on loopback, in temporary directories."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

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

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"


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
    server = PostgresServer(port)
    _run([*as_postgres, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", server.user])
    options = (
        f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    )
    pg_ctl = [*as_postgres, str(bindir / "pg_ctl"), "-D", str(data)]
    _run([*pg_ctl, "-o", options, "-l", str(base / "log"), "-w", "start"])
    try:
        yield server
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True, check=False)


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
