"""The values the mail gateway hands the helpdesk: one decided e-mail, and what became of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from helpdesk.enums import (
    MailKind,
    RawMessageState,
    SenderStanding,
    Source,
    ThreadRule,
    Visibility,
)
from helpdesk.services.thread_references import clean_message_id
from helpdesk.services.ticket_access import Draft, MailFacts

MAX_DIAGNOSTIC = 1000


@dataclass(frozen=True)
class IncomingBounce:
    """What a delivery status notification (RFC 3464) says went wrong."""

    # The Message-ID of the mail that could not be delivered, if the report names it.
    original_message_id: str | None
    recipients: tuple[str, ...]  # the final recipients that failed
    status: str  # the enhanced status code, like 5.1.1
    action: str  # failed, delayed, delivered, relayed, expanded
    diagnostic: str
    permanent: bool  # a hard failure: the address should not be mailed again

    @property
    def reason(self) -> str:
        """Return the status code and diagnostic as one line, for people."""
        return " ".join(f"{self.status} {self.diagnostic}".split())[:MAX_DIAGNOSTIC]


@dataclass(frozen=True)
class IncomingFile:
    """An attachment or inline part the pipeline kept."""

    filename: str
    declared_type: str  # what the sender claimed
    sniffed_type: str  # what the bytes are
    data: bytes
    content_id: str | None = None
    inline: bool = False


@dataclass(frozen=True, kw_only=True)
class IncomingMail:
    """One e-mail as the pipeline decided it: where it goes, who sent it, what it says.

    The bodies are already masked and the HTML sanitized; `cc` holds no
    address of the tenant's own mailboxes.
    """

    tenant_id: int
    mailbox_id: int | None
    raw_message_id: int | None
    kind: MailKind = MailKind.NORMAL
    rule: ThreadRule = ThreadRule.NEW
    ticket_id: int | None = None  # the target of every rule but NEW
    standing: SenderStanding = SenderStanding.NEW
    evidence: str = ""
    agent_user_id: int | None = None
    sender_email: str
    sender_name: str = ""
    cc: tuple[str, ...] = ()
    subject: str = ""
    body_text: str = ""  # the visible reply
    body_full_text: str = ""  # everything, quoted history included ("" = body_text)
    body_html: str = ""
    message_id: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    sent_at: datetime | None = None
    files: tuple[IncomingFile, ...] = ()
    blocked: tuple[tuple[str, str], ...] = ()  # (filename, reason)
    masked_secrets: int = 0
    external_refs: tuple[str, ...] = ()
    hold_reason: str | None = None
    bounce: IncomingBounce | None = None

    @property
    def referenced(self) -> tuple[str, ...]:
        """The Message-IDs the mail answers, as its thread references keep them.

        In-Reply-To, then References newest first.
        """
        return (self.in_reply_to or "", *reversed(self.references))


class ReceiveAction(StrEnum):
    """What `receive_mail` did with a message."""

    CREATED = "created"
    APPENDED = "appended"
    FOLLOW_UP = "follow_up"  # a reply to a closed ticket opened a linked one
    HELD = "held"  # on the ticket, internal, until an agent accepts it
    PENDING_PARTICIPANT = "pending_participant"  # held, and the sender waits to be accepted
    AGENT_REPLY = "agent_reply"
    HELD_AGENT_NOTE = "held_agent_note"
    AUTO_REPLY_RECORDED = "auto_reply_recorded"
    BOUNCE_RECORDED = "bounce_recorded"
    IGNORED = "ignored"  # nothing written: a loop, spam, an auto-reply to no ticket
    HELD_FOR_REVIEW = "held_for_review"  # no ticket touched; the raw message waits


@dataclass(frozen=True)
class ReceiveOutcome:
    """The result of `receive_mail`, and why when nothing landed on a ticket."""

    action: ReceiveAction
    ticket_id: int | None = None
    message_id: int | None = None
    reason: str | None = None

    @property
    def raw_state(self) -> RawMessageState:
        """Return the state the stored raw message takes after this outcome."""
        if self.action is ReceiveAction.HELD_FOR_REVIEW:
            return RawMessageState.HELD
        if self.action is ReceiveAction.IGNORED:
            return RawMessageState.IGNORED
        return RawMessageState.PROCESSED


def mail_facts(mail: IncomingMail) -> MailFacts:
    """Return what the gateway knows of the mail, to be written with its message."""
    names = [name for name in map(clean_message_id, mail.references) if name]
    return MailFacts(
        raw_message_id=mail.raw_message_id,
        in_reply_to=clean_message_id(mail.in_reply_to),
        references=" ".join(names) or None,
        thread_rule=mail.rule,
        thread_evidence=mail.evidence or None,
        mail_kind=mail.kind,
        sent_at=_aware(mail.sent_at),
        masked_secrets=mail.masked_secrets,
        blocked_attachments=mail.blocked,
        external_refs=mail.external_refs,
    )


def mail_draft(mail: IncomingMail) -> Draft:
    """Return the mail as an internal message (held, or an auto-reply), its facts with it."""
    return Draft(
        mail.body_text,
        Source.EMAIL,
        body_html=mail.body_html,
        body_full_text=mail.body_full_text or mail.body_text,
        message_id=clean_message_id(mail.message_id),
        visibility=Visibility.INTERNAL,
        mail=mail_facts(mail),
    )


def _aware(moment: datetime | None) -> datetime | None:
    # A Date header with "-0000" parses without a zone: it is UTC (RFC 5322 §3.3).
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
