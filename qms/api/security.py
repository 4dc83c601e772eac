"""/api/v1/security: the security settings and the log of failed attempts (administrators only).

The settings: how long signing stays locked after five failed signature, password-change or
password re-entry attempts, and which roles must use an authenticator app. The log: every
failed sign-in, second factor, signature, password change and password re-entry, newest first.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE
from sqlalchemy import select

from ..models import AuthFailure, SecurityPolicy
from ..services.identity import security_policy, set_security_policy
from .auth import api_user, require_roles
from .blueprint import ApiBlueprint
from .schemas.security import AuthFailurePageSchema, AuthFailureQuerySchema, SecurityPolicySchema
from .workflow import paginate

blp = ApiBlueprint(
    "api_security",
    __name__,
    tag="Security",
    description="Signing lock period, second factor per role, and failed attempts (administrators only).",
)
ADMINS_ONLY = "Only an administrator can see or change the security settings"


@blp.route("/security/policy", methods=["GET"])
@require_roles({"admin"}, ADMINS_ONLY)
@blp.response(200, SecurityPolicySchema)
def get_policy() -> SecurityPolicy:
    """The security settings"""
    return security_policy()


@blp.route("/security/policy", methods=["PUT"])
@require_roles({"admin"}, ADMINS_ONLY)
@blp.arguments(SecurityPolicySchema)
@blp.response(200, SecurityPolicySchema)
def put_policy(body: dict[str, Any]) -> SecurityPolicy:
    """Set the signing lock period and the roles that need an authenticator app

    People of a role that newly needs one are signed out and asked to set it up when they sign in again.
    """
    return set_security_policy(
        api_user(), signing_lock_minutes=body["signing_lock_minutes"], mfa_roles=body["mfa_roles"]
    )


@blp.route("/security/failures", methods=["GET"])
@require_roles({"admin"}, ADMINS_ONLY)
@blp.arguments(AuthFailureQuerySchema, location="query", unknown=RAISE)
@blp.response(200, AuthFailurePageSchema)
def list_failures(args: dict[str, Any]) -> dict[str, Any]:
    """Failed attempts, newest first: filter by kind or account"""
    stmt = select(AuthFailure)
    if "kind" in args:
        stmt = stmt.where(AuthFailure.kind == args["kind"])
    if "user_id" in args:
        stmt = stmt.where(AuthFailure.user_id == args["user_id"])
    items, page = paginate(stmt.order_by(AuthFailure.id.desc()), args)
    return {**page, "items": items}
