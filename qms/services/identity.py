"""Identity and signing security (21 CFR 11.200, 11.300; OWASP ASVS L2 V2, V3).

- **Password strength**: zxcvbn (score 3 or more, with the person's own name and e-mail
  address as words to avoid) and a bundled list of common passwords.
- **The signing lock**: five failed signatures, password changes or password re-entries in a
  row lock signing (and password changes) for the period in the security policy; each failure
  is a row of ``auth_failures``, so the audit trail records it and admins see it.
- **Sign-in throttling per account** (beside the per-address limit of ``qms.security``): after
  five failures the account's sign-in waits 1, 2, 4… minutes (at most an hour); the counters live
  in the limiter's storage (Redis when ``QMS_RATELIMIT_STORAGE_URI`` names it, memory otherwise).
- **Sessions**: the user's security stamp; changing it ends every session that carries the old one.
- **Second factor**: TOTP (RFC 6238) with ``pyotp``, enrolled with a QR code drawn by ``segno``,
  and ten one-time recovery codes kept as hashes; the policy may require it per role.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
from collections.abc import Iterable
from importlib import resources
from typing import Any

import pyotp
import segno
from flask import current_app, has_request_context, request
from limits.storage import Storage, storage_from_string
from sqlalchemy import select
from zxcvbn import zxcvbn

from workflows.errors import InvalidData, InvalidTransition, NotPermitted

from ..database import db, utcnow
from ..lifecycles.roles import ROLE_LABELS, ROLES
from ..models import SIGNING_FAILURE_KINDS, Actor, ApiToken, AuthFailure, RecoveryCode, SecurityPolicy, User
from .audit_trail import recorded_change, register_audited

#: failed attempts in a row before signing locks (11.300(d)) and sign-in starts to wait
MAX_ATTEMPTS = 5
MIN_STRENGTH = 3  # zxcvbn: 0 (guessed at once) … 4 (very hard to guess)
POLICY_ID = 1
#: who the trail names for an attempt by someone not signed in
NOT_SIGNED_IN = Actor(None, "not signed in", frozenset())
#: who the trail names for what the `qms` command does
COMMAND_LINE = Actor(None, "command line", frozenset())
LOGIN_BACKOFF_START = 60  # seconds after the fifth failure; doubles with each further one
LOGIN_BACKOFF_MAX = 3600
LOGIN_FAILURE_MEMORY = 24 * 3600  # failures older than a day are forgotten
RECOVERY_CODES = 10
TOTP_ISSUER = "qmsflow"


# every failed attempt, each change of the policy and each recovery code enters the audit trail
register_audited(AuthFailure, SecurityPolicy, RecoveryCode)


class SigningLocked(NotPermitted):
    """Signing (and password change) is locked for this account after too many failures."""

    code = "signing_locked"


class SignatureRefused(InvalidData):
    """A wrong password (or e-mail address) given to sign: counted and recorded by the caller."""

    def __init__(self, errors: dict[str, str], user_id: int, kind: str = "signature") -> None:
        super().__init__(errors)
        self.user_id = user_id
        self.kind = kind


# --- password strength -------------------------------------------------------------------------


@functools.cache
def common_passwords() -> frozenset[str]:
    """The bundled list of common passwords (lower case), loaded once."""
    text = resources.files("qms.services").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def password_weakness(password: str, user_inputs: Iterable[str] = ()) -> str | None:
    """Why ``password`` is too easy to guess, in words for the form; None when it is strong enough."""
    lowered = password.lower()
    if lowered in common_passwords() or lowered.rstrip("0123456789!?.-_ ") in common_passwords():
        return "is one of the most common passwords; choose another"
    # zxcvbn is slow on very long input and its score only rises with length: judge the first 100 characters
    values = [(value or "").lower() for value in user_inputs]
    words = values + [w for v in values for w in v.replace("@", " ").replace(".", " ").split()]
    words += ["".join(v.split("@")[0].replace(".", " ").split()) for v in values]  # "grace.quality" → "gracequality"
    result = zxcvbn(password[:100], user_inputs=words)
    if result["score"] >= MIN_STRENGTH:
        return None
    feedback = result.get("feedback") or {}
    reasons = [feedback.get("warning") or "is too easy to guess"]
    reasons += feedback.get("suggestions") or []
    reasons.append("A few unrelated words, or a longer phrase, make a strong password.")
    first, *rest = (r.strip() for r in reasons if r and r.strip())
    message = "is too easy to guess" if first[:1].isupper() else first
    details = ([first] if first[:1].isupper() else []) + rest
    return " ".join([f"{message}:", *details]) if details else message


# --- failed attempts and the signing lock ------------------------------------------------------


def client_address() -> str:
    return (request.remote_addr or "")[:64] if has_request_context() else ""


def record_failure(kind: str, user: User | None, email: str = "", detail: str = "") -> None:
    """Write one failed attempt in its own transaction (the trail records it; admins list it)."""
    with recorded_change(NOT_SIGNED_IN if kind in ("sign_in", "second_factor") else user, detail) as session:
        session.add(
            AuthFailure(
                kind=kind,
                user_id=user.id if user is not None else None,
                email=(email or (user.email if user is not None else ""))[:254],
                address=client_address(),
                detail=detail[:200],
            )
        )


def security_policy() -> SecurityPolicy:
    """The administrator's settings (defaults until someone saves them)."""
    return db.session.get(SecurityPolicy, POLICY_ID) or SecurityPolicy(
        id=POLICY_ID, signing_lock_minutes=30, mfa_roles=[]
    )


def set_security_policy(actor: User, *, signing_lock_minutes: Any, mfa_roles: Iterable[str]) -> SecurityPolicy:
    """An administrator sets how long signing locks and which roles need a second factor."""
    if not actor.has_role("admin"):
        raise NotPermitted("Only an administrator can change the security settings")
    errors: dict[str, str] = {}
    minutes = signing_lock_minutes
    if isinstance(minutes, str) and minutes.strip().isdigit() and len(minutes.strip()) < 8:
        minutes = int(minutes.strip())
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 10080:
        errors["signing_lock_minutes"] = "must be a whole number of minutes from 1 to 10080 (a week)"
    roles = sorted(set(mfa_roles or ()))
    if set(roles) - ROLES:
        errors["mfa_roles"] = "must be roles among: " + ", ".join(sorted(ROLES))
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, "security settings changed") as session:
        policy = session.get(SecurityPolicy, POLICY_ID)
        if policy is None:
            policy = SecurityPolicy(id=POLICY_ID, mfa_roles=[])
            session.add(policy)
        newly_required = set(roles) - set(policy.mfa_roles or ())
        policy.signing_lock_minutes = minutes
        policy.mfa_roles = roles
        if newly_required:
            # people of a role that now needs a second factor sign in again, and are asked to set one up
            from .users import active_users_with_roles

            for user in session.scalars(active_users_with_roles()):
                if user.roles & newly_required and not user.mfa_enabled and user.id != actor.id:
                    new_stamp(user)
    return policy


def signing_locked_until(user: User, now: dt.datetime | None = None) -> dt.datetime | None:
    until = user.signing_locked_until
    return until if until is not None and until > (now or utcnow()) else None


def refuse_if_signing_locked(user: User) -> None:
    until = signing_locked_until(user)
    if until is not None:
        raise SigningLocked(
            f"Signing is locked for your account until {until:%Y-%m-%d %H:%M} UTC after {MAX_ATTEMPTS} failed "
            "attempts; wait, or ask an administrator to unlock it"
        )


def note_signing_failure(user_id: int, kind: str, detail: str = "wrong password") -> dt.datetime | None:
    """Count a failed signature, password change or re-entry (own transaction); the lock's end if it locked now."""
    if kind not in SIGNING_FAILURE_KINDS:
        raise ValueError(kind)
    user = db.session.get(User, user_id)
    if user is None:
        return None
    minutes = security_policy().signing_lock_minutes
    with recorded_change(user, f"failed {kind.replace('_', ' ')}: {detail}") as session:
        session.add(AuthFailure(kind=kind, user_id=user.id, email=user.email, address=client_address(), detail=detail))
        user.signing_failures = (user.signing_failures or 0) + 1
        locked = None
        if user.signing_failures >= MAX_ATTEMPTS:
            locked = utcnow() + dt.timedelta(minutes=minutes)
            user.signing_locked_until = locked
            user.signing_failures = 0
    return locked


def note_signing_success(user: User) -> None:
    """A correct password: the count starts again (inside the caller's transaction)."""
    if user.signing_failures:
        user.signing_failures = 0


def check_password_again(user: User, password: str | None, kind: str, field: str = "password") -> None:
    """Password re-entry before something sensitive: refused while locked; each failure counted.

    Raises ``SigningLocked`` or ``InvalidData`` naming ``field``.
    """
    from .users import check_password

    refuse_if_signing_locked(user)
    if not password or not check_password(user, password):
        db.session.rollback()
        locked = note_signing_failure(user.id, kind)
        message = "is not your password" if password else "is required: re-enter your password"
        if locked is not None:
            message += f"; after {MAX_ATTEMPTS} failed attempts signing is locked until {locked:%H:%M} UTC"
        raise InvalidData({field: message})
    note_signing_success(user)


def unlock_signing(user: User, actor: User) -> None:
    if not actor.has_role("admin"):
        raise NotPermitted("Only an administrator can unlock signing")
    with recorded_change(actor, f"signing unlocked for {user.email}"):
        user.signing_locked_until = None
        user.signing_failures = 0


def failures(*, kind: str | None = None, user_id: int | None = None, limit: int = 200, offset: int = 0):
    stmt = select(AuthFailure).order_by(AuthFailure.id.desc())
    if kind:
        stmt = stmt.where(AuthFailure.kind == kind)
    if user_id:
        stmt = stmt.where(AuthFailure.user_id == user_id)
    return list(db.session.scalars(stmt.limit(limit).offset(offset)))


def locked_users() -> list[User]:
    return list(
        db.session.scalars(select(User).where(User.signing_locked_until > utcnow()).order_by(User.name, User.id))
    )


# --- sessions and tokens -----------------------------------------------------------------------


def new_stamp(user: User) -> None:
    """End every session of ``user`` (inside the caller's transaction): theirs carry the old stamp."""
    user.security_stamp = secrets.token_hex(16)


def revoke_all_tokens(user: User) -> int:
    """Revoke the user's usable tokens (inside the caller's transaction); reactivation does not revive them.

    Through the ORM, row by row, so that the audit trail records each revocation (a bulk UPDATE
    bypasses it, and ``qms audit-trail verify`` then reports the tokens as changed outside the application).
    """
    now = utcnow()
    tokens = db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ).all()
    for token in tokens:
        token.revoked_at = now
    return len(tokens)


def _use_up_recovery_codes(session: Any, user: User) -> None:
    """Mark the user's unused recovery codes used, through the ORM so that the audit trail records it."""
    now = utcnow()
    for code in session.scalars(
        select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ):
        code.used_at = now


def end_sessions(user: User, actor: Any, reason: str) -> None:
    """Sign out everywhere: sign-out ends every session of the user, not only this browser's."""
    with recorded_change(actor, reason):
        new_stamp(user)


# --- per-account sign-in throttling --------------------------------------------------------------


def _throttle_storage() -> Storage:
    """The counters' storage, one per app (memory unless QMS_RATELIMIT_STORAGE_URI names Redis)."""
    storage = current_app.extensions.get("qms_account_throttle")
    if storage is None:
        storage = storage_from_string(current_app.config.get("QMS_RATELIMIT_STORAGE_URI") or "memory://")
        current_app.extensions["qms_account_throttle"] = storage
    return storage


def _account_key(email: str) -> str:
    return hashlib.sha256((email or "").strip().lower().encode()).hexdigest()[:32]


def sign_in_wait(email: str) -> int:
    """Seconds before this account may try to sign in again (0: now)."""
    storage = _throttle_storage()
    key = f"qms/account-lock/{_account_key(email)}"
    if not storage.get(key):
        return 0
    return max(1, int(storage.get_expiry(key) - dt.datetime.now(dt.UTC).timestamp()))


def note_sign_in_failure(email: str) -> int:
    """Count a failed sign-in of ``email``; from the fifth, lock it for a doubling wait. Returns the wait."""
    storage = _throttle_storage()
    account = _account_key(email)
    count = storage.incr(f"qms/account-failures/{account}", LOGIN_FAILURE_MEMORY)
    if count < MAX_ATTEMPTS:
        return 0
    wait = min(LOGIN_BACKOFF_START * 2 ** (count - MAX_ATTEMPTS), LOGIN_BACKOFF_MAX)
    storage.clear(f"qms/account-lock/{account}")
    storage.incr(f"qms/account-lock/{account}", wait)
    return wait


def note_sign_in_success(email: str) -> None:
    storage = _throttle_storage()
    account = _account_key(email)
    storage.clear(f"qms/account-failures/{account}")
    storage.clear(f"qms/account-lock/{account}")


def wait_in_words(seconds: int) -> str:
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


# --- second factor (TOTP) ----------------------------------------------------------------------


def mfa_required(user: User) -> bool:
    """Whether the policy requires a second factor of one of the user's roles."""
    return bool(user.roles & set(security_policy().mfa_roles))


def begin_totp(user: User) -> str:
    """A new (not yet confirmed) authenticator secret for ``user``; confirming it turns it on."""
    if user.mfa_enabled:
        raise InvalidData({"code": "your authenticator app is already set up; turn it off first"})
    secret = pyotp.random_base32()
    with recorded_change(user, "authenticator app set-up started"):
        user.totp_secret = secret
        user.totp_enabled_at = None
    return secret


def totp_uri(user: User) -> str:
    return pyotp.TOTP(user.totp_secret or "").provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)


def qr_svg(text: str) -> str:
    """An inline SVG QR code of ``text`` (no image request, no inline style: CSP-safe)."""
    return segno.make(text, error="m").svg_inline(scale=4, title="QR code for your authenticator app")


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").replace(" ", "").lower().encode()).hexdigest()


def _totp_matches(user: User, code: str) -> bool:
    """The code is the current (±30 s) one and was not used before (one use each, ASVS 2.8.4)."""
    code = (code or "").replace(" ", "")
    if not user.totp_secret or not code.isdigit() or len(code) != 6:
        return False
    totp = pyotp.TOTP(user.totp_secret)
    if not totp.verify(code, valid_window=1):
        return False
    storage = _throttle_storage()
    used = f"qms/totp-used/{user.id}/{code}"
    if storage.get(used):
        return False
    storage.incr(used, 120)
    return True


def confirm_totp(user: User, code: str) -> list[str]:
    """Turn the authenticator app on with its first code; returns the recovery codes, shown once."""
    if user.totp_secret is None or user.mfa_enabled:
        raise InvalidData({"code": "start setting up your authenticator app first"})
    if not _totp_matches(user, code):
        raise InvalidData({"code": "is not the code your authenticator app shows now"})
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]
    with recorded_change(user, "authenticator app turned on") as session:
        user.totp_enabled_at = utcnow()
        _use_up_recovery_codes(session, user)
        session.add_all(RecoveryCode(user_id=user.id, code_hash=_code_hash(c)) for c in codes)
    return codes


def check_second_factor(user: User, code: str) -> bool:
    """An authenticator code, or an unused recovery code (then used up). Records a failure."""
    code = (code or "").strip()[:32]
    if _totp_matches(user, code):
        return True
    if code and not code.replace(" ", "").isdigit():
        recovery = db.session.scalar(
            select(RecoveryCode).where(
                RecoveryCode.user_id == user.id,
                RecoveryCode.code_hash == _code_hash(code),
                RecoveryCode.used_at.is_(None),
            )
        )
        if recovery is not None:
            with recorded_change(user, "recovery code used to sign in"):
                recovery.used_at = utcnow()
            return True
    db.session.rollback()
    record_failure("second_factor", user, detail="wrong authenticator or recovery code")
    return False


def recovery_codes_left(user: User) -> int:
    return len(
        db.session.scalars(
            select(RecoveryCode.id).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        ).all()
    )


def turn_off_totp(user: User, actor: User) -> None:
    """The user (after re-entering their password) or an administrator turns the second factor off."""
    if actor.id != user.id and not actor.has_role("admin"):
        raise NotPermitted("Only the user or an administrator can turn off a second factor")
    reason = "authenticator app turned off" + (" by an administrator" if actor.id != user.id else "")
    with recorded_change(actor, reason) as session:
        user.totp_secret = None
        user.totp_enabled_at = None
        _use_up_recovery_codes(session, user)
        new_stamp(user)


def start_totp_after_password(user: User, password: str | None) -> str:
    """Begin setting up the authenticator app after the password is re-entered (the API's way in:
    a token alone, perhaps stolen, must not be enough to bind a second factor to the account)."""
    if user.mfa_enabled:
        raise InvalidTransition("Your authenticator app is already set up; turn it off first to set up another")
    check_password_again(user, password, "reauthentication")  # a success resets the count, in the change below
    return begin_totp(user)


def turn_off_own_totp(user: User, password: str | None, code: str | None) -> None:
    """The person turns their own second factor off with their password and a current code (or a recovery
    code); refused while a role of theirs requires one.  Each failure counts and is recorded."""
    if not user.mfa_enabled:
        raise InvalidTransition("Your authenticator app is not set up: there is nothing to turn off")
    if mfa_required(user):
        raise NotPermitted("Your role requires an authenticator app; an administrator can reset it if you lost it")
    check_password_again(user, password, "reauthentication")
    if not check_second_factor(user, code or ""):
        raise InvalidData({"code": "is not the code your authenticator app shows now, nor an unused recovery code"})
    turn_off_totp(user, user)


def role_labels(roles: Iterable[str]) -> str:
    return ", ".join(ROLE_LABELS.get(r, r) for r in sorted(roles)) or "none"
