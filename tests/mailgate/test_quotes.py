"""The quotes step alone: the visible reply without quoted history, inline answers kept."""

from __future__ import annotations

import pytest

from helpdesk.reply_marker import REPLY_ABOVE_THIS_LINE
from mailgate.steps import quotes
from mailgate.steps.quotes import is_forward, strip_quotes
from tests.mailgate.build import inbound

QUOTE = "> Hello,\n>\n> the fuser unit was replaced.\n>\n> ACME Support\n"


def visible(text: str, subject: str = "Re: [#1042] Printer on floor 2 is jammed") -> str:
    return strip_quotes(inbound(text=text, subject=subject)).visible_text


def test_gmail_reply_loses_the_attribution_and_the_quote_under_it() -> None:
    text = (
        "Thanks, it works.\n\nJane\n\nOn Mon, 3 Mar 2025 at 10:12, Bob <bob@acme.test> wrote:\n\n"
    )
    assert visible(text + QUOTE) == "Thanks, it works.\n\nJane"


def test_attribution_wrapped_over_two_lines_by_gmail_is_still_found() -> None:
    text = (
        "Thanks, it works.\n\nOn Mon, 3 Mar 2025 at 10:12, Bob Smith (ACME Support) <\n"
        "support@help.example.com> wrote:\n\n"
    )
    assert visible(text + QUOTE) == "Thanks, it works."


@pytest.mark.parametrize(
    "attribution",
    [
        "On Mon, Mar 3, 2025 at 10:12 AM Bob Smith <bob@acme.test> wrote:",
        "On 03.03.25 10:12, Bob Smith wrote:",
        "Am Mo., 3. März 2025 um 10:12 Uhr schrieb Bob Smith <bob@acme.test>:",
        "Am 03.03.25 um 10:12 schrieb Bob Smith:",
        "Le lun. 3 mars 2025 à 10:12, Bob Smith <bob@acme.test> a écrit :",
        "El lun, 3 mar 2025 a las 10:12, Bob Smith (<bob@acme.test>) escribió:",
        "Op ma 3 mrt 2025 om 10:12 schreef Bob Smith <bob@acme.test>:",
        "Op 3 mrt 2025 om 10:12 heeft Bob Smith <bob@acme.test> het volgende geschreven:",
        "Il giorno lun 3 mar 2025 alle ore 10:12 Bob Smith <bob@acme.test> ha scritto:",
        "Il 03/03/25 10:12, Bob Smith ha scritto:",
        "Em seg., 3 de mar. de 2025 às 10:12, Bob Smith <bob@acme.test> escreveu:",
        "Den 3 mars 2025 kl. 10:12 skrev Bob Smith <bob@acme.test>:",
    ],
)
def test_on_wrote_attribution_is_cut_in_each_language(attribution: str) -> None:
    assert visible(f"Merci, ça marche.\n\n{attribution}\n{QUOTE}") == "Merci, ça marche."


def test_apple_mail_attribution_inside_the_quote_is_cut_with_it() -> None:
    text = "Great, stable again.\n\n> On 3 Mar 2025, at 10:12, Bob <bob@acme.test> wrote:\n> \n"
    assert visible(text + QUOTE) == "Great, stable again."


@pytest.mark.parametrize(
    ("sender", "sent", "to", "subject"),
    [
        ("From", "Sent", "To", "Subject"),
        ("Von", "Gesendet", "An", "Betreff"),
        ("De\xa0", "Envoyé\xa0", "À\xa0", "Objet\xa0"),
        ("De", "Enviado el", "Para", "Asunto"),
        ("Van", "Verzonden", "Aan", "Onderwerp"),
        ("Da", "Inviato", "A", "Oggetto"),
        ("De", "Enviada", "Para", "Assunto"),
        ("De", "Enviado em", "Para", "Assunto"),
    ],
)
def test_outlook_header_block_is_cut_in_each_language(
    sender: str, sent: str, to: str, subject: str
) -> None:
    block = (
        f"{sender}: ACME Support <support@help.example.com>\n{sent}: 3/3/2025 10:12\n"
        f"{to}: Emma Clark <emma@acme.test>\n{subject}: [#1044] Toner\n\nHello Emma,\nold text\n"
    )
    assert visible(f"It works.\n\nEmma\n\n{block}") == "It works.\n\nEmma"


def test_outlook_underscore_line_cuts_everything_below() -> None:
    text = "Works now!\n\nGet Outlook for iOS\n" + "_" * 32 + "\nFrom: ACME\nSent: Mon\n\nold\n"
    assert visible(text) == "Works now!\n\nGet Outlook for iOS"


@pytest.mark.parametrize(
    "separator",
    [
        "-----Original Message-----",
        "-----Ursprüngliche Nachricht-----",
        "-----Message d'origine-----",
        "-----Mensaje original-----",
        "-----Oorspronkelijk bericht-----",
        "-----Messaggio originale-----",
        "-----Mensagem original-----",
    ],
)
def test_original_message_separator_is_cut_in_each_language(separator: str) -> None:
    text = f"Still broken.\n\nNoah\n\n{separator}\nFrom: ACME\nSubject: screen\n\nold text\n"
    assert visible(text) == "Still broken.\n\nNoah"


def test_trailing_quote_without_attribution_is_cut() -> None:
    assert visible("Sounds good.\n\n" + QUOTE) == "Sounds good."


def test_answers_between_quoted_lines_are_kept_with_the_quotes() -> None:
    text = (
        "On 03.03.25 10:12, Bob wrote:\n> 1. Which model?\nHP M507.\n\n"
        "> 2. Any error code?\n13.B2.D2\n\n> Kind regards,\n> Bob\n"
    )
    assert visible(text) == text.rstrip().replace("\n\n> Kind regards,\n> Bob", "")


def test_answer_below_the_whole_quote_is_kept() -> None:
    text = "On 03.03.25 10:12, Bob wrote:\n" + QUOTE + "\nThanks, it works now.\n"
    assert visible(text) == text.rstrip()


def test_inline_answers_keep_the_signature_that_follows_them() -> None:
    text = "Hi Bob,\n\n> Which model?\nHP M507.\n\n-- \nTom Becker\nExample Net GmbH\n"
    assert (
        visible(text) == "Hi Bob,\n\n> Which model?\nHP M507.\n\n--\nTom Becker\nExample Net GmbH"
    )


def test_answers_stop_at_an_outlook_block_below_them() -> None:
    text = "Hi,\n> Which model?\nHP M507.\n\nFrom: ACME\nSent: Monday\n\nolder history\n"
    assert visible(text) == "Hi,\n> Which model?\nHP M507."


def test_mail_that_is_only_a_quote_keeps_its_full_text() -> None:
    text = "On Mon, 3 Mar 2025 at 10:12, Bob <bob@acme.test> wrote:\n" + QUOTE
    assert visible(text) == text.rstrip()


def test_marker_wins_and_cuts_everything_from_its_line_down() -> None:
    text = (
        "Tuesday works.\n\nOn Mon, 3 Mar 2025 at 10:12, ACME Support <support@help.example.com>"
        f" wrote:\n\n> {REPLY_ABOVE_THIS_LINE}\n> Which day suits you?\n"
        "Unquoted text below the marker is still our notification.\n"
    )
    assert visible(text) == "Tuesday works."


def test_marker_in_an_outlook_reply_takes_the_header_block_above_it_too() -> None:
    text = (
        "Tuesday works.\n\nFrom: ACME Support\nSent: Monday\nTo: Emma\nSubject: [#1056]\n\n"
        f"{REPLY_ABOVE_THIS_LINE}\n\nWhich day suits you?\n"
    )
    assert visible(text) == "Tuesday works."


def test_reply_written_under_the_marker_keeps_the_full_text() -> None:
    text = f"> {REPLY_ABOVE_THIS_LINE}\n> Which day suits you?\n\nTuesday works.\n"
    assert visible(text) == text.rstrip()


def test_signature_above_the_quote_is_kept() -> None:
    text = (
        "It works again.\n\nBest regards,\nAnna Schmidt\n\n-- \nAnna Schmidt\nPhone 1234\n\n"
        "On 03.03.25 10:12, ACME Support wrote:\n" + QUOTE
    )
    assert visible(text) == (
        "It works again.\n\nBest regards,\nAnna Schmidt\n\n--\nAnna Schmidt\nPhone 1234"
    )


FORWARDED = (
    "Can you check this invoice?\n\n---------- Forwarded message ---------\n"
    "From: ACME Billing <billing@acme.test>\nDate: Mon, 3 Mar 2025 at 09:41\n"
    "Subject: Invoice 2025-117 overdue\nTo: Jane <jane@example.com>\n\nInvoice 2025-117 is due.\n"
)


def test_forward_keeps_the_forwarded_block() -> None:
    assert visible(FORWARDED, subject="Fwd: Invoice 2025-117 overdue") == FORWARDED.rstrip()


def test_forward_line_keeps_the_forwarded_block_whatever_the_subject() -> None:
    assert visible(FORWARDED, subject="Invoice") == FORWARDED.rstrip()


def test_outlook_forward_by_subject_keeps_the_block_under_the_underscore_line() -> None:
    text = "Please handle.\n" + "_" * 32 + "\nFrom: Vendor\nSent: Monday\n\nInvoice attached.\n"
    assert visible(text, subject="WG: Invoice") == text.rstrip()


def test_reply_whose_quote_holds_a_forward_is_still_cut() -> None:
    text = "Paid.\n\nOn Mon, 3 Mar 2025 at 10:12, Jane <jane@example.com> wrote:\n> " + (
        FORWARDED.replace("\n", "\n> ")
    )
    assert visible(text, subject="Re: Fwd: Invoice") == "Paid."


@pytest.mark.parametrize(
    ("subject", "forward"),
    [
        ("Fwd: Invoice", True),
        ("FW: Invoice", True),
        ("WG: Rechnung", True),
        ("TR : Facture", True),
        ("I: Fattura", True),
        ("AW: WG: Re: Temperaturalarm", False),
        ("Re: Fwd: Invoice", False),
        ("Invoice 2025-117", False),
    ],
)
def test_only_the_first_subject_prefix_decides_a_forward(subject: str, forward: bool) -> None:
    assert is_forward(subject) is forward


def test_text_made_from_html_loses_the_indented_quote_after_the_attribution() -> None:
    # HTML turned to text indents a blockquote instead of prefixing ">".
    text = (
        "  Thanks, fixed.\n\n    Jane\n\n"
        "    On Mon, 3 Mar 2025 at 10:12, Bob <b@acme.test> wrote:\n"
        "    Hello,\n      the printer\n"
    )
    assert visible(text) == "  Thanks, fixed.\n\n    Jane"


def test_sentence_ending_in_wrote_is_not_taken_for_an_attribution() -> None:
    text = "Thanks.\n\nOn the form, as my colleague wrote:\nthe printer is an HP M507.\n"
    assert visible(text) == text.rstrip()


def test_trailing_blank_lines_and_spaces_are_trimmed_and_crlf_read() -> None:
    text = "\r\n\r\nThanks!   \r\n\r\n\r\nOn 03.03.25 10:12, Bob wrote:\r\n> old\r\n\r\n"
    assert visible(text) == "Thanks!"


def test_full_text_stays_as_it_came() -> None:
    text = "Thanks.\n\nOn 03.03.25 10:12, Bob wrote:\n" + QUOTE
    msg = strip_quotes(inbound(text=text))
    assert (msg.text, msg.visible_text) == (text, "Thanks.")


def test_empty_text_gives_empty_visible_text() -> None:
    assert visible("") == ""


def test_swedish_header_block_only_the_library_knows_is_cut() -> None:
    text = (
        "Tack, nu fungerar det.\n\nLena\n\n"
        "Från: ACME Support <support@acme.test>\nSkickat: den 3 mars 2025 10:12\n"
        "Till: Lena <lena@client.example>\nÄmne: Skrivaren\n\nHej Lena, starta om den.\n"
    )
    assert visible(text) == "Tack, nu fungerar det.\n\nLena"


def test_the_library_is_asked_only_where_its_headers_can_begin() -> None:
    # Its patterns start at a line or at the newline before one: trying only
    # there finds what a scan of every position finds.
    texts = [
        "Hi\n\nFrån: A\nSkickat: 3 mars 2025\nTill: B\n",
        "x\n\n\nDen 3. mar. 2025 kl. 10.12 skrev Bob <bob@acme.test>:\n> q",
        "On Mon\n3 Mar 2025 Bob\nwrote:\nrest",
        "-----Original Message-----\nFrom: a\nSent: 3 March 2025\nDate: 3\n",
        "2025年3月3日(月) 10:12 Bob <bob@acme.test>:\n",
        "Von: x\nGesendet: 3. März\n\nVon: y\nGesendet: 4. März 2025\n",
    ]
    for text in texts:
        scanned = [m.span() for m in quotes._LIBRARY_HEADERS.finditer(text)]
        assert [m.span() for m in quotes._library_matches(text)] == scanned, text
