"""Tickets and what hangs off them: tags, participants, watchers, links."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.enums import LinkKind, Priority, Source, Status
from helpdesk.models.base import Base, str_enum, tenant_fk


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    # Per tenant, unique and race-free (see services.tickets.next_ticket_number).
    number: Mapped[int]
    subject: Mapped[str] = mapped_column(String(998))
    status: Mapped[Status] = mapped_column(str_enum(Status), default=Status.OPEN)
    priority: Mapped[Priority] = mapped_column(str_enum(Priority), default=Priority.NORMAL)
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id", ondelete="SET NULL")
    )
    source: Mapped[Source] = mapped_column(str_enum(Source))
    requester_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="RESTRICT"))
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL")
    )
    mailbox_id: Mapped[int | None] = mapped_column(ForeignKey("mailboxes.id", ondelete="SET NULL"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    custom_fields: Mapped[dict[str, Any]] = mapped_column(default=dict)

    # SLA clocks; the engine that sets the due times comes with the SLA module.
    sla_policy_id: Mapped[int | None] = mapped_column(
        ForeignKey("sla_policies.id", ondelete="SET NULL")
    )
    first_response_due_at: Mapped[datetime | None]
    resolution_due_at: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # While waiting on the client or on hold the resolution clock stops.
    sla_paused_at: Mapped[datetime | None]
    sla_paused_seconds: Mapped[int] = mapped_column(default=0)

    last_activity_at: Mapped[datetime]
    reopened_count: Mapped[int] = mapped_column(default=0)
    satisfaction_rating: Mapped[int | None]
    satisfaction_comment: Mapped[str | None] = mapped_column(Text)
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL")
    )
    # The incident or problem ticket this one is a symptom of.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    message_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Optimistic locking: a stale edit fails instead of overwriting.
    version: Mapped[int] = mapped_column(default=1)

    tags: Mapped[list[TicketTag]] = relationship(
        cascade="all, delete-orphan", order_by="TicketTag.tag", lazy="selectin"
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        CheckConstraint(
            "satisfaction_rating IS NULL OR satisfaction_rating BETWEEN 1 AND 5",
            name="satisfaction_rating_range",
        ),
        # The console's queries: each ends with the keyset order column.
        Index("ix_tickets_queue", "tenant_id", "status", "priority", "last_activity_at", "id"),
        Index("ix_tickets_assignee", "tenant_id", "assignee_id", "status", "last_activity_at"),
        Index("ix_tickets_requester", "tenant_id", "requester_id", "last_activity_at"),
        Index("ix_tickets_team", "tenant_id", "team_id", "status", "last_activity_at"),
        Index("ix_tickets_activity", "tenant_id", "last_activity_at", "id"),
        Index("ix_tickets_organization", "tenant_id", "organization_id", "last_activity_at"),
        Index("ix_tickets_category", "tenant_id", "category_id", "status"),
        # The other keyset orders of helpdesk.queries.tickets (migration 0003).
        Index("ix_tickets_status_activity", "tenant_id", "status", "last_activity_at", "id"),
        Index("ix_tickets_priority_activity", "tenant_id", "priority", "last_activity_at", "id"),
        Index("ix_tickets_created", "tenant_id", "created_at", "id"),
        Index("ix_tickets_updated", "tenant_id", "updated_at", "id"),
        # The platform admin's list across tenants.
        Index("ix_tickets_platform_activity", "last_activity_at", "id"),
        Index("ix_tickets_first_response_due", "first_response_due_at"),
        Index("ix_tickets_resolution_due", "resolution_due_at"),
        Index("ix_tickets_parent", "parent_id"),
    )

    @property
    def tag_names(self) -> list[str]:
        return [entry.tag for entry in self.tags]

    @property
    def is_open(self) -> bool:
        return self.status not in {Status.RESOLVED, Status.CLOSED}


class TicketTag(Base):
    __tablename__ = "ticket_tags"

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()

    __table_args__ = (Index("ix_ticket_tags_tenant_tag", "tenant_id", "tag", "ticket_id"),)


class TicketParticipant(Base):
    """A contact taking part besides the requester (CC'd, or accepted later).

    A pending participant wrote in without being known to the ticket and waits
    for an agent to accept them; their mail is held, not posted.
    """

    __tablename__ = "ticket_participants"

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    tenant_id: Mapped[int] = tenant_fk()
    pending: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_ticket_participants_contact", "contact_id"),)


class TicketWatcher(Base):
    """An agent who follows a ticket without being its assignee."""

    __tablename__ = "ticket_watchers"

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    tenant_id: Mapped[int] = tenant_fk()
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_ticket_watchers_user", "user_id"),)


class TicketLink(Base):
    """A directed link between two tickets of one tenant (follow-up, related)."""

    __tablename__ = "ticket_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    source_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    target_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    kind: Mapped[LinkKind] = mapped_column(str_enum(LinkKind))
    created_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("source_id", "target_id", "kind"),
        Index("ix_ticket_links_target", "target_id"),
    )
