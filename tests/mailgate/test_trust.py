"""The trust step: headers that would steer us are stripped from outside mail, our MTA believed."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from helpdesk.reply_tokens import LOOP_HEADER, ReplyTokens
from mailgate.inbound import Address, Envelope, InboundMessage
from mailgate.parse import parse_message
from mailgate.steps.trust import authserv_id_of, dmarc_pass_domain, strip_untrusted_headers
from tests.mailgate.build import inbound

TOKENS = ReplyTokens("test secret")
OURS = "mx1.help.example.com"
EXCHANGE_RESULTS = (
    "dkim=none (message not signed) header.d=none;dmarc=none action=none header.from=acme.test;"
)
AGENT_REPLY = "steps/exchange_agent_reply_via_lmtp_with_forged_headers"
SPOOFED_AGENT = "steps/gmail_spoofed_agent_forged_dmarc_pass"
LOOPED = "steps/own_notification_looped_back"


def trusted(
    msg: InboundMessage, authserv_id: str | None = OURS, tokens: ReplyTokens = TOKENS
) -> InboundMessage:
    return strip_untrusted_headers(msg, authserv_id=authserv_id, tokens=tokens)


def parsed(raw: bytes, transport: str) -> InboundMessage:
    return parse_message(
        raw, Envelope("m.weber@acme.test", ("support@help.example.com",), transport)
    )


def results(msg: InboundMessage) -> list[str]:
    return [" ".join(value.split()) for value in msg.header_all("Authentication-Results")]


def test_over_lmtp_our_mtas_verdicts_on_top_are_believed_and_a_forged_one_below_is_removed(
    eml: Callable[[str], bytes],
) -> None:
    # Given an agent's reply our Postfix delivered over LMTP, with its DMARC and
    # DKIM verdicts on top and a copy of our authserv-id the sender wrote lower down.
    msg = trusted(parsed(eml(AGENT_REPLY), "lmtp"))

    assert msg.dmarc_pass_domain == "acme.test"
    assert results(msg) == [
        f"{OURS}; dmarc=pass (p=reject dis=none) header.from=acme.test",
        f"{OURS}; dkim=pass (2048-bit key; unprotected) header.d=acme.test header.i=@acme.test "
        "header.a=rsa-sha256 header.s=selector1 header.b=QmVYx1tN; dkim-atps=neutral",
        # Exchange Online's own, without an authserv-id of ours: kept, never believed.
        EXCHANGE_RESULTS,
    ]
    assert msg.untrusted_headers_removed == (
        "Authentication-Results",
        "X-Helpdesk-Ticket",
        "X-Helpdesk-Agent-Verified",
    )
    assert msg.header("X-Helpdesk-Ticket") == ""


@pytest.mark.parametrize("transport", ["smtp", "import"])
def test_mail_our_mta_did_not_deliver_has_every_verdict_under_our_name_removed(
    eml: Callable[[str], bytes], transport: str
) -> None:
    msg = trusted(parsed(eml(AGENT_REPLY), transport))

    assert msg.dmarc_pass_domain is None
    assert msg.untrusted_headers_removed.count("Authentication-Results") == 3
    assert results(msg) == [EXCHANGE_RESULTS]


def test_without_an_authserv_id_no_verdict_is_believed_and_none_is_removed(
    eml: Callable[[str], bytes],
) -> None:
    msg = trusted(parsed(eml(AGENT_REPLY), "lmtp"), authserv_id=None)

    assert msg.dmarc_pass_domain is None
    assert len(msg.header_all("Authentication-Results")) == 4
    assert msg.untrusted_headers_removed == ("X-Helpdesk-Ticket", "X-Helpdesk-Agent-Verified")


def test_a_spoofed_agent_address_gets_no_dmarc_pass_from_a_verdict_it_wrote_itself(
    eml: Callable[[str], bytes],
) -> None:
    # Given mail from Gmail claiming an agent's From, which our MTA judged
    # dmarc=fail, carrying a forged "dmarc=pass" and a copied loop mark.
    msg = trusted(parsed(eml(SPOOFED_AGENT), "lmtp"))

    assert msg.dmarc_pass_domain is None
    assert msg.untrusted_headers_removed == ("Authentication-Results", LOOP_HEADER)
    assert results(msg)[0] == f"{OURS}; dmarc=fail (p=reject dis=reject) header.from=acme.test"


def test_our_own_loop_mark_is_kept_when_it_verifies_for_that_message_id(
    eml: Callable[[str], bytes],
) -> None:
    msg = trusted(parsed(eml(LOOPED), "smtp"))

    assert msg.untrusted_headers_removed == ()
    assert msg.header(LOOP_HEADER) == "a4msqesdghld344iggj2vq7kea"


def test_a_loop_mark_made_under_another_installations_secret_is_removed(
    eml: Callable[[str], bytes],
) -> None:
    msg = trusted(parsed(eml(LOOPED), "smtp"), tokens=ReplyTokens("another secret"))

    assert msg.untrusted_headers_removed == (LOOP_HEADER,)
    assert msg.header(LOOP_HEADER) == ""


def test_any_spelling_of_our_header_prefix_is_removed() -> None:
    msg = trusted(
        inbound(headers=(("x-helpdesk-ticket", "7"), ("X-HELPDESK-TENANT", "2"), ("X-Help", "x")))
    )

    assert msg.untrusted_headers_removed == ("x-helpdesk-ticket", "X-HELPDESK-TENANT")
    assert msg.header("X-Help") == "x"


def test_the_topmost_verdict_is_not_believed_when_another_server_wrote_it() -> None:
    headers = (
        ("Authentication-Results", "mx.other.example; dmarc=pass header.from=acme.test"),
        ("Authentication-Results", f"{OURS}; dmarc=pass header.from=acme.test"),
    )
    msg = trusted(
        inbound(sender="m.weber@acme.test", headers=headers, envelope=Envelope(transport="imap"))
    )

    assert msg.dmarc_pass_domain is None
    assert msg.untrusted_headers_removed == ("Authentication-Results",)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("mx1.help.example.com; dmarc=pass", "mx1.help.example.com"),
        ("MX1.Help.Example.COM 1; spf=pass", "mx1.help.example.com"),
        ("mx1.help.example.com (Postfix); none", "mx1.help.example.com"),
        ('"mx1.help.example.com"; none', "mx1.help.example.com"),
        ("(a comment; with a semicolon) mx1.help.example.com; none", "mx1.help.example.com"),
        ("dkim=none (message not signed) header.d=none;dmarc=none", "dkim=none"),
    ],
)
def test_the_authserv_id_is_the_first_token_before_the_semicolon(value: str, expected: str) -> None:
    assert authserv_id_of(value) == expected


@pytest.mark.parametrize(
    ("results_value", "sender", "expected"),
    [
        (f"{OURS}; dmarc=pass (p=reject) header.from=acme.test", "m@acme.test", "acme.test"),
        (f"{OURS}; dmarc=pass header.from=ACME.test", "m@acme.test", "acme.test"),
        (f"{OURS}; dmarc=pass header.from=acme.test", "m@mail.acme.test", "mail.acme.test"),
        (f"{OURS}; dmarc=pass header.from=mail.acme.test", "m@acme.test", "acme.test"),
        (f"{OURS}; spf=pass; dmarc=pass header.from=acme.test", "m@acme.test", "acme.test"),
        (f"{OURS}; dmarc=pass header.from=acme.test", "m@evil.test", None),
        (f"{OURS}; dmarc=pass header.from=test", "m@acme.test", None),
        (f"{OURS}; dmarc=pass header.from=notacme.test", "m@acme.test", None),
        (f"{OURS}; dmarc=fail header.from=acme.test", "m@acme.test", None),
        (f"{OURS}; dmarc=pass", "m@acme.test", None),
        (f"{OURS}; dkim=pass (dmarc=pass header.from=acme.test)", "m@acme.test", None),
        (f"{OURS}; dmarc=none header.from=acme.test", "m@acme.test", None),
    ],
)
def test_a_dmarc_pass_counts_only_for_a_from_domain_aligned_with_it(
    results_value: str, sender: str, expected: str | None
) -> None:
    assert dmarc_pass_domain(results_value, Address(sender)) == expected


def test_nothing_but_headers_and_the_verdict_changes() -> None:
    msg = inbound(headers=(("X-Helpdesk-Ticket", "7"),))

    after = trusted(msg)

    assert (after.text, after.subject, after.sender, after.kind) == (
        msg.text,
        msg.subject,
        msg.sender,
        msg.kind,
    )
    assert msg.header("X-Helpdesk-Ticket") == "7"
