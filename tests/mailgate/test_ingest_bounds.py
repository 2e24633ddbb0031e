"""Bounds: hostile mail is done or quarantined within 30 seconds, and nothing else stalls."""

from __future__ import annotations

import base64
import io
import time
import zipfile

import pytest

from tests.mailgate.desk import Desk, mail

DEADLINE_SECONDS = 30.0
HEAD = (
    "From: Eve <eve@other.example>\r\nTo: support@acme.test\r\n"
    "Subject: hostile\r\nMessage-ID: <{id}@other.example>\r\nMIME-Version: 1.0\r\n"
)


def deep_nesting(levels: int = 400) -> bytes:
    opening = "".join(
        f'Content-Type: multipart/mixed; boundary="b{n}"\r\n\r\n--b{n}\r\n' for n in range(levels)
    )
    closing = "".join(f"\r\n--b{n}--\r\n" for n in reversed(range(levels)))
    body = "Content-Type: text/plain\r\n\r\ndeep\r\n"
    return (HEAD.format(id="deep") + opening + body + closing).encode()


def many_headers(count: int = 20_000) -> bytes:
    headers = "".join(f"X-Filler-{n}: {'x' * 200}\r\n" for n in range(count))
    return (HEAD.format(id="headers") + headers + "\r\nhello\r\n").encode()


def hostile_html() -> bytes:
    html = "<div>" * 100_000 + '<a href="https://x.example/">x</a>' * 20_000 + "</div>" * 100_000
    encoded = base64.encodebytes(html.encode()).decode()
    return (
        HEAD.format(id="html")
        + "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + encoded
    ).encode()


def many_parts(count: int = 3_000) -> bytes:
    parts = "".join(
        f"--p\r\nContent-Type: application/octet-stream\r\n"
        f'Content-Disposition: attachment; filename="f{n}.bin"\r\n\r\nAAAA\r\n'
        for n in range(count)
    )
    return (
        HEAD.format(id="parts") + 'Content-Type: multipart/mixed; boundary="p"\r\n\r\n' + parts
    ).encode() + b"--p--\r\n"


def zip_bomb_listing() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.txt", b"\0" * 150_000_000)
    encoded = base64.encodebytes(buffer.getvalue()).decode()
    return (
        HEAD.format(id="zip")
        + 'Content-Type: multipart/mixed; boundary="z"\r\n\r\n--z\r\n'
        + "Content-Type: text/plain\r\n\r\nsee attachment\r\n--z\r\n"
        + 'Content-Type: application/zip; name="data.zip"\r\n'
        + "Content-Transfer-Encoding: base64\r\n\r\n"
        + encoded
        + "--z--\r\n"
    ).encode()


HOSTILE = {
    "deep_nesting": deep_nesting,
    "many_headers": many_headers,
    "hostile_html": hostile_html,
    "many_parts": many_parts,
    "zip_bomb_listing": zip_bomb_listing,
}


@pytest.mark.parametrize("shape", sorted(HOSTILE))
def test_hostile_mail_is_done_within_the_deadline_and_the_next_mail_lands(
    desk: Desk, shape: str
) -> None:
    data = HOSTILE[shape]()
    started = time.monotonic()
    [result] = desk.send(data, mail_from="eve@other.example")
    elapsed = time.monotonic() - started
    assert elapsed < DEADLINE_SECONDS, f"{shape} took {elapsed:.1f} s"
    assert result.action in {"created", "quarantined"}
    assert desk.one(mail()).action == "created"


def test_zip_bomb_is_recorded_as_blocked_not_stored(desk: Desk) -> None:
    result = desk.one(zip_bomb_listing(), mail_from="eve@other.example")
    [message] = desk.messages(result.ticket_id)
    assert [entry["filename"] for entry in message.blocked_attachments] == ["data.zip"]
    assert message.attachments == []
