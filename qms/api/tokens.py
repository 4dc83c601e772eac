"""/api/v1/tokens: the caller's own API tokens — list, create (shown once), revoke."""

from __future__ import annotations

from typing import Any

from flask import current_app
from werkzeug.wrappers import Response

from ..models import ApiToken
from ..services.tokens import create_token, revoke_token, tokens_of
from .auth import api_user
from .blueprint import ID, ApiBlueprint
from .schemas.users import TokenCreatedSchema, TokenCreateSchema, TokenSchema
from .workflow import Presented, get_or_404

blp = ApiBlueprint(
    "api_tokens",
    __name__,
    tag="Tokens",
    description="Your API tokens. A token is shown once, when it is created; only its hash is stored.",
)


@blp.route("/tokens", methods=["GET"])
@blp.response(200, TokenSchema(many=True))
def list_tokens() -> list[ApiToken]:
    """Your tokens, revoked ones included"""
    return tokens_of(api_user())


@blp.route("/tokens", methods=["POST"])
@blp.arguments(TokenCreateSchema)
@blp.response(201, TokenCreatedSchema)
def new_token(body: dict[str, Any]) -> Presented:
    """Create a token for yourself; the answer holds the token itself, this once"""
    token, plaintext = create_token(api_user(), body["name"])
    return Presented(token, token=plaintext)


@blp.route(f"/tokens/<{ID}:token_id>", methods=["DELETE"])
@blp.response(204)
def delete_token(token_id: int) -> Response:
    """Revoke a token (its owner or an administrator); it stops working at once"""
    token = get_or_404(ApiToken, token_id, label="token")
    revoke_token(token, api_user())
    return current_app.response_class(status=204)
