"""API tokens: created for a user, shown once, kept only as a SHA-256 hash, revocable.

A token expires (90 days by default, at most a year) and has a scope: ``read`` (GET only) or
``read-write``. People create their tokens on their profile page, in a signed-in session and
after re-entering their password (``create_token_in_session``); a token can never create
another. ``qms create-token`` creates one for anybody, recorded as done by the command line.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from workflows.errors import InvalidData, NotPermitted

from ..database import db, utcnow
from ..models import Actor, ApiToken, User
from .audit_trail import recorded_change

SCOPES = {"read": "Read only", "read-write": "Read and write"}
DEFAULT_TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 365

TOKEN_PREFIX = "qms_"  # noqa: S105 - a marker, not a secret
#: how often last_used_at is refreshed, so that every API call does not write
LAST_USED_RESOLUTION = dt.timedelta(minutes=5)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    user: User,
    name: str,
    actor: User | Actor | None = None,
    *,
    scope: str = "read-write",
    days: int | str = DEFAULT_TOKEN_DAYS,
) -> tuple[ApiToken, str]:
    """A new token for ``user``; returns the row and the plaintext, which is never stored.

    ``actor`` is who creates it: the user (None), an administrator, or the command line
    (``identity.COMMAND_LINE``), which the audit trail then names instead of the user.
    """
    name = (name or "").strip()
    errors: dict[str, str] = {}
    if not name or len(name) > 100 or "\x00" in name:
        errors["name"] = "is required (at most 100 characters)"
    if scope not in SCOPES:
        errors["scope"] = "must be one of: " + ", ".join(SCOPES)
    if isinstance(days, str) and days.strip().isdigit() and len(days.strip()) < 5:
        days = int(days.strip())
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_TOKEN_DAYS:
        errors["days"] = f"must be a whole number of days from 1 to {MAX_TOKEN_DAYS}"
    if errors:
        raise InvalidData(errors)
    actor = actor or user
    if isinstance(actor, User) and actor.id != user.id and not actor.has_role("admin"):
        raise NotPermitted("Only an administrator can create tokens for someone else")
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    reason = f"API token '{name}' created for {user.email}" if actor.id != user.id else f"API token '{name}' created"
    with recorded_change(actor, reason) as session:
        token = ApiToken(
            user_id=user.id,
            name=name,
            prefix=plaintext[:12],
            token_hash=_digest(plaintext),
            created_at=now,
            expires_at=now + dt.timedelta(days=days),
            scope=scope,
        )
        session.add(token)
    return token, plaintext


def create_token_in_session(
    user: User, name: str, password: str | None, *, scope: str = "read-write", days: int | str = DEFAULT_TOKEN_DAYS
) -> tuple[ApiToken, str]:
    """A person creates their own token from a signed-in session, re-entering their password first.

    A wrong password counts towards the signing lock (and is recorded); while it is locked, refused.
    """
    from .identity import check_password_again

    check_password_again(user, password, "reauthentication")
    return create_token(user, name, scope=scope, days=days)


def revoke_token(token: ApiToken, actor: User) -> None:
    if actor.id != token.user_id and not actor.has_role("admin"):
        raise NotPermitted("Only the owner or an administrator can revoke this token")
    if token.revoked_at is not None:
        return
    with recorded_change(actor, f"API token '{token.name}' revoked"):
        token.revoked_at = utcnow()


def token_for(plaintext: str) -> ApiToken | None:
    """The unrevoked, unexpired token of an active user, or None."""
    if not plaintext or not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > 200:
        return None
    # the token, its user and the user's roles in one statement: every API request runs it
    stmt = (
        select(ApiToken)
        .where(ApiToken.token_hash == _digest(plaintext))
        .options(joinedload(ApiToken.user, innerjoin=True).joinedload(User.role_links))
    )
    token = db.session.scalars(stmt).unique().first()
    now = utcnow()
    if token is None or not token.is_usable(now) or not token.user.active:
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        token.last_used_at = now
        db.session.commit()
    return token


def user_for_token(plaintext: str) -> User | None:
    """The active user owning this usable token, or None."""
    token = token_for(plaintext)
    return token.user if token is not None else None


def tokens_of(user: User) -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)))
