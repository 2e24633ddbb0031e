"""Reading an uploaded file from a multipart request, within the desk's size limit."""

from __future__ import annotations

from flask import request

from helpdesk.services.uploads import file_rules
from web.api.core import Context, RequestInvalid


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
