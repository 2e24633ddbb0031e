"""The API framework: authentication, input validation, errors, limits and the OpenAPI document."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate
from pydantic import BaseModel, Field

from helpdesk.clock import utcnow
from helpdesk.db import make_engine, make_session_factory, session_scope
from helpdesk.enums import Role
from helpdesk.principal import Operator
from helpdesk.services import client_tokens, sign_in, tokens
from helpdesk.settings import Settings
from tests.factories import NOW, make_contact, make_tenant, make_user
from web.api.auth import CLIENT_KEY, CSRF_HEADER, CSRF_KEY, STAFF_KEY
from web.api.core import Api, Audience, Context
from web.api.schemas import Strict


class EchoIn(Strict):
    subject: str = Field(min_length=1)
    count: int = 1


class EchoQuery(Strict):
    times: int = Field(default=1, ge=1, le=3)


class EchoOut(BaseModel):
    subject: str
    count: int
    times: int
    caller: str


test_api = Api("test_api", "/api/v1/test")


@test_api.endpoint(
    "POST", "/echo", audience=Audience.STAFF, summary="Echo", tag="test",
    query=EchoQuery, body=EchoIn, response=EchoOut, status=201,
)  # fmt: skip
def echo(ctx: Context, query: EchoQuery, body: EchoIn) -> EchoOut:
    return EchoOut(
        subject=body.subject, count=body.count, times=query.times, caller=str(ctx.staff.user_id)
    )


@dataclasses.dataclass
class World:
    app: Flask
    staff_token: str
    client_token: str
    user_id: int
    tenant_id: int
    contact_id: int


def _world(settings: Settings, make_app: Callable[[Settings], Flask]) -> World:
    engine = make_engine(settings.database_url)
    with session_scope(make_session_factory(engine)) as session:
        tenant = make_tenant(session, "acme")
        user = make_user(session, tenant, Role.AGENT, "ann@staff.example")
        _, staff_token = tokens.create_api_token(session, Operator(), tenant.id, user.id, now=NOW)
        contact = make_contact(session, tenant, "bob@client.example")
        # The portal session expires by the real clock, so it is issued now.
        now = utcnow()
        link = sign_in.create_sign_in_link(session, tenant.id, "bob@client.example", now=now)
        assert link is not None
        _, _, client_token = client_tokens.sign_in_with_link(session, link, now=now)
        ids = (user.id, tenant.id, contact.id)
    engine.dispose()
    app = make_app(settings)
    app.register_blueprint(test_api.blueprint)
    return World(app, staff_token, client_token, *ids)


@pytest.fixture
def world(settings: Settings, make_app: Callable[[Settings], Flask]) -> World:
    return _world(settings, make_app)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_without_credentials_the_api_answers_401_with_a_challenge(world: World) -> None:
    response = world.app.test_client().get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    "header", ["Bearer", "Basic dXNlcjpwYXNz", "Bearer hd_unknown", "Bearer hdc_x"]
)
def test_malformed_or_unknown_credentials_are_401(world: World, header: str) -> None:
    response = world.app.test_client().get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401


def test_staff_token_is_the_agent(world: World) -> None:
    response = world.app.test_client().get("/api/v1/me", headers=bearer(world.staff_token))
    assert response.status_code == 200
    body = response.get_json()
    assert body["type"] == "agent"
    assert body["email"] == "ann@staff.example"
    assert body["tenant"]["slug"] == "acme"


def test_client_token_is_the_client(world: World) -> None:
    response = world.app.test_client().get("/api/v1/me", headers=bearer(world.client_token))
    assert response.get_json()["type"] == "client"
    assert response.get_json()["email"] == "bob@client.example"


def test_client_may_not_call_a_staff_endpoint(world: World) -> None:
    response = world.app.test_client().post(
        "/api/v1/test/echo", json={"subject": "x"}, headers=bearer(world.client_token)
    )
    assert response.status_code == 403


def _echo(client: FlaskClient, world: World, **kwargs: Any) -> Any:
    return client.post("/api/v1/test/echo", headers=bearer(world.staff_token), **kwargs)


def test_valid_input_reaches_the_endpoint(world: World) -> None:
    response = _echo(world.app.test_client(), world, json={"subject": "hi", "count": 2},
                     query_string={"times": "3"})  # fmt: skip
    assert response.status_code == 201
    assert response.get_json() == {
        "subject": "hi",
        "count": 2,
        "times": 3,
        "caller": str(world.user_id),
    }


@pytest.mark.parametrize(
    ("kwargs", "status", "field"),
    [
        ({"data": "{not json", "content_type": "application/json"}, 400, None),
        ({"data": "subject=x", "content_type": "application/x-www-form-urlencoded"}, 400, None),
        ({"json": ["a", "list"]}, 400, None),
        ({"json": {}}, 422, "subject"),
        ({"json": {"subject": ""}}, 422, "subject"),
        ({"json": {"subject": "x", "count": "many"}}, 422, "count"),
        ({"json": {"subject": "x", "colour": "red"}}, 422, "colour"),
        ({"json": {"subject": "x"}, "query_string": {"times": "9"}}, 422, "times"),
        ({"json": {"subject": "x"}, "query_string": {"sort": "up"}}, 422, "sort"),
        ({"json": {"subject": "x"}, "query_string": "times=1&times=2"}, 422, "times"),
    ],
)
def test_bad_input_gets_the_envelope_naming_the_field(
    world: World, kwargs: dict[str, Any], status: int, field: str | None
) -> None:
    response = _echo(world.app.test_client(), world, **kwargs)
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["message"]
    if field is not None:
        assert field in error["fields"]


def test_cookie_session_writes_need_the_csrf_token(world: World) -> None:
    client = world.app.test_client()
    with client.session_transaction() as cookie:
        cookie[STAFF_KEY] = [world.user_id, world.tenant_id]
        cookie[CSRF_KEY] = "the-token"
    assert client.get("/api/v1/me").status_code == 200
    refused = client.post("/api/v1/test/echo", json={"subject": "x"})
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "csrf_failed"
    wrong = client.post("/api/v1/test/echo", json={"subject": "x"}, headers={CSRF_HEADER: "nope"})
    assert wrong.status_code == 403
    ok = client.post("/api/v1/test/echo", json={"subject": "x"}, headers={CSRF_HEADER: "the-token"})
    assert ok.status_code == 201


def test_client_cookie_session_is_the_client(world: World) -> None:
    client = world.app.test_client()
    with client.session_transaction() as cookie:
        cookie[CLIENT_KEY] = world.contact_id
    assert client.get("/api/v1/me").get_json()["type"] == "client"


def test_too_large_a_body_is_413(settings: Settings, make_app: Callable[[Settings], Flask]) -> None:
    world = _world(dataclasses.replace(settings, max_message_bytes=1000), make_app)
    response = _echo(world.app.test_client(), world, json={"subject": "x" * 2000})
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"


def test_rate_limit_answers_429_with_retry_after(
    settings: Settings, make_app: Callable[[Settings], Flask]
) -> None:
    world = _world(dataclasses.replace(settings, api_rate_limit="3 per minute"), make_app)
    client = world.app.test_client()
    statuses = [client.get("/api/v1/me", headers=bearer(world.staff_token)).status_code
                for _ in range(4)]  # fmt: skip
    assert statuses == [200, 200, 200, 429]
    limited = client.get("/api/v1/me", headers=bearer(world.staff_token))
    assert int(limited.headers["Retry-After"]) > 0
    assert limited.get_json()["error"]["code"] == "rate_limited"
    # Another caller has a budget of their own, and /healthz is not limited.
    assert client.get("/api/v1/me", headers=bearer(world.client_token)).status_code == 200
    assert client.get("/healthz").status_code == 200


def test_openapi_document_is_valid_and_lists_the_endpoints(world: World) -> None:
    response = world.app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    validate(spec)
    assert spec["openapi"].startswith("3.1")
    me = spec["paths"]["/api/v1/me"]["get"]
    assert me["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("MeOut")


def test_human_page_describes_the_endpoints(world: World) -> None:
    response = world.app.test_client().get("/api/v1/docs")
    assert response.status_code == 200
    assert b"GET /api/v1/me" in response.data
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]


@pytest.mark.redis
def test_with_redis_the_limit_is_shared_by_every_web_process(
    settings: Settings, make_app: Callable[[Settings], Flask], request: pytest.FixtureRequest
) -> None:
    # Given two apps (two web processes) counting in the same Redis
    redis_url: str = request.getfixturevalue("redis_url")
    shared = dataclasses.replace(settings, broker_url=redis_url, api_rate_limit="4 per minute")
    world = _world(shared, make_app)
    second = make_app(shared)
    headers = bearer(world.staff_token)
    # When the token spends its budget across both
    first_two = [world.app.test_client().get("/api/v1/me", headers=headers).status_code
                 for _ in range(2)]  # fmt: skip
    next_two = [second.test_client().get("/api/v1/me", headers=headers).status_code
                for _ in range(3)]  # fmt: skip
    # Then the second process refuses once the shared budget is gone
    assert first_two == [200, 200]
    assert next_two == [200, 200, 429]
