"""Inbound mail: every accepted message, the Message-IDs that thread mail, automatic answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.enums import RawMessageState
from helpdesk.models.base import Base, email_column, str_enum, tenant_fk


class RawMessage(Base):
    """An accepted e-mail as received; the bytes live in blob storage."""

    __tablename__ = "raw_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unknown when no mailbox could be found for the message (it is quarantined).
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    mailbox_id: Mapped[int | None] = mapped_column(ForeignKey("mailboxes.id", ondelete="SET NULL"))
    # The Message-ID header without angle brackets. Not unique: a different
    # message that reuses a Message-ID must still be kept.
    message_id: Mapped[str | None] = mapped_column(String(998))
    # The duplicate key: a hash of the content without transport headers, so the
    # same message delivered twice (or by two routes) is stored once per tenant.
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[RawMessageState] = mapped_column(
        str_enum(RawMessageState), default=RawMessageState.RECEIVED
    )
    reason: Mapped[str | None] = mapped_column(Text)
    # The pipeline's explanation: route, class, thread rule and evidence, what
    # was kept, blocked and masked (what `helpdesk mail explain` prints).
    decision: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The ticket the message landed on, if any.
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    storage_key: Mapped[str] = mapped_column(String(500))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    # How it came in: smtp, lmtp, imap, http, import.
    transport: Mapped[str] = mapped_column(String(16))
    envelope_from: Mapped[str | None] = mapped_column(String(998))
    envelope_to: Mapped[dict[str, Any]] = mapped_column(default=dict)
    attempts: Mapped[int] = mapped_column(default=0)
    received_at: Mapped[datetime]
    processed_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("tenant_id", "fingerprint"),
        Index("ix_raw_messages_state", "state", "id"),
        # The admins' lists: one tenant's held or quarantined mail, newest first.
        Index("ix_raw_messages_tenant_state", "tenant_id", "state", "id"),
    )


class ThreadReference(Base):
    """A Message-ID a tenant knows, and the ticket its mail belongs to.

    `seen` is True when the message itself arrived or we sent it, False when
    only another message's In-Reply-To or References named it. An unseen row
    lets a reply that came first open the ticket its original later joins.
    """

    __tablename__ = "thread_references"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    # Without angle brackets.
    message_id: Mapped[str] = mapped_column(String(998))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    seen: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("tenant_id", "message_id"),
        Index("ix_thread_references_ticket", "ticket_id"),
    )


class AutoAnswer(Base):
    """An automatic answer we sent, counted to keep them rare (RFC 3834 §2)."""

    __tablename__ = "auto_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    recipient: Mapped[str] = email_column()
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    sent_at: Mapped[datetime]

    __table_args__ = (Index("ix_auto_answers_recipient", "tenant_id", "recipient", "sent_at"),)
