"""The pipeline as data: the steps in order, and the record of what they decided.

    parse ─► route (one copy per tenant) ─► sender ─► trust ─► classify ─► quotes
          ─► sanitize ─► attachments ─► thread ─► limits ─► secrets
          ─► helpdesk.services.inbound_mail

Parsing and routing happen before the steps (routing may split a message in
two); the steps then run top to bottom on each copy. A step that sets
`drop_reason` ends the run: dropping is a value, not an exception.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from helpdesk.filetypes import FileRules
from helpdesk.reply_tokens import ReplyTokens
from mailgate.inbound import InboundMessage
from mailgate.ports import IntakeCounts, ThreadIndex
from mailgate.steps.attachments import check_attachments
from mailgate.steps.classify import classify
from mailgate.steps.limits import check_intake_limits
from mailgate.steps.quotes import strip_quotes
from mailgate.steps.sanitize import sanitize_html
from mailgate.steps.secrets import mask_secrets
from mailgate.steps.sender import require_sender
from mailgate.steps.thread import find_thread
from mailgate.steps.trust import strip_untrusted_headers

Step = Callable[[InboundMessage], InboundMessage]
# How much of the visible text a decision record keeps: enough to recognise it.
_PREVIEW_CHARS = 300


@dataclass(frozen=True)
class TenantPorts:
    """What the steps may ask about one tenant, and that tenant's limits."""

    index: ThreadIndex
    counts: IntakeCounts
    file_rules: FileRules
    per_sender_per_hour: int
    per_tenant_per_hour: int


def build_steps(
    ports: TenantPorts,
    *,
    tokens: ReplyTokens,
    authserv_id: str | None,
    max_message_bytes: int,
    now: datetime,
) -> tuple[Step, ...]:
    """Return the steps for one tenant's copy of a message, in order."""
    return (
        require_sender,
        partial(strip_untrusted_headers, authserv_id=authserv_id, tokens=tokens),
        partial(classify, tokens=tokens),
        strip_quotes,
        sanitize_html,
        partial(check_attachments, rules=ports.file_rules, max_message_bytes=max_message_bytes),
        partial(find_thread, index=ports.index, tokens=tokens),
        partial(
            check_intake_limits,
            counts=ports.counts,
            per_sender=ports.per_sender_per_hour,
            per_tenant=ports.per_tenant_per_hour,
            now=now,
        ),
        mask_secrets,
    )


def run_steps(msg: InboundMessage, steps: Iterable[Step]) -> InboundMessage:
    """Pass the message through each step until one drops it."""
    for step in steps:
        if msg.drop_reason is not None:
            break
        msg = step(msg)
    return msg


def decision_record(msg: InboundMessage) -> dict[str, Any]:
    """Return what the steps decided and why, as JSON-ready data (stored and explained)."""
    route, thread = msg.route, msg.thread
    return {
        "route": None
        if route is None
        else {
            "tenant_id": route.tenant_id,
            "mailbox_id": route.mailbox_id,
            "mailbox_ids": list(route.mailbox_ids),
            "via": route.via,
        },
        "untrusted_headers_removed": list(msg.untrusted_headers_removed),
        "dmarc_pass_domain": msg.dmarc_pass_domain,
        "kind": msg.kind.value,
        "kind_evidence": msg.kind_evidence,
        "thread": None
        if thread is None
        else {
            "rule": thread.rule.value,
            "ticket_id": thread.ticket_id,
            "standing": thread.standing.value,
            "evidence": thread.evidence,
        },
        "external_refs": list(msg.external_refs),
        "visible_text": msg.visible_text[:_PREVIEW_CHARS],
        "visible_chars": len(msg.visible_text),
        "full_chars": len(msg.text),
        "attachments_kept": [
            {"filename": p.filename, "type": p.sniffed_type, "size": len(p.data)}
            for p in msg.kept_parts
        ],
        "attachments_blocked": [
            {"filename": b.filename, "reason": b.reason} for b in msg.blocked_parts
        ],
        "masked_secrets": msg.masked_secrets,
        "hold_reason": msg.hold_reason,
        "drop_reason": msg.drop_reason,
        "defects": list(msg.defects),
    }
