"""SLA policies and the business calendars their clocks run on."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.enums import Priority
from helpdesk.models.base import Base, str_enum, tenant_fk

# ISO weekday (1 = Monday) → list of [start, end] local times, "HH:MM".
DEFAULT_BUSINESS_HOURS: dict[str, Any] = {str(day): [["09:00", "17:00"]] for day in range(1, 6)}

# CONTRACT §8: first response / resolution, in business minutes.
DEFAULT_SLA_MINUTES = {
    Priority.URGENT: (15, 2 * 60),
    Priority.HIGH: (60, 8 * 60),
    Priority.NORMAL: (4 * 60, 24 * 60),
    Priority.LOW: (24 * 60, 72 * 60),
}


class BusinessCalendar(Base):
    __tablename__ = "business_calendars"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    name: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64))
    hours: Mapped[dict[str, Any]] = mapped_column(default=lambda: dict(DEFAULT_BUSINESS_HOURS))
    # {"YYYY-MM-DD": "name"}: days on which the clock does not run.
    holidays: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (UniqueConstraint("tenant_id", "name"),)


class SlaPolicy(Base):
    __tablename__ = "sla_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    name: Mapped[str] = mapped_column(String(120))
    priority: Mapped[Priority] = mapped_column(str_enum(Priority))
    first_response_minutes: Mapped[int]
    resolution_minutes: Mapped[int]
    calendar_id: Mapped[int | None] = mapped_column(
        ForeignKey("business_calendars.id", ondelete="SET NULL")
    )
    # False: the clock runs around the clock instead of in business hours.
    business_time: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
