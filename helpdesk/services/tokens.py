"""API tokens: bearer secrets shown once, kept only as their SHA-256."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.errors import NotFound, PermissionDenied, ValidationError
from helpdesk.models import ApiToken, Membership, Tenant, User
from helpdesk.policy import Action, can, require
from helpdesk.principal import PlatformAdmin, Principal, Staff
from helpdesk.services.scope import get_scoped

PREFIX = "hd_"
# Recording every use would turn each API read into a write; a minute's
# precision is all that "last used" needs.
_LAST_USED_PRECISION = timedelta(minutes=1)
_INVALID = "invalid or revoked token"


def create_api_token(
    session: Session,
    actor: Principal,
    tenant_id: int,
    user_id: int,
    *,
    name: str = "",
    now: datetime,
) -> tuple[ApiToken, str]:
    """Issue a token acting as the user in the tenant; return it and its secret.

    The secret is returned this once and never stored: show it to the user now.

    Raises:
        PermissionDenied: the actor may not issue tokens for this user.
        NotFound: the user is no active staff member of the tenant.
        ValidationError: the name is longer than 120 characters.
    """
    require(_may_manage(actor, tenant_id, user_id), "you may not manage this user's tokens")
    if _active_membership(session, tenant_id, user_id) is None:
        raise NotFound("no active staff member with that id in this tenant")
    name = name.strip()
    if len(name) > 120:
        raise ValidationError("name", "use at most 120 characters")
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        tenant_id=tenant_id,
        user_id=user_id,
        name=name,
        token_hash=hash_secret(secret),
        prefix=secret[:8],
        created_at=now,
    )
    session.add(token)
    session.flush()
    return token, secret


def authenticate_api_token(session: Session, secret: str, *, now: datetime) -> Staff:
    """Return the staff member a bearer secret acts as.

    Raises:
        PermissionDenied: unknown or revoked token, or its user or membership
            is no longer active (one message for all, so nothing leaks).
    """
    if not secret.startswith(PREFIX) or len(secret) > 200:
        raise PermissionDenied(_INVALID)
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_secret(secret)))
    if token is None or token.revoked_at is not None:
        raise PermissionDenied(_INVALID)
    membership = _active_membership(session, token.tenant_id, token.user_id)
    if membership is None:
        raise PermissionDenied(_INVALID)
    if token.last_used_at is None or now - token.last_used_at >= _LAST_USED_PRECISION:
        token.last_used_at = now
        session.flush()
    return Staff(user_id=token.user_id, tenant_id=token.tenant_id, role=membership.role)


def revoke_api_token(
    session: Session, actor: Principal, token_id: int, *, now: datetime
) -> ApiToken:
    """Revoke a token at once; revoking it again changes nothing.

    Raises:
        NotFound: no such token in the actor's tenant.
        PermissionDenied: the token is someone else's and the actor is no admin.
    """
    token = get_scoped(session, ApiToken, token_id, actor, "token")
    require(_may_manage(actor, token.tenant_id, token.user_id), "you may not revoke this token")
    if token.revoked_at is None:
        token.revoked_at = now
        session.flush()
    return token


def list_api_tokens(
    session: Session, actor: Principal, tenant_id: int, user_id: int | None = None
) -> list[ApiToken]:
    """Return the tenant's tokens (one user's, if given), revoked ones too, oldest first.

    Raises:
        PermissionDenied: the actor may see neither these tokens nor all of them.
    """
    if user_id is None:
        require(can(actor, Action.MANAGE_TENANT, tenant_id), "only an admin lists all tokens")
    else:
        require(_may_manage(actor, tenant_id, user_id), "you may not see this user's tokens")
    query = select(ApiToken).where(ApiToken.tenant_id == tenant_id).order_by(ApiToken.id)
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    return list(session.scalars(query))


def hash_secret(secret: str) -> str:
    """Return the hex SHA-256 under which a token is stored and looked up.

    A fast hash is enough: the secret carries 256 random bits, so there is
    nothing to guess that a slow hash would protect.
    """
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _may_manage(actor: Principal, tenant_id: int, user_id: int) -> bool:
    if isinstance(actor, Staff | PlatformAdmin) and actor.user_id == user_id:
        return can(actor, Action.MANAGE_OWN_TOKENS, tenant_id)
    return can(actor, Action.MANAGE_TENANT, tenant_id)


def _active_membership(session: Session, tenant_id: int, user_id: int) -> Membership | None:
    return session.scalar(
        select(Membership)
        .join(User, User.id == Membership.user_id)
        .join(Tenant, Tenant.id == Membership.tenant_id)
        .where(
            Membership.tenant_id == tenant_id,
            Membership.user_id == user_id,
            Membership.active.is_(True),
            User.active.is_(True),
            Tenant.active.is_(True),
        )
    )
