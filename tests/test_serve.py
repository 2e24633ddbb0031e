"""`helpdesk serve`, as `make run` starts it: a real process, real ports, Ctrl-C."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select

from helpdesk.db import make_engine, make_session_factory
from helpdesk.models import Tenant, Ticket
from helpdesk.services.users import authenticate_password
from mailgate.signed_intake import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature_header
from mailgate.spool import Spool
from tests.factories import NOW
from tests.servers import free_port, http_post, wait_until

pytestmark = pytest.mark.slow

HELPDESK = str(Path(sys.executable).parent / "helpdesk")
BANNER_END = "  Broker:"
MESSAGE = b"From: someone@client.example\r\nSubject: hello\r\n\r\nIt works.\r\n"


class Served:
    """A running `helpdesk serve`, its stdout read line by line in the background."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def banner(self, timeout: float = 60.0) -> str:
        """Return everything printed up to the banner's last line."""
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                break
            seen.append(line)
            if line.startswith(BANNER_END):
                return "\n".join(seen)
        raise AssertionError(f"no banner; got {seen!r}; stderr: {self.stop_and_stderr()}")

    def stop(self, signum: int = signal.SIGINT) -> tuple[int, str]:
        """Send `signum`, wait for the exit, and return the exit code and stderr."""
        self.process.send_signal(signum)
        code = self.process.wait(timeout=60)
        return code, self.stop_and_stderr()

    def stop_and_stderr(self) -> str:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        assert self.process.stderr is not None
        return self.process.stderr.read()


@pytest.fixture
def environment(tmp_path: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("HELPDESK_")}
    env.update(
        HELPDESK_VAR_DIR=str(tmp_path / "var"),
        HELPDESK_WEB_LISTEN=f"127.0.0.1:{free_port()}",
        HELPDESK_SMTP_LISTEN=f"127.0.0.1:{free_port()}",
    )
    return env


@contextmanager
def serving(env: dict[str, str], *args: str, command: str = "serve") -> Iterator[Served]:
    process = subprocess.Popen(
        [HELPDESK, command, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    served = Served(process)
    try:
        yield served
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            assert stream is not None
            stream.close()


def field(banner: str, label: str) -> str:
    match = re.search(rf"^  {label}:\s+(\S+)", banner, re.MULTILINE)
    assert match, f"no {label!r} in the banner:\n{banner}"
    return match.group(1)


def port_of(env: dict[str, str], variable: str) -> int:
    return int(env[variable].rpartition(":")[2])


def healthz(port: int) -> tuple[int, dict[str, str]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
        return response.status, json.loads(response.read())


def test_first_run_seeds_a_demo_and_a_second_run_keeps_it(
    environment: dict[str, str], tmp_path: Path
) -> None:
    web_port = port_of(environment, "HELPDESK_WEB_LISTEN")
    smtp_port = port_of(environment, "HELPDESK_SMTP_LISTEN")

    # Given a first start on an empty var directory,
    with serving(environment, "--first-run") as served:
        banner = served.banner()
        # then the banner says where everything is, and the demo admin's password;
        assert field(banner, "Web") == f"http://127.0.0.1:{web_port}/"
        assert field(banner, "SMTP") == f"127.0.0.1:{smtp_port}"
        assert field(banner, "Outbound mail") == str(tmp_path / "var" / "outbox")
        mailbox = field(banner, "Demo mailbox")
        admin = field(banner, "Demo admin")
        password = field(banner, "One-time password")
        # the web app, the SMTP server and the credentials all work;
        assert healthz(web_port) == (200, {"status": "ok", "database": "ok"})
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
            assert client.noop()[0] == 250
            assert client.sendmail("someone@client.example", [mailbox], MESSAGE) == {}
        assert_signs_in(tmp_path, admin, password)
        # and Ctrl-C stops it cleanly.
        code, stderr = served.stop(signal.SIGINT)
    assert code == 0, stderr
    assert "Traceback" not in stderr

    # When it starts again, the data is still there and no new password is shown.
    with serving(environment, "--first-run") as served:
        again = served.banner()
        assert "One-time password" not in again
        assert password not in again
        assert f"Demo admin:         {admin} (exists already)" in again
        assert "helpdesk user create" in again
        assert healthz(web_port)[0] == 200
        code, stderr = served.stop(signal.SIGTERM)
    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert_signs_in(tmp_path, admin, password)
    assert tenant_count(tmp_path) == 1
    # The mail it accepted was processed into a ticket, its spool entry done.
    [entry] = Spool(tmp_path / "var" / "spool").entries("done")
    assert entry.read_message() == MESSAGE
    assert subjects(tmp_path) == ["hello"]


def test_smtp_greets_with_220(environment: dict[str, str]) -> None:
    with serving(environment) as served:
        served.banner()
        port = port_of(environment, "HELPDESK_SMTP_LISTEN")
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            assert connection.recv(512).startswith(b"220 ")
        assert served.stop()[0] == 0


def test_serve_without_first_run_seeds_nothing(environment: dict[str, str], tmp_path: Path) -> None:
    with serving(environment) as served:
        banner = served.banner()
        assert "Demo" not in banner
        assert "helpdesk tenant create" in banner
        assert served.stop()[0] == 0
    assert tenant_count(tmp_path) == 0


def test_a_taken_port_fails_the_start_in_one_line(environment: dict[str, str]) -> None:
    port = port_of(environment, "HELPDESK_WEB_LISTEN")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        with serving(environment, "--first-run") as served:
            code = served.process.wait(timeout=60)
            stderr = served.stop_and_stderr()
    assert code == 1
    assert stderr == (
        f"helpdesk: error: HELPDESK_WEB_LISTEN: cannot listen on 127.0.0.1:{port}: "
        "Address already in use\n"
    )


def assert_signs_in(tmp_path: Path, email: str, password: str) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'helpdesk.db'}")
    try:
        with make_session_factory(engine)() as session:
            user = authenticate_password(session, email, password, now=NOW)
            assert user.password_is_temporary is True
            session.rollback()
    finally:
        engine.dispose()


def subjects(tmp_path: Path) -> list[str]:
    engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'helpdesk.db'}")
    try:
        with make_session_factory(engine)() as session:
            return list(session.scalars(select(Ticket.subject)))
    finally:
        engine.dispose()


def tenant_count(tmp_path: Path) -> int:
    engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'helpdesk.db'}")
    try:
        with make_session_factory(engine)() as session:
            return session.scalar(select(func.count()).select_from(Tenant)) or 0
    finally:
        engine.dispose()


def test_serve_with_lmtp_listen_accepts_lmtp_and_the_mail_becomes_a_ticket(
    environment: dict[str, str], tmp_path: Path
) -> None:
    environment["HELPDESK_LMTP_LISTEN"] = f"127.0.0.1:{free_port()}"
    lmtp_port = port_of(environment, "HELPDESK_LMTP_LISTEN")
    with serving(environment, "--first-run") as served:
        mailbox = field(served.banner(), "Demo mailbox")
        with smtplib.LMTP("127.0.0.1", lmtp_port, timeout=10) as client:
            assert client.sendmail("someone@client.example", [mailbox], MESSAGE) == {}
        wait_until(lambda: subjects(tmp_path) == ["hello"], 10, "a ticket of the mail")
        assert served.stop()[0] == 0
    assert subjects(tmp_path) == ["hello"]


def helpdesk(env: dict[str, str], *args: str) -> str:
    """Run one `helpdesk` command to its end and return its stdout."""
    done = subprocess.run(
        [HELPDESK, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_procfiles_web_role_takes_signed_mail_and_processes_it(
    environment: dict[str, str], tmp_path: Path
) -> None:
    # Given the release step and an operator's set-up, as in production,
    helpdesk(environment, "db", "upgrade")
    helpdesk(environment, "tenant", "create", "acme", "--name", "Acme")
    helpdesk(environment, "mailbox", "create", "--tenant", "acme", "--address", "help@acme.test")
    secret = helpdesk(environment, "mailbox", "intake-secret", "help@acme.test").strip()
    web_port = port_of(environment, "HELPDESK_WEB_LISTEN")
    # when a sending service posts a signed message to `helpdesk web` alone,
    with serving(environment, command="web") as served:
        assert served.lines.get(timeout=60) == f"web on http://127.0.0.1:{web_port}/"
        timestamp = str(int(time.time()))
        headers = {
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature_header(secret, timestamp, MESSAGE),
        }
        url = f"http://127.0.0.1:{web_port}/inbound/1"
        assert http_post(url, MESSAGE, headers)[0] == 202
        # then the drain beside the web role makes a ticket of it.
        wait_until(lambda: subjects(tmp_path) == ["hello"], 10, "a ticket of the mail")
        assert served.stop()[0] == 0
    assert subjects(tmp_path) == ["hello"]
