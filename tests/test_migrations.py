"""The migrations and the models never disagree, on every backend."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from helpdesk import migrate
from helpdesk.migrate import include_name
from helpdesk.models import Base
from helpdesk.search import is_search_table


def schema_differences(engine: Engine) -> list[Any]:
    """Return what autogenerate would write to make the database match the models."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "compare_server_default": True,
                "include_name": include_name,
            },
        )
        return list(compare_metadata(context, Base.metadata))


def test_migrated_database_matches_the_models(engine: Engine) -> None:
    assert schema_differences(engine) == []


def test_empty_database_upgrades_to_head(empty_engine: Engine) -> None:
    assert migrate.current_revision(empty_engine) is None
    migrate.upgrade(empty_engine)
    assert migrate.current_revision(empty_engine) == migrate.head_revision(empty_engine)
    assert migrate.is_up_to_date(empty_engine)
    assert schema_differences(empty_engine) == []


def test_upgrade_at_head_changes_nothing(engine: Engine) -> None:
    before = sorted(inspect(engine).get_table_names())
    migrate.upgrade(engine)
    assert sorted(inspect(engine).get_table_names()) == before
    assert migrate.is_up_to_date(engine)


def test_downgrade_to_base_then_upgrade_again(engine: Engine) -> None:
    command.downgrade(migrate.alembic_config(engine), "base")
    assert migrate.current_revision(engine) is None
    assert inspect(engine).get_table_names() == ["alembic_version"]
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision(engine)
    assert schema_differences(engine) == []


def test_every_model_table_is_created_by_the_migrations(engine: Engine) -> None:
    tables = {name for name in inspect(engine).get_table_names() if not is_search_table(name)}
    assert set(Base.metadata.tables) <= tables
    assert tables - set(Base.metadata.tables) == {"alembic_version"}
