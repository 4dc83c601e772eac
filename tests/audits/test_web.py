"""The internal-audit web pages: set-up, programmes, audits, teams, checklists on site, calendar,
iCalendar feed, coverage, evidence and the links between audits and the nonconformities they raise."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from flask import g
from flask.testing import FlaskClient
from icalendar import Calendar
from sqlalchemy import func, select

from qms.database import db
from qms.models import Attachment, Audit, ChecklistItem, Nonconformity, ProgrammeEntry
from qms.services import fire
from qms.services.audits import (
    answer,
    assign_team,
    create_audit,
    create_programme,
    create_site,
)

from ..conftest import PASSWORD, login
from ..helpers import PLAN_DAY, audit_in_state, new_process

ROLE_USERS = ("admin", "manager", "quality", "auditor", "owner", "viewer")


class Client(FlaskClient):
    """A test client whose requests never see the user another client signed in.

    The tests hold one application context, whose ``g`` flask-login uses to cache the user.
    """

    def open(self, *args, **kwargs):
        g.pop("_login_user", None)
        return super().open(*args, **kwargs)


def signed_in(app, user):
    app.test_client_class = Client
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    return client


def text(response) -> str:
    return response.get_data(as_text=True)


# --------------------------------------------------------------------------- pages for every role


@pytest.mark.parametrize("who", ROLE_USERS)
def test_audit_pages_render_for_every_role(app, org, who):
    audit = audit_in_state(org, "in_progress")
    programme = create_programme(
        org.quality, year=2026, title="Programme 2026", entries=[{"process_id": audit.process_id}]
    )
    client = signed_in(app, getattr(org, who))
    for url in (
        "/audits",
        f"/audits/{audit.id}",
        f"/audits/{audit.id}/checklist",
        "/audits/calendar",
        "/audits/calendar?view=year&year=2026",
        "/audits/calendar?year=2026&month=3&mine=1",
        "/audits/coverage?year=2026",
        "/programmes",
        f"/programmes/{programme.id}",
        "/my-work",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Audits" in text(response)
    planner = who in ("manager", "quality")
    setup = who in ("admin", "manager", "quality")
    assert client.get("/audits/new").status_code == (200 if planner else 403)
    assert client.get("/programmes/new").status_code == (200 if planner else 403)
    assert client.get("/processes").status_code == (200 if setup else 403)
    assert client.get("/processes/new").status_code == (200 if setup else 403)
    page = text(client.get(f"/audits/{audit.id}/checklist"))
    if who == "auditor":
        assert 'class="answer-form"' in page and "checklist.js" in page
    else:
        assert 'class="answer-form"' not in page and "read-only" in page


def test_the_audit_page_shows_header_team_events_and_history(app, org):
    audit = audit_in_state(org, "in_progress")
    page = text(signed_in(app, org.auditor).get(f"/audits/{audit.id}"))
    assert audit.reference in page and "In progress" in page
    assert org.auditor.name in page and "The Production process" in page
    assert "Submit report for approval" in page  # the lead auditor's signed event
    assert "still unanswered" in page  # blocked, with the reason next to it
    assert "Start audit" in page  # history
    assert "Download report (PDF)" in page
    assert 'class="lc-diagram"' in page


def test_audit_list_filters_and_pagination(app, org):
    process = new_process(org)
    for day in range(30):
        create_audit(
            org.quality,
            title=f"Audit {day}",
            process_id=process.id,
            planned_start=dt.date(2027, 1, 1) + dt.timedelta(day),
        )
    mine = audit_in_state(org, "scheduled", process=process)
    client = signed_in(app, org.auditor)
    first = text(client.get("/audits?year=2027"))
    assert "25 shown (30 in all)" in first and "Next" in first
    assert "(1 in all)" in text(client.get("/audits?mine=1"))
    assert mine.reference in text(client.get("/audits?state=scheduled"))
    assert "(30 in all)" in text(client.get(f"/audits?process={process.id}&state=planned"))
    assert client.get("/audits?year=abc&state=nonsense&process=-4&page=999").status_code == 200


# --------------------------------------------------------------------------- forms: bad input is a form error


def test_planning_an_audit_and_its_form_errors(app, org):
    process = new_process(org)
    client = signed_in(app, org.quality)
    response = client.post("/audits/new", data={"title": "", "standard_identifier": "iso-9001-2015"})
    assert response.status_code == 422 and "This field is required." in text(response)
    response = client.post(
        "/audits/new",
        data={"title": "Bad clauses", "standard_identifier": "iso-9001-2015", "clause_text": "8.5, 99.9"},
    )
    assert response.status_code == 422 and "has no clause 99.9" in text(response)
    response = client.post(
        "/audits/new",
        data={
            "title": "Backwards",
            "standard_identifier": "iso-9001-2015",
            "planned_start": "2026-05-10",
            "planned_end": "2026-05-01",
        },
    )
    assert response.status_code == 422 and "cannot be before the planned start" in text(response)
    response = client.post(
        "/audits/new", data={"title": "x", "standard_identifier": "no-such-standard", "process_id": "99999"}
    )
    assert response.status_code == 422
    response = client.post(
        "/audits/new",
        data={
            "title": "Service audit",
            "kind": "service_performance",
            "standard_identifier": "iso-9001-2015",
            "clause_list": ["8.5", "8.2"],
            "clause_text": "9.1",
            "process_id": str(process.id),
            "planned_start": "2026-06-01",
            "scope": "Production line 2",
        },
    )
    assert response.status_code == 302
    audit = db.session.scalar(select(Audit).where(Audit.title == "Service audit"))
    assert audit.kind == "service_performance" and audit.clause_numbers == ["8.5", "8.2", "9.1"]
    assert audit.planned_end == dt.date(2026, 6, 1) and audit.scope == "Production line 2"


def test_sites_and_processes_pages(app, org):
    client = signed_in(app, org.admin)
    response = client.post("/sites", data={"name": "Nairobi plant", "code": "NBO"})
    assert response.status_code == 302
    assert "Nairobi plant" in text(client.get("/processes"))
    duplicate = client.post("/sites", data={"name": "Nairobi plant", "code": "NB2"})
    assert duplicate.status_code == 422 and "another site has this name" in text(duplicate)
    assert client.post("/processes/new", data={"name": "Sales", "code": "SAL", "risk": "extreme"}).status_code == 422
    bad = client.post("/processes/new", data={"name": "Sales", "code": "SAL!", "risk": "high", "clauses": "77"})
    assert bad.status_code == 422
    page = text(bad)
    assert "may contain only letters" in page and "has no clause 77" in page
    good = client.post(
        "/processes/new",
        data={
            "name": "Sales",
            "code": "SAL",
            "risk": "high",
            "owner_id": str(org.owner.id),
            "clauses": "8.2, 9.1",
            "active": "y",
        },
    )
    assert good.status_code == 302
    page = text(client.get("/processes"))
    assert "Sales" in page and "8.2, 9.1" in page and "High" in page
    from qms.models import Process

    sales = db.session.scalar(select(Process).where(Process.code == "SAL"))
    form = text(client.get(f"/processes/{sales.id}/edit"))
    assert 'value="8.2, 9.1"' in form
    changed = client.post(
        f"/processes/{sales.id}/edit", data={"name": "Sales and quotes", "code": "SAL", "risk": "low", "active": "y"}
    )
    assert changed.status_code == 302
    db.session.refresh(sales)
    assert sales.name == "Sales and quotes" and sales.risk == "low" and sales.owner_id is None
    assert client.get("/processes/99999/edit").status_code == 404


def test_programme_creation_frequencies_and_idempotent_generation(app, org):
    high = new_process(org, code="HIGH", risk="high")
    low = new_process(org, code="LOW", risk="low")
    medium = new_process(org, code="MED", risk="medium")
    site = create_site(org.quality, name="Mombasa", code="MBA")
    client = signed_in(app, org.quality)
    page = text(client.get("/programmes/new"))
    assert "High (4 a year)" in page and "Process HIGH" in page
    bad = client.post(
        "/programmes/new",
        data={
            "year": "2026",
            "title": "P",
            "standard_identifier": "iso-9001-2015",
            "site_id": "0",
            f"include-{high.id}": "1",
            f"per_year-{high.id}": "13",
        },
    )
    assert bad.status_code == 422 and "from 1 to 12" in text(bad)
    response = client.post(
        "/programmes/new",
        data={
            "year": "2026",
            "title": "Mombasa 2026",
            "standard_identifier": "iso-9001-2015",
            "site_id": str(site.id),
            f"include-{high.id}": "1",
            f"risk-{high.id}": "high",
            f"include-{low.id}": "1",
            f"risk-{low.id}": "low",
            f"per_year-{low.id}": "3",
            f"risk-{medium.id}": "medium",
        },
    )
    assert response.status_code == 302
    programme_url = response.headers["Location"]
    entries = {e.process_id: e.audits_per_year for e in db.session.scalars(select(ProgrammeEntry))}
    assert entries == {high.id: 4, low.id: 3}
    again = client.post(
        "/programmes/new",
        data={"year": "2026", "title": "Again", "standard_identifier": "iso-9001-2015", "site_id": str(site.id)},
    )
    assert again.status_code == 422 and "already exists" in text(again)
    generate_url = programme_url.rstrip("/") + "/generate"
    assert "7 audits generated" in text(client.post(generate_url, follow_redirects=True))
    assert "none added" in text(client.post(generate_url, follow_redirects=True))
    assert db.session.scalar(select(func.count()).select_from(Audit)) == 7
    page = text(client.get(programme_url))
    assert "Process HIGH" in page and "7 generated of 7 planned" in page and "not assigned" in page
    assert signed_in(app, org.auditor).post(generate_url).status_code == 403


# --------------------------------------------------------------------------- team assignment


def test_team_independence_error_is_shown_on_the_field(app, org):
    audit = create_audit(org.quality, title="Prod", process_id=new_process(org, owner=org.manager).id)
    client = signed_in(app, org.quality)
    response = client.post(
        f"/audits/{audit.id}/team", data={"lead_auditor_id": str(org.manager.id), "member_rows": "0"}
    )
    assert response.status_code == 422
    assert re.search(r'id="lead-error">[^<]*owns the Production process and cannot audit it', text(response))
    response = client.post(
        f"/audits/{audit.id}/team",
        data={
            "lead_auditor_id": str(org.auditor.id),
            "member_rows": "2",
            "member-0-user": str(org.manager.id),
            "member-0-role": "auditor",
        },
    )
    assert response.status_code == 422 and "owns the Production process" in text(response)
    # an owner may observe
    response = client.post(
        f"/audits/{audit.id}/team",
        data={
            "lead_auditor_id": str(org.auditor.id),
            "member_rows": "2",
            "member-0-user": str(org.manager.id),
            "member-0-role": "observer",
        },
    )
    assert response.status_code == 302
    assert client.post(f"/audits/{audit.id}/team", data={"member_rows": "1"}).status_code == 422
    assert signed_in(app, org.auditor).post(f"/audits/{audit.id}/team", data={}).status_code == 403


def test_double_booking_is_flashed_as_a_warning(app, org):
    process = new_process(org)
    first = create_audit(org.quality, title="First", process_id=process.id, planned_start=PLAN_DAY)
    second = create_audit(org.quality, title="Second", process_id=process.id, planned_start=PLAN_DAY)
    assign_team(first, org.quality, lead_auditor_id=org.auditor.id)
    client = signed_in(app, org.quality)
    response = client.post(
        f"/audits/{second.id}/team",
        data={"lead_auditor_id": str(org.auditor.id), "member_rows": "0"},
        follow_redirects=True,
    )
    page = text(response)
    assert "Audit team saved." in page
    assert f"double booking: {org.auditor.name} is also on {first.reference}" in page


# --------------------------------------------------------------------------- checklist editing


def test_checklist_editing_while_planned_and_fixed_afterwards(app, org):
    audit = create_audit(org.quality, title="Prod", process_id=new_process(org).id, clause_numbers=["8.5.1"])
    client = signed_in(app, org.quality)
    assert client.post(f"/audits/{audit.id}/checklist/generate").status_code == 302
    db.session.refresh(audit)
    assert audit.items and all(item.clause_number.startswith("8.5.1") for item in audit.items)
    bad = client.post(f"/audits/{audit.id}/questions", data={"question": "", "clause_number": "42"})
    assert bad.status_code == 422 and "has no clause" in text(bad)
    added = {"question": "Are work instructions at the line?", "clause_number": "8.5.1"}
    assert client.post(f"/audits/{audit.id}/questions", data=added).status_code == 302
    item = db.session.scalar(select(ChecklistItem).where(ChecklistItem.question.like("Are work%")))
    assert client.post(f"/audits/{audit.id}/questions/{item.id}", data={"question": "Changed?"}).status_code == 302
    db.session.refresh(item)
    assert item.question == "Changed?"
    count = len(audit.items)
    assert client.post(f"/audits/{audit.id}/questions/{item.id}/remove").status_code == 302
    db.session.refresh(audit)
    assert len(audit.items) == count - 1
    assert signed_in(app, org.viewer).post(f"/audits/{audit.id}/questions", data={"question": "x"}).status_code == 403
    started = audit_in_state(org, "in_progress", process=audit.process)
    response = client.post(f"/audits/{started.id}/questions", data={"question": "Late question"})
    assert response.status_code == 409 and "The checklist is fixed" in text(response)
    other = create_audit(org.quality, title="Other", process_id=audit.process_id)
    assert client.post(f"/audits/{other.id}/questions/{started.items[0].id}", data={"question": "x"}).status_code == 404


# --------------------------------------------------------------------------- answering: the JSON endpoint


def test_checklist_json_save(app, org):
    audit = audit_in_state(org, "in_progress")
    item = audit.items[0]
    client = signed_in(app, org.auditor)
    url = f"/audits/{audit.id}/checklist/{item.id}"
    rev = item.revision
    response = client.post(url, json={"result": "conforming", "notes": "Seen WI-7 at line 2", "expected_revision": rev})
    assert response.status_code == 200
    body = response.get_json()
    assert body["ok"] and body["item"]["revision"] == rev + 1 and body["item"]["result"] == "conforming"
    assert body["item"]["nonconformity"] is None

    bad = client.post(url, json={"result": "excellent", "notes": "", "expected_revision": rev + 1})
    assert bad.status_code == 422
    assert "must be one of" in bad.get_json()["errors"]["result"]
    missing_notes = client.post(url, json={"result": "major", "notes": "", "expected_revision": rev + 1})
    assert missing_notes.status_code == 422 and "notes" in missing_notes.get_json()["errors"]
    assert client.post(url, data="[1, 2]", content_type="application/json").status_code == 400
    damaged = client.post(url, json={"result": "conforming", "expected_revision": "x"})
    assert damaged.status_code == 422 and "expected_revision" in damaged.get_json()["errors"]

    stale = client.post(url, json={"result": "observation", "notes": "Other", "expected_revision": rev})
    assert stale.status_code == 409 and stale.get_json()["conflict"] is True
    assert stale.get_json()["item"]["revision"] == rev + 1

    outsider = signed_in(app, org.quality2).post(url, json={"result": "conforming", "expected_revision": rev + 1})
    assert outsider.status_code == 403 and "Only the auditors" in outsider.get_json()["message"]
    assert signed_in(app, org.viewer).post(url, json={"result": "conforming"}).status_code == 403


def test_same_minor_finding_saved_twice_raises_exactly_one_nc(app, org):
    audit = audit_in_state(org, "in_progress")
    item = audit.items[0]
    client = signed_in(app, org.auditor)
    url = f"/audits/{audit.id}/checklist/{item.id}"
    rev = item.revision
    payload = {"result": "minor", "notes": "Two operators without training records", "expected_revision": rev}
    first = client.post(url, json=payload)
    second = client.post(url, json=payload)  # a retried save from the tablet (same revision)
    assert first.status_code == second.status_code == 200
    nc = first.get_json()["item"]["nonconformity"]
    assert nc and nc["reference"].startswith("NC-") and second.get_json()["item"]["nonconformity"] == nc
    assert client.post(url, json={**payload, "expected_revision": rev + 1}).status_code == 200
    assert db.session.scalar(select(func.count()).select_from(Nonconformity)) == 1
    raised = db.session.scalar(select(Nonconformity))
    assert raised.source == "internal_audit" and raised.severity == "minor"
    assert raised.clause_refs == [item.clause_number]
    # the NC page links back to the audit, the clause and the question
    page = text(client.get(f"/nonconformities/{raised.id}"))
    assert f'Raised by audit <a href="/audits/{audit.id}/checklist#item-{item.id}">{audit.reference}</a>' in page
    assert f"clause {item.clause_number}" in page
    # the audit page lists the finding
    assert f'href="/nonconformities/{raised.id}">{raised.reference}</a>' in text(client.get(f"/audits/{audit.id}"))


def test_answers_outside_in_progress_are_refused_with_the_reason(app, org):
    audit = audit_in_state(org, "prepared")
    item = audit.items[0]
    client = signed_in(app, org.auditor)
    url = f"/audits/{audit.id}/checklist/{item.id}"
    response = client.post(url, json={"result": "conforming", "expected_revision": 0})
    assert response.status_code == 409
    assert "only while the audit is in progress (it is prepared)" in response.get_json()["message"]
    page = client.post(url, data={"result": "conforming", "notes": "", "expected_revision": "0"})
    assert page.status_code == 409 and "only while the audit is in progress" in text(page)
    checklist = text(client.get(f"/audits/{audit.id}/checklist"))
    assert "Answers are recorded only while the audit is in progress" in checklist
    assert 'class="answer-form"' not in checklist


def test_answering_without_javascript(app, org):
    audit = audit_in_state(org, "in_progress")
    item = audit.items[0]
    client = signed_in(app, org.auditor)
    url = f"/audits/{audit.id}/checklist/{item.id}"
    rev = str(item.revision)
    bad = client.post(url, data={"result": "major", "notes": "", "expected_revision": rev})
    assert bad.status_code == 422
    assert "Notes describe the evidence of the nonconformity" in text(bad)
    assert 'value="major" checked' in text(bad)  # what was chosen is kept
    response = client.post(url, data={"result": "major", "notes": "No calibration", "expected_revision": rev})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"#item-{item.id}")
    page = text(client.get(response.headers["Location"]))
    assert "Finding raised as NC-" in page and "Finding raised: <a" in page
    db.session.refresh(item)
    assert item.result == "major" and item.nonconformity is not None


# --------------------------------------------------------------------------- evidence


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_evidence_upload_and_download_authorisation(app, org):
    audit = audit_in_state(org, "in_progress")
    item = audit.items[0]
    auditor = signed_in(app, org.auditor)
    url = f"/audits/{audit.id}/checklist/{item.id}/evidence"
    response = auditor.post(
        url, data={"file": [(io.BytesIO(PNG), "line2.png"), (io.BytesIO(b""), "")]}, content_type="multipart/form-data"
    )
    assert response.status_code == 302
    attachment = db.session.scalar(select(Attachment).where(Attachment.lifecycle == "checklist_item"))
    assert attachment.record_id == item.id and attachment.filename == "line2.png"
    refused = auditor.post(url, data={"file": (io.BytesIO(b"MZ\x00\x00binary"), "virus.exe")}, follow_redirects=True)
    assert "must be a PDF" in text(refused)
    assert auditor.post(url, data={}, follow_redirects=True).status_code == 200
    outsider = signed_in(app, org.quality2).post(url, data={"file": (io.BytesIO(PNG), "x.png")})
    assert outsider.status_code == 403
    viewer = signed_in(app, org.viewer)
    assert viewer.post(url, data={"file": (io.BytesIO(PNG), "x.png")}).status_code == 403

    download = f"/audits/{audit.id}/evidence/{attachment.id}"
    assert 'href="' + download + '"' in text(viewer.get(f"/audits/{audit.id}/checklist"))
    got = viewer.get(download)  # every signed-in user may view audits and their evidence
    assert got.status_code == 200 and got.data == PNG
    assert app.test_client().get(download).status_code == 302  # not signed in: to the sign-in page
    other = create_audit(org.quality, title="Other", process_id=audit.process_id)
    assert viewer.get(f"/audits/{other.id}/evidence/{attachment.id}").status_code == 404
    nc_attachment = db.session.scalar(select(Attachment).where(Attachment.lifecycle != "checklist_item"))
    assert nc_attachment is None
    # evidence after the audit is refused with the reason
    answer(item, org.auditor, result="conforming")
    for other_item in audit.items[1:]:
        answer(other_item, org.auditor, result="conforming")
    fire(audit, "draft_report", org.auditor, {"summary": "Fine"}, signature_password=PASSWORD)
    late = auditor.post(url, data={"file": (io.BytesIO(PNG), "late.png")}, follow_redirects=True)
    assert "Evidence is added only while the audit is in progress" in text(late)


# --------------------------------------------------------------------------- events from the page


def test_report_is_drafted_with_signature_and_approved_by_a_manager(app, org):
    audit = audit_in_state(org, "in_progress")
    for item in audit.items:
        answer(item, org.auditor, result="conforming")
    auditor = signed_in(app, org.auditor)
    wrong = auditor.post(
        f"/audits/{audit.id}/events/draft_report",
        data={"summary": "Conforms", "signature_password": "nope", "version": str(audit.version)},
    )
    assert wrong.status_code == 422
    ok = auditor.post(
        f"/audits/{audit.id}/events/draft_report",
        data={
            "summary": "Conforms",
            "signature_email": org.auditor.email,
            "signature_password": PASSWORD,
            "version": str(audit.version),
        },
    )
    assert ok.status_code == 302
    db.session.refresh(audit)
    assert audit.state == "report_drafted"
    manager = signed_in(app, org.manager)
    assert "Approve report" in text(manager.get("/my-work"))
    signed = {"signature_email": org.manager.email, "signature_password": PASSWORD}
    ok = manager.post(f"/audits/{audit.id}/events/approve_report", data=signed)
    assert ok.status_code == 302
    assert "approved" in text(manager.get(f"/audits/{audit.id}"))
    assert auditor.post(f"/audits/{audit.id}/events/nonsense").status_code == 404


def test_my_work_lists_the_auditors_audits(app, org):
    audit = audit_in_state(org, "in_progress")
    page = text(signed_in(app, org.auditor).get("/my-work"))
    assert f'href="/audits/{audit.id}">{audit.reference}</a>' in page and "Answer the checklist" in page
    assert audit.reference not in text(signed_in(app, org.viewer).get("/my-work"))


def test_service_performance_audit_shows_scores_and_trend(app, org):
    process = new_process(org)
    audit = create_audit(
        org.quality,
        title="Service",
        kind="service_performance",
        standard_identifier="customer-service-standards",
        clause_numbers=["1", "2"],
        process_id=process.id,
        planned_start=PLAN_DAY,
    )
    assign_team(audit, org.quality, lead_auditor_id=org.auditor.id)
    fire(audit, "schedule", org.quality, {"planned_start": PLAN_DAY, "planned_end": PLAN_DAY})
    fire(audit, "prepare", org.auditor)
    fire(audit, "start", org.auditor)
    answer(audit.items[0], org.auditor, result="conforming")
    answer(audit.items[1], org.auditor, result="observation", notes="Slow reply")
    page = text(signed_in(app, org.viewer).get(f"/audits/{audit.id}"))
    assert "Score per standard" in page and "100.0 %" in page
    assert "Score trend (% conforming)" in page


# --------------------------------------------------------------------------- calendar and feed


def test_calendar_month_and_year_views(app, org):
    audit = audit_in_state(org, "scheduled")
    client = signed_in(app, org.viewer)
    month = text(client.get("/audits/calendar?year=2026&month=3"))
    assert "March 2026" in month and audit.reference in month
    assert "February 2026" in month and "April 2026" in month  # previous / next
    assert re.search(r'<span class="day-number">16</span>\s*<a class="cal-audit', month)
    year = text(client.get("/audits/calendar?view=year&year=2026"))
    assert audit.reference in year and "1 audit" in year and "December" in year
    assert audit.reference not in text(client.get("/audits/calendar?year=2026&month=3&mine=1"))
    assert audit.reference in text(signed_in(app, org.auditor).get("/audits/calendar?year=2026&month=3&mine=1"))
    site = create_site(org.quality, name="Kisumu", code="KSM")
    assert audit.reference not in text(client.get(f"/audits/calendar?year=2026&month=3&site={site.id}"))
    assert client.get("/audits/calendar?year=99999&month=13&site=x").status_code == 200


def test_ical_feed_create_serve_renew_revoke(app, org):
    audit = audit_in_state(org, "scheduled")
    client = signed_in(app, org.auditor)
    page = text(client.post("/account/calendar-feed"))
    feed_url = re.search(r'<code class="token" id="feed-url">([^<]+)</code>', page).group(1)
    path = feed_url.removeprefix(app.config["QMS_BASE_URL"])
    anonymous = app.test_client()
    response = anonymous.get(path)
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    calendar = Calendar.from_ical(response.data)
    events = [c for c in calendar.walk("VEVENT")]
    assert [str(e["summary"]) for e in events] == [f"{audit.reference} {audit.title}"]
    assert events[0].decoded("dtstart") == PLAN_DAY
    assert str(events[0]["url"]).endswith(f"/audits/{audit.id}")
    assert anonymous.get("/calendar/not-a-secret.ics").status_code == 404
    # renewing replaces the address; revoking ends it
    renewed = re.search(r'id="feed-url">([^<]+)<', text(client.post("/account/calendar-feed"))).group(1)
    assert anonymous.get(path).status_code == 404
    new_path = renewed.removeprefix(app.config["QMS_BASE_URL"])
    assert anonymous.get(new_path).status_code == 200
    assert "Revoke calendar feed address" in text(client.get("/account/"))
    assert client.post("/account/calendar-feed/revoke").status_code == 302
    assert anonymous.get(new_path).status_code == 404
    assert "Create calendar feed address" in text(client.get("/account/"))


# --------------------------------------------------------------------------- coverage


def test_coverage_page_figures(app, org):
    process = new_process(org, clauses=("8.5", "9.2"))
    done = audit_in_state(org, "in_progress", process=process, clauses=("8.5",))
    answer(done.items[0], org.auditor, result="minor", notes="Missing record")
    page = text(signed_in(app, org.viewer).get("/audits/coverage?year=2026"))
    # Production addresses 8.5 and 9.2: two relevant cells, 8.5 audited with a minor finding
    assert '<strong id="cov-relevant">2</strong>' in page
    assert '<strong id="cov-audited">1</strong>' in page
    assert '<strong id="cov-percent">50.0 %</strong>' in page
    assert "cov-audited cov-worst-minor" in page and "cov-uncovered" in page
    uncovered = page[page.index('id="uncovered"') :]
    assert "9.2 Internal audit" in uncovered and "8.5 " not in uncovered.split("</ul>")[0]
    assert signed_in(app, org.viewer).get("/audits/coverage?year=2025&standard=nope").status_code == 200


def test_pdf_reports_of_an_audit_and_a_programme(app, org):
    audit = audit_in_state(org, "in_progress")
    programme = create_programme(org.quality, year=2026, title="P", entries=[{"process_id": audit.process_id}])
    client = signed_in(app, org.viewer)
    response = client.get(f"/audits/{audit.id}/report.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf" and response.data[:5] == b"%PDF-"
    assert f'href="/audits/{audit.id}/report.pdf">Download report (PDF)' in text(client.get(f"/audits/{audit.id}"))
    response = client.get(f"/programmes/{programme.id}/report.pdf")
    assert response.status_code == 200 and response.data[:5] == b"%PDF-"
    assert "Download programme (PDF)" in text(client.get(f"/programmes/{programme.id}"))
