"""Every mailbox at one moment, read in one query: a mailbox directory without a query per mail."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.addresses import normalize_email
from helpdesk.errors import ValidationError
from helpdesk.models import Mailbox, Tenant
from helpdesk.queries.inbound import MailboxRef

# The same candidate forms find_mailbox_for_address tries, so both answer alike.
from helpdesk.services.mailboxes import untagged_forms

_MAILBOXES = select(
    Mailbox.tenant_id,
    Mailbox.id,
    Mailbox.address,
    Mailbox.active,
    Tenant.active,
).join(Tenant, Tenant.id == Mailbox.tenant_id)


@dataclass(frozen=True)
class MailboxSnapshot:
    """The answers of `SqlMailboxDirectory` as they were when the snapshot was read."""

    # The active mailboxes of active tenants, by address: where mail is delivered.
    receiving: Mapping[str, MailboxRef]
    # Every address of each tenant's mailboxes, active or not, lower-cased.
    addresses: Mapping[int, frozenset[str]]

    @classmethod
    def load(cls, session: Session) -> MailboxSnapshot:
        """Read every mailbox of every tenant in one query."""
        rows = session.execute(_MAILBOXES).all()
        receiving: dict[str, MailboxRef] = {}
        addresses: defaultdict[int, set[str]] = defaultdict(set)
        for tenant_id, mailbox_id, address, active, tenant_active in rows:
            addresses[tenant_id].add(address.lower())
            # A suspended tenant receives nothing, as SqlMailboxDirectory says.
            if active and tenant_active:
                receiving[address] = MailboxRef(tenant_id, mailbox_id, address)
        return cls(receiving, {key: frozenset(value) for key, value in addresses.items()})

    def mailbox_for(self, address: str) -> MailboxRef | None:
        """Return the mailbox mail to `address` (or its `local+tag@domain` form) is for."""
        try:
            normalized = normalize_email(address)
        except ValidationError:
            return None
        forms = untagged_forms(normalized)
        matches = [self.receiving[form] for form in forms if form in self.receiving]
        return max(matches, key=lambda ref: len(ref.address), default=None)

    def tenant_addresses(self, tenant_id: int) -> frozenset[str]:
        """Return every address of the tenant's mailboxes, active or not, lower-cased."""
        return self.addresses.get(tenant_id, frozenset())
