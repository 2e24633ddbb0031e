"""A tenant admin's staff changes: inviting people and changing their role or standing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.addresses import normalize_email
from helpdesk.enums import Role
from helpdesk.errors import NotFound
from helpdesk.models import Membership, User
from helpdesk.passwords import generate_password
from helpdesk.policy import Action, can, require
from helpdesk.principal import Principal
from helpdesk.services.users import (
    change_role,
    create_user,
    deactivate_membership,
    reactivate_membership,
)
from helpdesk.unchanged import UNCHANGED, Unchanged


def invite_staff(
    session: Session,
    actor: Principal,
    tenant_id: int,
    *,
    email: str,
    name: str,
    role: Role,
    now: datetime,
) -> tuple[Membership, str | None]:
    """Add a staff member; return their membership and a one-time password if one was made.

    Someone new gets a temporary password to sign in with once, shown this one
    time; someone who already works in another tenant keeps their password.

    Raises:
        PermissionDenied: the actor may not manage this tenant.
        ValidationError: bad e-mail address or empty name.
        Conflict: the person is already a member of the tenant.
    """
    address = normalize_email(email)
    is_new = session.scalar(select(User.id).where(User.email == address)) is None
    one_time = generate_password() if is_new else None
    user = create_user(
        session, actor, tenant_id, email=address, name=name, role=role,
        password=one_time, password_is_temporary=is_new, now=now,
    )  # fmt: skip
    return get_staff_member(session, actor, tenant_id, user.id), one_time


def update_staff_member(
    session: Session,
    actor: Principal,
    tenant_id: int,
    user_id: int,
    *,
    role: Role | Unchanged = UNCHANGED,
    active: bool | Unchanged = UNCHANGED,
    now: datetime,
) -> Membership:
    """Change a staff member's role or take them out of (or back into) the tenant.

    Raises:
        PermissionDenied: the actor may not manage this tenant.
        NotFound: the user is not a member of the tenant.
        Conflict: this would leave the tenant without an active admin.
    """
    membership = get_staff_member(session, actor, tenant_id, user_id)
    # Reactivate before a role change and deactivate after it, so that the
    # last-admin rule judges the tenant as it will be.
    if active is True:
        reactivate_membership(session, actor, tenant_id, user_id, now=now)
    if role is not UNCHANGED:
        change_role(session, actor, tenant_id, user_id, role, now=now)
    if active is False:
        deactivate_membership(session, actor, tenant_id, user_id, now=now)
    return membership


def get_staff_member(
    session: Session, actor: Principal, tenant_id: int, user_id: int
) -> Membership:
    """Return the user's membership in the tenant, for an admin.

    Raises:
        PermissionDenied: the actor may not manage this tenant.
        NotFound: the user is not a member of the tenant.
    """
    require(can(actor, Action.MANAGE_TENANT, tenant_id), "only an admin manages staff")
    membership = session.scalar(
        select(Membership).where(Membership.tenant_id == tenant_id, Membership.user_id == user_id)
    )
    if membership is None:
        raise NotFound("no such staff member in this tenant")
    return membership
