"""Agent endpoints for one ticket: read it and its messages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, tuple_

from helpdesk.enums import Visibility
from helpdesk.models import Message
from helpdesk.policy import is_staff
from helpdesk.services.ticket_access import get_ticket
from web.api.blueprint import api
from web.api.core import Audience, Context, Reply
from web.api.pagination import Cursors
from web.api.present import present_messages, present_ticket
from web.api.schemas import PageQuery
from web.api.shapes import MessagePage, TicketOut


def etag(version: int) -> str:
    return f'"{version}"'


@api.endpoint(
    "GET", "/tickets/<int:number>", audience=Audience.STAFF, summary="A ticket",
    tag="tickets", response=TicketOut,
)  # fmt: skip
def get_one_ticket(ctx: Context, number: int) -> Reply:
    """The ticket with this number; its ETag is the version PATCH expects in If-Match."""
    ticket = get_ticket(ctx.session, ctx.staff, ctx.tenant_id, number)
    shape = present_ticket(ctx.session, ticket, now=ctx.now)
    return Reply(shape, headers={"ETag": etag(ticket.version)})


@api.endpoint(
    "GET", "/tickets/<int:number>/messages", audience=Audience.STAFF,
    summary="A ticket's messages", tag="messages", query=PageQuery, response=MessagePage,
)  # fmt: skip
def list_ticket_messages(ctx: Context, number: int, query: PageQuery) -> MessagePage:
    """Public replies and internal notes, oldest first."""
    ticket = get_ticket(ctx.session, ctx.staff, ctx.tenant_id, number)
    return message_page(ctx, ticket.id, query, public_only=not is_staff(ctx.actor))


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
