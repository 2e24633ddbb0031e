"""Portal endpoints for one of the client's tickets: open, read, reply, resolve, rate.

Clients see public messages only. Every read here goes through a query that
filters internal notes out in SQL (`message_page(public_only=True)`), and the
ticket shape is built `for_client`, without tags or staff-only fields.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from helpdesk.enums import Source
from helpdesk.models import Contact, Ticket
from helpdesk.services.messages import add_client_reply
from helpdesk.services.ticket_access import get_ticket
from helpdesk.services.tickets import create_ticket, rate_ticket, resolve_ticket_as_client
from web.api.blueprint import api
from web.api.core import Audience, Context
from web.api.endpoints.tickets import message_page
from web.api.present import present_messages, present_ticket
from web.api.schemas import PageQuery, Strict
from web.api.shapes import MessageOut, MessagePage, TicketOut

TAG = "portal: tickets"


class PortalTicketIn(Strict):
    subject: str = Field(min_length=1, max_length=998)
    body: str = Field(min_length=1, max_length=100_000, description="Plain text")
    category: str | None = Field(default=None, description="Key of an active category")
    custom_fields: dict[str, Any] = Field(
        default_factory=dict, description="Values of the fields shown to clients, by key"
    )


class PortalReplyIn(Strict):
    body: str = Field(min_length=1, max_length=100_000, description="Plain text")


class PortalReplyOut(MessageOut):
    ticket_number: int = Field(
        description="The ticket the reply landed on: a reply to a closed ticket opens a "
        "follow-up ticket, and lands there"
    )


class RatingIn(Strict):
    rating: int = Field(ge=1, le=5, description="1 (bad) to 5 (great)")
    comment: str = Field(default="", max_length=5000)


@api.endpoint(
    "POST", "/portal/tickets", audience=Audience.CLIENT, summary="Open a ticket", tag=TAG,
    body=PortalTicketIn, response=TicketOut, status=201,
)  # fmt: skip
def open_portal_ticket(ctx: Context, body: PortalTicketIn) -> TicketOut:
    """A new ticket with the caller as requester."""
    contact = ctx.session.get_one(Contact, ctx.client.contact_id)
    ticket = create_ticket(
        ctx.session, ctx.client, ctx.tenant_id, subject=body.subject, body=body.body,
        requester_email=contact.primary_email, source=Source.PORTAL, category=body.category,
        custom_fields=body.custom_fields, now=ctx.now,
    )  # fmt: skip
    return present_ticket(ctx.session, ticket, now=ctx.now, for_client=True)


@api.endpoint(
    "GET", "/portal/tickets/<int:number>", audience=Audience.CLIENT, summary="One of my tickets",
    tag=TAG, response=TicketOut,
)  # fmt: skip
def get_portal_ticket(ctx: Context, number: int) -> TicketOut:
    """A ticket the caller requested, takes part in, or sees through their organization."""
    ticket = get_ticket(ctx.session, ctx.client, ctx.tenant_id, number)
    return present_ticket(ctx.session, ticket, now=ctx.now, for_client=True)


@api.endpoint(
    "GET", "/portal/tickets/<int:number>/messages", audience=Audience.CLIENT,
    summary="The messages of one of my tickets", tag=TAG, query=PageQuery, response=MessagePage,
)  # fmt: skip
def list_portal_messages(ctx: Context, number: int, query: PageQuery) -> MessagePage:
    """The conversation, oldest first: public messages only."""
    ticket = get_ticket(ctx.session, ctx.client, ctx.tenant_id, number)
    return message_page(ctx, ticket.id, query, public_only=True)


@api.endpoint(
    "POST", "/portal/tickets/<int:number>/messages", audience=Audience.CLIENT,
    summary="Reply on one of my tickets", tag=TAG, body=PortalReplyIn, response=PortalReplyOut,
    status=201,
)  # fmt: skip
def reply_on_portal_ticket(ctx: Context, number: int, body: PortalReplyIn) -> PortalReplyOut:
    """Reopens a resolved ticket. A closed ticket stays closed: the reply opens a follow-up
    ticket, whose number `ticket_number` gives."""
    ticket = get_ticket(ctx.session, ctx.client, ctx.tenant_id, number)
    message = add_client_reply(ctx.session, ctx.client, ticket.id, body.body, now=ctx.now)
    landed = ctx.session.get_one(Ticket, message.ticket_id)
    shape = present_messages(ctx.session, [message])[0]
    return PortalReplyOut(**shape.model_dump(), ticket_number=landed.number)


@api.endpoint(
    "POST", "/portal/tickets/<int:number>/resolve", audience=Audience.CLIENT,
    summary="Mark one of my tickets resolved", tag=TAG, response=TicketOut,
)  # fmt: skip
def resolve_portal_ticket(ctx: Context, number: int) -> TicketOut:
    """The client's problem is solved; resolving again changes nothing. 409 once closed."""
    ticket = get_ticket(ctx.session, ctx.client, ctx.tenant_id, number)
    ticket = resolve_ticket_as_client(ctx.session, ctx.client, ticket.id, now=ctx.now)
    return present_ticket(ctx.session, ticket, now=ctx.now, for_client=True)


@api.endpoint(
    "POST", "/portal/tickets/<int:number>/rating", audience=Audience.CLIENT,
    summary="Rate a resolved ticket", tag=TAG, body=RatingIn, response=TicketOut,
)  # fmt: skip
def rate_portal_ticket(ctx: Context, number: int, body: RatingIn) -> TicketOut:
    """The requester's satisfaction, once the ticket is resolved or closed (409 before);
    rating again replaces the earlier rating."""
    ticket = get_ticket(ctx.session, ctx.client, ctx.tenant_id, number)
    ticket = rate_ticket(ctx.session, ctx.client, ticket.id, body.rating, body.comment, now=ctx.now)
    return present_ticket(ctx.session, ticket, now=ctx.now, for_client=True)
