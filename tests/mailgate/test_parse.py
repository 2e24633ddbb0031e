"""Parsing raw e-mail bytes: headers, addresses, ids, dates and bodies, on real shapes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailgate.inbound import Address, Envelope
from mailgate.parse import MalformedMessage, parse_message
from tests.mailgate.conftest import MAIL_DIR

CPYTHON = sorted(path.name for path in (MAIL_DIR / "cpython").glob("msg_*.txt"))
# msg_19 is the body of a digest without any header: nothing a mailbox would deliver.
HEADERLESS = {"msg_19.txt"}


def crlf(data: bytes) -> bytes:
    """Return the mail with CRLF line endings, as it travels over SMTP."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


GMAIL_ALTERNATIVE = crlf(
    b"""MIME-Version: 1.0
Date: Tue, 4 Mar 2025 10:15:32 +0100
Message-ID: <CAHk7x9pQ3f=Wn0Lr2bX8gQ_k1@mail.gmail.com>
In-Reply-To: <ticket-41.9f8e7d@help.example.com>
References: <CAHk7x9oA1@mail.gmail.com>
 (Jane's first mail) <ticket-41.9f8e7d@help.example.com>
  <ticket-41.9f8e7d@help.example.com>
Subject: =?UTF-8?Q?Drucker_im_2=2E_Stock_funktioniert_nicht_=E2=80=93_dringend?=
From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <Juergen.Mueller@Example.DE>
To: support@help.example.com
Cc: =?UTF-8?Q?Wei=C3=9F=2C_Anna?= <Anna.Weiss@example.de>, it@example.de
Content-Type: multipart/alternative; boundary="000000000000a1b2c3d4e5f60718"

--000000000000a1b2c3d4e5f60718
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

Hallo,

der Drucker im 2. Stock zeigt =E2=80=9EPapierstau=E2=80=9C, obwohl kein Papi=
er drin ist.

Gr=C3=BC=C3=9Fe
J=C3=BCrgen

--000000000000a1b2c3d4e5f60718
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

<div dir=3D"ltr">Hallo,<div><br></div><div>der Drucker im 2. Stock zeigt =
=E2=80=9EPapierstau=E2=80=9C, obwohl kein Papier drin ist.</div><div><br></=
div><div>Gr=C3=BC=C3=9Fe</div><div>J=C3=BCrgen</div></div>

--000000000000a1b2c3d4e5f60718--
"""
)


def test_every_cpython_sample_parses_unless_it_has_no_header_at_all(
    eml: Callable[[str], bytes],
) -> None:
    for name in CPYTHON:
        data = eml(f"cpython/{name}")
        if name in HEADERLESS:
            with pytest.raises(MalformedMessage):
                parse_message(data)
        else:
            message = parse_message(data)
            assert message.raw_size == len(data)
            assert message.headers


def test_every_client_shaped_fixture_parses(eml: Callable[[str], bytes]) -> None:
    for path in sorted(MAIL_DIR.glob("*.eml")):
        message = parse_message(eml(path.name))
        assert message.headers, path.name


def test_eml_fixture_loads_names_with_and_without_the_extension(
    eml: Callable[[str], bytes],
) -> None:
    assert eml("cpython/msg_01.txt").startswith(b"Return-Path:")
    some_eml = next(path for path in Path(MAIL_DIR).glob("*.eml"))
    assert eml(some_eml.stem) == eml(some_eml.name) == some_eml.read_bytes()


def test_simple_mail_gives_sender_ids_date_and_subject(eml: Callable[[str], bytes]) -> None:
    message = parse_message(eml("cpython/msg_01.txt"))

    assert message.sender == Address("bbb@ddd.com", "John X. Doe")
    assert message.to == (Address("bbb@zzz.org", ""),)
    assert message.message_id == "15090.61304.110929.45684@aaa.zzz.org"
    assert message.subject == "This is a test message"
    assert message.date == datetime(2001, 5, 4, 18, 5, 44, tzinfo=UTC)
    assert message.text == "\nHi,\n\nDo you like this message?\n\n-Me\n"
    assert message.defects == ()


def test_headers_are_kept_in_order_with_names_as_written(eml: Callable[[str], bytes]) -> None:
    message = parse_message(eml("cpython/msg_01.txt"))

    names = [name for name, _ in message.headers]
    assert names[:3] == ["Return-Path", "Delivered-To", "Received"]
    assert message.header("message-id") == "<15090.61304.110929.45684@aaa.zzz.org>"


def test_attached_message_becomes_an_eml_file_named_after_its_subject(
    eml: Callable[[str], bytes],
) -> None:
    message = parse_message(eml("cpython/msg_46.txt"))

    (part,) = message.parts
    assert part.filename == "GroupwiseForwardingTest.eml"
    assert part.declared_type == "message/rfc822"
    assert b"Subject: GroupwiseForwardingTest" in part.data
    assert parse_message(part.data).subject == "GroupwiseForwardingTest"


def test_digest_of_messages_keeps_each_as_an_eml_file(eml: Callable[[str], bytes]) -> None:
    message = parse_message(eml("cpython/msg_02.txt"))

    names = [part.filename for part in message.parts]
    assert names[0] == "[Ppp] testing #1.eml"
    assert len(names) == 5
    assert "Send Ppp mailing list submissions to" in message.text


def test_rfc2231_charset_parameter_does_not_stop_the_body_from_reading(
    eml: Callable[[str], bytes],
) -> None:
    message = parse_message(eml("cpython/msg_32.txt"))

    assert message.text == "Some message.\n"


def test_pgp_signed_mail_reads_the_content_and_keeps_the_signature(
    eml: Callable[[str], bytes],
) -> None:
    message = parse_message(eml("cpython/msg_45.txt"))

    assert message.text == "This is the signed contents.\n"
    assert [(p.filename, p.declared_type) for p in message.parts] == [
        ("signature.asc", "application/pgp-signature")
    ]


def test_alternative_with_broken_nesting_still_prefers_the_plain_text(
    eml: Callable[[str], bytes],
) -> None:
    message = parse_message(eml("cpython/msg_15.txt"))

    assert message.text.strip() == "Some removed test."
    assert "Some removed text." in message.html
    assert "mime: StartBoundaryNotFoundDefect" in message.defects


def test_gmail_alternative_decodes_encoded_words_and_quoted_printable() -> None:
    message = parse_message(GMAIL_ALTERNATIVE)

    assert message.subject == "Drucker im 2. Stock funktioniert nicht \N{EN DASH} dringend"
    assert message.sender == Address("juergen.mueller@example.de", "Jürgen Müller")
    assert message.cc == (
        Address("anna.weiss@example.de", "Weiß, Anna"),
        Address("it@example.de", ""),
    )
    assert "zeigt „Papierstau“, obwohl kein Papier drin ist." in message.text
    assert message.text.endswith("Grüße\nJürgen\n")
    assert "\r" not in message.text
    assert message.html.startswith('<div dir="ltr">Hallo,')
    assert message.header("subject") == message.subject


def test_reference_ids_lose_brackets_comments_and_repeats() -> None:
    message = parse_message(GMAIL_ALTERNATIVE)

    assert message.message_id == "CAHk7x9pQ3f=Wn0Lr2bX8gQ_k1@mail.gmail.com"
    assert message.in_reply_to == ("ticket-41.9f8e7d@help.example.com",)
    assert message.references == (
        "CAHk7x9oA1@mail.gmail.com",
        "ticket-41.9f8e7d@help.example.com",
    )


def test_in_reply_to_written_as_prose_yields_only_the_bracketed_id() -> None:
    data = crlf(
        b"""From: old@example.com
Subject: Re: hello
In-Reply-To: <4F2A.1@mail.example.com> (message from Bob on Mon, 3 Mar 2025)
References: junk text bob@example.com
Message-ID: bare-id@legacy.example.com

ok
"""
    )
    message = parse_message(data)

    assert message.in_reply_to == ("4F2A.1@mail.example.com",)
    assert message.references == ()
    assert message.message_id == "bare-id@legacy.example.com"


def test_outlook_quoted_encoded_words_and_groups_in_addresses_are_read() -> None:
    data = crlf(
        b"""From: "=?iso-8859-1?Q?Ren=E9e_Fran=E7ois?=" <Renee.Francois@Example.FR>
To: undisclosed-recipients:;
Cc: Team: anna@example.org, Bob <BOB@example.org>;, "Anna" <anna@example.org>
Reply-To: Foo Bar <foo@bar.com
Subject: Adresses
Date: Mon, 3 Mar 2025 17:02:11 +0100

Bonjour
"""
    )
    message = parse_message(data)

    assert message.sender == Address("renee.francois@example.fr", "Renée François")
    assert message.to == ()
    assert message.cc == (Address("anna@example.org", ""), Address("bob@example.org", "Bob"))
    assert message.reply_to == ()
    assert "address: unreadable entries in reply-to were skipped" in message.defects


def test_dates_are_converted_to_utc_and_unreadable_ones_are_none() -> None:
    def date_of(value: bytes) -> datetime | None:
        return parse_message(b"From: a@example.com\nDate: " + value + b"\n\nx\n").date

    assert date_of(b"Tue, 4 Mar 2025 10:15:32 +0100") == datetime(2025, 3, 4, 9, 15, 32, tzinfo=UTC)
    assert date_of(b"4 Mar 2025 10:15 EST") == datetime(2025, 3, 4, 15, 15, tzinfo=UTC)
    assert date_of(b"Tue, 4 Mar 2025 10:15:32") == datetime(2025, 3, 4, 10, 15, 32, tzinfo=UTC)
    assert date_of(b"next Tuesday") is None
    message = parse_message(b"From: a@example.com\nDate: next Tuesday\n\nx\n")
    assert any(defect.startswith("date:") for defect in message.defects)


def test_raw_utf8_and_cp1252_headers_are_decoded() -> None:
    data = (
        b"From: =?utf-8?q?Zo=C3=AB?= <zoe@example.com>\r\n"
        b"Subject: Gr\xc3\xbc\xc3\x9fe aus\r\n  K\xc3\xb6ln\r\n"
        b"X-Old-Client: Caf\xe9 \x93quoted\x94\r\n"
        b"\r\nbody\r\n"
    )
    message = parse_message(data)

    assert message.subject == "Grüße aus Köln"
    assert message.header("x-old-client") == "Café “quoted”"
    assert message.sender == Address("zoe@example.com", "Zoë")


def test_body_declared_latin1_but_written_in_utf8_reads_as_utf8() -> None:
    data = crlf(
        b"""From: webform@shop.example.com
To: support@help.example.com
Subject: Contact form
X-Mailer: PHPMailer 5.2.9 (https://github.com/PHPMailer/PHPMailer/)
MIME-Version: 1.0
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: 8bit

Name: J\xc3\xbcrgen M\xc3\xbcller
Nachricht: Die Rechnung f\xc3\xbcr M\xc3\xa4rz fehlt.
"""
    )
    message = parse_message(data)

    assert message.text == "Name: Jürgen Müller\nNachricht: Die Rechnung für März fehlt.\n"
    assert any(defect.startswith("charset:") for defect in message.defects)


def test_body_declared_utf8_but_written_in_windows_1252_falls_back() -> None:
    data = crlf(
        b"""From: Old Client <old@example.com>
Subject: Invoice
MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: 8bit

The \x93urgent\x94 invoice costs 12 \x80 \x96 please pay.
"""
    )
    message = parse_message(data)

    assert message.text == "The “urgent” invoice costs 12 € \N{EN DASH} please pay.\n"


def test_unknown_and_outlook_korean_charsets_still_decode() -> None:
    unknown = parse_message(
        b"From: a@example.com\nContent-Type: text/plain; charset=x-user-defined\n"
        b"Content-Transfer-Encoding: 8bit\n\nS\xc3\xbc\xc3\x9f\n"
    )
    korean = parse_message(
        b"From: a@example.kr\nContent-Type: text/plain; charset=ks_c_5601-1987\n"
        b"Content-Transfer-Encoding: 8bit\n\n" + "안녕하세요".encode("cp949") + b"\n"
    )

    assert unknown.text == "Süß\n"
    assert korean.text == "안녕하세요\n"


def test_html_only_mail_gets_readable_text_without_markup() -> None:
    data = crlf(
        b"""From: "Sato, Ken" <ken.sato@example.jp>
To: support@help.example.com
Subject: VPN
Date: Wed, 5 Mar 2025 08:01:00 +0000
Message-ID: <TYCP286MB1234ABCD@TYCP286MB1234.JPNP286.PROD.OUTLOOK.COM>
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: quoted-printable
MIME-Version: 1.0

<html><head><meta http-equiv=3D"Content-Type" content=3D"text/html; charset=
=3Dutf-8"><style>p.MsoNormal{margin:0cm;font-family:"Calibri"}</style></hea=
d><body lang=3D"EN-US"><div class=3D"WordSection1"><p class=3D"MsoNormal">D=
ear support team,</p><p class=3D"MsoNormal">the VPN drops every <b>10 minut=
es</b>. See <a href=3D"https://status.example.jp/vpn">the status page</a>.<=
/p><ul><li>Windows 11</li><li>Client 5.2</li></ul><p class=3D"MsoNormal">Th=
anks,<br>Ken</p></div></body></html>
"""
    )
    message = parse_message(data)

    assert message.html.startswith("<html>")
    assert "Dear support team," in message.text
    assert "the VPN drops every 10 minutes. See the status page." in message.text
    assert "* Windows 11" in message.text
    assert "MsoNormal" not in message.text
    assert "<" not in message.text


def test_format_flowed_text_is_joined_into_paragraphs() -> None:
    # Soft line breaks end in a space (RFC 3676); "-- " is the signature separator.
    data = crlf(
        b"""From: Jane <jane@example.org>
Subject: Re: flowed
User-Agent: Mozilla Thunderbird
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 7bit

This line was written as one long line and the client wrapped it at_
seventy-two characters for the wire.

On 03/03/2025 10:00, Support wrote:
> We need the serial number of the device_
> you are using.
--_
Jane
""".replace(b"_\n", b" \n")
    )
    message = parse_message(data)

    assert message.text.startswith(
        "This line was written as one long line and the client wrapped it at "
        "seventy-two characters for the wire.\n"
    )
    assert "> We need the serial number of the device you are using.\n-- \nJane" in message.text


def test_envelope_is_kept_as_given() -> None:
    envelope = Envelope("bounce@example.org", ("support@help.example.com",), "smtp")

    assert parse_message(GMAIL_ALTERNATIVE, envelope).envelope == envelope
    assert parse_message(GMAIL_ALTERNATIVE).envelope == Envelope()


@pytest.mark.parametrize(
    "data",
    [b"", b"   \r\n\r\n", b"no header here, just words\nand more words\n", b"\xff\xfe\x00\x01"],
)
def test_bytes_without_a_header_block_are_malformed(data: bytes) -> None:
    with pytest.raises(MalformedMessage):
        parse_message(data)
