"""docs/api.md shows only endpoints that exist."""

from __future__ import annotations

import re
from pathlib import Path

from tests.api.conftest import ApiWorld

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
# "curl -X POST $H/api/v1/tickets/42/messages" or "curl -G $H/api/v1/tickets"
CURL = re.compile(r"curl (?:-X (?P<method>[A-Z]+) |-G )\$H(?P<path>/api/v1/[^\s]+)")


def _template(path: str) -> str:
    return re.sub(r"/\d+(?=/|$)", "/{id}", path)


def test_every_curl_example_names_a_documented_operation(world: ApiWorld) -> None:
    spec = world.client().get("/api/v1/openapi.json").get_json()
    operations = {
        (method.upper(), re.sub(r"\{[a-z_]+\}", "{id}", path))
        for path, item in spec["paths"].items()
        for method in item
    }
    examples = [
        (match["method"] or "GET", _template(match["path"]))
        for match in CURL.finditer(DOC.read_text())
    ]
    assert len(examples) >= 7
    missing = [example for example in examples if example not in operations]
    assert missing == []
