"""The kept mailbox directory answers exactly as the database does at the moment it was read."""

from __future__ import annotations

from sqlalchemy.orm import Session

from helpdesk.principal import Operator, PlatformAdmin
from helpdesk.queries.inbound import SqlMailboxDirectory
from helpdesk.queries.mailbox_snapshot import MailboxSnapshot
from helpdesk.services import mailboxes, platform
from tests.factories import NOW, make_mailbox, make_tenant

ADDRESSES = (
    "help@acme.example",
    "Help@ACME.example",
    "help+a1b2@acme.example",
    "help+a+b@acme.example",
    "help+x@acme.example",
    "billing@acme.example",
    "help@globex.example",
    "help@initech.example",
    "sales@acme.example",
    "not an address",
    "",
)


def test_the_snapshot_answers_every_address_as_the_database_does(session: Session) -> None:
    # Given active, inactive, "+"-holding and suspended tenants' mailboxes
    acme, globex, initech = (make_tenant(session) for _ in range(3))
    make_mailbox(session, acme, "help@acme.example")
    make_mailbox(session, acme, "help+x@acme.example")
    billing = make_mailbox(session, acme, "billing@acme.example")
    mailboxes.update_mailbox(session, Operator(), billing.id, active=False, now=NOW)
    make_mailbox(session, globex, "help@globex.example")
    make_mailbox(session, initech, "help@initech.example")
    platform.change_tenant(session, PlatformAdmin(user_id=1), initech.slug, active=False, now=NOW)
    # When both are asked about every address
    snapshot, database = MailboxSnapshot.load(session), SqlMailboxDirectory(session)
    # Then they agree
    for address in ADDRESSES:
        assert snapshot.mailbox_for(address) == database.mailbox_for(address), address
    for tenant in (acme, globex, initech):
        assert snapshot.tenant_addresses(tenant.id) == database.tenant_addresses(tenant.id)
    assert snapshot.tenant_addresses(10**9) == frozenset()
