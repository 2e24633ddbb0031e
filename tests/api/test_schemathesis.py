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

from helpdesk.settings import Settings
from tests.api.conftest import ApiWorld

schema = schemathesis.pytest.from_fixture("api_schema")


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
    case.call_and_validate(headers=headers)
