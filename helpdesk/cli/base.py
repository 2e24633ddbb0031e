"""What every command shares: settings read once, the database, and one-line errors."""

from __future__ import annotations

import sys
from functools import cached_property
from typing import Any, NoReturn

import click
from click.exceptions import NoArgsIsHelpError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from helpdesk import migrate
from helpdesk.db import SessionFactory, make_engine, make_session_factory
from helpdesk.errors import HelpdeskError
from helpdesk.settings import Settings

NOT_MIGRATED = "database is not migrated: run `helpdesk db upgrade`"


class CommandFailed(click.ClickException):
    """An expected failure: reported as one line on stderr, exit code 1."""


class Runtime:
    """Settings, engine and sessions of one command, each made on first use."""

    @cached_property
    def settings(self) -> Settings:
        return Settings.from_env()

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.database_url)

    def sessions(self) -> SessionFactory:
        """Return a session factory on a database migrated to the code's revision.

        Raises:
            CommandFailed: the database is not (fully) migrated.
        """
        if not migrate.is_up_to_date(self.engine):
            raise CommandFailed(NOT_MIGRATED)
        return make_session_factory(self.engine)

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()


pass_runtime = click.make_pass_decorator(Runtime, ensure=True)


class HelpdeskGroup(click.Group):
    """A click group whose failures are one line on stderr, never a traceback."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("prog_name", "helpdesk")
        if not kwargs.get("standalone_mode", True):
            return super().main(*args, **kwargs)
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except NoArgsIsHelpError as exc:
            # `helpdesk` alone: the help is the answer, not an error line.
            exc.show()
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            _fail(f"{exc.format_message()} (see `{_command_path(exc)} --help`)", exc.exit_code)
        except click.ClickException as exc:
            _fail(exc.format_message(), exc.exit_code)
        except click.Abort:
            _fail("interrupted", 1)
        except HelpdeskError as exc:
            _fail(str(exc), 1)
        except OperationalError as exc:
            _fail(describe_database_error(exc), 1)
        sys.exit(result if isinstance(result, int) else 0)


def describe_database_error(exc: OperationalError) -> str:
    """Say in one line that the database could not be used, and why."""
    lines = str(exc.orig or exc).strip().splitlines()
    detail = lines[0] if lines else type(exc.orig).__name__
    return f"cannot use the database (HELPDESK_DATABASE_URL): {detail}"


def _command_path(exc: click.UsageError) -> str:
    return exc.ctx.command_path if exc.ctx is not None else "helpdesk"


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"helpdesk: error: {message}", err=True)
    sys.exit(code)
