"""Attachment file names: decoded, made safe to show and store, or invented from the type."""

from __future__ import annotations

import mimetypes
import re

from mailgate.charset import decode_header

MAX_FILENAME_CHARS = 200
# Names a mail client would give these parts; a person recognizes them.
_WELL_KNOWN = {
    "application/pkcs7-signature": "smime.p7s",
    "application/x-pkcs7-signature": "smime.p7s",
    "application/pkcs7-mime": "smime.p7m",
    "application/x-pkcs7-mime": "smime.p7m",
    "application/pgp-signature": "signature.asc",
    "application/pgp-encrypted": "pgp-version.txt",
    "text/calendar": "invite.ics",
    "application/ics": "invite.ics",
    "application/ms-tnef": "winmail.dat",
    "application/vnd.ms-tnef": "winmail.dat",
}
_EXTENSIONS = {"image/jpeg": ".jpg", "text/plain": ".txt", "application/octet-stream": ".bin"}
# A private table: the module-level one reads /etc/mime.types, which differs per machine.
_TYPES = mimetypes.MimeTypes()
for _type, _extension in (
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"),
    ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"),
    ("application/vnd.openxmlformats-officedocument.presentationml.presentation", ".pptx"),
    ("image/webp", ".webp"),
    ("text/calendar", ".ics"),
):
    _TYPES.add_type(_type, _extension)
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]+")


def clean_filename(name: str) -> str:
    """Return a file name without encoded words, directories or control characters."""
    name = decode_header(name)
    name = _UNSAFE.split(name)[-1] if name else ""
    name = " ".join(name.split()).strip(". ")
    if len(name) <= MAX_FILENAME_CHARS:
        return name
    stem, dot, extension = name.rpartition(".")
    if dot and 0 < len(extension) <= 16:
        return stem[: MAX_FILENAME_CHARS - len(extension) - 1] + "." + extension
    return name[:MAX_FILENAME_CHARS]


def invent_filename(content_type: str, number: int) -> str:
    """Return the name a part without one gets: a well-known name, or attachment-N.ext."""
    if content_type in _WELL_KNOWN:
        return _WELL_KNOWN[content_type]
    extension = _EXTENSIONS.get(content_type) or _TYPES.guess_extension(content_type)
    if not extension:
        extension = ".txt" if content_type.startswith("text/") else ".bin"
    return f"attachment-{number}{extension}"


def type_for_filename(filename: str) -> str:
    """Return the content type a file name suggests, for parts that declare none."""
    return _TYPES.guess_type(filename)[0] or "application/octet-stream"
