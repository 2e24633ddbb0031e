"""API tokens: an admin's view of the tenant's, and every staff member's own."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from helpdesk.errors import NotFound
from helpdesk.models import ApiToken
from helpdesk.services.scope import get_scoped
from helpdesk.services.tokens import create_api_token, list_api_tokens, revoke_api_token
from web.api.blueprint import api
from web.api.core import Audience, Context
from web.api.endpoints.admin_common import page_of, require_admin
from web.api.schemas import Page, PageQuery, Strict
from web.converters import MAX_ID

ADMIN_TAG = "admin: tokens"
OWN_TAG = "me"


class TokenOut(BaseModel):
    id: int
    user_id: int = Field(description="The staff member the token acts as")
    name: str
    prefix: str = Field(description="The first characters of the secret, to tell tokens apart")
    created_at: datetime
    last_used_at: datetime | None = Field(description="To the minute")
    revoked_at: datetime | None


class TokenPage(Page[TokenOut]):
    pass


class TokenCreated(TokenOut):
    secret: str = Field(description="The bearer token; shown this once, never stored")


class OwnTokenIn(Strict):
    name: str = Field(default="", max_length=120, description="What the token is for")


class TokenIn(OwnTokenIn):
    user_id: int = Field(ge=1, le=MAX_ID, description="The active staff member the token acts as")


@api.endpoint(
    "GET", "/admin/tokens", audience=Audience.STAFF, summary="List the tenant's API tokens",
    tag=ADMIN_TAG, query=PageQuery, response=TokenPage,
)  # fmt: skip
def list_admin_tokens(ctx: Context, query: PageQuery) -> TokenPage:
    """Every token of the tenant, revoked ones too, oldest first."""
    rows = list_api_tokens(ctx.session, ctx.staff, ctx.tenant_id)
    page, cursor = page_of(ctx, "tokens", rows, query)
    return TokenPage(items=[present_token(t) for t in page], next_cursor=cursor)


@api.endpoint(
    "POST", "/admin/tokens", audience=Audience.STAFF, summary="Issue an API token for someone",
    tag=ADMIN_TAG, body=TokenIn, response=TokenCreated, status=201,
)  # fmt: skip
def create_admin_token(ctx: Context, body: TokenIn) -> TokenCreated:
    """A token acting as that staff member; the secret is in this answer only."""
    require_admin(ctx)
    token, secret = create_api_token(
        ctx.session, ctx.staff, ctx.tenant_id, body.user_id, name=body.name, now=ctx.now
    )
    return TokenCreated(**present_token(token).model_dump(), secret=secret)


@api.endpoint(
    "DELETE", "/admin/tokens/<int:token_id>", audience=Audience.STAFF,
    summary="Revoke an API token", tag=ADMIN_TAG, status=204,
)  # fmt: skip
def revoke_admin_token(ctx: Context, token_id: int) -> None:
    """The token stops working at once; revoking it again changes nothing."""
    require_admin(ctx)
    revoke_api_token(ctx.session, ctx.staff, token_id, now=ctx.now)


@api.endpoint(
    "GET", "/me/tokens", audience=Audience.STAFF, summary="List my API tokens", tag=OWN_TAG,
    query=PageQuery, response=TokenPage,
)  # fmt: skip
def list_own_tokens(ctx: Context, query: PageQuery) -> TokenPage:
    """The caller's own tokens in this tenant, revoked ones too, oldest first."""
    rows = list_api_tokens(ctx.session, ctx.staff, ctx.tenant_id, ctx.staff.user_id)
    page, cursor = page_of(ctx, "own-tokens", rows, query)
    return TokenPage(items=[present_token(t) for t in page], next_cursor=cursor)


@api.endpoint(
    "POST", "/me/tokens", audience=Audience.STAFF, summary="Issue myself an API token",
    tag=OWN_TAG, body=OwnTokenIn, response=TokenCreated, status=201,
)  # fmt: skip
def create_own_token(ctx: Context, body: OwnTokenIn) -> TokenCreated:
    """A token acting as the caller in this tenant; the secret is in this answer only."""
    token, secret = create_api_token(
        ctx.session, ctx.staff, ctx.tenant_id, ctx.staff.user_id, name=body.name, now=ctx.now
    )
    return TokenCreated(**present_token(token).model_dump(), secret=secret)


@api.endpoint(
    "DELETE", "/me/tokens/<int:token_id>", audience=Audience.STAFF,
    summary="Revoke one of my API tokens", tag=OWN_TAG, status=204,
)  # fmt: skip
def revoke_own_token(ctx: Context, token_id: int) -> None:
    """Only the caller's own tokens; anyone else's does not exist here."""
    token = get_scoped(ctx.session, ApiToken, token_id, ctx.staff, "token")
    if token.user_id != ctx.staff.user_id:
        raise NotFound("no such token")
    revoke_api_token(ctx.session, ctx.staff, token.id, now=ctx.now)


def present_token(token: ApiToken) -> TokenOut:
    return TokenOut(
        id=token.id, user_id=token.user_id, name=token.name, prefix=token.prefix,
        created_at=token.created_at, last_used_at=token.last_used_at,
        revoked_at=token.revoked_at,
    )  # fmt: skip
