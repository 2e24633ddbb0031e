"""GET /healthz: liveness and a database round trip, without authentication."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify
from sqlalchemy.exc import SQLAlchemyError

from helpdesk.db import ping
from web.app import app_state

log = logging.getLogger(__name__)
health = Blueprint("health", __name__)


@health.get("/healthz")
def healthz() -> tuple[Response, int]:
    try:
        ping(app_state().engine)
    except SQLAlchemyError as exc:
        log.warning("health check: the database does not answer: %s", exc)
        response, status = jsonify(status="error", database="unreachable"), 503
    else:
        response, status = jsonify(status="ok", database="ok"), 200
    # A probe must see the current state, never a cached one.
    response.headers["Cache-Control"] = "no-store"
    return response, status
