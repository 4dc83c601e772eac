"""API tokens: created for a user, shown once, kept only as a SHA-256 hash, revocable."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select

from workflows.errors import InvalidData, NotPermitted

from ..database import db, utcnow
from ..models import ApiToken, User
from .audit_trail import recorded_change

TOKEN_PREFIX = "qms_"  # noqa: S105 - a marker, not a secret
#: how often last_used_at is refreshed, so that every API call does not write
LAST_USED_RESOLUTION = dt.timedelta(minutes=5)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str, actor: User | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user``; returns the row and the plaintext, which is never stored."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise InvalidData({"name": "is required (at most 100 characters)"})
    actor = actor or user
    if actor.id != user.id and not actor.has_role("admin"):
        raise NotPermitted("Only an administrator can create tokens for someone else")
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with recorded_change(actor, f"API token '{name}' created") as session:
        token = ApiToken(user_id=user.id, name=name, prefix=plaintext[:12], token_hash=_digest(plaintext))
        session.add(token)
    return token, plaintext


def revoke_token(token: ApiToken, actor: User) -> None:
    if actor.id != token.user_id and not actor.has_role("admin"):
        raise NotPermitted("Only the owner or an administrator can revoke this token")
    if token.revoked_at is not None:
        return
    with recorded_change(actor, f"API token '{token.name}' revoked"):
        token.revoked_at = utcnow()


def user_for_token(plaintext: str) -> User | None:
    """The active user owning this unrevoked token, or None."""
    if not plaintext or not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > 200:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(plaintext)))
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        token.last_used_at = now
        db.session.commit()
    return token.user


def tokens_of(user: User) -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)))
