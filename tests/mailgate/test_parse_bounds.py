"""Parsing within bounds: huge and deeply nested mail, and the duplicate fingerprint."""

from __future__ import annotations

import hashlib
import os
import time

from mailgate.parse import MAX_BODY_CHARS, MAX_HEADER_CHARS, MAX_HEADERS, parse_message
from tests.mailgate.test_parse import GMAIL_ALTERNATIVE, crlf
from tests.mailgate.test_parse_parts import b64

MIB = 1024 * 1024


def nested(depth: int) -> bytes:
    """Return a mail with a text part on top and `depth` multiparts nested below it."""
    head = crlf(
        b"From: nesting@example.com\nSubject: deep\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="b0"\n\n'
        b"--b0\nContent-Type: text/plain\n\nTop text\n"
    )
    opening = b"".join(
        b'--b%d\r\nContent-Type: multipart/mixed; boundary="b%d"\r\n\r\n' % (level - 1, level)
        for level in range(1, depth)
    )
    innermost = b"--b%d\r\nContent-Type: text/plain\r\n\r\ninnermost\r\n" % (depth - 1)
    closing = b"".join(b"--b%d--\r\n" % level for level in range(depth - 1, -1, -1))
    return head + opening + innermost + closing


def relayed(data: bytes, hop: bytes) -> bytes:
    """Return `data` as a server delivers it: trace headers of its own on top."""
    trace = crlf(
        b"Return-Path: <juergen.mueller@example.de>\n"
        b"Delivered-To: support@help.example.com\n"
        b"Received: from " + hop + b" (" + hop + b" [192.0.2.7])\n"
        b"\tby mx.help.example.com (Postfix) with ESMTPS id 4Z7\n"
        b"\tfor <support@help.example.com>; Tue, 04 Mar 2025 10:15:40 +0100\n"
        b"Authentication-Results: mx.help.example.com; dkim=pass header.d=example.de\n"
    )
    return trace + data


def test_same_mail_fetched_two_ways_has_one_fingerprint() -> None:
    by_smtp = parse_message(relayed(GMAIL_ALTERNATIVE, b"mail-a.example.de"))
    # Stored in a Maildir and fetched over IMAP: LF line endings, another hop.
    by_imap = parse_message(
        relayed(GMAIL_ALTERNATIVE, b"mail-b.example.de").replace(b"\r\n", b"\n") + b"\n"
    )

    assert by_smtp.sha256 != by_imap.sha256
    assert by_smtp.fingerprint == by_imap.fingerprint


def test_mail_with_another_body_has_another_fingerprint() -> None:
    changed = GMAIL_ALTERNATIVE.replace(b"obwohl kein Papi=", b"obwohl viel Papi=")

    assert parse_message(changed).fingerprint != parse_message(GMAIL_ALTERNATIVE).fingerprint


def test_25_mib_attachment_parses_whole() -> None:
    payload = os.urandom(25 * MIB)
    data = crlf(
        b"""From: Big Sender <big@example.com>
To: support@help.example.com
Subject: the full database dump
Message-ID: <big.1@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="------------big0"

--------------big0
Content-Type: text/plain; charset=UTF-8

Here it is.
--------------big0
Content-Type: application/octet-stream; name="dump.bin"
Content-Disposition: attachment; filename="dump.bin"
Content-Transfer-Encoding: base64

"""
    )
    data += b64(payload).replace(b"\n", b"\r\n") + b"--------------big0--\r\n"

    message = parse_message(data)

    (part,) = message.parts
    assert part.data == payload
    assert message.sha256 == hashlib.sha256(data).hexdigest()
    assert message.raw_size == len(data)
    assert message.fingerprint == parse_message(data.replace(b"\r\n", b"\n")).fingerprint
    assert message.text == "Here it is.\n"


def test_nesting_past_50_levels_keeps_the_shallow_parts() -> None:
    message = parse_message(nested(60))

    assert message.text == "Top text\n"
    assert "bounds: MIME parts nested deeper than 50 were skipped" in message.defects


def test_nesting_too_deep_for_the_stdlib_keeps_the_headers() -> None:
    message = parse_message(nested(3000))

    assert message.subject == "deep"
    assert message.text == ""
    assert any("too deep to read" in defect for defect in message.defects)


def test_more_than_500_parts_are_cut_with_a_defect() -> None:
    parts = b"".join(
        b"--many\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment\r\n\r\nx\r\n"
        for _ in range(700)
    )
    data = crlf(b'From: a@example.com\nContent-Type: multipart/mixed; boundary="many"\n\n')
    message = parse_message(data + parts + b"--many--\r\n")

    assert 400 < len(message.parts) < 500
    assert "bounds: more than 500 MIME parts; the rest was skipped" in message.defects


def test_headers_past_the_limits_are_dropped_or_cut() -> None:
    many = b"".join(b"X-Filler-%d: %d\r\n" % (n, n) for n in range(MAX_HEADERS + 200))
    long_subject = b"Subject: " + b"a" * (100 * 1024) + b"\r\n"
    message = parse_message(b"From: a@example.com\r\n" + long_subject + many + b"\r\nbody\r\n")

    assert len(message.headers) == MAX_HEADERS
    assert len(message.subject) == MAX_HEADER_CHARS
    assert any("headers; the rest were dropped" in defect for defect in message.defects)
    assert any("Subject header was cut" in defect for defect in message.defects)


def test_text_past_4_mib_is_cut_with_a_defect() -> None:
    line = b"All work and no play makes Jack a dull boy.\r\n"
    body = line * (5 * MIB // len(line))
    message = parse_message(b"From: a@example.com\r\nSubject: long\r\n\r\n" + body)

    assert len(message.text) == MAX_BODY_CHARS
    assert "bounds: the text was cut at 4194304 characters" in message.defects


def test_html_only_mail_with_an_enormous_table_converts_quickly() -> None:
    # Laid out as a grid, one wide row times many rows would take minutes.
    table = b"<table><tr>" + b"<td>c</td>" * 20000 + b"</tr>" + b"<tr><td>x</td></tr>" * 20000
    data = b"From: a@example.com\r\nContent-Type: text/html\r\n\r\n" + table + b"</table>\r\n"

    started = time.monotonic()
    message = parse_message(data)

    assert time.monotonic() - started < 20
    assert message.text.split().count("x") == 20000
