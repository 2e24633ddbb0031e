"""Shared by the admin, platform and portal endpoints: the admin gate, PATCH fields, short lists."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, Field

from helpdesk.policy import Action, can, require
from web.api.core import Context
from web.api.pagination import Cursors
from web.api.schemas import PageQuery

T = TypeVar("T")


def require_admin(ctx: Context) -> None:
    """Let only the tenant's admins through.

    Some services list their rows to any staff member (an agent needs to pick
    a team); the admin area is for admins all the same.

    Raises:
        PermissionDenied: the caller is no admin of their tenant.
    """
    require(can(ctx.staff, Action.MANAGE_TENANT, ctx.tenant_id), "only an admin may do this")


def optional(description: str, **constraints: Any) -> Any:
    """Declare a PATCH field that may be left out but, when given, may not be null."""
    return Field(
        default=None,
        description=description,
        json_schema_extra=_without_default,
        **constraints,
    )


def _without_default(schema: dict[str, Any]) -> None:
    # The default only stands for "left out": the document shows no null.
    schema.pop("default", None)


def changes(body: BaseModel) -> dict[str, Any]:
    """Return the fields the caller sent, as the services' keyword arguments."""
    return {name: getattr(body, name) for name in body.model_fields_set}


def page_of(
    ctx: Context, kind: str, rows: Sequence[T], query: PageQuery
) -> tuple[list[T], str | None]:
    """Cut one page out of a short, fully loaded list (a tenant's mailboxes, teams ...).

    These lists hold tens of rows, so their cursor is a signed position;
    the ticket lists, which grow without bound, use keyset cursors instead.
    """
    cursors = Cursors(ctx.settings.secret_key, f"admin:{kind}")
    start = int(cursors.decode(query.cursor)[0]) if query.cursor else 0
    end = start + query.limit
    return list(rows[start:end]), cursors.encode([end]) if end < len(rows) else None
