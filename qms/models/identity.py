"""Identity and signing security: failed attempts, the admin's security policy, MFA recovery codes.

Failed sign-ins, second factors, signatures and password re-entries are rows here (so the audit
trail records each one and admins can list them); the counters that lock signing live on the user.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..database import db, utcnow

#: what a failed attempt was, and how an admin reads it
FAILURE_KINDS = {
    "sign_in": "Sign-in",
    "second_factor": "Second factor (authenticator code)",
    "signature": "Electronic signature",
    "password_change": "Password change",
    "reauthentication": "Password re-entry (API token)",
}
#: the kinds that count towards the signing lock (21 CFR 11.300(d): attempts at unauthorised use)
SIGNING_FAILURE_KINDS = ("signature", "password_change", "reauthentication")


class AuthFailure(db.Model):
    """One failed attempt to prove who someone is: who (if known), what, when, from where."""

    __tablename__ = "auth_failures"
    __table_args__ = (
        CheckConstraint("kind IN ({})".format(", ".join(f"'{k}'" for k in sorted(FAILURE_KINDS))), "kind"),
        Index("ix_auth_failures_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(20))
    #: the account the attempt was for; None when the e-mail address matches no account
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    #: the e-mail address typed (for sign-ins) or the account's
    email: Mapped[str] = mapped_column(String(254), default="")
    #: the client address (after the trusted proxies)
    address: Mapped[str] = mapped_column(String(64), default="")
    #: what happened, for people: "wrong password", "signing locked"…
    detail: Mapped[str] = mapped_column(String(200), default="")

    @property
    def kind_label(self) -> str:
        return FAILURE_KINDS.get(self.kind, self.kind)


class SecurityPolicy(db.Model):
    """The one row of the administrator's security settings."""

    __tablename__ = "security_policy"
    __table_args__ = (CheckConstraint("signing_lock_minutes BETWEEN 1 AND 10080", "signing_lock_minutes"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    #: how long signing stays locked after five failed attempts
    signing_lock_minutes: Mapped[int] = mapped_column(default=30)
    #: roles whose holders must use an authenticator app (TOTP) to sign in
    mfa_roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RecoveryCode(db.Model):
    """A one-time code that replaces the authenticator app once; only its hash is kept."""

    __tablename__ = "mfa_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    used_at: Mapped[dt.datetime | None]
