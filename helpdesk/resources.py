"""Where the templates and migrations are, in a checkout and in an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """Return the directory of `templates` or `migrations`.

    An installed wheel carries them under helpdesk/_data/; a checkout (and an
    editable install) has them at the top of the repository.

    Raises:
        FileNotFoundError: neither place has it (a broken install).
    """
    for candidate in (_PACKAGE_DIR / "_data" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"the helpdesk's {name} directory is missing from this install")
