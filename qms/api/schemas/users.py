"""marshmallow schemas of the users and API tokens API.

Built on ``common``'s fields and conventions: strict input (unknown fields rejected), bounded ids,
storable text, ISO 8601 dates.
"""

from __future__ import annotations

from typing import Any

from flask import g
from marshmallow import Schema, fields, post_dump, validate

from ...lifecycles.roles import ROLES
from .common import PageArgsSchema, SortedList, Text, page_schema


class UserSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True)
    roles = SortedList(fields.String(), required=True)
    active = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)
    mfa_enabled = fields.Boolean(
        allow_none=True,
        required=True,
        metadata={
            "description": "Whether the person signs in with an authenticator app too "
            "(shown to administrators and the person; null for everyone else)"
        },
    )
    signing_locked_until = fields.DateTime(
        allow_none=True,
        required=True,
        metadata={
            "description": "Signing is refused until then (UTC) after five failed attempts; null: not locked "
            "(shown to administrators and the person; null for everyone else)"
        },
    )

    #: account security a colleague has no business knowing (an attacker would pick unprotected accounts)
    PRIVATE = ("mfa_enabled", "signing_locked_until")

    @post_dump
    def hide_security_from_colleagues(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        viewer = getattr(g, "api_user", None)
        if viewer is None or viewer.has_role("admin") or viewer.id == data.get("id"):
            return data
        return {**data, **dict.fromkeys(self.PRIVATE)}


class UserCreateSchema(Schema):
    email = Text(required=True, validate=validate.Length(max=254))
    name = Text(required=True, validate=validate.Length(max=120))
    password = Text(required=True, load_only=True, validate=validate.Length(max=1024), metadata={"format": "password"})
    roles = fields.List(
        fields.String(validate=validate.OneOf(sorted(ROLES))), required=True, validate=validate.Length(min=1, max=6)
    )


class UserQuerySchema(PageArgsSchema):
    role = fields.String(validate=validate.OneOf(sorted(ROLES)))
    active = fields.Boolean()
    q = Text(validate=validate.Length(max=200), metadata={"description": "Text in the name or e-mail address"})


class UserUpdateSchema(Schema):
    """What an administrator may change of an account; a field left out keeps its value."""

    name = Text(validate=validate.Length(max=120))
    roles = fields.List(
        fields.String(validate=validate.OneOf(sorted(ROLES))),
        validate=validate.Length(min=1, max=6),
        metadata={"description": "All of the user's roles (replacing the current ones)"},
    )
    active = fields.Boolean(metadata={"description": "false: the account cannot sign in and its tokens stop working"})


class PasswordResetSchema(Schema):
    password = Text(required=True, load_only=True, validate=validate.Length(max=1024), metadata={"format": "password"})


class TokenSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    prefix = fields.String(required=True, metadata={"description": "The first characters, to tell tokens apart"})
    created_at = fields.DateTime(required=True)
    last_used_at = fields.DateTime(allow_none=True, required=True)
    revoked = fields.Boolean(required=True)
    revoked_at = fields.DateTime(allow_none=True, required=True)
    expires_at = fields.DateTime(required=True, metadata={"description": "The token stops working then (UTC)"})
    expired = fields.Boolean(required=True)
    scope = fields.String(
        required=True,
        validate=validate.OneOf(["read", "read-write"]),
        metadata={"description": "read: GET only; read-write: everything its owner may do"},
    )


UserPageSchema = page_schema(UserSchema, "UserPage")
