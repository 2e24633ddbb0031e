"""A deterministic mix of realistic e-mails to one support address, for the pipeline benchmark.

`generate_mix(count, seed=...)` returns the same bytes for the same arguments:
about 45% new plain-text tickets, 35% plain-text replies to earlier mails of
the mix (In-Reply-To and References, "Re:" subjects, quoted history), 10%
HTML (alone or beside a text part) and 10% with attachments (a PDF-looking
file and or a valid PNG); a third of the senders write German, French or
Japanese (RFC 2047 headers, quoted-printable, base64, 8bit, Latin-1 and
ISO-2022-JP bodies). The headers follow what Gmail, Outlook, Apple Mail and
Thunderbird write.
"""

from __future__ import annotations

import random
import struct
import textwrap
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from bench import mail_texts as words
from bench.mail_headers import SUPPORT, client_headers, folded, trace_headers

START = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
SHARES = {"new": 45, "reply": 35, "html": 10, "attachment": 10}
CLIENTS = ("gmail", "gmail", "outlook", "outlook", "apple", "thunderbird")
# Quoted history beyond this is cut, as long threads are in practice trimmed.
MAX_QUOTE_CHARS = 40_000


@dataclass(frozen=True)
class Sender:
    """One person writing to support, always in one language with one mail client."""

    address: str
    name: str
    language: str
    client: str


@dataclass(frozen=True)
class MixedMail:
    """One generated e-mail, its envelope sender and how it was made."""

    sender: str
    data: bytes
    shape: str  # new, reply, html or attachment
    language: str
    reply: bool


@dataclass
class _Thread:
    sender: Sender
    subject: str
    message_ids: list[str] = field(default_factory=list)
    last_text: str = ""
    last_date: datetime = START


def generate_mix(count: int, *, seed: int = 4, senders: int = 300) -> list[MixedMail]:
    """Return `count` e-mails from `senders` people; replies only answer earlier mails."""
    rng = random.Random(seed)
    people = [_sender(rng, index) for index in range(senders)]
    threads: list[_Thread] = []
    mails = []
    for index in range(count):
        shape = rng.choices(list(SHARES), weights=list(SHARES.values()))[0]
        reply = bool(threads) and (shape == "reply" or (shape != "new" and rng.random() < 0.5))
        if reply:
            # Recent threads get most of the answers.
            thread = threads[-1 - min(int(rng.expovariate(1 / 40)), len(threads) - 1)]
        else:
            person = rng.choice(people)
            thread = _Thread(person, rng.choice(words.SUBJECTS[person.language]))
            threads.append(thread)
        when = START + timedelta(seconds=30 * index)
        data = _compose(rng, thread, shape, when, reply=reply)
        mails.append(MixedMail(thread.sender.address, data, shape, thread.sender.language, reply))
    return mails


def big_mail(size: int, *, seed: int = 25) -> bytes:
    """Return one mail of at most `size` bytes, nearly all of it one base64 PDF attachment."""
    rng = random.Random(seed)
    person = _sender(rng, 0)
    # Base64 turns 57 bytes into a line of 76 characters and CRLF.
    attachment = (size - 16 * 1024) * 57 // 78
    thread = _Thread(person, "The scanned contract, all pages")
    msg = _message(rng, thread, START, reply=False)
    msg.set_content(_body(rng, person))
    msg.add_attachment(_pdf(rng, attachment), "application", "pdf", filename="contract.pdf")
    _fix_boundaries(rng, msg)
    data = msg.as_bytes(policy=SMTP)
    assert len(data) <= size, len(data)  # noqa: S101 - a bug in the arithmetic above
    return data


def _sender(rng: random.Random, index: int) -> Sender:
    language = rng.choices(list(words.LANGUAGES), weights=list(words.LANGUAGES.values()))[0]
    first, last = rng.choice(words.FIRST[language]), rng.choice(words.LAST[language])
    local = "".join(words.ROMAN.get(c, c) for c in f"{first}.{last}".lower())
    if not local.replace(".", "").isascii():
        local = f"user{index}"
    domain = rng.choice(words.DOMAINS[language]).encode("idna").decode()
    name = f"{last} {first}" if language == "ja" else f"{first} {last}"
    return Sender(f"{local}.{index}@{domain}", name, language, rng.choice(CLIENTS))


def _compose(
    rng: random.Random, thread: _Thread, shape: str, when: datetime, *, reply: bool
) -> bytes:
    person = thread.sender
    msg = _message(rng, thread, when, reply=reply)
    text = _reply_text(rng, thread) if reply else _body(rng, person)
    if shape == "html":
        _set_html(rng, msg, text, person.language)
    else:
        _set_text(rng, msg, text, person.language)
    if shape == "attachment":
        _attach(rng, msg)
    _fix_boundaries(rng, msg)
    thread.message_ids.append(msg["Message-ID"].strip("<>"))
    thread.last_text, thread.last_date = text, when
    # Trace headers are written by the MTAs on the way, above what the client wrote.
    trace = folded(trace_headers(rng, person.address, person.client, when))
    return trace + msg.as_bytes(policy=SMTP)


def _message(rng: random.Random, thread: _Thread, when: datetime, *, reply: bool) -> EmailMessage:
    person = thread.sender
    msg = EmailMessage(policy=SMTP)
    local, domain = person.address.split("@")
    msg["From"] = Address(person.name, local, domain)
    msg["To"] = Address("ACME Support", "support", "acme.test")
    prefix = words.REPLY_PREFIX[person.language] if reply else ""
    msg["Subject"] = prefix + thread.subject
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = _message_id(rng, person)
    if reply:
        msg["In-Reply-To"] = f"<{thread.message_ids[-1]}>"
        msg["References"] = " ".join(f"<{m}>" for m in thread.message_ids[-10:])
    for name, value in client_headers(rng, person.client, thread.subject):
        msg[name] = value
    return msg


def _message_id(rng: random.Random, person: Sender) -> str:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    token = "".join(rng.choices(letters, k=40))
    hex32 = "%032X" % rng.getrandbits(128)  # noqa: UP031 - an upper-case UUID without dashes
    if person.client == "gmail":
        return f"<CA+{token}@mail.gmail.com>"
    if person.client == "outlook":
        box = f"AM0PR{rng.randrange(10, 99)}MB{rng.randrange(1000, 9999)}"
        return f"<{box}{token[:20].upper()}@{box}.eurprd0{rng.randrange(1, 9)}.prod.outlook.com>"
    uuid = f"{hex32[:8]}-{hex32[8:12]}-{hex32[12:16]}-{hex32[16:20]}-{hex32[20:]}"
    return f"<{uuid}@{person.address.split('@')[1]}>"


def _body(rng: random.Random, person: Sender) -> str:
    language = person.language
    paragraphs = rng.sample(words.PARAGRAPHS[language], k=rng.randint(3, 5))
    lines = [rng.choice(words.GREETING[language]), "", *_wrapped(paragraphs, language)]
    if rng.random() < 0.15:
        # A pasted log excerpt: the long tail of message sizes.
        lines += ["", *_log(rng, rng.randint(30, 400))]
    lines += ["", rng.choice(words.CLOSING[language]), person.name, "", "-- "]
    lines += [person.name, "Phone +49 89 1234 5678", person.address, ""]
    if person.client == "outlook":
        # Company mail servers add a disclaimer below every mail.
        lines += _wrapped([words.DISCLAIMER[language]], language)
    return "\n".join(lines)


def _wrapped(paragraphs: list[str], language: str) -> list[str]:
    if language == "ja":
        return [line for p in paragraphs for line in (p, "")]
    return [line for p in paragraphs for line in (*textwrap.wrap(p, 72), "")]


def _log(rng: random.Random, count: int) -> list[str]:
    return [
        rng.choice(words.LOG_LINES).format(s=i % 60, w=rng.randrange(1, 9)) for i in range(count)
    ]


def _reply_text(rng: random.Random, thread: _Thread) -> str:
    person = thread.sender
    new = [
        rng.choice(words.FOLLOW_UP[person.language]),
        "",
        rng.choice(words.CLOSING[person.language]),
    ]
    history = thread.last_text[-MAX_QUOTE_CHARS:]
    if person.client == "outlook":
        head = ["", "_" * 32, f"From: {person.name} <{person.address}>",
                f"Sent: {format_datetime(thread.last_date)}", f"To: {SUPPORT}",
                f"Subject: {thread.subject}", ""]  # fmt: skip
        return "\n".join([*new, *head, history])
    date = thread.last_date.strftime("%a, %d %b %Y %H:%M")
    wrote = words.WROTE[person.language].format(date=date, name=person.name, address=person.address)
    quoted = [
        f">{' ' if line and not line.startswith('>') else ''}{line}"
        for line in history.splitlines()
    ]
    return "\n".join([*new, "", wrote, *quoted, ""])


def _set_text(rng: random.Random, msg: EmailMessage, text: str, language: str) -> None:
    if text.isascii():
        msg.set_content(text)
        return
    # Some Japanese clients still send ISO-2022-JP, Outlook a Windows code page.
    legacy = {"ja": ("iso-2022-jp", "7bit"), "de": ("windows-1252", "quoted-printable")}
    charset, cte = legacy.get("de" if language == "fr" else language, ("", ""))
    if charset and rng.random() < 0.3 and _encodes(text, charset):
        msg.set_content(text, charset=charset, cte=cte)
    else:
        msg.set_content(text, cte=rng.choice(["quoted-printable", "base64", "8bit"]))


def _encodes(text: str, charset: str) -> bool:
    try:
        text.encode(charset)
    except UnicodeEncodeError:
        return False
    return True


def _set_html(rng: random.Random, msg: EmailMessage, text: str, language: str) -> None:
    html = _html(text)
    cte = "7bit" if html.isascii() else rng.choice(["quoted-printable", "base64"])
    if rng.random() < 0.5:
        msg.set_content(html, subtype="html", cte=cte)  # HTML only, as some Outlooks send
        return
    _set_text(rng, msg, text, language)
    msg.add_alternative(html, subtype="html", cte=cte)


def _html(text: str) -> str:
    out, depth = [], 0
    for line in text.splitlines():
        level = len(line) - len(line.lstrip(">"))
        out += ['<blockquote class="gmail_quote" style="margin:0 0 0 .8ex">'] * (level - depth)
        out += ["</blockquote>"] * (depth - level)
        depth = level
        content = line.lstrip("> ").replace("&", "&amp;").replace("<", "&lt;")
        out.append(f"<div>{content or '<br>'}</div>")
    out += ["</blockquote>"] * depth
    head = '<meta charset="utf-8"><style>p{margin:0}.MsoNormal{font-family:Calibri}</style>'
    body = "\n".join(out)
    return f'<html><head>{head}</head><body><div dir="ltr">{body}</div></body></html>'


def _attach(rng: random.Random, msg: EmailMessage) -> None:
    if rng.random() < 0.7:
        pdf = _pdf(rng, rng.randint(20_000, 200_000))
        msg.add_attachment(
            pdf, "application", "pdf", filename=rng.choice(["invoice.pdf", "Rechnung März.pdf"])
        )
    if rng.random() < 0.5 or not msg.is_multipart():
        png = _png(rng, rng.randint(80, 320), rng.randint(40, 160))
        msg.add_attachment(png, "image", "png", filename="screenshot.png")


def _pdf(rng: random.Random, size: int) -> bytes:
    head = (
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
        b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n3 0 obj\n<< /Type /Page "
        b"/Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>\nendobj\n"
    )
    tail = b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    stream = rng.randbytes(max(size - len(head) - len(tail) - 60, 0))
    header = b"4 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream)
    return head + header + stream + tail


def _png(rng: random.Random, width: int, height: int) -> bytes:
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    rows = b"".join(b"\x00" + rng.randbytes(width * 3) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 1))
        + chunk(b"IEND", b"")
    )


def _fix_boundaries(rng: random.Random, msg: EmailMessage) -> None:
    # The email package draws boundaries from the global random; the mix must not.
    for part in msg.walk():
        if part.is_multipart():
            part.set_boundary("000000000000" + "%016x" % rng.getrandbits(64))  # noqa: UP031
