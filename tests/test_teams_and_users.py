"""Staff administration: teams, roles, memberships, passwords and signing in."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from helpdesk.enums import Role
from helpdesk.errors import Conflict, NotFound, PermissionDenied, ValidationError
from helpdesk.passwords import needs_rehash, verify_password
from helpdesk.principal import Operator
from helpdesk.services import teams, users
from tests.factories import NOW, make_client, make_staff, make_tenant, make_user

PASSWORD = "a long enough password"

# Teams


def test_admin_builds_a_team_of_the_tenants_staff(session: Session) -> None:
    tenant = make_tenant(session)
    admin = make_staff(session, tenant, Role.ADMIN)
    team = teams.create_team(session, admin, tenant.id, " Billing ", now=NOW)
    zoe = make_user(session, tenant, email="zoe@staff.example")
    amy = make_user(session, tenant, Role.LIGHT_AGENT, email="amy@staff.example")
    for user in (zoe, amy, zoe):
        teams.add_team_member(session, admin, team.id, user.id, now=NOW)
    assert team.name == "Billing"
    assert teams.list_team_members(session, admin, team.id) == [amy, zoe]
    teams.remove_team_member(session, admin, team.id, zoe.id, now=NOW)
    teams.remove_team_member(session, admin, team.id, zoe.id, now=NOW)
    assert teams.list_team_members(session, admin, team.id) == [amy]


def test_team_names_are_unique_per_tenant(session: Session) -> None:
    tenant, other = make_tenant(session), make_tenant(session)
    teams.create_team(session, Operator(), tenant.id, "Billing", now=NOW)
    with pytest.raises(Conflict):
        teams.create_team(session, Operator(), tenant.id, "Billing", now=NOW)
    with pytest.raises(ValidationError):
        teams.create_team(session, Operator(), tenant.id, "  ", now=NOW)
    teams.create_team(session, Operator(), other.id, "Billing", now=NOW)


def test_renaming_a_team_to_a_taken_name_conflicts(session: Session) -> None:
    tenant = make_tenant(session)
    billing = teams.create_team(session, Operator(), tenant.id, "Billing", now=NOW)
    teams.create_team(session, Operator(), tenant.id, "Sales", now=NOW)
    with pytest.raises(Conflict):
        teams.rename_team(session, Operator(), billing.id, "Sales", now=NOW)
    assert (
        teams.rename_team(session, Operator(), billing.id, "Invoices", now=NOW).name == "Invoices"
    )


def test_staff_of_another_tenant_cannot_join_a_team(session: Session) -> None:
    tenant, other = make_tenant(session), make_tenant(session)
    team = teams.create_team(session, Operator(), tenant.id, "Billing", now=NOW)
    stranger = make_user(session, other)
    with pytest.raises(NotFound):
        teams.add_team_member(session, Operator(), team.id, stranger.id, now=NOW)


def test_another_tenants_team_is_not_found(session: Session) -> None:
    tenant, other = make_tenant(session), make_tenant(session)
    theirs = teams.create_team(session, Operator(), other.id, "Billing", now=NOW)
    admin = make_staff(session, tenant, Role.ADMIN)
    with pytest.raises(NotFound):
        teams.add_team_member(session, admin, theirs.id, admin.user_id, now=NOW)
    with pytest.raises(NotFound):
        teams.list_team_members(session, admin, theirs.id)


@pytest.mark.parametrize("role", [Role.AGENT, Role.LIGHT_AGENT])
def test_staff_below_admin_see_teams_but_cannot_change_them(session: Session, role: Role) -> None:
    tenant = make_tenant(session)
    staff = make_staff(session, tenant, role)
    team = teams.create_team(session, Operator(), tenant.id, "Billing", now=NOW)
    assert teams.list_teams(session, staff, tenant.id) == [team]
    with pytest.raises(PermissionDenied):
        teams.create_team(session, staff, tenant.id, "Mine", now=NOW)
    with pytest.raises(PermissionDenied):
        teams.add_team_member(session, staff, team.id, staff.user_id, now=NOW)


def test_client_sees_no_teams(session: Session) -> None:
    tenant = make_tenant(session)
    with pytest.raises(PermissionDenied):
        teams.list_teams(session, make_client(session, tenant), tenant.id)


# Roles and memberships


def test_tenant_keeps_its_last_admin(session: Session) -> None:
    tenant = make_tenant(session)
    admin = make_staff(session, tenant, Role.ADMIN)
    with pytest.raises(Conflict):
        users.change_role(session, admin, tenant.id, admin.user_id, Role.AGENT, now=NOW)
    with pytest.raises(Conflict):
        users.deactivate_membership(session, admin, tenant.id, admin.user_id, now=NOW)
    second = make_staff(session, tenant, Role.ADMIN)
    users.change_role(session, admin, tenant.id, admin.user_id, Role.AGENT, now=NOW)
    assert users.staff_principal(session, admin.user_id, tenant.id).role is Role.AGENT
    with pytest.raises(Conflict):
        users.deactivate_membership(session, second, tenant.id, second.user_id, now=NOW)


def test_deactivated_admin_does_not_count_as_the_other_admin(session: Session) -> None:
    tenant = make_tenant(session)
    admin, other = make_staff(session, tenant, Role.ADMIN), make_staff(session, tenant, Role.ADMIN)
    users.deactivate_membership(session, admin, tenant.id, other.user_id, now=NOW)
    with pytest.raises(Conflict):
        users.change_role(session, admin, tenant.id, admin.user_id, Role.LIGHT_AGENT, now=NOW)


def test_deactivated_member_cannot_act_until_reactivated(session: Session) -> None:
    tenant = make_tenant(session)
    admin, agent = make_staff(session, tenant, Role.ADMIN), make_staff(session, tenant)
    users.deactivate_membership(session, admin, tenant.id, agent.user_id, now=NOW)
    with pytest.raises(PermissionDenied):
        users.staff_principal(session, agent.user_id, tenant.id)
    users.reactivate_membership(session, admin, tenant.id, agent.user_id, now=NOW)
    assert users.staff_principal(session, agent.user_id, tenant.id) == agent


def test_agent_cannot_change_roles(session: Session) -> None:
    tenant = make_tenant(session)
    agent = make_staff(session, tenant)
    with pytest.raises(PermissionDenied):
        users.change_role(session, agent, tenant.id, agent.user_id, Role.ADMIN, now=NOW)
    with pytest.raises(PermissionDenied):
        users.deactivate_membership(session, agent, tenant.id, agent.user_id, now=NOW)


def test_roles_of_another_tenants_staff_are_out_of_reach(session: Session) -> None:
    tenant, other = make_tenant(session), make_tenant(session)
    admin = make_staff(session, tenant, Role.ADMIN)
    stranger = make_user(session, other)
    with pytest.raises(NotFound):
        users.change_role(session, admin, tenant.id, stranger.id, Role.ADMIN, now=NOW)
    with pytest.raises(PermissionDenied):
        users.change_role(session, admin, other.id, stranger.id, Role.ADMIN, now=NOW)


def test_staff_list_shows_the_tenants_people_by_name(session: Session) -> None:
    tenant, other = make_tenant(session), make_tenant(session)
    admin = make_staff(session, tenant, Role.ADMIN, email="zed@staff.example")
    bea = make_staff(session, tenant, email="bea@staff.example")
    make_staff(session, other, email="ann@staff.example")
    users.deactivate_membership(session, admin, tenant.id, bea.user_id, now=NOW)
    listed = users.list_staff(session, admin, tenant.id)
    assert [(m.user.email, m.active) for m in listed] == [
        ("bea@staff.example", False),
        ("zed@staff.example", True),
    ]
    active = users.list_staff(session, admin, tenant.id, active_only=True)
    assert [m.user.email for m in active] == ["zed@staff.example"]
    with pytest.raises(PermissionDenied):
        users.list_staff(session, make_client(session, tenant), tenant.id)


# Passwords and signing in


def test_user_sets_their_own_password_and_signs_in_with_it(session: Session) -> None:
    tenant = make_tenant(session)
    agent = make_staff(session, tenant, email="ann@staff.example")
    users.set_password(session, agent, agent.user_id, PASSWORD, now=NOW)
    user = users.authenticate_password(session, " ANN@staff.example", PASSWORD, now=NOW)
    assert user.id == agent.user_id
    assert user.last_login_at == NOW
    assert not user.password_is_temporary


def test_short_password_is_refused(session: Session) -> None:
    tenant = make_tenant(session)
    agent = make_staff(session, tenant)
    with pytest.raises(ValidationError):
        users.set_password(session, agent, agent.user_id, "short", now=NOW)


def test_admin_sets_only_temporary_passwords_for_their_staff(session: Session) -> None:
    tenant = make_tenant(session)
    admin = make_staff(session, tenant, Role.ADMIN)
    agent = make_user(session, tenant)
    with pytest.raises(PermissionDenied):
        users.set_password(session, admin, agent.id, PASSWORD, now=NOW)
    users.set_password(session, admin, agent.id, PASSWORD, temporary=True, now=NOW)
    assert agent.password_is_temporary
    assert users.authenticate_password(session, agent.email, PASSWORD, now=NOW).id == agent.id


def test_admin_cannot_reset_someone_who_works_in_another_tenant_too(session: Session) -> None:
    tenant, other = make_tenant(session), make_tenant(session)
    admin = make_staff(session, tenant, Role.ADMIN)
    shared = make_user(session, tenant, email="shared@staff.example")
    make_user(session, other, Role.ADMIN, email="shared@staff.example")
    with pytest.raises(PermissionDenied):
        users.set_password(session, admin, shared.id, PASSWORD, temporary=True, now=NOW)
    users.set_password(session, Operator(), shared.id, PASSWORD, now=NOW)


def test_admin_cannot_reach_another_tenants_staff(session: Session) -> None:
    tenant, other = make_tenant(session), make_tenant(session)
    admin = make_staff(session, tenant, Role.ADMIN)
    stranger = make_user(session, other)
    with pytest.raises(NotFound):
        users.set_password(session, admin, stranger.id, PASSWORD, temporary=True, now=NOW)


@pytest.mark.parametrize("role", [Role.AGENT, Role.LIGHT_AGENT])
def test_staff_below_admin_cannot_set_others_passwords(session: Session, role: Role) -> None:
    tenant = make_tenant(session)
    actor = make_staff(session, tenant, role)
    colleague = make_user(session, tenant)
    with pytest.raises(PermissionDenied):
        users.set_password(session, actor, colleague.id, PASSWORD, temporary=True, now=NOW)


def test_client_cannot_set_passwords(session: Session) -> None:
    tenant = make_tenant(session)
    agent = make_user(session, tenant)
    with pytest.raises(PermissionDenied):
        users.set_password(session, make_client(session, tenant), agent.id, PASSWORD, now=NOW)


def test_every_failed_sign_in_reads_the_same(session: Session) -> None:
    tenant = make_tenant(session)
    ann = make_user(session, tenant, email="ann@staff.example")
    users.set_password(session, Operator(), ann.id, PASSWORD, now=NOW)
    make_user(session, tenant, email="nopassword@staff.example")
    inactive = make_user(session, tenant, email="gone@staff.example")
    users.set_password(session, Operator(), inactive.id, PASSWORD, now=NOW)
    inactive.active = False
    attempts = [
        ("ann@staff.example", "wrong password!"),
        ("nobody@staff.example", PASSWORD),
        ("nopassword@staff.example", PASSWORD),
        ("gone@staff.example", PASSWORD),
        ("not an address", PASSWORD),
    ]
    messages = set()
    for email, password in attempts:
        with pytest.raises(PermissionDenied) as caught:
            users.authenticate_password(session, email, password, now=NOW)
        messages.add(str(caught.value))
    assert len(messages) == 1
    assert ann.last_login_at is None


def test_hash_made_with_old_parameters_is_upgraded_at_sign_in(session: Session) -> None:
    tenant = make_tenant(session)
    ann = make_user(session, tenant)
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    ann.password_hash = weak
    session.flush()
    assert needs_rehash(weak)
    users.authenticate_password(session, ann.email, PASSWORD, now=NOW)
    session.refresh(ann)
    assert ann.password_hash != weak
    assert ann.password_hash is not None
    assert not needs_rehash(ann.password_hash)
    assert verify_password(ann.password_hash, PASSWORD)


def test_a_deactivated_user_cannot_join_a_team(session: Session) -> None:
    # Given a user whose account was switched off everywhere
    tenant = make_tenant(session)
    admin = make_staff(session, tenant, Role.ADMIN)
    user = make_user(session, tenant, Role.AGENT)
    team = teams.create_team(session, admin, tenant.id, "Night shift", now=NOW)
    user.active = False
    session.flush()
    # Then they cannot be put on a team: to the team they are no staff member
    with pytest.raises(NotFound):
        teams.add_team_member(session, admin, team.id, user.id, now=NOW)
