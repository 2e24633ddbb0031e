"""Read marks: the calling agent's own "seen" state of a ticket."""

from __future__ import annotations

from helpdesk.services.reads import mark_read, mark_unread
from helpdesk.services.ticket_access import get_ticket
from web.api.blueprint import api
from web.api.core import Audience, Context


@api.endpoint(
    "PUT", "/tickets/<int:number>/read", audience=Audience.STAFF,
    summary="Mark a ticket read", tag="tickets", status=204,
)  # fmt: skip
def put_ticket_read(ctx: Context, number: int) -> None:
    """Note that you have read the ticket as it is now.

    The ticket shows `unread: false` to you until something happens on it.
    """
    ticket = get_ticket(ctx.session, ctx.staff, ctx.tenant_id, number)
    mark_read(ctx.session, ctx.staff, ticket.id, now=ctx.now)


@api.endpoint(
    "DELETE", "/tickets/<int:number>/read", audience=Audience.STAFF,
    summary="Mark a ticket unread", tag="tickets", status=204,
)  # fmt: skip
def delete_ticket_read(ctx: Context, number: int) -> None:
    """Make the ticket show `unread: true` for you again. Only your own mark changes."""
    ticket = get_ticket(ctx.session, ctx.staff, ctx.tenant_id, number)
    mark_unread(ctx.session, ctx.staff, ticket.id, now=ctx.now)
