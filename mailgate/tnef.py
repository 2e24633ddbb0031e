"""The files and body inside an Outlook winmail.dat (TNEF) attachment."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tnefparse import TNEF

from mailgate.charset import decode_text
from mailgate.filenames import clean_filename, type_for_filename
from mailgate.inbound import Part

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TnefContent:
    """What a winmail.dat held: its attachments, and the body Outlook wrote into it."""

    parts: tuple[Part, ...]
    text: str = ""
    html: str = ""


def unpack_tnef(data: bytes) -> TnefContent | None:
    """Return the attachments and body of a TNEF blob, or None when it cannot be read."""
    try:
        tnef = TNEF(data, do_checksum=False)
    # tnefparse indexes the hostile bytes directly and fails in many ways
    # (IndexError, struct.error, ValueError, UnboundLocalError, ...); any of
    # them means only that the blob cannot be unpacked, so it is kept whole.
    except Exception:
        log.info("winmail.dat could not be unpacked", exc_info=True)
        return None
    parts = tuple(_part(attachment, number) for number, attachment in enumerate(tnef.attachments))
    content = TnefContent(
        parts=tuple(part for part in parts if part.data),
        text=_body(tnef.body),
        html=_body(tnef.htmlbody),
    )
    # A blob with nothing we can read (only a compressed RTF body, say) is
    # better kept whole for a person than dropped.
    if not (content.parts or content.text.strip() or content.html.strip()):
        return None
    return content


def _part(attachment: object, number: int) -> Part:
    name = _name(attachment)
    filename = clean_filename(name) or f"attachment-{number + 1}.bin"
    data = getattr(attachment, "data", b"")
    return Part(
        filename=filename,
        declared_type=type_for_filename(filename),
        data=data if isinstance(data, bytes) else b"",
    )


def _name(attachment: object) -> str:
    try:
        name = attachment.long_filename()  # type: ignore[attr-defined]
    # tnefparse decodes the title as UTF-8, but Outlook writes it in the
    # message's OEM code page (cp1252 in the West); read the bytes ourselves.
    except UnicodeDecodeError:
        name = getattr(attachment, "_name", b"")
    except (UnicodeError, AttributeError, ValueError):
        return ""
    if isinstance(name, bytes):
        return decode_text(name.rstrip(b"\x00"), None)[0]
    return name if isinstance(name, str) else ""


def _body(value: object) -> str:
    if isinstance(value, bytes):
        value = decode_text(value.rstrip(b"\x00"), None)[0]
    return value.replace("\r\n", "\n").replace("\x00", "") if isinstance(value, str) else ""
