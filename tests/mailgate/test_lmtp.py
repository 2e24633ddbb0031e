"""LMTP (RFC 2033) over real sockets: the SMTP door's checks, and one reply per recipient."""

from __future__ import annotations

import dataclasses
import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from helpdesk.db import SessionFactory
from helpdesk.errors import ConfigError
from helpdesk.settings import Settings
from mailgate.limits import SessionLimits
from mailgate.lmtp import start_lmtp
from mailgate.spool import Envelope, Spool, SpoolEntry
from tests.mailgate.smtp_helpers import (
    MAILBOX,
    MESSAGE,
    SENDER,
    door_settings,
    serving,
)

LIMIT = 20_000
TAGGED = "support+a1b2@acme.example"


@pytest.fixture
def lmtp_settings(tmp_path: Path) -> Settings:
    return door_settings(tmp_path / "var", "lmtp", max_message_bytes=LIMIT)


@contextmanager
def lmtp(settings: Settings, sessions: SessionFactory, **options: object) -> Iterator[smtplib.LMTP]:
    assert settings.lmtp_listen is not None
    with (
        serving(settings, sessions, start=start_lmtp, **options) as port,
        smtplib.LMTP("127.0.0.1", port, timeout=10) as client,
    ):
        client.ehlo("mta.example")  # smtplib.LMTP says LHLO here
        yield client


def transaction(
    client: smtplib.LMTP, recipients: list[str], body: bytes
) -> list[tuple[int, bytes]]:
    """Send one message; return the replies to DATA, one per accepted recipient."""
    client.mail(SENDER)
    accepted = [address for address in recipients if client.rcpt(address)[0] == 250]
    first = client.data(body)
    return [first] + [client.getreply() for _ in accepted[1:]]


def test_each_accepted_recipient_gets_its_own_250_once_the_message_is_stored(
    lmtp_settings: Settings, sessions: SessionFactory
) -> None:
    with lmtp(lmtp_settings, sessions) as client:
        replies = transaction(client, [MAILBOX, "nobody@acme.example", TAGGED], MESSAGE)
        assert client.noop()[0] == 250
    assert replies == [
        (250, f"2.0.0 <{MAILBOX}> Message accepted".encode()),
        (250, f"2.0.0 <{TAGGED}> Message accepted".encode()),
    ]
    [entry] = Spool(lmtp_settings.spool_dir).pending()
    assert entry.read_message() == MESSAGE
    envelope = entry.read_envelope()
    assert (envelope.transport, envelope.rcpt_tos) == ("lmtp", (MAILBOX, TAGGED))


def test_an_unknown_recipient_is_refused_at_rcpt_with_550(
    lmtp_settings: Settings, sessions: SessionFactory
) -> None:
    with lmtp(lmtp_settings, sessions) as client:
        client.mail(SENDER)
        code, reply = client.rcpt("nobody@acme.example")
    assert (code, reply[:5]) == (550, b"5.1.1")


def test_each_recipient_gets_451_when_the_message_cannot_be_stored(
    lmtp_settings: Settings, sessions: SessionFactory
) -> None:
    def full_disk(data: bytes, envelope: Envelope) -> SpoolEntry:
        raise OSError(28, "No space left on device")

    with lmtp(lmtp_settings, sessions, store=full_disk) as client:
        replies = transaction(client, [MAILBOX, TAGGED], MESSAGE)
        assert client.noop()[0] == 250
    assert [(code, reply[:5]) for code, reply in replies] == [(451, b"4.3.0")] * 2


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (MESSAGE + (b"x" * 900 + b"\r\n") * (LIMIT // 900 + 1), (552, b"5.3.4")),
        (MESSAGE + b"x" * 1200 + b"\r\n", (500, b"5.5.2")),
        (MESSAGE + b"bare\nline feed\r\n", (554, b"5.6.0")),
    ],
    ids=["too big", "line too long", "bare LF"],
)
def test_each_recipient_hears_that_a_message_is_refused(
    lmtp_settings: Settings, sessions: SessionFactory, body: bytes, expected: tuple[int, bytes]
) -> None:
    with lmtp(lmtp_settings, sessions) as client:
        replies = transaction(client, [MAILBOX, TAGGED], body)
        assert client.noop()[0] == 250
    assert [(code, reply[:5]) for code, reply in replies] == [expected] * 2
    assert Spool(lmtp_settings.spool_dir).pending() == []


def test_lmtp_speaks_lhlo_only_and_advertises_size(
    lmtp_settings: Settings, sessions: SessionFactory
) -> None:
    with lmtp(lmtp_settings, sessions) as client:
        assert int(client.esmtp_features["size"]) == LIMIT
        assert client.docmd("EHLO", "mta.example")[0] == 500
        assert client.docmd("HELO", "mta.example")[0] == 500


def test_lmtp_has_the_same_limits_as_smtp(
    lmtp_settings: Settings, sessions: SessionFactory
) -> None:
    limits = SessionLimits(max_recipients=1)
    with lmtp(lmtp_settings, sessions, limits=limits) as client:
        client.mail(SENDER)
        assert client.rcpt(MAILBOX)[0] == 250
        code, reply = client.rcpt(TAGGED)
    assert (code, reply[:5]) == (452, b"4.5.3")


def test_starting_lmtp_without_an_address_is_a_configuration_error(
    lmtp_settings: Settings, sessions: SessionFactory
) -> None:
    with pytest.raises(ConfigError, match="HELPDESK_LMTP_LISTEN"):
        start_lmtp(dataclasses.replace(lmtp_settings, lmtp_listen=None), sessions)
