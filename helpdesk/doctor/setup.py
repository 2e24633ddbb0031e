"""Checks of the installation itself: settings, the secret key, the database and its schema."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from helpdesk import migrate
from helpdesk.db import ping
from helpdesk.doctor.findings import Finding, problem, warning
from helpdesk.errors import ConfigError, one_line
from helpdesk.settings import Settings, read_secret_key

_VARIABLE = re.compile(r"HELPDESK_[A-Z0-9_]+")
NEW_KEY = "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"


def settings_error(error: ConfigError) -> Finding:
    """Report settings that do not load; nothing else can be checked without them."""
    named = _VARIABLE.search(str(error))
    variable = named.group(0) if named else "the HELPDESK_* variable named"
    return problem(
        f"the settings do not load: {error}",
        "every command and role reads the settings at start and refuses to run without them",
        f"correct {variable} (docs/configuration.md says what each variable takes)",
    )


def check_secret_key(settings: Settings) -> list[Finding]:
    """Find a secret key that no process keeps, or two keys that processes may disagree on.

    `settings` are read with `create_secret_key=False`: a key nobody keeps is made up.
    """
    path = settings.var_dir / "secret_key"
    if settings.secret_key_made_up:
        return [
            problem(
                f"no secret key: HELPDESK_SECRET_KEY is not set and {path} does not exist",
                "the next process makes up a new key; whatever the old one encrypted or "
                "signed stops working (IMAP passwords, intake secrets, sign-ins, reply "
                "tokens in mail already sent)",
                f"restore {path} from a backup, or set HELPDESK_SECRET_KEY to the old key; "
                f"on a new installation set HELPDESK_SECRET_KEY=$({NEW_KEY}) for every process",
            )
        ]
    kept = _kept_key(path)
    if kept is not None and kept != settings.secret_key:
        return [
            warning(
                f"HELPDESK_SECRET_KEY is set and differs from the key in {path}",
                "a process started without HELPDESK_SECRET_KEY uses the file's key, and cannot "
                "read what the others encrypted nor verify what they signed",
                "keep one key and give it to every helpdesk process (services, cron jobs, "
                "your shell): the file's if data was saved under it (then unset "
                "HELPDESK_SECRET_KEY everywhere), else set HELPDESK_SECRET_KEY everywhere "
                f"and delete {path}",
            )
        ]
    return []


def check_sqlite_file(settings: Settings) -> list[Finding]:
    """Find an embedded database file that does not exist (connecting would create it empty)."""
    path = _sqlite_path(settings.database_url)
    if path is None or path.exists():
        return []
    return [
        problem(
            f"there is no database at {path}",
            "every role refuses to start and no recipient is accepted until the database exists",
            "helpdesk db upgrade",
        )
    ]


def check_connection(engine: Engine) -> list[Finding]:
    """Find a database that does not answer."""
    try:
        ping(engine)
    except SQLAlchemyError as exc:
        where = engine.url.render_as_string(hide_password=True)
        return [
            problem(
                f"the database does not answer ({where}): {one_line(exc)}",
                "the doors answer 451 to every recipient and mail waits at the senders; "
                "nothing is processed, nobody can sign in",
                _reach_fix(engine),
            )
        ]
    return []


def check_migrations(engine: Engine) -> list[Finding]:
    """Find a database whose schema is not the one the code expects."""
    current, head = migrate.current_revision(engine), migrate.head_revision(engine)
    if current == head:
        return []
    found = (
        "the database is empty: no migration was applied"
        if current is None
        else f"the database is at revision {current}, the code expects {head}"
    )
    return [
        problem(
            found,
            "every command and role refuses to start until the schema matches the code",
            "helpdesk db upgrade (back the database up first)",
        )
    ]


def _reach_fix(engine: Engine) -> str:
    url = engine.url
    if url.get_backend_name() == "postgresql":
        probe = f"pg_isready -h {url.host or 'localhost'} -p {url.port or 5432}"
        return f"start PostgreSQL or correct HELPDESK_DATABASE_URL (`{probe}` says if it answers)"
    return f"make {url.database} a SQLite file the helpdesk may read and write"


def _sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _kept_key(path: Path) -> str | None:
    try:
        return read_secret_key(path)
    except ConfigError:
        # An empty or unreadable file holds no key to disagree with; a process
        # started without HELPDESK_SECRET_KEY says what is wrong with it.
        return None
