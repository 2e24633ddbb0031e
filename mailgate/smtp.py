"""The SMTP server: accepts mail for known mailboxes into the spool, parses nothing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, Protocol

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from sqlalchemy.exc import SQLAlchemyError

from helpdesk.clock import Clock, utcnow
from helpdesk.db import SessionFactory
from helpdesk.settings import Listen, Settings
from mailgate.limits import ConnectionCounter, LimitedSMTP, SessionLimits, spool_free_bytes
from mailgate.recipients import KnownRecipients
from mailgate.spool import Envelope, Spool, SpoolEntry
from mailgate.tls import server_tls_context

log = logging.getLogger(__name__)

# RFC 5321 §4.2 reply codes with RFC 3463 enhanced status codes.
PIPELINING = "250-PIPELINING"
OK_SENDER = "250 2.1.0 OK"
OK_RECIPIENT = "250 2.1.5 OK"
ACCEPTED = "250 2.0.0 Message accepted"
NO_SUCH_MAILBOX = "550 5.1.1 <{address}>: no such mailbox"
TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients"
NO_ROOM = "452 4.3.1 Insufficient system storage, please try again later"
TRY_AGAIN_LATER = "451 4.3.0 Temporary failure, please try again later"
BARE_LINE_ENDING = "554 5.6.0 Bare CR or LF line ending refused; lines must end in CRLF"

# Connections the kernel may hold for us before we accept them.
LISTEN_BACKLOG = 4096


Store = Callable[[bytes, Envelope], SpoolEntry]
FreeBytes = Callable[[], int]


class Recipients(Protocol):
    """Which recipients the door accepts (mailgate.recipients.KnownRecipients)."""

    def known_at_once(self, address: str) -> bool:
        """Whether the address is known without a wait; False means: call."""
        ...

    def __call__(self, address: str) -> bool:
        """Whether the address is a mailbox's; may block on the database."""
        ...


class GatewayHandler:
    """aiosmtpd handler: refuses unknown recipients, stores accepted mail, answers."""

    transport = "smtp"

    def __init__(
        self,
        store: Store,
        recipients: Recipients,
        *,
        clock: Clock,
        max_recipients: int,
        free_bytes: FreeBytes,
        min_free_bytes: int,
    ) -> None:
        self._store = store
        self._recipients = recipients
        self._clock = clock
        self._max_recipients = max_recipients
        self._free_bytes = free_bytes
        self._min_free_bytes = min_free_bytes

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        # aiosmtpd offers AUTH once TLS is up, with a check that always fails;
        # we relay nothing and take mail for our own mailboxes only, so we
        # offer no AUTH at all rather than one that cannot succeed.
        session.host_name = hostname
        kept = [line for line in responses if not line.startswith("250-AUTH")]
        # RFC 2920: the commands of a transaction may come in one packet;
        # aiosmtpd reads and answers them one line at a time, in order.
        return [*kept[:-1], PIPELINING, *kept[-1:]]

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        if not self._has_room():
            return NO_ROOM
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return OK_SENDER

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= self._max_recipients:
            return TOO_MANY_RECIPIENTS
        try:
            known = await self._known(address)
        except SQLAlchemyError:
            log.exception("cannot look up recipient %s", address)
            return TRY_AGAIN_LATER
        if not known:
            log.info("refused mail for %s: no such mailbox", address)
            return NO_SUCH_MAILBOX.format(address=address)
        envelope.rcpt_tos.append(address)
        return OK_RECIPIENT

    async def _known(self, address: str) -> bool:
        # Most recipients are answered from the kept mailboxes at once. A
        # lookup that may need the database runs on the executor, so that
        # other sessions keep being served; there it may wait behind the
        # spool's fsyncs, which is why the common case does not go there.
        if self._recipients.known_at_once(address):
            return True
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self._recipients, address)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return await self.deliver(session, envelope)

    async def deliver(self, session: Any, envelope: Any) -> str:
        """Store the message and return the one reply for all its recipients."""
        if has_bare_line_ending(envelope.original_content):
            log.warning("refused a message with bare CR or LF from %s", _peer(session))
            return BARE_LINE_ENDING
        spooled = Envelope(
            mail_from=envelope.mail_from or "",
            rcpt_tos=tuple(envelope.rcpt_tos),
            transport=self.transport,
            received_at=self._clock(),
            peer=_peer(session),
        )
        loop = asyncio.get_running_loop()
        try:
            entry = await loop.run_in_executor(
                None, self._store, envelope.original_content, spooled
            )
        except OSError:
            log.exception("cannot store a message from %s", spooled.mail_from)
            return TRY_AGAIN_LATER
        log.info("accepted %s for %s", entry.name, ", ".join(spooled.rcpt_tos))
        return ACCEPTED

    def _has_room(self) -> bool:
        try:
            free = self._free_bytes()
        except OSError:
            log.exception("cannot measure the free space of the spool")
            return False
        if free < self._min_free_bytes:
            log.warning("refused a sender: %d bytes free in the spool", free)
            return False
        return True


class GatewayController(Controller):
    """aiosmtpd's threaded controller, serving sessions of `protocol` under `limits`.

    It overrides aiosmtpd's `_create_server` for a longer listen backlog;
    tests/mailgate/test_smtp_load.py connects a thousand clients at once.
    """

    def __init__(
        self,
        handler: Any,
        *,
        protocol: type[LimitedSMTP],
        limits: SessionLimits,
        **kwargs: Any,
    ) -> None:
        super().__init__(handler, **kwargs)
        self._protocol = protocol
        self._limits = limits
        self._connections = ConnectionCounter(limits.max_connections_per_client)

    def factory(self) -> SMTP:
        return self._protocol(
            self.handler, limits=self._limits, connections=self._connections, **self.SMTP_kwargs
        )

    def _create_server(self) -> Awaitable[asyncio.AbstractServer]:
        # asyncio listens with a backlog of 100. When more senders connect at
        # once, Linux drops their handshakes and those clients sit connected
        # to nobody until they time out; the kernel caps this at somaxconn.
        return self.loop.create_server(
            self._factory_invoker,
            host=self.hostname,
            port=self.port,
            ssl=self.ssl_context,
            backlog=LISTEN_BACKLOG,
        )


def has_bare_line_ending(data: bytes) -> bool:
    """Whether `data` holds a CR not followed by LF, or an LF not preceded by CR.

    Such line endings are what SMTP smuggling hides commands behind (RFC 5321
    §2.3.8 allows only CRLF).
    """
    # Every CRLF holds one CR and one LF, so any CR or LF beyond them is bare.
    # Counting is ten times faster than a regular expression with lookarounds,
    # and this runs on the event loop, where every session waits for it.
    pairs = data.count(b"\r\n")
    return data.count(b"\r") != pairs or data.count(b"\n") != pairs


def start_smtp(
    settings: Settings,
    session_factory: SessionFactory,
    *,
    store: Store | None = None,
    clock: Clock = utcnow,
    limits: SessionLimits | None = None,
    free_bytes: FreeBytes | None = None,
) -> Controller:
    """Start the SMTP server on settings.smtp_listen in a thread of its own and return it.

    `store` defaults to the spool under settings.spool_dir, `free_bytes` to
    the free space of its file system; call `.stop()` to stop.

    Raises:
        ConfigError: the STARTTLS certificate or its key cannot be loaded.
        OSError: the address cannot be bound.
    """
    return _start(
        settings,
        session_factory,
        handler_class=GatewayHandler,
        protocol=LimitedSMTP,
        listen=settings.smtp_listen,
        ident="helpdesk ESMTP",
        store=store,
        clock=clock,
        limits=limits,
        free_bytes=free_bytes,
    )


def _start(
    settings: Settings,
    session_factory: SessionFactory,
    *,
    handler_class: type[GatewayHandler],
    protocol: type[LimitedSMTP],
    listen: Listen,
    ident: str,
    store: Store | None,
    clock: Clock,
    limits: SessionLimits | None,
    free_bytes: FreeBytes | None,
) -> Controller:
    """Start `protocol` sessions of a `handler_class` handler on `listen` in a thread of their own.

    STARTTLS is offered when settings.tls_cert and tls_key are set, never
    required: an MX must take mail from senders that cannot encrypt.

    Raises:
        ConfigError: the certificate or its key cannot be loaded.
        OSError: the address cannot be bound.
    """
    limits = limits or SessionLimits()
    handler = handler_class(
        store or Spool(settings.spool_dir).store,
        KnownRecipients(session_factory),
        clock=clock,
        max_recipients=limits.max_recipients,
        free_bytes=free_bytes or partial(spool_free_bytes, settings.spool_dir),
        min_free_bytes=settings.min_spool_free_bytes,
    )
    controller = GatewayController(
        handler,
        protocol=protocol,
        limits=limits,
        hostname=listen.host,
        port=listen.port,
        data_size_limit=settings.max_message_bytes,
        decode_data=False,
        enable_SMTPUTF8=True,
        ident=ident,
        tls_context=server_tls_context(settings),
    )
    controller.start()
    return controller


def _peer(session: Any) -> str:
    peer = getattr(session, "peer", None)
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer or "")
