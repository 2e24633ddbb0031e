"""Alembic environment: runs against the engine handed in by helpdesk.migrate."""

from __future__ import annotations

from typing import Any

from alembic import context
from alembic.autogenerate.api import AutogenContext

from helpdesk.models import Base
from helpdesk.models.base import UTCDateTime
from helpdesk.search import is_search_table

config = context.config
engine = config.attributes["engine"]


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """Write our column types as plain SQLAlchemy ones, so migrations never import models."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Leave the full-text index to its hand-written migration; autogenerate cannot model it."""
    return not (type_ == "table" and name is not None and is_search_table(name))


with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite alters tables by copying them: batch mode does that for us.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
