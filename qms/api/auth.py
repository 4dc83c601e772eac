"""Bearer-token authentication of every API request (never the session cookie).

A missing, unknown, expired or revoked token, or one whose user was deactivated,
gets 401 with ``WWW-Authenticate: Bearer`` and a JSON body — never a redirect to
the sign-in page.  A ``read`` token may only read (GET, HEAD, OPTIONS): anything
else answers 403.  The signed-in user is ``flask.g.api_user``, the token ``flask.g.api_token``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection
from typing import Any

from flask import Blueprint, g, request
from werkzeug.wrappers import Response

from workflows.errors import NotPermitted

from ..models import User
from ..services.tokens import token_for
from .errors import error_response

REALM = 'Bearer realm="qmsflow"'
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _unauthorized(message: str, challenge: str) -> Response:
    return error_response(401, message, {}, {"WWW-Authenticate": challenge})


def authenticate() -> Response | None:
    """``before_request`` of the API blueprints: find the caller from the bearer token."""
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() != "bearer" or not credentials:
        return _unauthorized("Authentication required: send 'Authorization: Bearer <token>'", REALM)
    token = token_for(credentials)
    if token is None:
        return _unauthorized(
            "The token is invalid, expired, revoked or belongs to a deactivated account",
            f'{REALM}, error="invalid_token"',
        )
    if token.scope != "read-write" and request.method not in READ_METHODS:
        return error_response(
            403,
            "This token may only read (scope 'read'); use a read-write token to change anything",
            {},
            {"WWW-Authenticate": f'{REALM}, error="insufficient_scope", scope="read-write"'},
        )
    g.api_user = token.user
    g.api_token = token
    return None


def require_token(blueprint: Blueprint) -> None:
    """Make every route of ``blueprint`` require a valid bearer token."""
    blueprint.before_request(authenticate)


def api_user() -> User:
    """The user whose token authenticated this request."""
    return g.api_user


def require_roles(roles: Collection[str], message: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Refuse (403) a caller without one of ``roles`` before the request is parsed or any record loaded.

    Put it between ``@blp.route`` and ``@blp.arguments``, so that someone who
    may not use the operation at all learns that, not what is wrong with the body.
    The service called by the view checks again: this is the early answer, not the rule.
    """

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)  # keeps flask-smorest's _apidoc
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not api_user().has_role(*roles):
                raise NotPermitted(message)
            return view(*args, **kwargs)

        return wrapper

    return decorator
