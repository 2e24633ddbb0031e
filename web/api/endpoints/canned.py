"""Canned responses for agents: the ones they may use, filled in for a ticket."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from helpdesk.services.canned_rendering import render_for_ticket
from helpdesk.services.canned_responses import list_canned_responses
from helpdesk.services.ticket_access import get_ticket
from web.api.blueprint import api
from web.api.core import Audience, Context
from web.api.endpoints.admin_common import page_of
from web.api.schemas import Page, PageQuery, Strict


class CannedResponseOut(BaseModel):
    id: int
    title: str
    body: str = Field(description="With {{ticket_number}}, {{requester_name}}, {{agent_name}}")
    shared: bool = Field(description="Shared with the tenant, or your own")
    updated_at: datetime


class CannedResponsePage(Page[CannedResponseOut]):
    pass


class RenderIn(Strict):
    ticket: int = Field(ge=1, description="Number of the ticket to fill the response in for")


class RenderOut(BaseModel):
    body: str = Field(description="The text, ready to send or edit")


@api.endpoint(
    "GET", "/canned-responses", audience=Audience.STAFF, summary="Your canned responses",
    tag="canned responses", query=PageQuery, response=CannedResponsePage,
)  # fmt: skip
def list_my_canned_responses(ctx: Context, query: PageQuery) -> CannedResponsePage:
    """The responses you may use, shared and your own, by title."""
    rows = list_canned_responses(ctx.session, ctx.staff, ctx.tenant_id)
    page, next_cursor = page_of(ctx, f"canned:{ctx.staff.user_id}", rows, query)
    items = [
        CannedResponseOut(id=r.id, title=r.title, body=r.body,
                          shared=r.owner_user_id is None, updated_at=r.updated_at)
        for r in page
    ]  # fmt: skip
    return CannedResponsePage(items=items, next_cursor=next_cursor)


@api.endpoint(
    "POST", "/canned-responses/<int:response_id>/render", audience=Audience.STAFF,
    summary="Fill a canned response in", tag="canned responses", body=RenderIn,
    response=RenderOut,
)  # fmt: skip
def render_canned(ctx: Context, response_id: int, body: RenderIn) -> RenderOut:
    """The response's text for a ticket: its number, the requester's name and yours filled in.

    Nothing is sent; post the text as a message when it reads right.
    """
    ticket = get_ticket(ctx.session, ctx.staff, ctx.tenant_id, body.ticket)
    text = render_for_ticket(ctx.session, ctx.staff, response_id, ticket.id)
    return RenderOut(body=text)
