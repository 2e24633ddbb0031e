"""Admin endpoints for the canned responses shared with the whole tenant."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from helpdesk.errors import NotFound
from helpdesk.models import CannedResponse
from helpdesk.services.canned_responses import (
    create_canned_response,
    delete_canned_response,
    list_canned_responses,
    update_canned_response,
)
from helpdesk.services.scope import get_scoped
from web.api.blueprint import api
from web.api.core import Audience, Context
from web.api.endpoints.admin_common import changes, optional, page_of, require_admin
from web.api.schemas import Page, PageQuery, Strict

TAG = "admin: canned responses"
PLACEHOLDERS = "{{ticket_number}}, {{requester_name}} and {{agent_name}} are filled in"


class SharedResponseOut(BaseModel):
    id: int
    title: str
    body: str = Field(description=PLACEHOLDERS)
    created_at: datetime
    updated_at: datetime


class SharedResponsePage(Page[SharedResponseOut]):
    pass


class SharedResponseIn(Strict):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=20000, description=PLACEHOLDERS)


class SharedResponsePatch(Strict):
    title: str = optional("A new title", min_length=1, max_length=200)
    body: str = optional(PLACEHOLDERS, min_length=1, max_length=20000)


@api.endpoint(
    "GET", "/admin/canned-responses", audience=Audience.STAFF,
    summary="List shared canned responses", tag=TAG, query=PageQuery,
    response=SharedResponsePage,
)  # fmt: skip
def list_shared_responses(ctx: Context, query: PageQuery) -> SharedResponsePage:
    """The responses every agent of the tenant may use, by title (agents' own are theirs)."""
    require_admin(ctx)
    rows = list_canned_responses(ctx.session, ctx.staff, ctx.tenant_id)
    shared = [row for row in rows if row.owner_user_id is None]
    page, cursor = page_of(ctx, "canned-responses", shared, query)
    return SharedResponsePage(items=[present_response(r) for r in page], next_cursor=cursor)


@api.endpoint(
    "POST", "/admin/canned-responses", audience=Audience.STAFF,
    summary="Share a canned response", tag=TAG, body=SharedResponseIn,
    response=SharedResponseOut, status=201,
)  # fmt: skip
def create_shared_response(ctx: Context, body: SharedResponseIn) -> SharedResponseOut:
    """A response for the whole tenant; 409 if a shared one has that title."""
    response = create_canned_response(
        ctx.session, ctx.staff, ctx.tenant_id, title=body.title, body=body.body, shared=True,
        now=ctx.now,
    )  # fmt: skip
    return present_response(response)


@api.endpoint(
    "PATCH", "/admin/canned-responses/<int:response_id>", audience=Audience.STAFF,
    summary="Change a shared canned response", tag=TAG, body=SharedResponsePatch,
    response=SharedResponseOut,
)  # fmt: skip
def update_shared_response(
    ctx: Context, response_id: int, body: SharedResponsePatch
) -> SharedResponseOut:
    """Change the title or body; an agent's own responses are not reachable here."""
    require_shared(ctx, response_id)
    response = update_canned_response(
        ctx.session, ctx.staff, response_id, **changes(body), now=ctx.now
    )
    return present_response(response)


@api.endpoint(
    "DELETE", "/admin/canned-responses/<int:response_id>", audience=Audience.STAFF,
    summary="Delete a shared canned response", tag=TAG, status=204,
)  # fmt: skip
def delete_shared_response(ctx: Context, response_id: int) -> None:
    """Gone for every agent at once."""
    require_shared(ctx, response_id)
    delete_canned_response(ctx.session, ctx.staff, response_id, now=ctx.now)


def require_shared(ctx: Context, response_id: int) -> None:
    """Raises:
    PermissionDenied: the caller is no admin.
    NotFound: no shared response with this id in the caller's tenant.
    """
    require_admin(ctx)
    response = get_scoped(ctx.session, CannedResponse, response_id, ctx.staff, "canned response")
    # Someone's own responses, the admin's included, are kept in the console, not here.
    if response.owner_user_id is not None:
        raise NotFound("no such shared canned response")


def present_response(response: CannedResponse) -> SharedResponseOut:
    return SharedResponseOut(
        id=response.id, title=response.title, body=response.body,
        created_at=response.created_at, updated_at=response.updated_at,
    )  # fmt: skip
