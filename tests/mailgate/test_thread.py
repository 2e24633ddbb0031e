"""The thread step alone: CONTRACT §4's rules, first match wins, with the sender checked."""

from __future__ import annotations

from typing import Any

from helpdesk.reply_tokens import ReplyTokens
from mailgate.inbound import Address, Envelope, InboundMessage, Route, SenderStanding, ThreadRule
from mailgate.steps.thread import find_thread
from tests.mailgate.fakes import FakeThreadIndex, message

TOKENS = ReplyTokens("test secret")
ANN = "ann@client.example"


def routed(tags: tuple[str, ...] = (), **overrides: Any) -> InboundMessage:
    return message(route=Route(1, 10, (10,), tags), **overrides)


def index_with_ticket(**people: Any) -> FakeThreadIndex:
    index = FakeThreadIndex()
    index.add_ticket(7, 12, ANN, **people)
    return index


def thread(msg: InboundMessage, index: FakeThreadIndex) -> Any:
    result = find_thread(msg, index=index, tokens=TOKENS)
    assert result.thread is not None
    return result.thread


def test_token_in_the_reply_address_threads_and_proves_the_sender() -> None:
    token = TOKENS.issue(1, 7, ANN)
    match = thread(routed((token,)), index_with_ticket())
    assert (match.rule, match.ticket_id, match.standing) == (
        ThreadRule.TOKEN,
        7,
        SenderStanding.REQUESTER,
    )


def test_token_issued_to_someone_else_from_a_stranger_is_held() -> None:
    # Ann forwards our mail; Mallory answers it with Ann's token.
    token = TOKENS.issue(1, 7, ANN)
    msg = routed((token,), sender=Address("mallory@evil.example"))
    match = thread(msg, index_with_ticket())
    assert (match.rule, match.standing) == (ThreadRule.TOKEN, SenderStanding.TOKEN_OTHER_RECIPIENT)


def test_cc_colleague_answering_with_the_requesters_token_is_a_participant() -> None:
    token = TOKENS.issue(1, 7, ANN)
    msg = routed((token,), sender=Address("bob@client.example"))
    match = thread(msg, index_with_ticket(participants={"bob@client.example"}))
    assert (match.ticket_id, match.standing) == (7, SenderStanding.PARTICIPANT)


def test_forged_token_is_ignored_and_said_so() -> None:
    forged = TOKENS.issue(1, 7, ANN)[:-3] + "aaa"
    match = thread(routed((forged,)), index_with_ticket())
    assert match.rule is ThreadRule.NEW
    assert "did not verify" in match.evidence


def test_token_for_another_tenants_ticket_names_nothing_here() -> None:
    index = index_with_ticket()
    token = ReplyTokens("test secret").issue(2, 99, ANN)
    assert thread(routed((token,)), index).rule is ThreadRule.NEW
    # Nor does one of another tenant whose ticket id is also one of ours.
    same_id = ReplyTokens("test secret").issue(2, 7, ANN)
    assert thread(routed((same_id,)), index).rule is ThreadRule.NEW


def test_token_inside_our_message_id_in_references_threads() -> None:
    token = TOKENS.issue(1, 7, ANN)
    msg = routed(references=(f"{token}.x1@help.acme.test",))
    assert thread(msg, index_with_ticket()).rule is ThreadRule.TOKEN


def test_token_in_the_hidden_body_marker_threads() -> None:
    token = TOKENS.issue(1, 7, ANN)
    msg = routed(html=f'<p>Thanks</p><div style="display:none">ref:{token}</div>')
    assert thread(msg, index_with_ticket()).rule is ThreadRule.TOKEN


def test_known_message_id_threads_a_reply_whose_service_rewrote_its_own_id() -> None:
    index = index_with_ticket()
    index.seen["0100018e-ses-rewritten@email.amazonses.com"] = 7
    msg = routed(in_reply_to=("0100018e-ses-rewritten@email.amazonses.com",))
    match = thread(msg, index)
    assert (match.rule, match.ticket_id, match.standing) == (
        ThreadRule.HEADER,
        7,
        SenderStanding.REQUESTER,
    )


def test_original_arriving_after_its_reply_joins_the_replys_ticket() -> None:
    index = index_with_ticket()
    index.awaited["m1@client.example"] = 7
    match = thread(routed(), index)
    assert (match.rule, match.ticket_id) == (ThreadRule.HEADER, 7)
    assert "arrived before it" in match.evidence


def test_header_match_from_a_colleague_of_the_requesters_organization() -> None:
    index = index_with_ticket(domains={"client.example"})
    index.seen["a@x"] = 7
    msg = routed(in_reply_to=("a@x",), sender=Address("carol@client.example"))
    assert thread(msg, index).standing is SenderStanding.ORGANIZATION


def test_header_match_from_a_stranger_is_pending() -> None:
    index = index_with_ticket()
    index.seen["a@x"] = 7
    msg = routed(in_reply_to=("a@x",), sender=Address("eve@other.example"))
    assert thread(msg, index).standing is SenderStanding.PENDING


def test_subject_tag_threads_only_for_someone_who_takes_part() -> None:
    index = index_with_ticket()
    match = thread(routed(subject="AW: WG: Re: [#12] Printer on fire"), index)
    assert (match.rule, match.ticket_id) == (ThreadRule.SUBJECT_TAG, 7)


def test_stranger_quoting_a_ticket_number_opens_a_new_ticket() -> None:
    msg = routed(subject="Re: [#12] Printer", sender=Address("eve@other.example"))
    result = find_thread(msg, index=index_with_ticket(), tokens=TOKENS)
    assert result.thread is not None
    assert result.thread.rule is ThreadRule.NEW
    assert result.external_refs == ("[#12]",)


def test_foreign_helpdesk_tags_and_jira_keys_are_kept_as_references() -> None:
    msg = routed(subject="Re: [Ticket#2024031510000012] PROJ-123 outage")
    result = find_thread(msg, index=FakeThreadIndex(), tokens=TOKENS)
    assert result.external_refs == ("[Ticket#2024031510000012]", "PROJ-123")


def test_agent_address_without_proof_is_unproven() -> None:
    index = index_with_ticket()
    index.agents["alice@acme.test"] = 3
    index.seen["a@x"] = 7
    msg = routed(in_reply_to=("a@x",), sender=Address("alice@acme.test"))
    match = thread(msg, index)
    assert (match.standing, match.agent_user_id) == (SenderStanding.UNPROVEN_AGENT, 3)


def test_agent_with_aligned_dmarc_pass_is_the_agent() -> None:
    index = index_with_ticket()
    index.agents["alice@acme.test"] = 3
    index.seen["a@x"] = 7
    msg = routed(
        in_reply_to=("a@x",), sender=Address("alice@acme.test"), dmarc_pass_domain="acme.test"
    )
    assert thread(msg, index).standing is SenderStanding.AGENT


def test_agent_with_their_own_token_is_the_agent() -> None:
    index = index_with_ticket(agents={"alice@acme.test"})
    index.agents["alice@acme.test"] = 3
    token = TOKENS.issue(1, 7, "alice@acme.test")
    msg = routed((token,), sender=Address("alice@acme.test"))
    assert thread(msg, index).standing is SenderStanding.AGENT


def test_reply_to_a_merged_ticket_goes_to_the_ticket_it_was_merged_into() -> None:
    index = index_with_ticket()
    index.add_ticket(8, 13, ANN, merged_into_id=7)
    index.seen["a@x"] = 8
    assert thread(routed(in_reply_to=("a@x",)), index).ticket_id == 7


def test_token_beats_headers_which_beat_the_subject_tag() -> None:
    index = index_with_ticket()
    index.add_ticket(8, 13, ANN)
    index.add_ticket(9, 14, ANN)
    index.seen["a@x"] = 8
    token = TOKENS.issue(1, 9, ANN)
    msg = routed((token,), in_reply_to=("a@x",), subject="[#12]")
    assert thread(msg, index).ticket_id == 9
    assert thread(routed(in_reply_to=("a@x",), subject="[#12]"), index).ticket_id == 8


def test_sender_falls_back_to_the_envelope_without_a_from_header() -> None:
    envelope = Envelope(ANN, ("support@acme.test",), "smtp")
    msg = routed(sender=None, envelope=envelope, in_reply_to=("a@x",))
    index = index_with_ticket()
    index.seen["a@x"] = 7
    assert thread(msg, index).standing is SenderStanding.REQUESTER


def test_original_arriving_late_from_someone_not_yet_on_the_ticket_joins_as_participant() -> None:
    index = index_with_ticket()
    index.awaited["m1@client.example"] = 7
    msg = routed(sender=Address("dora@elsewhere.example"))
    assert thread(msg, index).standing is SenderStanding.PARTICIPANT


def test_who_takes_part_in_a_ticket_is_asked_once_however_many_rules_look_at_it() -> None:
    # A forged token and the In-Reply-To both lead to ticket 7, in three places each.
    forged = TOKENS.issue(1, 7, ANN)[:-3] + "aaa"
    index = index_with_ticket()
    index.seen["a@x"] = 7
    msg = routed((forged,), in_reply_to=("a@x",), text=f"ref:{forged} ref:{forged}")
    match = thread(msg, index)
    assert (match.rule, match.ticket_id) == (ThreadRule.HEADER, 7)
    assert index.people_asked == [7]


def test_mail_stuffed_with_tokens_costs_a_lookup_for_only_a_few() -> None:
    index = index_with_ticket()
    forged = [TOKENS.issue(1, 7, f"x{n}@evil.example") for n in range(500)]
    msg = routed(sender=Address("mallory@evil.example"), text=" ".join(forged) * 3)
    match = thread(msg, index)
    assert match.rule is ThreadRule.NEW
    assert "did not verify" in match.evidence
    assert len(index.tickets_asked) <= 20
    assert index.people_asked == [7]
