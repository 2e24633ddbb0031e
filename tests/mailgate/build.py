"""Build InboundMessage values for step tests whose headers agree with their fields."""

from __future__ import annotations

from typing import Any

from mailgate.inbound import Address, Envelope, InboundMessage
from tests.mailgate.fakes import message

SUPPORT = "support@help.example.com"


def inbound(
    *,
    headers: tuple[tuple[str, str], ...] = (),
    sender: str = "client@example.org",
    subject: str = "Printer on floor 2 is jammed",
    text: str = "Hello, the printer is jammed again.\n",
    **overrides: Any,
) -> InboundMessage:
    """Return a message from `sender` to the support mailbox, with `overrides` applied.

    The From, To, Subject and Message-ID headers come first, as a client
    writes them; `headers` follow. The envelope is empty unless given.
    """
    message_id = overrides.pop("message_id", "CAF1x9=abc@mail.gmail.com")
    written = (
        ("From", sender),
        ("To", SUPPORT),
        ("Subject", subject),
        ("Message-ID", f"<{message_id}>"),
    )
    values: dict[str, Any] = {
        "headers": written + headers,
        "message_id": message_id,
        "sender": Address(sender.lower()) if sender else None,
        "to": (Address(SUPPORT),),
        "subject": subject,
        "text": text,
        "envelope": Envelope(),
    }
    return message(**(values | overrides))
