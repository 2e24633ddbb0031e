"""The JSON API under /api/v1: endpoints, authentication, the OpenAPI document."""

from __future__ import annotations

import importlib
import pkgutil

from flask import Flask, Response

from helpdesk.settings import Settings
from web.api import limits
from web.api.core import RequestInvalid
from web.errors import error_response


def install(app: Flask, settings: Settings) -> None:
    """Mount /api/v1 on the app."""
    from web.api import endpoints
    from web.api.blueprint import api

    # Each module of web/api/endpoints/ declares its endpoints on `api` when imported.
    for module in pkgutil.iter_modules(endpoints.__path__, endpoints.__name__ + "."):
        importlib.import_module(module.name)
    if api.blueprint.name not in app.blueprints:
        app.register_blueprint(api.blueprint)
    app.register_error_handler(RequestInvalid, _invalid_request)
    limits.install(app, settings)


def _invalid_request(exc: RequestInvalid) -> tuple[Response, int]:
    extra: dict[str, object] = {"fields": exc.fields} if exc.fields else {}
    response, status = error_response(exc.status, exc.code, exc.message, **extra)
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="helpdesk"'
    return response, status
