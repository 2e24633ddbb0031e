"""Shared fixtures: settings, a migrated database per backend, real servers."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from helpdesk import migrate
from helpdesk.db import make_engine
from helpdesk.settings import Settings
from helpdesk.storage.local import LocalBlobStore
from tests.servers import PostgresServer, migrated_database, private_postgres, redis_server
from tests.ticket_helpers import Desk, make_desk

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
_database_names = itertools.count(1)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    with private_postgres("helpdesk-pg-") as server:
        yield server


@pytest.fixture(scope="session")
def pg_template(pg_server: PostgresServer) -> str:
    """A migrated database that each test's database is copied from."""
    migrated_database(pg_server, "helpdesk_template")
    return "helpdesk_template"


@pytest.fixture
def empty_engine(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a database of the test's backend with nothing in it, not even Alembic's."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'empty.db'}"
    else:
        server: PostgresServer = request.getfixturevalue("pg_server")
        url = server.create_database(f"empty_{next(_database_names)}")
    engine = make_engine(url)
    with engine.connect():
        pass  # SQLite makes its file on the first connection
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated database of the test's backend."""
    return fresh_database_url(backend, request, tmp_path / "helpdesk.db")


def fresh_database_url(backend: str, request: pytest.FixtureRequest, sqlite_path: Path) -> str:
    """Make a fresh, migrated database of the backend (SQLite's at `sqlite_path`); its URL."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copyfile(template, sqlite_path)
        return f"sqlite:///{sqlite_path}"
    server: PostgresServer = request.getfixturevalue("pg_server")
    template_name: str = request.getfixturevalue("pg_template")
    return server.create_database(f"test_{next(_database_names)}", template=template_name)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def shared_sqlite_engine(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    path = tmp_path_factory.mktemp("sqlite-shared") / "shared.db"
    shutil.copyfile(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def shared_postgresql_engine(pg_server: PostgresServer, pg_template: str) -> Iterator[Engine]:
    engine = make_engine(pg_server.create_database("helpdesk_shared", template=pg_template))
    yield engine
    engine.dispose()


@pytest.fixture
def session(backend: str, request: pytest.FixtureRequest) -> Iterator[Session]:
    """A session in a transaction that is rolled back after the test.

    Services flush and never commit, so one migrated database per backend serves
    every such test. A test that needs real commits (concurrency, processes)
    takes `engine` or `database_url` instead: a fresh database of its own.
    """
    engine: Engine = request.getfixturevalue(f"shared_{backend}_engine")
    with engine.connect() as connection:
        transaction = connection.begin()
        session = Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            yield session
        finally:
            session.close()
            transaction.rollback()


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    """A blob store in the test's own directory."""
    return LocalBlobStore(tmp_path / "blobs")


@pytest.fixture
def desk(session: Session) -> Desk:
    """A tenant with its staff, a client and a mailbox, on the test's backend."""
    return make_desk(session)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    var = tmp_path / "var"
    return Settings.for_var_dir(var, database_url=database_url, secret_key="test-secret-key")


_SERVICE_MARKS = ("postgres", "redis", "s3", "dovecot")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how many tests ran against each real server, so a log shows they were not skipped."""
    counts = {mark: {"passed": 0, "failed": 0, "skipped": 0} for mark in _SERVICE_MARKS}
    for outcome in ("passed", "failed", "skipped", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            if getattr(report, "when", "call") not in {"call", "setup"}:
                continue
            if outcome == "passed" and report.when != "call":
                continue
            keywords = getattr(report, "keywords", {})
            for mark in _SERVICE_MARKS:
                if mark in keywords:
                    counts[mark]["failed" if outcome == "error" else outcome] += 1
    terminalreporter.write_sep("-", "tests against real servers")
    for mark, tally in counts.items():
        ran = tally["passed"] + tally["failed"]
        terminalreporter.write_line(
            f"{mark} tests ran {ran} (passed {tally['passed']}, failed {tally['failed']}), "
            f"skipped {tally['skipped']}"
        )


@pytest.fixture
def make_app() -> Iterator[Callable[[Settings], Flask]]:
    """Build web apps for a test; their database engines are disposed after it."""
    from web import create_app
    from web.app import app_state

    apps: list[Flask] = []

    def build(settings: Settings) -> Flask:
        app = create_app(settings)
        app.config["TESTING"] = True
        apps.append(app)
        return app

    yield build
    for app in apps:
        app_state(app).engine.dispose()


@pytest.fixture
def aws_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy AWS credentials in the environment, and nothing of the machine's own AWS setup."""
    # Production takes credentials from boto3's usual chain: here, the environment.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
