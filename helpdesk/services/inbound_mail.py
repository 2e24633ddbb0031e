"""Applying what the inbound pipeline decided for one e-mail: the writer of mail to tickets.

helpdesk.services.inbound_batches writes the common shapes of a batch
together, with the builders these functions use, and hands it the rest.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from helpdesk.enums import EventKind, MailKind, SenderStanding, Source, ThreadRule
from helpdesk.errors import ValidationError
from helpdesk.mail_limits import pause_auto_answers
from helpdesk.models import Attachment, Contact, Message, Ticket
from helpdesk.policy import Action, can
from helpdesk.principal import System
from helpdesk.services.attachments import clean_filename, record_attachment, stored_attachment
from helpdesk.services.bounces import clear_bounce, receive_bounce
from helpdesk.services.held_messages import hold_message, release_vouched_messages
from helpdesk.services.inbound_targets import (
    check_mail,
    known_sender,
    sender_contact,
    staff_of,
    target_ticket,
)
from helpdesk.services.incoming import (
    IncomingBounce,
    IncomingFile,
    IncomingMail,
    ReceiveAction,
    ReceiveOutcome,
    mail_draft,
    mail_facts,
)
from helpdesk.services.messages import add_client_reply, add_internal_note, add_public_reply
from helpdesk.services.thread_references import clean_message_id, record_thread_references
from helpdesk.services.ticket_access import Author, Draft, append_message, record_change
from helpdesk.services.ticket_opening import NewTicket, open_new_ticket
from helpdesk.services.ticket_people import add_cc_participants, add_participant
from helpdesk.storage import BlobStore

__all__ = [
    "IncomingBounce",
    "IncomingFile",
    "IncomingMail",
    "ReceiveAction",
    "ReceiveOutcome",
    "receive_mail",
]

UNPROVEN_AGENT_HOLD = "sent from an agent's address without proof; confirm to post it"
HOLD_REASONS = {
    SenderStanding.PENDING: "the sender takes no part in this ticket; accept to post their message",
    SenderStanding.TOKEN_OTHER_RECIPIENT: (
        "the reply address was given to someone else; accept to post it"
    ),
}
BLOCKED_SENDER = "sender is blocked"
IGNORED_KINDS = {
    MailKind.LOOP: "our own mail came back (a mail loop)",
    MailKind.SPAM: "flagged as spam before it reached us",
}
# Who joins the ticket with their reply (see `_client_reply`).
JOINING_STANDINGS = frozenset({SenderStanding.ORGANIZATION, SenderStanding.PARTICIPANT})


def receive_mail(
    session: Session, mail: IncomingMail, *, store: BlobStore, now: datetime
) -> ReceiveOutcome:
    """Apply the pipeline's decision for one message, acting as the System of its tenant.

    Loops and spam touch no ticket (a loop pauses the mailbox's automatic
    answers); a bounce is recorded on its ticket and failed addresses; an
    auto-reply becomes an internal message of its ticket. Mail over a limit
    or from a blocked sender is held for review without a ticket. Otherwise
    the message opens a ticket or lands on the one it threads to, as the
    sender's standing there allows (CONTRACT §4). Every message on a ticket
    records its thread rule, evidence and Message-IDs, and its kept files.

    Raises:
        NotFound: the ticket, mailbox or raw message is not the tenant's.
        PermissionDenied: the named agent is no active staff of the tenant.
        ValidationError: an unknown kind, or a threaded message without a ticket
            or with a standing that does not land on one.
    """
    check_mail(session, mail)
    if mail.kind in IGNORED_KINDS:
        if mail.kind == MailKind.LOOP and mail.mailbox_id is not None:
            pause_auto_answers(session, mail.tenant_id, mail.mailbox_id, now=now)
        return ReceiveOutcome(ReceiveAction.IGNORED, reason=IGNORED_KINDS[mail.kind])
    if mail.kind == MailKind.BOUNCE:
        return receive_bounce(session, mail, now=now)
    if mail.kind == MailKind.AUTO_REPLY:
        return _record_auto_reply(session, mail, store, now)
    known, address = known_sender(session, mail)
    if address is not None:
        # Mail from an address that bounced before shows it works again.
        clear_bounce(address)
    if known is not None and known.blocked:
        return ReceiveOutcome(ReceiveAction.HELD_FOR_REVIEW, reason=BLOCKED_SENDER)
    if mail.rule != ThreadRule.NEW:
        return _land(session, mail, target_ticket(session, mail), known, store, now)
    if mail.hold_reason:
        return ReceiveOutcome(ReceiveAction.HELD_FOR_REVIEW, reason=mail.hold_reason)
    return _open(session, mail, known, store, now)


def _open(
    session: Session, mail: IncomingMail, known: Contact | None, store: BlobStore, now: datetime
) -> ReceiveOutcome:
    request = ticket_request(mail, sender_contact(session, mail, known, now))
    system = System(mail.tenant_id)
    ticket, first = open_new_ticket(session, system, mail.tenant_id, request, now=now)
    _finish(session, mail, first, store, now)
    return ReceiveOutcome(ReceiveAction.CREATED, ticket.id, first.id)


def ticket_request(mail: IncomingMail, requester: Contact) -> NewTicket:
    """Return the ticket a new mail opens, with `requester` (the sender's contact)."""
    return NewTicket(
        subject=mail.subject, body=mail.body_text, requester_email=mail.sender_email,
        requester_name=mail.sender_name, source=Source.EMAIL, mailbox_id=mail.mailbox_id,
        cc=mail.cc, body_html=mail.body_html, body_full_text=_full_text(mail),
        message_id=clean_message_id(mail.message_id), mail=mail_facts(mail),
        requester_contact=requester,
    )  # fmt: skip


def reply_draft(mail: IncomingMail) -> Draft:
    """Return a client's reply by mail as the message it adds to its ticket."""
    return Draft(
        mail.body_text, Source.EMAIL, body_html=mail.body_html, body_full_text=_full_text(mail),
        message_id=clean_message_id(mail.message_id), mail=mail_facts(mail),
    )  # fmt: skip


def _land(
    session: Session,
    mail: IncomingMail,
    ticket: Ticket,
    known: Contact | None,
    store: BlobStore,
    now: datetime,
) -> ReceiveOutcome:
    if mail.standing == SenderStanding.AGENT:
        message, action = _agent_reply(session, mail, ticket, now), ReceiveAction.AGENT_REPLY
    elif mail.standing == SenderStanding.UNPROVEN_AGENT:
        author = Author.of(staff_of(session, mail))
        reason = mail.hold_reason or UNPROVEN_AGENT_HOLD
        message = _hold(session, mail, ticket, author, reason, now)
        action = ReceiveAction.HELD_AGENT_NOTE
    elif mail.standing in HOLD_REASONS:
        message = _hold_pending(session, mail, ticket, known, now)
        action = ReceiveAction.PENDING_PARTICIPANT
    elif mail.hold_reason:
        author = Author.contact(sender_contact(session, mail, known, now).id)
        message = _hold(session, mail, ticket, author, mail.hold_reason, now)
        action = ReceiveAction.HELD
    else:
        message = _client_reply(session, mail, ticket, known, now)
        followed = message.ticket_id != ticket.id
        action = ReceiveAction.FOLLOW_UP if followed else ReceiveAction.APPENDED
    _finish(session, mail, message, store, now)
    return ReceiveOutcome(action, message.ticket_id, message.id)


def _client_reply(
    session: Session, mail: IncomingMail, ticket: Ticket, known: Contact | None, now: datetime
) -> Message:
    system = System(mail.tenant_id)
    contact = sender_contact(session, mail, known, now)
    # A colleague from the requester's organization, or someone the pipeline
    # found in the conversation (a token issued to them, a message of theirs
    # the ticket's mail answered), joins the ticket first.
    if mail.standing in JOINING_STANDINGS and add_participant(session, ticket, contact.id, now=now):
        record_change(
            session, system, ticket, EventKind.PARTICIPANT_ADDED, now=now,
            contact_id=contact.id, via=mail.standing,
        )  # fmt: skip
    message = add_client_reply(
        session, system, ticket.id, mail.body_text, author_contact_id=contact.id,
        body_html=mail.body_html, body_full_text=_full_text(mail),
        message_id=clean_message_id(mail.message_id), source=Source.EMAIL,
        mail=mail_facts(mail), now=now,
    )  # fmt: skip
    _vouch_for_copied(session, mail, message, now)
    return message


def _vouch_for_copied(
    session: Session, mail: IncomingMail, message: Message, now: datetime
) -> None:
    # Whom someone on the ticket copies on their mail takes part, like the CC
    # of a new ticket; a pending participant among them is accepted, with the
    # mail they sent while unknown.
    ticket = session.get(Ticket, message.ticket_id)
    if ticket is None or not mail.cc:
        return
    system = System(mail.tenant_id)
    joined = add_cc_participants(session, system, ticket, mail.cc, now=now)
    for contact_id in joined:
        record_change(
            session, system, ticket, EventKind.PARTICIPANT_ADDED, now=now,
            contact_id=contact_id, via="cc",
        )  # fmt: skip
    release_vouched_messages(session, system, ticket, joined, now=now)


def _agent_reply(session: Session, mail: IncomingMail, ticket: Ticket, now: datetime) -> Message:
    agent = staff_of(session, mail)
    # A light agent answers no client: their mail becomes a note.
    replies = can(agent, Action.REPLY_PUBLIC, mail.tenant_id)
    write = add_public_reply if replies else add_internal_note
    return write(
        session, agent, ticket.id, mail.body_text, body_html=mail.body_html,
        body_full_text=_full_text(mail), source=Source.EMAIL,
        message_id=clean_message_id(mail.message_id), mail=mail_facts(mail), now=now,
    )  # fmt: skip


def _hold_pending(
    session: Session, mail: IncomingMail, ticket: Ticket, known: Contact | None, now: datetime
) -> Message:
    contact = sender_contact(session, mail, known, now)
    added = add_participant(session, ticket, contact.id, pending=True, now=now)
    reason = mail.hold_reason or HOLD_REASONS[mail.standing]
    return _hold(
        session, mail, ticket, Author.contact(contact.id), reason, now,
        pending_participant=contact.id if added else None,
    )  # fmt: skip


def _hold(
    session: Session,
    mail: IncomingMail,
    ticket: Ticket,
    author: Author,
    reason: str,
    now: datetime,
    **payload: object,
) -> Message:
    return hold_message(
        session,
        System(mail.tenant_id),
        ticket,
        author,
        mail_draft(mail),
        reason,
        now=now,
        **payload,
    )


def _record_auto_reply(
    session: Session, mail: IncomingMail, store: BlobStore, now: datetime
) -> ReceiveOutcome:
    # RFC 3834: an automatic reply opens nothing and is answered by nothing;
    # agents may still want to read it ("out of office until Monday").
    if mail.rule == ThreadRule.NEW:
        return ReceiveOutcome(ReceiveAction.IGNORED, reason="an auto-reply to no ticket")
    ticket = target_ticket(session, mail)
    known, _ = known_sender(session, mail)
    author = Author.contact(sender_contact(session, mail, known, now).id)
    draft = mail_draft(mail)
    message = append_message(session, ticket, author, draft, now=now)
    record_change(
        session, System(mail.tenant_id), ticket, EventKind.AUTO_REPLY_RECEIVED, now=now,
        message_id=message.id, sender=mail.sender_email,
    )  # fmt: skip
    _finish(session, mail, message, store, now)
    return ReceiveOutcome(ReceiveAction.AUTO_REPLY_RECORDED, ticket.id, message.id)


def _finish(
    session: Session, mail: IncomingMail, message: Message, store: BlobStore, now: datetime
) -> None:
    record_thread_references(
        session, mail.tenant_id, message.ticket_id, own=mail.message_id,
        referenced=mail.referenced, now=now,
    )  # fmt: skip
    system = System(mail.tenant_id)
    ticket = session.get(Ticket, message.ticket_id)
    assert ticket is not None  # noqa: S101 - the message was just added to it
    for file in mail.files:
        attachment = attached_file(ticket, file, store=store, now=now)
        message.attachments.append(attachment)
        session.flush()
        record_attachment(session, system, ticket, attachment, now=now)
    session.flush()


def attached_file(
    ticket: Ticket, file: IncomingFile, *, store: BlobStore, now: datetime
) -> Attachment:
    """Store a file the mail carries; its row for the ticket, not yet on its message."""
    return stored_attachment(
        ticket, filename=_file_name(file.filename), data=file.data,
        declared_type=file.declared_type, sniffed_type=file.sniffed_type,
        content_id=file.content_id, inline=file.inline, store=store, now=now,
    )  # fmt: skip


def _full_text(mail: IncomingMail) -> str:
    return mail.body_full_text or mail.body_text


def _file_name(name: str) -> str:
    """Return an attached file's name as kept: a part without a usable one lands as "attachment"."""
    try:
        return clean_filename(name)
    except ValidationError:
        return "attachment"
