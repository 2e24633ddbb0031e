"""Teams: groups of a tenant's agents that tickets can be routed to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.enums import Role
from helpdesk.errors import Conflict, NotFound, ValidationError
from helpdesk.models import Team, TeamMember, User
from helpdesk.policy import Action, can, require
from helpdesk.principal import Principal
from helpdesk.services.scope import get_scoped, get_tenant
from helpdesk.services.ticket_access import is_member


def create_team(
    session: Session, actor: Principal, tenant_id: int, name: str, *, now: datetime
) -> Team:
    """Create an empty team.

    Raises:
        PermissionDenied: the actor may not manage this tenant.
        NotFound: no such tenant.
        ValidationError: empty or overlong name.
        Conflict: the tenant has a team of that name.
    """
    require(can(actor, Action.MANAGE_TENANT, tenant_id), "only an admin creates teams")
    get_tenant(session, tenant_id)
    name = _free_name(session, tenant_id, name)
    team = Team(tenant_id=tenant_id, name=name, created_at=now)
    session.add(team)
    session.flush()
    return team


def rename_team(
    session: Session, actor: Principal, team_id: int, name: str, *, now: datetime
) -> Team:
    """Give a team another name.

    Raises:
        NotFound: no such team in the actor's tenant.
        PermissionDenied: the actor may not manage the tenant.
        ValidationError: empty or overlong name.
        Conflict: another team has that name.
    """
    team = _get_for_admin(session, actor, team_id)
    if name.strip() != team.name:
        team.name = _free_name(session, team.tenant_id, name)
        session.flush()
    return team


def add_team_member(
    session: Session, actor: Principal, team_id: int, user_id: int, *, now: datetime
) -> TeamMember:
    """Put a staff member of the team's tenant in the team; adding twice is harmless.

    Raises:
        NotFound: no such team, or the user is no active staff of its tenant.
        PermissionDenied: the actor may not manage the tenant.
    """
    team = _get_for_admin(session, actor, team_id)
    existing = session.get(TeamMember, (team.id, user_id))
    if existing is not None:
        return existing
    if not _is_active_staff(session, team.tenant_id, user_id):
        raise NotFound("no such staff member in this tenant")
    member = TeamMember(team_id=team.id, user_id=user_id, tenant_id=team.tenant_id)
    session.add(member)
    session.flush()
    return member


def remove_team_member(
    session: Session, actor: Principal, team_id: int, user_id: int, *, now: datetime
) -> None:
    """Take a user out of the team; removing a non-member is harmless.

    Raises:
        NotFound: no such team in the actor's tenant.
        PermissionDenied: the actor may not manage the tenant.
    """
    team = _get_for_admin(session, actor, team_id)
    member = session.get(TeamMember, (team.id, user_id))
    if member is not None:
        session.delete(member)
        session.flush()


def list_teams(session: Session, actor: Principal, tenant_id: int) -> list[Team]:
    """Return the tenant's teams by name.

    Raises:
        PermissionDenied: the actor is not staff of the tenant.
    """
    require(can(actor, Action.VIEW_INTERNAL, tenant_id), "only staff see teams")
    query = select(Team).where(Team.tenant_id == tenant_id).order_by(Team.name)
    return list(session.scalars(query))


def list_team_members(session: Session, actor: Principal, team_id: int) -> list[User]:
    """Return the team's members by name.

    Raises:
        NotFound: no such team in the actor's tenant.
        PermissionDenied: the actor is not staff of the tenant.
    """
    team = get_scoped(session, Team, team_id, actor, "team")
    require(can(actor, Action.VIEW_INTERNAL, team.tenant_id), "only staff see teams")
    query = (
        select(User)
        .join(TeamMember, TeamMember.user_id == User.id)
        .where(TeamMember.team_id == team.id)
        .order_by(User.name, User.id)
    )
    return list(session.scalars(query))


def _get_for_admin(session: Session, actor: Principal, team_id: int) -> Team:
    team = get_scoped(session, Team, team_id, actor, "team")
    require(can(actor, Action.MANAGE_TENANT, team.tenant_id), "only an admin manages teams")
    return team


def _free_name(session: Session, tenant_id: int, name: str) -> str:
    name = name.strip()
    if not name or len(name) > 120:
        raise ValidationError("name", "use 1 to 120 characters")
    query = select(Team.id).where(Team.tenant_id == tenant_id, Team.name == name)
    if session.scalar(query) is not None:
        raise Conflict(f"a team named {name!r} exists")
    return name


def _is_active_staff(session: Session, tenant_id: int, user_id: int) -> bool:
    # Any role: a light agent may belong to a team too; a deactivated user may not.
    return is_member(session, tenant_id, user_id, tuple(Role))
