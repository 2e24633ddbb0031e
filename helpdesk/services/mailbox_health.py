"""Fetching health of IMAP mailboxes: the UID checkpoint, last success, last error."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from helpdesk.clock import require_aware
from helpdesk.models import Mailbox, MailboxHealth, Tenant
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


@dataclass(frozen=True)
class FetchHealth:
    """A fetched mailbox and how fetching it went: its last success (None: never) and error."""

    mailbox: FetchedMailbox
    created_at: datetime
    last_success_at: datetime | None
    last_error: str | None

    def silent(self, *, threshold: timedelta, now: datetime) -> bool:
        """Whether no fetch succeeded within `threshold` before `now`, or none ever did."""
        since = require_aware(now) - threshold
        return self.last_success_at is None or self.last_success_at < since


def fetched_mailboxes(session: Session) -> list[FetchedMailbox]:
    """Return every mailbox the poller fetches, of every tenant, by id.

    A mailbox is fetched when it receives mail (it is active, and so is its
    tenant) and has an IMAP URL.
    """
    return [_fetched(mailbox) for mailbox in session.scalars(_fetched_query().order_by(Mailbox.id))]


def fetched_mailbox(session: Session, mailbox_id: int) -> FetchedMailbox | None:
    """Return the mailbox with this id if the poller fetches it, else None."""
    mailbox = session.scalar(_fetched_query().where(Mailbox.id == mailbox_id))
    return _fetched(mailbox) if mailbox is not None else None


def fetch_health(session: Session, tenant_id: int) -> list[FetchHealth]:
    """Return the tenant's fetched mailboxes with how fetching each went, by id, in one query."""
    query = (
        _fetched_query()
        .add_columns(MailboxHealth)
        .outerjoin(MailboxHealth, MailboxHealth.mailbox_id == Mailbox.id)
        .where(Mailbox.tenant_id == tenant_id)
        .order_by(Mailbox.id)
    )
    return [
        FetchHealth(
            _fetched(mailbox),
            mailbox.created_at,
            health.last_success_at if health is not None else None,
            health.last_error if health is not None else None,
        )
        for mailbox, health in session.execute(query)
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


def _health(session: Session, actor: Principal, mailbox_id: int) -> MailboxHealth:
    mailbox = get_scoped(session, Mailbox, mailbox_id, actor, "mailbox")
    health = session.get(MailboxHealth, mailbox.id)
    if health is None:
        health = MailboxHealth(mailbox_id=mailbox.id, tenant_id=mailbox.tenant_id)
        session.add(health)
    return health


def _fetched_query() -> Select[Mailbox]:
    # The rule by which mail is received (see find_mailbox_for_address),
    # narrowed to the mailboxes that have an IMAP URL.
    return (
        select(Mailbox)
        .join(Tenant, Tenant.id == Mailbox.tenant_id)
        .where(Mailbox.active.is_(True), Tenant.active.is_(True), Mailbox.imap_url.is_not(None))
    )


def _fetched(mailbox: Mailbox) -> FetchedMailbox:
    return FetchedMailbox(
        mailbox.id,
        mailbox.tenant_id,
        mailbox.address,
        mailbox.imap_url or "",
        mailbox.imap_password_encrypted,
    )
