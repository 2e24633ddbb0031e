"""Secrets: mask keys, tokens, passwords and card numbers in what a message shows; count them."""

from __future__ import annotations

from dataclasses import replace

from helpdesk.secrets import mask_html, mask_text
from mailgate.inbound import InboundMessage


def mask_secrets(msg: InboundMessage) -> InboundMessage:
    """Mask secrets in the visible text, the full text and the safe HTML; count them."""
    text, found = mask_text(msg.text)
    visible, found_visible = mask_text(msg.visible_text)
    return replace(
        msg,
        text=text,
        visible_text=visible,
        safe_html=mask_html(msg.safe_html),
        masked_secrets=found if msg.text else found_visible,
    )
