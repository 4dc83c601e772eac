"""/api/v1/tokens: the caller's own API tokens — list and revoke.

A token never creates another (else one stolen token would outlive its own revocation):
people create tokens on their profile page, signed in and after re-entering their password.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from werkzeug.wrappers import Response

from workflows.errors import NotPermitted

from ..models import ApiToken
from ..services.tokens import revoke_token, tokens_of
from .auth import api_user
from .blueprint import ID, ApiBlueprint
from .schemas.common import ErrorSchema
from .schemas.users import TokenSchema
from .workflow import get_or_404

blp = ApiBlueprint(
    "api_tokens",
    __name__,
    tag="Tokens",
    description=(
        "Your API tokens. A token is created on your profile page (signed in, after re-entering your password) "
        "or by an operator with `qms create-token`, never through the API; it is shown once and only its hash is "
        "stored. Every token expires (90 days by default) and has a scope: `read` (GET only) or `read-write`."
    ),
)


@blp.route("/tokens", methods=["GET"])
@blp.response(200, TokenSchema(many=True))
def list_tokens() -> list[ApiToken]:
    """Your tokens, revoked ones included"""
    return tokens_of(api_user())


@blp.route("/tokens", methods=["POST"])
@blp.response(403, ErrorSchema, description="Always: a token cannot create a token")
def new_token() -> Any:
    """Refused: tokens are created on your profile page, never by another token

    Answers 403 whatever the body: a token that could mint tokens would let anyone holding it keep
    access after it is revoked. Sign in, open *My account* and re-enter your password instead.
    """
    raise NotPermitted(
        "A token cannot create tokens: create one on your profile page (signed in, after re-entering your password)"
    )


@blp.route(f"/tokens/<{ID}:token_id>", methods=["DELETE"])
@blp.response(204)
def delete_token(token_id: int) -> Response:
    """Revoke a token (its owner or an administrator); it stops working at once"""
    token = get_or_404(ApiToken, token_id, label="token")
    revoke_token(token, api_user())
    return current_app.response_class(status=204)
