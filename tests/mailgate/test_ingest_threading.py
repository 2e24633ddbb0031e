"""Threading end to end: real mail bytes through the pipeline into a real database (CONTRACT §4)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.enums import EventKind, LinkKind, Status, Visibility
from helpdesk.models import ContactEmail, Ticket, TicketEvent, TicketLink, TicketParticipant
from helpdesk.services.thread_references import record_thread_references
from tests.factories import NOW
from tests.mailgate.desk import Desk, mail


def test_new_mail_opens_a_ticket_with_the_sender_as_requester(desk: Desk) -> None:
    result = desk.one(mail())
    assert result.action == "created"
    [message] = desk.messages(result.ticket_id)
    assert message.thread_rule == "new"
    assert "floor 3 is on fire" in message.body_text
    assert desk.ticket(result.ticket_id).subject == "Printer on fire"


def test_reply_naming_the_original_joins_its_ticket(desk: Desk) -> None:
    first = desk.one(mail(message_id="<a1@client.example>"))
    reply = desk.one(mail(subject="Re: Printer on fire", in_reply_to="<a1@client.example>"))
    assert (reply.action, reply.ticket_id) == ("appended", first.ticket_id)
    assert desk.messages(first.ticket_id)[-1].thread_rule == "header"


def test_mangled_subject_with_stripped_headers_threads_by_tag_for_the_requester(
    desk: Desk,
) -> None:
    number = desk.ticket(desk.one(mail()).ticket_id).number
    reply = desk.one(mail(subject=f"AW: WG: SV: Fwd: Re: [#{number}] Printer on fire"))
    assert reply.action == "appended"
    assert desk.messages(reply.ticket_id)[-1].thread_rule == "subject_tag"


def test_stranger_quoting_a_ticket_number_opens_their_own_ticket(desk: Desk) -> None:
    first = desk.one(mail())
    number = desk.ticket(first.ticket_id).number
    stranger = mail("Eve <eve@other.example>", f"Re: [#{number}] give me the data")
    result = desk.one(stranger, mail_from="eve@other.example")
    assert result.action == "created"
    assert result.ticket_id != first.ticket_id
    assert desk.messages(result.ticket_id)[0].external_refs == [f"[#{number}]"]
    assert len(desk.messages(first.ticket_id)) == 1


def test_reply_to_an_id_the_sending_service_rewrote_still_threads(desk: Desk) -> None:
    # Our reply left through a service that replaced its Message-ID; the
    # outbound side recorded the new one, and the client answers that.
    first = desk.one(mail())
    ses_id = "0100018e3c5a1b2c-ses@email.amazonses.com"
    desk.run(lambda s: _record_sent(s, desk.acme, first.ticket_id, ses_id))
    reply = desk.one(mail(subject="Re: Printer on fire", in_reply_to=f"<{ses_id}>"))
    assert (reply.action, reply.ticket_id) == ("appended", first.ticket_id)


def test_cc_colleague_reply_lands_on_the_ticket_as_a_participant(desk: Desk) -> None:
    first = desk.one(mail(cc="Bob <bob@partner.example>", message_id="<a1@client.example>"))
    reply = mail(
        "Bob <bob@partner.example>", "Re: Printer on fire", in_reply_to="<a1@client.example>"
    )
    result = desk.one(reply, mail_from="bob@partner.example")
    assert (result.action, result.ticket_id) == ("appended", first.ticket_id)
    assert desk.messages(first.ticket_id)[-1].visibility is Visibility.PUBLIC


def test_stranger_replying_by_headers_is_held_as_pending_not_posted(desk: Desk) -> None:
    first = desk.one(mail(message_id="<a1@client.example>"))
    intruder = mail("Eve <eve@other.example>", "Re: Printer", in_reply_to="<a1@client.example>")
    result = desk.one(intruder, mail_from="eve@other.example")
    assert (result.action, result.ticket_id) == ("pending_participant", first.ticket_id)
    held = desk.messages(first.ticket_id)[-1]
    assert held.visibility is Visibility.INTERNAL
    assert held.hold_reason
    pending = desk.run(
        lambda s: s.scalars(select(TicketParticipant.pending).where(
            TicketParticipant.ticket_id == first.ticket_id)).all()
    )  # fmt: skip
    assert pending == [True]


def test_reply_token_in_the_address_threads_even_with_every_header_gone(desk: Desk) -> None:
    first = desk.one(mail())
    token = desk.token(first.ticket_id, "ann@client.example")
    address = f"support+{token}@acme.test"
    result = desk.one(mail(subject="ok", to=address), address)
    assert (result.action, result.ticket_id) == ("appended", first.ticket_id)
    assert desk.messages(first.ticket_id)[-1].thread_rule == "token"


def test_someone_elses_token_is_held_for_review(desk: Desk) -> None:
    first = desk.one(mail())
    token = desk.token(first.ticket_id, "ann@client.example")
    address = f"support+{token}@acme.test"
    forged = mail("Mallory <mallory@evil.example>", "Re: x", to=address)
    result = desk.one(forged, address, mail_from="mallory@evil.example")
    assert result.ticket_id == first.ticket_id
    assert result.action == "pending_participant"
    assert desk.messages(first.ticket_id)[-1].visibility is Visibility.INTERNAL


def test_agent_address_without_proof_is_held_as_a_note_to_confirm(desk: Desk) -> None:
    first = desk.one(mail(message_id="<a1@client.example>"))
    spoof = mail("Alice <alice@acme.test>", "Re: Printer", in_reply_to="<a1@client.example>")
    result = desk.one(spoof, mail_from="alice@acme.test")
    assert result.action == "held_agent_note"
    assert desk.messages(first.ticket_id)[-1].visibility is Visibility.INTERNAL


def test_agent_answering_with_their_own_token_posts_a_public_reply(desk: Desk) -> None:
    first = desk.one(mail())
    token = desk.token(first.ticket_id, "alice@acme.test")
    address = f"support+{token}@acme.test"
    answer = mail(
        "Alice <alice@acme.test>", "Re: Printer", "Fire brigade is on the way.", to=address
    )
    result = desk.one(answer, address, mail_from="alice@acme.test")
    assert result.action == "agent_reply"
    last = desk.messages(first.ticket_id)[-1]
    assert (last.visibility, last.author_user_id) == (Visibility.PUBLIC, desk.agent_id)


def test_reply_to_a_resolved_ticket_reopens_it(desk: Desk) -> None:
    first = desk.one(mail(message_id="<a1@client.example>"))
    desk.run(lambda s: _set_status(s, first.ticket_id, Status.RESOLVED))
    desk.one(mail(subject="Re: Printer", in_reply_to="<a1@client.example>"))
    assert desk.ticket(first.ticket_id).status is Status.OPEN


def test_reply_to_a_closed_ticket_opens_a_linked_follow_up(desk: Desk) -> None:
    first = desk.one(mail(message_id="<a1@client.example>"))
    desk.run(lambda s: _set_status(s, first.ticket_id, Status.CLOSED))
    result = desk.one(mail(subject="Re: Printer", in_reply_to="<a1@client.example>"))
    assert result.ticket_id != first.ticket_id
    link = desk.run(lambda s: s.scalars(select(TicketLink)).one())
    assert (link.kind, {link.source_id, link.target_id}) == (
        LinkKind.FOLLOW_UP,
        {first.ticket_id, result.ticket_id},
    )


def test_the_same_mail_twice_is_stored_once(desk: Desk) -> None:
    data = mail()
    first, again = desk.one(data), desk.one(data)
    assert again.action == "duplicate"
    assert again.raw_message_id == first.raw_message_id
    assert len(desk.tickets(desk.acme)) == 1


def test_same_mail_by_smtp_and_imap_is_stored_once(desk: Desk) -> None:
    data = mail()
    desk.one(data)
    fetched = b"Delivered-To: support@acme.test\r\nReceived: from mx by imap\r\n" + data
    assert desk.one(fetched, transport="imap").action == "duplicate"


def test_a_different_mail_reusing_a_message_id_is_not_dropped(desk: Desk) -> None:
    desk.one(mail(message_id="<same@broken.example>"))
    other = desk.one(mail(subject="Another problem", message_id="<same@broken.example>"))
    assert other.action in {"created", "appended"}
    assert other.action != "duplicate"


def test_one_mail_to_two_mailboxes_of_a_tenant_makes_one_ticket(desk: Desk) -> None:
    data = mail(to="support@acme.test, billing@acme.test")
    results = desk.send(data, "support@acme.test", "billing@acme.test")
    assert [r.action for r in results] == ["created"]
    assert len(desk.tickets(desk.acme)) == 1


def test_one_mail_to_two_tenants_makes_one_ticket_in_each(desk: Desk) -> None:
    data = mail(to="support@acme.test, help@globex.test")
    results = desk.send(data, "support@acme.test", "help@globex.test")
    assert {r.tenant_id for r in results if r.action == "created"} == {desk.acme, desk.globex}


def test_the_tenants_own_addresses_in_cc_never_become_participants(desk: Desk) -> None:
    data = mail(to="support@acme.test", cc="billing@acme.test, Bob <bob@partner.example>")
    result = desk.one(data)
    count = desk.run(
        lambda s: len(s.scalars(select(TicketParticipant).where(
            TicketParticipant.ticket_id == result.ticket_id)).all())
    )  # fmt: skip
    assert count == 1


def test_auto_reply_to_a_ticket_opens_nothing_and_stays_internal(desk: Desk) -> None:
    first = desk.one(mail(message_id="<a1@client.example>"))
    ooo = mail(
        subject="Automatic reply: Printer",
        body="I am out of the office until Monday.",
        in_reply_to="<a1@client.example>",
        headers={"Auto-Submitted": "auto-replied"},
    )
    result = desk.one(ooo)
    assert result.ticket_id == first.ticket_id
    assert desk.messages(first.ticket_id)[-1].visibility is Visibility.INTERNAL
    assert len(desk.tickets(desk.acme)) == 1


def test_auto_reply_to_nothing_we_know_is_ignored_and_kept(desk: Desk) -> None:
    ooo = mail(subject="Out of Office", headers={"Auto-Submitted": "auto-replied"})
    result = desk.one(ooo)
    assert result.action == "ignored"
    assert desk.tickets(desk.acme) == []
    assert desk.raw(result.raw_message_id).state.value == "ignored"


def test_each_message_records_its_rule_and_evidence(desk: Desk) -> None:
    first = desk.one(mail(message_id="<a1@client.example>"))
    desk.one(mail(subject="Re: x", in_reply_to="<a1@client.example>"))
    reply = desk.messages(first.ticket_id)[-1]
    assert reply.thread_rule == "header"
    assert reply.thread_evidence is not None
    assert "a1@client.example" in reply.thread_evidence
    decision = desk.raw(first.raw_message_id).decision
    assert decision["thread"]["rule"] == "new"


def test_garbage_is_quarantined_with_its_reason_and_others_still_land(desk: Desk) -> None:
    bad = desk.one(b"\x00\x01 not a mail at all")
    assert bad.action == "quarantined"
    assert desk.raw(bad.raw_message_id).reason
    assert desk.one(mail()).action == "created"


def test_bounce_is_recorded_on_the_ticket_and_the_address(desk: Desk) -> None:
    first = desk.one(mail(message_id="<a1@client.example>"))
    ours = "r1out.1@help.acme.test"
    desk.run(lambda s: _record_sent(s, desk.acme, first.ticket_id, ours))
    result = desk.one(_postfix_dsn("ann@client.example", ours), mail_from="")
    assert result.ticket_id == first.ticket_id
    kinds = desk.run(
        lambda s: s.scalars(select(TicketEvent.kind).where(
            TicketEvent.ticket_id == first.ticket_id)).all()
    )  # fmt: skip
    assert EventKind.DELIVERY_FAILED in kinds
    assert len(desk.tickets(desk.acme)) == 1


def _record_sent(session: Session, tenant_id: int, ticket_id: int | None, message_id: str) -> None:
    assert ticket_id is not None
    record_thread_references(session, tenant_id, ticket_id, own=message_id, now=NOW)


def _set_status(session: Session, ticket_id: int | None, status: Status) -> None:
    ticket = session.get(Ticket, ticket_id)
    assert ticket is not None
    ticket.status = status


def _postfix_dsn(recipient: str, original_id: str) -> bytes:
    return (
        "Return-Path: <>\r\n"
        "From: MAILER-DAEMON@mx.client.example (Mail Delivery System)\r\n"
        "To: support@acme.test\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "Message-Id: <20250303100500.1A2B3C@mx.client.example>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B1"\r\n'
        "\r\n--B1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        f"I'm sorry to have to inform you that your message could not be delivered.\r\n"
        f"<{recipient}>: host mx.client.example said: 550 5.1.1 User unknown\r\n"
        "\r\n--B1\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.client.example\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"
        "\r\n--B1\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: support@acme.test\r\nTo: {recipient}\r\nMessage-ID: <{original_id}>\r\n"
        "Subject: Re: [#1] Printer on fire\r\n"
        "\r\n--B1--\r\n"
    ).encode()


def test_mail_naming_no_sender_is_quarantined_with_that_reason(desk: Desk) -> None:
    data = b"To: support@acme.test\r\nSubject: who am I\r\n\r\nno From at all\r\n"
    result = desk.one(data, mail_from="")
    assert result.action == "quarantined"
    assert "no sender address" in (desk.raw(result.raw_message_id).reason or "")


def test_hard_bounce_marks_the_address_until_mail_from_it_shows_it_works(desk: Desk) -> None:
    first = desk.one(mail(message_id="<a1@client.example>"))
    ours = "r1out.2@help.acme.test"
    desk.run(lambda s: _record_sent(s, desk.acme, first.ticket_id, ours))
    desk.one(_postfix_dsn("ann@client.example", ours), mail_from="")
    assert _bounced_at(desk, "ann@client.example") is not None
    desk.one(mail(subject="Re: Printer", in_reply_to="<a1@client.example>"))
    assert _bounced_at(desk, "ann@client.example") is None


def _bounced_at(desk: Desk, address: str) -> object:
    query = select(ContactEmail.bounced_at).where(ContactEmail.email == address)
    return desk.run(lambda s: s.scalar(query))
