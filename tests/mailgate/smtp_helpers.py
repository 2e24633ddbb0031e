"""SMTP and LMTP tests over real sockets: a database with one mailbox, and a raw client."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import multiprocessing
import shutil
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from helpdesk.db import SessionFactory, make_engine, make_session_factory, session_scope
from helpdesk.settings import Listen, Settings
from mailgate.smtp import start_smtp
from tests.certificates import self_signed
from tests.factories import make_mailbox, make_tenant
from tests.servers import free_port

MAILBOX = "support@acme.example"
SENDER = "client@client.example"
MESSAGE = b"From: client@client.example\r\nSubject: hello\r\n\r\nIt works.\r\n"
# 8-bit, not UTF-8 (Latin-1 and a stray 0xff), a dot-stuffed line, CRLF endings:
# what must arrive unchanged, over TLS or not.
RAW = (
    b"From: Client <client@client.example>\r\n"
    b"To: support@acme.example\r\n"
    b"Subject: =?iso-8859-1?q?caf=E9?=\r\n"
    b"Content-Type: text/plain; charset=iso-8859-1\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"Un caf\xe9, s'il vous pla\xeet \xff.\r\n"
    b".a line that starts with a dot\r\n"
)


def add_mailbox(factory: SessionFactory) -> None:
    """Create the tenant acme and its mailbox MAILBOX."""
    with session_scope(factory) as session:
        make_mailbox(session, make_tenant(session, "acme"), MAILBOX)


def door_settings(
    var_dir: Path, door: str, *, max_message_bytes: int, **overrides: object
) -> Settings:
    """Settings under `var_dir` with the `door` ("smtp" or "lmtp") on a free loopback port."""
    return Settings.for_var_dir(
        var_dir,
        secret_key="test-secret-key",
        max_message_bytes=max_message_bytes,
        **{f"{door}_listen": Listen("127.0.0.1", free_port())},
        **overrides,
    )


@contextmanager
def serving(
    settings: Settings,
    sessions: SessionFactory,
    *,
    start: Callable[..., Controller] = start_smtp,
    **options: Any,
) -> Iterator[int]:
    """Run the door `start(settings, sessions, **options)` starts; yield its port, then stop it."""
    controller = start(settings, sessions, **options)
    try:
        yield controller.port
    finally:
        controller.stop()


@contextmanager
def serving_apart(settings: Settings, database_url: str) -> Iterator[int]:
    """Run the SMTP door in a fresh process of its own, as a gateway runs; yield its port.

    For timings: the test's own process carries every earlier test's objects,
    whose garbage collections and threads would be timed along with the door.
    """
    spawn = multiprocessing.get_context("spawn")
    ports: multiprocessing.SimpleQueue[int] = spawn.SimpleQueue()
    stop = spawn.Event()
    door = spawn.Process(target=_serve_until, args=(settings, database_url, ports, stop))
    door.start()
    try:
        yield ports.get()
    finally:
        stop.set()
        door.join(timeout=60)
        if door.is_alive():
            door.kill()


def _serve_until(
    settings: Settings,
    database_url: str,
    ports: multiprocessing.SimpleQueue[int],
    stop: threading.Event,
) -> None:
    sessions = make_session_factory(make_engine(database_url))
    with serving(settings, sessions) as port:
        ports.put(port)
        stop.wait()


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """Write a certificate for localhost and 127.0.0.1 and its key; return both paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    certificate = self_signed(key, "localhost", names=names)
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def trusting(cert: Path) -> ssl.SSLContext:
    """A client context that trusts `cert` alone, checking the host name as a sender would."""
    return ssl.create_default_context(cafile=str(cert))


@contextmanager
def mailbox_database(template: Path, directory: Path) -> Iterator[SessionFactory]:
    """A migrated SQLite database, copied from `template`, holding the mailbox MAILBOX."""
    path = directory / "helpdesk.db"
    shutil.copyfile(template, path)
    engine = make_engine(f"sqlite:///{path}")
    factory = make_session_factory(engine)
    add_mailbox(factory)
    try:
        yield factory
    finally:
        engine.dispose()


class RawClient:
    """A client that says exactly the bytes it is given, as a hostile one would."""

    def __init__(self, port: int, timeout: float = 5.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self._buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def reply(self) -> bytes:
        """Read one whole reply, multi-line or not, and return its last line."""
        return self.lines()[-1]

    def lines(self) -> list[bytes]:
        """Read one whole reply and return all its lines."""
        lines = [self._line()]
        while lines[-1][3:4] == b"-":
            lines.append(self._line())
        return lines

    def command(self, line: str) -> bytes:
        self.send(line.encode("ascii") + b"\r\n")
        return self.reply()

    def start_tls(self, context: ssl.SSLContext) -> None:
        """Turn the connection into TLS, as after a 220 to STARTTLS."""
        assert not self._buffer, "plain text left unread before TLS"
        self.sock = context.wrap_socket(self.sock, server_hostname="localhost")

    def replies_until_closed(self) -> list[bytes]:
        """Every reply line still to come, until the server closes the connection."""
        lines = []
        while True:
            try:
                lines.append(self._line())
            except ConnectionError:
                return lines

    def close(self) -> None:
        self.sock.close()

    def _line(self) -> bytes:
        while b"\r\n" not in self._buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionResetError(f"closed by the server after {self._buffer!r}")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\r\n", 1)
        return line


@contextmanager
def tls_client(port: int, cert: Path) -> Iterator[RawClient]:
    """A raw client that has said EHLO, STARTTLS, and completed the handshake."""
    client = RawClient(port)
    try:
        assert client.reply().startswith(b"220 ")
        assert client.command("EHLO client.example").startswith(b"250 ")
        assert client.command("STARTTLS").startswith(b"220 ")
        client.start_tls(trusting(cert))
        yield client
    finally:
        client.close()


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


def loopback(n: int) -> str:
    """The `n`th address of 127/8 (Linux routes all of it to lo): one client address each."""
    return f"127.0.{1 + n // 250}.{1 + n % 250}"


class AsyncClient:
    """A raw SMTP client on asyncio streams, so that a test can hold a thousand of them."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int, source: str) -> AsyncClient:
        """Connect from the loopback address `source` (not yet read: the greeting)."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
        return cls(reader, writer)

    async def reply(self, timeout: float = 10.0) -> bytes:
        """Read one whole reply and return its last line, without CRLF.

        Raises:
            TimeoutError: no whole reply within `timeout` seconds.
        """
        async with asyncio.timeout(timeout):
            while True:
                line = await self.reader.readuntil(b"\r\n")
                if line[3:4] != b"-":
                    return line[:-2]

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def command(self, line: str) -> bytes:
        await self.send(line.encode("ascii") + b"\r\n")
        return await self.reply()

    async def closed_by_server(self) -> bytes | None:
        """Read until the server closes; return all it said, or None if it reset the connection.

        A server that closes while a client's bytes are still unread resets
        the connection (that is TCP), and what it said last may be lost.
        """
        try:
            return await self.reader.read()
        except ConnectionResetError:
            return None

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()
