"""SMTP over real sockets: who is refused, what is accepted, and 250 only once it is on disk."""

from __future__ import annotations

import dataclasses
import logging
import os
import smtplib
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from helpdesk.db import SessionFactory, make_engine, make_session_factory
from helpdesk.settings import Settings
from mailgate.smtp import has_bare_line_ending
from mailgate.spool import Envelope, Spool, SpoolEntry
from tests.mailgate.smtp_helpers import RAW, RawClient, add_mailbox, door_settings, serving
from tests.servers import wait_until

LIMIT = 20_000
SENDER = "client@client.example"


@pytest.fixture
def sessions(engine: Engine) -> SessionFactory:
    factory = make_session_factory(engine)
    add_mailbox(factory)
    return factory


@pytest.fixture
def smtp_settings(tmp_path: Path) -> Settings:
    return door_settings(tmp_path / "var", "smtp", max_message_bytes=LIMIT)


@contextmanager
def running(
    settings: Settings, sessions: SessionFactory, *, free_bytes: int | None = None
) -> Iterator[smtplib.SMTP]:
    with (
        serving(
            settings, sessions, free_bytes=None if free_bytes is None else lambda: free_bytes
        ) as port,
        smtplib.SMTP("127.0.0.1", port, timeout=10) as client,
    ):
        client.ehlo("client.example")
        yield client


def at_data(port: int) -> RawClient:
    """A raw client whose DATA was just answered 354: what it sends next is the body."""
    client = RawClient(port)
    client.reply()
    for line in ("EHLO client.example", f"MAIL FROM:<{SENDER}>", "RCPT TO:<support@acme.example>"):
        assert client.command(line)[:3] == b"250"
    assert client.command("DATA")[:3] == b"354"
    return client


def stuffed(message: bytes) -> bytes:
    """`message` as a client sends it: a dot added before each line's leading dot."""
    return (b"\r\n" + message).replace(b"\r\n.", b"\r\n..")[2:]


def test_unknown_recipient_is_refused_at_rcpt(
    smtp_settings: Settings, sessions: SessionFactory
) -> None:
    with running(smtp_settings, sessions) as client:
        client.mail(SENDER)
        code, reply = client.rcpt("nobody@acme.example")
    assert (code, reply[:5]) == (550, b"5.1.1")
    assert b"nobody@acme.example" in reply
    assert Spool(smtp_settings.spool_dir).pending() == []


def test_mailbox_and_its_tagged_form_accept_the_exact_bytes(
    smtp_settings: Settings, sessions: SessionFactory
) -> None:
    recipients = ["support@acme.example", "Support+a1b2c3@acme.example"]
    with running(smtp_settings, sessions) as client:
        refused = client.sendmail(SENDER, recipients, RAW, mail_options=["BODY=8BITMIME"])
    assert refused == {}
    [entry] = Spool(smtp_settings.spool_dir).pending()
    assert entry.read_message() == RAW
    envelope = entry.read_envelope()
    assert (envelope.mail_from, envelope.rcpt_tos) == (SENDER, tuple(recipients))
    assert envelope.transport == "smtp"


def test_accepted_message_is_answered_250_2_0_0(
    smtp_settings: Settings, sessions: SessionFactory
) -> None:
    with running(smtp_settings, sessions) as client:
        client.mail(SENDER)
        client.rcpt("support@acme.example")
        code, reply = client.data(RAW)
    assert (code, reply) == (250, b"2.0.0 Message accepted")


def test_server_advertises_size_and_refuses_a_declared_oversize_message(
    smtp_settings: Settings, sessions: SessionFactory
) -> None:
    big = RAW + b"x" * LIMIT + b"\r\n"
    with running(smtp_settings, sessions) as client:
        assert client.has_extn("size")
        assert int(client.esmtp_features["size"]) == LIMIT
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.sendmail(SENDER, ["support@acme.example"], big)
    assert refused.value.smtp_code == 552
    assert refused.value.smtp_error.startswith(b"5.3.4")


def test_oversize_data_without_a_size_declaration_is_refused_with_552(
    smtp_settings: Settings, sessions: SessionFactory
) -> None:
    big = RAW + (b"x" * 900 + b"\r\n") * (LIMIT // 900 + 1)
    with running(smtp_settings, sessions) as client:
        client.mail(SENDER)
        client.rcpt("support@acme.example")
        code, reply = client.data(big)
    assert (code, reply[:5]) == (552, b"5.3.4")
    assert Spool(smtp_settings.spool_dir).pending() == []


def test_message_that_cannot_be_stored_gets_451_so_the_sender_retries(
    smtp_settings: Settings, sessions: SessionFactory, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("the spool directory cannot be created here")
    broken = dataclasses.replace(smtp_settings, spool_dir=blocker)
    with running(broken, sessions) as client:
        client.mail(SENDER)
        client.rcpt("support@acme.example")
        code, reply = client.data(RAW)
    assert (code, reply[:5]) == (451, b"4.3.0")


def test_recipient_check_against_a_broken_database_gets_451(
    smtp_settings: Settings, tmp_path: Path
) -> None:
    # An empty database has no mailboxes table: every lookup fails.
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        with running(smtp_settings, make_session_factory(engine)) as client:
            client.mail(SENDER)
            code, reply = client.rcpt("support@acme.example")
    finally:
        engine.dispose()
    assert (code, reply[:5]) == (451, b"4.3.0")


@pytest.mark.parametrize(("free", "code"), [(LIMIT * 3 // 2 - 1, 452), (LIMIT * 3 // 2, 250)])
def test_sender_is_refused_with_452_while_the_spool_has_no_room_for_one_and_a_half_messages(
    smtp_settings: Settings, sessions: SessionFactory, free: int, code: int
) -> None:
    with running(smtp_settings, sessions, free_bytes=free) as client:
        answer = client.mail(SENDER)
    assert answer[0] == code
    assert code == 250 or answer[1].startswith(b"4.3.1")


def test_the_real_spool_is_measured_before_a_sender_is_welcome(
    smtp_settings: Settings, sessions: SessionFactory
) -> None:
    # No file system has room for one and a half messages of an exabyte each.
    absurd = dataclasses.replace(smtp_settings, max_message_bytes=10**18)
    with running(absurd, sessions) as client:
        code, reply = client.mail(SENDER)
    assert (code, reply[:5]) == (452, b"4.3.1")
    with running(smtp_settings, sessions) as client:
        assert client.mail(SENDER)[0] == 250


# A line ending other than CRLF, before and after the dot, as SMTP smuggling
# uses them to hide a second transaction inside the first one's body.
SMUGGLING_ENDINGS = [b"\n.\n", b"\n.\r\n", b"\r\n.\n", b"\r.\r", b"\r\n.\r", b"\r.\r\n"]


@pytest.mark.parametrize("ending", SMUGGLING_ENDINGS)
def test_a_smuggled_second_message_is_neither_delivered_nor_run(
    smtp_settings: Settings, sessions: SessionFactory, ending: bytes
) -> None:
    smuggled = (
        b"Subject: first\r\n\r\nhello" + ending + b"MAIL FROM:<evil@evil.example>\r\n"
        b"RCPT TO:<support@acme.example>\r\nDATA\r\nSubject: smuggled\r\n\r\nforged"
        + ending
        + b"\r\n.\r\nQUIT\r\n"
    )
    with serving(smtp_settings, sessions) as port:
        client = at_data(port)
        client.send(smuggled)
        replies = client.replies_until_closed()
        client.close()
    assert replies[0].startswith(b"554 5.6.0")
    assert not any(reply.startswith((b"250", b"354")) for reply in replies[:-1])
    assert Spool(smtp_settings.spool_dir).pending() == []


@pytest.mark.parametrize("line", [b"bare\nline feed\r\n", b"bare\rcarriage return\r\n"])
def test_a_body_line_with_a_bare_cr_or_lf_is_refused(
    smtp_settings: Settings, sessions: SessionFactory, line: bytes
) -> None:
    with running(smtp_settings, sessions) as client:
        client.mail(SENDER)
        client.rcpt("support@acme.example")
        code, reply = client.data(RAW + line)
    assert (code, reply[:5]) == (554, b"5.6.0")
    assert Spool(smtp_settings.spool_dir).pending() == []


@pytest.mark.parametrize(
    ("data", "bare"),
    [
        (b"", False),
        (b"a line\r\nanother\r\n", False),
        (b"\r\n\r\n", False),
        (b"a\rb\r\n", True),
        (b"a\nb\r\n", True),
        (b"\r\r\n", True),
        (b"\r\n\n", True),
        (b"\n\r", True),
        (b"ends in a CR\r", True),
        (b"\nstarts with an LF", True),
    ],
)
def test_only_crlf_pairs_count_as_line_endings(data: bytes, bare: bool) -> None:
    assert has_bare_line_ending(data) is bare


def test_a_pipelined_transaction_gets_each_reply_in_order(
    smtp_settings: Settings, sessions: SessionFactory
) -> None:
    with serving(smtp_settings, sessions) as port:
        client = RawClient(port)
        try:
            client.reply()
            client.send(b"EHLO client.example\r\n")
            assert b"250-PIPELINING" in client.lines()
            # RFC 2920: everything up to DATA in one write, DATA last.
            client.send(
                b"MAIL FROM:<client@client.example>\r\n"
                b"RCPT TO:<support@acme.example>\r\n"
                b"RCPT TO:<nobody@acme.example>\r\n"
                b"RCPT TO:<support+t0k3n@acme.example>\r\n"
                b"DATA\r\n"
            )
            replies = [client.reply()[:3] for _ in range(5)]
            assert replies == [b"250", b"250", b"550", b"250", b"354"]
            client.send(RAW + b".\r\nQUIT\r\n")
            assert client.reply()[:3] == b"250"
            assert client.reply()[:3] == b"221"
        finally:
            client.close()
    [entry] = Spool(smtp_settings.spool_dir).pending()
    assert entry.read_envelope().rcpt_tos == ("support@acme.example", "support+t0k3n@acme.example")


def test_a_known_recipient_is_accepted_while_the_spool_disk_stalls(
    smtp_settings: Settings, sessions: SessionFactory
) -> None:
    # Given a disk so slow that every store waits, and more messages waiting
    # for it than the event loop's executor has threads (asyncio's default),
    spool = Spool(smtp_settings.spool_dir)
    disk = threading.Event()
    stores: list[bytes] = []

    def stalled_store(data: bytes, envelope: Envelope) -> SpoolEntry:
        stores.append(data)
        disk.wait(30)
        return spool.store(data, envelope)

    threads = min(32, (os.cpu_count() or 1) + 4)
    with serving(smtp_settings, sessions, store=stalled_store) as port:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as first:
            first.ehlo()
            first.mail(SENDER)
            assert first.rcpt("support@acme.example")[0] == 250  # the mailboxes are read
        with ThreadPoolExecutor(threads + 2) as senders:
            sent = [senders.submit(_send_one, port) for _ in range(threads + 2)]
            try:
                wait_until(lambda: len(stores) == threads, 30, "every executor thread storing")
                # a new sender still hears at once that its recipient is known.
                with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
                    client.ehlo()
                    client.mail(SENDER)
                    started = time.monotonic()
                    assert client.rcpt("Support+t0k3n@acme.example")[0] == 250
                    assert time.monotonic() - started < 2.0
            finally:
                disk.set()
            assert [future.result()[0] for future in sent] == [250] * (threads + 2)
    assert len(spool.pending()) == threads + 2


def _send_one(port: int) -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
        client.ehlo()
        client.mail(SENDER)
        client.rcpt("support@acme.example")
        return client.data(RAW)


def test_a_body_trickled_in_small_pieces_arrives_whole_and_the_next_command_is_read(
    smtp_settings: Settings, sessions: SessionFactory
) -> None:
    # The server reads what each packet brings; here the end line, the
    # command after it and the dots the client added are cut across packets.
    message = RAW + b".a second line that starts with a dot\r\n"
    stream = stuffed(message) + b".\r\nNOOP\r\n"
    with serving(smtp_settings, sessions) as port:
        client = at_data(port)
        try:
            for start in range(0, len(stream), 7):
                client.send(stream[start : start + 7])
                time.sleep(0.005)
            assert client.reply()[:3] == b"250"
            assert client.reply()[:3] == b"250"  # the NOOP
        finally:
            client.close()
    [entry] = Spool(smtp_settings.spool_dir).pending()
    assert entry.read_message() == message


def test_a_client_that_hangs_up_right_after_its_body_and_quit_breaks_nothing(
    smtp_settings: Settings, sessions: SessionFactory, caplog: pytest.LogCaptureFixture
) -> None:
    # The body, a pipelined QUIT and the end of the stream may all arrive
    # before the session reads the body; the session ends, the server goes on.
    with serving(smtp_settings, sessions) as port:
        for _ in range(20):
            client = at_data(port)
            client.send(stuffed(RAW) + b".\r\nQUIT\r\n")
            client.sock.shutdown(socket.SHUT_WR)
            client.replies_until_closed()
            client.close()
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as after:
            assert after.sendmail(SENDER, ["support@acme.example"], RAW) == {}
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    # Each message was stored whole or not at all: no 250 went out for one not stored.
    assert all(entry.read_message() == RAW for entry in Spool(smtp_settings.spool_dir).pending())
