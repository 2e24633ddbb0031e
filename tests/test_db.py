"""The database settings the gateway's durability promise rests on."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, StatementError

from helpdesk.db import make_engine, make_session_factory, ping, session_scope
from helpdesk.models import Tenant


def test_sqlite_runs_in_wal_mode_with_full_sync_and_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/x.db")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        # 2 = FULL: a commit returns only once the WAL is on disk.
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


@pytest.mark.postgres
def test_postgresql_commits_synchronously_in_utc(request: pytest.FixtureRequest) -> None:
    engine: Engine = request.getfixturevalue("shared_postgresql_engine")
    with engine.connect() as connection:
        assert connection.execute(text("SHOW synchronous_commit")).scalar() == "on"
        assert connection.execute(text("SHOW timezone")).scalar() == "UTC"
        assert connection.dialect.driver == "psycopg"


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with pytest.raises(IntegrityError), session_scope(factory) as session:
        session.execute(
            text(
                "INSERT INTO memberships (tenant_id, user_id, role, active, created_at) "
                "VALUES (424242, 434343, 'agent', true, CURRENT_TIMESTAMP)"
            )
        )


def test_timestamps_come_back_aware_in_utc_and_naive_ones_are_refused(engine: Engine) -> None:
    factory = make_session_factory(engine)
    moment = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    with session_scope(factory) as session:
        session.add(Tenant(slug="t", name="T", created_at=moment))
    with session_scope(factory) as session:
        tenant = session.query(Tenant).one()
        assert tenant.created_at == moment
        assert tenant.created_at.tzinfo is not None
        assert tenant.created_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    with pytest.raises(StatementError, match="naive datetime"), session_scope(factory) as session:
        session.add(Tenant(slug="u", name="U", created_at=datetime(2026, 1, 1)))


def test_ping_answers_on_a_live_database(engine: Engine) -> None:
    ping(engine)
