"""Portal endpoints for the new-ticket form: the categories and fields a client may choose."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from helpdesk.enums import CustomFieldType
from helpdesk.services.catalog import list_categories, list_custom_fields
from web.api.blueprint import api
from web.api.core import Audience, Context
from web.api.endpoints.admin_common import page_of
from web.api.schemas import Page, PageQuery

TAG = "portal: forms"


class PortalCategory(BaseModel):
    key: str = Field(description="Send as `category` when opening a ticket")
    name: str


class PortalCategoryPage(Page[PortalCategory]):
    pass


class PortalField(BaseModel):
    key: str = Field(description="Send under this key in `custom_fields`")
    label: str
    type: CustomFieldType
    options: dict[str, Any] = Field(description='For select fields: {"choices": [...]}')


class PortalFieldPage(Page[PortalField]):
    pass


@api.endpoint(
    "GET", "/portal/categories", audience=Audience.CLIENT, summary="Categories to choose from",
    tag=TAG, query=PageQuery, response=PortalCategoryPage,
)  # fmt: skip
def list_portal_categories(ctx: Context, query: PageQuery) -> PortalCategoryPage:
    """The tenant's active categories, in display order."""
    rows = list_categories(ctx.session, ctx.client, ctx.tenant_id)
    page, cursor = page_of(ctx, "portal-categories", rows, query)
    items = [PortalCategory(key=c.key, name=c.name) for c in page]
    return PortalCategoryPage(items=items, next_cursor=cursor)


@api.endpoint(
    "GET", "/portal/custom-fields", audience=Audience.CLIENT, summary="Fields a client may fill",
    tag=TAG, query=PageQuery, response=PortalFieldPage,
)  # fmt: skip
def list_portal_custom_fields(ctx: Context, query: PageQuery) -> PortalFieldPage:
    """The active custom fields the tenant shows to clients, in display order."""
    rows = list_custom_fields(ctx.session, ctx.client, ctx.tenant_id)
    page, cursor = page_of(ctx, "portal-fields", rows, query)
    items = [
        PortalField(key=d.key, label=d.label, type=d.type, options=dict(d.options)) for d in page
    ]
    return PortalFieldPage(items=items, next_cursor=cursor)
