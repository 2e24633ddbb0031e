"""Limits: a sender or a desk opening too many tickets too fast is held for review, not dropped."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from mailgate.inbound import InboundMessage, MailKind, ThreadRule
from mailgate.ports import IntakeCounts

WINDOW = timedelta(hours=1)


def check_intake_limits(
    msg: InboundMessage,
    *,
    counts: IntakeCounts,
    per_sender: int,
    per_tenant: int,
    now: datetime,
) -> InboundMessage:
    """Hold a would-be new ticket when its sender or its tenant is over the hourly limit."""
    if msg.route is None or msg.thread is None or msg.thread.rule is not ThreadRule.NEW:
        return msg
    if msg.kind is not MailKind.NORMAL:
        return msg
    tenant_id, since = msg.route.tenant_id, now - WINDOW
    sender = msg.sender_address
    opened = counts.new_tickets(tenant_id, sender, since)
    if opened.from_sender >= per_sender:
        count = opened.from_sender
        reason = f"{sender} opened {count} tickets in the last hour (limit {per_sender})"
        return replace(msg, hold_reason=reason)
    if opened.total >= per_tenant:
        reason = f"mail opened {opened.total} tickets in the last hour (limit {per_tenant})"
        return replace(msg, hold_reason=reason)
    return msg
