"""Attachments: files on a ticket's messages, their bytes kept in the blob store."""

from __future__ import annotations

import hashlib
import unicodedata
from datetime import datetime
from pathlib import PurePosixPath, PureWindowsPath

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.enums import EventKind, Visibility
from helpdesk.errors import NotFound, ValidationError
from helpdesk.models import Attachment, Message, Ticket
from helpdesk.policy import Action, is_staff
from helpdesk.principal import Principal
from helpdesk.services.ticket_access import (
    get_ticket_by_id,
    note_change,
    record_change,
    ticket_for,
)
from helpdesk.storage import BlobStore, content_key

MAX_FILENAME_LENGTH = 255


def add_attachment(
    session: Session,
    actor: Principal,
    message_id: int,
    *,
    filename: str,
    data: bytes,
    declared_type: str,
    sniffed_type: str,
    content_id: str | None = None,
    inline: bool = False,
    store: BlobStore,
    now: datetime,
) -> Attachment:
    """Store a file's bytes and attach it to a message.

    The type is given twice: what the sender declared and what the bytes are
    (the edges sniff it); only the sniffed type is trusted. Blobs are
    content-addressed per tenant, so the same file sent twice is stored once.
    A blob written for a transaction that then rolls back stays unreferenced,
    which is harmless: nothing can reach it, and the same bytes reuse its key.

    Raises:
        NotFound: no such message, or the actor may not see its ticket.
        PermissionDenied: the actor may not write this kind of message.
        ValidationError: an empty file name.
    """
    message = _message(session, message_id)
    action = Action.REPLY_PUBLIC if message.visibility is Visibility.PUBLIC else Action.ADD_NOTE
    ticket = ticket_for(session, actor, message.ticket_id, action)
    attachment = stored_attachment(
        ticket, filename=filename, data=data, declared_type=declared_type,
        sniffed_type=sniffed_type, content_id=content_id, inline=inline, store=store, now=now,
    )  # fmt: skip
    attachment.message_id = message.id
    session.add(attachment)
    session.flush()
    record_attachment(session, actor, ticket, attachment, now=now)
    return attachment


def stored_attachment(
    ticket: Ticket,
    *,
    filename: str,
    data: bytes,
    declared_type: str,
    sniffed_type: str,
    content_id: str | None,
    inline: bool,
    store: BlobStore,
    now: datetime,
) -> Attachment:
    """Store the file's bytes and return its row for the ticket, its message not yet set.

    Callers check policy, attach the row to its message and record it.

    Raises:
        ValidationError: an empty file name.
    """
    digest = hashlib.sha256(data).hexdigest()
    key = content_key(ticket.tenant_id, digest)
    if not store.exists(key):
        store.put(key, data)
    return Attachment(
        tenant_id=ticket.tenant_id,
        ticket_id=ticket.id,
        filename=clean_filename(filename),
        declared_type=declared_type[:255],
        sniffed_type=sniffed_type[:255],
        size=len(data),
        sha256=digest,
        storage_key=key,
        content_id=content_id,
        inline=inline,
        created_at=now,
    )


def record_attachment(
    session: Session,
    actor: Principal,
    ticket: Ticket,
    attachment: Attachment,
    *,
    now: datetime,
    flush: bool = True,
) -> None:
    """Record a file just attached (written, with its id): the ticket's event."""
    record = record_change if flush else note_change
    record(
        session, actor, ticket, EventKind.ATTACHMENT_ADDED, now=now,
        attachment_id=attachment.id, message_id=attachment.message_id,
        filename=attachment.filename,
    )  # fmt: skip


def get_attachment(
    session: Session, actor: Principal, ticket_id: int, attachment_id: int
) -> Attachment:
    """Return an attachment of a ticket the actor may see.

    A client reaches only attachments of public messages: a file on an internal
    note does not exist for them.

    Raises:
        NotFound: no such attachment on this ticket, or not for this actor.
    """
    ticket = get_ticket_by_id(session, actor, ticket_id)
    query = (
        select(Attachment)
        .join(Message, Message.id == Attachment.message_id)
        .where(Attachment.id == attachment_id, Attachment.ticket_id == ticket.id)
    )
    if not is_staff(actor):
        query = query.where(Message.visibility == Visibility.PUBLIC)
    attachment = session.scalar(query)
    if attachment is None:
        raise NotFound("no such attachment")
    return attachment


def read_attachment(
    session: Session, actor: Principal, ticket_id: int, attachment_id: int, *, store: BlobStore
) -> tuple[Attachment, bytes]:
    """Return an attachment the actor may see with its bytes.

    Raises:
        NotFound: as `get_attachment`, or the bytes are missing from the store.
    """
    attachment = get_attachment(session, actor, ticket_id, attachment_id)
    return attachment, store.get(attachment.storage_key)


def clean_filename(filename: str) -> str:
    """Return a file name safe to show and to offer for download.

    Drops any directory part (both separators: mail from Windows clients
    carries backslashes), control and format characters (a right-to-left
    override can disguise "exe.pdf"), and keeps the extension when shortening.

    Raises:
        ValidationError: nothing is left of the name.
    """
    name = PureWindowsPath(PurePosixPath(filename.strip()).name).name
    name = "".join(_printable(ch) for ch in name).strip(" .")
    if not name:
        raise ValidationError("filename", "must not be empty")
    if len(name) > MAX_FILENAME_LENGTH:
        _stem, dot, extension = name.rpartition(".")
        keep = extension[:16] if dot else ""
        name = name[: MAX_FILENAME_LENGTH - len(keep) - 1].rstrip() + (f".{keep}" if keep else "")
    return name


def _printable(ch: str) -> str:
    category = unicodedata.category(ch)
    if category[0] == "C":
        return ""
    # Line and paragraph separators and exotic spaces read as a plain space.
    return " " if category[0] == "Z" else ch


def _message(session: Session, message_id: int) -> Message:
    message = session.get(Message, message_id)
    if message is None:
        raise NotFound("no such message")
    return message
