"""Build InboundMessage values for step tests: sensible defaults, any field overridden."""

from __future__ import annotations

import hashlib
from typing import Any

from mailgate.inbound import Address, Envelope, InboundMessage


def inbound(
    *,
    headers: tuple[tuple[str, str], ...] = (),
    sender: str = "client@example.org",
    subject: str = "Printer on floor 2 is jammed",
    text: str = "Hello, the printer is jammed again.\n",
    **overrides: Any,
) -> InboundMessage:
    """Return a message from `sender` to the support mailbox, with `overrides` applied."""
    message_id = overrides.pop("message_id", "CAF1x9=abc@mail.gmail.com")
    base_headers = (
        ("From", sender),
        ("To", "support@help.example.com"),
        ("Subject", subject),
        ("Message-ID", f"<{message_id}>"),
    )
    values: dict[str, Any] = {
        "raw_size": 1000,
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
        "fingerprint": hashlib.sha256(subject.encode() + text.encode()).hexdigest(),
        "headers": base_headers + headers,
        "message_id": message_id,
        "in_reply_to": (),
        "references": (),
        "sender": Address(sender.lower()) if sender else None,
        "reply_to": (),
        "to": (Address("support@help.example.com"),),
        "cc": (),
        "subject": subject,
        "date": None,
        "text": text,
        "html": "",
        "parts": (),
        "envelope": Envelope(),
    }
    values.update(overrides)
    return InboundMessage(**values)
