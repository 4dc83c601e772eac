"""Part 11 signing and the identity rules, through the services: each attack of the issue fails."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest
from sqlalchemy import func, select

from qms.database import db, utcnow
from qms.models import AuditEntry, AuthFailure, User
from qms.services import fire
from qms.services.audit_trail import verify
from qms.services.identity import (
    SigningLocked,
    begin_totp,
    confirm_totp,
    password_weakness,
    security_policy,
    set_security_policy,
    turn_off_totp,
    unlock_signing,
)
from qms.services.nonconformities import raise_nonconformity
from qms.services.tokens import create_token, token_for
from qms.services.users import authenticate, change_password, create_user, reset_password, update_user
from workflows.errors import GuardFailed, InvalidData, NotPermitted

from ..conftest import PASSWORD
from ..helpers import nc_in_state, new_nc, user_with_password


def _failures(user: User, kind: str) -> int:
    db.session.rollback()
    return db.session.scalar(
        select(func.count()).select_from(AuthFailure).where(AuthFailure.user_id == user.id, AuthFailure.kind == kind)
    )


def test_the_sixth_signature_is_refused_even_with_the_right_password(org):
    nc = nc_in_state(org, "effectiveness_verified")
    for attempt in range(5):
        with pytest.raises(InvalidData) as exc:
            fire(nc, "close", org.quality, signature_password=f"wrong-password-{attempt}")
    assert "locked until" in exc.value.errors["signature_password"]  # the fifth says so
    with pytest.raises(SigningLocked) as locked:
        fire(nc, "close", org.quality, signature_password=PASSWORD)
    assert "Signing is locked for your account" in locked.value.message
    assert nc.state == "effectiveness_verified"
    # each failure is in the failures log and in the audit trail, attributed to the signer
    assert _failures(org.quality, "signature") == 5
    reasons = db.session.scalars(
        select(AuditEntry.reason).where(
            AuditEntry.record_type == "auth_failures", AuditEntry.actor_id == org.quality.id
        )
    ).all()
    assert len(reasons) == 5 and all("failed signature" in r for r in reasons)
    # the lock lasts the administrator's period
    user = db.session.get(User, org.quality.id)
    minutes = (user.signing_locked_until - utcnow()).total_seconds() / 60
    assert 29 < minutes <= 30 == security_policy().signing_lock_minutes
    # other people still sign; an administrator unlocks
    with pytest.raises(NotPermitted):
        unlock_signing(user, org.manager)
    unlock_signing(user, org.admin)
    assert fire(nc, "close", org.quality, signature_password=PASSWORD).to_state == "closed"
    assert db.session.get(User, org.quality.id).signing_failures == 0


def test_a_correct_signature_starts_the_count_again(org):
    nc = nc_in_state(org, "effectiveness_verified")
    for _ in range(4):
        with pytest.raises(InvalidData):
            fire(nc, "close", org.quality, signature_password="wrong-password")
    fire(nc_in_state(org, "effectiveness_verified"), "close", org.quality, signature_password=PASSWORD)
    with pytest.raises(InvalidData):
        fire(nc, "close", org.quality, signature_password="wrong-password")
    assert db.session.get(User, org.quality.id).signing_locked_until is None


def test_failed_password_changes_lock_signing_too(org):
    for _ in range(5):
        with pytest.raises(InvalidData):
            change_password(org.quality, "not-my-password", "tidal-quartz-lantern-91")
    assert _failures(org.quality, "password_change") == 5
    with pytest.raises(SigningLocked):
        change_password(org.quality, PASSWORD, "tidal-quartz-lantern-91")
    with pytest.raises(SigningLocked):
        fire(nc_in_state(org, "effectiveness_verified"), "close", org.quality, signature_password=PASSWORD)


def test_the_administrator_sets_the_lock_period(org):
    with pytest.raises(NotPermitted):
        set_security_policy(org.manager, signing_lock_minutes=5, mfa_roles=[])
    with pytest.raises(InvalidData) as exc:
        set_security_policy(org.admin, signing_lock_minutes="0", mfa_roles=["wizard"])
    assert set(exc.value.errors) == {"signing_lock_minutes", "mfa_roles"}
    set_security_policy(org.admin, signing_lock_minutes="5", mfa_roles=[])
    nc = nc_in_state(org, "effectiveness_verified")
    for _ in range(5):
        with pytest.raises(InvalidData):
            fire(nc, "close", org.quality, signature_password="wrong-password")
    until = db.session.get(User, org.quality.id).signing_locked_until
    assert dt.timedelta(minutes=4) < until - utcnow() <= dt.timedelta(minutes=5)


def test_the_verifier_cannot_sign_the_closure(org):
    nc = nc_in_state(org, "effectiveness_verified")  # the manager verified effectiveness
    with pytest.raises(GuardFailed) as exc:
        fire(nc, "close", org.manager, signature_password=PASSWORD)
    assert exc.value.guard == "closer_is_not_verifier"
    assert "someone else must approve the closure" in exc.value.reason
    assert fire(nc, "close", org.quality, signature_password=PASSWORD).to_state == "closed"


def test_the_raiser_cannot_close_their_own_observation(org):
    nc = new_nc(org, title="Label slightly faded")  # raised by the auditor
    fire(nc, "triage", org.quality, {"severity": "observation"})
    mine = raise_nonconformity(
        org.quality, title="Faded label", description="Label on rack 3 faded.", source="internal_audit"
    )
    fire(mine, "triage", org.quality, {"severity": "observation"})
    with pytest.raises(GuardFailed) as exc:
        fire(mine, "close_observation", org.quality, {"justification": "Isolated"}, signature_password=PASSWORD)
    assert exc.value.guard == "closer_is_not_raiser"
    assert "You raised this observation" in exc.value.reason
    # another quality officer may; and the raiser's own close of someone else's observation is fine
    fire(mine, "close_observation", org.quality2, {"justification": "Isolated"}, signature_password=PASSWORD)
    fire(nc, "close_observation", org.quality, {"justification": "Isolated"}, signature_password=PASSWORD)
    assert (mine.state, nc.state) == ("closed", "closed")


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("aaaaaaaaaaaa", "Repeats"),
        ("aaaaaaaaaa", "most common passwords"),
        ("password1234", "most common passwords"),
        ("qwertyuiop", "most common passwords"),
        ("demo-password", "most common passwords"),
        ("grace@example.test", "too easy to guess"),  # the person's own e-mail address
    ],
)
def test_weak_passwords_are_refused_with_a_reason(org, password, reason):
    with pytest.raises(InvalidData) as exc:
        create_user("grace@example.test", "Grace Quality", password, {"viewer"}, org.admin)
    assert reason in exc.value.errors["password"]
    if "@" not in password:  # the e-mail address is Grace's, not the viewer's
        with pytest.raises(InvalidData) as exc:
            reset_password(org.viewer, org.admin, password)
        assert reason in exc.value.errors["password"]


def test_strong_passwords_pass_and_the_demo_seeding_may_skip_the_check(org):
    assert password_weakness("tidal-quartz-lantern-91") is None
    legacy = user_with_password("legacy@example.test", "Legacy", "demo-password", {"viewer"})
    assert authenticate("legacy@example.test", "demo-password").id == legacy.id  # signing in is not refused


def test_failed_sign_ins_are_recorded_in_the_audit_trail(org):
    assert authenticate(org.viewer.email, "wrong-password") is None
    assert authenticate("nobody@example.test", "wrong-password") is None
    rows = db.session.scalars(select(AuthFailure).where(AuthFailure.kind == "sign_in").order_by(AuthFailure.id)).all()
    assert [(r.user_id, r.email, r.detail) for r in rows] == [
        (org.viewer.id, org.viewer.email, "wrong password"),
        (None, "nobody@example.test", "no account with this e-mail address"),
    ]
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.record_type == "auth_failures")).all()
    assert [e.actor_name for e in entries] == ["not signed in", "not signed in"]
    assert "wrong-password" not in " ".join(e.new_value for e in entries)  # never the typed password


def test_password_reset_deactivation_and_role_changes_revoke_tokens_for_good(org):
    _, plaintext = create_token(org.owner, "script")
    reset_password(org.owner, org.admin, "tidal-quartz-lantern-91")
    assert token_for(plaintext) is None
    _, plaintext = create_token(org.owner, "script")
    update_user(org.owner, org.admin, name=org.owner.name, roles={"process_owner"}, active=False)
    update_user(org.owner, org.admin, name=org.owner.name, roles={"process_owner"}, active=True)
    assert token_for(plaintext) is None  # reactivation revives nothing
    _, plaintext = create_token(org.owner, "script")
    update_user(org.owner, org.admin, name="Renamed Owner", roles={"process_owner"}, active=True)
    assert token_for(plaintext) is not None  # a new name is no reason
    update_user(org.owner, org.admin, name="Renamed Owner", roles={"process_owner", "viewer"}, active=True)
    assert token_for(plaintext) is None


def test_tokens_expire_and_are_bounded(org):
    token, plaintext = create_token(org.owner, "script", days=1)
    assert dt.timedelta(hours=23) < token.expires_at - utcnow() <= dt.timedelta(days=1)
    default, _ = create_token(org.owner, "default")
    assert (default.expires_at - default.created_at).days == 90 and default.scope == "read-write"
    token.expires_at = utcnow() - dt.timedelta(seconds=1)
    db.session.commit()
    assert token_for(plaintext) is None
    with pytest.raises(InvalidData) as exc:
        create_token(org.owner, "x", scope="admin", days=366)
    assert set(exc.value.errors) == {"scope", "days"}


def test_create_token_on_the_command_line_names_the_operator(org, runner):
    result = runner.invoke(
        args=["create-token", org.owner.email, "--name", "nightly", "--scope", "read", "--days", "7"]
    )
    assert result.exit_code == 0, result.output
    plaintext = result.output.strip().splitlines()[-1]
    token = token_for(plaintext)
    assert (token.user_id, token.scope, token.name) == (org.owner.id, "read", "nightly")
    entry = db.session.scalar(
        select(AuditEntry)
        .where(AuditEntry.record_type == "api_tokens", AuditEntry.action == "create")
        .order_by(AuditEntry.seq.desc())
    )
    assert (entry.actor_id, entry.actor_name) == (None, "command line")
    assert org.owner.email in entry.reason


def test_changing_the_policy_signs_out_people_who_now_need_a_second_factor(org):
    stamps = {u.id: u.security_stamp for u in (org.quality, org.quality2, org.viewer, org.admin)}
    set_security_policy(org.admin, signing_lock_minutes=30, mfa_roles=["quality_officer", "admin"])
    db.session.expire_all()
    changed = {uid for uid, stamp in stamps.items() if db.session.get(User, uid).security_stamp != stamp}
    assert changed == {org.quality.id, org.quality2.id}  # not the viewer; not the admin making the change


def test_token_and_recovery_code_changes_are_in_the_audit_trail(org):
    """Revoking every token (a password reset) and using up recovery codes (a second set, the app turned
    off) are the application's own changes: the trail names them, and ``verify`` finds every row as the
    trail says, not as changed outside the application."""
    token, _ = create_token(org.owner, "script")
    reset_password(org.owner, org.admin, "tidal-quartz-lantern-91")
    revoked = db.session.scalars(
        select(AuditEntry).where(AuditEntry.record_type == "api_tokens", AuditEntry.record_id == str(token.id))
    ).all()
    revocations = [e for e in revoked if e.action == "update" and "revoked_at" in e.fields.split(",")]
    assert [e.actor_id for e in revocations] == [org.admin.id]
    for _ in range(2):  # the second set uses up the first
        secret = begin_totp(org.owner)
        confirm_totp(org.owner, pyotp.TOTP(secret).now())
        turn_off_totp(org.owner, org.admin)
    used = db.session.scalars(
        select(AuditEntry).where(AuditEntry.record_type == "mfa_recovery_codes", AuditEntry.action == "update")
    ).all()
    assert used and all("used_at" in e.fields.split(",") for e in used)
    result = verify(db.session)
    assert result.ok, result.problems
