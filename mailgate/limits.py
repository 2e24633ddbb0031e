"""Limits that keep a slow or hostile SMTP or LMTP client from exhausting the server."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AnyStr

from aiosmtpd.smtp import MISSING, SMTP, syntax

from mailgate.smtp_data import BodyReader, Refusal

log = logging.getLogger(__name__)

TOO_MANY_CONNECTIONS = "421 4.7.0 Too many connections from your address, try again later"
TOO_MANY_COMMANDS = "421 4.7.0 Too many commands in one session, closing"
IDLE_TIMEOUT = "421 4.4.2 Idle for too long, closing"
SESSION_EXPIRED = "421 4.4.2 Session lasted too long, closing"
TOO_BIG = "552 5.3.4 Message too big (the limit is {limit} bytes)"
LINE_TOO_LONG = "500 5.5.2 Line too long (RFC 5321 4.5.3.1.6 allows 1000 bytes)"
TLS_ALREADY_ACTIVE = "503 5.5.1 TLS already active"

# aiosmtpd's own answer to a MAIL FROM whose SIZE= is over the limit, which
# carries no RFC 3463 enhanced status code; it is answered with ours instead.
_AIOSMTPD_TOO_BIG = "552 Error: message size exceeds"
NEED_RECIPIENT = "503 5.5.1 Error: need RCPT command"
DATA_SYNTAX = "501 5.5.4 Syntax: DATA"
GO_AHEAD = "354 End data with <CR><LF>.<CR><LF>"
_BODY_REFUSALS = {Refusal.TOO_BIG: TOO_BIG, Refusal.LINE_TOO_LONG: LINE_TOO_LONG}
# More than an asyncio reader ever holds (see LimitedSMTP._read_body).
_ALL_BUFFERED = 1 << 30

Command = Callable[[str | None], Awaitable[None]]


@dataclass(frozen=True)
class SessionLimits:
    """How much one client may ask of the server; seconds for times."""

    max_recipients: int = 100
    max_connections_per_client: int = 20
    max_commands: int = 1000
    # Seconds without a byte from the client; aiosmtpd's own timeout only
    # restarts at each command, so a long DATA would count as idle.
    idle_timeout: float = 60.0
    # Seconds a session may last in all, however busy: a client trickling a
    # byte now and then never goes idle, so it is bounded here.
    session_deadline: float = 600.0


class ConnectionCounter:
    """Open connections per client address.

    Used only from the server's event loop, one thread, so it needs no lock.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._open: Counter[str] = Counter()

    def open(self, host: str) -> bool:
        """Count one more connection from `host`; False, and not counted, over the limit."""
        if self._open[host] >= self._limit:
            return False
        self._open[host] += 1
        return True

    def close(self, host: str) -> None:
        self._open[host] -= 1
        if self._open[host] <= 0:
            del self._open[host]


def spool_free_bytes(path: Path) -> int:
    """Bytes an unprivileged writer may still use on the file system holding `path`.

    `path` need not exist yet: its nearest existing ancestor is measured.

    Raises:
        OSError: the file system cannot be queried.
    """
    while not path.exists() and path != path.parent:
        path = path.parent
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


class LimitedSMTP(SMTP):
    """aiosmtpd's SMTP session with our limits, and RFC 3463 codes on its own refusals.

    Some of aiosmtpd's internals (`_handle_client`, `_timeout_cb`,
    `_smtp_methods`, `_reset_timeout`, `_tls_protocol`) are extended here;
    aiosmtpd is pinned and tests/mailgate/test_smtp_limits.py and
    test_starttls.py fail if they change.
    """

    def __init__(
        self,
        handler: Any,
        *,
        limits: SessionLimits,
        connections: ConnectionCounter,
        **kwargs: Any,
    ) -> None:
        super().__init__(handler, timeout=limits.idle_timeout, **kwargs)
        if self._decode_data:
            raise ValueError("a body is kept as the bytes it came as: decode_data must be False")
        self._limits = limits
        self._connections = connections
        self._commands = 0
        self._smtp_methods = {
            name: self._counted(method) for name, method in self._smtp_methods.items()
        }

    def data_received(self, data: bytes) -> None:
        # Any byte from the client, DATA lines included, shows it is not idle.
        self._reset_timeout()
        super().data_received(data)

    async def _handle_client(self) -> None:
        host = _peer_host(self.session)
        if not self._connections.open(host):
            log.warning("refused a connection from %s: too many open", host)
            await self.push(TOO_MANY_CONNECTIONS)
            self._hang_up(None)
            return
        deadline = self.loop.call_later(
            self._limits.session_deadline, self._hang_up, SESSION_EXPIRED
        )
        try:
            await super()._handle_client()
        finally:
            deadline.cancel()
            self._connections.close(host)

    def _timeout_cb(self) -> None:
        log.info("%r idle for too long", self.session and self.session.peer)
        self._hang_up(IDLE_TIMEOUT)

    def _counted(self, method: Command) -> Command:
        # HELP lists and explains the commands by the syntax aiosmtpd's
        # @syntax attaches to each method; the wrapper must carry it too.
        @functools.wraps(method)
        async def counted(arg: str | None) -> None:
            self._commands += 1
            if self._commands > self._limits.max_commands:
                log.warning("%r sent too many commands", self.session and self.session.peer)
                self._hang_up(TOO_MANY_COMMANDS)
                return
            await method(arg)

        return counted

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        # aiosmtpd's DATA, with the body read a chunk at a time (see
        # mailgate.smtp_data) instead of a line at a time; the checks before
        # the body and the handler call after it are aiosmtpd's.
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        if self.envelope is None or not self.envelope.rcpt_tos:
            await self.push(NEED_RECIPIENT)
            return
        if arg:
            await self.push(DATA_SYNTAX)
            return
        await self.push(GO_AHEAD)
        body = await self._read_body()
        if body is None:
            return  # the client closed the connection; the session ends with it
        if body.refusal is not None:
            await self._refuse_body(_BODY_REFUSALS[body.refusal].format(limit=self.data_size_limit))
            self._after_data()
            return
        self.envelope.content = self.envelope.original_content = body.body
        status = await self._call_handler_hook("DATA")
        self._after_data()
        await self.push("250 OK" if status is MISSING else status)

    async def _read_body(self) -> BodyReader | None:
        """Read the body up to its end line; None if the client closed the connection first."""
        body = BodyReader(size_limit=self.data_size_limit, line_limit=self.line_length_limit)
        try:
            while True:
                # All the reader holds: it pauses the socket past twice its
                # limit, so it never holds this much.
                chunk = await self._reader.read(_ALL_BUFFERED)
                if not chunk:
                    return None
                if body.feed(chunk):
                    break
        except asyncio.CancelledError:
            log.info("connection lost during DATA")
            self._writer.close()
            raise
        if body.leftover and not self._reader.at_eof():
            # Commands the client sent right after the body (RFC 2920
            # pipelining). The reader was emptied by the last read, so they
            # go back first in line, and the session reads them next. (After
            # the client's EOF, aiosmtpd has cancelled the session anyway.)
            self._reader.feed_data(body.leftover)
        return body

    async def _refuse_body(self, reply: str) -> None:
        await self.push(reply)

    def _after_data(self) -> None:
        self._set_post_data_state()  # type: ignore[no-untyped-call]

    @syntax("STARTTLS", when="tls_context")
    async def smtp_STARTTLS(self, arg: str) -> None:
        # RFC 3207 §4.2: TLS starts once per connection. aiosmtpd would answer
        # a second STARTTLS with 220 and then fail to nest TLS inside TLS.
        if self._tls_protocol is not None:
            await self.push(TLS_ALREADY_ACTIVE)
            return
        await super().smtp_STARTTLS(arg)

    def _hang_up(self, reply: str | None) -> None:
        """Say `reply` if the client still reads, close, and stop serving this session."""
        transport = self.transport
        if not isinstance(transport, asyncio.Transport):
            return
        if transport.get_write_buffer_size():
            # Replies are piling up unread: waiting for them to drain would
            # keep the connection open for as long as the client likes.
            transport.abort()
        else:
            if reply is not None:
                transport.write(reply.encode("ascii") + b"\r\n")
            transport.close()
        if self._handler_coroutine is not None:
            self._handler_coroutine.cancel()

    async def push(self, status: AnyStr) -> None:
        ours = self._rewritten(status) if isinstance(status, str) else None
        await super().push(ours or status)

    def _rewritten(self, status: str) -> str | None:
        """Our reply for aiosmtpd's refusal of a declared message size, else None."""
        if status.startswith(_AIOSMTPD_TOO_BIG):
            return TOO_BIG.format(limit=self.data_size_limit)
        return None


def _peer_host(session: Any) -> str:
    peer = getattr(session, "peer", None)
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return str(peer or "")
