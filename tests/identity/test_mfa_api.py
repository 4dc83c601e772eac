"""Setting up and turning off one's own authenticator app through the REST API (issue 14, item 4)."""

from __future__ import annotations

import time
import urllib.parse

import pyotp
from sqlalchemy import select

from qms.database import db
from qms.models import AuditEntry, AuthFailure, User
from qms.services.identity import set_security_policy
from qms.services.tokens import create_token

from ..conftest import PASSWORD
from ..helpers import error, ok

MFA = "/api/v1/account/mfa"


def _reasons(user_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEntry.reason)
            .where(AuditEntry.record_type == "users", AuditEntry.record_id == str(user_id))
            .order_by(AuditEntry.seq)
        )
    )


def test_set_up_confirm_and_turn_off_through_the_api(api, org):
    assert ok(api.get("quality", MFA)) == {
        "enabled": False,
        "setting_up": False,
        "required": False,
        "recovery_codes_left": 0,
    }
    started = ok(api.post("quality", f"{MFA}/start", json={"password": PASSWORD}), 201)
    secret = started["secret"]
    uri = urllib.parse.urlparse(started["otpauth_uri"])
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert urllib.parse.parse_qs(uri.query)["secret"] == [secret]
    assert org.quality.email in urllib.parse.unquote(uri.path)
    assert started["qr_svg"].startswith("<svg") and "</svg>" in started["qr_svg"]
    assert ok(api.get("quality", MFA))["setting_up"] is True
    assert db.session.get(User, org.quality.id).mfa_enabled is False  # not on before its first code

    wrong = error(api.post("quality", f"{MFA}/confirm", json={"code": "000000"}), 422)
    assert "is not the code" in wrong["errors"]["code"]
    codes = ok(api.post("quality", f"{MFA}/confirm", json={"code": pyotp.TOTP(secret).now()}))["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert ok(api.get("quality", MFA)) == {
        "enabled": True,
        "setting_up": False,
        "required": False,
        "recovery_codes_left": 10,
    }
    # shown once: nothing gives them again, and the secret is never in an answer
    assert "recovery_codes" not in ok(api.get("quality", MFA))
    assert secret not in str(ok(api.get("admin", f"/api/v1/users/{org.quality.id}")))
    error(api.post("quality", f"{MFA}/start", json={"password": PASSWORD}), 409)  # already on

    next_code = pyotp.TOTP(secret).at(int(time.time()) + 30)  # the current one turned the app on
    body = error(api.post("quality", f"{MFA}/disable", json={"password": "wrong-password", "code": next_code}), 422)
    assert set(body["errors"]) == {"password"}
    body = error(api.post("quality", f"{MFA}/disable", json={"password": PASSWORD, "code": "123456"}), 422)
    assert set(body["errors"]) == {"code"}
    assert db.session.get(User, org.quality.id).mfa_enabled is True
    assert ok(api.post("quality", f"{MFA}/disable", json={"password": PASSWORD, "code": next_code}))["enabled"] is False
    assert ok(api.get("quality", MFA))["enabled"] is False  # the token outlives the change (it is not a session)
    error(api.post("quality", f"{MFA}/disable", json={"password": PASSWORD, "code": next_code}), 409)

    reasons = _reasons(org.quality.id)
    for step in ("authenticator app set-up started", "authenticator app turned on", "authenticator app turned off"):
        assert step in reasons
    kinds = [f.kind for f in db.session.scalars(select(AuthFailure).where(AuthFailure.user_id == org.quality.id))]
    assert kinds.count("reauthentication") == 1 and kinds.count("second_factor") == 1


def test_a_recovery_code_turns_it_off_once(api, org):
    secret = ok(api.post("auditor", f"{MFA}/start", json={"password": PASSWORD}), 201)["secret"]
    codes = ok(api.post("auditor", f"{MFA}/confirm", json={"code": pyotp.TOTP(secret).now()}))["recovery_codes"]
    assert not ok(api.post("auditor", f"{MFA}/disable", json={"password": PASSWORD, "code": codes[3]}))["enabled"]
    assert db.session.scalar(select(AuditEntry.seq).where(AuditEntry.reason == "recovery code used to sign in"))
    error(api.post("auditor", f"{MFA}/disable", json={"password": PASSWORD, "code": codes[3]}), 409)


def test_starting_needs_the_password_and_counts_failures(api, org):
    for body in ({}, {"password": ""}, {"password": "wrong-password"}, {"password": PASSWORD, "user_id": 1}):
        response = error(api.post("manager", f"{MFA}/start", json=body), 422)
        assert response["errors"], body
    user = db.session.get(User, org.manager.id)
    assert user.totp_secret is None and user.signing_failures == 2  # the empty and the wrong password
    error(api.post("manager", f"{MFA}/confirm", json={"code": "123456"}), 422)  # nothing started


def test_a_token_acts_on_its_own_account_only(api, org, client):
    """An administrator's token sets up the administrator's own app, never a colleague's; a read token nothing."""
    ok(api.post("admin", f"{MFA}/start", json={"password": PASSWORD}), 201)
    assert db.session.get(User, org.admin.id).totp_secret is not None
    assert db.session.get(User, org.quality.id).totp_secret is None
    error(api.post("admin", f"/api/v1/users/{org.quality.id}/mfa/start", json={"password": PASSWORD}), 404)

    _token, read_only = create_token(org.quality, "read", scope="read")
    response = client.post(
        f"{MFA}/start", json={"password": PASSWORD}, headers={"Authorization": f"Bearer {read_only}"}
    )
    assert response.status_code == 403
    assert db.session.get(User, org.quality.id).totp_secret is None


def test_a_required_second_factor_cannot_be_turned_off_through_the_api(api, org):
    secret = ok(api.post("owner", f"{MFA}/start", json={"password": PASSWORD}), 201)["secret"]
    ok(api.post("owner", f"{MFA}/confirm", json={"code": pyotp.TOTP(secret).now()}))
    set_security_policy(org.admin, signing_lock_minutes=30, mfa_roles=["process_owner"])
    assert ok(api.get("owner", MFA))["required"] is True
    code = pyotp.TOTP(secret).at(int(time.time()) + 30)
    body = error(api.post("owner", f"{MFA}/disable", json={"password": PASSWORD, "code": code}), 403)
    assert "requires an authenticator app" in body["message"]
    assert db.session.get(User, org.owner.id).mfa_enabled is True


def test_the_openapi_document_describes_the_second_factor(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in (MFA, f"{MFA}/start", f"{MFA}/confirm", f"{MFA}/disable"):
        assert path.removeprefix("/api/v1") in spec["paths"] or path in spec["paths"], path
    assert any(tag["name"] == "Second factor" for tag in spec["tags"])
