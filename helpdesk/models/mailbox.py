"""Mailboxes: the support addresses whose mail belongs to a tenant."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.enums import Priority
from helpdesk.models.base import Base, email_column, str_enum, tenant_fk


class Mailbox(Base):
    __tablename__ = "mailboxes"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    # Unique across all tenants: the recipient address alone routes inbound mail.
    address: Mapped[str] = email_column()
    name: Mapped[str] = mapped_column(String(200), default="")
    signature: Mapped[str] = mapped_column(Text, default="")
    default_category_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id", ondelete="SET NULL")
    )
    default_priority: Mapped[Priority] = mapped_column(str_enum(Priority), default=Priority.NORMAL)
    default_team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    imap_url: Mapped[str | None] = mapped_column(String(500))
    # Fernet token (AES-128-CBC + HMAC-SHA256) under a key derived from the secret key.
    imap_password_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    # A per-mailbox secret for signed HTTP intake, also encrypted at rest.
    intake_secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(default=True)
    # The loop breaker: no automatic answers from this mailbox until then.
    auto_answers_paused_until: Mapped[datetime | None]
    created_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("address"),
        Index("ix_mailboxes_tenant", "tenant_id"),
    )


class MailboxHealth(Base):
    """How fetching a mailbox went last: for the doctor and the admin area."""

    __tablename__ = "mailbox_health"

    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("mailboxes.id", ondelete="CASCADE"), primary_key=True
    )
    tenant_id: Mapped[int] = tenant_fk()
    last_success_at: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    uidvalidity: Mapped[int | None]
    last_uid: Mapped[int | None]
