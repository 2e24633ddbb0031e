"""The web app's skeleton: /healthz, security headers and the error envelope."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask, request
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.pool import QueuePool

from helpdesk.errors import (
    Conflict,
    HelpdeskError,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from helpdesk.settings import Settings
from tests.servers import free_port
from web import create_app
from web.app import app_state, request_session


@contextmanager
def built(settings: Settings) -> Iterator[Flask]:
    app = create_app(settings)
    try:
        yield app
    finally:
        app_state(app).engine.dispose()


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    with built(settings) as app:
        yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def test_healthz_answers_ok_when_the_database_answers(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "make_url",
    [
        lambda tmp: f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/nothing",
        # A directory cannot be opened as an SQLite database.
        lambda tmp: f"sqlite:///{tmp}",
    ],
    ids=["postgresql-down", "sqlite-unopenable"],
)
def test_healthz_answers_503_when_the_database_does_not(
    tmp_path: Path, make_url: Callable[[Path], str]
) -> None:
    settings = Settings.for_var_dir(tmp_path, database_url=make_url(tmp_path), secret_key="k")
    with built(settings) as app:
        response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "database": "unreachable"}


@pytest.mark.parametrize("path", ["/healthz", "/no-such-page", "/api/v1/no-such-thing"])
def test_every_response_carries_the_security_headers(client: FlaskClient, path: str) -> None:
    headers = client.get(path).headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in headers["Content-Security-Policy"].split(";")
    )
    assert policy["script-src"] == "'self'"
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert policy["frame-ancestors"] == "'none'"


def test_html_error_page_carries_csp(client: FlaskClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_https_base_url_adds_hsts_and_secure_cookies(settings: Settings) -> None:
    with built(dataclasses.replace(settings, base_url="https://help.example.com")) as app:
        response = app.test_client().get("/healthz")
        assert app.config["SESSION_COOKIE_SECURE"] is True
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_unknown_api_path_gets_the_json_envelope(client: FlaskClient) -> None:
    missing = client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "not_found"


def test_wrong_method_under_the_api_gets_the_json_envelope(api_app: Flask) -> None:
    wrong = api_app.test_client().post("/api/v1/test/echo-json")
    assert wrong.status_code == 405
    assert wrong.get_json()["error"]["code"] == "method_not_allowed"
    assert "PUT" in wrong.headers["Allow"]


ERRORS: dict[str, tuple[HelpdeskError, int, str]] = {
    "not-found": (NotFound("no ticket 7"), 404, "not_found"),
    "forbidden": (PermissionDenied("only an admin"), 403, "forbidden"),
    "invalid": (ValidationError("subject", "must not be empty"), 422, "invalid"),
    "conflict": (Conflict("already exists"), 409, "conflict"),
    "transition": (InvalidTransition("closed tickets stay closed"), 409, "invalid_transition"),
}


@pytest.fixture
def api_app(app: Flask) -> Flask:
    """The app with a few routes that fail the ways real views will."""

    def raise_error(name: str) -> str:
        raise ERRORS[name][0]

    def echo_json() -> dict[str, object]:
        return {"got": request.get_json()}

    def crash() -> str:
        raise RuntimeError("secret internals")

    app.add_url_rule("/api/v1/test/raise/<name>", view_func=raise_error)
    app.add_url_rule("/console/test/raise/<name>", view_func=raise_error)
    app.add_url_rule("/api/v1/test/echo-json", view_func=echo_json, methods=["PUT"])
    app.add_url_rule("/api/v1/test/crash", view_func=crash)
    return app


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_domain_errors_map_to_status_and_code(api_app: Flask, name: str) -> None:
    error, status, code = ERRORS[name]
    response = api_app.test_client().get(f"/api/v1/test/raise/{name}")
    assert response.status_code == status
    assert response.get_json()["error"] == {
        "code": code,
        "message": str(error),
        **(
            {"fields": {"subject": "must not be empty"}}
            if isinstance(error, ValidationError)
            else {}
        ),
    }


def test_domain_error_outside_the_api_is_an_escaped_html_page(api_app: Flask) -> None:
    response = api_app.test_client().get("/console/test/raise/forbidden")
    assert response.status_code == 403
    assert response.mimetype == "text/html"
    assert b"only an admin" in response.data


def test_malformed_json_is_a_400_in_the_envelope(api_app: Flask) -> None:
    response = api_app.test_client().put(
        "/api/v1/test/echo-json", data=b"{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_request"


def test_crash_under_the_api_is_a_500_envelope_that_leaks_nothing(api_app: Flask) -> None:
    response = api_app.test_client().get("/api/v1/test/crash")
    assert response.status_code == 500
    assert response.get_json() == {
        "error": {"code": "internal_error", "message": "internal server error"}
    }
    assert b"secret internals" not in response.data


def test_request_session_is_one_per_request_and_returned_after_it(app: Flask) -> None:
    seen = []

    def use_session() -> str:
        session = request_session()
        seen.append(session is request_session())
        return str(session.scalar(text("SELECT 1")))

    app.add_url_rule("/test/session", view_func=use_session)
    assert app.test_client().get("/test/session").data == b"1"
    assert seen == [True]
    pool = app_state(app).engine.pool
    assert isinstance(pool, QueuePool)
    assert pool.checkedout() == 0
