"""The blueprint every API resource group uses: /api/v1, bearer tokens, JSON errors, no CSRF."""

from __future__ import annotations

import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import flask
from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser, abort

from ..extensions import csrf
from .auth import require_token
from .errors import register_error_handlers

API_PREFIX = "/api/v1"
#: a record id in a URL: what the database's integer primary keys hold
ID = "int(min=1, max=2147483647)"


class ApiParser(FlaskParser):
    """webargs' Flask parser that answers an absurdly nested JSON body with 400, not a crash."""

    def _raw_load_json(self, req: flask.Request) -> Any:
        try:
            return super()._raw_load_json(req)
        except RecursionError:
            abort(400, messages={"json": ["The JSON body is nested too deeply."]})
        except json.JSONDecodeError as exc:
            if isinstance(exc.__cause__, UnicodeDecodeError):  # webargs re-raises a decoding error as this
                abort(400, messages={"json": ["The body is not valid JSON: it is not UTF-8 text."]})
            where = f"line {exc.lineno}, column {exc.colno}"
            abort(400, messages={"json": [f"The body is not valid JSON ({exc.msg.lower()} at {where})."]})
        except ValueError:  # an integer of more than 4300 digits (Python's int conversion limit)
            abort(400, messages={"json": ["The JSON body holds a number too large to read."]})


LINK_HEADER = {
    "Link": {
        "description": 'The following and preceding pages (RFC 8288): `<url>; rel="next"`, `<url>; rel="prev"`',
        "schema": {"type": "string"},
    }
}


class ApiBlueprint(Blueprint):
    """A flask-smorest blueprint under /api/v1 whose every route needs a bearer token.

    CSRF does not apply (the API never reads the session cookie), errors are
    JSON, and operations are tagged with a readable ``tag`` in the OpenAPI
    document while the blueprint's own name stays unique in the app.
    """

    ARGUMENTS_PARSER = ApiParser()

    def __init__(self, name: str, import_name: str, *, tag: str, description: str = "") -> None:
        super().__init__(name, import_name, url_prefix=API_PREFIX, description=description)
        self.tag = tag
        require_token(self)
        register_error_handlers(self)
        csrf.exempt(self)

    def route(self, rule: str, *, parameters: Any = None, tags: Any = None, **options: Any) -> Callable:
        """Register a view, documenting the errors every such route may answer."""
        writes = bool(set(options.get("methods", ("GET",))) - {"GET", "HEAD", "OPTIONS"})
        statuses = [401, *([404] if "<" in rule else []), *([403, 409] if writes else [])]
        register = super().route(rule, parameters=parameters, tags=tags or [self.tag], **options)

        def decorator(func: Callable) -> Callable:
            for status in statuses:
                func = self.alt_response(status, response=HTTPStatus(status).name)(func)
            return register(func)

        return decorator

    def response(self, status_code: Any, schema: Any = None, *, headers: Any = None, **options: Any) -> Callable:
        """Document a response; a page of a list also carries ``Link`` (rel="next"/"prev")."""
        if getattr(schema, "paged", False):
            headers = {**LINK_HEADER, **(headers or {})}
        return super().response(status_code, schema, headers=headers, **options)
