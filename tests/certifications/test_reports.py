"""The certification pack PDF and the management review minutes PDF, read back with pypdf."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from qms.database import db
from qms.models import MANAGEMENT_REVIEW_INPUTS, CertificationBody, ManagementReview, ReviewAction, TransitionHistory
from qms.reports.certifications import TITLE as PACK_TITLE
from qms.reports.certifications import certification_pack_pdf
from qms.reports.reviews import DRAFT_NOTICE, label_of, management_review_pdf, value_text
from qms.services import fire
from qms.services.audit_trail import recorded_change
from qms.services.certifications import (
    create_certification,
    ensure_bodies,
    next_audit,
    readiness,
    record_external_audit,
    timeline,
    update_body,
)
from qms.services.nonconformities import add_corrective_action

from .. import helpers
from ..conftest import PASSWORD
from ..helpers import audit_in_state, nc_in_state, new_nc, new_process

ORG = "Acme Précision – Works"
GENERATED = dt.datetime(2026, 4, 2, 3, 4, 5, tzinfo=dt.UTC)
FOOTER = "Generated 2026-04-02 03:04 UTC by qmsflow"
HOSTILE = "<script>alert('x')</script> & <b>bold</b> </para>"
TODAY = dt.date.today()
#: internal audits are planned this year (the coverage matrix is the year's), before the decision's cycle
PLAN_DAY = max(dt.date(TODAY.year, 1, 1), TODAY - dt.timedelta(days=40))
DECIDED = PLAN_DAY - dt.timedelta(days=1)


def read(pdf: bytes) -> tuple[list[str], str]:
    """The text of each page, and all of it on one line (wrapped cells read as one phrase)."""
    assert pdf.startswith(b"%PDF-")
    pages = [page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages]
    return pages, " ".join(" ".join(pages).split())


def assert_numbered(pages: list[str], header: str) -> None:
    assert len(pages) > 0
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in text
        assert FOOTER in text
        assert header in text


def flat(text: str) -> str:
    return " ".join(text.split())


# --- the certification pack ----------------------------------------------------


@pytest.fixture
def bodies(app):
    with recorded_change(None, "bodies loaded") as session:
        ensure_bodies(session)
    return {b.code: b for b in db.session.scalars(select(CertificationBody))}


def certified(org, bodies, *, code: str = "sgs", decided_on: dt.date = DECIDED, scope: str = "Steel doors"):
    c = create_certification(org.manager, body_id=bodies[code].id, scope=scope, applied_on=decided_on)
    fire(c, "record_contract", org.manager, {"signed_on": decided_on})
    fire(c, "start_stage1", org.quality, {"audit_date": decided_on})
    fire(c, "ready_for_stage2", org.quality, {"audit_date": decided_on})
    fire(c, "complete_stage2", org.quality, {"last_day": decided_on})
    fire(c, "submit_response", org.quality)
    fire(c, "certify", org.quality, {"decided_on": decided_on, "certificate_number": "SGS-QMS-0042"})
    return c


def pack(certification, **kw) -> tuple[list[str], str]:
    pages, text = read(
        certification_pack_pdf(certification, today=TODAY, organisation=ORG, generated_at=GENERATED, **kw)
    )
    assert_numbered(pages, f"{certification.reference} certification pack")
    return pages, text


def _graded(org, title: str, severity: str | None, *, days_ago: int = 0):
    nc = new_nc(org, title=title, detected_on=TODAY - dt.timedelta(days=days_ago))
    if severity:
        fire(nc, "triage", org.quality, {"severity": severity})
    return nc


@pytest.fixture
def organisation(app, org, bodies, monkeypatch):
    """A certified organisation with open and closed NCs, an overdue action, an audit, a finding-laden surveillance."""
    monkeypatch.setattr(helpers, "PLAN_DAY", PLAN_DAY)
    scale = [dict(grade) for grade in bodies["sgs"].profile["severity_scale"]]
    for grade in scale:
        if grade["code"] == "major":
            grade["label"] = "Category A – major"
        if grade["code"] == "ofi":
            grade["label"] = "Improvement point <ofi> & co"
    update_body(bodies["sgs"], org.admin, {"severity_scale": scale})
    c = certified(org, bodies, scope=f"Doors {HOSTILE}")
    process = new_process(org, clauses=("8.5", "9.2"))
    audit = audit_in_state(org, "closed", process=process, clauses=("8.5",))
    ncs = {
        "old_minor": _graded(org, "Old minor", "minor", days_ago=120),
        "new_major": _graded(org, f"New major {HOSTILE}", "major", days_ago=2),
        "old_major": _graded(org, "Old major", "major", days_ago=30),
        "observation": _graded(org, "An observation", "observation", days_ago=200),
        "ungraded": _graded(org, "Not triaged", None, days_ago=1),
        "closed": nc_in_state(org, "closed"),
        "rejected": _graded(org, "Rejected one", None),
    }
    fire(ncs["rejected"], "reject", org.quality, {"reason": "Not a nonconformity"})
    fire(ncs["old_minor"], "contain", org.owner, {"containment": "Gauge quarantined."})
    fire(
        ncs["old_minor"],
        "analyse_root_cause",
        org.quality,
        {"method": "five_whys", "root_cause": "No recall reminder", "whys": ["a", "b"]},
    )
    late = add_corrective_action(
        ncs["old_minor"], org.quality, title="Replace worn gauge", owner_id=org.owner.id, due_date=TODAY
    )
    with recorded_change(org.quality, "due date moved for the test"):
        late.due_date = TODAY - dt.timedelta(days=6)
    end = TODAY - dt.timedelta(days=3)
    external = record_external_audit(
        c,
        org.quality,
        kind="surveillance",
        start_date=end,
        end_date=end,
        lead_auditor="A. Auditor",
        body_reference="SGS/SA/17",
        outcome="Recommended for continuation",
        findings=[
            {"body_reference": "F1", "grade": "major", "clause_number": "7.1.5", "description": "No calibration"},
            {"body_reference": "F2", "grade": "ofi", "clause_number": "8.5.1", "description": "Scan the labels"},
        ],
    )
    return c, audit, ncs, late, external


def test_pack_lists_the_open_ncs_major_first_then_oldest(app, org, organisation):
    c, _, ncs, _, external = organisation
    _, text = pack(c)
    section = text.split("Certification timeline", 1)[1].split("Overdue corrective actions", 1)[0]
    section = section.split("Open nonconformities", 1)[1]
    listed = re.findall(r"NC-\d{4}-\d{4}", section)
    finding_nc = external.findings[0].nonconformity  # raised by the body's major finding, today - 3
    expected = [
        ncs["old_major"].reference,
        finding_nc.reference,
        ncs["new_major"].reference,
        ncs["old_minor"].reference,
        ncs["observation"].reference,
        ncs["ungraded"].reference,
    ]
    assert listed == expected
    assert ncs["closed"].reference not in section and ncs["rejected"].reference not in section
    assert "6 open nonconformities: 3 major, 1 minor, 1 observation, 1 not yet graded." in section
    assert f"{ncs['old_minor'].reference} Old minor Minor 120 Root cause identified" in section
    assert "Not yet graded" in section


def test_pack_gives_the_readiness_as_the_service_computes_it(app, org, organisation):
    c, *_ = organisation
    found = readiness(c, TODAY)
    _, text = pack(c)
    assert found.verdict == "not ready" and found.blocking
    assert f"Score {found.score} of 100: Not ready" in text
    assert f"Readiness {found.score} of 100: Not ready" in text
    section = text.split("Readiness for the next external audit", 1)[1].split("Certification timeline", 1)[0]
    assert "Blocking: " + "; ".join(found.blocking) in section
    for reason in found.reasons:
        assert f"-{reason.points} {flat(reason.message)}" in section
    # the blocking reasons come first, before any heavier non-blocking one
    assert section.index("Blocking -") < section.index("-" + str(found.reasons[-1].points) + " ")
    majors = next(r for r in found.reasons if "major nonconformit" in r.message)
    major_finding = next(r for r in found.reasons if "major finding" in r.message)
    assert section.index(f"Blocking -{majors.points} {majors.message}") < section.index("minor nonconformity open")
    assert f"Blocking -{major_finding.points} {major_finding.message}" in section
    assert f"Total deducted: score {found.score} of 100" in section
    assert f"Overdue corrective actions {found.figures['overdue_corrective_actions']}" in section


def test_pack_gives_the_timeline_and_the_certificate(app, org, organisation):
    c, *_ = organisation
    _, text = pack(c)
    assert PACK_TITLE in text and ORG in text
    assert "SGS-QMS-0042" in text and "State Certified" in text
    assert "Standard ISO 9001:2015" in text and "iso-9001-2015" not in text
    assert f"Expiry {c.expires_on.isoformat()}" in text
    section = text.split("Certification timeline", 1)[1].split("Open nonconformities", 1)[0]
    steps = timeline(c, TODAY)
    for step in steps:
        assert step.what in section
    surveillance = next(s for s in steps if s.what == "Surveillance audit 1")
    assert f"Surveillance audit 1 {surveillance.due.isoformat()}" in section
    assert f"Certificate expiry {c.expires_on.isoformat()}" in section
    assert f"Certification decision — {DECIDED.isoformat()}" in section
    # the cover's next audit is the first not yet held: surveillance 1 is recorded above
    coming = next(s for s in steps if s.what == "Surveillance audit 2")
    assert next_audit(c, TODAY) == coming
    assert f"Next audit due Surveillance audit 2, {coming.due.isoformat()}" in text
    assert "(SGS)" in text and "(sgs)" not in text


def test_pack_gives_findings_with_the_bodys_grades_and_the_coverage(app, org, organisation):
    c, audit, ncs, late, external = organisation
    _, text = pack(c)
    section = text.split("External audits and their findings", 1)[1].split("Certification body:", 1)[0]
    f1, _f2 = external.findings
    assert "Surveillance audit" in section and "SGS/SA/17" in section and "A. Auditor" in section
    assert f"F1 Category A – major 7.1.5 No calibration {f1.response_due.isoformat()} {f1.nonconformity.reference}" in (
        section
    )
    assert "Still open" in section
    assert "F2 Improvement point <ofi> & co 8.5.1 Scan the labels" in section and "No NC raised" in section
    profile = text.split("Certification body:", 1)[1]
    assert "Category A – major" in profile and "Severity scale" in profile and "Programme rules" in profile
    # the internal audit of clause 8.5 covers it; every other clause of the year is uncovered
    coverage = text.split("Internal audits of the cycle", 1)[1].split("Documents overdue for review", 1)[0]
    uncovered = readiness(c, TODAY).figures["clauses_not_audited"]
    assert "8.5" not in uncovered and "9.2" in uncovered
    for number in uncovered:
        assert re.search(rf"\b{re.escape(number)} ", coverage), number
    assert "9.2 Internal audit" in coverage
    assert f"{audit.reference} Production" in coverage and "Closed" in coverage
    actions = text.split("Overdue corrective actions", 1)[1].split("Internal audits of the cycle", 1)[0]
    assert f"{late.reference} Replace worn gauge {ncs['old_minor'].reference} Owner" in actions
    assert "No document is overdue for review." in text
    assert "No management review has been held." in text


def test_pack_escapes_user_text(app, org, organisation):
    c, *_ = organisation
    _, text = pack(c)
    assert f"Doors {HOSTILE}" in text
    assert f"New major {HOSTILE}" in text


def test_pack_of_a_fresh_application_and_a_held_review(app, org, bodies):
    c = create_certification(org.manager, body_id=bodies["kebs"].id, scope="Logistics")
    with recorded_change(org.manager, "review") as session:
        session.add(
            ManagementReview(
                reference="MR-2026-0001",
                title="Annual review",
                planned_for=TODAY - dt.timedelta(days=20),
                period_start=TODAY - dt.timedelta(days=385),
                period_end=TODAY - dt.timedelta(days=20),
                chair_id=org.manager.id,
                held_on=TODAY - dt.timedelta(days=20),
            )
        )
    _pages, text = pack(c)
    assert "Not yet certified" in text and "No open nonconformities." in text
    assert "No external audit recorded yet." in text and "No active processes" in text
    assert "MR-2026-0001: Annual review" in text and "Days since 20 days" in text
    assert "Kenya Bureau of Standards" in text


# --- the management review minutes --------------------------------------------------


def _inputs() -> dict:
    """Every 9.3.2 input: compiled figures of every shape for some, notes only for others."""
    compiled = {
        "previous_actions": {
            "open": 1,
            "done": 2,
            "overdue": 0,
            "actions": [
                {"id": 7, "review": "MR-2025-0001", "title": "Hire a metrologist", "status": "open", "overdue": False}
            ],
        },
        "nonconformities": {
            "raised": 5,
            "raised_by_severity": {"major": 1, "minor": 3, "observation": 1},
            "corrective_actions": {"open": 2, "on_time_percent": 87.5},
        },
        "monitoring_results": {
            "documents_overdue_for_review": 1,
            "audit_coverage": {"percent_audited": 42.0, "uncovered_clauses": ["7.1", "9.3"]},
        },
        "customer_satisfaction": {"responses": 0, "surveys": [], "nps": None},
        "audit_results": {"held": 3, "by_result": {"major": 0, "ofi": 2}},
    }
    inputs = {}
    for key in MANAGEMENT_REVIEW_INPUTS:
        entry = {"notes": ""}
        if key in compiled:
            entry.update(compiled=compiled[key], compiled_at="2026-03-30T08:15:00+00:00")
        inputs[key] = entry
    inputs["quality_objectives"]["notes"] = f"Objective Q1 met {HOSTILE}"
    inputs["resources"]["notes"] = "One more inspector needed."
    inputs["nonconformities"]["notes"] = "Major NC on gauges closed."
    return inputs


def new_review(org, **fields) -> ManagementReview:
    values = {
        "reference": "MR-2026-0002",
        "title": f"Annual review {HOSTILE}",
        "planned_for": TODAY - dt.timedelta(days=5),
        "period_start": TODAY - dt.timedelta(days=370),
        "period_end": TODAY - dt.timedelta(days=6),
        "chair_id": org.manager.id,
        "inputs": _inputs(),
    }
    values.update(fields)
    with recorded_change(org.manager, "management review planned") as session:
        review = ManagementReview(**values)
        session.add(review)
    return review


def add_actions(org, review) -> list[ReviewAction]:
    rows = [
        ("improvement", "Scan labels at packing", "open", TODAY + dt.timedelta(days=30), ""),
        (
            "qms_change",
            "Merge the two calibration procedures",
            "done",
            TODAY + dt.timedelta(days=10),
            "Merged in SOP-7",
        ),
        ("resources", "Hire an inspector", "open", TODAY - dt.timedelta(days=2), ""),
        ("", "Send the minutes to the board", "open", TODAY + dt.timedelta(days=3), ""),
    ]
    with recorded_change(org.manager, "actions decided") as session:
        actions = [
            ReviewAction(
                review_kind="management",
                review_id=review.id,
                title=title,
                description=f"Why: {HOSTILE}" if category == "improvement" else "",
                category=category,
                owner_id=org.owner.id,
                due_date=due,
                status=status,
                outcome=outcome,
            )
            for category, title, status, due, outcome in rows
        ]
        session.add_all(actions)
        # another review's action is not this review's
        session.add(
            ReviewAction(
                review_kind="org_change",
                review_id=review.id,
                title="Someone else's action",
                owner_id=org.owner.id,
                due_date=TODAY,
            )
        )
    return actions


def minutes(review, **kw) -> tuple[list[str], str]:
    pages, text = read(management_review_pdf(review, organisation=ORG, generated_at=GENERATED, today=TODAY, **kw))
    assert_numbered(pages, f"{review.reference} management review minutes")
    return pages, text


def test_minutes_show_every_input_in_order_with_figures_and_notes(app, org):
    review = new_review(org)
    _, text = minutes(review)
    positions = [text.index(flat(label)) for label in MANAGEMENT_REVIEW_INPUTS.values()]
    assert positions == sorted(positions)
    inputs = text.split("Inputs (ISO 9001 9.3.2)", 1)[1].split("Outputs and decisions", 1)[0]
    # each input as designed (qms/reports/review_inputs.py): labelled figures with units, tables with
    # plain-language columns, lists of clauses
    assert "Still open 1 Overdue 0 past their due date Done 2" in inputs
    assert "Hire a metrologist MR-2025-000" in inputs
    assert "Raised in the period 5 1 major, 3 minor, 1 observation" in inputs
    assert "Completed on time 87.5 %" in inputs
    assert "42 %" in inputs
    assert re.search(r"Clauses no audit covers yet Clause 7\.1 9\.3", inputs)
    assert "Survey responses 0" in inputs and "No survey was answered in the period." in inputs
    assert "Compiled 2026-03-30 08:15 UTC" in inputs
    assert f"Notes: Objective Q1 met {HOSTILE}" in inputs
    assert "Notes: One more inspector needed." in inputs and "Notes: Major NC on gauges closed." in inputs
    assert inputs.count("Not provided.") == 12 - 5 - 2  # neither figures nor notes
    assert f"Annual review {HOSTILE}" in text


def test_minutes_group_the_actions_by_category(app, org):
    review = new_review(org)
    add_actions(org, review)
    _, text = minutes(review)
    outputs = text.split("Outputs and decisions (ISO 9001 9.3.3)", 1)[1].split("Approval", 1)[0]
    order = ["Opportunity for improvement", "Need for change to the QMS", "Resource need", "Other actions"]
    assert [outputs.index(label) for label in order] == sorted(outputs.index(label) for label in order)
    improvement = outputs.split("Opportunity for improvement", 1)[1].split("Need for change", 1)[0]
    assert "Scan labels at packing" in improvement and f"Why: {HOSTILE}" in improvement
    assert "Owner" in improvement and (TODAY + dt.timedelta(days=30)).isoformat() in improvement
    change = outputs.split("Need for change to the QMS", 1)[1].split("Resource need", 1)[0]
    assert "Merge the two calibration procedures" in change and "Done" in change and "Merged in SOP-7" in change
    resources = outputs.split("Resource need", 1)[1].split("Other actions", 1)[0]
    assert "Hire an inspector" in resources and "Open, overdue" in resources
    assert "Send the minutes to the board" in outputs.split("Other actions", 1)[1]
    assert "Someone else's action" not in text


def test_unapproved_minutes_carry_the_draft_watermark(app, org):
    review = new_review(org, minutes="", attendees=[])
    pages, text = minutes(review)
    for page in pages:
        assert DRAFT_NOTICE in page
    assert f"{DRAFT_NOTICE}: the meeting has not been held yet" in text
    assert "No minutes written yet." in text and "Approver Not yet signed" in text
    assert "No outputs or actions recorded for this review." in text


def test_approved_minutes_carry_the_signature_and_no_watermark(app, org):
    review = new_review(org, held_on=TODAY - dt.timedelta(days=5), attendees=["Manager", "Quality"])
    signed_at = dt.datetime(2026, 4, 1, 9, 30, 0, tzinfo=dt.UTC)
    with recorded_change(org.manager, "minutes approved") as session:
        review.state, review.minutes = "minutes_approved", f"Decided: hire. {HOSTILE}"
        review.minutes_approved_at = signed_at
        session.add(
            TransitionHistory(
                lifecycle="management_review",
                lifecycle_version=1,
                record_id=review.id,
                event="approve_minutes",
                from_state="minutes_drafted",
                to_state="minutes_approved",
                actor_id=org.manager.id,
                actor_name=org.manager.name,
                signature_meaning="approved",
                signed_by_name=org.manager.name,
                signed_at=signed_at,
            )
        )
    _pages, text = minutes(review)
    assert DRAFT_NOTICE not in text
    assert "Manager — approved — 2026-04-01 09:30:00 UTC" in text
    assert "Approver Manager approved 2026-04-01 09:30:00 UTC" in text
    assert f"Decided: hire. {HOSTILE}" in text
    assert "Attendees Manager Quality" in text


def test_minutes_signed_through_the_lifecycle(app, org):
    inputs = _inputs()
    for entry in inputs.values():  # the meeting is ready only with every input provided
        entry["notes"] = entry["notes"] or "Discussed."
    review = new_review(org, inputs=inputs)
    fire(review, "start_gathering", org.quality)
    fire(review, "mark_ready", org.quality)
    fire(review, "record_meeting", org.quality, {"held_on": TODAY, "attendees": ["Manager", "Quality"]})
    fire(review, "draft_minutes", org.quality, {"minutes": "Resources agreed."})
    _, draft = minutes(review)
    assert DRAFT_NOTICE in draft and "the minutes may still change" in draft
    fire(review, "approve_minutes", org.manager, signature_password=PASSWORD)
    _pages, text = minutes(review)
    assert DRAFT_NOTICE not in text and "Resources agreed." in text
    assert re.search(r"Manager <manager@example\.test> — approved — \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", text)
    assert f"Held on {TODAY.isoformat()}" in text


def test_compiled_values_read_as_words():
    assert label_of("open_by_severity") == "Open by severity"
    assert label_of("nps_n") == "NPS responses" and label_of("ncs_older_than_90_days") == "NCs older than 90 days"
    assert label_of("whatsapp") == "WhatsApp" and value_text("in_progress") == "In progress"
    assert value_text("Steel doors and windows") == "Steel doors and windows"
    assert value_text(None) == "—" and value_text(True) == "Yes" and value_text(12.0) == "12"
    assert value_text(87.25) == "87.2" or value_text(87.25) == "87.3"
    assert value_text({"major": 1, "minor": 0}) == "Major: 1; Minor: 0"
    assert value_text(["7.1", "9.3"]) == "7.1, 9.3"
