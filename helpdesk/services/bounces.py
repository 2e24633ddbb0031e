"""Delivery failures reported back to us: recorded on their ticket and the addresses that failed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.enums import DeliveryState, EventKind, ThreadRule
from helpdesk.errors import NotFound
from helpdesk.models import ContactEmail, Message, Ticket
from helpdesk.principal import System
from helpdesk.queries.inbound import SqlThreadIndex
from helpdesk.services.incoming import (
    MAX_DIAGNOSTIC,
    IncomingBounce,
    IncomingMail,
    ReceiveAction,
    ReceiveOutcome,
)
from helpdesk.services.thread_references import clean_message_id
from helpdesk.services.ticket_access import record_change


def receive_bounce(session: Session, mail: IncomingMail, *, now: datetime) -> ReceiveOutcome:
    """Record a bounce's failure on its ticket and failed addresses; a delay or success is ignored.

    Raises:
        NotFound: the ticket the pipeline named is not the tenant's.
    """
    bounce = mail.bounce
    if bounce is None or bounce.action != "failed":
        return ReceiveOutcome(ReceiveAction.IGNORED, reason="a delivery report of no failure")
    marked = mark_bounced_addresses(session, mail.tenant_id, bounce, now=now)
    target = mail.ticket_id if mail.rule != ThreadRule.NEW else None
    ticket_id = record_delivery_failure(session, mail.tenant_id, bounce, ticket_id=target, now=now)
    if ticket_id is None and not marked:
        return ReceiveOutcome(ReceiveAction.IGNORED, reason="a bounce of no mail of ours")
    return ReceiveOutcome(ReceiveAction.BOUNCE_RECORDED, ticket_id)


def record_delivery_failure(
    session: Session,
    tenant_id: int,
    bounce: IncomingBounce,
    *,
    ticket_id: int | None,
    now: datetime,
) -> int | None:
    """Record a delivery failure on the ticket it concerns; return that ticket's id, if found.

    The ticket is the one whose mail carried the original Message-ID, else
    `ticket_id` (where the pipeline threaded the report). Our message with
    that Message-ID is marked bounced.

    Raises:
        NotFound: `ticket_id` is not a ticket of the tenant.
    """
    ticket = _failed_ticket(session, tenant_id, bounce, ticket_id)
    if ticket is None:
        return None
    original = clean_message_id(bounce.original_message_id)
    if original is not None:
        sent = select(Message).where(
            Message.tenant_id == tenant_id,
            Message.ticket_id == ticket.id,
            Message.message_id == original,
        )
        for message in session.scalars(sent):
            message.delivery_state = DeliveryState.BOUNCED
    record_change(
        session, System(tenant_id), ticket, EventKind.DELIVERY_FAILED, now=now,
        recipients=list(bounce.recipients), status=bounce.status, action=bounce.action,
        diagnostic=bounce.diagnostic[:MAX_DIAGNOSTIC], permanent=bounce.permanent,
        original_message_id=original,
    )  # fmt: skip
    return ticket.id


def mark_bounced_addresses(
    session: Session, tenant_id: int, bounce: IncomingBounce, *, now: datetime
) -> int:
    """Mark the failed recipients that are the tenant's contact addresses as hard-bounced.

    They are then not mailed for helpdesk.mail_limits.HARD_BOUNCE_DAYS unless
    someone fixes them. Returns how many addresses were marked; a temporary
    failure marks none.
    """
    if not bounce.permanent or not bounce.recipients:
        return 0
    addresses = {recipient.strip().lower() for recipient in bounce.recipients}
    entries = session.scalars(
        select(ContactEmail).where(
            ContactEmail.tenant_id == tenant_id, ContactEmail.email.in_(addresses)
        )
    ).all()
    for entry in entries:
        entry.bounced_at = now
        entry.bounce_reason = bounce.reason
    session.flush()
    return len(entries)


def clear_bounce(address: ContactEmail) -> bool:
    """Clear a hard-bounce mark: mail came from the address, so it works again; return whether.

    Callers check policy: mail from the address itself is proof enough.
    """
    if address.bounced_at is None:
        return False
    address.bounced_at = None
    address.bounce_reason = None
    return True


def _failed_ticket(
    session: Session, tenant_id: int, bounce: IncomingBounce, ticket_id: int | None
) -> Ticket | None:
    original = clean_message_id(bounce.original_message_id)
    if original is not None:
        found = SqlThreadIndex(session).ticket_for_message_ids(tenant_id, [original])
        if found is not None:
            return session.get(Ticket, found[0].id)
    if ticket_id is None:
        return None
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or ticket.tenant_id != tenant_id:
        raise NotFound("no such ticket")
    return ticket
