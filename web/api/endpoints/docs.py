"""The API's description: the OpenAPI document and a page for people."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, render_template

from web.api.blueprint import PREFIX, VERSION, api
from web.api.openapi import build_document

_cache: dict[str, dict[str, Any]] = {}


def document() -> dict[str, Any]:
    """Return the OpenAPI document, built once per process."""
    if "document" not in _cache:
        _cache["document"] = build_document(api.operations, prefix=PREFIX, version=VERSION)
    return _cache["document"]


@api.blueprint.get("/openapi.json")
def openapi_json() -> Response:
    return jsonify(document())


@api.blueprint.get("/docs")
def openapi_page() -> str:
    return render_template("web/api_docs.html", spec=document())
