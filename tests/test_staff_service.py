"""An admin's staff changes: invitations with one-time passwords, roles and standing."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from helpdesk.enums import Role
from helpdesk.errors import Conflict, NotFound, PermissionDenied
from helpdesk.services import staff, users
from tests.factories import NOW, make_staff, make_tenant, make_user


def test_someone_new_gets_a_temporary_password(session: Session) -> None:
    tenant = make_tenant(session)
    admin = make_staff(session, tenant, Role.ADMIN)
    membership, password = staff.invite_staff(
        session,
        admin,
        tenant.id,
        email="Dora@Staff.example",
        name="Dora",
        role=Role.AGENT,
        now=NOW,
    )
    assert password is not None
    assert (membership.user.email, membership.role) == ("dora@staff.example", Role.AGENT)
    assert membership.user.password_is_temporary
    signed_in = users.authenticate_password(session, "dora@staff.example", password, now=NOW)
    assert signed_in.id == membership.user_id


def test_someone_from_another_tenant_keeps_their_password(session: Session) -> None:
    tenant = make_tenant(session)
    admin = make_staff(session, tenant, Role.ADMIN)
    elsewhere = make_user(session, make_tenant(session), Role.AGENT, "gus@staff.example")
    membership, password = staff.invite_staff(
        session,
        admin,
        tenant.id,
        email="gus@staff.example",
        name="Gus",
        role=Role.LIGHT_AGENT,
        now=NOW,
    )
    assert password is None
    assert membership.user_id == elsewhere.id


def test_an_agent_invites_nobody(session: Session) -> None:
    tenant = make_tenant(session)
    agent = make_staff(session, tenant, Role.AGENT)
    with pytest.raises(PermissionDenied):
        staff.invite_staff(
            session, agent, tenant.id, email="x@staff.example", name="X", role=Role.ADMIN, now=NOW
        )


def test_the_last_admin_stays(session: Session) -> None:
    tenant = make_tenant(session)
    admin = make_staff(session, tenant, Role.ADMIN)
    with pytest.raises(Conflict):
        staff.update_staff_member(session, admin, tenant.id, admin.user_id, active=False, now=NOW)
    with pytest.raises(Conflict):
        staff.update_staff_member(
            session, admin, tenant.id, admin.user_id, role=Role.AGENT, now=NOW
        )


def test_a_returning_member_may_take_the_admin_role_at_once(session: Session) -> None:
    tenant = make_tenant(session)
    admin = make_staff(session, tenant, Role.ADMIN)
    agent = make_staff(session, tenant, Role.AGENT)
    staff.update_staff_member(session, admin, tenant.id, agent.user_id, active=False, now=NOW)
    back = staff.update_staff_member(
        session, admin, tenant.id, agent.user_id, active=True, role=Role.ADMIN, now=NOW
    )
    assert (back.active, back.role) == (True, Role.ADMIN)
    # With a second admin, the first may now step down.
    staff.update_staff_member(session, admin, tenant.id, admin.user_id, role=Role.AGENT, now=NOW)


def test_another_tenants_member_is_not_found(session: Session) -> None:
    tenant = make_tenant(session)
    admin = make_staff(session, tenant, Role.ADMIN)
    outsider = make_staff(session, make_tenant(session), Role.AGENT)
    with pytest.raises(NotFound):
        staff.update_staff_member(session, admin, tenant.id, outsider.user_id, now=NOW)
