"""Changing one category as an admin: its name, and whether it is offered (see also catalog)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from helpdesk.models import Category
from helpdesk.policy import Action, can, require
from helpdesk.principal import Principal
from helpdesk.services.catalog import rename_category
from helpdesk.services.scope import get_scoped
from helpdesk.unchanged import UNCHANGED, Unchanged


def update_category(
    session: Session,
    actor: Principal,
    category_id: int,
    *,
    name: str | Unchanged = UNCHANGED,
    active: bool | Unchanged = UNCHANGED,
    now: datetime,
) -> Category:
    """Rename a category, or stop (`active=False`) or resume offering it.

    Tickets filed under an inactive category keep it; only new choices change.

    Raises:
        NotFound: no such category in the actor's tenant.
        PermissionDenied: the actor may not manage the tenant.
        ValidationError: an empty or overlong name.
    """
    category = get_scoped(session, Category, category_id, actor, "category")
    require(can(actor, Action.MANAGE_TENANT, category.tenant_id), "only an admin edits categories")
    if name is not UNCHANGED:
        rename_category(session, actor, category.id, name, now=now)
    if active is not UNCHANGED:
        category.active = active
    session.flush()
    return category
