"""Fixtures for the mail gateway's tests: real e-mails from tests/fixtures/mail/."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

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
