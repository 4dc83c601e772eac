"""JSON errors: every failure under /api answers ``{"code", "status", "message", "errors"}``.

``code`` is the HTTP status, ``status`` its name, ``message`` a sentence for
people and ``errors`` maps each bad field to what is wrong with it (``{}`` when
no field is to blame).  The workflow engine's typed errors map to the REST
contract through the one table of ``qms/errors.py`` that the web pages use too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import Blueprint, jsonify
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Response

from workflows.errors import InvalidData, WorkflowError

from ..errors import message_of, status_of

#: what webargs calls the whole body or query string when no single field is to blame
LOCATION_NAMES = {"json": "body", "query": "query", "querystring": "query", "files": "file", "headers": "headers"}


def error_response(
    code: int,
    message: str,
    errors: Mapping[str, str] | None = None,
    headers: Iterable[tuple[str, str]] | Mapping[str, str] | None = None,
) -> Response:
    """The JSON error answer of the API."""
    response = jsonify(
        {"code": code, "status": HTTP_STATUS_CODES.get(code, "Error"), "message": message, "errors": dict(errors or {})}
    )
    response.status_code = code
    for name, value in dict(headers or {}).items():
        response.headers[name] = value
    return response


def _child(prefix: str, key: Any) -> str:
    if key == "_schema":  # marshmallow's name for the object as a whole
        return prefix or "body"
    return f"{prefix}.{key}" if prefix else str(key)


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, str]:
    """marshmallow's nested messages as ``{"field": "message", "data.severity": "…"}``."""
    flat: dict[str, str] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            name = _child(prefix, key)
            for field, text in flatten_messages(value, name).items():
                flat[field] = f"{flat[field]} {text}" if field in flat else text
    elif isinstance(messages, list | tuple):
        texts = [str(m) for m in messages if not isinstance(m, Mapping | list | tuple)]
        if texts:
            flat[prefix or "body"] = " ".join(texts)
        for item in messages:
            if isinstance(item, Mapping | list | tuple):
                for field, text in flatten_messages(item, prefix).items():
                    flat[field] = f"{flat[field]} {text}" if field in flat else text
    else:
        flat[prefix or "body"] = str(messages)
    return flat


def webargs_errors(messages: Mapping[str, Any]) -> dict[str, str]:
    """webargs nests errors under the request location; callers want field names."""
    flat: dict[str, str] = {}
    for location, location_messages in messages.items():
        if isinstance(location_messages, Mapping):
            nested = dict(location_messages)
            if "_schema" in nested:
                nested[LOCATION_NAMES.get(location, location)] = nested.pop("_schema")
            flat.update(flatten_messages(nested))
        else:
            flat.update(flatten_messages(location_messages, LOCATION_NAMES.get(location, location)))
    return flat


def describe(errors: Mapping[str, str]) -> str:
    return "Invalid request data (" + "; ".join(f"{name}: {text}" for name, text in errors.items()) + ")"


def handle_http_exception(exc: HTTPException) -> Response:
    """Werkzeug's and webargs' HTTP errors, and unhandled exceptions (as 500), in the API's shape."""
    code = exc.code or 500
    headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
    data = getattr(exc, "data", None) or {}
    headers.extend(dict(data.get("headers") or {}).items())
    errors: dict[str, str] = {}
    if "messages" in data:
        errors = webargs_errors(data["messages"])
    if code >= 500:  # Flask has logged the exception; the client learns nothing of the internals
        message = "An internal error occurred; it has been logged"
    elif errors:
        message = describe(errors)
    else:
        message = data.get("message") or exc.description or HTTP_STATUS_CODES.get(code, "Error")
    return error_response(code, message, errors, headers)


def handle_workflow_error(exc: WorkflowError) -> Response:
    """The engine's and services' typed errors, per the REST contract."""
    if isinstance(exc, InvalidData):
        return error_response(status_of(exc), describe(exc.errors), exc.errors)
    return error_response(status_of(exc), message_of(exc))


def register_error_handlers(blueprint: Blueprint) -> None:
    """Answer every error raised in ``blueprint``'s views with JSON."""
    blueprint.register_error_handler(HTTPException, handle_http_exception)
    blueprint.register_error_handler(WorkflowError, handle_workflow_error)
