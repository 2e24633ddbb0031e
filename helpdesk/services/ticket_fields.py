"""A ticket's describing fields: priority, category, subject, tags, custom fields."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.enums import EventKind, Priority
from helpdesk.errors import ValidationError
from helpdesk.models import Category, Ticket, TicketTag
from helpdesk.policy import Action
from helpdesk.principal import Principal
from helpdesk.search import index_ticket
from helpdesk.services.custom_fields import active_definitions, validate_custom_fields
from helpdesk.services.ticket_access import record_change, set_and_record, ticket_for

MAX_SUBJECT_LENGTH = 998
MAX_TAG_LENGTH = 64
NO_SUBJECT = "(no subject)"
_TAG = re.compile(r"^\w[\w.:/+-]*$")


def change_priority(
    session: Session, actor: Principal, ticket_id: int, priority: Priority, *, now: datetime
) -> Ticket:
    """Set the ticket's priority.

    Raises:
        NotFound, PermissionDenied: see `ticket_for`.
        ValidationError: not a priority.
    """
    ticket = ticket_for(session, actor, ticket_id, Action.UPDATE_TICKET)
    value = parse_priority(priority)
    set_and_record(session, actor, ticket, "priority", value, EventKind.PRIORITY_CHANGED, now=now)
    return ticket


def parse_priority(value: str) -> Priority:
    """Raises:
    ValidationError: `value` names no priority.
    """
    try:
        return Priority(value)
    except ValueError:
        raise ValidationError("priority", f"no priority {value!r}") from None


def change_category(
    session: Session, actor: Principal, ticket_id: int, category: str | None, *, now: datetime
) -> Ticket:
    """Set the ticket's category by key, or clear it with None.

    Raises:
        NotFound, PermissionDenied: see `ticket_for`.
        ValidationError: no active category with that key in the tenant.
    """
    ticket = ticket_for(session, actor, ticket_id, Action.UPDATE_TICKET)
    new_id = category_id(session, ticket.tenant_id, category) if category else None
    if new_id != ticket.category_id:
        previous = category_key(session, ticket.category_id)
        ticket.category_id = new_id
        change = {"from": previous, "to": category or None}
        record_change(session, actor, ticket, EventKind.CATEGORY_CHANGED, now=now, **change)
    return ticket


def category_id(session: Session, tenant_id: int, key: str) -> int:
    """Return the id of the tenant's active category with this key.

    Raises:
        ValidationError: there is none.
    """
    row = session.scalar(
        select(Category).where(Category.tenant_id == tenant_id, Category.key == key)
    )
    if row is None or not row.active:
        raise ValidationError("category", f"no active category {key!r}")
    return row.id


def category_key(session: Session, category_id: int | None) -> str | None:
    """Return the key of a category, None for none."""
    if category_id is None:
        return None
    return session.scalar(select(Category.key).where(Category.id == category_id))


def change_subject(
    session: Session, actor: Principal, ticket_id: int, subject: str, *, now: datetime
) -> Ticket:
    """Rename the ticket.

    Raises:
        NotFound, PermissionDenied: see `ticket_for`.
        ValidationError: the subject is empty or too long.
    """
    ticket = ticket_for(session, actor, ticket_id, Action.UPDATE_TICKET)
    subject = clean_subject(subject)
    set_and_record(session, actor, ticket, "subject", subject, EventKind.SUBJECT_CHANGED, now=now)
    index_ticket(session, ticket)
    return ticket


def clean_subject(subject: str, *, lenient: bool = False) -> str:
    """Return the subject on one line, its whitespace collapsed.

    Mail must never be refused for its subject, so `lenient` (for e-mail)
    turns an empty subject into "(no subject)" and cuts a long one.

    Raises:
        ValidationError: empty or longer than 998 characters (RFC 5322 §2.1.1).
    """
    # A subject goes into mail headers: a line break in it would inject headers.
    cleaned = " ".join(subject.split())
    if lenient:
        return cleaned[:MAX_SUBJECT_LENGTH] or NO_SUBJECT
    if not cleaned:
        raise ValidationError("subject", "must not be empty")
    if len(cleaned) > MAX_SUBJECT_LENGTH:
        raise ValidationError("subject", f"at most {MAX_SUBJECT_LENGTH} characters")
    return cleaned


def set_tags(
    session: Session, actor: Principal, ticket_id: int, tags: Iterable[str], *, now: datetime
) -> Ticket:
    """Replace the ticket's tags; TAGS_CHANGED lists what was added and removed.

    Raises:
        NotFound, PermissionDenied: see `ticket_for`.
        ValidationError: a tag is too long or has characters tags may not have.
    """
    ticket = ticket_for(session, actor, ticket_id, Action.UPDATE_TICKET)
    wanted = normalize_tags(tags)
    current = set(ticket.tag_names)
    added = [tag for tag in wanted if tag not in current]
    removed = sorted(current - set(wanted))
    if added or removed:
        kept = [entry for entry in ticket.tags if entry.tag in wanted]
        new = [TicketTag(tag=tag, tenant_id=ticket.tenant_id) for tag in added]
        ticket.tags = sorted(kept + new, key=lambda entry: entry.tag)
        record_change(
            session, actor, ticket, EventKind.TAGS_CHANGED, now=now, added=added, removed=removed
        )
    return ticket


def normalize_tags(tags: Iterable[str]) -> list[str]:
    """Return tags lower-cased, trimmed, inner spaces as hyphens, unique and sorted.

    A single string is read as a comma-separated list.

    Raises:
        ValidationError: a tag is longer than 64 characters, or does not start
            with a letter or digit and go on with those or `_ . : / + -`.
    """
    entries = tags.split(",") if isinstance(tags, str) else tags
    result: set[str] = set()
    for entry in entries:
        tag = "-".join(entry.lower().split())
        if not tag:
            continue
        if len(tag) > MAX_TAG_LENGTH or not _TAG.match(tag):
            raise ValidationError("tags", f"not a valid tag: {entry!r}")
        result.add(tag)
    return sorted(result)


def set_custom_fields(
    session: Session,
    actor: Principal,
    ticket_id: int,
    values: Mapping[str, Any],
    *,
    now: datetime,
) -> Ticket:
    """Set custom field values (None clears one); fields not named stay as they are.

    Raises:
        NotFound, PermissionDenied: see `ticket_for`.
        ValidationError: an unknown key or a value of the wrong type (`field` is the key).
    """
    ticket = ticket_for(session, actor, ticket_id, Action.UPDATE_TICKET)
    cleaned = validate_custom_fields(active_definitions(session, ticket.tenant_id), values)
    merged = dict(ticket.custom_fields)
    changes = {}
    for key, value in cleaned.items():
        if merged.get(key) != value:
            changes[key] = {"from": merged.pop(key, None), "to": value}
            if value is not None:
                merged[key] = value
    if changes:
        # A new dict, so that the JSON column is seen as changed.
        ticket.custom_fields = merged
        record_change(
            session, actor, ticket, EventKind.CUSTOM_FIELDS_CHANGED, now=now, changes=changes
        )
    return ticket
