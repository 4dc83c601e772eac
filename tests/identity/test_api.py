"""The identity rules through the REST API: signing, the lock, tokens, the admins' security resources."""

from __future__ import annotations

import datetime as dt

from qms.database import db, utcnow
from qms.models import ApiToken
from qms.services.tokens import create_token
from qms.services.workflow import SIGNATURE_EMAIL_WRONG, SIGNATURE_PASSWORD_WRONG

from ..conftest import PASSWORD
from ..helpers import error, nc_in_state, ok


def _nc(nc) -> str:
    return f"/api/v1/nonconformities/{nc.id}"


def test_the_sixth_signature_through_the_api_is_refused_even_with_the_right_password(api, org):
    url = _nc(nc_in_state(org, "effectiveness_verified"))
    for _ in range(4):
        body = error(api.fire("quality", url, "close", signature_password="wrong-password"), 422)
        assert body["errors"] == {"signature_password": SIGNATURE_PASSWORD_WRONG}
    body = error(api.fire("quality", url, "close", signature_password="wrong-password"), 422)
    assert "locked until" in body["errors"]["signature_password"]
    body = error(api.fire("quality", url, "close", signature_password=PASSWORD), 403)
    assert "Signing is locked for your account" in body["message"]
    assert ok(api.get("quality", url))["state"] == "effectiveness_verified"
    assert ok(api.get("admin", f"/api/v1/users/{org.quality.id}"))["signing_locked_until"] is not None

    failures = ok(api.get("admin", f"/api/v1/security/failures?kind=signature&user_id={org.quality.id}"))
    assert failures["total"] == 5 and {f["kind_label"] for f in failures["items"]} == {"Electronic signature"}
    error(api.get("quality", "/api/v1/security/failures"), 403)
    error(api.post("manager", f"/api/v1/users/{org.quality.id}/unlock-signing"), 403)
    assert ok(api.post("admin", f"/api/v1/users/{org.quality.id}/unlock-signing"))["signing_locked_until"] is None
    assert ok(api.fire("quality", url, "close", signature_password=PASSWORD))["state"] == "closed"


def test_every_api_signature_needs_the_e_mail_address_and_the_password(api, org):
    url = _nc(nc_in_state(org, "effectiveness_verified"))
    body = error(api.fire("quality", url, "close", signature_password=PASSWORD, signature_email=None), 422)
    assert set(body["errors"]) == {"signature_email"}
    body = error(api.fire("quality", url, "close", signature_password=PASSWORD, signature_email=org.manager.email), 422)
    assert body["errors"]["signature_email"] == SIGNATURE_EMAIL_WRONG
    history = ok(
        api.fire("quality", url, "close", signature_password=PASSWORD, signature_email=org.quality.email.upper())
    )
    assert history["state"] == "closed"
    last = ok(api.get("viewer", f"{url}/history"))[-1]
    assert (last["signed_by_name"], last["signed_by_email"]) == (org.quality.name, org.quality.email)


def test_the_verifier_cannot_close_through_the_api(api, org):
    url = _nc(nc_in_state(org, "effectiveness_verified"))
    body = error(api.fire("manager", url, "close", signature_password=PASSWORD), 409)
    assert body["message"] == "You verified its effectiveness, so someone else must approve the closure"
    close = next(e for e in ok(api.get("manager", url))["available_events"] if e["event"] == "close")
    assert close["allowed"] is False and "someone else" in close["reason"]


def test_a_token_cannot_mint_a_token(api, org):
    body = error(api.post("quality", "/api/v1/tokens", json={"name": "spare"}), 403)
    assert "cannot create tokens" in body["message"]
    assert [t["name"] for t in ok(api.get("quality", "/api/v1/tokens"))] == ["tests"]


def test_an_expired_token_is_refused(api, org):
    token, plaintext = create_token(org.owner, "short-lived", days=1)
    assert api.get(plaintext, "/api/v1/nonconformities").status_code == 200
    token = db.session.get(ApiToken, token.id)
    token.expires_at = utcnow() - dt.timedelta(seconds=1)
    db.session.commit()
    response = api.get(plaintext, "/api/v1/nonconformities")
    body = error(response, 401)
    assert "expired" in body["message"] and 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    listed = ok(api.get("owner", "/api/v1/tokens"))
    assert [t["expired"] for t in listed] == [False, True]


def test_a_read_scope_token_cannot_write(api, org):
    _token, reader = create_token(org.quality, "dashboard", scope="read")
    assert api.get(reader, "/api/v1/nonconformities").status_code == 200
    nc = nc_in_state(org, "reported")
    response = api.post(reader, f"{_nc(nc)}/events/triage", json={"data": {"severity": "minor"}})
    body = error(response, 403)
    assert "may only read" in body["message"] and "insufficient_scope" in response.headers["WWW-Authenticate"]
    error(api.delete(reader, f"/api/v1/tokens/{_token.id}"), 403)
    assert ok(api.get("quality", _nc(nc)))["state"] == "reported"


def test_admins_read_and_set_the_security_policy(api, org):
    assert ok(api.get("admin", "/api/v1/security/policy")) == {"signing_lock_minutes": 30, "mfa_roles": []}
    for who in ("manager", "quality", "viewer"):
        error(api.get(who, "/api/v1/security/policy"), 403)
        error(
            api.request(who, "PUT", "/api/v1/security/policy", json={"signing_lock_minutes": 5, "mfa_roles": []}), 403
        )
    body = error(
        api.request("admin", "PUT", "/api/v1/security/policy", json={"signing_lock_minutes": 0, "mfa_roles": ["x"]}),
        422,
    )
    assert set(body["errors"]) == {"signing_lock_minutes", "mfa_roles.0"}
    policy = {"signing_lock_minutes": 15, "mfa_roles": ["quality_officer", "admin"]}
    assert ok(api.request("admin", "PUT", "/api/v1/security/policy", json=policy)) == {
        "signing_lock_minutes": 15,
        "mfa_roles": ["admin", "quality_officer"],
    }


def test_admins_reset_a_second_factor(api, org):
    from qms.services.identity import begin_totp

    begin_totp(org.owner)
    error(api.post("manager", f"/api/v1/users/{org.owner.id}/mfa/reset"), 403)
    assert ok(api.post("admin", f"/api/v1/users/{org.owner.id}/mfa/reset"))["mfa_enabled"] is False
    error(api.post("admin", "/api/v1/users/999999/mfa/reset"), 404)
