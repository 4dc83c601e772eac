"""marshmallow schemas of the caller's own second factor (authenticator app) in the API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from .common import Text

_PASSWORD = {"format": "password", "description": "Your password, re-entered (as when creating a token)"}


class MfaStatusSchema(Schema):
    enabled = fields.Boolean(required=True, metadata={"description": "Signing in asks for an authenticator code"})
    setting_up = fields.Boolean(
        required=True, metadata={"description": "A set-up was started and waits for its first code"}
    )
    required = fields.Boolean(
        required=True, metadata={"description": "A role of yours requires it (then it cannot be turned off)"}
    )
    recovery_codes_left = fields.Integer(required=True, metadata={"description": "Unused recovery codes"})


class MfaStartSchema(Schema):
    password = Text(required=True, load_only=True, validate=validate.Length(max=1024), metadata=_PASSWORD)


class MfaSetupSchema(Schema):
    otpauth_uri = fields.String(
        required=True,
        metadata={"description": "The `otpauth://totp/…` address an authenticator app takes (what the QR code holds)"},
    )
    secret = fields.String(required=True, metadata={"description": "The same secret in base32, to type in by hand"})
    qr_svg = fields.String(required=True, metadata={"description": "The QR code of `otpauth_uri`, as SVG text"})


class MfaCodeSchema(Schema):
    code = Text(
        required=True,
        validate=validate.Length(min=1, max=32),
        metadata={"description": "The 6-digit code your authenticator app shows now"},
    )


class MfaRecoverySchema(Schema):
    recovery_codes = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "Ten one-use codes to sign in without the app; shown this once, keep them safe"},
    )


class MfaDisableSchema(Schema):
    password = Text(required=True, load_only=True, validate=validate.Length(max=1024), metadata=_PASSWORD)
    code = Text(
        required=True,
        validate=validate.Length(min=1, max=32),
        metadata={"description": "The code your authenticator app shows now, or an unused recovery code"},
    )
