"""The text, HTML and files of a parsed e-mail, read from its MIME tree within bounds."""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass, field, replace
from email.errors import MessageError
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from urllib.parse import unquote

from mailgate.charset import decode_text, raw_header_text
from mailgate.filenames import clean_filename, invent_filename
from mailgate.flowed import unflow
from mailgate.inbound import Part
from mailgate.tnef import unpack_tnef
from mailgate.tolerant import raw_header, raw_payload

MAX_DEPTH = 50
MAX_PARTS = 500
_BODY_TYPES = ("text/plain", "text/html")
_TNEF_TYPES = ("application/ms-tnef", "application/vnd.ms-tnef")
_ATTACHED_MESSAGE_TYPES = ("message/rfc822", "message/global")
# An attached message's name comes from its Subject, somewhere in its first bytes.
MAX_HEADER_SCAN = 256 * 1024
_MIME_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+")
_CID_REFERENCE = re.compile(r"""cid:([^"'\s>)]+)""", re.IGNORECASE)


@dataclass
class Body:
    """What the walk found, in the order a reader meets it."""

    texts: list[str] = field(default_factory=list)
    htmls: list[str] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    # Bodies used only when the mail has none of its own: what Outlook wrote
    # into a winmail.dat, and text files shown inline (old clients send the body so).
    fallback_texts: list[str] = field(default_factory=list)
    fallback_htmls: list[str] = field(default_factory=list)


def read_body(message: Message) -> Body:
    """Walk the MIME tree (at most MAX_DEPTH deep, MAX_PARTS parts) into bodies and files."""
    body = Body()
    stack: list[tuple[Message, int]] = [(message, 0)]
    walked = 0
    while stack:
        node, depth = stack.pop()
        walked += 1
        if walked > MAX_PARTS:
            body.defects.append(f"bounds: more than {MAX_PARTS} MIME parts; the rest was skipped")
            break
        body.defects.extend(f"mime: {type(defect).__name__}" for defect in node.defects)
        content_type = _content_type(node)
        if depth > MAX_DEPTH:
            body.defects.append(f"bounds: MIME parts nested deeper than {MAX_DEPTH} were skipped")
        elif node.is_multipart() and not content_type.startswith("message/"):
            children = [child for child in node.get_payload() if isinstance(child, Message)]
            stack.extend((child, depth + 1) for child in reversed(children))
        else:
            _read_leaf(node, content_type, body)
    body.parts = _mark_inline(body.parts, "\n".join(body.htmls))
    return body


def _read_leaf(node: Message, content_type: str, body: Body) -> None:
    if content_type.startswith("message/"):
        _read_attached_message(node, content_type, body)
        return
    filename = _filename(node)
    if _is_body_text(node, content_type, filename):
        _read_text(node, content_type, body.texts, body.htmls, body)
        return
    if content_type in _BODY_TYPES and node.get_content_disposition() != "attachment":
        _read_text(node, content_type, body.fallback_texts, body.fallback_htmls, body)
    data = payload_bytes(node)
    if content_type in _TNEF_TYPES or filename.lower() == "winmail.dat":
        _read_tnef(data, body)
        return
    filename = filename or invent_filename(content_type, len(body.parts) + 1)
    body.parts.append(Part(filename, content_type, data, _content_id(node)))


def _content_type(node: Message) -> str:
    content_type = node.get_content_type()
    # RFC 2045 §5.1 tokens only: anything else is no type a person or program can use.
    return content_type if _MIME_TYPE.fullmatch(content_type) else "application/octet-stream"


def _is_body_text(node: Message, content_type: str, filename: str) -> bool:
    # A multipart leaf is one whose boundary was missing: its body is all there is to read.
    if content_type.startswith("multipart/"):
        return True
    return (
        content_type in _BODY_TYPES
        and not filename
        and node.get_content_disposition() != "attachment"
    )


def _read_text(
    node: Message, content_type: str, texts: list[str], htmls: list[str], body: Body
) -> None:
    charset = node.get_content_charset()
    text, overridden = decode_text(payload_bytes(node), charset)
    if overridden:
        body.defects.append(f"charset: a {content_type} part said {charset!r}; read as another")
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    if content_type == "text/html":
        htmls.append(text)
        return
    if str(node.get_param("format", "")).lower() == "flowed":
        text = unflow(text, delsp=str(node.get_param("delsp", "")).lower() == "yes")
    texts.append(text)


def _read_attached_message(node: Message, content_type: str, body: Body) -> None:
    # The delivery-status block of a bounce is read by mailgate.dsn, not kept as a file.
    if content_type == "message/delivery-status":
        return
    try:
        data = _message_bytes(node)
    except (RecursionError, LookupError, UnicodeError, ValueError, MessageError):
        body.defects.append(f"mime: an attached {content_type} could not be read back")
        return
    number = len(body.parts) + 1
    if content_type in _ATTACHED_MESSAGE_TYPES:
        declared = _filename(node)
        filename = _with_eml_suffix(declared) if declared else _eml_name(data, number)
    else:
        filename = f"{content_type.partition('/')[2]}-{number}.txt"
    body.parts.append(Part(filename, content_type, data, _content_id(node)))


def _message_bytes(node: Message) -> bytes:
    if node.is_multipart():
        inner = node.get_payload()
        data = b"".join(part.as_bytes() for part in inner if isinstance(part, Message))
    else:
        data = payload_bytes(node)
    # RFC 2046 §5.2.1 forbids encoding an attached message, but some clients do.
    encoding = _transfer_encoding(node)
    if encoding == "base64":
        return binascii.a2b_base64(data)
    if encoding == "quoted-printable":
        return binascii.a2b_qp(data)
    return data


def _eml_name(data: bytes, number: int) -> str:
    headers = BytesHeaderParser(policy=compat32).parsebytes(data[:MAX_HEADER_SCAN])
    subject = raw_header(headers, "subject")
    name = clean_filename(subject.replace("/", "-").replace("\\", "-"))
    return f"{name}.eml" if name else f"message-{number}.eml"


def _with_eml_suffix(filename: str) -> str:
    return filename if filename.lower().endswith(".eml") else filename + ".eml"


def _read_tnef(data: bytes, body: Body) -> None:
    content = unpack_tnef(data)
    if content is None:
        body.defects.append("tnef: winmail.dat could not be unpacked; kept as it is")
        body.parts.append(Part("winmail.dat", "application/ms-tnef", data))
        return
    body.parts.extend(content.parts)
    body.fallback_texts.extend([content.text] if content.text.strip() else [])
    body.fallback_htmls.extend([content.html] if content.html.strip() else [])


def payload_bytes(node: Message) -> bytes:
    """Return a leaf's payload with its transfer encoding undone."""
    if node.is_multipart():
        return b""
    if _transfer_encoding(node) == "base64":
        fast = _base64_payload(node)
        if fast is not None:
            return fast
    data = node.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _base64_payload(node: Message) -> bytes | None:
    # The stdlib splits base64 into lines and joins them again, two more
    # copies of what may be a 25 MiB attachment; binascii skips line breaks.
    payload = raw_payload(node)
    if payload is None:
        return None
    try:
        return binascii.a2b_base64(payload.encode("ascii", "surrogateescape"))
    except (binascii.Error, UnicodeError):
        return None


def _transfer_encoding(node: Message) -> str:
    return str(node.get("content-transfer-encoding", "")).strip().lower()


def _filename(node: Message) -> str:
    name = node.get_filename()
    return clean_filename(name) if name else ""


def _content_id(node: Message) -> str | None:
    return raw_header_text(raw_header(node, "content-id")).strip("<> ") or None


def _mark_inline(parts: list[Part], html: str) -> list[Part]:
    # Only an image the HTML shows by its cid: is inline; any other is a file to download.
    referenced = {unquote(match).lower() for match in _CID_REFERENCE.findall(html)}
    return [
        replace(part, inline=True)
        if part.content_id and part.content_id.lower() in referenced
        else part
        for part in parts
    ]
