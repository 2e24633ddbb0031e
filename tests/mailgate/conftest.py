"""Fixtures for the mail gateway's tests: real e-mails, and what the SMTP and LMTP doors need."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from helpdesk.db import SessionFactory
from helpdesk.settings import Settings
from mailgate.spool import Spool
from tests.mailgate.desk import Desk, build_desk
from tests.mailgate.smtp_helpers import door_settings, mailbox_database, self_signed_certificate

MAIL_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "mail"


def read_eml(name: str) -> bytes:
    """Return the bytes of a fixture mail; "gmail_reply_on_wrote", "cpython/msg_01.txt"."""
    path = MAIL_DIR / name
    if not path.exists() and path.suffix != ".eml":
        path = path.with_name(path.name + ".eml")
    return path.read_bytes()


@pytest.fixture
def eml() -> Callable[[str], bytes]:
    """Load a mail of tests/fixtures/mail/ by name, with or without ".eml"."""
    return read_eml


@pytest.fixture
def desk(settings: Settings, engine: Engine) -> Desk:
    """Two tenants and their mailboxes in the test's database, and an Ingest over them."""
    return build_desk(settings, engine)


@pytest.fixture
def spool(settings: Settings) -> Spool:
    """The spool of the test's settings."""
    return Spool(settings.spool_dir)


@pytest.fixture
def sessions(sqlite_template: Path, tmp_path: Path) -> Iterator[SessionFactory]:
    """A SQLite database of the test's own holding the mailbox MAILBOX, for a door to serve."""
    with mailbox_database(sqlite_template, tmp_path) as factory:
        yield factory


@pytest.fixture
def smtp_settings(tmp_path: Path) -> Settings:
    """Settings with the SMTP door on a free loopback port, for messages up to 1 MB."""
    return door_settings(tmp_path / "var", "smtp", max_message_bytes=1_000_000)


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1, and its key."""
    return self_signed_certificate(tmp_path)
