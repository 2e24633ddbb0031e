"""A built wheel carries its templates and migrations, and works away from the checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("helpdesk", "mailgate", "workers", "web")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    subprocess.run([*command, "-q", "-w", str(out), "."], cwd=ROOT, check=True)
    (built,) = out.glob("helpdesk-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel unpacked, as `pip install` would lay it out in site-packages."""
    target = tmp_path_factory.mktemp("site-packages")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    return target


def run_installed(installed: Path, script: str, cwd: Path) -> str:
    # Run away from the checkout, with only the unpacked wheel ahead of the
    # virtualenv's site-packages, so the checkout's files cannot stand in.
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=cwd,
        env={"PYTHONPATH": str(installed), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_wheel_carries_the_packages_templates_and_migrations(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"{package}/__init__.py" for package in PACKAGES} <= names
    assert "helpdesk/_data/migrations/env.py" in names
    assert "helpdesk/_data/migrations/script.py.mako" in names
    assert any(name.startswith("helpdesk/_data/templates/") for name in names)
    versions = {p.name for p in (ROOT / "migrations" / "versions").glob("*.py")}
    assert versions
    assert {f"helpdesk/_data/migrations/versions/{name}" for name in versions} <= names
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]


def test_installed_wheel_finds_its_resources_inside_itself(installed: Path, tmp_path: Path) -> None:
    script = (
        "import helpdesk\n"
        "from helpdesk.resources import resource_dir\n"
        "print(helpdesk.__file__)\n"
        "print(resource_dir('migrations'))\n"
        "print(resource_dir('templates'))\n"
    )
    lines = run_installed(installed, script, tmp_path).splitlines()
    assert [Path(line).is_relative_to(installed) for line in lines] == [True, True, True]


def test_installed_wheel_migrates_an_empty_database(installed: Path, tmp_path: Path) -> None:
    database = tmp_path / "fresh.db"
    script = (
        "from helpdesk import migrate\n"
        "from helpdesk.db import make_engine\n"
        f"engine = make_engine('sqlite:///{database}')\n"
        "migrate.upgrade(engine)\n"
        "print(migrate.current_revision(engine), migrate.head_revision(engine))\n"
    )
    current, head = run_installed(installed, script, tmp_path).split()
    assert current == head != "None"
    assert database.stat().st_size > 0
