"""The LMTP server (RFC 2033): the SMTP door for a team's own MTA, one reply per recipient."""

from __future__ import annotations

from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP

from helpdesk.clock import Clock, utcnow
from helpdesk.db import SessionFactory
from helpdesk.errors import ConfigError
from helpdesk.settings import Settings
from mailgate.limits import LimitedSMTP, SessionLimits
from mailgate.smtp import ACCEPTED, FreeBytes, GatewayHandler, Store, _start


class LmtpHandler(GatewayHandler):
    """The SMTP handler, answering DATA once for each accepted recipient."""

    transport = "lmtp"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        # The message is stored once for all recipients, so each of them gets
        # the same verdict, and a 250 only once the bytes are on disk.
        reply = await self.deliver(session, envelope)
        replies = [_for_recipient(reply, address) for address in envelope.rcpt_tos]
        for each in replies[:-1]:
            await server.push(each)
        return replies[-1]


class LimitedLMTP(LimitedSMTP, LMTP):
    """aiosmtpd's LMTP session with our limits.

    LMTP owes a reply per recipient to DATA, so a refused message body is
    refused once for each.
    """

    async def _refuse_body(self, reply: str) -> None:
        for _ in self.envelope.rcpt_tos if self.envelope else ():
            await self.push(reply)


def start_lmtp(
    settings: Settings,
    session_factory: SessionFactory,
    *,
    store: Store | None = None,
    clock: Clock = utcnow,
    limits: SessionLimits | None = None,
    free_bytes: FreeBytes | None = None,
) -> Controller:
    """Start the LMTP server on settings.lmtp_listen in a thread of its own and return it.

    As `start_smtp`; call `.stop()` to stop.

    Raises:
        ConfigError: settings.lmtp_listen is not set, or the STARTTLS
            certificate or its key cannot be loaded.
        OSError: the address cannot be bound.
    """
    if settings.lmtp_listen is None:
        raise ConfigError("HELPDESK_LMTP_LISTEN: set it to HOST:PORT to run LMTP")
    return _start(
        settings,
        session_factory,
        handler_class=LmtpHandler,
        protocol=LimitedLMTP,
        listen=settings.lmtp_listen,
        ident="helpdesk LMTP",
        store=store,
        clock=clock,
        limits=limits,
        free_bytes=free_bytes,
    )


def _for_recipient(reply: str, address: str) -> str:
    if reply == ACCEPTED:
        return f"250 2.0.0 <{address}> Message accepted"
    return reply
