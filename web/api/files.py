"""Uploaded files: read from a multipart request within the desk's limit, and attached."""

from __future__ import annotations

from flask import request

from helpdesk.principal import Principal
from helpdesk.services.uploads import attach_upload, file_rules
from web.api.core import Context, RequestInvalid
from web.api.present import present_attachment
from web.api.shapes import AttachmentOut


def read_upload(ctx: Context) -> tuple[str, bytes, str]:
    """Return the uploaded file's name, bytes and declared type, reading no more than the limit.

    Raises:
        RequestInvalid: no file sent (400), or more bytes than the desk accepts (413).
    """
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise RequestInvalid(400, "bad_request", "send the file as multipart/form-data field file")
    limit = file_rules(ctx.session, ctx.tenant_id).max_bytes
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise RequestInvalid(413, "too_large", f"the file is larger than {limit} bytes")
    return upload.filename, data, upload.mimetype or "application/octet-stream"


def attach_from_request(
    ctx: Context, actor: Principal, ticket_id: int, message_id: int
) -> AttachmentOut:
    """Attach the request's file to the actor's own message and return its shape.

    Raises:
        RequestInvalid: as `read_upload`.
    """
    filename, data, declared = read_upload(ctx)
    attachment = attach_upload(
        ctx.session, actor, ticket_id, message_id, filename=filename, data=data,
        declared_type=declared, store=ctx.store, now=ctx.now,
    )  # fmt: skip
    return present_attachment(attachment)
