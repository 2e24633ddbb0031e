"""Parsing the files of a mail: inline images, names, winmail.dat, signatures, invites."""

from __future__ import annotations

import base64
import struct
import zlib

from tnefparse import TNEF

from mailgate.parse import parse_message
from tests.mailgate.test_parse import crlf


def tiny_png() -> bytes:
    """Return a valid one-pixel PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        checksum = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + checksum

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def b64(data: bytes) -> bytes:
    """Return `data` in base64 lines of 76 characters, as mail clients write it."""
    return base64.encodebytes(data)


def tnef_attribute(level: int, attribute: int, data: bytes) -> bytes:
    """Return one TNEF attribute: level, id, length, data and its 16-bit checksum."""
    checksum = struct.pack("<H", sum(data) & 0xFFFF)
    return struct.pack("<BII", level, attribute, len(data)) + data + checksum


def tnef_blob(body: bytes, files: list[tuple[str, bytes]]) -> bytes:
    """Return a winmail.dat as Outlook writes it: signature, key, message and file attributes."""
    blob = struct.pack("<IH", 0x223E9F78, 0x0B2C)
    blob += tnef_attribute(1, 0x00089006, struct.pack("<I", 0x00010000))  # attTnefVersion
    blob += tnef_attribute(1, 0x00069007, struct.pack("<II", 1252, 0))  # attOemCodepage
    blob += tnef_attribute(1, 0x00078008, b"IPM.Microsoft Mail.Note\x00")  # attMessageClass
    if body:
        blob += tnef_attribute(1, 0x0002800C, body)  # attBody
    for name, data in files:
        rendering = struct.pack("<HIHHI", 1, 0xFFFFFFFF, 0xFFFF, 0xFFFF, 0)
        blob += tnef_attribute(2, 0x00069002, rendering)  # attAttachRendData
        blob += tnef_attribute(2, 0x00018010, name.encode("cp1252") + b"\x00")  # attAttachTitle
        blob += tnef_attribute(2, 0x0006800F, data)  # attAttachData
    return blob


def outlook_with_winmail(blob: bytes, *, text: bool) -> bytes:
    """Return an Exchange mail carrying `blob` as winmail.dat, with or without a text part."""
    text_part = (
        b'--_000_DB9PR07MB7771_\nContent-Type: text/plain; charset="us-ascii"\n'
        b"Content-Transfer-Encoding: quoted-printable\n\nPlease see the attached report.\n\n"
        if text
        else b""
    )
    return crlf(
        b"""From: Erik Lund <erik.lund@example.se>
To: support@help.example.com
Subject: Monthly report
Date: Thu, 6 Mar 2025 09:12:44 +0000
Message-ID: <DB9PR07MB7771A1B2C3D4E5F6@DB9PR07MB7771.eurprd07.prod.outlook.com>
Content-Language: sv-SE
X-MS-Has-Attach: yes
X-MS-TNEF-Correlator: <DB9PR07MB7771A1B2C3D4E5F6@DB9PR07MB7771.eurprd07.prod.outlook.com>
Content-Type: multipart/mixed; boundary="_000_DB9PR07MB7771_"
MIME-Version: 1.0

"""
        + text_part
        + b"""--_000_DB9PR07MB7771_
Content-Type: application/ms-tnef; name="winmail.dat"
Content-Disposition: attachment; filename="winmail.dat"
Content-Transfer-Encoding: base64

"""
        + b64(blob)
        + b"\n--_000_DB9PR07MB7771_--\n"
    )


def gmail_with_images() -> bytes:
    """Return a Gmail mail with a pasted screenshot (cid:) and a photo attached."""
    return crlf(
        b"""MIME-Version: 1.0
From: Priya Nair <priya.nair@example.in>
Date: Fri, 7 Mar 2025 11:30:00 +0530
Message-ID: <CAJ4x0Lx8Ym_Qp3=abc@mail.gmail.com>
Subject: Error screen
To: support@help.example.com
Content-Type: multipart/mixed; boundary="000000000000f0e1d2c3b4a59687"

--000000000000f0e1d2c3b4a59687
Content-Type: multipart/related; boundary="000000000000f0e1d2c3b4a59686"

--000000000000f0e1d2c3b4a59686
Content-Type: multipart/alternative; boundary="000000000000f0e1d2c3b4a59685"

--000000000000f0e1d2c3b4a59685
Content-Type: text/plain; charset="UTF-8"

This is what I see:
[image: screenshot.png]

--000000000000f0e1d2c3b4a59685
Content-Type: text/html; charset="UTF-8"

<div dir="ltr">This is what I see:<div><img src="cid:ii_m7x2k9ab0"
 alt="screenshot.png" width="400"><br></div></div>

--000000000000f0e1d2c3b4a59685--

--000000000000f0e1d2c3b4a59686
Content-Type: image/png; name="screenshot.png"
Content-Disposition: inline; filename="screenshot.png"
Content-Transfer-Encoding: base64
Content-ID: <ii_m7x2k9ab0>
X-Attachment-Id: ii_m7x2k9ab0

"""
        + b64(tiny_png())
        + b"""--000000000000f0e1d2c3b4a59686--

--000000000000f0e1d2c3b4a59687
Content-Type: image/png; name="photo.png"
Content-Disposition: attachment; filename="photo.png"
Content-Transfer-Encoding: base64
Content-ID: <f_m7x2kq3c1>
X-Attachment-Id: f_m7x2kq3c1

"""
        + b64(tiny_png())
        + b"--000000000000f0e1d2c3b4a59687--\n"
    )


def test_image_the_html_shows_by_cid_is_inline_and_the_other_is_a_file() -> None:
    message = parse_message(gmail_with_images())

    screenshot, photo = message.parts
    assert (screenshot.filename, screenshot.content_id, screenshot.inline) == (
        "screenshot.png",
        "ii_m7x2k9ab0",
        True,
    )
    assert screenshot.data == tiny_png()
    assert (photo.filename, photo.inline) == ("photo.png", False)
    assert message.text == "This is what I see:\n[image: screenshot.png]\n"


def test_file_names_in_rfc2231_and_rfc2047_are_decoded_and_missing_ones_invented() -> None:
    pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
    data = crlf(
        b"""From: a@example.com
Subject: files
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="------------8Xb3CQ9zF0eQWm2LjM0kPvYh"

--------------8Xb3CQ9zF0eQWm2LjM0kPvYh
Content-Type: text/plain; charset=UTF-8

Three files.
--------------8Xb3CQ9zF0eQWm2LjM0kPvYh
Content-Type: application/pdf; name*=UTF-8''R%C3%A9sum%C3%A9%20M%C3%A4rz.pdf
Content-Disposition: attachment; filename*=UTF-8''R%C3%A9sum%C3%A9%20M%C3%A4rz.pdf
Content-Transfer-Encoding: base64

"""
        + b64(pdf)
        + b"""--------------8Xb3CQ9zF0eQWm2LjM0kPvYh
Content-Type: application/pdf; name="=?utf-8?B?UmVjaG51bmcgTsKwIDQyLnBkZg==?="
Content-Disposition: attachment; filename="=?utf-8?B?UmVjaG51bmcgTsKwIDQyLnBkZg==?="
Content-Transfer-Encoding: base64

"""
        + b64(pdf)
        + b"""--------------8Xb3CQ9zF0eQWm2LjM0kPvYh
Content-Type: application/pdf
Content-Disposition: attachment; filename="..\\\\..\\\\Windows\\\\evil.pdf"
Content-Transfer-Encoding: base64

"""
        + b64(pdf)
        + b"""--------------8Xb3CQ9zF0eQWm2LjM0kPvYh
Content-Type: application/pdf
Content-Disposition: attachment
Content-Transfer-Encoding: base64

"""
        + b64(pdf)
        + b"--------------8Xb3CQ9zF0eQWm2LjM0kPvYh--\n"
    )
    message = parse_message(data)

    assert [part.filename for part in message.parts] == [
        "Résumé März.pdf",
        "Rechnung N° 42.pdf",
        "evil.pdf",
        "attachment-4.pdf",
    ]
    assert all(part.data == pdf for part in message.parts)
    assert message.text == "Three files.\n"


def test_winmail_dat_is_unpacked_into_its_files() -> None:
    blob = tnef_blob(
        b"", [("report.txt", b"Sales up 4%\r\n"), ("Übersicht.csv", b"a;b\r\n1;2\r\n")]
    )
    unpacked = TNEF(blob)
    assert [attachment.data for attachment in unpacked.attachments] == [
        b"Sales up 4%\r\n",
        b"a;b\r\n1;2\r\n",
    ]

    message = parse_message(outlook_with_winmail(blob, text=True))

    assert [(p.filename, p.declared_type, p.data) for p in message.parts] == [
        ("report.txt", "text/plain", b"Sales up 4%\r\n"),
        ("Übersicht.csv", "text/csv", b"a;b\r\n1;2\r\n"),
    ]
    assert message.text == "Please see the attached report.\n"


def test_winmail_dat_body_is_the_text_when_the_mail_has_none() -> None:
    blob = tnef_blob(b"Hej,\r\nthe report is attached.\r\nErik\x00", [("report.txt", b"42")])

    message = parse_message(outlook_with_winmail(blob, text=False))

    assert message.text == "Hej,\nthe report is attached.\nErik\n"
    assert [part.filename for part in message.parts] == ["report.txt"]


def test_winmail_dat_that_cannot_be_unpacked_is_kept_whole() -> None:
    broken = struct.pack("<IH", 0x223E9F78, 1) + b"\x02\x10\x80\x01\x00\xff\xff\xff"

    message = parse_message(outlook_with_winmail(broken, text=True))

    assert [(p.filename, p.data) for p in message.parts] == [("winmail.dat", broken)]
    assert any(defect.startswith("tnef:") for defect in message.defects)


def test_smime_signed_mail_reads_the_content_and_keeps_the_signature() -> None:
    signature = bytes(range(256)) * 4
    data = crlf(
        b"""From: "Dr. Eva Novak" <eva.novak@example.cz>
To: <support@help.example.com>
Subject: Signed request
Date: Mon, 10 Mar 2025 14:00:00 +0100
Message-ID: <000d01db91a1$5f3e4d20$1dbae760$@example.cz>
MIME-Version: 1.0
Content-Type: multipart/signed; protocol="application/x-pkcs7-signature";
	micalg=SHA256; boundary="----=_NextPart_000_0012_01DB91A9.C102B520"
X-Mailer: Microsoft Outlook 16.0

This is a multipart message in MIME format.

------=_NextPart_000_0012_01DB91A9.C102B520
Content-Type: multipart/alternative;
	boundary="----=_NextPart_001_0013_01DB91A9.C102B520"


------=_NextPart_001_0013_01DB91A9.C102B520
Content-Type: text/plain;
	charset="iso-8859-2"
Content-Transfer-Encoding: quoted-printable

Dobr=FD den, pros=EDm o nov=E9 heslo.

------=_NextPart_001_0013_01DB91A9.C102B520
Content-Type: text/html;
	charset="iso-8859-2"
Content-Transfer-Encoding: quoted-printable

<html><body><p>Dobr=FD den, pros=EDm o nov=E9 heslo.</p></body></html>

------=_NextPart_001_0013_01DB91A9.C102B520--

------=_NextPart_000_0012_01DB91A9.C102B520
Content-Type: application/pkcs7-signature;
	name="smime.p7s"
Content-Transfer-Encoding: base64
Content-Disposition: attachment;
	filename="smime.p7s"

"""
        + b64(signature)
        + b"\n------=_NextPart_000_0012_01DB91A9.C102B520--\n"
    )
    message = parse_message(data)

    assert message.text == "Dobrý den, prosím o nové heslo.\n"
    assert [(p.filename, p.declared_type, p.data) for p in message.parts] == [
        ("smime.p7s", "application/pkcs7-signature", signature)
    ]


def test_opaque_smime_mail_is_kept_as_a_file() -> None:
    blob = b"0\x82\x05\x1a\x06\t*\x86H\x86\xf7\r\x01\x07\x02\xa0" + bytes(64)
    data = crlf(
        b"""From: signer@example.com
Subject: opaque
MIME-Version: 1.0
Content-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m
Content-Transfer-Encoding: base64

"""
        + b64(blob)
    )
    message = parse_message(data)

    assert [(p.filename, p.declared_type, p.data) for p in message.parts] == [
        ("smime.p7m", "application/pkcs7-mime", blob)
    ]
    assert message.text == ""


def test_calendar_invite_in_an_alternative_becomes_an_ics_file() -> None:
    ics = (
        b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nPRODID:Microsoft Exchange Server 2010\r\n"
        b"VERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:Printer walkthrough\r\n"
        b"DTSTART:20250312T090000Z\r\nDTEND:20250312T093000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    data = crlf(
        b"""From: Organizer <organizer@example.com>
To: support@help.example.com
Subject: Printer walkthrough
Content-Type: multipart/alternative; boundary="_000_AM0PR02MB5555_"
MIME-Version: 1.0

--_000_AM0PR02MB5555_
Content-Type: text/plain; charset="us-ascii"

Let's walk through the printer setup.

--_000_AM0PR02MB5555_
Content-Type: text/html; charset="us-ascii"

<html><body>Let's walk through the printer setup.</body></html>

--_000_AM0PR02MB5555_
Content-Type: text/calendar; charset="utf-8"; method=REQUEST
Content-Transfer-Encoding: base64

"""
        + b64(ics)
        + b"\n--_000_AM0PR02MB5555_--\n"
    )
    message = parse_message(data)

    assert message.text == "Let's walk through the printer setup.\n"
    assert [(p.filename, p.declared_type, p.data) for p in message.parts] == [
        ("invite.ics", "text/calendar", ics)
    ]


def test_forwarded_attachment_keeps_its_declared_name_and_the_whole_message() -> None:
    inner = crlf(
        b"""From: Customer <customer@example.org>
Subject: Invoice question
Message-ID: <inner.1@example.org>

Where is my invoice?
"""
    )
    data = crlf(
        b"""From: Agent <agent@example.com>
Subject: Fwd: Invoice question
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="------------Fw9tW0mP1kQz"
User-Agent: Mozilla Thunderbird

--------------Fw9tW0mP1kQz
Content-Type: text/plain; charset=UTF-8

See attached.
--------------Fw9tW0mP1kQz
Content-Type: message/rfc822; name="Invoice question.eml"
Content-Disposition: attachment; filename="Invoice question.eml"

"""
        + inner
        + b"\n--------------Fw9tW0mP1kQz--\n"
    )
    message = parse_message(data)

    (part,) = message.parts
    assert part.filename == "Invoice question.eml"
    attached = parse_message(part.data)
    assert attached.message_id == "inner.1@example.org"
    assert attached.text.strip() == "Where is my invoice?"
    assert "Where is my invoice" not in message.text
