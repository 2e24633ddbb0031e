"""Domain and HTTP errors mapped once to statuses and the JSON error envelope."""

from __future__ import annotations

import logging
from html import escape

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, InternalServerError

from helpdesk.errors import (
    Conflict,
    HelpdeskError,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationError,
)

log = logging.getLogger(__name__)

API_PREFIX = "/api/"
# The HTTP mail doors (web/inbound.py) answer programs, never a browser: even
# Werkzeug's own errors there (a 413, a 405 for a GET) come back in JSON.
INBOUND_PREFIX = "/inbound/"

DOMAIN_STATUS: dict[type[HelpdeskError], int] = {
    NotFound: 404,
    PermissionDenied: 403,
    ValidationError: 422,
    Conflict: 409,
    InvalidTransition: 409,
}

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    500: "internal_error",
}


def install(app: Flask) -> None:
    """Register the error handlers on the app."""
    app.register_error_handler(HelpdeskError, handle_domain_error)
    app.register_error_handler(InternalServerError, handle_internal_error)
    app.register_error_handler(HTTPException, handle_http_error)


def error_response(status: int, code: str, message: str, **extra: object) -> tuple[Response, int]:
    """Return the JSON error envelope `{"error": {"code", "message", ...}}` with `status`."""
    return jsonify(error={"code": code, "message": message, **extra}), status


def handle_domain_error(exc: HelpdeskError) -> tuple[Response, int]:
    """Answer a domain error: the envelope under /api/ and /inbound/, a small HTML page else."""
    status = status_for(exc)
    extra: dict[str, object] = {}
    if isinstance(exc, ValidationError):
        extra = {"fields": {exc.field: exc.message}}
    if _wants_json():
        return error_response(status, exc.code, str(exc), **extra)
    return _html_error(status, str(exc))


def status_for(exc: HelpdeskError) -> int:
    """Return the HTTP status of a domain error (400 for one without its own)."""
    for cls in type(exc).__mro__:
        if cls in DOMAIN_STATUS:
            return DOMAIN_STATUS[cls]
    return 400


def handle_http_error(exc: HTTPException) -> HTTPException | tuple[Response, int]:
    """Answer 404, 405, 400 ... in the envelope under /api/ and /inbound/, else Werkzeug's page."""
    if not _wants_json():
        return exc
    status = exc.code or 500
    response, status = error_response(
        status, HTTP_CODES.get(status, "error"), exc.description or exc.name
    )
    # A 405 names the methods that are allowed (RFC 9110 §15.5.6).
    for name, value in exc.get_headers():
        if name.lower() == "allow":
            response.headers[name] = value
    return response, status


def handle_internal_error(exc: InternalServerError) -> InternalServerError | tuple[Response, int]:
    """Answer an unhandled exception without revealing anything about it."""
    if not _wants_json():
        return exc
    return error_response(500, "internal_error", "internal server error")


def _wants_json() -> bool:
    return request.path.startswith((API_PREFIX, INBOUND_PREFIX)) or request.path == "/api"


def _html_error(status: int, message: str) -> tuple[Response, int]:
    body = (
        f"<!doctype html>\n<title>Error {status}</title>\n"
        f"<h1>Error {status}</h1>\n<p>{escape(message)}</p>\n"
    )
    return Response(body, status=status, mimetype="text/html"), status
