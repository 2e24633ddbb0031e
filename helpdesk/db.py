"""Engines and sessions: the same code on SQLite (embedded) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

SessionFactory = sessionmaker[Session]


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the settings our durability promises rely on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, **kwargs)
    # Durability: a commit returns only when the WAL is flushed to disk, whatever
    # the server's default; the gateway answers 250 only after such a commit.
    connect_args = {"options": "-c synchronous_commit=on -c timezone=UTC"}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)


def _sqlite_engine(url: str, database: str | None, **kwargs: Any) -> Engine:
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy issue BEGIN itself so that BEGIN IMMEDIATE below works.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        # Take the write lock at the start of every transaction: concurrent writers
        # then queue on busy_timeout instead of failing with "database is locked"
        # when a reader tries to upgrade mid-transaction.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def make_session_factory(engine: Engine) -> SessionFactory:
    """Create the session factory every edge uses."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: SessionFactory) -> Iterator[Session]:
    """Run one unit of work: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def ping(engine: Engine) -> None:
    """Run a trivial query; raises whatever the driver raises when the database is down."""
    with engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")


# The advisory lock every process filing inbound mail takes (the ASCII of "hdingest").
INGEST_LOCK_KEY = 0x6864696E67657374


def lock_for_ingest(session: Session) -> None:
    """Wait until no other transaction files inbound mail, for the rest of this one.

    Two drains (doors on several hosts, or two doors on one) filing mail at
    once would race: a new sender's contact created twice, a reply filed
    before its parent's transaction committed and so opening a ticket of its
    own. On PostgreSQL a transaction-scoped advisory lock makes them take
    turns, released by the commit or rollback; on SQLite, beginning the
    transaction takes the database's write lock (BEGIN IMMEDIATE).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": INGEST_LOCK_KEY})
    else:
        # Begun now, not at the first statement: the write lock is then held
        # from here on, as the advisory lock is, and a second transaction
        # waits from its start, not from wherever its first statement falls
        # (tests/mailgate/test_ingest_concurrency.py fails without this).
        session.connection()
