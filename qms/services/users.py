"""Accounts: creation, password hashing (Argon2id) and authentication.

Changing a password (own or reset), deactivating an account or changing its roles gives the
account a new security stamp (every other session ends) and revokes its API tokens, so
reactivating the account revives none of them (see ``services/identity.py``).
"""

from __future__ import annotations

import contextlib
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload, selectinload

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


def validate_password(
    password: str | None, field: str = "password", *, user_inputs: tuple[str, ...] = (), check_strength: bool = True
) -> dict[str, str]:
    """Length, then strength (zxcvbn score 3+, not a common password, not made of the person's name)."""
    from .identity import password_weakness

    if not password or len(password) < MIN_PASSWORD_LENGTH:
        return {field: f"must be at least {MIN_PASSWORD_LENGTH} characters"}
    if len(password) > 1024:
        return {field: "must be at most 1024 characters"}
    if check_strength:
        weakness = password_weakness(password, user_inputs)
        if weakness:
            return {field: weakness}
    return {}


def signed_in(user_id: int) -> User | None:
    """The user with this id and their roles, in one statement: the session's user loader runs it on
    every request (the stamp and ``active`` are checked by the caller, afresh each time)."""
    stmt = select(User).where(User.id == user_id).options(joinedload(User.role_links))
    return db.session.scalars(stmt).unique().one_or_none()


def active_users_with_roles() -> Select:
    """The active users by id, their roles loaded with them in one more statement (roles load lazily
    otherwise: the jobs that read everyone's roles ask for them here)."""
    return select(User).where(User.active.is_(True)).order_by(User.id).options(selectinload(User.role_links))


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def create_user(
    email: str,
    name: str,
    password: str,
    roles: set[str] | list[str],
    actor: User | None = None,
    *,
    check_strength: bool = True,
) -> User:
    """Create an active account; raises InvalidData naming each bad field.

    ``actor`` None means the command line or the system (seeding); a person must be an admin.
    ``check_strength=False`` is for the demo organisation alone, whose published password
    ("demo-password") zxcvbn rightly finds too easy: the demo is for trying qmsflow, not for use.
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
    errors.update(validate_password(password, user_inputs=(email, name), check_strength=check_strength))
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
    """The active user with these credentials, or None (constant-time for unknown users).

    Each failure is recorded (audit trail, the admins' list) and counted against the account
    (``identity.note_sign_in_failure``); the caller checks ``identity.sign_in_wait`` first and
    completes the sign-in with ``complete_sign_in`` (after the second factor, if any).
    """
    from .identity import note_sign_in_failure, record_failure

    email = (email or "")[:254]
    user = find_by_email(email)
    if user is None:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password or "")
        detail = "no account with this e-mail address"
    elif not check_password(user, password or ""):
        detail = "wrong password"
    elif not user.active:
        detail = "account deactivated"
    else:
        return user
    db.session.rollback()
    note_sign_in_failure(email)
    record_failure("sign_in", user, email=email.strip().lower(), detail=detail)
    return None


def complete_sign_in(user: User) -> None:
    """The password (and second factor) were right: note the time; the trail says who signed in."""
    from .identity import note_sign_in_success

    note_sign_in_success(user.email)
    user.last_login_at = utcnow()
    with audit_context(db.session, user, reason="signed in"):
        db.session.commit()


def _end_other_access(user: User, *, tokens: bool = True) -> None:
    """Inside a write: every session of ``user`` ends (new stamp) and, with ``tokens``, their API tokens."""
    from .identity import new_stamp, revoke_all_tokens

    new_stamp(user)
    if tokens:
        revoke_all_tokens(user)


def change_password(user: User, current: str, new: str) -> None:
    """The user changes their own password (the current one is required).

    A wrong current password counts towards the signing lock (11.300(d)); while locked, refused.
    Every session of the user ends (the caller keeps its own by signing it in again) and their
    API tokens are revoked.
    """
    from .identity import check_password_again

    check_password_again(user, current, "password_change", field="current")
    errors = validate_password(new, user_inputs=(user.email, user.name))
    if errors:
        raise InvalidData(errors)
    with recorded_change(user, "password changed"):
        user.password_hash = hash_password(new)
        _end_other_access(user)


def reset_password(user: User, actor: User, new: str) -> None:
    """An administrator sets a new password for ``user``: their sessions end and their tokens are revoked."""
    if not actor.has_role("admin"):
        raise NotPermitted("Only an administrator can reset passwords")
    errors = validate_password(new, user_inputs=(user.email, user.name))
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, "password reset by an administrator"):
        user.password_hash = hash_password(new)
        _end_other_access(user)


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
        current = {link.role: link for link in user.role_links}
        if user.active != active or set(current) != roles:
            # deactivation and role changes end the person's sessions and tokens; reactivation revives none
            _end_other_access(user)
        user.active = active
        for role in set(current) - roles:
            user.role_links.remove(current[role])
        for role in sorted(roles - set(current)):
            user.role_links.append(UserRole(role=role))
