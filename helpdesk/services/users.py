"""Staff users and their memberships in tenants."""

from __future__ import annotations

import secrets
from datetime import datetime
from functools import cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session, contains_eager

from helpdesk.addresses import normalize_email
from helpdesk.enums import Role
from helpdesk.errors import Conflict, NotFound, PermissionDenied, ValidationError
from helpdesk.models import Membership, Tenant, User
from helpdesk.passwords import hash_password, needs_rehash, verify_password
from helpdesk.policy import Action, can, require
from helpdesk.principal import Operator, PlatformAdmin, Principal, Staff


def create_user(
    session: Session,
    actor: Principal,
    tenant_id: int,
    *,
    email: str,
    name: str,
    role: Role,
    password: str | None = None,
    password_is_temporary: bool = False,
    now: datetime,
) -> User:
    """Add a staff member to a tenant, creating the user if the address is new.

    Raises:
        PermissionDenied: the actor may not manage this tenant.
        ValidationError: bad e-mail, empty name or weak password.
        Conflict: the user is already a member of the tenant.
    """
    require(can(actor, Action.MANAGE_TENANT, tenant_id), "only an admin adds staff")
    email = normalize_email(email)
    name = name.strip()
    if not name:
        raise ValidationError("name", "must not be empty")
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, name=name, created_at=now)
        session.add(user)
    elif _membership(session, user.id, tenant_id) is not None:
        raise Conflict(f"{email} is already a member of this tenant")
    if password is not None:
        user.password_hash = hash_password(password)
        user.password_is_temporary = password_is_temporary
    session.flush()
    session.add(Membership(tenant_id=tenant_id, user_id=user.id, role=role, created_at=now))
    session.flush()
    return user


def staff_principal(session: Session, user_id: int, tenant_id: int) -> Staff:
    """Return the user acting in the tenant with their role.

    Raises:
        PermissionDenied: the user has no active membership there, is inactive,
            or the tenant is suspended.
    """
    membership = _membership(session, user_id, tenant_id)
    if membership is None or not membership.active or not membership.user.active:
        raise PermissionDenied("not a member of this tenant")
    tenant = session.get(Tenant, tenant_id)
    if tenant is None or not tenant.active:
        raise PermissionDenied("this tenant is suspended")
    return Staff(user_id=user_id, tenant_id=tenant_id, role=membership.role)


def get_user_by_email(session: Session, email: str) -> User:
    """Raises:
    NotFound: no user has that address.
    """
    user = session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None:
        raise NotFound(f"no user {email!r}")
    return user


def set_password(
    session: Session,
    actor: Principal,
    user_id: int,
    password: str,
    *,
    temporary: bool = False,
    now: datetime,
) -> User:
    """Set a user's password: their own, or a temporary one set by an admin.

    A tenant admin may only set temporary passwords, and only for people who
    work in the admin's tenant alone: anyone else's account reaches further
    than the admin does.

    Raises:
        NotFound: no such user (in the admin's tenant).
        PermissionDenied: the actor may not set this user's password.
        ValidationError: the password is too short.
    """
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("no such user")
    if not _is_self(actor, user_id):
        _require_may_reset(session, actor, user, temporary=temporary)
    user.password_hash = hash_password(password)
    user.password_is_temporary = temporary
    session.flush()
    return user


def authenticate_password(session: Session, email: str, password: str, *, now: datetime) -> User:
    """Return the active user with this address and password, and note the sign-in.

    Raises:
        PermissionDenied: any failure, with one message, so that nothing tells
            which addresses have accounts.
    """
    try:
        user = session.scalar(select(User).where(User.email == normalize_email(email)))
    except ValidationError:
        user = None
    # Verify against a dummy hash for unknown users, so the answer takes as
    # long as for a known one and timing reveals no account either.
    stored = user.password_hash if user else None
    matches = verify_password(stored or _dummy_hash(), password)
    if user is None or stored is None or not matches or not user.active:
        raise PermissionDenied(_BAD_SIGN_IN)
    if needs_rehash(stored):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    session.flush()
    return user


def change_role(
    session: Session, actor: Principal, tenant_id: int, user_id: int, role: Role, *, now: datetime
) -> Membership:
    """Give a staff member another role in the tenant.

    Raises:
        PermissionDenied: the actor may not manage this tenant.
        NotFound: the user is not a member of the tenant.
        Conflict: this would leave the tenant without an active admin.
    """
    membership = _membership_for_admin(session, actor, tenant_id, user_id)
    if role is not Role.ADMIN:
        _require_another_admin(session, membership)
    membership.role = role
    session.flush()
    return membership


def deactivate_membership(
    session: Session, actor: Principal, tenant_id: int, user_id: int, *, now: datetime
) -> Membership:
    """Take a staff member out of the tenant; their history stays.

    Raises:
        PermissionDenied: the actor may not manage this tenant.
        NotFound: the user is not a member of the tenant.
        Conflict: this would leave the tenant without an active admin.
    """
    membership = _membership_for_admin(session, actor, tenant_id, user_id)
    _require_another_admin(session, membership)
    membership.active = False
    session.flush()
    return membership


def reactivate_membership(
    session: Session, actor: Principal, tenant_id: int, user_id: int, *, now: datetime
) -> Membership:
    """Let a deactivated staff member work in the tenant again.

    Raises:
        PermissionDenied: the actor may not manage this tenant.
        NotFound: the user is not a member of the tenant.
    """
    membership = _membership_for_admin(session, actor, tenant_id, user_id)
    membership.active = True
    session.flush()
    return membership


def list_staff(
    session: Session, actor: Principal, tenant_id: int, *, active_only: bool = False
) -> list[Membership]:
    """Return the tenant's memberships (with `.user`), by name.

    Raises:
        PermissionDenied: the actor is not staff of the tenant.
    """
    require(can(actor, Action.VIEW_INTERNAL, tenant_id), "only staff see the staff list")
    query = (
        select(Membership)
        .join(User, User.id == Membership.user_id)
        # Filled from the join, so that listing staff is one query, not one per member.
        .options(contains_eager(Membership.user))
        .where(Membership.tenant_id == tenant_id)
        .order_by(User.name, User.id)
    )
    if active_only:
        query = query.where(Membership.active.is_(True), User.active.is_(True))
    return list(session.scalars(query))


def count_active_admins(session: Session, tenant_id: int, *, besides: int | None = None) -> int:
    """Count the tenant's admins whose membership and user are both active.

    `besides` is a user id left out of the count: whether anyone else could
    administer the tenant if that person stopped.
    """
    query = (
        select(func.count())
        .select_from(Membership)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.tenant_id == tenant_id,
            Membership.role == Role.ADMIN,
            Membership.active.is_(True),
            User.active.is_(True),
        )
    )
    if besides is not None:
        query = query.where(Membership.user_id != besides)
    return session.scalar(query) or 0


_BAD_SIGN_IN = "wrong e-mail address or password"


@cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def _is_self(actor: Principal, user_id: int) -> bool:
    return isinstance(actor, Staff | PlatformAdmin) and actor.user_id == user_id


def _require_may_reset(session: Session, actor: Principal, user: User, *, temporary: bool) -> None:
    if isinstance(actor, PlatformAdmin | Operator):
        return
    if not isinstance(actor, Staff) or not can(actor, Action.MANAGE_TENANT, actor.tenant_id):
        raise PermissionDenied("you may only change your own password")
    tenants = {membership.tenant_id for membership in user.memberships}
    if actor.tenant_id not in tenants:
        raise NotFound("no such user")
    if tenants != {actor.tenant_id} or user.is_platform_admin:
        raise PermissionDenied("this person works elsewhere too; ask a platform admin")
    if not temporary:
        raise PermissionDenied("an admin sets temporary passwords only")


def _membership_for_admin(
    session: Session, actor: Principal, tenant_id: int, user_id: int
) -> Membership:
    require(can(actor, Action.MANAGE_TENANT, tenant_id), "only an admin manages staff")
    membership = _membership(session, user_id, tenant_id)
    if membership is None:
        raise NotFound("no such staff member in this tenant")
    return membership


def _require_another_admin(session: Session, membership: Membership) -> None:
    if membership.role is not Role.ADMIN or not membership.active:
        return
    if not count_active_admins(session, membership.tenant_id, besides=membership.user_id):
        raise Conflict("the tenant needs at least one active admin; appoint another first")


def _membership(session: Session, user_id: int, tenant_id: int) -> Membership | None:
    return session.scalar(
        select(Membership).where(Membership.user_id == user_id, Membership.tenant_id == tenant_id)
    )
