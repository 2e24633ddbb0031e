"""A slow or hostile SMTP client cannot exhaust the server: each limit, over real sockets."""

from __future__ import annotations

import dataclasses
import smtplib
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from helpdesk.db import SessionFactory
from helpdesk.settings import Settings
from mailgate.limits import SessionLimits
from mailgate.smtp import start_smtp
from mailgate.spool import Spool
from tests.mailgate.smtp_helpers import (
    MAILBOX,
    MESSAGE,
    SENDER,
    RawClient,
    door_settings,
    mailbox_database,
)

SMALL = SessionLimits(
    max_recipients=3,
    max_connections_per_client=3,
    max_commands=8,
    idle_timeout=0.5,
    session_deadline=2.0,
)


@pytest.fixture
def sessions(sqlite_template: Path, tmp_path: Path) -> Iterator[SessionFactory]:
    with mailbox_database(sqlite_template, tmp_path) as factory:
        yield factory


@pytest.fixture
def smtp_settings(tmp_path: Path) -> Settings:
    return door_settings(tmp_path / "var", "smtp", max_message_bytes=1_000_000)


@contextmanager
def server(
    settings: Settings, sessions: SessionFactory, limits: SessionLimits = SMALL
) -> Iterator[int]:
    controller = start_smtp(settings, sessions, limits=limits)
    try:
        yield settings.smtp_listen.port
    finally:
        controller.stop()


def greeted(port: int) -> RawClient:
    client = RawClient(port)
    assert client.reply().startswith(b"220 ")
    return client


def noop_until_closed(client: RawClient, seconds: float) -> list[bytes]:
    """Say NOOP every tenth of a second until the server hangs up; return its replies."""
    replies: list[bytes] = []
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        try:
            replies.append(client.command("NOOP"))
        except ConnectionError:
            return replies
        time.sleep(0.1)
    raise AssertionError(f"still open after {seconds} s")


def test_a_recipient_over_the_limit_gets_452_and_the_others_are_delivered(
    smtp_settings: Settings, sessions: SessionFactory
) -> None:
    tagged = [f"support+{n}@acme.example" for n in range(4)]
    with server(smtp_settings, sessions) as port, smtplib.SMTP("127.0.0.1", port) as client:
        client.ehlo("client.example")
        client.mail(SENDER)
        codes = [client.rcpt(address) for address in tagged]
        accepted = client.data(MESSAGE)
    assert [code for code, _ in codes] == [250, 250, 250, 452]
    assert codes[3][1].startswith(b"4.5.3")
    assert accepted[0] == 250
    [entry] = Spool(smtp_settings.spool_dir).pending()
    assert entry.read_envelope().rcpt_tos == tuple(tagged[:3])


def test_a_body_line_over_1000_bytes_is_refused_and_the_session_goes_on(
    smtp_settings: Settings, sessions: SessionFactory
) -> None:
    long_line = MESSAGE + b"x" * 1200 + b"\r\n"
    with server(smtp_settings, sessions) as port, smtplib.SMTP("127.0.0.1", port) as client:
        client.ehlo("client.example")
        client.mail(SENDER)
        client.rcpt(MAILBOX)
        code, reply = client.data(long_line)
        # The same connection carries the next message.
        assert client.sendmail(SENDER, [MAILBOX], MESSAGE) == {}
    assert (code, reply[:5]) == (500, b"5.5.2")
    [entry] = Spool(smtp_settings.spool_dir).pending()
    assert entry.read_message() == MESSAGE


def test_a_client_address_over_its_connection_limit_gets_421_at_connect(
    smtp_settings: Settings, sessions: SessionFactory
) -> None:
    with server(smtp_settings, sessions) as port, ExitStack() as stack:
        clients = [greeted(port) for _ in range(3)]
        for client in clients:
            stack.callback(client.close)
        extra = RawClient(port)
        stack.callback(extra.close)
        assert extra.replies_until_closed()[0].startswith(b"421 4.7.0")
        clients.pop().command("QUIT")
        time.sleep(0.2)
        stack.enter_context(smtplib.SMTP("127.0.0.1", port)).noop()


def test_a_session_over_its_command_limit_gets_421_and_is_closed(
    smtp_settings: Settings, sessions: SessionFactory
) -> None:
    with server(smtp_settings, sessions) as port:
        client = greeted(port)
        replies = [client.command("NOOP") for _ in range(SMALL.max_commands)]
        client.send(b"NOOP\r\n")
        last = client.replies_until_closed()
        client.close()
    assert all(reply.startswith(b"250") for reply in replies)
    assert [line[:9] for line in last] == [b"421 4.7.0"]


def test_an_idle_client_gets_421_and_is_closed(
    smtp_settings: Settings, sessions: SessionFactory
) -> None:
    with server(smtp_settings, sessions) as port:
        client = greeted(port)
        started = time.monotonic()
        last = client.replies_until_closed()
        waited = time.monotonic() - started
        client.close()
    assert [line[:9] for line in last] == [b"421 4.4.2"]
    assert SMALL.idle_timeout * 0.8 < waited < SMALL.idle_timeout + 1


def test_a_slow_but_steady_sender_is_not_idle(
    smtp_settings: Settings, sessions: SessionFactory
) -> None:
    limits = dataclasses.replace(SMALL, session_deadline=10.0)
    with server(smtp_settings, sessions, limits) as port:
        client = greeted(port)
        for line in ("EHLO client.example", f"MAIL FROM:<{SENDER}>", f"RCPT TO:<{MAILBOX}>"):
            assert client.command(line).startswith(b"250")
        assert client.command("DATA").startswith(b"354")
        # Two idle timeouts' worth of DATA, a line at a time.
        for chunk in MESSAGE.splitlines(keepends=True) + [b"more\r\n"] * 3:
            client.send(chunk)
            time.sleep(SMALL.idle_timeout / 3)
        client.send(b".\r\n")
        assert client.reply().startswith(b"250 2.0.0")
        client.close()


def test_a_session_that_never_goes_idle_still_ends_at_its_deadline(
    smtp_settings: Settings, sessions: SessionFactory
) -> None:
    limits = dataclasses.replace(SMALL, max_commands=1000)
    with server(smtp_settings, sessions, limits) as port:
        client = greeted(port)
        started = time.monotonic()
        replies = noop_until_closed(client, limits.session_deadline + 3)
        lasted = time.monotonic() - started
        client.close()
    assert replies[-1].startswith(b"421 4.4.2")
    assert limits.session_deadline * 0.9 < lasted < limits.session_deadline + 1


BIG = MESSAGE + (b"x" * 998 + b"\r\n") * 100  # about 100 KB
OPEN = SessionLimits(max_connections_per_client=1000)


def send_timed(port: int, messages: int) -> list[float]:
    """Send `messages` big messages on one connection; seconds from DATA's end to 250."""
    seconds = []
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo("client.example")
        for _ in range(messages):
            client.mail(SENDER)
            client.rcpt(MAILBOX)
            # data() sends the body over loopback at once and then waits for
            # the reply: nearly all it measures is the store before 250.
            started = time.monotonic()
            code, _ = client.data(BIG)
            assert code == 250
            seconds.append(time.monotonic() - started)
    return seconds


def test_fifty_concurrent_senders_are_all_answered_250_within_a_second(
    smtp_settings: Settings, sessions: SessionFactory
) -> None:
    with server(smtp_settings, sessions, OPEN) as port, ThreadPoolExecutor(50) as pool:
        runs = list(pool.map(lambda _: send_timed(port, 4), range(50)))
    seconds = sorted(second for run in runs for second in run)
    assert len(Spool(smtp_settings.spool_dir).pending()) == 200
    assert seconds[int(len(seconds) * 0.99) - 1] < 1.0


def test_two_hundred_idle_connections_do_not_keep_a_sender_waiting(
    smtp_settings: Settings, sessions: SessionFactory
) -> None:
    with server(smtp_settings, sessions, OPEN) as port, ExitStack() as stack:
        for _ in range(200):
            stack.callback(RawClient(port).close)
        started = time.monotonic()
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            greeted_after = time.monotonic() - started
            assert client.sendmail(SENDER, [MAILBOX], MESSAGE) == {}
            accepted_after = time.monotonic() - started
    assert greeted_after < 2.0
    assert accepted_after < 5.0
