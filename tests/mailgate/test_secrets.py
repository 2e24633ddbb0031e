"""The secrets step: pasted keys, tokens, passwords and card numbers are masked in what is shown."""

from __future__ import annotations

import time
from collections.abc import Callable

import nh3
import pytest

from helpdesk.secrets import mask_html, mask_text
from mailgate.parse import parse_message
from mailgate.steps.quotes import strip_quotes
from mailgate.steps.sanitize import sanitize_html
from mailgate.steps.secrets import mask_secrets
from tests.mailgate.build import inbound

PEM = """-----BEGIN RSA PRIVATE KEY-----
MIIEowIBAAKCAQEAvZ0K8m2qcl7a0cQyJ9VwW1D9eTQ3aR3n2l1bM7q8nq3k5M0F
dE9yHkM0uQ2b0l6tN3f7vX1yQk7a9c2e4g6i8k0m2o4q6s8u0w2y4A6C8E0G2I4K
-----END RSA PRIVATE KEY-----"""
PGP = """-----BEGIN PGP PRIVATE KEY BLOCK-----

lQOYBGXl0BIBCADKt9z2m4hV0b7k8yX3aE1rT6uW9pQ2sL5nO8cF1dG4jH7kM0zB
=Ab3x
-----END PGP PRIVATE KEY BLOCK-----"""


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (f"Here is the key:\n{PEM}\nThanks", "Here is the key:\n[masked: private key]\nThanks"),
        (f"{PGP}\n", "[masked: private key]\n"),
        (
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAE\n\nBye",
            "[masked: private key]\n\nBye",
        ),
        (
            "key id AKIAIOSFODNN7EXAMPLE in eu-west-1",
            "key id [masked: AWS access key] in eu-west-1",
        ),
        (
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "aws_secret_access_key = [masked: AWS secret key]",
        ),
        ("ghp_R2d2C3poR2d2C3poR2d2C3poR2d2C3poAbCd", "[masked: GitHub token]"),
        ("github_pat_11ABCDEFG0abcdefghijkl_mnopqrstuvwxyz012345", "[masked: GitHub token]"),
        ("glpat-xY7zQ2wE9rT4uI1oP6aS", "[masked: GitLab token]"),
        ("xoxb-2048-4096-aBcDeFgHiJkLmNoP", "[masked: Slack token]"),
        ("sk_live_51Hc2xYZabcDEF0123456789", "[masked: Stripe key]"),
        ("AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY", "[masked: Google API key]"),
        (
            "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZXBsb3kifQ.c2lnbmF0dXJl here",
            "token [masked: JWT] here",
        ),
        (
            "Authorization: Bearer 9f8e7d6c5b4a39281706f5e4d3c2b1a0",
            "Authorization: Bearer [masked: bearer token]",
        ),
        (
            "Authorization: Basic ZGVwbG95OnMzY3IzdA==",
            "Authorization: Basic [masked: basic credentials]",
        ),
        ("Password: Winter2025!", "Password: [masked: password]"),
        ("password: hunter2\nuser: bob", "password: [masked: password]\nuser: bob"),
        ("Passwort: Sommer2024", "Passwort: [masked: password]"),
        ("Kennwort: geheim\n", "Kennwort: [masked: password]\n"),
        ("mot de passe : azerty123", "mot de passe : [masked: password]"),
        ("Contraseña: Secreta99", "Contraseña: [masked: password]"),
        ("wachtwoord: Welkom01", "wachtwoord: [masked: password]"),
        ("Senha: abc12345", "Senha: [masked: password]"),
        ("pwd=s3cr3t&user=bob", "pwd=[masked: password]"),
        ("DB_PASSWORD=correcthorsebattery", "DB_PASSWORD=[masked: password]"),
        (
            '{"password": "correcthorse", "user": "x"}',
            '{"password": "[masked: password]", "user": "x"}',
        ),
        ("Kennwort:\n\nN4s&Backup!2025\n", "Kennwort:\n\n[masked: password]\n"),
        ("api_key=a1b2c3d4e5f6a7b8", "api_key=[masked: API key]"),
        ("X-Api-Key: 0123456789abcdef", "X-Api-Key: [masked: API key]"),
        ("client_secret: 8f7e6d5c4b3a2918", "client_secret: [masked: secret]"),
        ("access_token=ya29a0AfH6SMBx1234", "access_token=[masked: token]"),
        ("Card 4111 1111 1111 1111, exp 08/27", "Card [masked: card number], exp 08/27"),
        ("card 4111-1111-1111-1111", "card [masked: card number]"),
        ("5500005555555559", "[masked: card number]"),
        ("Amex 3782 822463 10005 please", "Amex [masked: card number] please"),
        ("4111 1111 1111 1111 123", "[masked: card number] 123"),
    ],
)
def test_a_secret_is_replaced_by_a_label_naming_its_kind(text: str, masked: str) -> None:
    assert mask_text(text) == (masked, 1)


@pytest.mark.parametrize(
    "text",
    [
        "The meeting is on 2025-03-03 at 10:15, room 4.12.",
        "Ticket #1058, order 4000 1234 5678 9010 (fails Luhn), invoice 2025-031.",
        "Order number 4111111111111112 was shipped.",
        "ISBN 978-3-16-148410-0 and ISBN 9783161484100.",
        "IBAN DE89 3704 0044 0532 0130 00, BIC COBADEFFXXX.",
        "IBAN DE44 5001 0517 5407 3249 31 for the transfer.",
        "IBAN GB29 NWBK 6016 1331 9268 19.",
        "Call me on +49 30 1234 5678 9012 or 030 12345678.",
        "The price is €1,299.00 (net 1.091,60 EUR), 12 x 4111.",
        "I forgot my password: can you reset it?",
        "My password: expired yesterday, please help.",
        "Token: invalid_grant",
        "The secret: patience.",
        "Thanks for the token of appreciation.",
        "The bearer of this letter is our new colleague.",
        "commit 3f786850e387550fdab836ed7e6dc881de23001b",
        "UUID 123e4567-e89b-12d3-a456-426614174000",
        "Password: ********",
        "Password: [masked: password]",
        "Asia is big; AKIA is a prefix.",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert mask_text(text) == (text, 0)


def test_masking_twice_masks_nothing_more() -> None:
    once, count = mask_text(f"Password: hunter2\n{PEM}\nCard 4111 1111 1111 1111")

    assert count == 3
    assert mask_text(once) == (once, 0)


def test_in_html_a_secret_split_by_markup_is_masked_and_the_tags_stay() -> None:
    html = "<div>Password: <b>hunter2</b></div><table><tr><td>PIN</td><td>1234</td></tr></table>"

    assert mask_html(html) == (
        "<div>Password: <b>[masked: password]</b></div>"
        "<table><tr><td>PIN</td><td>1234</td></tr></table>"
    )


def test_in_html_a_key_over_several_lines_is_masked_whole() -> None:
    lines = PEM.split("\n")
    html = "<p>" + "<br>".join(lines) + "</p><p>Thanks</p>"

    assert mask_html(html) == "<p>[masked: private key]<br><br><br></p><p>Thanks</p>"


def test_in_html_attributes_and_entities_are_kept_safe() -> None:
    html = (
        '<a href="https://x.example/?token=abcdefgh12345678" title="a &gt; b">pwd=a&amp;b&lt;c</a>'
    )

    masked = mask_html(html)

    assert masked == (
        '<a href="https://x.example/?token=abcdefgh12345678" title="a &gt; b">'
        "pwd=[masked: password]</a>"
    )
    assert nh3.clean(masked, attributes={"a": {"href", "title"}}, link_rel=None) == masked


def test_html_without_secrets_comes_back_unchanged() -> None:
    html = "<p>Hello &amp; welcome,&nbsp;Ann</p>"

    assert mask_html(html) == html


def test_the_step_masks_what_is_shown_and_counts_the_secrets_of_the_full_text(
    eml: Callable[[str], bytes],
) -> None:
    msg = mask_secrets(sanitize_html(strip_quotes(parse_message(eml("gmail_secrets_in_body")))))

    # A password, an AWS key pair, a bearer token and a card number.
    assert msg.masked_secrets == 5
    for shown in (msg.text, msg.visible_text, msg.safe_html):
        assert "Winter2025!Staging" not in shown
        assert "AKIAIOSFODNN7EXAMPLE" not in shown
        assert "wJalrXUtnFEMI" not in shown
        assert "4111 1111 1111 1111" not in shown
        assert "[masked: password]" in shown


def test_secrets_in_an_outlook_table_and_a_key_broken_by_br_are_masked(
    eml: Callable[[str], bytes],
) -> None:
    raw = eml("steps/outlook_html_secrets_in_table_and_key")

    msg = mask_secrets(sanitize_html(strip_quotes(parse_message(raw))))

    assert msg.masked_secrets == 2
    for shown in (msg.text, msg.safe_html):
        assert "N4s&" not in shown
        assert "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ" not in shown
        assert "[masked: private key]" in shown
        # An order number that fails Luhn and a date stay as they are.
        assert "4000 1234 5678 9010" in shown
        assert "2025-03-03" in shown


def test_the_count_falls_back_to_the_visible_text_when_there_is_no_full_text() -> None:
    msg = mask_secrets(inbound(text="", visible_text="Password: Winter2025!"))

    assert (msg.visible_text, msg.masked_secrets) == ("Password: [masked: password]", 1)


def test_a_hostile_four_megabyte_text_is_masked_quickly() -> None:
    texts = [
        "password: " * 400_000,
        "4111 1111 1111 1111 " * 200_000,
        "-----BEGIN RSA PRIVATE KEY-----\n" * 120_000,
        "a_b-c_d-token=" * 280_000,
    ]
    for text in texts:
        started = time.perf_counter()
        mask_text(text)
        assert time.perf_counter() - started < 2
