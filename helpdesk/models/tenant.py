"""Tenants: the wall around each customer's data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.models.base import Base

DEFAULT_TENANT_SETTINGS: dict[str, Any] = {
    "auto_close_days": 7,
    "notify_client_on_reply": True,
    "notify_client_on_status": True,
    "notify_agents_on_new_ticket": True,
    "notify_assignee": True,
    "notify_watchers": True,
    # Attachments: type keys or extensions allowed or blocked on top of the
    # product's lists (helpdesk.filetypes; blocked wins), and the size limit.
    "attachment_allowed": [],
    "attachment_blocked": [],
    "max_attachment_bytes": 20 * 1024 * 1024,
    # Mail that would open more tickets than this in an hour is held for review.
    "max_new_tickets_per_sender_per_hour": 20,
    "max_new_tickets_per_hour": 1000,
}


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    settings: Mapped[dict[str, Any]] = mapped_column(default=lambda: dict(DEFAULT_TENANT_SETTINGS))
    # The last ticket number handed out; incremented under the row's lock.
    last_ticket_number: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]

    def setting(self, key: str) -> Any:
        """Return a tenant setting, falling back to the product default."""
        return self.settings.get(key, DEFAULT_TENANT_SETTINGS.get(key))
