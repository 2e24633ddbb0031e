"""A slow or hostile SMTP client cannot exhaust the server: each limit, over real sockets."""

from __future__ import annotations

import dataclasses
import smtplib
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from helpdesk.db import SessionFactory
from helpdesk.settings import Settings
from mailgate.limits import SessionLimits
from mailgate.spool import Spool
from tests.mailgate.smtp_helpers import (
    MAILBOX,
    MESSAGE,
    SENDER,
    RawClient,
    noop_until_closed,
    serving,
    tls_client,
)

SMALL = SessionLimits(
    max_recipients=3,
    max_connections_per_client=3,
    max_commands=8,
    idle_timeout=0.5,
    session_deadline=2.0,
)


def greeted(port: int) -> RawClient:
    client = RawClient(port)
    assert client.reply().startswith(b"220 ")
    return client


def test_a_recipient_over_the_limit_gets_452_and_the_others_are_delivered(
    smtp_settings: Settings, sessions: SessionFactory
) -> None:
    tagged = [f"support+{n}@acme.example" for n in range(4)]
    with (
        serving(smtp_settings, sessions, limits=SMALL) as port,
        smtplib.SMTP("127.0.0.1", port) as client,
    ):
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
    with (
        serving(smtp_settings, sessions, limits=SMALL) as port,
        smtplib.SMTP("127.0.0.1", port) as client,
    ):
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
    with serving(smtp_settings, sessions, limits=SMALL) as port, ExitStack() as stack:
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
    with serving(smtp_settings, sessions, limits=SMALL) as port:
        client = greeted(port)
        replies = [client.command("NOOP") for _ in range(SMALL.max_commands)]
        client.send(b"NOOP\r\n")
        last = client.replies_until_closed()
        client.close()
    assert all(reply.startswith(b"250") for reply in replies)
    assert [line[:9] for line in last] == [b"421 4.7.0"]


def test_help_lists_the_commands_and_gives_each_ones_syntax_while_commands_are_counted(
    smtp_settings: Settings, sessions: SessionFactory
) -> None:
    # Counting wraps each of aiosmtpd's command methods; HELP reads the syntax
    # they carry, so a wrapper that loses it leaves HELP with nothing to say.
    with (
        serving(smtp_settings, sessions, limits=SMALL) as port,
        smtplib.SMTP("127.0.0.1", port) as client,
    ):
        client.ehlo("client.example")
        listed = client.docmd("HELP")
        mail = client.docmd("HELP", "MAIL")
    assert listed == (
        250,
        b"Supported commands: AUTH DATA EHLO HELO HELP MAIL NOOP QUIT RCPT RSET VRFY",
    )
    assert mail == (250, b"Syntax: MAIL FROM: <address> [SP <mail-parameters>]")


def test_an_idle_client_gets_421_and_is_closed(
    smtp_settings: Settings, sessions: SessionFactory
) -> None:
    with serving(smtp_settings, sessions, limits=SMALL) as port:
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
    with serving(smtp_settings, sessions, limits=limits) as port:
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
    with serving(smtp_settings, sessions, limits=limits) as port:
        client = greeted(port)
        started = time.monotonic()
        replies = noop_until_closed(client, limits.session_deadline + 3)
        lasted = time.monotonic() - started
        client.close()
    assert replies[-1].startswith(b"421 4.4.2")
    assert limits.session_deadline * 0.9 < lasted < limits.session_deadline + 1


# After STARTTLS aiosmtpd swaps the transport under the session: the same
# limits must hold on the encrypted one.


@pytest.fixture
def tls_settings(smtp_settings: Settings, certificate: tuple[Path, Path]) -> Settings:
    cert, key = certificate
    return dataclasses.replace(smtp_settings, tls_cert=cert, tls_key=key)


def test_a_failed_handshake_closes_the_connection_and_frees_its_slot(
    tls_settings: Settings, sessions: SessionFactory
) -> None:
    with serving(tls_settings, sessions, limits=SMALL) as port:
        for _ in range(SMALL.max_connections_per_client + 1):
            client = RawClient(port)
            assert client.reply().startswith(b"220 ")
            assert client.command("STARTTLS").startswith(b"220 ")
            client.send(b"this is not a TLS handshake\r\n" * 10)
            assert client.replies_until_closed() == []
            client.close()
        time.sleep(0.1)
        clients = [RawClient(port) for _ in range(SMALL.max_connections_per_client)]
        assert all(client.reply().startswith(b"220 ") for client in clients)
        for client in clients:
            client.close()


def test_an_idle_client_over_tls_gets_421_and_is_closed(
    tls_settings: Settings, sessions: SessionFactory, certificate: tuple[Path, Path]
) -> None:
    with (
        serving(tls_settings, sessions, limits=SMALL) as port,
        tls_client(port, certificate[0]) as client,
    ):
        started = time.monotonic()
        last = client.replies_until_closed()
        waited = time.monotonic() - started
    assert [line[:9] for line in last] == [b"421 4.4.2"]
    assert waited < SMALL.idle_timeout + 1


def test_commands_before_and_after_starttls_count_against_one_limit(
    tls_settings: Settings, sessions: SessionFactory, certificate: tuple[Path, Path]
) -> None:
    with (
        serving(tls_settings, sessions, limits=SMALL) as port,
        tls_client(port, certificate[0]) as client,
    ):
        # EHLO and STARTTLS were two of the eight commands allowed.
        replies = [client.command("NOOP") for _ in range(SMALL.max_commands - 2)]
        client.send(b"NOOP\r\n")
        last = client.replies_until_closed()
    assert all(reply.startswith(b"250") for reply in replies)
    assert [line[:9] for line in last] == [b"421 4.7.0"]


def test_a_session_over_tls_still_ends_at_its_deadline(
    tls_settings: Settings, sessions: SessionFactory, certificate: tuple[Path, Path]
) -> None:
    limits = SessionLimits(idle_timeout=0.5, session_deadline=1.5)
    with (
        serving(tls_settings, sessions, limits=limits) as port,
        tls_client(port, certificate[0]) as client,
    ):
        started = time.monotonic()
        replies = noop_until_closed(client, limits.session_deadline + 2)
        lasted = time.monotonic() - started
    assert replies[-1].startswith(b"421 4.4.2")
    assert lasted < limits.session_deadline + 1


@pytest.mark.parametrize(
    ("body", "refusal"),
    [
        (MESSAGE + b"x" * 1200 + b"\r\n", b"500 5.5.2"),
        (MESSAGE + b"a bare\nline feed\r\n", b"554 5.6.0"),
    ],
    ids=["line-over-1000-bytes", "bare-line-feed"],
)
def test_body_checks_still_apply_over_tls(
    tls_settings: Settings,
    sessions: SessionFactory,
    certificate: tuple[Path, Path],
    body: bytes,
    refusal: bytes,
) -> None:
    with (
        serving(tls_settings, sessions, limits=SMALL) as port,
        tls_client(port, certificate[0]) as client,
    ):
        for line in ("EHLO client.example", f"MAIL FROM:<{SENDER}>", f"RCPT TO:<{MAILBOX}>"):
            assert client.command(line).startswith(b"250")
        assert client.command("DATA").startswith(b"354")
        client.send(body + b".\r\n")
        assert client.reply()[:9] == refusal
    assert Spool(tls_settings.spool_dir).pending() == []


def test_a_client_that_stalls_its_handshake_is_closed_at_the_idle_timeout(
    tls_settings: Settings, sessions: SessionFactory
) -> None:
    with serving(tls_settings, sessions, limits=SMALL) as port:
        client = RawClient(port)
        assert client.reply().startswith(b"220 ")
        assert client.command("STARTTLS").startswith(b"220 ")
        started = time.monotonic()
        assert client.replies_until_closed() == []
        waited = time.monotonic() - started
        client.close()
    assert waited < SMALL.idle_timeout + 1
