"""Portal endpoints for files: a client attaches to their messages and downloads public files."""

from __future__ import annotations

from flask import Response

from helpdesk.services.attachments import read_attachment
from helpdesk.services.ticket_access import get_ticket
from web.api.blueprint import api
from web.api.core import Audience, Context
from web.api.endpoints.attachments import file_response
from web.api.files import attach_from_request
from web.api.shapes import AttachmentOut

TAG = "portal: tickets"


@api.endpoint(
    "POST", "/portal/tickets/<int:number>/messages/<int:message_id>/attachments",
    audience=Audience.CLIENT, summary="Attach a file to my message", tag=TAG,
    response=AttachmentOut, status=201, upload=True,
)  # fmt: skip
def upload_portal_attachment(ctx: Context, number: int, message_id: int) -> AttachmentOut:
    """Attach a file (multipart/form-data, field `file`) to one of your own messages, e.g.
    the first message of a ticket you just opened. The file is judged by its bytes: types
    the helpdesk does not accept are refused (422 with the reason); too large a file is 413."""
    ticket = get_ticket(ctx.session, ctx.client, ctx.tenant_id, number)
    return attach_from_request(ctx, ctx.client, ticket.id, message_id)


@api.endpoint(
    "GET", "/portal/tickets/<int:number>/attachments/<int:attachment_id>",
    audience=Audience.CLIENT, summary="Download a file of my ticket", tag=TAG, download=True,
)  # fmt: skip
def download_portal_attachment(ctx: Context, number: int, attachment_id: int) -> Response:
    """A file of a public message, always as a download; files on staff notes do not exist
    here (404)."""
    ticket = get_ticket(ctx.session, ctx.client, ctx.tenant_id, number)
    attachment, data = read_attachment(
        ctx.session, ctx.client, ticket.id, attachment_id, store=ctx.store
    )
    return file_response(attachment.filename, attachment.sniffed_type, data)
