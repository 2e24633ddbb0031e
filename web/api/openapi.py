"""The OpenAPI 3.1 document, generated from the pydantic models that validate the requests.

Pydantic writes JSON Schema 2020-12, the dialect OpenAPI 3.1 uses, so the
models' schemas go into `components/schemas` as they are.
"""

from __future__ import annotations

from typing import Any, Literal

import pydantic
from pydantic.json_schema import models_json_schema

from web.api.core import Audience, Operation
from web.api.schemas import ErrorEnvelope
from web.converters import MAX_ID

REF = "#/components/schemas/{model}"
Mode = Literal["validation", "serialization"]

# Statuses any endpoint may answer besides its success, with their meaning.
ERRORS = {
    400: "Malformed request (bad JSON, bad cursor)",
    401: "Missing, unknown, revoked or expired credentials",
    403: "The caller may not do this",
    404: "No such object (also for another tenant's objects)",
    409: "Conflict: a stale edit, a duplicate, or a move the ticket may not make",
    413: "Request too large",
    422: "Invalid input; `error.fields` names each field at fault",
    429: "Too many requests; retry after the Retry-After header's seconds",
}
_CONVERTER_SCHEMA = {
    "int": {"type": "integer", "minimum": 0, "maximum": MAX_ID},
    "string": {"type": "string"},
}


def build_document(operations: list[Operation], *, prefix: str, version: str) -> dict[str, Any]:
    """Return the OpenAPI document of `operations`, served under `prefix`."""
    schemas, refs = _component_schemas(operations)
    paths: dict[str, dict[str, Any]] = {}
    for operation in operations:
        item = paths.setdefault(prefix + operation.path, {})
        item[operation.method.lower()] = _operation(operation, refs, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Helpdesk API",
            "version": version,
            "description": "Tickets, messages and configuration of an e-mail-first helpdesk.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
        },
    }


def _component_schemas(
    operations: list[Operation],
) -> tuple[dict[str, Any], dict[tuple[type[pydantic.BaseModel], Mode], str]]:
    wanted: list[tuple[type[pydantic.BaseModel], Mode]] = [(ErrorEnvelope, "serialization")]
    for operation in operations:
        # Query models are listed too, so that enums their fields use land in components.
        if operation.query is not None:
            wanted.append((operation.query, "validation"))
        if operation.body is not None:
            wanted.append((operation.body, "validation"))
        if operation.response is not None:
            wanted.append((operation.response, "serialization"))
    unique = list(dict.fromkeys(wanted))
    mapping, definitions = models_json_schema(unique, ref_template=REF)
    refs: dict[tuple[type[pydantic.BaseModel], Mode], str] = {
        (model, mode): value["$ref"]  # type: ignore[misc]
        for (model, mode), value in mapping.items()
    }
    schemas: dict[str, Any] = definitions.get("$defs", {})
    return schemas, refs


def _operation(
    operation: Operation,
    refs: dict[tuple[type[pydantic.BaseModel], Mode], str],
    schemas: dict[str, Any],
) -> dict[str, Any]:
    query = _query_parameters(operation, refs, schemas)
    spec: dict[str, Any] = {
        "operationId": operation.operation_id,
        "summary": operation.summary,
        "tags": [operation.tag],
        "parameters": _path_parameters(operation) + query,
        "responses": _responses(operation, refs),
        "security": _security(operation.audience),
    }
    if operation.description:
        spec["description"] = operation.description
    body = _request_body(operation, refs)
    if body is not None:
        spec["requestBody"] = body
    return spec


def _path_parameters(operation: Operation) -> list[dict[str, Any]]:
    return [
        {"name": name, "in": "path", "required": True, "schema": _CONVERTER_SCHEMA[converter]}
        for name, converter in operation.path_params
    ]


def _query_parameters(
    operation: Operation,
    refs: dict[tuple[type[pydantic.BaseModel], Mode], str],
    schemas: dict[str, Any],
) -> list[dict[str, Any]]:
    if operation.query is None:
        return []
    schema = schemas[refs[(operation.query, "validation")].rsplit("/", 1)[1]]
    required = set(schema.get("required", []))
    parameters = []
    for name, property_schema in schema.get("properties", {}).items():
        parameter: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": {k: v for k, v in property_schema.items() if k != "title"},
        }
        if "description" in property_schema:
            parameter["description"] = property_schema["description"]
        parameters.append(parameter)
    return parameters


def _request_body(
    operation: Operation, refs: dict[tuple[type[pydantic.BaseModel], Mode], str]
) -> dict[str, Any] | None:
    if operation.upload:
        file_schema = {
            "type": "object",
            "properties": {
                "file": {"type": "string", "contentMediaType": "application/octet-stream"}
            },
            "required": ["file"],
        }
        return {"required": True, "content": {"multipart/form-data": {"schema": file_schema}}}
    if operation.body is None:
        return None
    schema = {"$ref": refs[(operation.body, "validation")]}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _responses(
    operation: Operation, refs: dict[tuple[type[pydantic.BaseModel], Mode], str]
) -> dict[str, Any]:
    responses: dict[str, Any] = {str(operation.status): _success(operation, refs)}
    error = {"$ref": refs[(ErrorEnvelope, "serialization")]}
    for status, meaning in ERRORS.items():
        responses[str(status)] = {
            "description": meaning,
            "content": {"application/json": {"schema": error}},
        }
    return responses


def _success(
    operation: Operation, refs: dict[tuple[type[pydantic.BaseModel], Mode], str]
) -> dict[str, Any]:
    if operation.download:
        binary = {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}
        return {"description": "The file", "content": {"application/octet-stream": binary}}
    if operation.response is None:
        return {"description": "Done; no content"}
    schema = {"$ref": refs[(operation.response, "serialization")]}
    return {"description": "OK", "content": {"application/json": {"schema": schema}}}


def _security(audience: Audience) -> list[dict[str, list[str]]]:
    if audience is Audience.PUBLIC:
        return []
    return [{"bearer": []}, {"session": []}]
