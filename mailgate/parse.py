"""Raw e-mail bytes turned into an InboundMessage: headers, bodies, files and bounce report."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from email.message import Message
from email.parser import BytesFeedParser, BytesParser
from email.policy import compat32
from email.utils import parsedate_to_datetime

from mailparser.dates import parse_mail_date
from mailparser.utils import get_addresses

from mailgate.body import Body, read_body
from mailgate.charset import decode_header, decode_words, raw_header_text
from mailgate.dsn import read_report
from mailgate.html_text import html_to_text
from mailgate.inbound import Address, Envelope, InboundMessage
from mailgate.message_ids import first_message_id, message_ids
from mailgate.tolerant import TolerantMessage

MAX_HEADERS = 1000
MAX_HEADER_CHARS = 64 * 1024
MAX_BODY_CHARS = 4 * 1024 * 1024
MAX_ADDRESSES = 1000
MAX_DEFECTS = 100
_CHUNK = 64 * 1024
_NO_ENVELOPE = Envelope()
# What identifies a mail wherever it was fetched from; trace headers (Received,
# Delivered-To, Return-Path, DKIM, ARC, Authentication-Results) differ per hop.
_FINGERPRINT_HEADERS = ("message-id", "from", "date", "subject")
_ADDRESS_FIELDS = ("from", "reply-to", "to", "cc")
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# RFC 5322 §3.2.3 specials other than the ones a plain mailbox list uses.
_SPECIALS = re.compile(r'["()\[\]:;\\]|=\?')
_SIMPLE_ADDRESS = re.compile(
    r"\s*(?:([^<>@,]*?)\s*<([^<>\s@,]+@[^<>\s@,]+)>|([^<>\s@,]+@[^<>\s@,]+))\s*"
)

RawHeaders = list[tuple[str, str]]
# Header values by lower-cased name, in order.
HeaderIndex = dict[str, list[str]]


class MalformedMessage(Exception):
    """Raised when the bytes hold nothing that can be read as an e-mail."""


def parse_message(data: bytes, envelope: Envelope = _NO_ENVELOPE) -> InboundMessage:
    """Read raw e-mail bytes into an InboundMessage, recording what was wrong as defects.

    Raises:
        MalformedMessage: the bytes are empty or have no header block at all.
    """
    if not data.strip():
        raise MalformedMessage("the message is empty")
    defects: list[str] = []
    message = _read_tree(data, defects)
    raw = _raw_headers(message, defects)
    if not raw:
        raise MalformedMessage("the message has no header block")
    headers = tuple((name, decode_header(value)) for name, value in raw)
    fields, decoded = _index(raw), _index(headers)
    body = read_body(message)
    defects += body.defects
    text, html = _bodies(body, defects)
    senders, reply_to, to, cc = (_addresses(fields, name, defects) for name in _ADDRESS_FIELDS)
    date = _date(_first(fields, "date"), defects)
    return InboundMessage(
        raw_size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        fingerprint=_fingerprint(data, decoded),
        headers=headers,
        message_id=first_message_id(raw_header_text(_first(fields, "message-id"))),
        in_reply_to=message_ids(raw_header_text(" ".join(fields.get("in-reply-to", ())))),
        references=message_ids(raw_header_text(" ".join(fields.get("references", ())))),
        sender=senders[0] if senders else None,
        reply_to=reply_to,
        to=to,
        cc=cc,
        subject=" ".join(_first(decoded, "subject").split()),
        date=date,
        text=text,
        html=html,
        parts=tuple(body.parts),
        report=read_report(message, text),
        defects=_bounded_defects(defects),
        envelope=envelope,
    )


def _read_tree(data: bytes, defects: list[str]) -> Message:
    try:
        return _feed(data)
    # The stdlib parser recurses once per nested multipart.
    except RecursionError:
        defects.append("bounds: MIME nesting too deep to read; only the headers were kept")
    parser = BytesParser(TolerantMessage, policy=compat32)
    message = parser.parsebytes(data, headersonly=True)
    message.set_payload("")
    return message


def _feed(data: bytes) -> Message:
    # Fed in slices: parsing the whole message as one string would hold
    # several full-size copies of a 25 MiB mail at once.
    parser = BytesFeedParser(TolerantMessage, policy=compat32)
    view = memoryview(data)
    for start in range(0, len(data), _CHUNK):
        parser.feed(bytes(view[start : start + _CHUNK]))
    return parser.close()


def _raw_headers(message: Message, defects: list[str]) -> RawHeaders:
    raw: RawHeaders = []
    for name, value in message.raw_items():
        if len(raw) == MAX_HEADERS:
            defects.append(f"bounds: more than {MAX_HEADERS} headers; the rest were dropped")
            break
        value = str(value)
        if len(value) > MAX_HEADER_CHARS:
            defects.append(f"bounds: a {name} header was cut at {MAX_HEADER_CHARS} characters")
            value = value[:MAX_HEADER_CHARS]
        raw.append((name, value))
    return raw


def _index(headers: Iterable[tuple[str, str]]) -> HeaderIndex:
    index: HeaderIndex = {}
    for name, value in headers:
        index.setdefault(name.lower(), []).append(value)
    return index


def _first(index: HeaderIndex, name: str) -> str:
    return index.get(name, [""])[0]


def _addresses(fields: HeaderIndex, name: str, defects: list[str]) -> tuple[Address, ...]:
    found: dict[str, Address] = {}
    for value in fields.get(name, ()):
        for display, address in _address_pairs(raw_header_text(value), name, defects):
            if "@" in address:
                found.setdefault(address.lower(), Address(address.lower(), _name(display)))
            elif address:
                defects.append(f"address: {name} entry without a domain was skipped")
    return tuple(found.values())[:MAX_ADDRESSES]


def _address_pairs(value: str, name: str, defects: list[str]) -> list[tuple[str, str]]:
    # Most headers are plain `Name <addr>` lists, which read the same under
    # any parser; the careful one is several times slower, so it reads the rest.
    if not _SPECIALS.search(value):
        simple = [_SIMPLE_ADDRESS.fullmatch(entry) for entry in value.split(",")]
        if all(simple):
            return [(m.group(1) or "", m.group(2) or m.group(3)) for m in simple if m]
    problems: list[object] = []
    pairs: list[tuple[str, str]] = get_addresses(value, defects=problems, decode_names=True)
    if problems:
        defects.append(f"address: unreadable entries in {name} were skipped")
    return pairs[:MAX_ADDRESSES]


def _name(display: str) -> str:
    # Outlook quotes encoded words ("=?utf-8?...?="), which RFC 2047 §5 forbids.
    return " ".join(_CONTROL.sub(" ", decode_words(display)).split())


def _date(value: str, defects: list[str]) -> datetime | None:
    if not value.strip():
        return None
    value = raw_header_text(value)
    result = parse_mail_date(value)
    if isinstance(result.value, datetime):
        return result.value.astimezone(UTC)
    try:
        # The stdlib reads a date without a zone; RFC 5322 §3.3 calls that UTC.
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        defects.append(f"date: unreadable Date header ({', '.join(result.reasons)})")
        return None
    return parsed.replace(tzinfo=parsed.tzinfo or UTC).astimezone(UTC)


def _bodies(body: Body, defects: list[str]) -> tuple[str, str]:
    html = _bounded("\n".join(body.htmls) or "\n".join(body.fallback_htmls), "html", defects)
    text = _joined(body.texts) or _joined(body.fallback_texts)
    if not text.strip() and html.strip():
        text = html_to_text(html)
    return _bounded(text, "text", defects), html


def _joined(texts: list[str]) -> str:
    return "".join(text if text.endswith("\n") else text + "\n" for text in texts if text)


def _bounded(value: str, what: str, defects: list[str]) -> str:
    if len(value) <= MAX_BODY_CHARS:
        return value
    defects.append(f"bounds: the {what} was cut at {MAX_BODY_CHARS} characters")
    return value[:MAX_BODY_CHARS]


def _bounded_defects(defects: list[str]) -> tuple[str, ...]:
    unique = list(dict.fromkeys(defects))
    if len(unique) <= MAX_DEFECTS:
        return tuple(unique)
    return (*unique[:MAX_DEFECTS], f"and {len(unique) - MAX_DEFECTS} more defects")


def _fingerprint(data: bytes, decoded: HeaderIndex) -> str:
    digest = hashlib.sha256()
    for name in _FINGERPRINT_HEADERS:
        value = " ".join(_first(decoded, name).split())
        digest.update(f"{name}:{value}\n".encode("utf-8", "surrogatepass"))
    digest.update(b"\n")
    _update_with_body(digest, data)
    return digest.hexdigest()


def _update_with_body(digest: hashlib._Hash, data: bytes) -> None:
    # Line endings and trailing blank lines change between SMTP (CRLF), a
    # Maildir file (LF) and an IMAP fetch; the content does not.
    separator = _HEADER_END.search(data)
    start = separator.end() if separator else len(data)
    tail = data[-4096:]
    end = max(start, len(data) - (len(tail) - len(tail.rstrip())))
    view = memoryview(data)[start:end]
    carry = b""
    for offset in range(0, len(view), _CHUNK):
        chunk = carry + bytes(view[offset : offset + _CHUNK])
        carry = b"\r" if chunk.endswith(b"\r") else b""
        digest.update(chunk[: len(chunk) - len(carry)].replace(b"\r\n", b"\n"))
    digest.update(carry)
