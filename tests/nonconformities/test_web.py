"""The quality officer's NC/CAPA path through the web forms, and the security around it."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from qms.database import db
from qms.models import Attachment, CorrectiveAction, Nonconformity, User
from qms.services import fire

from ..conftest import PASSWORD, login
from ..helpers import nc_in_state, new_nc


def _post(client, url, **data):
    return client.post(url, data=data)


def _switch(client, user):
    client.post("/logout")
    assert login(client, user.email).status_code == 302


def test_the_whole_nc_capa_path_in_the_browser_forms(client, org):
    login(client, org.quality.email)
    raised = _post(
        client,
        "/nonconformities/new",
        title="Torque wrench used past calibration",
        description="Wrench TW-14 used 12 days after its calibration due date.",
        source="internal_audit",
        process_name="Assembly",
        clauses="7.1.5.2, 8.7",
        detected_on=dt.date.today().isoformat(),
    )
    assert raised.status_code == 302
    nc = db.session.scalar(select(Nonconformity).order_by(Nonconformity.id.desc()))
    base = f"/nonconformities/{nc.id}"
    assert nc.clause_refs == ["7.1.5.2", "8.7"]

    def step(user, url, expected_state, **data):
        _switch(client, user)
        response = _post(client, url, **data)
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        db.session.expire_all()
        assert db.session.get(Nonconformity, nc.id).state == expected_state

    step(org.quality, f"{base}/events/triage", "triaged", severity="major", containment_due="2030-01-01")
    step(org.owner, f"{base}/events/contain", "contained", containment="All wrenches quarantined.")
    step(
        org.quality,
        f"{base}/events/analyse_root_cause",
        "root_cause_identified",
        method="fishbone",
        root_cause="Calibration schedule kept on paper",
        **{"fishbone-method": "Paper schedule\nNo reminder", "fishbone-man": "New storekeeper"},
    )
    db.session.expire_all()
    assert db.session.get(Nonconformity, nc.id).root_cause_fishbone == {
        "man": ["New storekeeper"],
        "method": ["Paper schedule", "No reminder"],
    }
    added = _post(
        client,
        f"{base}/actions",
        title="Move calibration schedule to the QMS",
        owner_id=str(org.owner.id),
        due_date=(dt.date.today() + dt.timedelta(days=7)).isoformat(),
    )
    assert added.status_code == 302
    action = db.session.scalar(select(CorrectiveAction).where(CorrectiveAction.nonconformity_id == nc.id))
    check_day = dt.date.today() + dt.timedelta(days=30)
    step(org.quality, f"{base}/events/plan_actions", "action_planned", verification_due=check_day.isoformat())

    _switch(client, org.owner)
    act = f"/corrective-actions/{action.id}"
    assert _post(client, f"{act}/events/start").status_code == 302
    assert _post(client, f"{act}/notes", text="Schedule exported from the paper binder").status_code == 302
    assert _post(client, f"{act}/events/implement", implementation="Schedule in the QMS").status_code == 302
    # the owner implemented it, so the owner cannot verify it (and a process owner may not anyway)
    refused = _post(client, f"{act}/events/verify", verification="ok", signature_password=PASSWORD)
    assert refused.status_code == 403
    _switch(client, org.quality)
    # the first signature of a session asks for the e-mail address too (21 CFR 11.200(a)(1)(i))
    page = client.get(act).get_data(as_text=True)
    assert "E-mail address — your first signature in this session" in page
    no_email = _post(client, f"{act}/events/verify", verification="ok", signature_password=PASSWORD)
    assert no_email.status_code == 422 and "first signature of a session" in no_email.get_data(as_text=True)
    verified = _post(
        client,
        f"{act}/events/verify",
        verification="ok",
        signature_email=org.quality.email,
        signature_password=PASSWORD,
    )
    assert verified.status_code == 302
    # later signatures of the session ask for the password only
    assert "your first signature in this session" not in client.get(act).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(CorrectiveAction, action.id).state == "verified"

    step(org.quality, f"{base}/events/complete_actions", "actions_completed")
    email = org.quality.email  # step() signed in again: a new session, whose first signature needs both
    early = _post(
        client, f"{base}/events/verify_effectiveness", evidence="x", signature_email=email, signature_password=PASSWORD
    )
    assert early.status_code == 409 and "is not due until" in early.get_data(as_text=True)
    # thirty days pass
    db.session.execute(update(Nonconformity).where(Nonconformity.id == nc.id).values(verification_due=dt.date.today()))
    db.session.commit()
    bad_signature = _post(
        client,
        f"{base}/events/verify_effectiveness",
        evidence="x",
        signature_email=email,
        signature_password="wrong-pass",
    )
    assert bad_signature.status_code == 422
    assert "is incorrect" in bad_signature.get_data(as_text=True)
    step(
        org.manager,
        f"{base}/events/verify_effectiveness",
        "effectiveness_verified",
        evidence="No recurrence in 3 checks",
        signature_email=org.manager.email,
        signature_password=PASSWORD,
    )
    # segregation of duties: the manager verified effectiveness, so cannot approve the closure
    refused = _post(client, f"{base}/events/close", signature_password=PASSWORD)
    assert refused.status_code == 409, refused.get_data(as_text=True)[-3000:]
    assert "someone else must approve the closure" in refused.get_data(as_text=True)
    step(
        org.quality,
        f"{base}/events/close",
        "closed",
        signature_email=org.quality.email,
        signature_password=PASSWORD,
    )

    page = client.get(base).get_data(as_text=True)
    assert f"{org.quality.name} &lt;{org.quality.email}&gt; — approved for closure — " in page
    assert "No action is open to you now" in page
    pdf = client.get(f"{base}/report.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")


def test_form_errors_name_the_field_and_change_nothing(client, org):
    nc = new_nc(org)
    login(client, org.quality.email)
    response = _post(client, f"/nonconformities/{nc.id}/events/triage", severity="catastrophic", version="1")
    assert response.status_code == 422
    assert "must be one of: major, minor, observation" in response.get_data(as_text=True)
    missing = _post(client, "/nonconformities/new", title="", description="", source="nowhere")
    assert missing.status_code == 422
    assert "This field is required." in missing.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Nonconformity, nc.id).state == "reported"


def test_a_refused_effectiveness_date_is_a_field_error_and_the_address_bar_goes_back(client, org):
    from qms.services.nonconformities import add_corrective_action

    nc = nc_in_state(org, "root_cause_identified")
    add_corrective_action(nc, org.quality, title="Fix", owner_id=org.owner.id, due_date="2099-01-01")
    login(client, org.quality.email)
    url = f"/nonconformities/{nc.id}/events/plan_actions"

    response = _post(client, url, verification_due=dt.date.today().isoformat(), version=str(nc.version))

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Please correct the fields marked below." in page and "after a waiting period" in page
    # reloading that address (or typing it) is a GET: back to the record's page, nothing fired
    again = client.get(url)
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/nonconformities/{nc.id}")
    db.session.expire_all()
    assert db.session.get(Nonconformity, nc.id).state == "root_cause_identified"


def test_the_history_reads_as_words_from_the_moment_the_nc_is_raised(client, org):
    nc = new_nc(org)
    login(client, org.quality.email)

    page = client.get(f"/nonconformities/{nc.id}").get_data(as_text=True)
    assert "No events yet" not in page and "Raised" in page and org.quality.name in page
    assert "Not assigned yet" in page

    fire(nc, "triage", org.quality, {"severity": "major"})
    fire(nc, "contain", org.owner, {"containment": "Quarantined all parts."})
    page = client.get(f"/nonconformities/{nc.id}").get_data(as_text=True)
    # the root cause form offers the methods in the words the history and the NC page use
    assert '<option value="8d" >8D (eight disciplines)</option>' in page
    assert '<option value="fishbone" >Fishbone (Ishikawa)</option>' in page
    fire(
        nc,
        "analyse_root_cause",
        org.quality,
        {
            "method": "five_whys",
            "root_cause": "No recall reminder",
            "whys": ["Nobody was reminded", "The reminder list was lost"],
            "fishbone": {"method": ["No checklist"], "man": ["New starter"]},
        },
    )
    page = client.get(f"/nonconformities/{nc.id}").get_data(as_text=True)

    assert "<li>Nobody was reminded</li>" in page and "<li>The reminder list was lost</li>" in page
    assert "Method causes: No checklist" in page and "Man causes: New starter" in page
    assert "Root cause (Five whys)" in page and "Five whys" in page
    for developer_value in ("five_whys", '["', "{&#34;", ">whys:", ">fishbone:", ">containment:"):
        assert developer_value not in page, developer_value


def test_the_action_owner_list_offers_only_people_who_can_carry_actions_out(client, org):
    nc = nc_in_state(org, "root_cause_identified")
    login(client, org.quality.email)

    page = client.get(f"/nonconformities/{nc.id}").get_data(as_text=True)
    owner_select = page[page.index('name="owner_id"') : page.index("</select>", page.index('name="owner_id"'))]
    assert org.owner.name in owner_select and org.quality.name in owner_select
    assert org.viewer.name not in owner_select and org.auditor.name not in owner_select

    # a forged choice is refused beside the field
    refused = _post(
        client,
        f"/nonconformities/{nc.id}/actions",
        title="Fix",
        owner_id=str(org.viewer.id),
        due_date=(dt.date.today() + dt.timedelta(days=7)).isoformat(),
    )
    assert refused.status_code == 422
    assert "Not a valid choice." in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(CorrectiveAction)) == 0


def test_a_closed_nc_offers_no_evidence_upload_and_refuses_one(client, api, org):
    import io

    nc = nc_in_state(org, "closed")
    login(client, org.quality.email)

    page = client.get(f"/nonconformities/{nc.id}").get_data(as_text=True)
    assert 'id="evidence-file"' not in page
    refused = client.post(
        f"/nonconformities/{nc.id}/attachments",
        data={"file": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "late.pdf")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 302
    page = client.get(f"/nonconformities/{nc.id}").get_data(as_text=True)
    assert "is closed: its evidence can no longer change." in page
    response = api.post(
        "quality",
        f"/api/v1/nonconformities/{nc.id}/attachments",
        data={"file": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "late.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 409 and "can no longer change" in response.get_json()["message"]
    assert db.session.scalar(select(func.count()).select_from(Attachment)) == 0


def test_favicon_ico_answers_with_the_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.get_data(as_text=True).lstrip().startswith("<svg")


def test_a_stale_form_gets_a_conflict(client, org):
    nc = new_nc(org)
    fire(nc, "triage", org.manager, {"severity": "minor"})
    login(client, org.owner.email)
    response = _post(client, f"/nonconformities/{nc.id}/events/contain", containment="held", version="1")
    assert response.status_code == 409
    assert "changed since you loaded it" in response.get_data(as_text=True)


def test_a_viewer_gets_no_buttons_and_a_forbidden_answer(client, org):
    nc = new_nc(org)
    login(client, org.viewer.email)
    page = client.get(f"/nonconformities/{nc.id}").get_data(as_text=True)
    assert '<summary class="button">' not in page
    assert _post(client, f"/nonconformities/{nc.id}/events/triage", severity="minor").status_code == 403
    assert client.get("/nonconformities/new").status_code == 403
    assert client.get("/admin/users").status_code == 403


def test_register_search_filter_sort_and_exports(client, org):
    a = new_nc(org, title="=HYPERLINK(evil)", process="Assembly", clause_refs=["8.7"])
    b = new_nc(org, title="Supplier late delivery", source="supplier", process="Purchasing", clause_refs=["8.4.1"])
    fire(a, "triage", org.quality, {"severity": "major"})
    login(client, org.quality.email)
    assert b.reference not in client.get("/nonconformities?severity=major").get_data(as_text=True)
    assert a.reference not in client.get("/nonconformities?q=supplier").get_data(as_text=True)
    assert b.reference in client.get("/nonconformities?clause=8.4.1").get_data(as_text=True)
    ordered = client.get("/nonconformities?sort=reference").get_data(as_text=True)
    assert ordered.index(a.reference) < ordered.index(b.reference)
    rows = list(csv.reader(io.StringIO(client.get("/nonconformities/export.csv").get_data(as_text=True))))
    assert rows[0][0] == "Reference" and len(rows) == 3
    titles = {row[1] for row in rows[1:]}
    assert "'=HYPERLINK(evil)" in titles  # a formula is neutralised
    xlsx = client.get("/nonconformities/export.xlsx?process=Purchasing")
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert [row[0] for row in sheet.iter_rows(values_only=True)] == ["Reference", b.reference]
    assert client.get("/nonconformities/register.pdf").data.startswith(b"%PDF-")


def test_evidence_upload_checks_the_content_not_the_name(client, org, app):
    nc = new_nc(org)
    login(client, org.quality.email)
    ok = client.post(
        f"/nonconformities/{nc.id}/attachments",
        data={"file": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "../../etc/report.pdf")},
        content_type="multipart/form-data",
    )
    assert ok.status_code == 302
    page = client.get(f"/nonconformities/{nc.id}").get_data(as_text=True)
    assert "report.pdf" in page and "../" not in page
    refused = client.post(
        f"/nonconformities/{nc.id}/attachments",
        data={"file": (io.BytesIO(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00"), "invoice.pdf")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "must be a PDF, DOCX, XLSX, PNG, JPEG, GIF or plain-text file" in refused.get_data(as_text=True)
    app.config["MAX_CONTENT_LENGTH"] = 1024
    too_big = client.post(
        f"/nonconformities/{nc.id}/attachments",
        data={"file": (io.BytesIO(b"%PDF-" + b"0" * 4096), "big.pdf")},
        content_type="multipart/form-data",
    )
    assert too_big.status_code == 413


def test_my_work_lists_what_the_user_can_do_overdue_first(client, org):
    nc = nc_in_state(org, "action_planned")
    action = nc.actions[0]
    db.session.execute(
        CorrectiveAction.__table__.update()
        .where(CorrectiveAction.id == action.id)
        .values(due_date=dt.date.today() - dt.timedelta(days=3))
    )
    db.session.commit()
    login(client, org.owner.email)
    page = client.get("/my-work").get_data(as_text=True)
    assert action.reference in page and "overdue" in page
    _switch(client, org.viewer)
    assert "Nothing waits for you" in client.get("/my-work").get_data(as_text=True)


def test_dashboard_shows_figures_and_charts(client, org):
    nc_in_state(org, "contained")
    login(client, org.manager.email)
    page = client.get("/").get_data(as_text=True)
    assert "open nonconformities" in page
    assert 'aria-label="Open nonconformities by severity"' in page


def test_admin_manages_accounts(client, org):
    login(client, org.admin.email)
    created = _post(
        client, "/admin/users", email="new@example.test", name="New Person", password="long-enough-pw", roles="viewer"
    )
    assert created.status_code == 302
    person = db.session.scalar(select(User).where(User.email == "new@example.test"))
    assert person.roles == {"viewer"}
    changed = client.post(
        f"/admin/users/{person.id}", data={"name": "New Person", "roles": ["viewer", "process_owner"], "active": ""}
    )
    assert changed.status_code == 302
    db.session.expire_all()
    person = db.session.get(User, person.id)
    assert person.roles == {"viewer", "process_owner"} and not person.active
    myself = client.post(f"/admin/users/{org.admin.id}", data={"name": "Admin", "roles": ["viewer"], "active": "y"})
    assert myself.status_code == 422 and "cannot remove your own administrator role" in myself.get_data(as_text=True)
    reset = _post(client, f"/admin/users/{org.viewer.id}/password", password="brand-new-password")
    assert reset.status_code == 302
    client.post("/logout")
    assert login(client, org.viewer.email, "brand-new-password").status_code == 302


def test_account_password_change_and_tokens(client, org):
    login(client, org.quality.email)
    assert "roles: Quality officer</p>" in client.get("/account/").get_data(as_text=True)  # as the admin pages name it
    new = "tidal-quartz-lantern-91"
    wrong = _post(client, "/account/password", current="nope-nope-nope", new=new, confirm=new)
    assert wrong.status_code == 422 and "is not your password" in wrong.get_data(as_text=True)
    weak = _post(client, "/account/password", current=PASSWORD, new="password1234", confirm="password1234")
    assert weak.status_code == 422 and "most common passwords" in weak.get_data(as_text=True)
    assert _post(client, "/account/password", current=PASSWORD, new=new, confirm=new).status_code == 302
    assert client.get("/account/").status_code == 200  # this session goes on with the new stamp
    # a token needs the password again, and is shown once
    refused = _post(client, "/account/tokens", name="CI script", scope="read", days="30", password="nope-nope")
    assert refused.status_code == 422 and "is not your password" in refused.get_data(as_text=True)
    page = _post(client, "/account/tokens", name="CI script", scope="read", days="30", password=new)
    page = page.get_data(as_text=True)
    assert "shown only once" in page and "qms_" in page
    again = client.get("/account/").get_data(as_text=True)
    assert "shown only once" not in again and "CI script" in again


def test_security_headers_on_every_page(client, org):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script>" not in response.get_data(as_text=True)


def test_forms_need_a_csrf_token(app, org):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    response = client.post("/login", data={"email": org.quality.email, "password": PASSWORD})
    assert response.status_code == 400
    page = response.get_data(as_text=True)  # what to do, in words, not "The CSRF session token is missing."
    assert "This form has expired" in page and "CSRF" not in page


@pytest.mark.real_commits
def test_sign_in_is_rate_limited(app, org):
    from qms import create_app
    from qms.security import limiter

    limited = create_app({**app.config, "RATELIMIT_ENABLED": True})
    limiter.reset()
    client = limited.test_client()
    with limited.app_context():
        # a different account each time: this is the per-address limit (the per-account one is tested apart)
        codes = [login(client, f"nobody{i}@example.test", "wrong-password").status_code for i in range(11)]
        limiter.reset()
    assert codes[:10] == [200] * 10
    assert codes[10] == 429


@pytest.mark.parametrize("path", ["/", "/my-work", "/nonconformities", "/account/", "/lifecycles"])
def test_pages_answer_a_signed_out_visitor_with_the_login_page(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response.location


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("post", "/nonconformities/new", {"title": "Bad\x00title", "description": "d", "source": "supplier"}),
        ("post", "/nonconformities/{nc}/events/reject", {"reason": "no\x00pe"}),
        ("post", "/nonconformities/{nc}/events/triage", {"severity": "minor", "comment": "x\x00"}),
        ("post", "/account/tokens", {"name": "evil\x00token"}),
        ("post", "/login", {"email": "a\x00@example.test", "password": "whatever-pass"}),
        ("get", "/nonconformities?q=a%00b", None),
        ("get", "/nonconformities?clause=7%00", None),
        ("get", "/nonconformities/export.csv?state=%00", None),
    ],
)
def test_nul_characters_are_refused_not_a_server_error(client, org, method, path, data):
    """PostgreSQL cannot store NUL: every form and query argument refuses it with a 400 naming the field."""
    nc = new_nc(org)
    login(client, org.quality.email)
    url = path.format(nc=nc.id)
    response = client.post(url, data=data) if method == "post" else client.get(url)
    assert response.status_code == 400
    assert "must not contain NUL characters" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Nonconformity, nc.id).state == "reported"


@pytest.mark.parametrize(
    "path",
    [
        "/nonconformities/99999999999999999999",
        "/corrective-actions/99999999999999999999",
        "/attachments/99999999999999999999",
        "/admin/users/99999999999999999999",
        "/nonconformities/99999999999999999999/report.pdf",
    ],
)
def test_oversized_ids_are_not_found(client, org, path):
    login(client, org.admin.email)
    assert client.get(path).status_code == 404


def test_oversized_page_and_owner_filters_are_harmless(client, org):
    login(client, org.quality.email)
    assert client.get("/nonconformities?page=99999999999999999999").status_code == 200
    assert client.get("/nonconformities?owner=99999999999999999999").status_code == 200
    assert client.get("/nonconformities/export.csv?owner=99999999999999999999").status_code == 200


def test_raising_with_a_refused_file_writes_nothing(client, org):
    login(client, org.quality.email)
    before = db.session.scalar(select(func.count()).select_from(Nonconformity))
    response = client.post(
        "/nonconformities/new",
        data={
            "title": "With a bad file",
            "description": "d",
            "source": "supplier",
            "detected_on": dt.date.today().isoformat(),
            "evidence": (io.BytesIO(b"MZ\x90\x00binary"), "virus.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Nonconformity)) == before


def test_a_damaged_version_field_is_refused(client, org):
    nc = new_nc(org)
    login(client, org.quality.email)
    response = _post(client, f"/nonconformities/{nc.id}/events/triage", severity="minor", version="abc")
    assert response.status_code == 422
    db.session.expire_all()
    assert db.session.get(Nonconformity, nc.id).state == "reported"


def _attempts(app, org, forwarded_for: str, count: int) -> list[int]:
    """Failed sign-ins from one address, each to another account (so the per-account lock stays out of it)."""
    client = app.test_client()
    return [
        client.post(
            "/login",
            data={"email": f"nobody{i}.{forwarded_for}@example.test", "password": "wrong-password"},
            headers={"X-Forwarded-For": forwarded_for},
        ).status_code
        for i in range(count)
    ]


@pytest.mark.real_commits
def test_behind_a_trusted_proxy_the_rate_limit_counts_each_client(app, org, monkeypatch):
    from qms import create_app
    from qms.config import from_environment
    from qms.security import limiter

    monkeypatch.setenv("QMS_PROXY_COUNT", "1")
    assert from_environment(Path(app.instance_path))["QMS_PROXY_COUNT"] == 1
    proxied = create_app({**app.config, "RATELIMIT_ENABLED": True, "QMS_PROXY_COUNT": 1})
    limiter.reset()
    with proxied.app_context():
        first = _attempts(proxied, org, "203.0.113.7", 11)
        other = _attempts(proxied, org, "198.51.100.9", 1)
        limiter.reset()
    assert first[:10] == [200] * 10 and first[10] == 429
    assert other == [200]  # another client behind the same proxy is not locked out


@pytest.mark.real_commits
def test_without_a_trusted_proxy_a_forged_forwarded_for_does_not_escape_the_limit(app, org):
    from qms import create_app
    from qms.security import limiter

    direct = create_app({**app.config, "RATELIMIT_ENABLED": True})
    limiter.reset()
    with direct.app_context():
        codes = [_attempts(direct, org, f"192.0.2.{i}", 1)[0] for i in range(11)]
        limiter.reset()
    assert codes[:10] == [200] * 10 and codes[10] == 429


@pytest.mark.parametrize("value", ["-1", "six", "9"])
def test_a_bad_proxy_count_stops_the_app_at_start(app, monkeypatch, value):
    from qms import create_app

    monkeypatch.setenv("QMS_PROXY_COUNT", value)
    with pytest.raises(ValueError, match="QMS_PROXY_COUNT"):
        create_app({**app.config})
