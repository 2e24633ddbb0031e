"""STARTTLS on the SMTP and LMTP doors (RFC 3207): offered with a certificate, never required."""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives import serialization

from helpdesk.db import SessionFactory
from helpdesk.errors import ConfigError
from helpdesk.settings import Settings
from mailgate.lmtp import start_lmtp
from mailgate.smtp import start_smtp
from mailgate.spool import Spool
from tests.mailgate.smtp_helpers import (
    MAILBOX,
    RAW,
    SENDER,
    RawClient,
    door_settings,
    self_signed_certificate,
    serving,
    tls_client,
    trusting,
)

Start = Callable[..., Controller]


@pytest.fixture
def tls_settings(tmp_path: Path, certificate: tuple[Path, Path]) -> Settings:
    cert, key = certificate
    return door_settings(
        tmp_path / "var", "smtp", max_message_bytes=100_000, tls_cert=cert, tls_key=key
    )


def stored(settings: Settings) -> list[bytes]:
    return [entry.read_message() for entry in Spool(settings.spool_dir).pending()]


def test_starttls_is_offered_only_when_a_certificate_is_configured(
    tls_settings: Settings, sessions: SessionFactory, tmp_path: Path
) -> None:
    plain = door_settings(tmp_path / "plain", "smtp", max_message_bytes=100_000)
    offered = []
    for settings in (tls_settings, plain):
        with serving(settings, sessions) as port, smtplib.SMTP("127.0.0.1", port) as client:
            client.ehlo("client.example")
            offered.append(client.has_extn("starttls"))
    assert offered == [True, False]


def test_a_message_sent_after_starttls_is_stored_byte_for_byte(
    tls_settings: Settings, sessions: SessionFactory, certificate: tuple[Path, Path]
) -> None:
    with serving(tls_settings, sessions) as port, smtplib.SMTP("127.0.0.1", port) as client:
        client.ehlo("client.example")
        code, _ = client.starttls(context=trusting(certificate[0]))
        assert code == 220
        client.ehlo("client.example")
        client.mail(SENDER)
        client.rcpt(MAILBOX)
        assert client.data(RAW)[0] == 250
    assert stored(tls_settings) == [RAW]


def test_plain_mail_is_still_accepted_when_starttls_is_offered(
    tls_settings: Settings, sessions: SessionFactory
) -> None:
    # An MX must take mail from senders that cannot encrypt (RFC 3207 §4).
    with serving(tls_settings, sessions) as port, smtplib.SMTP("127.0.0.1", port) as client:
        client.ehlo("client.example")
        assert client.has_extn("starttls")
        assert client.sendmail(SENDER, [MAILBOX], RAW) == {}
    assert stored(tls_settings) == [RAW]


def test_after_starttls_the_client_must_greet_again_and_is_offered_neither_tls_nor_auth(
    tls_settings: Settings, sessions: SessionFactory, certificate: tuple[Path, Path]
) -> None:
    # RFC 3207 §4.2: everything learnt before TLS, the greeting included, is
    # forgotten. We relay nothing, so there is nothing to authenticate for.
    with serving(tls_settings, sessions) as port, tls_client(port, certificate[0]) as client:
        assert client.command(f"MAIL FROM:<{SENDER}>").startswith(b"503 ")
        client.send(b"EHLO client.example\r\n")
        capabilities = [line[4:] for line in client.lines()]
        assert client.command(f"MAIL FROM:<{SENDER}>").startswith(b"250 ")
    assert b"SIZE 100000" in capabilities
    assert not [line for line in capabilities if line.startswith((b"STARTTLS", b"AUTH"))]


def test_a_second_starttls_is_refused_and_the_session_goes_on(
    tls_settings: Settings, sessions: SessionFactory, certificate: tuple[Path, Path]
) -> None:
    with serving(tls_settings, sessions) as port, tls_client(port, certificate[0]) as client:
        assert client.command("EHLO client.example").startswith(b"250 ")
        assert client.command("STARTTLS").startswith(b"503 5.5.1")
        assert client.command("NOOP").startswith(b"250 ")


def test_plain_text_pipelined_behind_starttls_is_discarded(
    tls_settings: Settings, sessions: SessionFactory, certificate: tuple[Path, Path]
) -> None:
    # The STARTTLS command injection of CVE-2011-0411: commands sent in plain
    # text after STARTTLS must not run inside the encrypted session.
    with serving(tls_settings, sessions) as port:
        client = RawClient(port)
        assert client.reply().startswith(b"220 ")
        assert client.command("EHLO client.example").startswith(b"250 ")
        client.send(b"STARTTLS\r\nEHLO injected.example\r\nMAIL FROM:<evil@example.com>\r\n")
        assert client.reply().startswith(b"220 ")
        client.start_tls(trusting(certificate[0]))
        assert client.command(f"RCPT TO:<{MAILBOX}>").startswith(b"503 ")
        client.close()


def test_lmtp_offers_starttls_and_delivers_over_it(
    tmp_path: Path, sessions: SessionFactory, certificate: tuple[Path, Path]
) -> None:
    cert, key = certificate
    settings = door_settings(
        tmp_path / "var", "lmtp", max_message_bytes=100_000, tls_cert=cert, tls_key=key
    )
    assert settings.lmtp_listen is not None
    with (
        serving(settings, sessions, start=start_lmtp) as port,
        smtplib.LMTP("127.0.0.1", port, timeout=10) as client,
    ):
        client.ehlo("mta.example")  # smtplib.LMTP says LHLO here
        assert client.has_extn("starttls")
        assert client.starttls(context=trusting(cert))[0] == 220
        client.ehlo("mta.example")
        assert not client.has_extn("starttls")
        client.mail(SENDER)
        client.rcpt(MAILBOX)
        code, reply = client.data(RAW)
    assert (code, reply) == (250, f"2.0.0 <{MAILBOX}> Message accepted".encode())
    assert stored(settings) == [RAW]


def broken_pem(tmp_path: Path, cert: Path, key: Path) -> tuple[Path, Path]:
    (tmp_path / "broken.pem").write_text("-----BEGIN CERTIFICATE-----\nnot base64\n")
    return tmp_path / "broken.pem", key


def mismatched_key(tmp_path: Path, cert: Path, key: Path) -> tuple[Path, Path]:
    other = tmp_path / "other"
    other.mkdir()
    return cert, self_signed_certificate(other)[1]


def key_as_certificate(tmp_path: Path, cert: Path, key: Path) -> tuple[Path, Path]:
    return key, key


def encrypted_key(tmp_path: Path, cert: Path, key: Path) -> tuple[Path, Path]:
    # Loading must fail, not wait for a password typed on a terminal.
    private = serialization.load_pem_private_key(key.read_bytes(), password=None)
    encrypted = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    )
    (tmp_path / "encrypted.pem").write_bytes(encrypted)
    return cert, tmp_path / "encrypted.pem"


def missing_file(tmp_path: Path, cert: Path, key: Path) -> tuple[Path, Path]:
    # Settings.from_env checks this at start; a file gone since is caught here.
    return tmp_path / "gone.pem", key


@pytest.mark.parametrize("door", ["smtp", "lmtp"])
@pytest.mark.parametrize(
    "files", [broken_pem, mismatched_key, key_as_certificate, encrypted_key, missing_file]
)
def test_a_certificate_that_cannot_be_loaded_fails_at_start_naming_the_variable(
    tmp_path: Path,
    sessions: SessionFactory,
    certificate: tuple[Path, Path],
    door: str,
    files: Callable[[Path, Path, Path], tuple[Path, Path]],
) -> None:
    cert, key = files(tmp_path, *certificate)
    settings = door_settings(
        tmp_path / "var", door, max_message_bytes=100_000, tls_cert=cert, tls_key=key
    )
    start: Start = start_smtp if door == "smtp" else start_lmtp
    with pytest.raises(ConfigError) as info:
        start(settings, sessions).stop()
    message = str(info.value)
    assert message.startswith("HELPDESK_TLS_CERT: ")
    assert "\n" not in message
    listen = settings.smtp_listen if door == "smtp" else settings.lmtp_listen
    assert listen is not None
    with pytest.raises(ConnectionRefusedError):
        RawClient(listen.port)
