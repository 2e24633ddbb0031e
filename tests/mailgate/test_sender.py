"""The sender step: mail nobody could be answered at is dropped (and so quarantined)."""

from __future__ import annotations

from mailgate.inbound import Address, Envelope
from mailgate.steps.sender import require_sender
from tests.mailgate.fakes import message


def test_mail_with_a_from_address_goes_on() -> None:
    assert require_sender(message()).drop_reason is None


def test_mail_without_from_but_with_an_envelope_sender_goes_on() -> None:
    msg = message(sender=None, envelope=Envelope("ann@client.example", (), "smtp"))
    assert require_sender(msg).drop_reason is None


def test_mail_with_neither_is_dropped_with_the_reason() -> None:
    msg = message(sender=Address("undisclosed-recipients:;"), envelope=Envelope("", (), "smtp"))
    assert "no sender address" in (require_sender(msg).drop_reason or "")
