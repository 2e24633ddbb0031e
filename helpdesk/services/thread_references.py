"""The Message-IDs each ticket's mail carries, kept so that later mail threads by its headers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from helpdesk.models import ThreadReference

# A References header may name hundreds of ancestors; the newest are the ones
# later mail will name again, so only these many are kept per message.
MAX_REFERENCES = 100
MAX_MESSAGE_ID_LENGTH = 998


def record_thread_references(
    session: Session,
    tenant_id: int,
    ticket_id: int,
    *,
    own: str | None,
    referenced: Iterable[str] = (),
    now: datetime,
) -> None:
    """Remember a message's own Message-ID as seen on the ticket, and the ids it names as awaited.

    An id the tenant already knows keeps the ticket it has (first come wins,
    also between two transactions); an awaited id whose message now arrives
    becomes seen. The outbound side calls this too for each Message-ID it
    sends, and for the one a sending service assigned in place of ours.
    `referenced` is In-Reply-To, then References newest first.
    """
    rows = reference_rows(tenant_id, ticket_id, own=own, referenced=referenced, now=now)
    if rows:
        # The ticket the rows name may still wait in the session.
        session.flush()
        store_references(session, rows)


def reference_rows(
    tenant_id: int,
    ticket_id: int,
    *,
    own: str | None,
    referenced: Iterable[str] = (),
    now: datetime,
) -> list[dict[str, Any]]:
    """Return the rows `record_thread_references` writes for one message."""
    own = clean_message_id(own)
    names = [name for name in map(clean_message_id, referenced) if name and name != own]
    rows = [_row(tenant_id, ticket_id, name, seen=False, now=now) for name in dict.fromkeys(names)]
    if own:
        rows.insert(0, _row(tenant_id, ticket_id, own, seen=True, now=now))
    return rows[: MAX_REFERENCES + 1]


def store_references(session: Session, rows: list[dict[str, Any]]) -> None:
    """Write rows of `reference_rows`, of one message or of several, in their order.

    Rows of several messages must not name one Message-ID twice.
    """
    session.execute(_UPSERTS[session.get_bind().dialect.name], rows)


def move_thread_reference(
    session: Session, tenant_id: int, message_id: str | None, source_id: int, target_id: int
) -> None:
    """Let later replies to a moved message follow it to the ticket it was moved to."""
    own = clean_message_id(message_id)
    if not own:
        return
    session.execute(
        update(ThreadReference)
        .where(
            ThreadReference.tenant_id == tenant_id,
            ThreadReference.message_id == own,
            ThreadReference.ticket_id == source_id,
        )
        .values(ticket_id=target_id)
    )


def clean_message_id(value: str | None) -> str | None:
    """Return a Message-ID without angle brackets and spaces, None when nothing usable is left."""
    if value is None:
        return None
    cleaned = value.strip().strip("<>").strip()
    if not cleaned or len(cleaned) > MAX_MESSAGE_ID_LENGTH:
        return None
    return cleaned


def _row(
    tenant_id: int, ticket_id: int, message_id: str, *, seen: bool, now: datetime
) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "message_id": message_id,
        "ticket_id": ticket_id,
        "seen": seen,
        "created_at": now,
    }


def _upsert(insert: Callable[[Any], Any]) -> Any:
    # INSERT ... ON CONFLICT: an id recorded meanwhile by another transaction
    # is not an error, and its first ticket stays; an awaited id whose own
    # message arrives becomes seen.
    table = ThreadReference.__table__
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=["tenant_id", "message_id"],
        set_={"seen": True},
        where=and_(statement.excluded.seen, table.c.seen.is_(False)),
    )


_UPSERTS = {"sqlite": _upsert(sqlite_insert), "postgresql": _upsert(postgresql_insert)}
