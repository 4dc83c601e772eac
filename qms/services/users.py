"""Accounts: creation, password hashing (Argon2id) and authentication."""

from __future__ import annotations

import contextlib
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select

from workflows.errors import InvalidData, NotPermitted

from ..database import db, utcnow
from ..lifecycles.roles import ROLES
from ..models import User, UserRole
from .audit_trail import audit_context, recorded_change

_hasher = PasswordHasher()
# Verified against for unknown e-mail addresses so that a failed sign-in takes
# as long whether or not the account exists (no timing leak of accounts).
_DUMMY_HASH = _hasher.hash("qmsflow-dummy-password")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(user: User, password: str) -> bool:
    """True when ``password`` is the user's; rehashes when Argon2 parameters changed."""
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return True


def validate_password(password: str | None, field: str = "password") -> dict[str, str]:
    if not password or len(password) < MIN_PASSWORD_LENGTH:
        return {field: f"must be at least {MIN_PASSWORD_LENGTH} characters"}
    if len(password) > 1024:
        return {field: "must be at most 1024 characters"}
    return {}


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def create_user(email: str, name: str, password: str, roles: set[str] | list[str], actor: User | None = None) -> User:
    """Create an active account; raises InvalidData naming each bad field.

    ``actor`` None means the command line or the system (seeding); a person must be an admin.
    """
    if actor is not None and not actor.has_role("admin"):
        raise NotPermitted("Only an administrator can create accounts")
    email = (email or "").strip().lower()
    name = (name or "").strip()
    roles = set(roles or ())
    errors: dict[str, str] = {}
    if "\x00" in email + name + (password or ""):
        raise InvalidData({"name": "must not contain NUL characters"})
    if not EMAIL_RE.match(email) or len(email) > 254:
        errors["email"] = "must be a valid e-mail address"
    elif find_by_email(email) is not None:
        errors["email"] = "is already in use"
    if not name or len(name) > 120:
        errors["name"] = "is required (at most 120 characters)"
    errors.update(validate_password(password))
    unknown = roles - ROLES
    if not roles or unknown:
        errors["roles"] = "must be one or more of: " + ", ".join(sorted(ROLES))
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, "account created") as session:
        user = User(email=email, name=name, password_hash=hash_password(password))
        user.role_links = [UserRole(role=r) for r in sorted(roles)]
        session.add(user)
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None (constant-time for unknown users)."""
    user = find_by_email(email or "")
    if user is None:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password or "")
        return None
    if not user.active or not check_password(user, password or ""):
        return None
    user.last_login_at = utcnow()
    with audit_context(db.session, user, reason="signed in"):
        db.session.commit()
    return user


def change_password(user: User, current: str, new: str) -> None:
    """The user changes their own password (the current one is required)."""
    if not check_password(user, current or ""):
        raise InvalidData({"current": "is not your current password"})
    errors = validate_password(new)
    if errors:
        raise InvalidData(errors)
    with recorded_change(user, "password changed"):
        user.password_hash = hash_password(new)


def reset_password(user: User, actor: User, new: str) -> None:
    """An administrator sets a new password for ``user``."""
    if not actor.has_role("admin"):
        raise NotPermitted("Only an administrator can reset passwords")
    errors = validate_password(new)
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, "password reset by an administrator"):
        user.password_hash = hash_password(new)


def update_user(user: User, actor: User, *, name: str, roles: set[str], active: bool) -> None:
    """An administrator changes a user's name, roles or active flag."""
    if not actor.has_role("admin"):
        raise NotPermitted("Only an administrator can change accounts")
    name = (name or "").strip()
    errors: dict[str, str] = {}
    if not name or len(name) > 120:
        errors["name"] = "is required (at most 120 characters)"
    if not roles or roles - ROLES:
        errors["roles"] = "must be one or more of: " + ", ".join(sorted(ROLES))
    if user.id == actor.id and "admin" not in roles:
        errors["roles"] = "you cannot remove your own administrator role"
    if user.id == actor.id and not active:
        errors["active"] = "you cannot deactivate yourself"
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, "account changed by an administrator"):
        user.name = name
        user.active = active
        current = {link.role: link for link in user.role_links}
        for role in set(current) - roles:
            user.role_links.remove(current[role])
        for role in sorted(roles - set(current)):
            user.role_links.append(UserRole(role=role))
