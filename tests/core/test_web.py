"""The web UI: sign-in and the pages of the foundation."""

from __future__ import annotations

import re

import pytest

from qms.services import fire

from ..conftest import login
from ..helpers import nc_in_state, new_nc


@pytest.mark.sqlite_only
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


def test_a_page_the_person_may_not_open_says_so_in_words(client, org):
    login(client, org.viewer.email)
    refused = client.get("/admin/users")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 403 and "Your roles do not let you open this page" in page
    assert "read-protected" not in page and "requested resource" not in page


@pytest.mark.parametrize(
    ("path", "item"),
    [
        ("/lifecycles", "Lifecycles"),
        ("/lifecycles/nonconformity", "Lifecycles"),
        ("/account/", "My account"),
        ("/admin/users", "Users"),
    ],
)
def test_the_main_menu_marks_where_the_person_is(client, org, path, item):
    login(client, org.admin.email)
    page = client.get(path).get_data(as_text=True)
    assert re.search(rf'<a href="[^"]+" aria-current="page">{item}</a>', page), item
    assert page.count('aria-current="page"') == 1


def test_a_lifecycle_page_names_its_version_and_roles_in_words(client, org):
    login(client, org.quality.email)
    page = client.get("/lifecycles/nonconformity").get_data(as_text=True)
    assert "<small>version 1</small>" in page and "<small>v1</small>" not in page
    assert "<td>Manager, Quality officer</td>" in page  # who may triage, as the account pages name roles
    assert "quality officer</td>" not in page


def test_nc_page_shows_state_actions_and_history(client, org):
    nc = new_nc(org)
    fire(nc, "triage", org.quality, {"severity": "major"}, comment="Graded at the morning meeting")
    login(client, org.owner.email)
    page = client.get(f"/nonconformities/{nc.id}").get_data(as_text=True)
    assert "State: <strong>Triaged</strong>" in page
    assert '<summary class="button">Record containment</summary>' in page
    assert '<summary class="button">Reject</summary>' not in page  # no button for an event the role may not fire
    assert "Graded at the morning meeting" in page
    assert '<g class="lc-state lc-visited lc-current"><rect' in page and "Now: Triaged." in page


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
    missing = client.get("/nonconformities/999999")
    assert missing.status_code == 404
    assert "There is no such page or record here" in missing.get_data(as_text=True)
    assert "requested URL" not in missing.get_data(as_text=True)  # not the web server's wording
    assert client.get("/lifecycles/nope").status_code == 404


@pytest.mark.sqlite_only
def test_api_paths_answer_json_errors(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["code"] == 404


def test_health(client):
    assert client.get("/health").get_json() == {"status": "ok"}


def _open_ncs_tile(page: str) -> int:
    """The number on the dashboard's "open nonconformities" tile."""
    import re

    return int(re.search(r"<strong>(\d+)</strong><span>open nonconformities</span>", page).group(1))


def test_the_dashboard_is_reused_for_its_max_age_and_says_how_old_it_is(app, org, monkeypatch):
    from qms.web import main

    app.config["QMS_DASHBOARD_CACHE_SECONDS"] = 60
    clock = [5000.0]
    monkeypatch.setattr(main.time, "monotonic", lambda: clock[0])
    new_nc(org)
    manager, viewer = app.test_client(), app.test_client()
    for client, user in ((manager, org.manager), (viewer, org.viewer)):
        with app.app_context():
            assert login(client, user.email).status_code == 302

    def page(client) -> str:
        with app.app_context():  # a context per request: the signed-in user must not leak between clients
            return client.get("/").get_data(as_text=True)

    first = page(manager)
    new_nc(org)  # not counted until the figures are older than 60 s
    clock[0] += 30
    cached = page(manager)
    viewer_page = page(viewer)  # its own copy: no certification panel
    clock[0] += 31
    recounted = page(manager)

    assert (_open_ncs_tile(first), _open_ncs_tile(cached), _open_ncs_tile(recounted)) == (1, 1, 2)
    assert 'id="dashboard-as-of"' in cached and "at most every 60 seconds" in cached
    assert 'id="certification-panel"' in cached and 'id="certification-panel"' not in viewer_page
    assert _open_ncs_tile(viewer_page) == 2  # counted for the viewer's variant after the new NC


def test_with_no_max_age_the_dashboard_is_counted_on_every_view(app, org):
    new_nc(org)
    client = app.test_client()
    login(client, org.quality.email)
    before = client.get("/").get_data(as_text=True)
    new_nc(org)
    after = client.get("/").get_data(as_text=True)
    assert (_open_ncs_tile(before), _open_ncs_tile(after)) == (1, 2)
    assert 'id="dashboard-as-of"' not in after


def test_service_errors_reach_forms_as_sentences():
    from qms.web.forms import sentence

    assert sentence("Owner", "must be an active user") == "Owner must be an active user."
    assert sentence("Due date", "Choose a date after today.") == "Choose a date after today."
    assert sentence("Title", "Say what happened") == "Say what happened."


def test_a_record_page_carries_its_diagram_and_little_script(client, org, app):
    import re
    from pathlib import Path

    nc = nc_in_state(org, "contained")
    login(client, org.quality.email)
    response = client.get(f"/nonconformities/{nc.id}")
    page = response.get_data(as_text=True)

    scripts = re.findall(r'<script[^>]+src="/static/([^"?]+)', page)
    size = sum((Path(app.static_folder) / name).stat().st_size for name in scripts)
    assert size < 300_000, (scripts, size)
    assert 'class="lc-diagram" role="img"' in page and "Path so far: Reported → Triaged → Contained." in page
    # drawn on the server and styled by the stylesheet: the page allows no inline style or script
    csp = response.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in csp
