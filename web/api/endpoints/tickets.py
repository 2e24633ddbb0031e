"""Agent endpoints for one ticket: open it, read it, change it, its messages and its history."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from flask import request
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select, tuple_

from helpdesk.enums import Priority, Source, Status, Visibility
from helpdesk.models import Message, Ticket, TicketEvent
from helpdesk.services.ticket_access import get_ticket
from helpdesk.services.ticket_patch import TicketPatch, update_ticket
from helpdesk.services.tickets import create_ticket
from web.api.blueprint import PREFIX, api
from web.api.core import Audience, Context, Reply, RequestInvalid
from web.api.endpoints.admin_common import changes, optional
from web.api.pagination import Cursors
from web.api.present import present_events, present_messages, present_ticket
from web.api.schemas import PageQuery, Strict
from web.api.shapes import EventPage, MessagePage, TicketOut

_IF_MATCH = re.compile(r'\s*(?:W/)?"(\d{1,18})"\s*')


class TicketIn(Strict):
    subject: str = Field(min_length=1, max_length=998, description="One line")
    body: str = Field(min_length=1, description="The first message, public, as plain text")
    requester_email: str = Field(max_length=320, description="Found or added as a contact")
    requester_name: str = Field(default="", max_length=200, description="For a new contact")
    priority: Priority | None = Field(default=None, description="Default: normal")
    category: str | None = Field(default=None, description="An active category's key")
    tags: list[str] = Field(default_factory=list, max_length=50)
    custom_fields: dict[str, Any] = Field(
        default_factory=dict, description="Values by custom field key; required fields must be set"
    )
    cc: list[str] = Field(
        default_factory=list, max_length=50, description="Addresses that become participants"
    )


class TicketPatchIn(Strict):
    """Only the fields sent change; `null` is allowed where it means "none"."""

    # The document says what the validator below enforces: an empty change is an error.
    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    status: Status = optional("Move the ticket (closed is final)")
    priority: Priority = optional("The new priority")
    category: str | None = Field(default=None, description="A category key; null clears it")
    assignee_id: int | None = Field(default=None, description="An agent's user id; null unassigns")
    team_id: int | None = Field(default=None, description="A team's id; null clears it")
    subject: str = optional("One line", min_length=1, max_length=998)
    tags: list[str] = optional("Replaces all tags", max_length=50)
    custom_fields: dict[str, Any] = optional("Values by key; null clears one, others stay")

    @model_validator(mode="after")
    def _not_empty(self) -> TicketPatchIn:
        if not self.model_fields_set:
            raise ValueError("send at least one field to change")
        return self


def etag(version: int) -> str:
    return f'"{version}"'


def request_source() -> Source:
    """Name where a write comes from: an integration's bearer token, or the console's session."""
    return Source.API if "Authorization" in request.headers else Source.CONSOLE


def ticket_reply(ctx: Context, ticket: Ticket, status: int = 200) -> Reply:
    """The ticket in the agent's shape, with its version as ETag."""
    shape = present_ticket(ctx.session, ticket, now=ctx.now, reader_id=ctx.staff.user_id)
    headers = {"ETag": etag(ticket.version)}
    if status == 201:
        headers["Location"] = f"{PREFIX}/tickets/{ticket.number}"
    return Reply(shape, status=status, headers=headers)


@api.endpoint(
    "POST", "/tickets", audience=Audience.STAFF, summary="Open a ticket", tag="tickets",
    body=TicketIn, response=TicketOut, status=201,
)  # fmt: skip
def create_one_ticket(ctx: Context, body: TicketIn) -> Reply:
    """Open a ticket on a requester's behalf; the body is its first public message.

    The requester is found by address or added as a contact. The ticket's
    source is `api` for a bearer token and `console` for the web session.
    """
    values = body.model_dump(exclude={"tags", "cc"})
    ticket = create_ticket(
        ctx.session, ctx.staff, ctx.tenant_id, **values, tags=body.tags, cc=body.cc,
        source=request_source(), now=ctx.now,
    )  # fmt: skip
    return ticket_reply(ctx, ticket, status=201)


@api.endpoint(
    "GET", "/tickets/<int:number>", audience=Audience.STAFF, summary="A ticket",
    tag="tickets", response=TicketOut,
)  # fmt: skip
def get_one_ticket(ctx: Context, number: int) -> Reply:
    """The ticket with this number; its ETag is the version PATCH expects in If-Match."""
    return ticket_reply(ctx, get_ticket(ctx.session, ctx.staff, ctx.tenant_id, number))


@api.endpoint(
    "PATCH", "/tickets/<int:number>", audience=Audience.STAFF, summary="Change a ticket",
    tag="tickets", body=TicketPatchIn, response=TicketOut,
)  # fmt: skip
def patch_ticket(ctx: Context, number: int, body: TicketPatchIn) -> Reply:
    """Change any of the fields sent, all or none.

    Send the ETag of your last read as `If-Match: "VERSION"`: if someone
    changed the ticket since, nothing changes and the answer is 409. Without
    If-Match the last writer wins, except against a write that is still
    running, which also gives 409. The answer carries the new ETag.
    """
    ticket = get_ticket(ctx.session, ctx.staff, ctx.tenant_id, number)
    patch = ticket_patch(body)
    update_ticket(
        ctx.session, ctx.staff, ticket.id, patch, expected_version=if_match_version(), now=ctx.now
    )
    return ticket_reply(ctx, ticket)


def ticket_patch(body: BaseModel) -> TicketPatch:
    """Turn the fields a caller sent into the service's patch (lists become tuples)."""
    values: dict[str, Any] = {
        name: tuple(value) if isinstance(value, list) else value
        for name, value in changes(body).items()
    }
    return TicketPatch(**values)


def if_match_version() -> int | None:
    """Return the version named by If-Match, None when absent or `*`.

    Raises:
        RequestInvalid: If-Match is not one of our ETags (400).
    """
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    match = _IF_MATCH.fullmatch(header)
    if match is None:
        raise RequestInvalid(400, "bad_request", 'If-Match: send the ETag you read, like "3"')
    return int(match.group(1))


@api.endpoint(
    "GET", "/tickets/<int:number>/messages", audience=Audience.STAFF,
    summary="A ticket's messages", tag="messages", query=PageQuery, response=MessagePage,
)  # fmt: skip
def list_ticket_messages(ctx: Context, number: int, query: PageQuery) -> MessagePage:
    """Public replies and internal notes, oldest first."""
    ticket = get_ticket(ctx.session, ctx.staff, ctx.tenant_id, number)
    return message_page(ctx, ticket.id, query, public_only=False)


def message_page(
    ctx: Context, ticket_id: int, query: PageQuery, *, public_only: bool
) -> MessagePage:
    """One page of a ticket's messages in (created_at, id) order."""
    cursors = Cursors(ctx.settings.secret_key, f"messages:{ticket_id}")
    statement = select(Message).where(Message.ticket_id == ticket_id)
    if public_only:
        statement = statement.where(Message.visibility == Visibility.PUBLIC)
    if query.cursor is not None:
        created, last_id = cursors.decode(query.cursor)
        after = (datetime.fromisoformat(created), int(last_id))
        statement = statement.where(tuple_(Message.created_at, Message.id) > after)
    rows = list(
        ctx.session.scalars(
            statement.order_by(Message.created_at, Message.id).limit(query.limit + 1)
        )
    )
    page, more = rows[: query.limit], len(rows) > query.limit
    next_cursor = None
    if more:
        last = page[-1]
        next_cursor = cursors.encode([last.created_at.isoformat(), last.id])
    return MessagePage(items=present_messages(ctx.session, page), next_cursor=next_cursor)


@api.endpoint(
    "GET", "/tickets/<int:number>/events", audience=Audience.STAFF,
    summary="A ticket's history", tag="tickets", query=PageQuery, response=EventPage,
)  # fmt: skip
def list_ticket_events(ctx: Context, number: int, query: PageQuery) -> EventPage:
    """Every change to the ticket, oldest first: who did what, and when."""
    ticket = get_ticket(ctx.session, ctx.staff, ctx.tenant_id, number)
    cursors = Cursors(ctx.settings.secret_key, f"events:{ticket.id}")
    statement = select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
    if query.cursor is not None:
        statement = statement.where(TicketEvent.id > int(cursors.decode(query.cursor)[0]))
    rows = list(ctx.session.scalars(statement.order_by(TicketEvent.id).limit(query.limit + 1)))
    page = rows[: query.limit]
    more = len(rows) > query.limit
    next_cursor = cursors.encode([page[-1].id]) if more else None
    return EventPage(items=present_events(ctx.session, page), next_cursor=next_cursor)
