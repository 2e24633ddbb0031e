"""What a bounce says went wrong: RFC 3464 reports, and the plain-text bounces of Exim and qmail."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32

from mailgate.body import payload_bytes
from mailgate.charset import decode_text, raw_header_text, unescape_bytes
from mailgate.inbound import DeliveryReport
from mailgate.message_ids import first_message_id
from mailgate.tolerant import raw_header, raw_payload

Fields = dict[str, str]

_STATUS_PART_TYPES = ("message/delivery-status", "message/global-delivery-status")
_ORIGINAL_TYPES = ("message/rfc822", "message/global")
_ORIGINAL_HEADER_TYPES = ("text/rfc822-headers", "message/rfc822-headers", "message/global-headers")
_STATUS_CODE = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
_FIELD_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9-]*):[ \t]*(.*)$")
_MESSAGE_ID_LINE = re.compile(r"^[ \t>]*Message-Id:[ \t]*(<[^>\s]+>)", re.IGNORECASE | re.MULTILINE)
_SEVERITY = ("failed", "delayed")
MAX_DIAGNOSTIC_CHARS = 1000


def read_report(message: Message, text: str) -> DeliveryReport | None:
    """Return what a bounce reports, or None when the message is not a bounce.

    `text` is the bounce's own body text; plain-text bounces are read from it.
    """
    report = _report_part(message)
    if report is not None:
        return _structured_report(report, text)
    for bounce in _PLAIN_BOUNCES:
        if bounce.intro in text:
            return bounce.read(text)
    return None


def _report_part(message: Message) -> Message | None:
    # Some gateways wrap the report in a multipart/mixed; look one level down too.
    candidates = [message]
    if message.is_multipart() and message.get_content_type() != "multipart/report":
        candidates += [child for child in message.get_payload() if isinstance(child, Message)]
    for part in candidates:
        if part.get_content_type() != "multipart/report":
            continue
        kind = str(part.get_param("report-type", "") or "").lower()
        if kind == "delivery-status" or _child(part, _STATUS_PART_TYPES) is not None:
            return part
    return None


def _child(report: Message, types: tuple[str, ...]) -> Message | None:
    if not report.is_multipart():
        return None
    for child in report.get_payload():
        if isinstance(child, Message) and child.get_content_type() in types:
            return child
    return None


def _structured_report(report: Message, text: str) -> DeliveryReport | None:
    status_part = _child(report, _STATUS_PART_TYPES)
    # A report whose MIME structure is broken still has its fields in the text.
    blocks = _status_blocks(status_part) if status_part is not None else _text_blocks(text)
    return _from_blocks(blocks, _original_message_id(report) or _quoted_message_id(text))


def _status_blocks(part: Message) -> list[Fields]:
    if not part.is_multipart():
        return _text_blocks(decode_text(payload_bytes(part), part.get_content_charset())[0])
    blocks = [block for block in part.get_payload() if isinstance(block, Message)]
    if part.get_content_type() == "message/delivery-status":
        return [_fields(block) for block in blocks]
    # The stdlib splits only message/delivery-status into its blocks; the
    # RFC 6533 global one arrives as a message whose body holds the rest.
    rest = [unescape_bytes(raw_payload(block) or "") for block in blocks]
    return [_fields(block) for block in blocks[:1]] + _text_blocks("\n".join(rest))


def _fields(block: Message) -> Fields:
    fields: Fields = {}
    for name, value in block.raw_items():
        fields.setdefault(name.lower(), raw_header_text(str(value)))
    return fields


def _text_blocks(text: str) -> list[Fields]:
    blocks: list[Fields] = [{}]
    last = ""
    for line in text.replace("\r\n", "\n").split("\n"):
        match = _FIELD_LINE.match(line.strip())
        if not line.strip():
            blocks.append({})
        elif line[:1] in " \t" and last in blocks[-1]:
            blocks[-1][last] += " " + line.strip()
        elif match:
            last = match.group(1).lower()
            blocks[-1].setdefault(last, match.group(2).strip())
    return [block for block in blocks if block]


def _from_blocks(blocks: list[Fields], original_id: str | None) -> DeliveryReport | None:
    recipients = [b for b in blocks if "final-recipient" in b or "original-recipient" in b]
    if not recipients:
        return None
    action = _action(min(recipients, key=_severity_rank))
    chosen = [block for block in recipients if _action(block) == action]
    first = chosen[0]
    diagnostic = _clean_diagnostic(first.get("diagnostic-code", ""))
    addresses = [
        _address(block.get(name, ""))
        for block in chosen
        for name in ("final-recipient", "original-recipient")
    ]
    return DeliveryReport(
        original_message_id=original_id,
        recipients=tuple(dict.fromkeys(address for address in addresses if address)),
        action=action,
        status=_status(first.get("status", ""), diagnostic, action),
        diagnostic=diagnostic,
    )


def _action(block: Fields) -> str:
    words = block.get("action", "").lower().split()
    if words:
        return words[0]
    status = block.get("status", "").strip()
    return {"5": "failed", "4": "delayed"}.get(status[:1], "failed")


def _severity_rank(block: Fields) -> int:
    action = _action(block)
    return _SEVERITY.index(action) if action in _SEVERITY else len(_SEVERITY)


def _address(value: str) -> str:
    # "rfc822; Jane@Example.com": the address type, then the address (RFC 3464 §2.3.2).
    address = value.rsplit(";", 1)[-1].strip().strip("<>").strip()
    return address.lower() if "@" in address else ""


def _status(status: str, diagnostic: str, action: str) -> str:
    for source in (status, diagnostic):
        match = _STATUS_CODE.search(source)
        if match:
            return match.group(1)
    return {"failed": "5.0.0", "delayed": "4.0.0"}.get(action, "2.0.0")


def _clean_diagnostic(value: str) -> str:
    # Drop the diagnostic type ("smtp;"): people read the server's words.
    kind, separator, rest = value.partition(";")
    if separator and kind.strip().lower() in ("smtp", "x-unix", "x-postfix", "x-local"):
        value = rest
    return " ".join(value.split())[:MAX_DIAGNOSTIC_CHARS]


def _original_message_id(report: Message) -> str | None:
    original = _child(report, _ORIGINAL_TYPES)
    if original is not None and original.is_multipart():
        inner = original.get_payload(0)
        if isinstance(inner, Message):
            return first_message_id(raw_header_text(raw_header(inner, "message-id")))
    headers = _child(report, _ORIGINAL_HEADER_TYPES)
    if headers is None:
        return None
    text = decode_text(payload_bytes(headers), headers.get_content_charset())[0]
    parsed = HeaderParser(policy=compat32).parsestr(text, headersonly=True)
    return first_message_id(raw_header_text(raw_header(parsed, "message-id")))


def _quoted_message_id(text: str) -> str | None:
    match = _MESSAGE_ID_LINE.search(text)
    return first_message_id(match.group(1)) if match else None


@dataclass(frozen=True)
class _PlainBounce:
    """A bounce written as prose: the intro that identifies it, and where its copy begins."""

    intro: str
    copy_markers: tuple[str, ...]
    recipient: re.Pattern[str]
    delayed: str | None = None

    def read(self, text: str) -> DeliveryReport | None:
        """Return the report the prose makes, or None when it names no recipient."""
        notice, copy = text, ""
        for marker in self.copy_markers:
            if marker in text:
                notice, _, copy = text.partition(marker)
                break
        matches = list(self.recipient.finditer(notice))
        if not matches:
            return None
        action = "delayed" if self.delayed and self.delayed in notice else "failed"
        diagnostic = _clean_diagnostic(notice[matches[0].end() :].split("\n\n", 1)[0])
        return DeliveryReport(
            original_message_id=_quoted_message_id(copy),
            recipients=tuple(dict.fromkeys(match.group(1).lower() for match in matches)),
            action=action,
            status=_status("", diagnostic, action),
            diagnostic=diagnostic,
        )


_PLAIN_BOUNCES = (
    # Exim: recipients indented by two spaces under "The following address(es) failed:".
    _PlainBounce(
        intro="This message was created automatically by mail delivery software.",
        copy_markers=("------ This is a copy of the",),
        recipient=re.compile(r"^  ([^\s@<>]+@[^\s@<>:]+):?[ \t]*$", re.MULTILINE),
        delayed="has not yet been delivered",
    ),
    # qmail-send: each recipient on a line of its own as "<address>:".
    _PlainBounce(
        intro="This is the qmail-send program",
        copy_markers=(
            "--- Below this line is a copy of the message.",
            "--- Enclosed are the original headers of the message.",
        ),
        recipient=re.compile(r"^<([^\s@<>]+@[^\s@<>]+)>:[ \t]*$", re.MULTILINE),
    ),
)
