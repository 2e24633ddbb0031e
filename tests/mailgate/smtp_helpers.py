"""SMTP and LMTP tests over real sockets: a database with one mailbox, and a raw client."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from helpdesk.db import SessionFactory, make_engine, make_session_factory, session_scope
from helpdesk.settings import Listen, Settings
from tests.factories import make_mailbox, make_tenant
from tests.servers import free_port

MAILBOX = "support@acme.example"
SENDER = "client@client.example"
MESSAGE = b"From: client@client.example\r\nSubject: hello\r\n\r\nIt works.\r\n"


def add_mailbox(factory: SessionFactory) -> None:
    """Create the tenant acme and its mailbox MAILBOX."""
    with session_scope(factory) as session:
        make_mailbox(session, make_tenant(session, "acme"), MAILBOX)


def door_settings(var_dir: Path, door: str, *, max_message_bytes: int) -> Settings:
    """Settings under `var_dir` with the `door` ("smtp" or "lmtp") on a free loopback port."""
    return Settings.for_var_dir(
        var_dir,
        secret_key="test-secret-key",
        max_message_bytes=max_message_bytes,
        **{f"{door}_listen": Listen("127.0.0.1", free_port())},
    )


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
        while True:
            line = self._line()
            if line[3:4] != b"-":
                return line

    def command(self, line: str) -> bytes:
        self.send(line.encode("ascii") + b"\r\n")
        return self.reply()

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
