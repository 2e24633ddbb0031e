"""The classify step: our own mail, bounces, auto-replies and spam are told from a person's mail."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from helpdesk.reply_tokens import LOOP_HEADER, ReplyTokens
from mailgate.inbound import DeliveryReport, Envelope, InboundMessage, MailKind
from mailgate.parse import parse_message
from mailgate.steps.classify import classify
from tests.mailgate.build import inbound

TOKENS = ReplyTokens("test secret")


def classified(msg: InboundMessage) -> InboundMessage:
    return classify(msg, tokens=TOKENS)


@pytest.mark.parametrize(
    ("name", "kind", "evidence"),
    [
        ("steps/own_notification_looped_back", MailKind.LOOP, LOOP_HEADER),
        ("postfix_dsn_user_unknown", MailKind.BOUNCE, "no.such.user@example.org"),
        ("gmail_dsn_mailer_daemon", MailKind.BOUNCE, "5.1.1"),
        ("office365_ndr_undeliverable", MailKind.BOUNCE, "former.employee@acme.test"),
        ("exim_bounce_plain_text", MailKind.BOUNCE, "m.kowalski@example.net"),
        ("gmail_vacation_responder", MailKind.AUTO_REPLY, "Auto-Submitted: auto-replied"),
        ("exchange_auto_reply_automatic_reply", MailKind.AUTO_REPLY, "Auto-Submitted"),
        ("exchange_out_of_office_german", MailKind.AUTO_REPLY, "Auto-Submitted"),
        (
            "steps/exchange2010_oof_abwesend_suppress_all",
            MailKind.AUTO_REPLY,
            "X-Auto-Response-Suppress: All",
        ),
        ("mailing_list_mailman_list_id", MailKind.AUTO_REPLY, "Precedence: list"),
        ("spam_flagged_x_spam_flag", MailKind.SPAM, "X-Spam-Flag: YES"),
        ("steps/rspamd_x_spam_yes", MailKind.SPAM, "X-Spam: Yes"),
        ("steps/office365_junk_scl_9", MailKind.SPAM, "SCL:9"),
        ("steps/outlook_human_mail_with_suppress_all", MailKind.NORMAL, "no header"),
        ("steps/thunderbird_auto_submitted_no_precedence_bulk", MailKind.NORMAL, "no header"),
        ("gmail_reply_on_wrote", MailKind.NORMAL, "no header"),
        ("outlook_reply_from_sent_block", MailKind.NORMAL, "no header"),
        ("thunderbird_top_post_with_signature", MailKind.NORMAL, "no header"),
    ],
)
def test_real_mail_is_classified_with_the_evidence_that_decided(
    eml: Callable[[str], bytes], name: str, kind: MailKind, evidence: str
) -> None:
    msg = classified(parse_message(eml(name)))

    assert msg.kind is kind
    assert evidence in msg.kind_evidence


def test_our_loop_mark_wins_over_every_other_sign() -> None:
    mark = TOKENS.loop_mark("ours@help.example.com")
    headers = ((LOOP_HEADER, mark), ("Auto-Submitted", "auto-generated"), ("X-Spam-Flag", "YES"))

    msg = classified(inbound(message_id="ours@help.example.com", headers=headers))

    assert msg.kind is MailKind.LOOP


def test_a_loop_mark_for_another_message_is_no_loop() -> None:
    mark = TOKENS.loop_mark("other@help.example.com")

    msg = classified(inbound(message_id="ours@help.example.com", headers=((LOOP_HEADER, mark),)))

    assert msg.kind is MailKind.NORMAL


def test_a_bounce_that_also_says_auto_submitted_is_a_bounce() -> None:
    report = DeliveryReport("ticket-1@help.example.com", ("gone@example.org",), "failed", "5.1.1")

    msg = classified(inbound(report=report, headers=(("Auto-Submitted", "auto-replied"),)))

    assert msg.kind is MailKind.BOUNCE
    assert msg.kind_evidence == "a delivery status report (failed 5.1.1) for gone@example.org"


@pytest.mark.parametrize(
    "subject",
    [
        "Undelivered Mail Returned to Sender",
        "Mail delivery failed: returning message to sender",
        "Delivery Status Notification (Failure)",
        "Undeliverable: [#1058] Printer on floor 2 is jammed",
        "Unzustellbar: [#1058] Drucker",
        "Non remis : [#1058] Imprimante",
        "No se puede entregar: [#1058] Impresora",
    ],
)
def test_a_mailer_daemon_with_a_bounce_subject_is_a_bounce_without_a_report(subject: str) -> None:
    msg = classified(
        inbound(
            sender="MAILER-DAEMON@mx.example.org",
            subject=subject,
            envelope=Envelope("", ("support@help.example.com",), "smtp"),
        )
    )

    assert msg.kind is MailKind.BOUNCE


def test_a_postmaster_writing_with_a_real_envelope_sender_is_a_person() -> None:
    msg = classified(
        inbound(
            sender="postmaster@example.org",
            subject="Undeliverable: can you check our MX?",
            envelope=Envelope("postmaster@example.org", ("support@help.example.com",), "smtp"),
        )
    )

    assert msg.kind is MailKind.NORMAL


@pytest.mark.parametrize(
    "subject",
    [
        "Out of Office: [#1058] Printer on floor 2 is jammed",
        "Out of Office AutoReply: Printer",
        "Automatic reply: [#1058] Printer on floor 2 is jammed",
        "Auto-Reply: We received your message",
        "Autoreply",
        "Abwesenheitsnotiz: Drucker im 2. Stock",
        "Automatische Antwort: Drucker",
        "Réponse automatique : Imprimante",
        "Absent du bureau : Imprimante",
        "Respuesta automática: Impresora",
        "Fuera de la oficina: Impresora",
        "Automatisch antwoord: Printer",
        "Afwezig: Printer",
        "Risposta automatica: Stampante",
        "Fuori ufficio: Stampante",
        "Resposta automática: Impressora",
        "Ausente: Impressora",
    ],
)
def test_an_out_of_office_subject_marks_an_auto_reply(subject: str) -> None:
    assert classified(inbound(subject=subject)).kind is MailKind.AUTO_REPLY


@pytest.mark.parametrize(
    "subject",
    [
        "Out of office next week, please pause my ticket",
        "Automatic reply settings do not work in Outlook",
        "How do I set up an out of office message?",
        "Ausente mañana por la tarde",
        "Re: [#1058] Printer on floor 2 is jammed",
    ],
)
def test_a_person_writing_about_absence_is_no_auto_reply(subject: str) -> None:
    assert classified(inbound(subject=subject)).kind is MailKind.NORMAL


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("Auto-Submitted", "auto-replied"),
        ("Auto-Submitted", "auto-generated; owner-email=it@acme.test"),
        ("X-Autoreply", "yes"),
        ("X-Autorespond", "Vacation"),
        ("X-Autogenerated", "Reply"),
        ("Precedence", "bulk"),
        ("Precedence", "junk"),
        ("Precedence", "list"),
        ("Precedence", "auto_reply"),
        ("List-Id", "Announcements <announce.lists.example.org>"),
        ("List-Unsubscribe", "<mailto:leave@lists.example.org>"),
    ],
)
def test_rfc_3834_and_list_headers_mark_an_auto_reply(header: str, value: str) -> None:
    msg = classified(inbound(headers=((header, value),)))

    assert msg.kind is MailKind.AUTO_REPLY
    assert header in msg.kind_evidence


def test_auto_submitted_no_is_a_person_even_with_precedence_bulk() -> None:
    msg = classified(inbound(headers=(("Auto-Submitted", "no"), ("Precedence", "bulk"))))

    assert msg.kind is MailKind.NORMAL


def test_outlooks_suppress_header_alone_is_no_auto_reply() -> None:
    msg = classified(inbound(headers=(("X-Auto-Response-Suppress", "All"),)))

    assert msg.kind is MailKind.NORMAL


@pytest.mark.parametrize("transport", ["smtp", "lmtp"])
def test_an_empty_envelope_sender_marks_automatic_mail(transport: str) -> None:
    msg = classified(inbound(envelope=Envelope("", ("support@help.example.com",), transport)))

    assert msg.kind is MailKind.AUTO_REPLY
    assert "empty envelope sender" in msg.kind_evidence


def test_imported_mail_has_no_envelope_so_none_counts_as_empty() -> None:
    assert classified(inbound(envelope=Envelope())).kind is MailKind.NORMAL


def test_imported_mail_with_an_empty_return_path_is_automatic() -> None:
    msg = classified(inbound(headers=(("Return-Path", "<>"),), envelope=Envelope()))

    assert msg.kind is MailKind.AUTO_REPLY


@pytest.mark.parametrize(
    ("header", "value", "kind"),
    [
        ("X-Spam-Flag", "YES", MailKind.SPAM),
        ("X-Spam-Flag", "NO", MailKind.NORMAL),
        ("X-Spam-Status", "Yes, score=7.1 required=5.0 tests=BAYES_99", MailKind.SPAM),
        ("X-Spam-Status", "No, score=-0.1 required=5.0 tests=DKIM_SIGNED", MailKind.NORMAL),
        ("X-Spam", "Yes", MailKind.SPAM),
        ("X-Forefront-Antispam-Report", "CIP:203.0.113.7;CTRY:;SCL:5;SRV:;", MailKind.SPAM),
        ("X-Forefront-Antispam-Report", "CIP:203.0.113.7;CTRY:;SCL:1;SRV:;", MailKind.NORMAL),
        ("X-Forefront-Antispam-Report", "CIP:203.0.113.7;SCL:-1;SFV:SKI;", MailKind.NORMAL),
        ("X-MS-Exchange-Organization-SCL", "6", MailKind.SPAM),
    ],
)
def test_upstream_spam_flags_mark_spam(header: str, value: str, kind: MailKind) -> None:
    assert classified(inbound(headers=((header, value),))).kind is kind


def test_an_auto_reply_flagged_as_spam_is_an_auto_reply() -> None:
    headers = (("Auto-Submitted", "auto-replied"), ("X-Spam-Flag", "YES"))

    assert classified(inbound(headers=headers)).kind is MailKind.AUTO_REPLY
