"""What the pipeline reads of each desk's setup, kept a few seconds instead of read for every mail.

The mailboxes (who receives mail, and every tenant's own addresses), each
tenant's intake limits and attachment rules change rarely, but every message
needs them. An Ingest keeps what it read for `ttl` seconds, so a change an
admin makes is seen by the gateway within that time; a recipient address the
kept mailboxes do not know is looked up in the database at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

from helpdesk.filetypes import FileRules
from helpdesk.mail_limits import intake_limits
from helpdesk.queries.inbound import MailboxRef, SqlMailboxDirectory
from helpdesk.queries.mailbox_snapshot import MailboxSnapshot
from helpdesk.services.scope import get_tenant
from helpdesk.services.uploads import file_rules

T = TypeVar("T")
# How long what was read stays good: short enough that an admin's change is
# seen at once, long enough that a burst of mail reads the setup once.
SETUP_TTL_SECONDS = 5.0


@dataclass(frozen=True)
class TenantSetup:
    """A tenant's settings the steps apply: the intake limits and the attachment rules."""

    per_sender_per_hour: int
    per_tenant_per_hour: int
    file_rules: FileRules


@dataclass(frozen=True)
class _Kept(Generic[T]):
    value: T
    until: float


class DeskSetup:
    """The mailboxes and the tenants' setup, each read again once it is `ttl` seconds old."""

    def __init__(
        self, *, ttl: float = SETUP_TTL_SECONDS, timer: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.timer = timer
        self._mailboxes: _Kept[MailboxSnapshot] | None = None
        self._tenants: dict[int, _Kept[TenantSetup]] = {}

    def mailboxes(self, session: Session) -> MailboxSnapshot:
        """Return every mailbox as last read, reading them in `session` when too old."""
        snapshot = self.kept_mailboxes()
        if snapshot is None:
            snapshot = MailboxSnapshot.load(session)
            self._mailboxes = _Kept(snapshot, self.timer() + self.ttl)
        return snapshot

    def kept_mailboxes(self) -> MailboxSnapshot | None:
        """Return the mailboxes as last read if not too old yet, without reading them."""
        kept = self._mailboxes
        return kept.value if kept is not None and kept.until > self.timer() else None

    def tenant(self, session: Session, tenant_id: int) -> TenantSetup:
        """Return the tenant's setup as last read, reading it in `session` when too old.

        Raises:
            NotFound: no such tenant.
        """
        kept = self._tenants.get(tenant_id)
        if kept is None or kept.until <= self.timer():
            kept = _Kept(read_tenant_setup(session, tenant_id), self.timer() + self.ttl)
            self._tenants[tenant_id] = kept
        return kept.value


class RoutingDirectory:
    """The mailbox directory of one message: the snapshot, and the database for what it lacks.

    An address the snapshot does not know is looked up again, so that a
    mailbox created a moment ago receives its first mail at once.
    """

    def __init__(self, snapshot: MailboxSnapshot, session: Session) -> None:
        self.snapshot = snapshot
        self.database = SqlMailboxDirectory(session)

    def mailbox_for(self, address: str) -> MailboxRef | None:
        """Return the mailbox mail to `address` (or its `local+tag@domain` form) is for."""
        return self.snapshot.mailbox_for(address) or self.database.mailbox_for(address)


def read_tenant_setup(session: Session, tenant_id: int) -> TenantSetup:
    """Read the tenant's intake limits and attachment rules.

    Raises:
        NotFound: no such tenant.
    """
    per_sender, per_tenant = intake_limits(get_tenant(session, tenant_id))
    return TenantSetup(per_sender, per_tenant, file_rules(session, tenant_id))
