"""What an inbound mail lands on: its ticket (through merges), its sender's contact, its agent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, lazyload

from helpdesk.addresses import normalize_email
from helpdesk.enums import MailKind, SenderStanding, ThreadRule
from helpdesk.errors import NotFound, ValidationError
from helpdesk.models import Contact, ContactEmail, RawMessage, Ticket
from helpdesk.principal import Staff, System
from helpdesk.services.contacts import add_new_contact, find_contact_address
from helpdesk.services.incoming import IncomingMail
from helpdesk.services.users import staff_principal

# A caller may hand in plain strings: each field is checked against its enum's values.
_KINDS = frozenset(MailKind)
# The kinds that land on the ticket a message threads to, and how their senders may stand there.
_THREADED_KINDS = frozenset({MailKind.NORMAL, MailKind.AUTO_REPLY})
_LANDING_STANDINGS = frozenset(SenderStanding) - {SenderStanding.NEW}


def check_mail(session: Session, mail: IncomingMail) -> None:
    """Raises:
    ValidationError: an unknown kind, or a threaded message without a ticket or
        with a standing that does not land on one.
    NotFound: the raw message is not the tenant's.
    """
    if mail.kind not in _KINDS:
        raise ValidationError("kind", f"no mail kind {mail.kind!r}")
    if mail.rule != ThreadRule.NEW and mail.kind in _THREADED_KINDS:
        if mail.ticket_id is None:
            raise ValidationError("ticket_id", "a threaded message names its ticket")
        if mail.standing not in _LANDING_STANDINGS:
            raise ValidationError("standing", f"no standing {mail.standing!r} on a ticket")
    if mail.raw_message_id is not None:
        raw = session.get(RawMessage, mail.raw_message_id)
        if raw is None or raw.tenant_id not in (None, mail.tenant_id):
            raise NotFound("no such raw message")


def target_ticket(session: Session, mail: IncomingMail) -> Ticket:
    """Return the ticket a threaded mail lands on: the one it names, or where that was merged.

    Raises:
        NotFound: no such ticket in the mail's tenant.
    """
    # Another tenant's ticket id is never written to: it does not exist here.
    ticket = _ticket(session, mail.ticket_id) if mail.ticket_id is not None else None
    if ticket is None or ticket.tenant_id != mail.tenant_id:
        raise NotFound("no such ticket")
    # A merged ticket's thread lives on in the ticket it went into.
    seen = {ticket.id}
    while ticket.merged_into_id is not None and ticket.merged_into_id not in seen:
        survivor = _ticket(session, ticket.merged_into_id)
        if survivor is None or survivor.tenant_id != mail.tenant_id:
            break
        ticket = survivor
        seen.add(ticket.id)
    return ticket


def _ticket(session: Session, ticket_id: int) -> Ticket | None:
    # Mail touches no tags: they are read only if someone asks for them.
    return session.get(Ticket, ticket_id, options=[lazyload(Ticket.tags)])


def sender_contact(
    session: Session, mail: IncomingMail, known: Contact | None, now: datetime
) -> Contact:
    """Return the sender's contact: `known`, what `known_sender` found, or a new one if it was None.

    The caller has asked `known_sender`: the address is not looked up again.
    """
    if known is not None:
        return known
    return add_new_contact(
        session, System(mail.tenant_id), mail.tenant_id, mail.sender_email, mail.sender_name,
        now=now,
    )  # fmt: skip


def known_sender(
    session: Session, mail: IncomingMail
) -> tuple[Contact, ContactEmail] | tuple[None, None]:
    """Return the tenant's contact owning the sender's address, and that address; or Nones.

    Raises:
        ValidationError: the sender's address is no e-mail address.
    """
    address = normalize_email(mail.sender_email, "sender")
    # The address's own row comes with the contact: whether it bounced is read at no extra cost.
    entry = find_contact_address(session, mail.tenant_id, address)
    return (None, None) if entry is None else (entry.contact, entry)


def staff_of(session: Session, mail: IncomingMail) -> Staff:
    """Return the agent the pipeline found the mail is from.

    Raises:
        ValidationError: the pipeline named no agent.
        PermissionDenied: the agent is no active staff of the tenant.
    """
    if mail.agent_user_id is None:
        raise ValidationError("agent_user_id", "name the agent the mail is from")
    return staff_principal(session, mail.agent_user_id, mail.tenant_id)
