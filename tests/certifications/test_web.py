"""The certification web pages: bodies (admins edit them), applications, the certification page with
its lifecycle, timeline, reminders and external audits, readiness, the pack and the dashboard panel."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from qms.database import db
from qms.models import Certification, CertificationBody, ExternalAudit, ExternalFinding, Nonconformity
from qms.services import fire
from qms.services.audit_trail import recorded_change
from qms.services.certifications import create_certification, ensure_bodies, record_external_audit

from ..audits.test_web import signed_in, text
from ..helpers import new_nc

TODAY = dt.date.today()
ROLE_USERS = ("admin", "manager", "quality", "auditor", "owner", "viewer")


@pytest.fixture
def bodies(app):
    with recorded_change(None, "bodies loaded") as session:
        ensure_bodies(session)
    return {b.code: b for b in db.session.scalars(select(CertificationBody))}


def in_stage1(org, bodies, code: str = "kebs") -> Certification:
    c = create_certification(org.manager, body_id=bodies[code].id, scope="Design and manufacture of steel doors")
    fire(c, "record_contract", org.manager, {"signed_on": TODAY})
    fire(c, "start_stage1", org.quality, {"audit_date": TODAY})
    return c


def certified(org, bodies, *, code: str = "kebs", decided_on: dt.date | None = None) -> Certification:
    decided_on = decided_on or TODAY - dt.timedelta(days=10)
    c = create_certification(org.manager, body_id=bodies[code].id, scope="Logistics", applied_on=decided_on)
    fire(c, "record_contract", org.manager, {"signed_on": decided_on})
    fire(c, "start_stage1", org.quality, {"audit_date": decided_on})
    fire(c, "ready_for_stage2", org.quality, {"audit_date": decided_on})
    fire(c, "complete_stage2", org.quality, {"last_day": decided_on})
    fire(c, "submit_response", org.quality)
    fire(c, "certify", org.quality, {"decided_on": decided_on, "certificate_number": "KEBS-QMS-0042"})
    return c


def open_major(org) -> Nonconformity:
    nc = new_nc(org)
    fire(nc, "triage", org.quality, {"severity": "major"})
    return nc


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# --------------------------------------------------------------------------- pages for every role


@pytest.mark.parametrize("who", ROLE_USERS)
def test_certification_pages_render_for_every_role(app, org, bodies, who):
    c = in_stage1(org, bodies)
    client = signed_in(app, getattr(org, who))
    kebs = bodies["kebs"]
    for url in (
        "/certifications",
        "/certifications?state=stage1",
        f"/certifications/{c.id}",
        f"/certifications/{c.id}/readiness",
        "/readiness",
        "/certification-bodies",
        f"/certification-bodies/{kebs.id}",
        "/",
        "/my-work",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert ">Certification<" in text(response), url  # the main navigation
    manager = who in ("manager", "quality")
    assert client.get("/certifications/new").status_code == (200 if manager else 403)
    assert client.get(f"/certification-bodies/{kebs.id}/edit").status_code == (200 if who == "admin" else 403)
    page = text(client.get(f"/certifications/{c.id}"))
    assert ("Record external audit" in page) is manager
    assert ("Edit profile" in text(client.get(f"/certification-bodies/{kebs.id}"))) is (who == "admin")
    assert client.get("/certifications/999999").status_code == 404
    assert client.get("/certification-bodies/999999").status_code == 404


def test_bodies_list_shows_names_countries_accreditation_marks_and_scales(app, org, bodies):
    page = text(signed_in(app, org.viewer).get("/certification-bodies"))
    for name in ("Kenya Bureau of Standards", "SGS", "BSI"):
        assert name in page
    assert "KENAS" in page and "Diamond Mark" in page and "Major nonconformity" in page
    body = text(signed_in(app, org.viewer).get(f"/certification-bodies/{bodies['kebs'].id}"))
    assert "Days to answer findings" in body and "30 days" in body and "Blocks certification" in body


# --------------------------------------------------------------------------- editing a body


def body_form(client, body_id: int) -> dict[str, str]:
    """The edit form's fields as the page fills them in."""
    page = text(client.get(f"/certification-bodies/{body_id}/edit"))
    data: dict[str, str] = {}
    for name, value in re.findall(
        r'<input type="(?:text|number|hidden)" id="[^"]*" name="([^"]+)" value="([^"]*)"', page
    ):
        data[name] = value
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page):
        data[name] = value
    for name, value in re.findall(r'<textarea id="[^"]*" name="([^"]+)"[^>]*>([^<]*)</textarea>', page):
        data[name] = value
    for name, body in re.findall(r'<select id="[^"]*" name="([^"]+)">(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', body)
        data[name] = chosen.group(1) if chosen else ""
    for name in re.findall(r'<input type="checkbox" name="([^"]+)" value="1" checked', page):
        data[name] = "1"
    return data


def test_an_admin_edits_a_body_and_errors_show_on_their_fields(app, org, bodies):
    kebs = bodies["kebs"]
    admin = signed_in(app, org.admin)
    data = body_form(admin, kebs.id)
    assert data["programme-findings_response_days"] == "30" and data["grade-0-code"] == "major"
    assert data["grade-0-blocks_certification"] == "1"

    bad = {**data, "programme-findings_response_days": "0", "website": "http://kebs", "grade-1-response_days": "x"}
    response = admin.post(f"/certification-bodies/{kebs.id}/edit", data=bad)
    assert response.status_code == 422
    page = text(response)
    assert "Nothing was saved" in page
    assert re.search(r'id="programme-findings_response_days-error">must be a whole number from 1 to 365', page)
    assert re.search(r'id="website-error">must be an https:// address', page)
    row = page.split('id="grade-row-1"')[1].split("</tr>")[0]
    assert "must be a whole number from 1 to 365" in row
    db.session.refresh(kebs)
    assert kebs.profile["programme"]["findings_response_days"] == 30

    # add a grade row (nothing saved), fill it, remove the observation, save
    more = admin.post(f"/certification-bodies/{kebs.id}/edit", data={**data, "add_row": "1"})
    assert more.status_code == 200
    rows = int(data["grade_rows"])
    assert f'name="grade-{rows}-code"' in text(more)
    scale = [g["code"] for g in kebs.profile["severity_scale"]]
    good = {
        **data,
        "grade_rows": str(rows + 1),
        "programme-findings_response_days": "45",
        "marks": "Standardization Mark",
        f"grade-{scale.index('observation')}-remove": "1",
        f"grade-{rows}-code": "critical",
        f"grade-{rows}-label": "Critical nonconformity",
        f"grade-{rows}-nc_severity": "major",
        f"grade-{rows}-response_days": "14",
        f"grade-{rows}-blocks_certification": "1",
    }
    response = admin.post(f"/certification-bodies/{kebs.id}/edit", data=good)
    assert response.status_code == 302, text(response)
    db.session.refresh(kebs)
    assert kebs.profile["programme"]["findings_response_days"] == 45
    assert kebs.profile["marks"] == ["Standardization Mark"]
    codes = [g["code"] for g in kebs.profile["severity_scale"]]
    assert "critical" in codes and "observation" not in codes
    assert kebs.edited_by_id == org.admin.id


def test_only_admins_edit_or_disable_bodies(app, org, bodies):
    kebs = bodies["kebs"]
    manager = signed_in(app, org.manager)
    assert manager.post(f"/certification-bodies/{kebs.id}/edit", data={"name": "X"}).status_code == 403
    assert manager.post(f"/certification-bodies/{kebs.id}/active", data={"active": "0"}).status_code == 403
    admin = signed_in(app, org.admin)
    assert admin.post(f"/certification-bodies/{kebs.id}/active", data={"active": "0"}).status_code == 302
    db.session.refresh(kebs)
    assert kebs.active is False
    assert "Disabled" in text(admin.get("/certification-bodies"))
    assert "Kenya Bureau" not in text(signed_in(app, org.manager).get("/certifications/new")).split("Standard")[0]
    assert admin.post(f"/certification-bodies/{kebs.id}/active", data={"active": "1"}).status_code == 302
    db.session.refresh(kebs)
    assert kebs.active is True


# --------------------------------------------------------------------------- applying


def test_applying_for_certification(app, org, bodies):
    client = signed_in(app, org.quality)
    bad = client.post("/certifications/new", data={"body_id": "0", "standard_identifier": "iso-9001-2015", "scope": ""})
    assert bad.status_code == 422
    assert "choose an active certification body" in text(bad) and "This field is required" in text(bad)
    future = (TODAY + dt.timedelta(days=5)).isoformat()
    bad = client.post(
        "/certifications/new",
        data={
            "body_id": bodies["sgs"].id,
            "standard_identifier": "iso-9001-2015",
            "scope": "Logistics",
            "applied_on": future,
        },
    )
    assert bad.status_code == 422 and "cannot be in the future" in text(bad)
    assert count(Certification) == 0
    response = client.post(
        "/certifications/new",
        data={"body_id": bodies["sgs"].id, "standard_identifier": "iso-9001-2015", "scope": "Logistics services"},
    )
    assert response.status_code == 302
    c = db.session.scalar(select(Certification))
    assert c.state == "applied" and c.body.code == "sgs" and c.owner_id == org.quality.id
    page = text(client.get(response.headers["Location"]))
    assert c.reference in page and "Logistics services" in page and "Applied" in page
    assert '<summary class="button">Record contract</summary>' not in page  # the manager records the contract
    assert '<summary class="button">Record contract</summary>' in text(
        signed_in(app, org.manager).get(f"/certifications/{c.id}")
    )
    assert signed_in(app, org.auditor).post("/certifications/new", data={}).status_code == 403


# --------------------------------------------------------------------------- events


def test_events_through_the_web_and_the_stage2_block(app, org, bodies):
    c = in_stage1(org, bodies)
    nc = open_major(org)
    client = signed_in(app, org.quality)
    page = text(client.get(f"/certifications/{c.id}"))
    assert re.search(
        r'<button type="button" disabled aria-describedby="why-ready_for_stage2">Ready for stage 2</button>', page
    )
    assert re.search(r'id="why-ready_for_stage2">1 major nonconformity is still open<', page)
    blocked = client.post(f"/certifications/{c.id}/events/ready_for_stage2", data={"version": c.version})
    assert blocked.status_code == 409 and "1 major nonconformity is still open" in text(blocked)
    db.session.refresh(c)
    assert c.state == "stage1"
    fire(nc, "reject", org.quality, {"reason": "Not a nonconformity"})
    bad = client.post(f"/certifications/{c.id}/events/ready_for_stage2", data={"audit_date": "soon"})
    assert bad.status_code == 422
    ok = client.post(f"/certifications/{c.id}/events/ready_for_stage2", data={"audit_date": TODAY.isoformat()})
    assert ok.status_code == 302
    db.session.refresh(c)
    assert c.state == "stage2" and c.stage2_date == TODAY
    page = text(client.get(f"/certifications/{c.id}"))
    assert "is now at “Stage 2”" in page and "Ready for stage 2" in page  # flash and history
    assert client.post(f"/certifications/{c.id}/events/no_such_event", data={}).status_code == 404
    viewer = signed_in(app, org.viewer)
    assert viewer.post(f"/certifications/{c.id}/events/complete_stage2", data={}).status_code == 403


def test_certify_through_the_web_computes_expiry_and_the_timeline(app, org, bodies):
    decided = TODAY - dt.timedelta(days=365 - 20)
    c = certified(org, bodies, decided_on=decided)
    page = text(signed_in(app, org.viewer).get(f"/certifications/{c.id}"))
    assert "KEBS-QMS-0042" in page and str(c.expires_on) in page
    timeline = page.split('id="timeline"')[1].split("</section>")[0]
    statuses = dict(
        re.findall(r'<span class="milestone-what">([^<]+)</span>.*?class="status-badge status-(\w+)"', timeline, re.S)
    )
    assert statuses["Application"] == "done" and statuses["Certification decision"] == "done"
    assert statuses["Surveillance audit 1"] == "due_soon"  # 20 days left, reminders from 90 days
    assert statuses["Surveillance audit 2"] == "upcoming" and statuses["Certificate expiry"] == "upcoming"
    reminders = page.split('id="reminders"')[1].split("</section>")[0]
    assert "Surveillance audit 1" in reminders and "in 20 days" in reminders
    overdue = certified(org, bodies, code="sgs", decided_on=TODAY - dt.timedelta(days=400))
    page = text(signed_in(app, org.viewer).get(f"/certifications/{overdue.id}"))
    assert re.search(r'Surveillance audit 1</span>.*?status-badge status-overdue">Overdue', page, re.S)


# --------------------------------------------------------------------------- external audits and findings


def audit_form(kind: str = "surveillance", **findings: dict[str, str]) -> dict[str, str]:
    end = TODAY - dt.timedelta(days=2)
    data = {
        "kind": kind,
        "start_date": (end - dt.timedelta(days=1)).isoformat(),
        "end_date": end.isoformat(),
        "lead_auditor": "J. Mwangi",
        "body_reference": "KEBS/SA/2026/17",
        "finding_rows": str(len(findings) + 1),
    }
    for index, row in enumerate(findings.values()):
        data |= {f"finding-{index}-{k}": v for k, v in row.items()}
    return data


def test_recording_an_external_audit_raises_ncs(app, org, bodies):
    c = certified(org, bodies)
    client = signed_in(app, org.quality)
    page = text(client.get(f"/certifications/{c.id}"))
    assert re.search(r'<option value="major"\s*>Major nonconformity \(30 days\)</option>', page)  # KEBS's scale
    data = audit_form(
        f1={"body_reference": "F1", "grade": "major", "clause_number": "7.1.5", "description": "No calibration"},
        f2={"body_reference": "F2", "grade": "minor", "clause_number": "7.5.3", "description": "Old form in use"},
        f3={"body_reference": "F3", "grade": "minor", "clause_number": "7.5.3", "description": "Second old form"},
        f4={"body_reference": "F4", "grade": "observation", "description": "Labels could be clearer"},
    )
    response = client.post(f"/certifications/{c.id}/audits", data=data)
    assert response.status_code == 302, text(response)
    assert count(ExternalFinding) == 4 and count(Nonconformity) == 3
    page = text(client.get(response.headers["Location"]))
    assert "Nonconformities raised: NC-" in page
    f1 = db.session.scalar(select(ExternalFinding).where(ExternalFinding.body_reference == "F1"))
    row = page.split(f'id="finding-{f1.id}"')[1].split("</tr>")[0]
    assert "Major nonconformity" in row and "7.1.5" in row and f1.nonconformity.reference in row
    assert str(TODAY - dt.timedelta(days=2) + dt.timedelta(days=30)) in row  # KEBS: 30 days to answer
    assert "Triaged" in row or f1.nonconformity.state_label in row


def test_a_bad_grade_is_a_form_error_and_nothing_is_written(app, org, bodies):
    c = certified(org, bodies, code="sgs")
    client = signed_in(app, org.quality)
    data = audit_form(
        f1={"body_reference": "F1", "grade": "catastrophic", "clause_number": "99.9", "description": "x"},
        f2={"body_reference": "F2", "grade": "minor", "description": ""},
    )
    data["start_date"] = "not a date"
    response = client.post(f"/certifications/{c.id}/audits", data=data)
    assert response.status_code == 422
    page = text(response)
    assert "Nothing was recorded" in page
    first = page.split('id="finding-row-0"')[1].split('id="finding-row-1"')[0]
    assert "SGS&#39;s grades" in first or "SGS's grades" in first
    assert "has no clause" in first
    second = page.split('id="finding-row-1"')[1].split('id="finding-row-2"')[0]
    assert "Description is required" in second
    assert "First day must be a date" in page
    assert 'value="F1"' in page  # what was typed is kept
    assert count(ExternalAudit) == 0 and count(ExternalFinding) == 0 and count(Nonconformity) == 0
    # adding a row keeps what was typed and writes nothing
    more = client.post(f"/certifications/{c.id}/audits", data={**data, "add_row": "1"})
    assert more.status_code == 200 and 'name="finding-3-body_reference"' in text(more) and 'value="F2"' in text(more)
    assert count(ExternalAudit) == 0
    assert signed_in(app, org.auditor).post(f"/certifications/{c.id}/audits", data=data).status_code == 403


def test_grouping_and_regrading_findings(app, org, bodies):
    c = certified(org, bodies)
    end = TODAY - dt.timedelta(days=2)
    audit = record_external_audit(
        c,
        org.quality,
        kind="surveillance",
        start_date=end,
        findings=[
            {"body_reference": "F1", "grade": "major", "clause_number": "7.1.5", "description": "No calibration"},
            {"body_reference": "F2", "grade": "minor", "description": "Old form in use"},
            {"body_reference": "F3", "grade": "minor", "description": "Second old form"},
        ],
    )
    f1, f2, f3 = audit.findings
    client = signed_in(app, org.quality)
    url = f"/certifications/{c.id}/audits/{audit.id}/group"
    bad = client.post(url, data={"finding_ids": [str(f2.id)], "label": "G1"})
    assert bad.status_code == 422 and "choose at least two findings" in text(bad)
    assert client.post(url, data={"finding_ids": [str(f2.id), str(f3.id)], "label": "G1"}).status_code == 302
    db.session.refresh(f2)
    assert f2.group_label == f3.group_label == "G1"
    assert "group G1" in text(client.get(f"/certifications/{c.id}"))

    regrade = f"/certifications/{c.id}/findings/{f1.id}/regrade"
    bad = client.post(regrade, data={"grade": "major", "reason": ""})
    assert bad.status_code == 422
    assert "Grade is the finding&#39;s grade already" in text(bad) or "is the finding's grade already" in text(bad)
    assert "Reason is required" in text(bad)
    assert client.post(regrade, data={"grade": "nonsense", "reason": "x"}).status_code == 422
    response = client.post(regrade, data={"grade": "minor", "reason": "Calibration records accepted"})
    assert response.status_code == 302
    db.session.refresh(f1)
    assert (f1.grade, f1.regraded_from, f1.nonconformity.severity) == ("minor", "major", "minor")
    assert "re-graded from Major nonconformity: Calibration records accepted" in text(
        client.get(f"/certifications/{c.id}")
    )
    other = certified(org, bodies, code="sgs")
    assert client.post(f"/certifications/{other.id}/findings/{f1.id}/regrade", data={}).status_code == 404
    assert client.post(f"/certifications/{other.id}/audits/{audit.id}/group", data={}).status_code == 404
    assert signed_in(app, org.viewer).post(regrade, data={"grade": "major", "reason": "x"}).status_code == 403


# --------------------------------------------------------------------------- readiness and the pack


def test_readiness_shows_score_blocking_reasons_and_figures(app, org, bodies):
    c = in_stage1(org, bodies)
    open_major(org)
    minor = new_nc(org, title="Minor")
    fire(minor, "triage", org.quality, {"severity": "minor"})
    page = text(signed_in(app, org.viewer).get(f"/certifications/{c.id}/readiness"))
    assert "Readiness for the next Kenya Bureau of Standards audit" in page
    score = int(re.search(r'id="readiness-score">(\d+)<', page).group(1))
    # major, minor, no management review, no 4.1/4.2/6.1 evidence, no objectives, no planned change
    assert score == 100 - 25 - 4 - 15 - 5 * 3 - 10 - 2
    assert re.search(r'id="readiness-verdict">Not ready<', page)
    blocking = page.split('id="blocking"')[1].split("</section>")[0]
    assert "1 major nonconformity open" in blocking
    assert re.search(r'<a href="/nonconformities\?severity=major">1 major nonconformity open</a>', page)
    assert "−25" in page and "No management review has been held" in page
    assert re.search(r'id="fig-major" class="error">1<', page) and re.search(r'id="fig-minor">1<', page)
    assert re.search(r'id="fig-review">none held<', page)
    assert "Download certification pack (PDF)" in page
    org_page = text(signed_in(app, org.viewer).get("/readiness"))
    assert "Readiness of the organisation" in org_page and c.reference in org_page


def test_the_pack_download(app, org, bodies):
    c = in_stage1(org, bodies)
    response = signed_in(app, org.manager).get(f"/certifications/{c.id}/pack.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert response.mimetype == "application/pdf"


# --------------------------------------------------------------------------- dashboard and My work


def test_dashboard_panel_and_my_work_reminders(app, org, bodies):
    c = certified(org, bodies, decided_on=TODAY - dt.timedelta(days=365 - 20))
    for who in ("manager", "quality"):
        page = text(signed_in(app, getattr(org, who)).get("/"))
        panel = page.split('id="certification-panel"')[1].split("</section>")[0]
        assert c.reference in panel and "Kenya Bureau of Standards" in panel
        assert "Surveillance audit 1 due" in panel and "20 days left" in panel
        assert re.search(r"<strong>\d+</strong>", panel)
    assert 'id="certification-panel"' not in text(signed_in(app, org.viewer).get("/"))
    work = text(signed_in(app, org.manager).get("/my-work"))  # the manager applied: the owner
    assert f'href="/certifications/{c.id}">{c.reference}</a>' in work
    assert "Surveillance audit 1 — Kenya Bureau of Standards" in work
    assert c.reference not in text(signed_in(app, org.quality).get("/my-work"))
