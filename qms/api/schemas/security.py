"""marshmallow schemas of the security settings and the failed-attempt log (administrators only)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ...lifecycles.roles import ROLES
from ...models import FAILURE_KINDS
from .common import PageArgsSchema, SortedList, page_schema


class SecurityPolicySchema(Schema):
    signing_lock_minutes = fields.Integer(
        required=True,
        validate=validate.Range(min=1, max=10080),
        metadata={"description": "How long signing stays locked after five failed attempts (minutes, 1–10080)"},
    )
    mfa_roles = SortedList(
        fields.String(validate=validate.OneOf(sorted(ROLES))),
        required=True,
        validate=validate.Length(max=len(ROLES)),
        metadata={"description": "Roles whose holders must sign in with an authenticator app too"},
    )


class AuthFailureSchema(Schema):
    id = fields.Integer(required=True)
    at = fields.DateTime(required=True)
    kind = fields.String(required=True, metadata={"description": ", ".join(sorted(FAILURE_KINDS))})
    kind_label = fields.String(required=True)
    user_id = fields.Integer(allow_none=True, required=True, metadata={"description": "null: no such account"})
    email = fields.String(required=True, metadata={"description": "The address typed, or the account's"})
    address = fields.String(required=True, metadata={"description": "The client's IP address"})
    detail = fields.String(required=True)


class AuthFailureQuerySchema(PageArgsSchema):
    kind = fields.String(validate=validate.OneOf(sorted(FAILURE_KINDS)))
    user_id = fields.Integer(strict=False, validate=validate.Range(min=1, max=2**31 - 1))


AuthFailurePageSchema = page_schema(AuthFailureSchema, "AuthFailurePage")
