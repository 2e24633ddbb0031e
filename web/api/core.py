"""Declaring API endpoints: validated input, one transaction, typed output, one spec entry.

An endpoint is a plain function `(ctx, [path params], [query], [body]) -> model`.
`Api.endpoint` wraps it: it authenticates the caller for the endpoint's
audience, parses the query string and JSON body into pydantic models (the same
models the OpenAPI document is generated from), runs the function, renders its
result, and commits. Anything raised rolls the request's transaction back.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

import pydantic
from flask import Blueprint, Response, jsonify, request
from sqlalchemy.orm import Session

from helpdesk.clock import utcnow
from helpdesk.principal import Client, Principal, Staff
from helpdesk.settings import Settings
from helpdesk.storage import BlobStore
from web.app import app_state, request_session

F = TypeVar("F", bound=Callable[..., Any])


class Audience(StrEnum):
    """Who an endpoint is for."""

    PUBLIC = "public"
    STAFF = "staff"
    CLIENT = "client"
    # Staff or client: the endpoint answers each in their own terms.
    ANYONE = "anyone"
    PLATFORM = "platform"


class RequestInvalid(Exception):
    """Raised for input that does not parse or validate; rendered as the error envelope."""

    def __init__(
        self, status: int, code: str, message: str, fields: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = dict(fields or {})


@dataclass(frozen=True)
class Context:
    """What an endpoint function gets besides its parsed input."""

    session: Session
    principal: Principal | None
    settings: Settings
    now: datetime

    # These raise TypeError only when an endpoint was declared for another
    # audience than it serves: a programming error, never a caller's.
    @property
    def staff(self) -> Staff:
        if not isinstance(self.principal, Staff):
            raise TypeError("this endpoint is not declared for staff")
        return self.principal

    @property
    def client(self) -> Client:
        if not isinstance(self.principal, Client):
            raise TypeError("this endpoint is not declared for clients")
        return self.principal

    @property
    def actor(self) -> Principal:
        if self.principal is None:
            raise TypeError("this endpoint is declared public")
        return self.principal

    @property
    def tenant_id(self) -> int:
        principal = self.principal
        if not isinstance(principal, Staff | Client):
            raise TypeError("this endpoint is not declared for a tenant's staff or clients")
        return principal.tenant_id

    @property
    def store(self) -> BlobStore:
        return app_state().blob_store


@dataclass(frozen=True)
class Reply:
    """An endpoint result with its own status or headers."""

    body: pydantic.BaseModel | None
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Operation:
    """One endpoint as the OpenAPI document describes it."""

    method: str
    rule: str
    audience: Audience
    summary: str
    tag: str
    operation_id: str
    description: str = ""
    query: type[pydantic.BaseModel] | None = None
    body: type[pydantic.BaseModel] | None = None
    response: type[pydantic.BaseModel] | None = None
    status: int = 200
    # A file upload (multipart/form-data) or download (bytes) instead of JSON.
    upload: bool = False
    download: bool = False

    @property
    def path(self) -> str:
        """The rule in OpenAPI's notation: /tickets/{number}."""
        return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", self.rule)

    @property
    def path_params(self) -> list[tuple[str, str]]:
        """(name, Flask converter) of each path parameter."""
        return [
            (name, converter or "string")
            for converter, name in re.findall(r"<(?:([a-z]+):)?([a-z_]+)>", self.rule)
        ]


class Api:
    """A blueprint whose endpoints are declared with `endpoint` and listed in the spec."""

    def __init__(self, name: str, url_prefix: str) -> None:
        self.blueprint = Blueprint(name, __name__, url_prefix=url_prefix)
        self.url_prefix = url_prefix
        self.operations: list[Operation] = []

    def endpoint(
        self,
        method: str,
        rule: str,
        *,
        audience: Audience,
        summary: str,
        tag: str,
        query: type[pydantic.BaseModel] | None = None,
        body: type[pydantic.BaseModel] | None = None,
        response: type[pydantic.BaseModel] | None = None,
        status: int = 200,
        upload: bool = False,
        download: bool = False,
    ) -> Callable[[F], F]:
        """Register the decorated function as an endpoint of this API."""

        def register(function: F) -> F:
            operation = Operation(
                method=method,
                rule=rule,
                audience=audience,
                summary=summary,
                tag=tag,
                operation_id=function.__name__,
                description=(function.__doc__ or "").strip(),
                query=query,
                body=body,
                response=response,
                status=status,
                upload=upload,
                download=download,
            )
            self.operations.append(operation)
            self.blueprint.add_url_rule(
                rule,
                endpoint=function.__name__,
                view_func=_view(operation, function),
                methods=[method],
            )
            return function

        return register


def _view(operation: Operation, function: Callable[..., Any]) -> Callable[..., Response]:
    # Imported here: auth imports services that import this module's types.
    from web.api.auth import authenticate

    @functools.wraps(function)
    def view(**path_params: Any) -> Response:
        session = request_session()
        now = utcnow()
        principal = authenticate(session, operation.audience, now=now)
        arguments = dict(path_params)
        if operation.query is not None:
            arguments["query"] = parse_query(operation.query)
        if operation.body is not None:
            arguments["body"] = parse_body(operation.body)
        context = Context(session, principal, app_state().settings, now)
        response = render(function(context, **arguments), operation.status)
        session.commit()
        return response

    return view


def parse_query(model: type[pydantic.BaseModel]) -> pydantic.BaseModel:
    """Validate the query string against `model`.

    Raises:
        RequestInvalid: a parameter is unknown, repeated or invalid (422).
    """
    values: dict[str, str] = {}
    for name in request.args:
        given = request.args.getlist(name)
        if len(given) > 1:
            raise RequestInvalid(422, "invalid", f"{name}: give it once", {name: "give it once"})
        values[name] = given[0]
    return _validate(model, values)


def parse_body(model: type[pydantic.BaseModel]) -> pydantic.BaseModel:
    """Validate the JSON body against `model`, strictly: `0` is no boolean, `"1"` no number.

    Raises:
        RequestInvalid: the body is not a JSON object (400) or does not validate (422).
    """
    if not request.is_json:
        raise RequestInvalid(
            400, "bad_request", "send a JSON body with Content-Type: application/json"
        )
    raw = request.get_data()
    try:
        payload = json.loads(raw)
    except ValueError as exc:
        raise RequestInvalid(400, "bad_request", "the request body is not valid JSON") from exc
    if not isinstance(payload, dict):
        raise RequestInvalid(400, "bad_request", "the request body is not a JSON object")
    try:
        return model.model_validate_json(raw, strict=True)
    except pydantic.ValidationError as exc:
        raise _invalid(exc) from exc


def _validate(model: type[pydantic.BaseModel], values: Mapping[str, str]) -> pydantic.BaseModel:
    try:
        # Query strings are text: let pydantic read "10" as 10 and "true" as True.
        return model.model_validate_strings(values)
    except pydantic.ValidationError as exc:
        raise _invalid(exc) from exc


def _invalid(exc: pydantic.ValidationError) -> RequestInvalid:
    fields = {_location(error["loc"]): error["msg"] for error in exc.errors()}
    summary = "; ".join(f"{name}: {message}" for name, message in fields.items())
    return RequestInvalid(422, "invalid", summary, fields)


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "body"


def render(result: Any, status: int) -> Response:
    """Turn an endpoint's result into a response."""
    if isinstance(result, Response):
        return result
    if isinstance(result, Reply):
        response = render(result.body, result.status)
        response.headers.update(dict(result.headers))
        return response
    if result is None:
        return Response(status=204)
    if isinstance(result, pydantic.BaseModel):
        response = jsonify(result.model_dump(mode="json"))
        response.status_code = status
        return response
    raise TypeError(f"an endpoint returned {type(result).__name__}")
