"""Staff users and their memberships in tenants."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.addresses import normalize_email
from helpdesk.enums import Role
from helpdesk.errors import Conflict, NotFound, PermissionDenied, ValidationError
from helpdesk.models import Membership, User
from helpdesk.passwords import hash_password
from helpdesk.policy import Action, can, require
from helpdesk.principal import Principal, Staff


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
        PermissionDenied: the user has no active membership there, or is inactive.
    """
    membership = _membership(session, user_id, tenant_id)
    if membership is None or not membership.active or not membership.user.active:
        raise PermissionDenied("not a member of this tenant")
    return Staff(user_id=user_id, tenant_id=tenant_id, role=membership.role)


def get_user_by_email(session: Session, email: str) -> User:
    """Raises:
    NotFound: no user has that address.
    """
    user = session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None:
        raise NotFound(f"no user {email!r}")
    return user


def _membership(session: Session, user_id: int, tenant_id: int) -> Membership | None:
    return session.scalar(
        select(Membership).where(Membership.user_id == user_id, Membership.tenant_id == tenant_id)
    )
