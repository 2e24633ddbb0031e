"""The regression corpus: real-shaped mails parse, and each reply shows what its sender wrote."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from mailgate.parse import parse_message
from mailgate.steps.quotes import strip_quotes
from tests.mailgate.conftest import MAIL_DIR

CORPUS = sorted(path.name for path in MAIL_DIR.glob("*.eml"))


@dataclass(frozen=True)
class Pinned:
    """What the visible text of one corpus reply must look like."""

    first: str  # the reply's first line
    last: str  # its last line: a kept signature, answer or forwarded line
    gone: str | None = None  # a line of the quoted history, which must not show
    kept: str | None = None  # a line inside the reply that must stay (an inline answer)


REPLIES = {
    "gmail_reply_on_wrote": Pinned("Hi Bob,", "Jane", gone="We have replaced the fuser unit"),
    "gmail_reply_german_am_schrieb": Pinned(
        "Hallo Herr Smith,", "Jürgen Müller", gone="wir haben die Fixiereinheit getauscht"
    ),
    "gmail_reply_portuguese_em_escreveu": Pinned(
        "Bom dia,", "João Silva", gone="Reiniciamos o servidor de VPN"
    ),
    "gmail_reply_above_helpdesk_marker": Pinned(
        "Yes, please go ahead and replace it tomorrow morning.",
        "Jane",
        gone="Please type your reply above this line",
    ),
    "gmail_reply_inline_answers": Pinned(
        "On Mon, 3 Mar 2025 at 10:12, Bob Smith (ACME Support) <support@help.example.com> wrote:",
        "Jane",
        kept="Yes: 13.B2.D2, a jam in the fuser area.",
    ),
    "gmail_forward_fwd": Pinned(
        "Hi, can you check this invoice? We paid it on 24 February.",
        "ACME Billing",
        kept="Our records show that invoice 2025-117 over EUR 1,250.00 is 14 days overdue.",
    ),
    "outlook_reply_from_sent_block": Pinned(
        "Hi Bob,", "Office Manager | ACME Corp.", gone="A new toner cartridge was delivered"
    ),
    "outlook_web_reply_underscore_line": Pinned(
        "Works now, thanks a lot!",
        "Get Outlook for iOS<https://aka.ms/o0ukef>",
        gone="Your account was locked",
    ),
    "outlook_reply_french_de_envoye": Pinned(
        "Bonjour,", "Camille Martin", gone="Nous avons ajouté vos droits"
    ),
    "outlook_reply_dutch_van_verzonden": Pinned(
        "Hoi,", "Daan de Vries", gone="staat klaar bij de receptie"
    ),
    "outlook_plain_text_original_message": Pinned(
        "Hi,", "Noah", gone="We pushed a firmware update"
    ),
    "outlook_reply_above_marker": Pinned(
        "Tuesday at 14:00 works for us.", "Emma", gone="Which day suits you"
    ),
    "outlook_reply_with_winmail_dat": Pinned(
        "Hi,", "Emma", gone="Could you send us the signed quote"
    ),
    "apple_mail_reply_blockquote_cite": Pinned(
        "Great, the Wi-Fi in the warehouse is stable again.",
        "Oliver",
        gone="We replaced the access point",
    ),
    "apple_mail_reply_spanish_el_escribio": Pinned(
        "Hola,", "Lucía", gone="Hemos instalado el controlador"
    ),
    "thunderbird_reply_moz_cite_prefix": Pinned(
        "Hi,", "Tom", gone="We restarted the scan-to-mail service"
    ),
    "thunderbird_reply_italian_ha_scritto": Pinned(
        "Buongiorno,", "Giulia Rossi", gone="abbiamo portato la sua casella"
    ),
    "thunderbird_top_post_with_signature": Pinned(
        "Hello,", "Phone +49 30 1234567", gone="We re-enrolled your badge"
    ),
    "thunderbird_inline_answers_interleaved": Pinned(
        "Hi Bob,", "Tom", kept="A headset, the desk is shared."
    ),
    "stripped_headers_aw_wg_re": Pinned(
        "Hallo zusammen,", "Klaus", gone="Temperatur im Serverraum"
    ),
}


@pytest.mark.parametrize("name", sorted(REPLIES))
def test_corpus_reply_shows_the_reply_and_hides_the_history(
    name: str, eml: Callable[[str], bytes]
) -> None:
    pinned = REPLIES[name]
    msg = strip_quotes(parse_message(eml(name)))
    lines = msg.visible_text.splitlines()
    assert (lines[0], lines[-1]) == (pinned.first, pinned.last)
    if pinned.gone is not None:
        assert pinned.gone not in msg.visible_text
        assert pinned.gone in msg.text
    if pinned.kept is not None:
        assert pinned.kept in msg.visible_text


def test_inline_answers_keep_the_questions_they_answer(eml: Callable[[str], bytes]) -> None:
    msg = strip_quotes(parse_message(eml("thunderbird_inline_answers_interleaved")))
    questions = ("> 1. Your extension number?", "> 2. Do you want voicemail to e-mail?")
    answers = ("It is 4711.", "Yes, to tom.becker@example.net please.")
    assert all(line in msg.visible_text for line in questions + answers)


@pytest.mark.parametrize("name", CORPUS)
def test_every_corpus_mail_parses_and_never_shows_an_empty_reply(
    name: str, eml: Callable[[str], bytes]
) -> None:
    msg = strip_quotes(parse_message(eml(name)))
    assert msg.text.strip() != ""
    assert msg.visible_text.strip() != ""


def test_every_corpus_mail_is_described_in_the_readme() -> None:
    readme = (MAIL_DIR / "README.md").read_text(encoding="utf-8")
    assert [name for name in CORPUS if f"`{name}`" not in readme] == []


def test_corpus_mails_travel_with_crlf_line_endings(eml: Callable[[str], bytes]) -> None:
    bare_lf = [name for name in CORPUS if b"\n" in eml(name).replace(b"\r\n", b"")]
    assert bare_lf == []
