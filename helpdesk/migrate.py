"""Alembic driven from code: upgrade to head and report the current revision."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from helpdesk.resources import resource_dir
from helpdesk.search import is_search_table


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Whether autogenerate compares this object: not the full-text search tables.

    The search index (an FTS5 table and its shadow tables on SQLite, a tsvector
    table on PostgreSQL) is made by hand in migration 0003, not from a model.
    """
    return not (type_ == "table" and name is not None and is_search_table(name))


def alembic_config(engine: Engine) -> Config:
    """Build an Alembic config bound to `engine`, without an alembic.ini."""
    config = Config()
    config.set_main_option("script_location", str(resource_dir("migrations")))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to `revision` (all of them by default)."""
    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """Return the database's revision, or None for an empty database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    """Return the newest revision the code knows."""
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def is_up_to_date(engine: Engine) -> bool:
    return current_revision(engine) == head_revision(engine)
