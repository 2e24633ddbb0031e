"""The read shapes of CONTRACT §6: tickets, messages, attachments and events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from helpdesk.enums import AuthorType, EventKind, Priority, Source, Status, Visibility
from helpdesk.sla_state import SlaState
from web.api.schemas import Page


class PersonRef(BaseModel):
    email: str
    name: str


class AgentRef(BaseModel):
    id: int
    email: str
    name: str


class NamedRef(BaseModel):
    id: int
    name: str


class Sla(BaseModel):
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    state: SlaState


class Satisfaction(BaseModel):
    rating: int = Field(ge=1, le=5)
    comment: str | None


class TicketOut(BaseModel):
    id: int
    number: int
    subject: str
    status: Status
    priority: Priority
    category: str | None = Field(description="The category's key")
    source: Source
    requester: PersonRef
    assignee: AgentRef | None
    team: NamedRef | None
    organization: NamedRef | None
    tags: list[str]
    custom_fields: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    last_activity_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    sla: Sla
    message_count: int = Field(description="Messages the caller can see")
    reopened_count: int
    satisfaction: Satisfaction | None
    merged_into: int | None = Field(description="Number of the ticket this was merged into")
    parent: int | None = Field(description="Number of the incident this ticket belongs to")
    version: int = Field(description="Send as If-Match to PATCH without overwriting others")
    unread: bool | None = Field(
        default=None,
        description="Whether the calling agent has not read the ticket since its last "
        "activity; null where read marks are not kept for the caller",
    )


class Author(BaseModel):
    type: AuthorType
    email: str | None
    name: str


class AttachmentOut(BaseModel):
    id: int
    filename: str
    content_type: str = Field(description="The type the bytes really are")
    size: int


class MessageOut(BaseModel):
    id: int
    author: Author
    visibility: Visibility
    body_text: str = Field(description="The reply without quoted history")
    body_html: str = Field(description="Sanitized HTML; empty for plain-text messages")
    attachments: list[AttachmentOut]
    message_id: str | None = Field(description="The RFC 5322 Message-ID")
    source: Source
    created_at: datetime


class EventOut(BaseModel):
    id: int
    kind: EventKind
    actor: Author
    payload: dict[str, Any]
    created_at: datetime


class TicketPage(Page[TicketOut]):
    pass


class MessagePage(Page[MessageOut]):
    pass


class EventPage(Page[EventOut]):
    pass
