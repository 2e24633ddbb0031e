"""Admin endpoints for people: staff members, their roles, and teams."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from helpdesk.enums import Role
from helpdesk.models import Membership, Team
from helpdesk.services.staff import invite_staff, update_staff_member
from helpdesk.services.teams import (
    add_team_member,
    create_team,
    list_team_members,
    list_teams,
    remove_team_member,
    rename_team,
)
from helpdesk.services.users import list_staff
from web.api.blueprint import api
from web.api.core import Audience, Context
from web.api.endpoints.admin_common import changes, optional, page_of, require_admin
from web.api.schemas import Page, PageQuery, Strict
from web.api.shapes import AgentRef

STAFF_TAG = "admin: staff"
TEAMS_TAG = "admin: teams"


class StaffOut(BaseModel):
    id: int = Field(description="The user's id")
    email: str
    name: str
    role: Role
    active: bool = Field(description="Whether they may work in this tenant")
    last_login_at: datetime | None


class StaffPage(Page[StaffOut]):
    pass


class StaffInvited(StaffOut):
    one_time_password: str | None = Field(
        description="For someone new: a password to sign in with once, shown only now"
    )


class StaffIn(Strict):
    email: str = Field(min_length=3, max_length=320)
    name: str = Field(min_length=1, max_length=200)
    role: Role


class StaffPatch(Strict):
    role: Role = optional("The new role; the tenant always keeps one active admin")
    active: bool = optional("false takes them out of the tenant, true lets them back in")


class TeamOut(BaseModel):
    id: int
    name: str
    members: list[AgentRef]


class TeamPage(Page[TeamOut]):
    pass


class TeamIn(Strict):
    name: str = Field(min_length=1, max_length=120)


@api.endpoint(
    "GET", "/admin/staff", audience=Audience.STAFF, summary="List staff", tag=STAFF_TAG,
    query=PageQuery, response=StaffPage,
)  # fmt: skip
def list_admin_staff(ctx: Context, query: PageQuery) -> StaffPage:
    """Everyone who works or worked in the tenant, by name."""
    require_admin(ctx)
    rows = list_staff(ctx.session, ctx.staff, ctx.tenant_id)
    page, cursor = page_of(ctx, "staff", rows, query)
    return StaffPage(items=[present_member(m) for m in page], next_cursor=cursor)


@api.endpoint(
    "POST", "/admin/staff", audience=Audience.STAFF, summary="Invite a staff member",
    tag=STAFF_TAG, body=StaffIn, response=StaffInvited, status=201,
)  # fmt: skip
def invite_admin_staff(ctx: Context, body: StaffIn) -> StaffInvited:
    """Add someone to the tenant. Someone new gets a one-time password, returned only in this
    answer; someone who works in another tenant already keeps theirs (null here)."""
    membership, password = invite_staff(
        ctx.session, ctx.staff, ctx.tenant_id, email=body.email, name=body.name,
        role=body.role, now=ctx.now,
    )  # fmt: skip
    member = present_member(membership)
    return StaffInvited(**member.model_dump(), one_time_password=password)


@api.endpoint(
    "PATCH", "/admin/staff/<int:user_id>", audience=Audience.STAFF,
    summary="Change a staff member's role or standing", tag=STAFF_TAG, body=StaffPatch,
    response=StaffOut,
)  # fmt: skip
def update_admin_staff(ctx: Context, user_id: int, body: StaffPatch) -> StaffOut:
    """Change the role, or deactivate/reactivate; 409 if no active admin would be left."""
    membership = update_staff_member(
        ctx.session, ctx.staff, ctx.tenant_id, user_id, **changes(body), now=ctx.now
    )
    return present_member(membership)


@api.endpoint(
    "GET", "/admin/teams", audience=Audience.STAFF, summary="List teams", tag=TEAMS_TAG,
    query=PageQuery, response=TeamPage,
)  # fmt: skip
def list_admin_teams(ctx: Context, query: PageQuery) -> TeamPage:
    """The tenant's teams by name, with their members."""
    require_admin(ctx)
    page, cursor = page_of(ctx, "teams", list_teams(ctx.session, ctx.staff, ctx.tenant_id), query)
    return TeamPage(items=[present_team(ctx, team) for team in page], next_cursor=cursor)


@api.endpoint(
    "POST", "/admin/teams", audience=Audience.STAFF, summary="Create a team", tag=TEAMS_TAG,
    body=TeamIn, response=TeamOut, status=201,
)  # fmt: skip
def create_admin_team(ctx: Context, body: TeamIn) -> TeamOut:
    """An empty team; 409 if the tenant has one of that name."""
    team = create_team(ctx.session, ctx.staff, ctx.tenant_id, body.name, now=ctx.now)
    return present_team(ctx, team)


@api.endpoint(
    "PATCH", "/admin/teams/<int:team_id>", audience=Audience.STAFF, summary="Rename a team",
    tag=TEAMS_TAG, body=TeamIn, response=TeamOut,
)  # fmt: skip
def rename_admin_team(ctx: Context, team_id: int, body: TeamIn) -> TeamOut:
    """Give the team another name; 409 if another team has it."""
    team = rename_team(ctx.session, ctx.staff, team_id, body.name, now=ctx.now)
    return present_team(ctx, team)


@api.endpoint(
    "PUT", "/admin/teams/<int:team_id>/members/<int:user_id>", audience=Audience.STAFF,
    summary="Put a staff member in a team", tag=TEAMS_TAG, response=TeamOut,
)  # fmt: skip
def add_admin_team_member(ctx: Context, team_id: int, user_id: int) -> TeamOut:
    """Adding someone already in the team changes nothing; 404 for no active staff member."""
    member = add_team_member(ctx.session, ctx.staff, team_id, user_id, now=ctx.now)
    return present_team(ctx, ctx.session.get_one(Team, member.team_id))


@api.endpoint(
    "DELETE", "/admin/teams/<int:team_id>/members/<int:user_id>", audience=Audience.STAFF,
    summary="Take a staff member out of a team", tag=TEAMS_TAG, status=204,
)  # fmt: skip
def remove_admin_team_member(ctx: Context, team_id: int, user_id: int) -> None:
    """Removing someone who is not in the team changes nothing."""
    remove_team_member(ctx.session, ctx.staff, team_id, user_id, now=ctx.now)


def present_member(membership: Membership) -> StaffOut:
    user = membership.user
    return StaffOut(
        id=user.id, email=user.email, name=user.name, role=membership.role,
        active=membership.active and user.active, last_login_at=user.last_login_at,
    )  # fmt: skip


def present_team(ctx: Context, team: Team) -> TeamOut:
    members = list_team_members(ctx.session, ctx.staff, team.id)
    return TeamOut(
        id=team.id,
        name=team.name,
        members=[AgentRef(id=user.id, email=user.email, name=user.name) for user in members],
    )
