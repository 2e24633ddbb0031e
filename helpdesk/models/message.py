"""Messages on a ticket and their attachments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.enums import AuthorType, DeliveryState, Source, Visibility
from helpdesk.models.base import Base, JSONDoc, str_enum, tenant_fk

# The columns added to a filled table (migration 0004) carry their default in
# the database too, so that adding them needs no copy of the table on SQLite.
_NO_SECRETS = text("0")
_EMPTY_LIST = text("'[]'")


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    author_type: Mapped[AuthorType] = mapped_column(str_enum(AuthorType))
    author_contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL")
    )
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    visibility: Mapped[Visibility] = mapped_column(str_enum(Visibility))
    # The visible reply, without quoted history; what lists and notifications show.
    body_text: Mapped[str] = mapped_column(Text, default="")
    # The whole text as written, quoted history included.
    body_full_text: Mapped[str] = mapped_column(Text, default="")
    # Sanitized HTML, safe to render; empty for plain-text messages.
    body_html: Mapped[str] = mapped_column(Text, default="")
    # RFC 5322 identifiers, without angle brackets.
    message_id: Mapped[str | None] = mapped_column(String(998))
    in_reply_to: Mapped[str | None] = mapped_column(String(998))
    references: Mapped[str | None] = mapped_column(Text)
    source: Mapped[Source] = mapped_column(str_enum(Source))
    # For outbound copies: where delivery stands.
    delivery_state: Mapped[DeliveryState | None] = mapped_column(str_enum(DeliveryState))
    raw_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("raw_messages.id", ondelete="SET NULL")
    )
    # How the inbound pipeline threaded it: token, header, subject_tag, new.
    thread_rule: Mapped[str | None] = mapped_column(String(32))
    # What made that rule match (the token's recipient, the header and its id, ...).
    thread_evidence: Mapped[str | None] = mapped_column(Text)
    # For mail: normal, auto_reply, bounce or spam.
    mail_kind: Mapped[str | None] = mapped_column(String(16))
    # Set while a message waits for an agent to accept it (a stranger's mail,
    # an agent's address without proof); such a message stays internal.
    hold_reason: Mapped[str | None] = mapped_column(String(300))
    # How many secrets (keys, passwords, card numbers) were masked in the bodies.
    masked_secrets: Mapped[int] = mapped_column(default=0, server_default=_NO_SECRETS)
    # Files not stored, as [{"filename": ..., "reason": ...}].
    blocked_attachments: Mapped[list[dict[str, str]]] = mapped_column(
        JSONDoc, default=list, server_default=_EMPTY_LIST
    )
    # Other systems' ticket tags and keys named in the mail ("[#123]", "PROJ-42").
    external_refs: Mapped[list[str]] = mapped_column(
        JSONDoc, default=list, server_default=_EMPTY_LIST
    )
    # When the sender says they sent it (the Date header).
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime]

    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="message", order_by="Attachment.id", lazy="selectin"
    )

    __table_args__ = (
        Index("ix_messages_ticket", "ticket_id", "created_at", "id"),
        Index("ix_messages_tenant_message_id", "tenant_id", "message_id"),
    )

    @property
    def is_public(self) -> bool:
        return self.visibility is Visibility.PUBLIC


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    # What the sender claimed, and what the bytes really are.
    declared_type: Mapped[str] = mapped_column(String(255))
    sniffed_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(500))
    # For inline images referenced as cid: in the HTML body.
    content_id: Mapped[str | None] = mapped_column(String(998))
    inline: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]

    message: Mapped[Message | None] = relationship(back_populates="attachments")

    __table_args__ = (
        Index("ix_attachments_ticket", "ticket_id"),
        Index("ix_attachments_message", "message_id"),
    )
