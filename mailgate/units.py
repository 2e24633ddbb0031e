"""One transaction of the gateway; a database that cannot be reached is told apart from bad mail."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from helpdesk.db import SessionFactory, lock_for_ingest


class DatabaseUnavailable(Exception):
    """The database could not be reached: keep the bytes and try again later."""


class Unit:
    """One transaction, holding the ingest lock; an unreachable database is DatabaseUnavailable."""

    def __init__(self, sessions: SessionFactory) -> None:
        self.session = sessions()

    def __enter__(self) -> Session:
        try:
            lock_for_ingest(self.session)
        except DBAPIError as failure:
            self.session.close()
            if is_unreachable(failure):
                raise DatabaseUnavailable(str(failure.orig)) from failure
            raise
        return self.session

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        try:
            if kind is None:
                self.session.commit()
            else:
                self.session.rollback()
        except DBAPIError as failure:
            if is_unreachable(failure):
                raise DatabaseUnavailable(str(failure.orig)) from failure
            raise
        finally:
            self.session.close()
        if isinstance(exc, DBAPIError) and is_unreachable(exc):
            raise DatabaseUnavailable(str(exc.orig)) from exc


def is_unreachable(exc: BaseException) -> bool:
    """Tell whether an error is of the connection (refused, server gone), not of a message."""
    if not isinstance(exc, DBAPIError):
        return False
    # A locked SQLite database is busy, not gone: the message is at fault.
    of_connection = isinstance(exc, InterfaceError | OperationalError)
    return exc.connection_invalidated or (of_connection and "locked" not in str(exc.orig))
