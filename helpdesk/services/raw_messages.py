"""Raw inbound mail: each accepted message stored once, what became of it, and admins reading it."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from helpdesk.enums import RawMessageState
from helpdesk.errors import Conflict, NotFound, ValidationError
from helpdesk.models import RawMessage
from helpdesk.policy import Action, can, require, tenant_of
from helpdesk.principal import Principal
from helpdesk.services.thread_references import clean_message_id
from helpdesk.storage import BlobStore, content_key, validate_key

# Mail whose tenant is unknown is kept apart from every tenant's blobs.
UNROUTED_PREFIX = "unrouted"
MAX_LIST_LIMIT = 500
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def store_raw_message(
    session: Session,
    *,
    data: bytes,
    envelope_from: str,
    envelope_to: list[str],
    transport: str,
    tenant_id: int | None,
    mailbox_id: int | None,
    message_id: str | None,
    fingerprint: str,
    store: BlobStore,
    now: datetime,
) -> tuple[RawMessage, bool]:
    """Keep an accepted message's bytes and row; return it, and whether it was a duplicate.

    The same tenant and fingerprint (the content without transport headers)
    is the same message: the copy stored first is returned and nothing new is
    written, also when two transactions race. A Message-ID alone decides
    nothing: a different message that reuses one is stored too. The bytes
    are content-addressed per tenant, under "unrouted/" while it is unknown.

    Raises:
        ValidationError: the fingerprint is not 1 to 64 characters.
        Conflict: another transaction stored the same message and its copy
            cannot be read yet (try again).
    """
    arrival = RawArrival(
        data, envelope_from, envelope_to, transport, tenant_id, mailbox_id, message_id, fingerprint
    )
    return store_raw_messages(session, [arrival], store=store, now=now)[0]


@dataclass(frozen=True)
class RawArrival:
    """An accepted message as `store_raw_messages` keeps it: its bytes and where it came from."""

    data: bytes
    envelope_from: str
    envelope_to: list[str]
    transport: str
    tenant_id: int | None
    mailbox_id: int | None
    message_id: str | None
    fingerprint: str


def store_raw_messages(
    session: Session, arrivals: Sequence[RawArrival], *, store: BlobStore, now: datetime
) -> list[tuple[RawMessage, bool]]:
    """Keep many accepted messages as `store_raw_message` keeps one, in one statement.

    Returns each one's row and whether it was a duplicate, in order; of two
    copies of one message among `arrivals`, the second is the duplicate.

    Raises:
        ValidationError, Conflict: as `store_raw_message`.
    """
    for arrival in arrivals:
        if not 0 < len(arrival.fingerprint) <= 64:
            raise ValidationError("fingerprint", "must be 1 to 64 characters")
    # Mail of no tenant is not unique in SQL (NULLs differ): it is looked for first.
    found: dict[tuple[int | None, str], RawMessage] = {}
    for arrival in arrivals:
        if arrival.tenant_id is None:
            existing = _stored(session, None, arrival.fingerprint)
            if existing is not None:
                found[(None, arrival.fingerprint)] = existing
    new: dict[tuple[int | None, str], RawArrival] = {}
    rows = []
    for arrival in arrivals:
        identity = _identity(arrival)
        # A second copy of a tenant's message is offered too, as it would be
        # alone: the database skips it (and PostgreSQL spends an id on it).
        if identity not in found and (identity not in new or arrival.tenant_id is not None):
            new.setdefault(identity, arrival)
            rows.append(_row(arrival, now))
    stored = {(raw.tenant_id, raw.fingerprint): raw for raw in _insert_new(session, rows)}
    for identity, raw in stored.items():
        if not store.exists(raw.storage_key):
            store.put(raw.storage_key, new[identity].data)
    results: list[tuple[RawMessage, bool]] = []
    for arrival in arrivals:
        identity = _identity(arrival)
        if identity in stored:
            found[identity] = stored.pop(identity)
            results.append((found[identity], False))
        elif identity in found:
            results.append((found[identity], True))
        else:
            # Another transaction stored the same message first; theirs is the copy.
            found[identity] = _stored_copy(session, arrival.tenant_id, arrival.fingerprint)
            results.append((found[identity], True))
    return results


def _identity(arrival: RawArrival) -> tuple[int | None, str]:
    return arrival.tenant_id, arrival.fingerprint


def _row(arrival: RawArrival, now: datetime) -> dict[str, Any]:
    digest = hashlib.sha256(arrival.data).hexdigest()
    return {
        "tenant_id": arrival.tenant_id, "mailbox_id": arrival.mailbox_id,
        "message_id": clean_message_id(arrival.message_id), "fingerprint": arrival.fingerprint,
        "state": RawMessageState.RECEIVED, "reason": None, "decision": {}, "ticket_id": None,
        "storage_key": raw_key(arrival.tenant_id, digest), "size": len(arrival.data),
        "sha256": digest, "transport": arrival.transport[:16],
        "envelope_from": arrival.envelope_from[:998],
        "envelope_to": {"rcpt_tos": list(arrival.envelope_to)},
        "attempts": 0, "received_at": now, "processed_at": None,
    }  # fmt: skip


def raw_key(tenant_id: int | None, sha256_hex: str) -> str:
    """Return the blob key of raw mail: the tenant's content key, or one under "unrouted/".

    Raises:
        ValidationError: the digest is not 64 lower-case hexadecimal characters.
    """
    if tenant_id is not None:
        return content_key(tenant_id, sha256_hex)
    if not _SHA256_HEX.fullmatch(sha256_hex):
        raise ValidationError("sha256_hex", "must be 64 lower-case hexadecimal characters")
    return validate_key(f"{UNROUTED_PREFIX}/{sha256_hex[:2]}/{sha256_hex[2:4]}/{sha256_hex}")


def mark_raw_message(
    session: Session,
    raw: RawMessage,
    state: RawMessageState,
    *,
    reason: str | None,
    decision: dict[str, Any],
    ticket_id: int | None,
    now: datetime,
    flush: bool = True,
) -> RawMessage:
    """Record what became of a stored message: its state, why, the decision, its ticket.

    A batch passes `flush=False` and writes the rows of its messages together.
    """
    raw.state = state
    raw.reason = reason
    # A new dict, so that the JSON column is seen as changed.
    raw.decision = dict(decision)
    raw.ticket_id = ticket_id
    raw.attempts += 1
    raw.processed_at = now
    if flush:
        session.flush()
    return raw


def list_raw_messages(
    session: Session,
    actor: Principal,
    *,
    state: RawMessageState,
    tenant_id: int | None = None,
    limit: int = 50,
) -> list[RawMessage]:
    """Return stored mail in one state, newest first, to the admins who may read it.

    A platform admin sees every tenant's (and mail of no tenant) or, given
    `tenant_id`, one tenant's; a tenant admin only their own tenant's.

    Raises:
        PermissionDenied: the actor is not an admin of that tenant.
    """
    scope = _readable_tenant(actor, tenant_id)
    query = select(RawMessage).where(RawMessage.state == state)
    if scope is not None:
        query = query.where(RawMessage.tenant_id == scope)
    bounded = max(1, min(limit, MAX_LIST_LIMIT))
    return list(session.scalars(query.order_by(RawMessage.id.desc()).limit(bounded)))


def get_raw_message(session: Session, actor: Principal, raw_id: int) -> RawMessage:
    """Return one stored message to an admin who may read it.

    Raw mail holds what the pipeline masks (passwords, keys), so only admins see it.

    Raises:
        NotFound: no such message, or another tenant's.
        PermissionDenied: the actor is not an admin of its tenant.
    """
    raw = session.get(RawMessage, raw_id)
    home = tenant_of(actor)
    if raw is None or (home is not None and raw.tenant_id != home):
        raise NotFound("no such message")
    if home is not None:
        require(can(actor, Action.MANAGE_TENANT, home), "only admins read received mail")
    return raw


def read_raw_bytes(raw: RawMessage, store: BlobStore) -> bytes:
    """Return a stored message's bytes exactly as received.

    Raises:
        NotFound: the bytes are missing from the store.
    """
    return store.get(raw.storage_key)


def _readable_tenant(actor: Principal, tenant_id: int | None) -> int | None:
    home = tenant_of(actor)
    if home is None:
        return tenant_id
    wanted = home if tenant_id is None else tenant_id
    require(can(actor, Action.MANAGE_TENANT, wanted), "only admins read received mail")
    return wanted


def _stored(session: Session, tenant_id: int | None, fingerprint: str) -> RawMessage | None:
    same_tenant = (
        RawMessage.tenant_id.is_(None) if tenant_id is None else RawMessage.tenant_id == tenant_id
    )
    return session.scalar(
        select(RawMessage).where(same_tenant, RawMessage.fingerprint == fingerprint).limit(1)
    )


def _insert_new(session: Session, rows: list[dict[str, Any]]) -> list[RawMessage]:
    # INSERT ... ON CONFLICT DO NOTHING RETURNING: one statement, and a race
    # with another transaction storing the same message is no error.
    if not rows:
        return []
    statement = _INSERTS[session.get_bind().dialect.name]
    return list(session.scalars(statement, rows))


def _stored_copy(session: Session, tenant_id: int | None, fingerprint: str) -> RawMessage:
    existing = _stored(session, tenant_id, fingerprint)
    if existing is None:
        raise Conflict("the same message is being stored by another delivery; try again")
    return existing


def _insert_statement(insert: Callable[[type[RawMessage]], Any]) -> Any:
    statement = insert(RawMessage)
    conflict = statement.on_conflict_do_nothing(index_elements=["tenant_id", "fingerprint"])
    return conflict.returning(RawMessage)


_INSERTS = {
    "sqlite": _insert_statement(sqlite_insert),
    "postgresql": _insert_statement(postgresql_insert),
}
