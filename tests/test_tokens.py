"""API tokens: secrets shown once, stored hashed, refused once revoked or orphaned."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from helpdesk.enums import Role
from helpdesk.errors import NotFound, PermissionDenied
from helpdesk.models import User
from helpdesk.principal import Operator, Staff
from helpdesk.services import tokens, users
from tests.factories import NOW, make_client, make_staff, make_tenant, make_user


def test_agent_creates_a_token_that_signs_them_in(session: Session) -> None:
    tenant = make_tenant(session)
    agent = make_staff(session, tenant, Role.AGENT)
    token, secret = tokens.create_api_token(
        session, agent, tenant.id, agent.user_id, name=" laptop ", now=NOW
    )
    assert secret.startswith("hd_")
    assert len(secret) >= 3 + 43  # 32 random bytes, base64url without padding
    assert token.prefix == secret[:8]
    assert token.name == "laptop"
    assert tokens.authenticate_api_token(session, secret, now=NOW) == agent


def test_token_secret_is_never_stored_in_clear(session: Session) -> None:
    tenant = make_tenant(session)
    agent = make_staff(session, tenant)
    token, secret = tokens.create_api_token(session, agent, tenant.id, agent.user_id, now=NOW)
    row = session.execute(text("SELECT * FROM api_tokens WHERE id = :id"), {"id": token.id}).one()
    assert all(secret not in str(value) for value in row)
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()


def test_two_tokens_have_different_secrets(session: Session) -> None:
    tenant = make_tenant(session)
    agent = make_staff(session, tenant)
    _, first = tokens.create_api_token(session, agent, tenant.id, agent.user_id, now=NOW)
    _, second = tokens.create_api_token(session, agent, tenant.id, agent.user_id, now=NOW)
    assert first != second


@pytest.mark.parametrize("role", [Role.AGENT, Role.LIGHT_AGENT])
def test_staff_cannot_create_tokens_for_someone_else(session: Session, role: Role) -> None:
    tenant = make_tenant(session)
    actor = make_staff(session, tenant, role)
    colleague = make_user(session, tenant)
    with pytest.raises(PermissionDenied):
        tokens.create_api_token(session, actor, tenant.id, colleague.id, now=NOW)


def test_admin_and_operator_create_tokens_for_the_tenants_staff(session: Session) -> None:
    tenant = make_tenant(session)
    admin = make_staff(session, tenant, Role.ADMIN)
    colleague = make_user(session, tenant, Role.LIGHT_AGENT)
    _, by_admin = tokens.create_api_token(session, admin, tenant.id, colleague.id, now=NOW)
    _, by_operator = tokens.create_api_token(session, Operator(), tenant.id, colleague.id, now=NOW)
    for secret in (by_admin, by_operator):
        principal = tokens.authenticate_api_token(session, secret, now=NOW)
        assert principal == Staff(user_id=colleague.id, tenant_id=tenant.id, role=Role.LIGHT_AGENT)


def test_client_cannot_create_tokens(session: Session) -> None:
    tenant = make_tenant(session)
    user = make_user(session, tenant)
    with pytest.raises(PermissionDenied):
        tokens.create_api_token(session, make_client(session, tenant), tenant.id, user.id, now=NOW)


def test_token_for_someone_outside_the_tenant_is_refused(session: Session) -> None:
    tenant, other = make_tenant(session), make_tenant(session)
    stranger = make_user(session, other)
    with pytest.raises(NotFound):
        tokens.create_api_token(session, Operator(), tenant.id, stranger.id, now=NOW)


def test_admin_cannot_issue_tokens_in_another_tenant(session: Session) -> None:
    tenant, other = make_tenant(session), make_tenant(session)
    admin = make_staff(session, tenant, Role.ADMIN)
    stranger = make_user(session, other)
    with pytest.raises(PermissionDenied):
        tokens.create_api_token(session, admin, other.id, stranger.id, now=NOW)


def test_revoked_token_is_refused_and_revoking_twice_keeps_the_first_time(
    session: Session,
) -> None:
    tenant = make_tenant(session)
    agent = make_staff(session, tenant)
    token, secret = tokens.create_api_token(session, agent, tenant.id, agent.user_id, now=NOW)
    tokens.revoke_api_token(session, agent, token.id, now=NOW)
    tokens.revoke_api_token(session, agent, token.id, now=NOW + timedelta(hours=1))
    assert token.revoked_at == NOW
    with pytest.raises(PermissionDenied, match="invalid or revoked token"):
        tokens.authenticate_api_token(session, secret, now=NOW)


def test_agent_cannot_revoke_a_colleagues_token_but_admin_can(session: Session) -> None:
    tenant = make_tenant(session)
    agent, colleague = make_staff(session, tenant), make_staff(session, tenant)
    token, _ = tokens.create_api_token(session, colleague, tenant.id, colleague.user_id, now=NOW)
    with pytest.raises(PermissionDenied):
        tokens.revoke_api_token(session, agent, token.id, now=NOW)
    admin = make_staff(session, tenant, Role.ADMIN)
    assert tokens.revoke_api_token(session, admin, token.id, now=NOW).revoked_at == NOW


def test_another_tenants_token_is_not_found(session: Session) -> None:
    tenant, other = make_tenant(session), make_tenant(session)
    stranger = make_staff(session, other)
    token, _ = tokens.create_api_token(session, stranger, other.id, stranger.user_id, now=NOW)
    with pytest.raises(NotFound):
        tokens.revoke_api_token(session, make_staff(session, tenant, Role.ADMIN), token.id, now=NOW)


def test_token_stops_working_when_the_membership_is_deactivated(session: Session) -> None:
    tenant = make_tenant(session)
    agent = make_staff(session, tenant)
    _, secret = tokens.create_api_token(session, agent, tenant.id, agent.user_id, now=NOW)
    users.deactivate_membership(session, Operator(), tenant.id, agent.user_id, now=NOW)
    with pytest.raises(PermissionDenied, match="invalid or revoked token"):
        tokens.authenticate_api_token(session, secret, now=NOW)


def test_token_stops_working_when_the_user_is_deactivated(session: Session) -> None:
    tenant = make_tenant(session)
    agent = make_staff(session, tenant)
    _, secret = tokens.create_api_token(session, agent, tenant.id, agent.user_id, now=NOW)
    user = session.get(User, agent.user_id)
    assert user is not None
    user.active = False
    session.flush()
    with pytest.raises(PermissionDenied, match="invalid or revoked token"):
        tokens.authenticate_api_token(session, secret, now=NOW)


@pytest.mark.parametrize("secret", ["", "hd_", "hd_" + "A" * 43, "Bearer x", "hd_" + "x" * 500])
def test_unknown_secrets_are_refused_with_the_same_message(session: Session, secret: str) -> None:
    with pytest.raises(PermissionDenied, match=r"^invalid or revoked token$"):
        tokens.authenticate_api_token(session, secret, now=NOW)


def test_last_use_is_recorded_at_most_once_a_minute(session: Session) -> None:
    tenant = make_tenant(session)
    agent = make_staff(session, tenant)
    token, secret = tokens.create_api_token(session, agent, tenant.id, agent.user_id, now=NOW)
    assert token.last_used_at is None
    tokens.authenticate_api_token(session, secret, now=NOW)
    tokens.authenticate_api_token(session, secret, now=NOW + timedelta(seconds=59))
    assert token.last_used_at == NOW
    tokens.authenticate_api_token(session, secret, now=NOW + timedelta(seconds=61))
    assert token.last_used_at == NOW + timedelta(seconds=61)


def test_agent_lists_own_tokens_and_admin_lists_all(session: Session) -> None:
    tenant = make_tenant(session)
    agent, colleague = make_staff(session, tenant), make_staff(session, tenant)
    mine, _ = tokens.create_api_token(session, agent, tenant.id, agent.user_id, now=NOW)
    theirs, _ = tokens.create_api_token(session, colleague, tenant.id, colleague.user_id, now=NOW)
    assert tokens.list_api_tokens(session, agent, tenant.id, agent.user_id) == [mine]
    with pytest.raises(PermissionDenied):
        tokens.list_api_tokens(session, agent, tenant.id)
    with pytest.raises(PermissionDenied):
        tokens.list_api_tokens(session, agent, tenant.id, colleague.user_id)
    admin = make_staff(session, tenant, Role.ADMIN)
    assert tokens.list_api_tokens(session, admin, tenant.id) == [mine, theirs]
