"""Raw inbound mail: every accepted message, kept until it is a ticket message."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.enums import RawMessageState
from helpdesk.models.base import Base, str_enum


class RawMessage(Base):
    """An accepted e-mail as received; the bytes live in blob storage."""

    __tablename__ = "raw_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unknown until routed when the recipient does not name a mailbox directly.
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    mailbox_id: Mapped[int | None] = mapped_column(ForeignKey("mailboxes.id", ondelete="SET NULL"))
    # The Message-ID header without angle brackets; one stored copy per tenant.
    message_id: Mapped[str | None] = mapped_column(String(998))
    state: Mapped[RawMessageState] = mapped_column(
        str_enum(RawMessageState), default=RawMessageState.RECEIVED
    )
    reason: Mapped[str | None] = mapped_column(Text)
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
        UniqueConstraint("tenant_id", "message_id"),
        Index("ix_raw_messages_state", "state", "id"),
    )
