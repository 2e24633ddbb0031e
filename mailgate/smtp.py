"""The SMTP server: accepts mail for known mailboxes into the spool, parses nothing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import partial
from typing import Any, AnyStr

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from sqlalchemy.exc import SQLAlchemyError

from helpdesk.clock import Clock, utcnow
from helpdesk.db import SessionFactory, session_scope
from helpdesk.services.mailboxes import find_mailbox_for_address
from helpdesk.settings import Settings
from mailgate.spool import Envelope, Spool, SpoolEntry

log = logging.getLogger(__name__)

# RFC 5321 §4.2 reply codes with RFC 3463 enhanced status codes.
OK_RECIPIENT = "250 2.1.5 OK"
ACCEPTED = "250 2.0.0 Message accepted"
NO_SUCH_MAILBOX = "550 5.1.1 <{address}>: no such mailbox"
TRY_AGAIN_LATER = "451 4.3.0 Temporary failure, please try again later"
TOO_BIG = "552 5.3.4 Message too big (the limit is {limit} bytes)"

# aiosmtpd's own answers to an oversize message carry no enhanced status code.
_AIOSMTPD_TOO_BIG = ("552 Error: Too much mail data", "552 Error: message size exceeds")

Store = Callable[[bytes, Envelope], SpoolEntry]
RecipientCheck = Callable[[str], bool]


class GatewayHandler:
    """aiosmtpd handler: refuses unknown recipients, stores accepted mail, answers."""

    def __init__(
        self, store: Store, recipient_exists: RecipientCheck, *, clock: Clock = utcnow
    ) -> None:
        self._store = store
        self._recipient_exists = recipient_exists
        self._clock = clock

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        loop = asyncio.get_running_loop()
        try:
            # The lookup blocks on the database; other sessions keep being served.
            known = await loop.run_in_executor(None, self._recipient_exists, address)
        except SQLAlchemyError:
            log.exception("cannot look up recipient %s", address)
            return TRY_AGAIN_LATER
        if not known:
            log.info("refused mail for %s: no such mailbox", address)
            return NO_SUCH_MAILBOX.format(address=address)
        envelope.rcpt_tos.append(address)
        return OK_RECIPIENT

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        spooled = Envelope(
            mail_from=envelope.mail_from or "",
            rcpt_tos=tuple(envelope.rcpt_tos),
            transport="smtp",
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


class GatewaySMTP(SMTP):
    """aiosmtpd's SMTP with RFC 3463 codes on its own oversize replies."""

    async def push(self, status: AnyStr) -> None:
        if isinstance(status, str) and status.startswith(_AIOSMTPD_TOO_BIG):
            await super().push(TOO_BIG.format(limit=self.data_size_limit))
            return
        await super().push(status)


class GatewayController(Controller):
    def factory(self) -> SMTP:
        return GatewaySMTP(self.handler, **self.SMTP_kwargs)


def mailbox_exists(session_factory: SessionFactory, address: str) -> bool:
    """Whether mail to `address` (or its +tag form) belongs to a mailbox; one short session."""
    with session_scope(session_factory) as session:
        return find_mailbox_for_address(session, address) is not None


def start_smtp(
    settings: Settings,
    session_factory: SessionFactory,
    *,
    store: Store | None = None,
    clock: Clock = utcnow,
) -> Controller:
    """Start the SMTP server on settings.smtp_listen in a thread of its own and return it.

    `store` defaults to the spool under settings.spool_dir; call `.stop()` to stop.

    Raises:
        OSError: the address cannot be bound.
    """
    handler = GatewayHandler(
        store or Spool(settings.spool_dir).store,
        partial(mailbox_exists, session_factory),
        clock=clock,
    )
    controller = GatewayController(
        handler,
        hostname=settings.smtp_listen.host,
        port=settings.smtp_listen.port,
        data_size_limit=settings.max_message_bytes,
        decode_data=False,
        enable_SMTPUTF8=True,
        ident="helpdesk ESMTP",
    )
    controller.start()
    return controller


def _peer(session: Any) -> str:
    peer = getattr(session, "peer", None)
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer or "")
