"""Agents writing on a ticket: public replies the client is sent, and internal notes."""

from __future__ import annotations

from pydantic import Field

from helpdesk.enums import Visibility
from helpdesk.services.messages import add_internal_note, add_public_reply
from helpdesk.services.ticket_access import get_ticket
from web.api.blueprint import api
from web.api.core import Audience, Context
from web.api.endpoints.tickets import request_source
from web.api.present import present_messages
from web.api.schemas import Strict
from web.api.shapes import MessageOut


class MessageIn(Strict):
    body: str = Field(min_length=1, description="Plain text")
    visibility: Visibility = Field(
        description="public: a reply the client is sent; internal: a note only staff see"
    )


@api.endpoint(
    "POST", "/tickets/<int:number>/messages", audience=Audience.STAFF,
    summary="Reply or add a note", tag="messages", body=MessageIn, response=MessageOut,
    status=201,
)  # fmt: skip
def post_ticket_message(ctx: Context, number: int, body: MessageIn) -> MessageOut:
    """Add a public reply (sent to the requester and participants) or an internal note.

    A public reply on an open or in-progress ticket moves it to
    waiting_on_client, and the first one stamps `first_response_at`. Light
    agents may only add internal notes (403 for a public reply). Files are
    attached afterwards, to the message this returns.
    """
    ticket = get_ticket(ctx.session, ctx.staff, ctx.tenant_id, number)
    write = add_public_reply if body.visibility is Visibility.PUBLIC else add_internal_note
    message = write(ctx.session, ctx.staff, ticket.id, body.body, source=request_source(),
                    now=ctx.now)  # fmt: skip
    return present_messages(ctx.session, [message])[0]
