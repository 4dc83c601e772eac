"""The web UI: sign-in and the pages of the foundation."""

from __future__ import annotations

import pytest

from qms.services import fire

from .conftest import login
from .helpers import nc_in_state, new_nc


def test_pages_need_a_signed_in_user(client):
    response = client.get("/nonconformities")
    assert response.status_code == 302
    assert response.location.startswith("/login")


def test_wrong_password_is_refused_with_a_form_error(client, org):
    response = login(client, org.quality.email, "not-the-password")
    assert response.status_code == 200
    assert b"E-mail or password is not correct." in response.data
    assert client.get("/").status_code == 302


def test_unknown_account_gets_the_same_answer(client, org):
    response = login(client, "nobody@example.test", "whatever-password")
    assert b"E-mail or password is not correct." in response.data


def test_login_redirect_stays_on_this_site(client, org):
    response = client.post(
        "/login?next=https://evil.example/", data={"email": org.quality.email, "password": "correct-horse-battery"}
    )
    assert response.status_code == 302 and response.location == "/"


@pytest.mark.parametrize("path", ["/", "/nonconformities", "/lifecycles", "/lifecycles/management_review"])
def test_signed_in_pages_render(client, org, path):
    login(client, org.quality.email)
    response = client.get(path)
    assert response.status_code == 200
    assert b"Sign out" in response.data


def test_nc_page_shows_state_actions_and_history(client, org):
    nc = new_nc(org)
    fire(nc, "triage", org.quality, {"severity": "major"}, comment="Graded at the morning meeting")
    login(client, org.owner.email)
    page = client.get(f"/nonconformities/{nc.id}").get_data(as_text=True)
    assert "State: <strong>Triaged</strong>" in page
    assert '<summary class="button">Record containment</summary>' in page
    assert '<summary class="button">Reject</summary>' not in page  # no button for an event the role may not fire
    assert "Graded at the morning meeting" in page
    assert "Class triaged s_active" in page


def test_a_blocked_action_is_shown_disabled_with_its_reason(client, org):
    nc = nc_in_state(org, "root_cause_identified")
    login(client, org.quality.email)
    page = client.get(f"/nonconformities/{nc.id}").get_data(as_text=True)
    assert '<button type="button" disabled aria-describedby="why-plan_actions">Approve action plan</button>' in page
    assert "Add at least one corrective action first (the plan has none)" in page


def test_register_filters_by_state(client, org):
    a, b = new_nc(org, title="First problem"), new_nc(org, title="Second problem")
    fire(a, "triage", org.quality, {"severity": "minor"})
    login(client, org.quality.email)
    page = client.get("/nonconformities?state=triaged").get_data(as_text=True)
    assert a.reference in page and b.reference not in page


def test_missing_pages_are_404(client, org):
    login(client, org.quality.email)
    assert client.get("/nonconformities/999999").status_code == 404
    assert client.get("/lifecycles/nope").status_code == 404


def test_api_paths_answer_json_errors(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["code"] == 404


def test_health(client):
    assert client.get("/health").get_json() == {"status": "ok"}
