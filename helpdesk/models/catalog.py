"""Tenant-defined vocabularies: categories, custom field definitions, canned responses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.enums import CustomFieldType
from helpdesk.models.base import Base, str_enum, tenant_fk

DEFAULT_CATEGORIES = (
    ("support", "Support"),
    ("work_order", "Work order"),
    ("billing", "Billing"),
    ("bug", "Bug"),
    ("feature_request", "Feature request"),
)


class Category(Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    key: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (UniqueConstraint("tenant_id", "key"),)


class CustomFieldDefinition(Base):
    """A typed ticket field the tenant defines; values live on the ticket."""

    __tablename__ = "custom_field_definitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    key: Mapped[str] = mapped_column(String(63))
    label: Mapped[str] = mapped_column(String(120))
    type: Mapped[CustomFieldType] = mapped_column(str_enum(CustomFieldType))
    # For `select`: the allowed values.
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    required: Mapped[bool] = mapped_column(default=False)
    # Whether clients see and fill it in the portal.
    visible_to_clients: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (UniqueConstraint("tenant_id", "key"),)


class CannedResponse(Base):
    __tablename__ = "canned_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # None: shared with the whole tenant; otherwise one agent's own.
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("tenant_id", "title", "owner_user_id"),)
