"""Fetching health of IMAP mailboxes: the UID checkpoint, last success, last error."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.clock import require_aware
from helpdesk.models import Mailbox, MailboxHealth
from helpdesk.principal import Principal
from helpdesk.services.scope import get_scoped

# A stored error is cut to this many characters: enough for a server's answer.
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class Checkpoint:
    """Where fetching a folder stands: every UID up to `last_uid` is stored.

    UIDs mean something only together with the folder's UIDVALIDITY; None
    means nothing was fetched yet.
    """

    uidvalidity: int | None = None
    last_uid: int = 0


@dataclass(frozen=True)
class FetchedMailbox:
    """What the poller needs to reach one mailbox; the password stays encrypted."""

    id: int
    tenant_id: int
    address: str
    imap_url: str
    password_encrypted: bytes | None


def fetched_mailboxes(session: Session) -> list[FetchedMailbox]:
    """Return every active mailbox with an IMAP URL, of every tenant, by id."""
    query = (
        select(Mailbox)
        .where(Mailbox.active.is_(True), Mailbox.imap_url.is_not(None))
        .order_by(Mailbox.id)
    )
    return [
        FetchedMailbox(m.id, m.tenant_id, m.address, m.imap_url or "", m.imap_password_encrypted)
        for m in session.scalars(query)
    ]


def read_checkpoint(session: Session, actor: Principal, mailbox_id: int) -> Checkpoint:
    """Return how far the mailbox was fetched.

    Raises:
        NotFound: no such mailbox in the actor's tenant.
    """
    health = _health(session, actor, mailbox_id)
    return Checkpoint(health.uidvalidity, health.last_uid or 0)


def advance_checkpoint(
    session: Session,
    actor: Principal,
    mailbox_id: int,
    checkpoint: Checkpoint,
    *,
    now: datetime,
) -> None:
    """Record that every message up to the checkpoint is durably stored.

    Raises:
        NotFound: no such mailbox in the actor's tenant.
    """
    health = _health(session, actor, mailbox_id)
    health.uidvalidity = checkpoint.uidvalidity
    health.last_uid = checkpoint.last_uid
    health.last_attempt_at = require_aware(now)
    session.flush()


def record_fetch_success(
    session: Session, actor: Principal, mailbox_id: int, *, now: datetime
) -> None:
    """Record a fetch that reached the end of the folder; the last error is cleared.

    Raises:
        NotFound: no such mailbox in the actor's tenant.
    """
    health = _health(session, actor, mailbox_id)
    health.last_success_at = health.last_attempt_at = require_aware(now)
    health.last_error = None
    session.flush()


def record_fetch_error(
    session: Session, actor: Principal, mailbox_id: int, error: str, *, now: datetime
) -> None:
    """Record why fetching the mailbox failed; the checkpoint stays where it was.

    Raises:
        NotFound: no such mailbox in the actor's tenant.
    """
    health = _health(session, actor, mailbox_id)
    health.last_attempt_at = require_aware(now)
    health.last_error = error[:MAX_ERROR_CHARS]
    session.flush()


def silent_mailboxes(
    session: Session, *, threshold: timedelta, now: datetime
) -> list[tuple[FetchedMailbox, datetime | None]]:
    """Return the fetched mailboxes without a successful fetch within `threshold`.

    Each comes with its last success (None: never), for the doctor to report.
    """
    since = require_aware(now) - threshold
    silent = []
    for mailbox in fetched_mailboxes(session):
        health = session.get(MailboxHealth, mailbox.id)
        last = health.last_success_at if health else None
        if last is None or last < since:
            silent.append((mailbox, last))
    return silent


def _health(session: Session, actor: Principal, mailbox_id: int) -> MailboxHealth:
    mailbox = get_scoped(session, Mailbox, mailbox_id, actor, "mailbox")
    health = session.get(MailboxHealth, mailbox.id)
    if health is None:
        health = MailboxHealth(mailbox_id=mailbox.id, tenant_id=mailbox.tenant_id)
        session.add(health)
    return health
