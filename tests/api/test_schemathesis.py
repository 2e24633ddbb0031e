"""Property-based run of the whole API against its own OpenAPI document (schemathesis).

Every operation gets generated requests, valid and invalid; the responses must
never be a 5xx and must match the document: status codes, content types,
headers and body schemas. Staff operations run with an admin's token, portal
operations with a client's.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck
from schemathesis import checks

from helpdesk.settings import Settings
from tests.api.conftest import ApiWorld

schema = schemathesis.pytest.from_fixture("api_schema")

# What the document promises about every answer. Left out on purpose:
# "positive data acceptance" (a request valid by the schema may still be refused:
# a ticket number that does not exist is 404, a signed cursor cannot be guessed)
# and the stateful checks, which the contract tests cover with real data.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture
def backend() -> str:
    # One backend is enough to hold the document to its word; the contract
    # tests run every endpoint on both.
    return "sqlite"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Hundreds of generated requests a minute are the point here, not abuse.
    return dataclasses.replace(settings, api_rate_limit="1000000 per minute")


@pytest.fixture
def api_schema(world: ApiWorld) -> Any:
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", world.app)


@schema.parametrize()
@hypothesis.settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_as_its_document_says(case: Any, world: ApiWorld) -> None:
    role = "client" if case.path.startswith("/api/v1/portal") else "admin"
    headers = {"Authorization": f"Bearer {world.own.tokens[role]}"}
    case.call_and_validate(headers=headers, checks=CHECKS)
