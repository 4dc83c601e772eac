"""/api/v1/users: everyone signed in may list people (to choose owners); only admins create accounts."""

from __future__ import annotations

from typing import Any

from flask import url_for
from marshmallow import RAISE
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from workflows.errors import NotPermitted

from ..models import User, UserRole
from ..services.users import create_user
from .auth import api_user
from .blueprint import ID, ApiBlueprint
from .schemas import UserCreateSchema, UserPageSchema, UserQuerySchema, UserSchema
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
    items, page = paginate(stmt, args["page"], args["per_page"], options=[selectinload(User.role_links)])
    return {**page, "items": items}


@blp.route("/users", methods=["POST"])
@blp.arguments(UserCreateSchema)
@blp.response(201, UserSchema)
def create_account(body: dict[str, Any]) -> Any:
    """Create an account (administrators only)"""
    actor = api_user()
    if not actor.has_role("admin"):
        raise NotPermitted("Only an administrator can create accounts")
    user = create_user(body["email"], body["name"], body["password"], body["roles"], actor=actor)
    return user, 201, {"Location": url_for("api_users.get_user", user_id=user.id)}


@blp.route(f"/users/<{ID}:user_id>", methods=["GET"])
@blp.response(200, UserSchema)
def get_user(user_id: int) -> User:
    """One person"""
    return get_or_404(User, user_id, label="user")
