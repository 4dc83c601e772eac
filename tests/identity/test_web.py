"""Sessions that really end, per-account sign-in lockout, the second factor and the admins' security page."""

from __future__ import annotations

import time

import pyotp
import pytest
from flask import g
from flask.testing import FlaskClient
from sqlalchemy import select

from qms.database import db
from qms.models import AuthFailure, User
from qms.services.identity import set_security_policy
from qms.services.users import reset_password, update_user
from workflows.errors import InvalidData

from ..conftest import PASSWORD, login


class Client(FlaskClient):
    """A test client whose requests never see the user another client signed in (the tests hold one
    application context, whose ``g`` flask-login uses to cache the user), nor a stale row."""

    def open(self, *args, **kwargs):
        g.pop("_login_user", None)
        db.session.expire_all()
        return super().open(*args, **kwargs)


def _client(app, user=None):
    app.test_client_class = Client
    client = app.test_client()
    if user is not None:
        assert login(client, user.email).status_code == 302
    return client


def _signed_in(client) -> bool:
    return client.get("/my-work").status_code == 200


def test_a_replayed_cookie_after_sign_out_is_signed_out(app, org):
    client = _client(app, org.quality)
    stolen = client.get_cookie("session").value
    other_device = _client(app, org.quality)
    assert _signed_in(client) and _signed_in(other_device)
    client.post("/logout")
    assert not _signed_in(client)
    client.set_cookie("session", stolen)  # the cookie as it was before signing out
    response = client.get("/my-work")
    assert response.status_code == 302 and "/login" in response.location
    assert not _signed_in(other_device)  # signing out ends every session of the account


def test_a_cookie_copied_to_another_browser_or_address_is_signed_out(app, org):
    """The session protection is "strong": a session cookie works only from the browser and the
    address it was signed in from (flask-login alone lets a permanent session go on elsewhere)."""
    client = _client(app, org.quality)
    stolen = client.get_cookie("session").value
    for elsewhere in ({"headers": {"User-Agent": "curl/8.5"}}, {"environ_base": {"REMOTE_ADDR": "192.0.2.7"}}):
        thief = _client(app)
        thief.set_cookie("session", stolen)
        response = thief.get("/my-work", **elsewhere)
        assert response.status_code == 302 and "/login" in response.location
    assert _signed_in(client)  # where it was signed in, it goes on


def test_a_copied_cookie_is_not_let_in_by_claiming_the_victims_address(app, org):
    """The address bound is the one the proxy settings trust (``remote_addr``), not an
    ``X-Forwarded-For`` the client writes itself (flask-login's identifier takes its first entry)."""
    client = _client(app, org.quality)
    stolen = client.get_cookie("session").value
    thief = _client(app)
    thief.set_cookie("session", stolen)
    victim = {"X-Forwarded-For": "127.0.0.1"}  # the test client's address, as the victim's
    response = thief.get("/my-work", headers=victim, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert response.status_code == 302 and "/login" in response.location
    assert _signed_in(client)


def test_old_sessions_end_after_a_password_reset(app, org):
    client = _client(app, org.viewer)
    reset_password(org.viewer, org.admin, "tidal-quartz-lantern-91")
    assert not _signed_in(client)
    assert login(client, org.viewer.email, "tidal-quartz-lantern-91").status_code == 302


def test_deactivation_then_reactivation_revives_no_session(app, org):
    client = _client(app, org.owner)
    stolen = client.get_cookie("session").value
    update_user(org.owner, org.admin, name=org.owner.name, roles={"process_owner"}, active=False)
    assert not _signed_in(client)
    update_user(org.owner, org.admin, name=org.owner.name, roles={"process_owner"}, active=True)
    client.set_cookie("session", stolen)
    assert not _signed_in(client)


def test_a_password_change_keeps_this_session_and_ends_the_others(app, org):
    here, elsewhere = _client(app, org.quality), _client(app, org.quality)
    new = "tidal-quartz-lantern-91"
    response = here.post("/account/password", data={"current": PASSWORD, "new": new, "confirm": new})
    assert response.status_code == 302
    assert _signed_in(here) and not _signed_in(elsewhere)


def test_role_changes_end_sessions(app, org):
    client = _client(app, org.owner)
    update_user(org.owner, org.admin, name=org.owner.name, roles={"process_owner", "viewer"}, active=True)
    assert not _signed_in(client)


@pytest.mark.parametrize(
    ("key", "seconds", "message"), [("qms_seen", 31 * 60, "without activity"), ("qms_started", 13 * 3600, "has ended")]
)
def test_idle_and_absolute_session_limits(app, org, key, seconds, message):
    client = _client(app, org.quality)
    with client.session_transaction() as session:
        session[key] = int(time.time()) - seconds
    response = client.get("/my-work")
    assert response.status_code == 302 and "/login" in response.location
    assert message in client.get("/login").get_data(as_text=True)
    assert not _signed_in(client)


def test_session_limits_are_configurable(app, org):
    app.config["QMS_SESSION_IDLE_MINUTES"] = 5
    client = _client(app, org.quality)
    with client.session_transaction() as session:
        session["qms_seen"] = int(time.time()) - 6 * 60
    assert not _signed_in(client)


def test_per_account_lockout_with_backoff(app, org):
    client = _client(app)
    for _ in range(5):
        assert login(client, org.quality.email, "wrong-password").status_code == 200
    locked = login(client, org.quality.email, PASSWORD)  # the right password, too late
    assert locked.status_code == 429 and "try again in 1 minute" in locked.get_data(as_text=True)
    assert login(client, org.quality2.email).status_code == 302  # another account is not affected
    assert not db.session.get(User, org.quality.id).last_login_at
    rows = db.session.scalars(select(AuthFailure).where(AuthFailure.user_id == org.quality.id)).all()
    assert [r.kind for r in rows] == ["sign_in"] * 5
    # each further failure doubles the wait
    from qms.services.identity import note_sign_in_failure, sign_in_wait

    with app.test_request_context():
        assert note_sign_in_failure(org.quality.email) == 120
        assert 60 < sign_in_wait(org.quality.email) <= 120


def test_weak_passwords_get_reasons_on_the_form(app, org):
    client = _client(app, org.admin)
    response = client.post(
        "/admin/users", data={"email": "new@example.test", "name": "New", "password": "aaaaaaaaaaaa", "roles": "viewer"}
    )
    assert response.status_code == 422 and "Repeats like" in response.get_data(as_text=True)


def _enrol(app, user, *, required: bool = False) -> tuple[object, str, list[str]]:
    client = _client(app, user)
    if required:  # nothing else is open until the app is set up
        assert client.get("/my-work").location.endswith("/account/mfa")
    page = client.post("/account/mfa/start").get_data(as_text=True)
    assert "<svg" in page and "Type the six-digit code" in page
    db.session.expire_all()
    secret = db.session.get(User, user.id).totp_secret
    wrong = client.post("/account/mfa/confirm", data={"code": "000000"})
    assert wrong.status_code == 422
    done = client.post("/account/mfa/confirm", data={"code": pyotp.TOTP(secret).now()})
    page = done.get_data(as_text=True)
    assert done.status_code == 200 and "Your recovery codes" in page
    codes = [line.split("<code>")[1].split("</code>")[0] for line in page.split("<li>")[1:] if "<code>" in line]
    assert len(codes) == 10
    return client, secret, codes


def test_a_role_that_requires_a_second_factor_gets_one_and_signing_in_asks_for_it(app, org):
    set_security_policy(org.admin, signing_lock_minutes=30, mfa_roles=["quality_officer"])
    client, secret, codes = _enrol(app, org.quality, required=True)
    assert _signed_in(client)
    client.post("/logout")

    # the password alone no longer signs in
    first = login(client, org.quality.email)
    assert first.status_code == 302 and first.location.endswith("/login/second-factor")
    assert not _signed_in(client)
    wrong = client.post("/login/second-factor", data={"code": "123456"})
    assert wrong.status_code == 422
    failure = db.session.scalar(select(AuthFailure).where(AuthFailure.kind == "second_factor"))
    assert failure.user_id == org.quality.id
    # a code is accepted once (the current one was used to turn the app on: the next one)
    code = pyotp.TOTP(secret).at(int(time.time()) + 30)
    assert client.post("/login/second-factor", data={"code": code}).status_code == 302
    assert _signed_in(client)
    client.post("/logout")
    login(client, org.quality.email)
    assert client.post("/login/second-factor", data={"code": code}).status_code == 422

    # a recovery code works once
    login(client, org.quality.email)
    assert client.post("/login/second-factor", data={"code": codes[0]}).status_code == 302
    client.post("/logout")
    login(client, org.quality.email)
    assert client.post("/login/second-factor", data={"code": codes[0]}).status_code == 422

    # people of other roles are not asked
    assert _signed_in(_client(app, org.viewer))


def test_the_second_factor_step_cannot_be_skipped(app, org):
    _client_with_app, _secret, _codes = _enrol(app, org.owner)
    client = _client(app)
    assert login(client, org.owner.email).location.endswith("/login/second-factor")
    assert client.get("/account/").status_code == 302  # not signed in yet
    fresh = _client(app)
    assert fresh.get("/login/second-factor").status_code == 302  # no password step: back to sign-in


def test_an_admin_resets_a_lost_second_factor(app, org):
    _enrolled, _secret, _codes = _enrol(app, org.owner)
    admin = _client(app, org.admin)
    assert admin.post(f"/admin/users/{org.owner.id}/mfa/reset").status_code == 302
    db.session.expire_all()
    assert not db.session.get(User, org.owner.id).mfa_enabled
    assert login(_client(app), org.owner.email).status_code == 302


def test_admins_see_failures_and_locked_accounts_and_unlock(app, org):
    from qms.services import fire

    from ..helpers import nc_in_state

    nc = nc_in_state(org, "effectiveness_verified")
    for _ in range(5):
        with pytest.raises(InvalidData):
            fire(nc, "close", org.quality, signature_password="wrong-password")
    login(_client(app), "nobody@example.test", "wrong-password")
    admin = _client(app, org.admin)
    page = admin.get("/admin/security").get_data(as_text=True)
    assert "Accounts whose signing is locked" in page and org.quality.name in page
    assert "Electronic signature" in page and "nobody@example.test" in page and "(no such account)" in page
    only = admin.get("/admin/security?kind=sign_in").get_data(as_text=True)
    assert "nobody@example.test" in only and "Electronic signature</td>" not in only
    saved = admin.post("/admin/security", data={"signing_lock_minutes": "60", "mfa_roles": ["admin"]})
    assert saved.status_code == 302
    bad = admin.post("/admin/security", data={"signing_lock_minutes": "0"})
    assert bad.status_code == 422
    assert admin.post(f"/admin/users/{org.quality.id}/unlock-signing").status_code == 302
    db.session.expire_all()
    assert db.session.get(User, org.quality.id).signing_locked_until is None
    assert _client(app, org.manager).get("/admin/security").status_code == 403


def test_tokens_are_made_in_a_session_after_re_entering_the_password(app, org):
    client = _client(app, org.owner)
    for _ in range(5):
        refused = client.post(
            "/account/tokens", data={"name": "CI", "scope": "read", "days": "30", "password": "nope-nope"}
        )
        assert refused.status_code == 422
    locked = client.post("/account/tokens", data={"name": "CI", "scope": "read", "days": "30", "password": PASSWORD})
    assert locked.status_code == 422 and "Signing is locked" in locked.get_data(as_text=True)
    kinds = db.session.scalars(select(AuthFailure.kind).where(AuthFailure.user_id == org.owner.id)).all()
    assert kinds == ["reauthentication"] * 5


def test_with_redis_the_account_lockout_is_shared_by_every_server(app, org):
    """The counters live in Redis when configured: a second server (a fresh storage) sees the lock."""
    import uuid

    from ..core.test_jobs import REDIS_URL, _redis_or_skip

    _redis_or_skip()
    app.config["QMS_RATELIMIT_STORAGE_URI"] = REDIS_URL
    email = f"nobody-{uuid.uuid4().hex[:8]}@example.test"  # keys of this test's own: the Redis db is shared
    client = _client(app)
    for _ in range(5):
        assert login(client, email, "wrong-password").status_code == 200
    app.extensions.pop("qms_account_throttle")  # as if another server process answered
    assert login(client, email, "wrong-password").status_code == 429
    assert type(app.extensions["qms_account_throttle"]).__name__ == "RedisStorage"
    from qms.services.identity import note_sign_in_success

    with app.test_request_context():
        note_sign_in_success(email)  # leave nothing behind


def test_an_admin_changing_their_own_roles_stays_signed_in_here_only(app, org):
    here, elsewhere = _client(app, org.admin), _client(app, org.admin)
    response = here.post(
        f"/admin/users/{org.admin.id}", data={"name": "Admin", "roles": ["admin", "manager"], "active": "y"}
    )
    assert response.status_code == 302
    assert _signed_in(here) and not _signed_in(elsewhere)
