"""Mail limits: automatic answers stay rare, loops trip a breaker, bounced addresses rest."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from helpdesk.errors import NotFound, ValidationError
from helpdesk.mail_limits import (
    AUTO_ANSWERS_PER_DAY,
    HARD_BOUNCE_DAYS,
    intake_limits,
    is_suppressed,
    may_auto_answer,
    pause_auto_answers,
    record_auto_answer,
)
from helpdesk.models import ContactEmail
from helpdesk.principal import Operator
from helpdesk.services.tenant_settings import update_tenant
from tests.factories import NOW, make_contact, make_mailbox, make_tenant, make_ticket

ANN = "ann@client.example"


def test_a_hard_bounced_address_rests_for_sixty_days_unless_fixed() -> None:
    entry = ContactEmail(email=ANN, bounced_at=NOW)
    assert is_suppressed(entry, NOW + timedelta(days=HARD_BOUNCE_DAYS) - timedelta(seconds=1))
    assert not is_suppressed(entry, NOW + timedelta(days=HARD_BOUNCE_DAYS))
    entry.bounced_at = None
    assert not is_suppressed(entry, NOW)


def test_one_automatic_answer_per_recipient_and_ticket(session: Session) -> None:
    tenant = make_tenant(session)
    first, second = make_ticket(session, tenant), make_ticket(session, tenant)
    assert may_auto_answer(session, tenant.id, ANN, first.id, mailbox_id=None, now=NOW)
    record_auto_answer(session, tenant.id, "Ann@Client.example", first.id, now=NOW)
    assert not may_auto_answer(session, tenant.id, ANN, first.id, mailbox_id=None, now=NOW)
    later = NOW + timedelta(days=30)
    assert not may_auto_answer(session, tenant.id, ANN, first.id, mailbox_id=None, now=later)
    assert may_auto_answer(session, tenant.id, ANN, second.id, mailbox_id=None, now=NOW)


def test_at_most_ten_automatic_answers_to_one_address_a_day(session: Session) -> None:
    tenant = make_tenant(session)
    for minute in range(AUTO_ANSWERS_PER_DAY):
        record_auto_answer(session, tenant.id, ANN, None, now=NOW + timedelta(minutes=minute))
    soon = NOW + timedelta(hours=1)
    assert not may_auto_answer(session, tenant.id, ANN, None, mailbox_id=None, now=soon)
    assert may_auto_answer(
        session, tenant.id, "bob@client.example", None, mailbox_id=None, now=soon
    )
    next_day = NOW + timedelta(days=1, minutes=1)
    assert may_auto_answer(session, tenant.id, ANN, None, mailbox_id=None, now=next_day)


def test_another_tenants_answers_do_not_count(session: Session) -> None:
    tenant, other = make_tenant(session), make_tenant(session)
    for _ in range(AUTO_ANSWERS_PER_DAY):
        record_auto_answer(session, other.id, ANN, None, now=NOW)
    assert may_auto_answer(session, tenant.id, ANN, None, mailbox_id=None, now=NOW)


def test_a_loop_silences_the_mailbox_for_an_hour(session: Session) -> None:
    tenant = make_tenant(session)
    mailbox = make_mailbox(session, tenant)
    pause_auto_answers(session, tenant.id, mailbox.id, now=NOW)
    for minutes, allowed in ((59, False), (61, True)):
        now = NOW + timedelta(minutes=minutes)
        assert may_auto_answer(session, tenant.id, ANN, None, mailbox_id=mailbox.id, now=now) is (
            allowed
        )


def test_a_second_loop_extends_the_pause_and_an_old_one_never_shortens_it(
    session: Session,
) -> None:
    tenant = make_tenant(session)
    mailbox = make_mailbox(session, tenant)
    pause_auto_answers(session, tenant.id, mailbox.id, now=NOW + timedelta(minutes=30))
    pause_auto_answers(session, tenant.id, mailbox.id, now=NOW)
    assert mailbox.auto_answers_paused_until == NOW + timedelta(minutes=90)
    with pytest.raises(NotFound):
        pause_auto_answers(session, make_tenant(session).id, mailbox.id, now=NOW)


def test_no_automatic_answer_to_a_hard_bounced_address(session: Session) -> None:
    tenant = make_tenant(session)
    contact = make_contact(session, tenant, ANN)
    contact.emails[0].bounced_at = NOW
    assert not may_auto_answer(session, tenant.id, ANN, None, mailbox_id=None, now=NOW)


def test_intake_limits_default_and_follow_the_tenants_settings(session: Session) -> None:
    tenant = make_tenant(session)
    assert intake_limits(tenant) == (20, 1000)
    settings = {"max_new_tickets_per_sender_per_hour": 5, "max_new_tickets_per_hour": 50}
    update_tenant(session, Operator(), tenant.id, settings=settings, now=NOW)
    assert intake_limits(tenant) == (5, 50)
    for bad in (0, -1, "5", True):
        with pytest.raises(ValidationError):
            update_tenant(
                session, Operator(), tenant.id, settings={"max_new_tickets_per_hour": bad}, now=NOW
            )
