"""People and their roles."""

from __future__ import annotations

import datetime as dt
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

    role_links: Mapped[list[UserRole]] = relationship(lazy="selectin", cascade="all, delete-orphan")

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(link.role for link in self.role_links)

    @property
    def is_active(self) -> bool:  # flask-login: deactivated users cannot sign in
        return self.active

    def has_role(self, *names: str) -> bool:
        return bool(self.roles.intersection(names))

    def as_actor(self) -> Actor:
        return Actor(self.id, self.name, self.roles)

    def __repr__(self) -> str:
        return f"<User {self.email}>"
