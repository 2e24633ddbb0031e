"""The value passed from step to step of the inbound pipeline: one e-mail and its decisions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# The pipeline's decisions, in the words the helpdesk's services take them in.
from helpdesk.enums import MailKind as MailKind
from helpdesk.enums import SenderStanding as SenderStanding
from helpdesk.enums import ThreadRule as ThreadRule


@dataclass(frozen=True)
class Address:
    """A mailbox from a header: the address lower-cased, and the display name."""

    address: str
    name: str = ""


@dataclass(frozen=True)
class Part:
    """An attachment or an inline part (an image the HTML shows by cid:)."""

    filename: str
    declared_type: str
    data: bytes
    content_id: str | None = None
    inline: bool = False
    # What the bytes really are, by libmagic; set by the attachments step.
    sniffed_type: str = ""


@dataclass(frozen=True)
class DeliveryReport:
    """What a bounce (an RFC 3464 delivery status notification) says went wrong."""

    # The Message-ID of the mail that could not be delivered, if the report names it.
    original_message_id: str | None
    # The final recipients that failed, lower-cased.
    recipients: tuple[str, ...]
    action: str  # failed, delayed, delivered, relayed, expanded
    status: str  # the enhanced status code, like 5.1.1
    diagnostic: str = ""

    @property
    def permanent(self) -> bool:
        """Tell whether the failure is hard (5.x.x): the address should not be mailed again."""
        return self.action == "failed" and self.status.startswith("5")


@dataclass(frozen=True)
class Route:
    """The tenant and mailbox a message is for, and how that was found."""

    tenant_id: int
    # None only for imported mail that names none of the tenant's mailboxes.
    mailbox_id: int | None
    # Every mailbox of the tenant the message was sent to (one ticket for all).
    mailbox_ids: tuple[int, ...]
    # The `local+TOKEN@domain` parts of the recipients that named a mailbox.
    recipient_tags: tuple[str, ...] = ()
    # Which field found it: "envelope", "delivered-to", "x-original-to", "to",
    # "cc", or "tenant" when the caller named the tenant (import, explain).
    via: str = "envelope"


@dataclass(frozen=True)
class ThreadMatch:
    """Where a message goes: an existing ticket by a rule, or a new one; and why."""

    rule: ThreadRule
    ticket_id: int | None
    standing: SenderStanding
    evidence: str
    # Set when the sender is a staff member of the tenant (proven or not).
    agent_user_id: int | None = None


@dataclass(frozen=True)
class Blocked:
    """An attachment that was not stored, and why; recorded on the message."""

    filename: str
    reason: str


@dataclass(frozen=True)
class Envelope:
    """The transport's envelope; empty for imported files."""

    mail_from: str = ""
    rcpt_tos: tuple[str, ...] = ()
    transport: str = "import"


@dataclass(frozen=True)
class InboundMessage:
    """One e-mail: what parsing found, then what each step decided.

    Parse fills the first group from the raw bytes; each step returns a copy
    with its own fields set (`dataclasses.replace`), so the whole history of
    decisions is in the final value and `helpdesk mail explain` can print it.
    """

    # What the bytes say (mailgate.parse).
    raw_size: int
    sha256: str  # of the raw bytes
    fingerprint: str  # of the content without transport headers; the duplicate key
    headers: tuple[tuple[str, str], ...]  # decoded (RFC 2047), in order, names as written
    message_id: str | None  # without angle brackets
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    sender: Address | None  # From
    reply_to: tuple[Address, ...]
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    subject: str
    date: datetime | None
    text: str  # the whole plain text; from the HTML when the mail has no text part
    html: str  # the HTML as sent, unsanitized; never shown as is
    parts: tuple[Part, ...]
    report: DeliveryReport | None = None
    defects: tuple[str, ...] = ()
    envelope: Envelope = field(default_factory=Envelope)

    # Decisions, in the order the steps make them.
    untrusted_headers_removed: tuple[str, ...] = ()  # trust
    dmarc_pass_domain: str | None = None  # trust: aligned DMARC pass from our authserv-id
    kind: MailKind = MailKind.NORMAL  # classify
    kind_evidence: str = ""
    route: Route | None = None  # route
    thread: ThreadMatch | None = None  # thread
    external_refs: tuple[str, ...] = ()  # thread: other systems' ticket tags and keys
    visible_text: str = ""  # quotes: the reply without quoted history
    safe_html: str = ""  # sanitize: HTML safe to render, remote images off
    masked_secrets: int = 0  # secrets
    kept_parts: tuple[Part, ...] = ()  # attachments: what will be stored
    blocked_parts: tuple[Blocked, ...] = ()
    # Set when the message must not be processed further: why (a value, not an error).
    drop_reason: str | None = None
    # Set when the message is kept but waits for a person (over a limit, unproven sender).
    hold_reason: str | None = None

    def header(self, name: str, default: str = "") -> str:
        """Return the first header of that name (any case), or `default`."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return default

    def header_all(self, name: str) -> list[str]:
        """Return every header of that name (any case), top first."""
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]

    @property
    def sender_address(self) -> str:
        """Return who the message is from: the From address, else the envelope sender."""
        if self.sender is not None and self.sender.address:
            return self.sender.address
        return self.envelope.mail_from.lower()

    @property
    def thread_ids(self) -> tuple[str, ...]:
        """Return the Message-IDs this one answers: In-Reply-To, then References newest first."""
        seen: dict[str, None] = dict.fromkeys(self.in_reply_to)
        seen.update(dict.fromkeys(reversed(self.references)))
        return tuple(seen)


def tenant_of(msg: InboundMessage) -> int:
    """Return the tenant of a routed copy."""
    assert msg.route is not None  # noqa: S101 - route_by_tenant sets it
    return msg.route.tenant_id
