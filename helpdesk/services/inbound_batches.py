"""Filing a batch of inbound mail set-wise: the common shapes in a few statements, not a few each.

`receive_mails` files each mail as `receive_mail` would, and gives the same
outcomes and rows. The shapes most mail takes (a new ticket from a client,
a requester's reply on their open ticket) are written together: one read of
their senders and of their tickets, one statement per table written. Any
other mail (a bounce, a hold, an agent, a merged or closed ticket, a CC) is
handed to `receive_mail` in its turn, between the runs written together,
so what the mails do happens in their order.

The caller hands in mails that do not depend on each other: no two share a
sender, a ticket they land on, or a Message-ID (their own or one they
reference). Filing one then changes nothing another's filing reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from helpdesk.addresses import normalize_email
from helpdesk.enums import MailKind, SenderStanding, Source, Status, ThreadRule
from helpdesk.errors import ValidationError
from helpdesk.models import Attachment, Contact, ContactEmail, Message, Ticket
from helpdesk.policy import Action, can, can_on_ticket, require
from helpdesk.principal import Client, System
from helpdesk.search import index_ticket
from helpdesk.services.attachments import record_attachment
from helpdesk.services.bounces import clear_bounce
from helpdesk.services.contacts import add_new_contacts, find_contact_addresses
from helpdesk.services.inbound_mail import (
    attached_file,
    receive_mail,
    reply_draft,
    ticket_request,
)
from helpdesk.services.incoming import IncomingMail, ReceiveAction, ReceiveOutcome
from helpdesk.services.messages import record_client_reply
from helpdesk.services.thread_references import reference_rows, store_references
from helpdesk.services.ticket_access import Author, draft_message
from helpdesk.services.ticket_opening import (
    NewTicket,
    draft_of,
    first_author,
    next_ticket_numbers,
    prepare_ticket,
    record_opening,
)
from helpdesk.storage import BlobStore

__all__ = ["batchable", "receive_mails"]


def batchable(mail: IncomingMail) -> bool:
    """Whether the mail has a shape `receive_mails` may write together with others.

    Only what the mail says is looked at; `receive_mails` still hands a
    mail to `receive_mail` when its sender or ticket turns out otherwise.
    """
    if mail.kind != MailKind.NORMAL or mail.hold_reason or mail.cc:
        return False
    if mail.agent_user_id is not None:
        return False
    return mail.rule == ThreadRule.NEW or mail.standing == SenderStanding.REQUESTER


def receive_mails(
    session: Session, mails: Sequence[IncomingMail], *, store: BlobStore, now: datetime
) -> list[ReceiveOutcome]:
    """File mails that do not depend on each other, as `receive_mail` files each; in order.

    Raises:
        As `receive_mail`, for any of the mails.
    """
    plan = _Plan.read(session, mails)
    outcomes: list[ReceiveOutcome] = []
    run: list[_Filing] = []
    for mail, filing in zip(mails, plan.filings, strict=True):
        if filing is not None:
            run.append(filing)
            continue
        outcomes += _write(session, run, store, now)
        run = []
        outcomes.append(receive_mail(session, mail, store=store, now=now))
    outcomes += _write(session, run, store, now)
    return outcomes


@dataclass
class _Filing:
    """One mail written with others: the ticket it opens or lands on, and its rows."""

    mail: IncomingMail
    address: str
    sender: ContactEmail | None  # None: a new sender, whose contact the run creates
    ticket: Ticket | None  # the ticket it lands on; one it opens once the run has it
    contact: Contact | None = None
    request: NewTicket | None = None  # what a mail that opens a ticket asks for, once known
    message: Message | None = None
    attachments: list[Attachment] = field(default_factory=list)

    @property
    def opens(self) -> bool:
        """Whether the mail opens a ticket (else it is a requester's reply)."""
        return self.mail.rule == ThreadRule.NEW


@dataclass
class _Plan:
    """What the batch's senders and tickets are, read at once; a filing for each mail that fits."""

    filings: list[_Filing | None]

    @classmethod
    def read(cls, session: Session, mails: Sequence[IncomingMail]) -> _Plan:
        addresses = [_address(mail) if batchable(mail) else None for mail in mails]
        senders: dict[tuple[int, str], ContactEmail] = {}
        tickets: dict[int, Ticket] = {}
        wanted_senders: dict[int, list[str]] = {}
        for mail, address in zip(mails, addresses, strict=True):
            if address:
                wanted_senders.setdefault(mail.tenant_id, []).append(address)
        for tenant_id, wanted_addresses in wanted_senders.items():
            found = find_contact_addresses(session, tenant_id, wanted_addresses)
            senders.update(((tenant_id, address), row) for address, row in found.items())
        wanted = {
            mail.ticket_id
            for mail, address in zip(mails, addresses, strict=True)
            if address and mail.rule != ThreadRule.NEW and mail.ticket_id is not None
        }
        if wanted:
            query = select(Ticket).where(Ticket.id.in_(sorted(wanted)))
            tickets = {t.id: t for t in session.scalars(query.options(lazyload(Ticket.tags)))}
        filings: list[_Filing | None] = []
        for mail, address in zip(mails, addresses, strict=True):
            row = senders.get((mail.tenant_id, address)) if address else None
            filings.append(_filing(mail, address, row, tickets))
        return cls(filings)


def _address(mail: IncomingMail) -> str | None:
    try:
        return normalize_email(mail.sender_email, "sender")
    except ValidationError:
        return None  # receive_mail says why


def _filing(
    mail: IncomingMail, address: str | None, row: ContactEmail | None, tickets: dict[int, Ticket]
) -> _Filing | None:
    # What receive_mail would do otherwise than open a ticket or append a
    # requester's reply (hold a blocked sender, follow a merge, open a
    # follow-up of a closed ticket) is left to it.
    if address is None or (row is not None and row.contact.blocked):
        return None
    if mail.rule == ThreadRule.NEW:
        return _Filing(mail, address, row, None)
    ticket = tickets.get(mail.ticket_id) if mail.ticket_id is not None else None
    if ticket is None or row is None or not _appends(mail, ticket, row.contact):
        return None
    return _Filing(mail, address, row, ticket)


def _appends(mail: IncomingMail, ticket: Ticket, contact: Contact) -> bool:
    if ticket.tenant_id != mail.tenant_id or ticket.merged_into_id is not None:
        return False
    if ticket.status is Status.CLOSED:
        return False
    # The contact's own rights on the ticket, as add_client_reply checks them.
    client = Client(contact.id, contact.tenant_id, contact.organization_id)
    return can_on_ticket(client, Action.REPLY_PUBLIC, ticket)


def _write(
    session: Session, run: list[_Filing], store: BlobStore, now: datetime
) -> list[ReceiveOutcome]:
    if not run:
        return []
    by_tenant: dict[int, list[_Filing]] = {}
    for filing in run:
        by_tenant.setdefault(filing.mail.tenant_id, []).append(filing)
    for tenant_id, filings in by_tenant.items():
        _write_tenant(session, tenant_id, filings, store, now)
    return [_outcome(filing) for filing in run]


def _write_tenant(
    session: Session, tenant_id: int, run: list[_Filing], store: BlobStore, now: datetime
) -> None:
    system = System(tenant_id)
    _add_senders(session, system, tenant_id, run, now)
    _open_tickets(session, system, tenant_id, run, now)
    for filing in run:
        ticket, contact = _landing(filing)
        if filing.request is not None:
            author, draft = first_author(system, contact), draft_of(filing.request)
        else:
            author, draft = Author.contact(contact.id), reply_draft(filing.mail)
        filing.message = draft_message(ticket, author, draft, now=now)
        for file in filing.mail.files:
            attachment = attached_file(ticket, file, store=store, now=now)
            filing.message.attachments.append(attachment)
            filing.attachments.append(attachment)
        session.add(filing.message)
        index_ticket(session, ticket)
    session.flush()
    references = []
    for filing in run:
        (ticket, _), message, mail = _landing(filing), filing.message, filing.mail
        assert message is not None  # noqa: S101 - written above
        if filing.opens:
            record_opening(session, system, ticket, message, Source.EMAIL, [], now=now)
        else:
            record_client_reply(session, system, ticket, message, now=now, flush=False)
        for attachment in filing.attachments:
            record_attachment(session, system, ticket, attachment, now=now, flush=False)
        references += reference_rows(
            tenant_id, ticket.id, own=mail.message_id, referenced=mail.referenced, now=now
        )
    if references:
        store_references(session, references)


def _add_senders(
    session: Session, system: System, tenant_id: int, run: list[_Filing], now: datetime
) -> None:
    for filing in run:
        if filing.sender is not None:
            filing.contact = filing.sender.contact
            # Mail from an address that bounced before shows it works again.
            clear_bounce(filing.sender)
    unknown = [filing for filing in run if filing.sender is None]
    if not unknown:
        return
    people = [(filing.address, filing.mail.sender_name) for filing in unknown]
    created = add_new_contacts(session, system, tenant_id, people, now=now)
    for filing, contact in zip(unknown, created, strict=True):
        filing.contact = contact


def _open_tickets(
    session: Session, system: System, tenant_id: int, run: list[_Filing], now: datetime
) -> None:
    opening = [filing for filing in run if filing.opens]
    if not opening:
        return
    require(can(system, Action.CREATE_TICKET, tenant_id), "you may not open tickets here")
    numbers = next_ticket_numbers(session, tenant_id, len(opening))
    for filing, number in zip(opening, numbers, strict=True):
        assert filing.contact is not None  # noqa: S101 - _add_senders set it
        filing.request = ticket_request(filing.mail, filing.contact)
        filing.ticket, _ = prepare_ticket(
            session, system, tenant_id, filing.request, now=now, number=number
        )
        session.add(filing.ticket)
    session.flush()


def _landing(filing: _Filing) -> tuple[Ticket, Contact]:
    assert filing.ticket is not None  # noqa: S101 - opened or read by now
    assert filing.contact is not None  # noqa: S101 - known or created by now
    return filing.ticket, filing.contact


def _outcome(filing: _Filing) -> ReceiveOutcome:
    ticket, message = _landing(filing)[0], filing.message
    assert message is not None  # noqa: S101 - written by now
    action = ReceiveAction.CREATED if filing.opens else ReceiveAction.APPENDED
    return ReceiveOutcome(action, ticket.id, message.id)
