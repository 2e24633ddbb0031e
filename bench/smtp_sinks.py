"""The servers bench.ingest compares our gateway with: a null, a bare and a fsync aiosmtpd sink.

- `null_sink`: a few lines of asyncio that answer every command at once and
  look at nothing but the end of DATA; what the client alone can send.
- `bare_sink`: aiosmtpd with a handler that answers 250 at once.
- `fsync_sink`: aiosmtpd with a handler that stores each message in the
  gateway's own spool (mailgate.spool.Spool.store: the message and its
  envelope each written and fsynced into an entry directory in tmp/, that
  directory fsynced, renamed into new/, and new/ fsynced) on the event loop's
  executor, as the gateway does, before it answers 250. The same store on
  both sides: the ratio is what the gateway adds to it (the recipient check,
  the session limits, the spool-space check).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from helpdesk.clock import utcnow
from mailgate.spool import Envelope, Spool

HOST = "127.0.0.1"
# The gateway's default limit (HELPDESK_MAX_MESSAGE_BYTES), so every sink takes what it takes.
DATA_SIZE_LIMIT = 25 * 2**20


def free_port() -> int:
    """Return a loopback port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class BareHandler:
    """Answers every message with 250 at once."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 2.0.0 OK"


class FsyncHandler:
    """Stores every message durably in a spool before it answers 250."""

    def __init__(self, spool: Spool) -> None:
        self.spool = spool

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        stored = Envelope(envelope.mail_from, tuple(envelope.rcpt_tos), "smtp", utcnow())
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.spool.store, envelope.original_content, stored)
        return "250 2.0.0 OK"


@contextlib.contextmanager
def aiosmtpd_sink(handler: object) -> Iterator[int]:
    """Serve `handler` with aiosmtpd on a free port in a thread; yield the port."""
    controller = Controller(
        handler,
        hostname=HOST,
        port=free_port(),
        decode_data=False,
        data_size_limit=DATA_SIZE_LIMIT,
        enable_SMTPUTF8=True,
    )
    controller.start()
    try:
        yield int(controller.port)
    finally:
        controller.stop()


def bare_sink() -> contextlib.AbstractContextManager[int]:
    """Serve aiosmtpd answering 250 at once; yield its port."""
    return aiosmtpd_sink(BareHandler())


def fsync_sink(spool_dir: Path) -> contextlib.AbstractContextManager[int]:
    """Serve aiosmtpd storing each message in a spool under `spool_dir` first; yield its port."""
    return aiosmtpd_sink(FsyncHandler(Spool(spool_dir)))


@contextlib.contextmanager
def null_sink() -> Iterator[int]:
    """Serve the least an SMTP server can do, on a thread of its own; yield its port."""
    loop = asyncio.new_event_loop()
    port = free_port()
    server = loop.run_until_complete(asyncio.start_server(_null_session, HOST, port, limit=2**26))
    thread = threading.Thread(target=loop.run_forever, name="null-sink", daemon=True)
    thread.start()
    try:
        yield port
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()


async def _null_session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"220 null ESMTP\r\n")
    try:
        while line := await reader.readline():
            verb = line[:4].upper()
            if verb == b"QUIT":
                writer.write(b"221 bye\r\n")
                break
            if verb == b"DATA":
                writer.write(b"354 go on\r\n")
                await reader.readuntil(b"\r\n.\r\n")
            writer.write(b"250 OK\r\n")
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()
