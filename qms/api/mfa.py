"""/api/v1/account/mfa: the caller's own second factor (authenticator app) — status, set-up, turning off.

Only ever the token's own account: no operation takes a user id, so no token (an administrator's
included) can set up a second factor for somebody else; an administrator resets a colleague's with
``POST /users/{id}/mfa/reset``. Starting a set-up and turning it off need the password re-entered,
as creating a token does; each step enters the audit trail, and each wrong password or code counts
towards the signing lock and is recorded.
"""

from __future__ import annotations

from typing import Any

from ..services.identity import (
    confirm_totp,
    mfa_required,
    qr_svg,
    recovery_codes_left,
    start_totp_after_password,
    totp_uri,
    turn_off_own_totp,
)
from .auth import api_user
from .blueprint import ApiBlueprint
from .schemas.mfa import (
    MfaCodeSchema,
    MfaDisableSchema,
    MfaRecoverySchema,
    MfaSetupSchema,
    MfaStartSchema,
    MfaStatusSchema,
)

blp = ApiBlueprint(
    "api_mfa",
    __name__,
    tag="Second factor",
    description=(
        "Your own authenticator app (TOTP, RFC 6238): start the set-up with your password, add the secret to the "
        "app (its `otpauth://` address, the secret typed in, or the QR code as SVG), confirm with the app's first "
        "code to turn it on and receive your ten recovery codes once; turn it off with your password and a code. "
        "Always the token's own account."
    ),
)


def _status() -> dict[str, Any]:
    user = api_user()
    return {
        "enabled": user.mfa_enabled,
        "setting_up": user.totp_secret is not None and not user.mfa_enabled,
        "required": mfa_required(user),
        "recovery_codes_left": recovery_codes_left(user) if user.mfa_enabled else 0,
    }


@blp.route("/account/mfa", methods=["GET"])
@blp.response(200, MfaStatusSchema)
def status() -> dict[str, Any]:
    """Your second factor: on, being set up, required by your role, recovery codes left"""
    return _status()


@blp.route("/account/mfa/start", methods=["POST"])
@blp.arguments(MfaStartSchema)
@blp.response(201, MfaSetupSchema)
def start(body: dict[str, Any]) -> Any:
    """Start setting up an authenticator app (your password re-entered)

    Returns a new secret, its `otpauth://` address and a QR code of it; the app is not on until
    confirmed with its first code. Starting again replaces an unconfirmed secret. 409 when an app is
    already on; 422 naming `password` when it is wrong (counted towards the signing lock).
    """
    user = api_user()
    secret = start_totp_after_password(user, body["password"])
    uri = totp_uri(user)
    return {"otpauth_uri": uri, "secret": secret, "qr_svg": qr_svg(uri)}, 201


@blp.route("/account/mfa/confirm", methods=["POST"])
@blp.arguments(MfaCodeSchema)
@blp.response(200, MfaRecoverySchema)
def confirm(body: dict[str, Any]) -> dict[str, Any]:
    """Turn the authenticator app on with the code it shows now; returns the recovery codes, once

    422 naming `code` when no set-up was started or the code is not the current one.
    """
    return {"recovery_codes": confirm_totp(api_user(), body["code"])}


@blp.route("/account/mfa/disable", methods=["POST"])
@blp.arguments(MfaDisableSchema)
@blp.response(200, MfaStatusSchema)
def disable(body: dict[str, Any]) -> dict[str, Any]:
    """Turn your authenticator app off (your password and a current or recovery code)

    Your other sessions end; your API tokens stay. 403 while a role of yours requires a second factor
    (an administrator can reset it), 409 when none is on, 422 naming `password` or `code` when wrong.
    """
    turn_off_own_totp(api_user(), body["password"], body["code"])
    return _status()
