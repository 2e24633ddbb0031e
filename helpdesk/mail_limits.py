"""The limits that keep mail loops short and bounced addresses quiet (RFC 3834 restraint)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpdesk.errors import NotFound
from helpdesk.models import AutoAnswer, ContactEmail, Mailbox, Tenant

# A hard-bounced address is not mailed for this long, unless someone fixes it.
HARD_BOUNCE_DAYS = 60
# Automatic answers to one address: one per ticket, and this many a day in all
# (Mailman and FreeScout cap at 10 too).
AUTO_ANSWERS_PER_DAY = 10
# How long a mailbox sends no automatic answers after a mail loop was detected.
LOOP_PAUSE = timedelta(hours=1)


def is_suppressed(contact_email: ContactEmail, now: datetime) -> bool:
    """Whether mail to this address is held back: it hard-bounced recently and was not fixed."""
    bounced = contact_email.bounced_at
    return bounced is not None and now - bounced < timedelta(days=HARD_BOUNCE_DAYS)


def may_auto_answer(
    session: Session,
    tenant_id: int,
    recipient: str,
    ticket_id: int | None,
    *,
    mailbox_id: int | None,
    now: datetime,
) -> bool:
    """Whether an automatic answer may go to `recipient` about this ticket now.

    Not while the mailbox's loop breaker is on, not to a hard-bounced address,
    never twice for one ticket, and at most AUTO_ANSWERS_PER_DAY in 24 hours.
    """
    address = recipient.strip().lower()
    if _breaker_on(session, tenant_id, mailbox_id, now) or _bounced(
        session, tenant_id, address, now
    ):
        return False
    answered = select(AutoAnswer.id).where(
        AutoAnswer.tenant_id == tenant_id, AutoAnswer.recipient == address
    )
    if ticket_id is not None and session.scalar(
        answered.where(AutoAnswer.ticket_id == ticket_id).limit(1)
    ):
        return False
    recent = answered.where(AutoAnswer.sent_at > now - timedelta(days=1)).subquery()
    count = session.scalar(select(func.count()).select_from(recent)) or 0
    return count < AUTO_ANSWERS_PER_DAY


def record_auto_answer(
    session: Session, tenant_id: int, recipient: str, ticket_id: int | None, *, now: datetime
) -> AutoAnswer:
    """Count an automatic answer sent to `recipient`; the sender calls this as it sends."""
    answer = AutoAnswer(
        tenant_id=tenant_id, recipient=recipient.strip().lower(), ticket_id=ticket_id, sent_at=now
    )
    session.add(answer)
    session.flush()
    return answer


def pause_auto_answers(session: Session, tenant_id: int, mailbox_id: int, *, now: datetime) -> None:
    """Trip the mailbox's loop breaker: no automatic answers for LOOP_PAUSE from now.

    Raises:
        NotFound: no such mailbox in the tenant.
    """
    mailbox = session.get(Mailbox, mailbox_id)
    if mailbox is None or mailbox.tenant_id != tenant_id:
        raise NotFound("no such mailbox")
    until = now + LOOP_PAUSE
    current = mailbox.auto_answers_paused_until
    if current is None or current < until:
        mailbox.auto_answers_paused_until = until
    session.flush()


def intake_limits(tenant: Tenant) -> tuple[int, int]:
    """Return how many tickets mail may open in an hour: (per sender, for the whole tenant)."""
    return (
        int(tenant.setting("max_new_tickets_per_sender_per_hour")),
        int(tenant.setting("max_new_tickets_per_hour")),
    )


def _breaker_on(session: Session, tenant_id: int, mailbox_id: int | None, now: datetime) -> bool:
    if mailbox_id is None:
        return False
    mailbox = session.get(Mailbox, mailbox_id)
    if mailbox is None or mailbox.tenant_id != tenant_id:
        return False
    paused = mailbox.auto_answers_paused_until
    return paused is not None and paused > now


def _bounced(session: Session, tenant_id: int, address: str, now: datetime) -> bool:
    entry = session.scalar(
        select(ContactEmail).where(
            ContactEmail.tenant_id == tenant_id, ContactEmail.email == address
        )
    )
    return entry is not None and is_suppressed(entry, now)
