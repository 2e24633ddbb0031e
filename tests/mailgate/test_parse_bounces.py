"""Parsing bounces: RFC 3464 reports from Postfix, and the plain-text ones of Exim and qmail."""

from __future__ import annotations

from collections.abc import Callable

from mailgate.inbound import DeliveryReport
from mailgate.parse import parse_message
from tests.mailgate.test_parse import crlf

ORIGINAL = b"""Return-Path: <support@help.example.com>
Received: from help.example.com (help.example.com [203.0.113.10])
	by mail.example.net (Postfix) with ESMTPS id 4Z6QfK1XyVz3v
	for <nobody@example.org>; Tue,  4 Mar 2025 10:20:00 +0100 (CET)
Message-ID: <ticket-42.a1b2c3@help.example.com>
Date: Tue, 04 Mar 2025 09:19:58 +0000
From: Support <support@help.example.com>
To: nobody@example.org
Subject: [#42] Your printer ticket
Auto-Submitted: auto-generated
Content-Type: text/plain; charset=utf-8

We received your request.
"""

POSTFIX_BOUNCE = crlf(
    b"""Return-Path: <>
Received: by mail.example.net (Postfix)
	id 5A1B22C0F3; Tue,  4 Mar 2025 10:20:01 +0100 (CET)
Date: Tue,  4 Mar 2025 10:20:01 +0100 (CET)
From: MAILER-DAEMON@mail.example.net (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: support@help.example.com
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="4Z6QfK1XyVz3v.1741080001/mail.example.net"
Content-Transfer-Encoding: 8bit
Message-Id: <20250304092001.5A1B22C0F3@mail.example.net>

This is a MIME-encapsulated message.

--4Z6QfK1XyVz3v.1741080001/mail.example.net
Content-Description: Notification
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

This is the mail system at host mail.example.net.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

For further assistance, please send mail to postmaster.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system

<nobody@example.org>: host mx.example.org[192.0.2.25] said: 550 5.1.1
    <nobody@example.org>: Recipient address rejected: User unknown in virtual
    mailbox table (in reply to RCPT TO command)

--4Z6QfK1XyVz3v.1741080001/mail.example.net
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.example.net
X-Postfix-Queue-ID: 4Z6QfK1XyVz3v
X-Postfix-Sender: rfc822; support@help.example.com
Arrival-Date: Tue,  4 Mar 2025 10:20:00 +0100 (CET)

Final-Recipient: rfc822; Nobody@Example.org
Original-Recipient: rfc822;nobody@example.org
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.org
Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.org>: Recipient address
    rejected: User unknown in virtual mailbox table

--4Z6QfK1XyVz3v.1741080001/mail.example.net
Content-Description: Undelivered Message
Content-Type: message/rfc822
Content-Transfer-Encoding: 8bit

"""
    + ORIGINAL
    + b"""
--4Z6QfK1XyVz3v.1741080001/mail.example.net--
"""
)


def test_postfix_bounce_reports_the_failed_recipient_and_the_original() -> None:
    message = parse_message(POSTFIX_BOUNCE)

    assert message.report == DeliveryReport(
        original_message_id="ticket-42.a1b2c3@help.example.com",
        recipients=("nobody@example.org",),
        action="failed",
        status="5.1.1",
        diagnostic=(
            "550 5.1.1 <nobody@example.org>: Recipient address rejected: "
            "User unknown in virtual mailbox table"
        ),
    )
    assert message.report.permanent
    assert message.text.startswith("This is the mail system at host mail.example.net.")
    assert [part.filename for part in message.parts] == ["[#42] Your printer ticket.eml"]


def test_postfix_delay_warning_is_temporary_and_names_the_original_from_its_headers() -> None:
    data = crlf(
        b"""From: MAILER-DAEMON@mail.example.net (Mail Delivery System)
Subject: Delayed Mail (still being retried)
To: support@help.example.com
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="8C1E2F.1741100000/mail.example.net"

--8C1E2F.1741100000/mail.example.net
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mail.example.net.

####################################################################
# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #
####################################################################

--8C1E2F.1741100000/mail.example.net
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.example.net

Final-Recipient: rfc822; slow@example.org
Action: delayed
Status: 4.4.1
Diagnostic-Code: X-Postfix; connect to mx.example.org[192.0.2.30]:25: Connection
    timed out
Will-Retry-Until: Tue, 11 Mar 2025 10:20:00 +0100 (CET)

--8C1E2F.1741100000/mail.example.net
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Message-ID: <ticket-43.d4e5f6@help.example.com>
From: Support <support@help.example.com>
Subject: [#43] Update

--8C1E2F.1741100000/mail.example.net--
"""
    )
    report = parse_message(data).report

    assert report is not None
    assert (report.action, report.status, report.recipients) == (
        "delayed",
        "4.4.1",
        ("slow@example.org",),
    )
    assert report.original_message_id == "ticket-43.d4e5f6@help.example.com"
    assert report.diagnostic.startswith("connect to mx.example.org")
    assert not report.permanent


def test_exim_plain_text_bounce_is_read_from_its_prose() -> None:
    data = crlf(
        b"""Return-path: <>
Envelope-to: support@help.example.com
Received: from Debian-exim by mx.example.com with local (Exim 4.96)
	id 1tpQ8a-00032K-1D
	for support@help.example.com; Tue, 04 Mar 2025 10:21:12 +0100
X-Failed-Recipients: someone@example.com
Auto-Submitted: auto-replied
From: Mail Delivery System <Mailer-Daemon@mx.example.com>
To: support@help.example.com
Content-Type: text/plain; charset=us-ascii
Subject: Mail delivery failed: returning message to sender
Message-Id: <E1tpQ8a-00032K-1D@mx.example.com>
Date: Tue, 04 Mar 2025 10:21:12 +0100

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  Someone@example.com
    host mx1.example.com [198.51.100.7]
    SMTP error from remote mail server after RCPT TO:<someone@example.com>:
    550 5.1.1 <someone@example.com>: Recipient address rejected: User unknown

------ This is a copy of the message, including all the headers. ------

Return-path: <support@help.example.com>
Message-ID: <ticket-7.f00d@help.example.com>
From: Support <support@help.example.com>
To: someone@example.com
Subject: [#7] We received your request
Date: Tue, 04 Mar 2025 09:21:10 +0000

Hello,
we received your request.
"""
    )
    message = parse_message(data)

    assert message.report is not None
    assert message.report.recipients == ("someone@example.com",)
    assert message.report.original_message_id == "ticket-7.f00d@help.example.com"
    assert (message.report.action, message.report.status) == ("failed", "5.1.1")
    assert "Recipient address rejected: User unknown" in message.report.diagnostic


def test_qmail_bounce_is_read_from_its_prose() -> None:
    data = crlf(
        b"""Return-Path: <>
Date: 4 Mar 2025 09:30:00 -0000
From: MAILER-DAEMON@mail.example.net
To: support@help.example.com
Subject: failure notice

Hi. This is the qmail-send program at mail.example.net.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<gone@example.net>:
192.0.2.44 does not like recipient.
Remote host said: 550 5.1.1 <gone@example.net>... User unknown
Giving up on 192.0.2.44.

--- Below this line is a copy of the message.

Return-Path: <support@help.example.com>
Message-ID: <ticket-9.beef@help.example.com>
Subject: [#9] Hello

Hi
"""
    )
    report = parse_message(data).report

    assert report is not None
    assert report.recipients == ("gone@example.net",)
    assert report.original_message_id == "ticket-9.beef@help.example.com"
    assert report.permanent


def test_report_without_report_type_is_still_read(eml: Callable[[str], bytes]) -> None:
    report = parse_message(eml("cpython/msg_16.txt")).report

    assert report is not None
    assert report.recipients == ("jangel1@cougar.noc.ucla.edu",)
    assert report.original_message_id == "002001c144a6$8752e060$56104586@oxy.edu"
    assert report.status == "5.0.0"


def test_report_with_a_broken_boundary_is_read_from_its_text(
    eml: Callable[[str], bytes],
) -> None:
    report = parse_message(eml("cpython/msg_25.txt")).report

    assert report is not None
    assert report.recipients == ("scoffman@wellpartner.com",)
    assert (report.action, report.status) == ("failed", "5.4.6")
    assert report.original_message_id == "01040616033903.00962@server"


def test_ordinary_mail_has_no_report(eml: Callable[[str], bytes]) -> None:
    assert parse_message(eml("cpython/msg_01.txt")).report is None


def test_global_report_for_an_international_address_is_read() -> None:
    data = crlf(
        b"""From: MAILER-DAEMON@mx.example.de
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=global-delivery-status;
	boundary="5B2F.1741200000/mx.example.de"

--5B2F.1741200000/mx.example.de
Content-Type: text/plain; charset=utf-8

The mail system could not deliver your message.

--5B2F.1741200000/mx.example.de
Content-Type: message/global-delivery-status

Reporting-MTA: dns; mx.example.de

Final-Recipient: utf-8; J\xc3\xb6rg@example.de
Action: failed
Status: 5.1.1

--5B2F.1741200000/mx.example.de--
"""
    )
    report = parse_message(data).report

    assert report is not None
    assert (report.recipients, report.status) == (("jörg@example.de",), "5.1.1")
