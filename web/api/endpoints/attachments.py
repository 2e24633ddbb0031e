"""Files on a ticket's messages: uploaded by agents, checked by content, downloaded safely."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response

from helpdesk.filetypes import served_type
from helpdesk.services.attachments import read_attachment
from helpdesk.services.ticket_access import get_ticket
from web.api.blueprint import api
from web.api.core import Audience, Context
from web.api.files import attach_from_request
from web.api.shapes import AttachmentOut

# RFC 5987 attr-chars besides letters and digits: everything else is percent-encoded.
_ATTR_CHARS = "!#$&+-.^_`|~"
# A downloaded file must never run as a page of ours, whatever a browser makes of it.
DOWNLOAD_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private, no-cache",
}


@api.endpoint(
    "POST", "/tickets/<int:number>/messages/<int:message_id>/attachments",
    audience=Audience.STAFF, summary="Attach a file", tag="attachments",
    response=AttachmentOut, status=201, upload=True,
)  # fmt: skip
def upload_attachment(ctx: Context, number: int, message_id: int) -> AttachmentOut:
    """Attach a file (multipart/form-data, field `file`) to one of your own messages.

    The file is judged by its bytes, not its name: executables and
    installers are refused even when renamed or zipped, and only the types
    the desk allows pass (422 with the reason). Larger than the desk's
    `max_attachment_bytes`: 413. A refused file leaves the message as it is.
    """
    ticket = get_ticket(ctx.session, ctx.staff, ctx.tenant_id, number)
    return attach_from_request(ctx, ctx.staff, ticket.id, message_id)


@api.endpoint(
    "GET", "/tickets/<int:number>/attachments/<int:attachment_id>", audience=Audience.STAFF,
    summary="Download a file", tag="attachments", download=True,
)  # fmt: skip
def download_attachment(ctx: Context, number: int, attachment_id: int) -> Response:
    """The file's bytes, always as a download (Content-Disposition: attachment).

    Content-Type is the type the bytes really are; HTML, SVG, XML and anything
    else a browser would run are sent as application/octet-stream.
    """
    ticket = get_ticket(ctx.session, ctx.staff, ctx.tenant_id, number)
    attachment, data = read_attachment(
        ctx.session, ctx.staff, ticket.id, attachment_id, store=ctx.store
    )
    return file_response(attachment.filename, attachment.sniffed_type, data)


def file_response(filename: str, sniffed_type: str, data: bytes) -> Response:
    """Answer with a file to save, never to show: safe type, disposition and headers."""
    response = Response(data, content_type=served_type(sniffed_type))
    response.headers["Content-Disposition"] = content_disposition(filename)
    response.headers.update(DOWNLOAD_HEADERS)
    return response


def content_disposition(filename: str) -> str:
    """Return `attachment` with an ASCII fallback name and the real one (RFC 6266, RFC 5987)."""
    fallback = "".join(
        ch if ch.isascii() and ch.isprintable() and ch not in '"\\;' else "_" for ch in filename
    )
    encoded = quote(filename, safe=_ATTR_CHARS)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
