"""Admin endpoints for the tenant's vocabularies: categories and custom field definitions."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from helpdesk.enums import CustomFieldType
from helpdesk.models import Category, CustomFieldDefinition
from helpdesk.services.catalog import (
    create_category,
    create_custom_field,
    list_categories,
    list_custom_fields,
    reorder_categories,
    update_custom_field,
)
from helpdesk.services.categories import update_category
from web.api.blueprint import api
from web.api.core import Audience, Context
from web.api.endpoints.admin_common import changes, optional, page_of, require_admin
from web.api.schemas import Page, PageQuery, Strict

TAG = "admin: catalog"
KEY = r"^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$"


class CategoryOut(BaseModel):
    id: int
    key: str = Field(description="Stable; what the API and filters use")
    name: str = Field(description="What people see")
    position: int
    active: bool = Field(description="Whether new tickets may be filed under it")


class CategoryPage(Page[CategoryOut]):
    pass


class CategoryIn(Strict):
    key: str = Field(pattern=KEY, description="1-63 lower-case letters, digits, - and _")
    name: str = Field(min_length=1, max_length=120)


class CategoryPatch(Strict):
    name: str = optional("What people see; the key stays", min_length=1, max_length=120)
    active: bool = optional("false: offer it no more (tickets keep it); true: offer it again")


class CategoryOrder(Strict):
    keys: list[str] = Field(
        max_length=500, description="These categories first, in this order; the rest follow"
    )


class CustomFieldOut(BaseModel):
    id: int
    key: str
    label: str
    type: CustomFieldType
    options: dict[str, Any] = Field(description='For select fields: {"choices": [...]}')
    required: bool = Field(description="Whether staff must fill it in when opening a ticket")
    visible_to_clients: bool = Field(description="Whether clients see and fill it in the portal")
    position: int
    active: bool


class CustomFieldPage(Page[CustomFieldOut]):
    pass


class CustomFieldIn(Strict):
    key: str = Field(pattern=KEY, description="1-63 lower-case letters, digits, - and _")
    label: str = Field(min_length=1, max_length=120)
    type: CustomFieldType
    options: dict[str, Any] | None = Field(
        default=None, description='Only for select fields: {"choices": ["a", "b"]}'
    )
    required: bool = False
    visible_to_clients: bool = False


class CustomFieldPatch(Strict):
    label: str = optional("What people see", min_length=1, max_length=120)
    options: dict[str, Any] = optional('For select fields: {"choices": [...]}')
    required: bool = optional("Whether staff must fill it in")
    visible_to_clients: bool = optional("Whether clients see and fill it in the portal")
    active: bool = optional("false hides it from forms; values on tickets stay")


@api.endpoint(
    "GET", "/admin/categories", audience=Audience.STAFF, summary="List categories", tag=TAG,
    query=PageQuery, response=CategoryPage,
)  # fmt: skip
def list_admin_categories(ctx: Context, query: PageQuery) -> CategoryPage:
    """Every category of the tenant, inactive ones too, in display order."""
    require_admin(ctx)
    rows = list_categories(ctx.session, ctx.staff, ctx.tenant_id, include_inactive=True)
    page, cursor = page_of(ctx, "categories", rows, query)
    return CategoryPage(items=[present_category(c) for c in page], next_cursor=cursor)


@api.endpoint(
    "POST", "/admin/categories", audience=Audience.STAFF, summary="Add a category", tag=TAG,
    body=CategoryIn, response=CategoryOut, status=201,
)  # fmt: skip
def create_admin_category(ctx: Context, body: CategoryIn) -> CategoryOut:
    """A new category at the end of the list; 409 if the key is taken."""
    category = create_category(
        ctx.session, ctx.staff, ctx.tenant_id, key=body.key, name=body.name, now=ctx.now
    )
    return present_category(category)


@api.endpoint(
    "PATCH", "/admin/categories/<int:category_id>", audience=Audience.STAFF,
    summary="Change a category", tag=TAG, body=CategoryPatch, response=CategoryOut,
)  # fmt: skip
def update_admin_category(ctx: Context, category_id: int, body: CategoryPatch) -> CategoryOut:
    """Rename it, or stop or resume offering it."""
    category = update_category(ctx.session, ctx.staff, category_id, **changes(body), now=ctx.now)
    return present_category(category)


@api.endpoint(
    "PUT", "/admin/categories/order", audience=Audience.STAFF, summary="Reorder categories",
    tag=TAG, body=CategoryOrder, response=CategoryPage,
)  # fmt: skip
def reorder_admin_categories(ctx: Context, body: CategoryOrder) -> CategoryPage:
    """Put the named categories first, in this order; answers the whole list in its new order."""
    rows = reorder_categories(ctx.session, ctx.staff, ctx.tenant_id, body.keys, now=ctx.now)
    return CategoryPage(items=[present_category(c) for c in rows], next_cursor=None)


@api.endpoint(
    "GET", "/admin/custom-fields", audience=Audience.STAFF, summary="List custom fields",
    tag=TAG, query=PageQuery, response=CustomFieldPage,
)  # fmt: skip
def list_admin_custom_fields(ctx: Context, query: PageQuery) -> CustomFieldPage:
    """Every custom field definition, inactive ones too, in display order."""
    require_admin(ctx)
    rows = list_custom_fields(ctx.session, ctx.staff, ctx.tenant_id, include_inactive=True)
    page, cursor = page_of(ctx, "custom-fields", rows, query)
    return CustomFieldPage(items=[present_custom_field(d) for d in page], next_cursor=cursor)


@api.endpoint(
    "POST", "/admin/custom-fields", audience=Audience.STAFF, summary="Define a custom field",
    tag=TAG, body=CustomFieldIn, response=CustomFieldOut, status=201,
)  # fmt: skip
def create_admin_custom_field(ctx: Context, body: CustomFieldIn) -> CustomFieldOut:
    """A new ticket field; a select field needs options {"choices": [...]}. 409 if the key
    is taken."""
    definition = create_custom_field(
        ctx.session, ctx.staff, ctx.tenant_id, **body.model_dump(), now=ctx.now
    )
    return present_custom_field(definition)


@api.endpoint(
    "PATCH", "/admin/custom-fields/<int:field_id>", audience=Audience.STAFF,
    summary="Change a custom field", tag=TAG, body=CustomFieldPatch, response=CustomFieldOut,
)  # fmt: skip
def update_admin_custom_field(
    ctx: Context, field_id: int, body: CustomFieldPatch
) -> CustomFieldOut:
    """Change the label, choices, or who sees it; the key and type stay, as values depend on
    them."""
    definition = update_custom_field(ctx.session, ctx.staff, field_id, **changes(body), now=ctx.now)
    return present_custom_field(definition)


def present_category(category: Category) -> CategoryOut:
    return CategoryOut(
        id=category.id, key=category.key, name=category.name,
        position=category.position, active=category.active,
    )  # fmt: skip


def present_custom_field(definition: CustomFieldDefinition) -> CustomFieldOut:
    return CustomFieldOut(
        id=definition.id, key=definition.key, label=definition.label, type=definition.type,
        options=dict(definition.options), required=definition.required,
        visible_to_clients=definition.visible_to_clients, position=definition.position,
        active=definition.active,
    )  # fmt: skip
