"""The desk's setup as the gateway keeps it: read once, read again when a few seconds old."""

from __future__ import annotations

from sqlalchemy.orm import Session

from helpdesk.principal import Operator
from helpdesk.services import mailboxes
from helpdesk.services.tenant_settings import update_tenant
from mailgate.desk_setup import DeskSetup, RoutingDirectory
from tests.factories import NOW, make_mailbox, make_tenant


class Clock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


LIMITS = {"max_new_tickets_per_sender_per_hour": 3, "max_new_tickets_per_hour": 7}


def test_a_tenants_new_limits_are_applied_once_the_kept_ones_are_too_old(
    session: Session,
) -> None:
    tenant, clock = make_tenant(session), Clock()
    setup = DeskSetup(ttl=5.0, timer=clock)
    before = setup.tenant(session, tenant.id)
    update_tenant(session, Operator(), tenant.id, settings=LIMITS, now=NOW)
    clock.now += 4.9
    assert setup.tenant(session, tenant.id) == before
    clock.now += 0.2
    after = setup.tenant(session, tenant.id)
    assert (after.per_sender_per_hour, after.per_tenant_per_hour) == (3, 7)


def test_a_deactivated_mailbox_stops_receiving_once_the_kept_ones_are_too_old(
    session: Session,
) -> None:
    tenant, clock = make_tenant(session), Clock()
    box = make_mailbox(session, tenant, "help@kept.example")
    setup = DeskSetup(ttl=5.0, timer=clock)
    assert setup.mailboxes(session).mailbox_for("help@kept.example") is not None
    mailboxes.update_mailbox(session, Operator(), box.id, active=False, now=NOW)
    clock.now += 5.0
    assert setup.mailboxes(session).mailbox_for("help@kept.example") is None


def test_an_address_the_kept_mailboxes_lack_is_looked_up_at_once(session: Session) -> None:
    tenant, clock = make_tenant(session), Clock()
    setup = DeskSetup(ttl=5.0, timer=clock)
    kept = setup.mailboxes(session)
    box = make_mailbox(session, tenant, "fresh@kept.example")
    directory = RoutingDirectory(setup.mailboxes(session), session)
    assert kept.mailbox_for("fresh@kept.example") is None
    found = directory.mailbox_for("fresh+t0ken@kept.example")
    assert found is not None
    assert found.mailbox_id == box.id
    assert directory.mailbox_for("nobody@kept.example") is None
