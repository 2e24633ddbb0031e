"""A tenant's vocabularies: ticket categories and custom field definitions."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpdesk.enums import CustomFieldType
from helpdesk.errors import Conflict, ValidationError
from helpdesk.models import Category, CustomFieldDefinition
from helpdesk.policy import Action, can, require
from helpdesk.principal import Client, Principal
from helpdesk.services.canned_responses import (
    create_canned_response,
    delete_canned_response,
    list_canned_responses,
    render_canned_response,
    update_canned_response,
)
from helpdesk.services.scope import get_scoped, get_tenant
from helpdesk.unchanged import UNCHANGED, Unchanged

# Canned responses live in their own module; the catalog answers for them too.
__all__ = [
    "create_canned_response",
    "create_category",
    "create_custom_field",
    "deactivate_category",
    "deactivate_custom_field",
    "delete_canned_response",
    "list_canned_responses",
    "list_categories",
    "list_custom_fields",
    "rename_category",
    "render_canned_response",
    "reorder_categories",
    "update_canned_response",
    "update_custom_field",
]

_KEY = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$")
_Row = TypeVar("_Row", Category, CustomFieldDefinition)

# Categories


def create_category(
    session: Session, actor: Principal, tenant_id: int, *, key: str, name: str, now: datetime
) -> Category:
    """Add a category at the end of the tenant's list.

    Raises:
        PermissionDenied: the actor may not manage this tenant.
        NotFound: no such tenant.
        ValidationError: the key is no slug, or the name is empty.
        Conflict: the tenant has a category with that key.
    """
    require(can(actor, Action.MANAGE_TENANT, tenant_id), "only an admin edits categories")
    get_tenant(session, tenant_id)
    key = _valid_key(key)
    query = select(Category.id).where(Category.tenant_id == tenant_id)
    if session.scalar(query.where(Category.key == key)) is not None:
        raise Conflict(f"a category {key!r} exists")
    position = session.scalar(
        select(func.coalesce(func.max(Category.position) + 1, 0)).where(
            Category.tenant_id == tenant_id
        )
    )
    category = Category(
        tenant_id=tenant_id, key=key, name=_text("name", name, 120), position=position
    )
    session.add(category)
    session.flush()
    return category


def rename_category(
    session: Session, actor: Principal, category_id: int, name: str, *, now: datetime
) -> Category:
    """Change what people see; the key, used by the API and filters, stays.

    Raises:
        NotFound: no such category in the actor's tenant.
        PermissionDenied: the actor may not manage the tenant.
        ValidationError: the name is empty.
    """
    category = _admin_get(session, actor, Category, category_id, "category")
    category.name = _text("name", name, 120)
    session.flush()
    return category


def deactivate_category(
    session: Session, actor: Principal, category_id: int, *, now: datetime
) -> Category:
    """Offer the category no more; tickets filed under it keep it.

    Raises:
        NotFound: no such category in the actor's tenant.
        PermissionDenied: the actor may not manage the tenant.
    """
    category = _admin_get(session, actor, Category, category_id, "category")
    category.active = False
    session.flush()
    return category


def reorder_categories(
    session: Session, actor: Principal, tenant_id: int, keys: Sequence[str], *, now: datetime
) -> list[Category]:
    """Put the named categories first, in this order; the rest follow as they were.

    Raises:
        PermissionDenied: the actor may not manage this tenant.
        ValidationError: an unknown or repeated key.
    """
    require(can(actor, Action.MANAGE_TENANT, tenant_id), "only an admin edits categories")
    categories = list_categories(session, actor, tenant_id, include_inactive=True)
    by_key = {category.key: category for category in categories}
    if len(set(keys)) != len(keys) or not set(keys) <= by_key.keys():
        raise ValidationError("keys", "name each of the tenant's categories at most once")
    ordered = [by_key[key] for key in keys] + [c for c in categories if c.key not in keys]
    for position, category in enumerate(ordered):
        category.position = position
    session.flush()
    return ordered


def list_categories(
    session: Session, actor: Principal, tenant_id: int, *, include_inactive: bool = False
) -> list[Category]:
    """Return the tenant's categories in display order.

    Raises:
        PermissionDenied: the actor may not see the tenant's tickets.
    """
    require(can(actor, Action.VIEW_TICKETS, tenant_id), "you may not see categories")
    query = select(Category).where(Category.tenant_id == tenant_id)
    if not include_inactive:
        query = query.where(Category.active.is_(True))
    return list(session.scalars(query.order_by(Category.position, Category.id)))


# Custom field definitions


def create_custom_field(
    session: Session,
    actor: Principal,
    tenant_id: int,
    *,
    key: str,
    label: str,
    type: CustomFieldType,
    options: Mapping[str, Any] | None = None,
    required: bool = False,
    visible_to_clients: bool = False,
    now: datetime,
) -> CustomFieldDefinition:
    """Define a ticket field; a `select` needs options={"choices": [...]}.

    Raises:
        PermissionDenied: the actor may not manage this tenant.
        NotFound: no such tenant.
        ValidationError: bad key, empty label, or options that do not fit the type.
        Conflict: the tenant has a field with that key.
    """
    require(can(actor, Action.MANAGE_TENANT, tenant_id), "only an admin defines fields")
    get_tenant(session, tenant_id)
    key, field_type = _valid_key(key), CustomFieldType(type)
    query = select(CustomFieldDefinition.id).where(CustomFieldDefinition.tenant_id == tenant_id)
    if session.scalar(query.where(CustomFieldDefinition.key == key)) is not None:
        raise Conflict(f"a custom field {key!r} exists")
    position = session.scalar(
        select(func.coalesce(func.max(CustomFieldDefinition.position) + 1, 0)).where(
            CustomFieldDefinition.tenant_id == tenant_id
        )
    )
    definition = CustomFieldDefinition(
        tenant_id=tenant_id,
        key=key,
        label=_text("label", label, 120),
        type=field_type,
        options=_valid_options(field_type, options),
        required=required,
        visible_to_clients=visible_to_clients,
        position=position,
    )
    session.add(definition)
    session.flush()
    return definition


def update_custom_field(
    session: Session,
    actor: Principal,
    field_id: int,
    *,
    label: str | Unchanged = UNCHANGED,
    options: Mapping[str, Any] | Unchanged = UNCHANGED,
    required: bool | Unchanged = UNCHANGED,
    visible_to_clients: bool | Unchanged = UNCHANGED,
    active: bool | Unchanged = UNCHANGED,
    now: datetime,
) -> CustomFieldDefinition:
    """Change a field definition; its key and type stay, as ticket values depend on them.

    Raises:
        NotFound: no such field in the actor's tenant.
        PermissionDenied: the actor may not manage the tenant.
        ValidationError: empty label, or options that do not fit the type.
    """
    definition = _admin_get(session, actor, CustomFieldDefinition, field_id, "custom field")
    if label is not UNCHANGED:
        definition.label = _text("label", label, 120)
    if options is not UNCHANGED:
        definition.options = _valid_options(definition.type, options)
    if required is not UNCHANGED:
        definition.required = required
    if visible_to_clients is not UNCHANGED:
        definition.visible_to_clients = visible_to_clients
    if active is not UNCHANGED:
        definition.active = active
    session.flush()
    return definition


def deactivate_custom_field(
    session: Session, actor: Principal, field_id: int, *, now: datetime
) -> CustomFieldDefinition:
    """Hide a field from forms; values already on tickets stay.

    Raises:
        NotFound: no such field in the actor's tenant.
        PermissionDenied: the actor may not manage the tenant.
    """
    return update_custom_field(session, actor, field_id, active=False, now=now)


def list_custom_fields(
    session: Session, actor: Principal, tenant_id: int, *, include_inactive: bool = False
) -> list[CustomFieldDefinition]:
    """Return the tenant's field definitions in display order; clients see theirs only.

    Raises:
        PermissionDenied: the actor may not see the tenant's tickets.
    """
    require(can(actor, Action.VIEW_TICKETS, tenant_id), "you may not see custom fields")
    model = CustomFieldDefinition
    query = select(model).where(model.tenant_id == tenant_id)
    if not include_inactive:
        query = query.where(model.active.is_(True))
    if isinstance(actor, Client):
        query = query.where(model.visible_to_clients.is_(True))
    return list(session.scalars(query.order_by(model.position, model.id)))


def _admin_get(
    session: Session, actor: Principal, model: type[_Row], object_id: int, noun: str
) -> _Row:
    row = get_scoped(session, model, object_id, actor, noun)
    require(can(actor, Action.MANAGE_TENANT, row.tenant_id), "only an admin may")
    return row


def _valid_key(key: str) -> str:
    key = key.strip().lower()
    if not _KEY.match(key):
        raise ValidationError("key", "use 1-63 lower-case letters, digits, - and _")
    return key


def _text(field: str, value: str, limit: int) -> str:
    value = value.strip()
    if not value or len(value) > limit:
        raise ValidationError(field, f"use 1 to {limit} characters")
    return value


def _valid_options(
    field_type: CustomFieldType, options: Mapping[str, Any] | None
) -> dict[str, Any]:
    if field_type is not CustomFieldType.SELECT:
        if options:
            raise ValidationError("options", f"a {field_type} field takes no options")
        return {}
    choices = (options or {}).get("choices")
    if set(options or {}) != {"choices"} or not isinstance(choices, list) or not choices:
        raise ValidationError("options", 'a select field needs {"choices": [...]}')
    if not all(isinstance(choice, str) and choice.strip() for choice in choices):
        raise ValidationError("options", "each choice must be non-empty text")
    if len({choice.strip() for choice in choices}) != len(choices):
        raise ValidationError("options", "each choice must be unique")
    return {"choices": [choice.strip() for choice in choices]}
