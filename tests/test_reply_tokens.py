"""Reply tokens: unguessable, bound to tenant, ticket and recipient, robust to mail systems."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk.reply_tokens import MAC_BYTES, ReplyTokens, Verdict, find_tokens, parse_token

TOKENS = ReplyTokens("installation-secret")
IDS = st.integers(min_value=1, max_value=2**31 - 1)
ANN = "ann@client.example"


def _check(token: str, tenant: int, sender: str, participants: tuple[str, ...] = ()) -> Verdict:
    parsed = parse_token(token)
    assert parsed is not None
    return TOKENS.check(parsed, tenant, sender, participants)


@given(tenant=IDS, ticket=IDS)
def test_a_token_is_valid_for_its_recipient_and_names_its_ticket(tenant: int, ticket: int) -> None:
    token = TOKENS.issue(tenant, ticket, ANN)
    parsed = parse_token(token)
    assert parsed is not None
    assert parsed.ticket_id == ticket
    assert TOKENS.check(parsed, tenant, ANN) is Verdict.VALID


@given(ticket=IDS)
def test_tokens_fit_an_address_and_survive_upper_casing(ticket: int) -> None:
    token = TOKENS.issue(7, ticket, ANN)
    # RFC 5321: a local part has at most 64 characters; "support+" leaves 56.
    assert len(token) <= 56
    assert token == token.lower()
    assert _check(token.upper(), 7, "ANN@Client.Example") is Verdict.VALID


def test_the_mac_carries_128_bits() -> None:
    parsed = parse_token(TOKENS.issue(1, 1, ANN))
    assert parsed is not None
    assert len(parsed.mac) * 8 == MAC_BYTES * 8 == 128


def test_a_genuine_token_from_someone_else_is_told_apart_from_a_forgery() -> None:
    token = TOKENS.issue(7, 42, ANN)
    # A colleague Ann forwarded the mail to answers with her token.
    assert _check(token, 7, "bob@client.example", (ANN, "carl@client.example")) is (
        Verdict.OTHER_RECIPIENT
    )
    # Without Ann among the ticket's people, nothing vouches for the token.
    assert _check(token, 7, "bob@client.example", ("carl@client.example",)) is Verdict.INVALID


@pytest.mark.parametrize(
    ("tenant", "secret"), [(8, "installation-secret"), (7, "another-installation")]
)
def test_a_token_is_worthless_in_another_tenant_or_installation(tenant: int, secret: str) -> None:
    token = TOKENS.issue(7, 42, ANN)
    parsed = parse_token(token)
    assert parsed is not None
    assert ReplyTokens(secret).check(parsed, tenant, ANN, (ANN,)) is Verdict.INVALID


def test_pointing_a_token_at_another_ticket_breaks_it() -> None:
    token = TOKENS.issue(7, 42, ANN)
    other = TOKENS.issue(7, 43, ANN)
    forged = other.split(".")[0] + "." + token.split(".")[1]
    assert _check(forged, 7, ANN, (ANN,)) is Verdict.INVALID


@given(st.text(max_size=80))
def test_parsing_never_crashes_and_rejects_what_is_not_a_token(text: str) -> None:
    parsed = parse_token(text)
    if parsed is not None:
        assert parsed.ticket_id > 0
        assert len(parsed.mac) == MAC_BYTES


def test_tokens_are_found_inside_headers_and_bodies() -> None:
    token = TOKENS.issue(7, 42, ANN)
    references = f"<CAF=abc@mail.gmail.com> <{token}.3@help.example.com>"
    found = find_tokens(references)
    assert [t.ticket_id for t in found] == [42]
