"""The layers hold: the core imports no edge or adapter, edges import not each other."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EDGES = ("mailgate", "workers", "web")
# What the core never imports: web and mail servers, the broker, cloud SDKs,
# mail parsing and sanitizing libraries, and the edges themselves.
FORBIDDEN_IN_CORE = frozenset(
    {
        "flask",
        "werkzeug",
        "aiosmtpd",
        "imapclient",
        "dramatiq",
        "redis",
        "boto3",
        "botocore",
        "mailparser",
        "magic",
        "nh3",
        "waitress",
        "gunicorn",
        *EDGES,
    }
)
# helpdesk/cli/ is the composition root: it may start the edges, but only
# inside the command that needs them, so `import helpdesk.cli` stays light.
COMPOSITION_ROOT = "helpdesk/cli/"
# The S3 adapter is shared by every edge, so it lives beside the storage
# interface; nothing imports it unless an s3:// URL is configured.
# The file-type sniffer is shared by the gateway and the API (which may not
# import each other), so helpdesk/filetypes.py alone may import python-magic.
CORE_EXCEPTIONS = {
    "helpdesk/storage/s3.py": frozenset({"boto3", "botocore"}),
    "helpdesk/filetypes.py": frozenset({"magic"}),
}
# (importing edge, imported module) pairs allowed across edges, such as the
# small API through which an edge enqueues work.
EDGE_IMPORTS_ALLOWED: frozenset[tuple[str, str]] = frozenset(
    {
        # The HTTP doors (web/inbound.py) store mail as the SMTP door does: the
        # pure signature and SNS/SES parts, and the spool, live in mailgate/.
        ("web", "mailgate.signed_intake"),
        ("web", "mailgate.sns"),
        ("web", "mailgate.ses"),
        ("web", "mailgate.spool"),
        # The signed HTTP door takes as many recipients as one SMTP session may name.
        ("web", "mailgate.limits"),
    }
)
# Settings are read once, in one place, and passed down.
ENVIRONMENT_READERS = frozenset({"helpdesk/settings.py"})
ENVIRONMENT_NAMES = frozenset({"environ", "environb", "getenv", "getenvb"})


@dataclass(frozen=True)
class Import:
    path: str
    line: int
    module: str
    in_function: bool

    @property
    def top(self) -> str:
        return self.module.split(".")[0]

    def __str__(self) -> str:
        where = "inside a function" if self.in_function else "at module level"
        return f"{self.path}:{self.line} imports {self.module} ({where})"


def python_files(*packages: str) -> list[tuple[str, ast.Module]]:
    found = []
    for package in packages:
        for file in sorted((ROOT / package).rglob("*.py")):
            relative = file.relative_to(ROOT).as_posix()
            found.append((relative, ast.parse(file.read_text(), filename=relative)))
    return found


def imports_of(path: str, tree: ast.AST, in_function: bool = False) -> Iterator[Import]:
    """Yield the absolute imports in `tree`, noting whether a function holds each."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(path, node.lineno, alias.name, in_function)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield Import(path, node.lineno, node.module, in_function)
        nested = in_function or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        yield from imports_of(path, node, nested)


def core_violations(path: str, tree: ast.AST) -> list[str]:
    allowed = CORE_EXCEPTIONS.get(path, frozenset())
    problems = []
    for found in imports_of(path, tree):
        if found.top not in FORBIDDEN_IN_CORE or found.top in allowed:
            continue
        if path.startswith(COMPOSITION_ROOT) and found.in_function:
            continue
        problems.append(str(found))
    return problems


def edge_violations(path: str, tree: ast.AST) -> list[str]:
    edge = path.split("/")[0]
    return [
        str(found)
        for found in imports_of(path, tree)
        if found.top in EDGES
        and found.top != edge
        and (edge, found.module) not in EDGE_IMPORTS_ALLOWED
    ]


def environment_reads(path: str, tree: ast.AST) -> list[str]:
    """Name each place that reads os.environ or os.getenv, however os was imported."""
    os_names = {
        alias.asname or "os"
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name == "os"
    }
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            names = {alias.name for alias in node.names} & ENVIRONMENT_NAMES
            problems += [f"{path}:{node.lineno} imports os.{name}" for name in sorted(names)]
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in ENVIRONMENT_NAMES
            and isinstance(node.value, ast.Name)
            and node.value.id in os_names
        ):
            problems.append(f"{path}:{node.lineno} reads os.{node.attr}")
    return problems


def test_core_imports_no_edge_framework_or_adapter() -> None:
    problems = [p for path, tree in python_files("helpdesk") for p in core_violations(path, tree)]
    assert problems == [], "helpdesk/ must not import these:\n" + "\n".join(problems)


def test_edges_do_not_import_each_other() -> None:
    problems = [p for path, tree in python_files(*EDGES) for p in edge_violations(path, tree)]
    assert problems == [], "edges must not import each other:\n" + "\n".join(problems)


def test_only_settings_reads_the_environment() -> None:
    problems = [
        p
        for path, tree in python_files("helpdesk", *EDGES)
        if path not in ENVIRONMENT_READERS
        for p in environment_reads(path, tree)
    ]
    assert problems == [], "read settings through helpdesk.settings:\n" + "\n".join(problems)


# The checks above pass on a clean tree; these show that they would catch a breach.


MODULE_LEVEL = "(at module level)"


@pytest.mark.parametrize(
    ("path", "source", "expected"),
    [
        ("helpdesk/services/t.py", "import flask", f":1 imports flask {MODULE_LEVEL}"),
        ("helpdesk/models/x.py", "from werkzeug import y", f":1 imports werkzeug {MODULE_LEVEL}"),
        (
            "helpdesk/services/t.py",
            "def f():\n    import redis",
            ":2 imports redis (inside a function)",
        ),
        ("helpdesk/services/t.py", "from web.api import app", f":1 imports web.api {MODULE_LEVEL}"),
        ("helpdesk/storage/local.py", "import boto3", f":1 imports boto3 {MODULE_LEVEL}"),
        ("helpdesk/storage/s3.py", "import os\nimport redis", f":2 imports redis {MODULE_LEVEL}"),
        ("helpdesk/cli/serve.py", "from web import create_app", f":1 imports web {MODULE_LEVEL}"),
        (
            "helpdesk/cli/serve.py",
            "if True:\n    import aiosmtpd",
            f":2 imports aiosmtpd {MODULE_LEVEL}",
        ),
    ],
)
def test_forbidden_import_in_the_core_is_reported_with_file_and_line(
    path: str, source: str, expected: str
) -> None:
    assert core_violations(path, ast.parse(source)) == [path + expected]


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("helpdesk/storage/s3.py", "import boto3\nfrom botocore.exceptions import ClientError"),
        ("helpdesk/cli/serve.py", "def serve():\n    from web import create_app\n"),
        ("helpdesk/cli/serve.py", "class C:\n    async def run(self):\n        import aiosmtpd\n"),
        ("helpdesk/services/tickets.py", "import sqlalchemy\nimport flasky\n"),
    ],
)
def test_permitted_imports_are_not_reported(path: str, source: str) -> None:
    assert core_violations(path, ast.parse(source)) == []


def test_an_edge_importing_another_is_reported() -> None:
    source = "import web\nfrom workers.broker import broker\nfrom mailgate.parse import x\n"
    problems = edge_violations("mailgate/steps/route.py", ast.parse(source))
    assert problems == [
        "mailgate/steps/route.py:1 imports web (at module level)",
        "mailgate/steps/route.py:2 imports workers.broker (at module level)",
    ]


@pytest.mark.parametrize(
    "source",
    [
        "import os\nos.environ['X']",
        "import os\nos.getenv('X')",
        "import os as system\nsystem.environ.get('X')",
        "from os import environ",
        "from os import getenv as read",
    ],
)
def test_reading_the_environment_is_reported(source: str) -> None:
    problems = environment_reads("web/app.py", ast.parse(source))
    assert len(problems) == 1
    assert problems[0].startswith("web/app.py:")
