"""No byte string crashes the parser: it yields a message or says the bytes are no mail."""

from __future__ import annotations

from collections.abc import Iterator

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailgate.inbound import InboundMessage
from mailgate.parse import MalformedMessage, parse_message
from tests.mailgate.conftest import MAIL_DIR

CORPUS = [path.read_bytes() for path in sorted((MAIL_DIR / "cpython").glob("msg_*.txt"))]
# Pieces of MIME that steer the parser into its rarer paths when spliced in.
TOKENS = [
    b"\r\n",
    b"\n\n",
    b"From: a@example.com\n",
    b"Subject: =?utf-8?b?w7w=?= =?x-bad?q?=FF?=\n",
    b"Content-Type: multipart/mixed; boundary=b\n",
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\n",
    b"Content-Type: message/rfc822\n",
    b"Content-Type: message/delivery-status\n",
    b"Content-Type: text/plain; charset*=undefined''x; charset*0=y\n",
    b"Content-Type: text/html; charset=unicode_escape\n",
    b"Content-Type: application/ms-tnef; name=winmail.dat\n",
    b"Content-Disposition: attachment; filename*=utf-16''%FF%FE; filename*1=x\n",
    b"Content-Disposition: inline; filename*=unicode_escape''%5Cud800%5C\n",
    b"Content-Type: multipart/mixed; boundary*=unicode_escape''b%5C\n",
    b"Content-Transfer-Encoding: base64\n",
    b"Content-Transfer-Encoding: quoted-printable\n",
    b"Content-Transfer-Encoding: x-uuencode\n",
    b"Content-ID: <cid\x00x>\n",
    b"--b\n",
    b"--b--\n",
    b"Final-Recipient: rfc822; x@example.org\nAction: failed\nStatus: 5.1.1\n",
    b"This message was created automatically by mail delivery software.\n",
    b"  x@example.org\n",
    b'x"\xe9\xff\x00\x80=?<>(),;:\\',
    b'<img src="cid:x">',
    b'x\x9f>"\x01\x00',
]


def texts(message: InboundMessage) -> Iterator[str]:
    """Yield every string the parser produced, where a database would store it."""
    yield from (message.subject, message.text, message.html, *message.defects)
    yield from (value for pair in message.headers for value in pair)
    yield from (message.message_id or "", *message.in_reply_to, *message.references)
    for address in (message.sender, *message.reply_to, *message.to, *message.cc):
        yield from (address.address, address.name) if address else ()
    yield from (text for part in message.parts for text in (part.filename, part.declared_type))
    if message.report:
        yield from (*message.report.recipients, message.report.diagnostic)


def check(data: bytes) -> None:
    """Parse `data`; only a message of clean text or MalformedMessage may come out."""
    try:
        message = parse_message(data)
    except MalformedMessage:
        return
    assert isinstance(message, InboundMessage)
    for value in texts(message):
        value.encode("utf-8")
        assert "\x00" not in value


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """Return a real message with bytes flipped, pieces spliced in, or cut short."""
    data = bytearray(draw(st.sampled_from(CORPUS)))
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["flip", "splice", "delete", "truncate"]))
        if action == "flip" and position < len(data):
            data[position] = draw(st.integers(0, 255))
        elif action == "splice":
            data[position:position] = draw(st.sampled_from(TOKENS))
        elif action == "delete":
            del data[position : position + draw(st.integers(1, 64))]
        elif action == "truncate":
            del data[position:]
    return bytes(data)


FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=4096))
def test_any_bytes_parse_or_are_malformed(data: bytes) -> None:
    check(data)


@FUZZ
@given(mutated())
def test_damaged_real_messages_parse_or_are_malformed(data: bytes) -> None:
    check(data)


@FUZZ
@given(st.lists(st.sampled_from(TOKENS), max_size=60).map(b"".join))
def test_spliced_mime_fragments_parse_or_are_malformed(data: bytes) -> None:
    check(b"From: fuzz@example.com\n" + data)
