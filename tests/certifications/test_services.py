"""Certification with external bodies through the services: the cycle, findings, readiness, reminders."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from qms.database import db
from qms.models import CertificationBody, ExternalFinding, ManagementReview, Nonconformity
from qms.services import available_events, fire
from qms.services.audit_trail import recorded_change
from qms.services.certifications import (
    create_certification,
    ensure_bodies,
    group_findings,
    readiness,
    record_external_audit,
    regrade_finding,
    reminders,
    timeline,
    update_body,
)
from workflows.errors import GuardFailed, InvalidData, NotPermitted

from ..conftest import PASSWORD
from ..helpers import new_nc

TODAY = dt.date.today()


@pytest.fixture
def bodies(app):
    with recorded_change(None, "bodies loaded") as session:
        ensure_bodies(session)
    return {b.code: b for b in db.session.scalars(select(CertificationBody))}


def certified(org, bodies, *, code: str = "kebs", decided_on: dt.date | None = None):
    """A certification walked to *certified*, decided on ``decided_on``."""
    decided_on = decided_on or TODAY - dt.timedelta(days=10)
    c = create_certification(
        org.manager, body_id=bodies[code].id, scope="Design and manufacture of steel doors", applied_on=decided_on
    )
    fire(c, "record_contract", org.manager, {"signed_on": decided_on})
    fire(c, "start_stage1", org.quality, {"audit_date": decided_on})
    fire(c, "ready_for_stage2", org.quality, {"audit_date": decided_on})
    fire(c, "complete_stage2", org.quality, {"last_day": decided_on})
    fire(c, "submit_response", org.quality)
    fire(c, "certify", org.quality, {"decided_on": decided_on, "certificate_number": "KEBS-QMS-0042"})
    return c


def test_bodies_load_once_and_admins_edit_them(app, org, bodies):
    assert {"kebs", "sgs", "bsi", "generic"} <= set(bodies)
    with recorded_change(None, "again") as session:
        assert ensure_bodies(session) == 0
    kebs = bodies["kebs"]
    with pytest.raises(NotPermitted):
        update_body(kebs, org.manager, {"name": "KEBS"})
    with pytest.raises(InvalidData) as caught:
        update_body(kebs, org.admin, {"programme": {**kebs.profile["programme"], "findings_response_days": 0}})
    assert "programme.findings_response_days" in caught.value.errors
    update_body(kebs, org.admin, {"programme": {"findings_response_days": 45}})  # the other rules stay
    assert kebs.profile["programme"]["findings_response_days"] == 45 and kebs.edited_by_id == org.admin.id
    assert kebs.profile["programme"]["certificate_years"] == 3


def test_certification_decision_computes_the_cycle(app, org, bodies):
    c = certified(org, bodies, decided_on=dt.date(2025, 12, 30))
    assert c.state == "certified" and c.cycle_start == dt.date(2025, 12, 30)
    assert c.expires_on == dt.date(2028, 12, 29)
    assert c.next_audit_due == dt.date(2026, 12, 30)
    steps = {step.what: step for step in timeline(c, dt.date(2026, 11, 1))}
    assert steps["Surveillance audit 1"].due == dt.date(2026, 12, 30)
    assert steps["Surveillance audit 2"].due == dt.date(2027, 12, 30)
    assert steps["Recertification audit"].due == dt.date(2028, 12, 29) - dt.timedelta(days=90)
    assert steps["Surveillance audit 1"].status(dt.date(2026, 11, 1)) == "due_soon"  # 59 days before
    assert steps["Surveillance audit 1"].status(dt.date(2027, 1, 2)) == "overdue"
    assert steps["Certification decision"].done_on == dt.date(2025, 12, 30)


def test_a_given_expiry_is_checked(app, org, bodies):
    c = certified(org, bodies)
    fire(c, "start_recertification", org.quality, {"audit_date": TODAY})
    with pytest.raises((InvalidData, GuardFailed)):
        fire(
            c,
            "recertify",
            org.quality,
            {"decided_on": TODAY, "certificate_number": "X", "expires_on": TODAY - dt.timedelta(days=1)},
        )


def test_early_recertification_continues_the_old_cycle(app, org, bodies):
    decided = TODAY - dt.timedelta(days=3 * 365 - 60)
    c = certified(org, bodies, decided_on=decided)
    old_expiry = c.expires_on
    fire(c, "start_recertification", org.quality, {"audit_date": TODAY})
    fire(c, "recertify", org.quality, {"decided_on": TODAY, "certificate_number": "KEBS-QMS-0042-R1"})
    assert c.cycle_start == old_expiry + dt.timedelta(days=1)
    assert c.expires_on > old_expiry and c.certificate_number.endswith("R1")


def test_suspended_certificate_keeps_its_dates_and_reinstates_only_without_major_ncs(app, org, bodies):
    c = certified(org, bodies)
    expiry, due = c.expires_on, c.next_audit_due
    fire(c, "suspend", org.manager, {"reason": "Surveillance audit not held in time", "suspended_until": TODAY})
    assert c.state == "suspended" and (c.expires_on, c.next_audit_due) == (expiry, due)
    nc = new_nc(org)
    fire(nc, "triage", org.quality, {"severity": "major"})
    blocked = {a.event.name: a.reason for a in available_events(c, org.manager) if not a.allowed}
    assert "1 major nonconformity is still open" in blocked["reinstate"]
    fire(nc, "reject", org.quality, {"reason": "Duplicate"})
    fire(c, "reinstate", org.manager)
    assert c.state == "certified" and c.suspended_until is None


def test_stage2_is_blocked_while_a_major_nc_is_open(app, org, bodies):
    c = create_certification(org.manager, body_id=bodies["sgs"].id, scope="Logistics services")
    fire(c, "record_contract", org.manager, {"signed_on": TODAY})
    fire(c, "start_stage1", org.quality, {"audit_date": TODAY})
    nc = new_nc(org)
    fire(nc, "triage", org.quality, {"severity": "major"})
    blocked = {a.event.name: a.reason for a in available_events(c, org.quality) if not a.allowed}
    assert blocked["ready_for_stage2"] == "1 major nonconformity is still open"
    with pytest.raises(GuardFailed):
        fire(c, "ready_for_stage2", org.quality, {})
    assert readiness(c).blocking == ["1 major nonconformity open"]
    fire(nc, "reject", org.quality, {"reason": "Not a nonconformity"})
    fire(c, "ready_for_stage2", org.quality, {})
    assert c.state == "stage2"


def test_findings_are_graded_on_the_bodys_scale_and_raise_ncs(app, org, bodies):
    c = certified(org, bodies, code="kebs")
    end = TODAY - dt.timedelta(days=2)
    audit = record_external_audit(
        c,
        org.quality,
        kind="surveillance",
        start_date=end - dt.timedelta(days=1),
        end_date=end,
        lead_auditor="J. Mwangi",
        body_reference="KEBS/SA/2026/17",
        findings=[
            {"body_reference": "F1", "grade": "major", "clause_number": "7.1.5", "description": "No calibration"},
            {"body_reference": "F2", "grade": "minor", "clause_number": "7.5.3", "description": "Old form in use"},
            {"body_reference": "F3", "grade": "minor", "clause_number": "7.5.3", "description": "Second old form"},
            {"body_reference": "F4", "grade": "observation", "description": "Labels could be clearer"},
        ],
    )
    f1, f2, f3, f4 = audit.findings
    assert f1.response_due == end + dt.timedelta(days=30) and f4.response_due is None
    assert f1.nonconformity.severity == "major" and f1.nonconformity.source == "external_audit"
    assert f1.nonconformity.containment_due == f1.response_due and f1.nonconformity.clause_refs == ["7.1.5"]
    assert f1.clause_urn == "urn:iso:std:9001:2015:clause:7.1.5"
    assert f4.nonconformity is None
    assert db.session.scalar(select(func.count()).select_from(Nonconformity)) == 3
    group_findings(audit, org.quality, [str(f2.id), f3.id], "G1")  # ids from a form arrive as text
    assert f2.group_label == f3.group_label == "G1"
    regrade_finding(f1, org.quality, grade="minor", reason="The body accepted the calibration records sent later")
    assert (f1.grade, f1.regraded_from, f1.nonconformity.severity) == ("minor", "major", "minor")
    regrade_finding(f4, org.quality, grade="minor", reason="Re-graded at the closing meeting")
    assert f4.nonconformity is not None and f4.nonconformity.severity == "minor"


def test_bad_findings_write_nothing(app, org, bodies):
    c = certified(org, bodies, code="sgs")
    with pytest.raises(InvalidData) as caught:
        record_external_audit(
            c,
            org.quality,
            kind="picnic",
            start_date=TODAY + dt.timedelta(days=3),
            findings=[
                {"body_reference": "F1", "grade": "catastrophic", "clause_number": "99.9", "description": "x"},
                {"body_reference": "F1", "grade": "minor", "description": ""},
            ],
        )
    errors = caught.value.errors
    assert {"kind", "start_date", "findings[0].grade", "findings[0].clause_number", "findings[1].description"} <= set(
        errors
    )
    assert "SGS's grades" in errors["findings[0].grade"]
    assert db.session.scalar(select(func.count()).select_from(ExternalFinding)) == 0
    with pytest.raises(NotPermitted):
        record_external_audit(c, org.auditor, kind="surveillance", start_date=TODAY)


def test_readiness_reasons_match_the_organisation(app, org, bodies):
    c = certified(org, bodies)
    assert readiness(c).reasons[0].message == "No management review has been held"
    first = new_nc(org)
    fire(first, "triage", org.quality, {"severity": "minor"})
    second = new_nc(org, title="Second")
    fire(second, "triage", org.quality, {"severity": "minor"})
    with recorded_change(org.manager, "review") as session:
        session.add(
            ManagementReview(
                reference="MR-1",
                title="Review",
                planned_for=TODAY - dt.timedelta(days=400),
                period_start=TODAY - dt.timedelta(days=800),
                period_end=TODAY - dt.timedelta(days=400),
                chair_id=org.manager.id,
                held_on=TODAY - dt.timedelta(days=400),
            )
        )
    result = readiness(c)
    messages = [r.message for r in result.reasons]
    assert "2 minor nonconformities open" in messages
    assert "The last management review was 400 days ago" in messages
    assert result.figures["open_minor_ncs"] == 2 and result.figures["days_since_management_review"] == 400
    # and 3 points for each missing piece of 4.1, 4.2 and 6.1 evidence (no issues, review, parties, rated risks),
    # no quality objectives (6.2), no planned change (6.3)
    assert result.score == 100 - 8 - 10 - 5 * 3 - 10 - 2
    assert "No quality objectives are set and approved (ISO 9001 6.2)" in messages
    assert result.blocking == []


def test_reminders_come_due_before_each_deadline(app, org, bodies):
    c = certified(org, bodies, decided_on=TODAY - dt.timedelta(days=365 - 20))
    due = reminders(TODAY)
    assert [(r.certification.id, r.what, r.days_left) for r in due] == [(c.id, "Surveillance audit 1", 20)]
    assert reminders(TODAY, owner_id=org.quality.id) == []
    assert reminders(TODAY - dt.timedelta(days=100)) == []


def test_only_managers_and_quality_officers_apply(app, org, bodies):
    with pytest.raises(NotPermitted):
        create_certification(org.auditor, body_id=bodies["kebs"].id, scope="x")
    with pytest.raises(InvalidData) as caught:
        create_certification(org.manager, body_id=999, scope="", standard_identifier="iso-0")
    assert set(caught.value.errors) == {"body_id", "scope", "standard_identifier"}


def test_certify_needs_a_signature_free_decision_but_the_body_decides(app, org, bodies):
    c = certified(org, bodies)
    fire(c, "start_surveillance", org.quality, {"audit_date": TODAY})
    fire(c, "complete_surveillance", org.quality, {})
    assert c.state == "certified" and c.next_audit_due is not None
    fire(c, "withdraw", org.manager, {"reason": "The body withdrew the certificate"}, signature_password=PASSWORD)
    assert c.is_terminal and c.status_reason == "The body withdrew the certificate"


def test_reminders_command(app, org, bodies, runner):
    c = certified(org, bodies, decided_on=TODAY - dt.timedelta(days=365 - 20))
    result = runner.invoke(args=["certifications", "reminders"])
    assert result.exit_code == 0, result.output
    assert f"{c.reference}\tKenya Bureau of Standards\tSurveillance audit 1" in result.output
    assert "in 20 days" in result.output and "1 reminder(s)" in result.output
    later = (TODAY + dt.timedelta(days=30)).isoformat()
    result = runner.invoke(args=["certifications", "reminders", "--date", later])
    assert "overdue by 10 days" in result.output


def test_dates_out_of_range_are_field_errors_not_overflows(app, org, bodies):
    c = create_certification(org.manager, body_id=bodies["kebs"].id, scope="Doors")
    fire(c, "record_contract", org.manager, {"signed_on": TODAY})
    fire(c, "start_stage1", org.quality, {"audit_date": TODAY})
    fire(c, "ready_for_stage2", org.quality, {})
    with pytest.raises(InvalidData) as caught:
        fire(c, "complete_stage2", org.quality, {"last_day": "9999-12-31"})
    assert caught.value.errors == {"last_day": "must be between 1900-01-01 and 2999-12-31"}
    with pytest.raises(InvalidData) as caught:
        create_certification(org.manager, body_id=bodies["kebs"].id, scope="Doors", applied_on="0001-01-01")
    assert "between" in caught.value.errors["applied_on"]
    assert c.state == "stage2"


def test_body_names_refuse_nul_and_long_grade_codes(app, org, bodies):
    with pytest.raises(InvalidData) as caught:
        update_body(bodies["sgs"], org.admin, {"name": "SGS\x00"})
    assert "name" in caught.value.errors
    scale = [dict(grade) for grade in bodies["sgs"].profile["severity_scale"]]
    scale[0]["code"] = "x" * 41
    with pytest.raises(InvalidData) as caught:
        update_body(bodies["sgs"], org.admin, {"severity_scale": scale})
    assert "40 at most" in caught.value.errors["severity_scale[0].code"]
