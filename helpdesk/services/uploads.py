"""Uploaded files: judged by their bytes against the desk's rules, then attached."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from helpdesk.errors import NotFound, ValidationError
from helpdesk.filetypes import FileRules, check_file
from helpdesk.models import Attachment, Message
from helpdesk.policy import Action, is_staff, require
from helpdesk.principal import Client, PlatformAdmin, Principal, Staff
from helpdesk.services.attachments import add_attachment
from helpdesk.services.scope import get_tenant
from helpdesk.services.ticket_access import ticket_for
from helpdesk.storage import BlobStore


def file_rules(session: Session, tenant_id: int) -> FileRules:
    """Return the tenant's attachment rules: allowed and blocked types, and the size limit.

    Raises:
        NotFound: no such tenant.
    """
    tenant = get_tenant(session, tenant_id)
    return FileRules.for_tenant(
        tenant.setting("attachment_allowed") or [],
        tenant.setting("attachment_blocked") or [],
        int(tenant.setting("max_attachment_bytes")),
    )


def attach_upload(
    session: Session,
    actor: Principal,
    ticket_id: int,
    message_id: int,
    *,
    filename: str,
    data: bytes,
    declared_type: str,
    store: BlobStore,
    now: datetime,
) -> Attachment:
    """Attach a file someone uploads (an agent or, in the portal, a client) to their own message.

    The file is judged by its bytes (helpdesk.filetypes) against the tenant's
    rules; its name and declared type are only kept, never trusted. To a
    client only public messages exist: an internal note's id answers like a
    missing message.

    Raises:
        NotFound: the actor may not see the ticket, or no such message is on it.
        PermissionDenied: the message is not the actor's own, or the actor may
            not write that kind of message.
        ValidationError: (field "file") empty, larger than the tenant allows,
            or a type the tenant does not accept; the reason says which.
    """
    ticket = ticket_for(session, actor, ticket_id, Action.VIEW_TICKETS)
    message = session.get(Message, message_id)
    hidden = message is not None and not is_staff(actor) and not message.is_public
    if message is None or message.ticket_id != ticket.id or hidden:
        raise NotFound("no such message on this ticket")
    require(_is_author(actor, message), "attach files to your own messages only")
    sniffed = check_upload(session, ticket.tenant_id, filename, data)
    return add_attachment(
        session, actor, message.id, filename=filename, data=data, declared_type=declared_type,
        sniffed_type=sniffed, store=store, now=now,
    )  # fmt: skip


def _is_author(actor: Principal, message: Message) -> bool:
    if isinstance(actor, Client):
        return message.author_contact_id == actor.contact_id
    if isinstance(actor, Staff | PlatformAdmin):
        return message.author_user_id == actor.user_id
    return False


def check_upload(session: Session, tenant_id: int, filename: str, data: bytes) -> str:
    """Return the sniffed type of a file the tenant accepts.

    Raises:
        ValidationError: (field "file") empty, too large or refused, with the reason.
    """
    rules = file_rules(session, tenant_id)
    if not data:
        raise ValidationError("file", "the file is empty")
    if len(data) > rules.max_bytes:
        raise ValidationError("file", f"the file is larger than {rules.max_bytes} bytes")
    sniffed, verdict = check_file(filename, data, rules)
    if not verdict.allowed:
        raise ValidationError("file", verdict.reason)
    return sniffed
