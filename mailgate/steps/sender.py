"""Sender: a message must name someone to answer, or it cannot become anyone's ticket."""

from __future__ import annotations

from dataclasses import replace

from helpdesk.addresses import normalize_email
from helpdesk.errors import ValidationError
from mailgate.inbound import InboundMessage

NO_SENDER = "the message names no sender address (no usable From, no envelope sender)"


def require_sender(msg: InboundMessage) -> InboundMessage:
    """Drop a message whose From and envelope sender are both missing or unusable."""
    candidates = [msg.sender.address if msg.sender else "", msg.envelope.mail_from]
    for candidate in candidates:
        try:
            normalize_email(candidate)
        except ValidationError:
            continue
        return msg
    return replace(msg, drop_reason=NO_SENDER)
