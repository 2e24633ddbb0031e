"""The intake limits step: over a limit, a would-be new ticket is held, never dropped."""

from __future__ import annotations

from datetime import UTC, datetime

from mailgate.inbound import (
    InboundMessage,
    MailKind,
    Route,
    SenderStanding,
    ThreadMatch,
    ThreadRule,
)
from mailgate.steps.limits import check_intake_limits
from tests.mailgate.fakes import FakeCounts, message

NOW = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


def would_open(**overrides: object) -> InboundMessage:
    values: dict[str, object] = {
        "route": Route(1, 10, (10,)),
        "thread": ThreadMatch(ThreadRule.NEW, None, SenderStanding.NEW, "new"),
    }
    return message(**(values | overrides))


def limited(msg: InboundMessage, counts: FakeCounts) -> InboundMessage:
    return check_intake_limits(msg, counts=counts, per_sender=3, per_tenant=100, now=NOW)


def test_sender_under_the_limit_opens_a_ticket() -> None:
    assert limited(would_open(), FakeCounts({"ann@client.example": 2})).hold_reason is None


def test_sender_at_the_limit_is_held_with_the_reason() -> None:
    held = limited(would_open(), FakeCounts({"ann@client.example": 3}))
    assert held.hold_reason is not None
    assert "ann@client.example opened 3 tickets" in held.hold_reason


def test_desk_at_its_hourly_limit_holds_everyone() -> None:
    held = limited(would_open(), FakeCounts(total=100))
    assert held.hold_reason is not None
    assert "limit 100" in held.hold_reason


def test_replies_to_existing_tickets_are_never_held_by_the_intake_limit() -> None:
    reply = would_open(thread=ThreadMatch(ThreadRule.HEADER, 7, SenderStanding.REQUESTER, "x"))
    assert limited(reply, FakeCounts(total=10_000)).hold_reason is None


def test_auto_replies_are_not_counted_as_would_be_tickets() -> None:
    auto = would_open(kind=MailKind.AUTO_REPLY)
    assert limited(auto, FakeCounts(total=10_000)).hold_reason is None
