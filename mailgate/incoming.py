"""A decided message as the plain values the helpdesk's receive_mail takes."""

from __future__ import annotations

from helpdesk.services.inbound_mail import IncomingBounce, IncomingFile, IncomingMail
from mailgate.inbound import InboundMessage


def to_incoming(msg: InboundMessage, raw_id: int, own_addresses: frozenset[str]) -> IncomingMail:
    """Return the plain values the helpdesk service needs from a decided message."""
    assert msg.route is not None  # noqa: S101
    assert msg.thread is not None  # noqa: S101
    sender = msg.sender_address
    others = [a.address for a in (*msg.to, *msg.cc)]
    cc = tuple(dict.fromkeys(a for a in others if a not in own_addresses and a != sender))
    report = msg.report
    return IncomingMail(
        tenant_id=msg.route.tenant_id,
        mailbox_id=msg.route.mailbox_id,
        raw_message_id=raw_id,
        kind=msg.kind,
        rule=msg.thread.rule,
        ticket_id=msg.thread.ticket_id,
        standing=msg.thread.standing,
        evidence=msg.thread.evidence,
        agent_user_id=msg.thread.agent_user_id,
        sender_email=sender,
        sender_name=msg.sender.name if msg.sender else "",
        cc=cc,
        subject=msg.subject,
        body_text=msg.visible_text or msg.text,
        body_full_text=msg.text,
        body_html=msg.safe_html,
        message_id=msg.message_id,
        in_reply_to=msg.in_reply_to[0] if msg.in_reply_to else None,
        references=msg.references,
        sent_at=msg.date,
        files=tuple(
            IncomingFile(
                p.filename, p.declared_type, p.sniffed_type, p.data, p.content_id, p.inline
            )
            for p in msg.kept_parts
        ),
        blocked=tuple((b.filename, b.reason) for b in msg.blocked_parts),
        masked_secrets=msg.masked_secrets,
        external_refs=msg.external_refs,
        hold_reason=msg.hold_reason,
        bounce=None
        if report is None
        else IncomingBounce(
            report.original_message_id,
            report.recipients,
            report.status,
            report.action,
            report.diagnostic,
            report.permanent,
        ),
    )
