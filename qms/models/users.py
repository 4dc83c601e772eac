"""People and their roles."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import db, utcnow
from ..lifecycles.roles import ROLES


@dataclass(frozen=True)
class Actor:
    """A user as the workflow engine sees them: an immutable snapshot."""

    id: int | None  # None: the system itself (a scheduled job)
    name: str
    roles: frozenset[str]


class UserRole(db.Model):
    __tablename__ = "user_roles"
    __table_args__ = (CheckConstraint("role IN ({})".format(", ".join(f"'{r}'" for r in sorted(ROLES))), "role"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(30), primary_key=True)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None]
    #: sha256 of the secret in the user's calendar (iCalendar) feed address; None: no feed
    calendar_feed_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: changes whenever every session of the user must end (sign-out, password, roles, deactivation);
    #: each session carries the value it started with and dies when it differs
    security_stamp: Mapped[str] = mapped_column(String(32), default=lambda: secrets.token_hex(16))
    #: failed signature, password-change and password re-entry attempts since the last success
    signing_failures: Mapped[int] = mapped_column(default=0)
    #: signing (and password change) refused until then, after too many failures
    signing_locked_until: Mapped[dt.datetime | None]
    #: the base32 secret of the user's authenticator app (TOTP); None: no second factor
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    #: when the second factor was confirmed with a first code (None while being set up)
    totp_enabled_at: Mapped[dt.datetime | None]

    #: loaded when first read, not with every user: most users a page loads are names (owners,
    #: raisers…); the signed-in user comes with them in one statement (``services.users.signed_in``),
    #: lists that read many people's roles ask for ``selectinload(User.role_links)``
    role_links: Mapped[list[UserRole]] = relationship(lazy="select", cascade="all, delete-orphan")

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(link.role for link in self.role_links)

    @property
    def is_active(self) -> bool:  # flask-login: deactivated users cannot sign in
        return self.active

    @property
    def mfa_enabled(self) -> bool:
        return self.totp_secret is not None and self.totp_enabled_at is not None

    def get_id(self) -> str:
        """flask-login keeps this in the session: the id and the security stamp (see ``security_stamp``)."""
        return f"{self.id}:{self.security_stamp}"

    def has_role(self, *names: str) -> bool:
        return bool(self.roles.intersection(names))

    def as_actor(self) -> Actor:
        return Actor(self.id, self.name, self.roles)

    def __repr__(self) -> str:
        return f"<User {self.email}>"
