"""/api/v1/users: everyone signed in may list people (to choose owners); only admins create and change accounts.

No answer ever holds a password or token hash: passwords are write-only.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for
from marshmallow import RAISE
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from ..models import User, UserRole
from ..services.identity import turn_off_totp, unlock_signing
from ..services.users import create_user, reset_password, update_user
from .auth import api_user, require_roles
from .blueprint import ID, ApiBlueprint
from .schemas.users import (
    PasswordResetSchema,
    UserCreateSchema,
    UserPageSchema,
    UserQuerySchema,
    UserSchema,
    UserUpdateSchema,
)
from .workflow import contains, get_or_404, paginate

blp = ApiBlueprint("api_users", __name__, tag="Users", description="People and their roles.")


@blp.route("/users", methods=["GET"])
@blp.arguments(UserQuerySchema, location="query", unknown=RAISE)
@blp.response(200, UserPageSchema)
def list_users(args: dict[str, Any]) -> dict[str, Any]:
    """People, by name: filter by role, active or text in the name or e-mail address"""
    stmt = select(User)
    if "role" in args:
        stmt = stmt.where(User.id.in_(select(UserRole.user_id).where(UserRole.role == args["role"])))
    if "active" in args:
        stmt = stmt.where(User.active.is_(args["active"]))
    if "q" in args:
        stmt = stmt.where(or_(contains(User.name, args["q"]), contains(User.email, args["q"])))
    stmt = stmt.order_by(User.name, User.id)
    items, page = paginate(stmt, args, options=[selectinload(User.role_links)])
    return {**page, "items": items}


@blp.route("/users", methods=["POST"])
@require_roles({"admin"}, "Only an administrator can create accounts")
@blp.arguments(UserCreateSchema)
@blp.response(201, UserSchema)
def create_account(body: dict[str, Any]) -> Any:
    """Create an account (administrators only)"""
    actor = api_user()
    user = create_user(body["email"], body["name"], body["password"], body["roles"], actor=actor)
    return user, 201, {"Location": url_for("api_users.get_user", user_id=user.id)}


@blp.route(f"/users/<{ID}:user_id>", methods=["GET"])
@blp.response(200, UserSchema)
def get_user(user_id: int) -> User:
    """One person"""
    return get_or_404(User, user_id, label="user")


@blp.route(f"/users/<{ID}:user_id>", methods=["PATCH"])
@require_roles({"admin"}, "Only an administrator can change accounts")
@blp.arguments(UserUpdateSchema)
@blp.response(200, UserSchema)
def change_account(body: dict[str, Any], user_id: int) -> User:
    """Change a person's name, roles or active flag (administrators only)

    A field left out keeps its value; `roles` replaces all of the person's
    roles. An administrator cannot remove their own administrator role nor
    deactivate themselves (422). Deactivation and role changes end the person's
    sessions and revoke their tokens; reactivation revives none of them.
    """
    user = get_or_404(User, user_id, label="user")
    update_user(
        user,
        api_user(),
        name=body.get("name", user.name),
        roles=set(body.get("roles", user.roles)),
        active=body.get("active", user.active),
    )
    return user


@blp.route(f"/users/<{ID}:user_id>/password", methods=["POST"])
@require_roles({"admin"}, "Only an administrator can reset passwords")
@blp.arguments(PasswordResetSchema)
@blp.response(204)
def set_password(body: dict[str, Any], user_id: int) -> Any:
    """Set a new password for a person (administrators only)

    At least 10 characters and hard to guess (zxcvbn score 3 or more, not a
    common password; 422 naming `password` with the reason otherwise). Every
    session of the person ends and their API tokens are revoked.
    """
    user = get_or_404(User, user_id, label="user")
    reset_password(user, api_user(), body["password"])
    return current_app.response_class(status=204)


@blp.route(f"/users/<{ID}:user_id>/unlock-signing", methods=["POST"])
@require_roles({"admin"}, "Only an administrator can unlock signing")
@blp.response(200, UserSchema)
def unlock(user_id: int) -> User:
    """Unlock signing for a person locked out after five failed attempts (administrators only)"""
    user = get_or_404(User, user_id, label="user")
    unlock_signing(user, api_user())
    return user


@blp.route(f"/users/<{ID}:user_id>/mfa/reset", methods=["POST"])
@require_roles({"admin"}, "Only an administrator can reset a second factor")
@blp.response(200, UserSchema)
def reset_mfa(user_id: int) -> User:
    """Turn off a person's authenticator app, e.g. when they lost their phone (administrators only)

    Their sessions end; if their role requires a second factor they set up a new one when they sign in.
    """
    user = get_or_404(User, user_id, label="user")
    turn_off_totp(user, api_user())
    return user
