"""Certifications know their edition: the transition to ISO 9001:2026, the cut-over rule, the six-month
stage-2 rule, readiness warnings and the body's transition audit (services, web and API)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from qms.database import db
from qms.models import CertificationBody, Nonconformity
from qms.services import available_events, fire
from qms.services.audit_trail import recorded_change
from qms.services.certifications import (
    create_certification,
    ensure_bodies,
    plan_body_transition_audit,
    readiness,
    record_edition_transition,
    record_external_audit,
    stage2_repeat_reason,
    timeline,
    transition_status,
)
from qms.services.standards import edition_of, successor_of, update_edition
from standards import cycle_rules, get_body
from workflows.errors import GuardFailed, InvalidData, InvalidTransition, NotPermitted

from ..audits.test_web import signed_in, text
from ..helpers import error, ok

TODAY = dt.date.today()


@pytest.fixture
def bodies(app):
    with recorded_change(None, "bodies loaded") as session:
        ensure_bodies(session)
    return {b.code: b for b in db.session.scalars(select(CertificationBody))}


def certified(org, bodies, *, standard: str = "iso-9001-2015", decided_on: dt.date | None = None):
    decided_on = decided_on or TODAY - dt.timedelta(days=10)
    c = create_certification(
        org.manager,
        body_id=bodies["kebs"].id,
        scope="Steel doors",
        standard_identifier=standard,
        applied_on=decided_on,
    )
    fire(c, "record_contract", org.manager, {"signed_on": decided_on})
    fire(c, "start_stage1", org.quality, {"audit_date": decided_on})
    fire(c, "ready_for_stage2", org.quality, {"audit_date": decided_on})
    fire(c, "complete_stage2", org.quality, {"last_day": decided_on})
    fire(c, "submit_response", org.quality)
    fire(c, "certify", org.quality, {"decided_on": decided_on, "certificate_number": "KEBS-QMS-0042"})
    return c


def move_dates(org, **dates: dt.date | int | None) -> None:
    """The admin records new transition dates for ISO 9001:2026 (as when the IAF publishes them)."""
    update_edition(
        "iso-9001-2026",
        org.admin,
        {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in dates.items()},
    )


# --------------------------------------------------------------------------- editions as data


def test_the_2026_edition_replaces_2015_with_dates_as_data(app, org):
    edition = edition_of("iso-9001-2026")
    assert edition.status == "draft" and edition.replaces == "iso-9001-2015"
    assert edition.transition_ends_on == dt.date(2029, 9, 30) and edition.cutover_on == dt.date(2028, 3, 31)
    assert "⚠" in edition.source  # expected, not yet published by the IAF
    # the amendment transitions with its edition
    assert successor_of("iso-9001-2015-amd1-2024").identifier == "iso-9001-2026"
    assert successor_of("iso-9001-2026") is None
    # an admin records the IAF's dates; every field is checked, the messages name it
    with pytest.raises(NotPermitted):
        update_edition("iso-9001-2026", org.manager, {"status": "published"})
    with pytest.raises(InvalidData) as bad:
        update_edition(
            "iso-9001-2026",
            org.admin,
            {"cutover_on": "2030-01-01", "transition_ends_on": "2029-09-30", "warn_months": 0, "status": "final"},
        )
    assert set(bad.value.errors) == {"cutover_on", "warn_months", "status"}
    with pytest.raises(InvalidData) as bad:
        update_edition("iso-9001-2026", org.admin, {"replaces": "iso-1987"})
    assert set(bad.value.errors) == {"replaces"}
    assert edition_of("iso-9001-2026").status == "draft"  # nothing half-applied
    move_dates(org, status="published", published_on=dt.date(2026, 9, 15), transition_ends_on=dt.date(2029, 9, 15))
    edition = edition_of("iso-9001-2026")
    assert (edition.status, edition.published_on, edition.transition_ends_on) == (
        "published",
        dt.date(2026, 9, 15),
        dt.date(2029, 9, 15),
    )
    assert edition.cutover_on == dt.date(2028, 3, 31)  # a field not given keeps its value


def test_every_certification_rule_is_labelled_with_its_source():
    kebs, generic = get_body("kebs"), get_body("generic")
    # the 90/180/90 days are programme settings: ISO/IEC 17021-1 sets none of them
    for body in (kebs, generic):
        assert body.source_of("recertification_lead_days") == "programme_setting"
        assert body.source_of("stage2_max_days_after_stage1") == "programme_setting"  # KEBS agrees it with the client
        assert body.source_of("certificate_years") == "standard"
    assert kebs.source_of("findings_response_days") == "body"  # KEBS's published 30 days
    assert generic.source_of("findings_response_days") == "programme_setting"
    assert "17021-1 defaults" not in generic.name
    rules = {rule.code: rule for rule in cycle_rules()}
    assert rules["stage2_blocked_major_open"].source == "policy"
    assert rules["stage2_major_six_months"].source == "standard"
    assert rules["edition_cutover"].source == "transition"
    # the unsourced SGS rule is gone
    assert "initial audit" not in get_body("sgs").notes


# --------------------------------------------------------------------------- the cut-over rule


def test_no_recertification_to_the_old_edition_after_the_cut_over(app, org, bodies):
    cert = certified(org, bodies)
    assert available_events(cert, org.quality)  # nothing blocks recertification before the cut-over
    allowed = {e.name: e for e in available_events(cert, org.quality)}
    assert allowed["start_recertification"].allowed
    move_dates(org, cutover_on=TODAY - dt.timedelta(days=1))
    blocked = {e.name: e for e in available_events(cert, org.quality)}["start_recertification"]
    assert not blocked.allowed and "every recertification audit is to ISO 9001:2026" in blocked.reason
    with pytest.raises(GuardFailed):
        fire(cert, "start_recertification", org.quality, {"audit_date": TODAY})
    assert cert.state == "certified"
    # nor a new application to the old edition
    with pytest.raises(InvalidData) as bad:
        create_certification(org.manager, body_id=bodies["kebs"].id, scope="Depot", standard_identifier="iso-9001-2015")
    assert "apply for iso-9001-2026" in bad.value.errors["standard_identifier"]
    # the body's transition decision moves the certificate; recertification to 2026 is then open
    record_edition_transition(cert, org.quality, decided_on=TODAY, certificate_number="KEBS-QMS-0042-26")
    assert (cert.standard_identifier, cert.previous_standard_identifier) == ("iso-9001-2026", "iso-9001-2015")
    assert cert.certificate_number == "KEBS-QMS-0042-26" and cert.edition_changed_on == TODAY
    fire(cert, "start_recertification", org.quality, {"audit_date": TODAY})
    assert cert.state == "recertification"


def test_the_edition_transition_is_validated_whole(app, org, bodies):
    cert = certified(org, bodies)
    with pytest.raises(NotPermitted):
        record_edition_transition(cert, org.viewer, decided_on=TODAY)
    with pytest.raises(InvalidData) as bad:
        record_edition_transition(
            cert, org.quality, decided_on=TODAY + dt.timedelta(days=2), new_standard="iso-9001-2008"
        )
    assert set(bad.value.errors) == {"decided_on", "new_standard"}
    assert cert.standard_identifier == "iso-9001-2015"
    applied = create_certification(org.manager, body_id=bodies["kebs"].id, scope="Depot")
    with pytest.raises(InvalidTransition):
        record_edition_transition(applied, org.quality, decided_on=TODAY)


# --------------------------------------------------------------------------- the six-month stage-2 rule


def _stage2_with_major(org, bodies, *, last_day: dt.date):
    c = create_certification(org.manager, body_id=bodies["kebs"].id, scope="Doors", applied_on=last_day)
    fire(c, "record_contract", org.manager, {"signed_on": last_day})
    fire(c, "start_stage1", org.quality, {"audit_date": last_day})
    fire(c, "ready_for_stage2", org.quality, {"audit_date": last_day})
    audit = record_external_audit(
        c,
        org.quality,
        kind="stage2",
        start_date=last_day - dt.timedelta(days=1),
        end_date=last_day,
        findings=[{"body_reference": "S2-01", "grade": "major", "description": "No internal audit held"}],
    )
    fire(c, "complete_stage2", org.quality, {"last_day": last_day})
    return c, audit.findings[0].nonconformity


def _close(nc: Nonconformity, on: dt.date) -> None:
    """The NC verified and closed on ``on`` (its lifecycle is tested elsewhere; here only the date matters)."""
    db.session.execute(
        update(Nonconformity)
        .where(Nonconformity.id == nc.id)
        .values(state="closed", closed_at=dt.datetime.combine(on, dt.time(12), tzinfo=dt.UTC))
    )
    db.session.commit()
    db.session.expire_all()


def test_a_major_not_verified_within_six_months_of_stage_2_means_stage_2_again(app, org, bodies):
    last_day = TODAY - dt.timedelta(days=200)
    cert, nc = _stage2_with_major(org, bodies, last_day=last_day)
    assert cert.state == "findings_response"
    # verified, but after the six months: the response is refused with the rule's reason
    _close(nc, TODAY - dt.timedelta(days=1))
    reason = stage2_repeat_reason(cert, TODAY)
    assert reason and "S2-01" in reason and "stage 2 must be repeated" in reason and "ISO/IEC 17021-1" in reason
    blocked = {e.name: e for e in available_events(cert, org.quality)}["submit_response"]
    assert not blocked.allowed and blocked.reason == reason
    with pytest.raises(GuardFailed):
        fire(cert, "submit_response", org.quality)
    # stage 2 is repeated, from the findings response itself
    fire(cert, "refuse", org.quality, {"reason": "Major S2-01 not verified within six months"})
    assert cert.state == "stage2"


def test_a_major_verified_within_six_months_lets_the_response_through(app, org, bodies):
    last_day = TODAY - dt.timedelta(days=200)
    cert, nc = _stage2_with_major(org, bodies, last_day=last_day)
    _close(nc, last_day + dt.timedelta(days=60))
    assert stage2_repeat_reason(cert, TODAY) is None
    fire(cert, "submit_response", org.quality)
    assert cert.state == "decision_pending"


def test_within_six_months_the_rule_does_not_apply_yet(app, org, bodies):
    cert, _nc = _stage2_with_major(org, bodies, last_day=TODAY - dt.timedelta(days=20))
    assert stage2_repeat_reason(cert, TODAY) is None
    blocked = {e.name: e for e in available_events(cert, org.quality)}["submit_response"]
    assert blocked.reason == "1 major nonconformity is still open"  # qmsflow's policy, not the six-month rule


# --------------------------------------------------------------------------- readiness and the timeline


def test_readiness_warns_about_the_transition_deadline(app, org, bodies):
    cert = certified(org, bodies)
    status = transition_status(cert, TODAY)
    assert status.new == "iso-9001-2026" and status.ends_on == dt.date(2029, 9, 30)
    found = readiness(cert, TODAY)
    notice = next(r for r in found.reasons if "Transition to ISO 9001:2026 not done" in r.message)
    assert (
        notice.points == 0 and "2029-09-30" in notice.message and "no transition review is open yet" in notice.message
    )
    assert found.figures["transition_deadline"] == "2029-09-30"
    # the deadline approaches (the configurable months): the warning costs points
    move_dates(org, warn_months=60)
    found = readiness(cert, TODAY)
    warning = next(r for r in found.reasons if "Transition to ISO 9001:2026 not done" in r.message)
    assert warning.points == 10 and not warning.blocking
    # after the end of the transition the certificate is no longer valid: blocking
    move_dates(org, cutover_on=TODAY - dt.timedelta(days=40), transition_ends_on=TODAY - dt.timedelta(days=1))
    found = readiness(cert, TODAY)
    assert any("no longer valid" in b for b in found.blocking) and found.verdict == "not ready"
    # once the body moved the certificate, nothing is left to warn about
    record_edition_transition(cert, org.quality, decided_on=TODAY)
    assert not any("ransition" in r.message for r in readiness(cert, TODAY).reasons)


def test_the_body_transition_audit_is_planned_and_shown_on_the_timeline(app, org, bodies):
    cert = certified(org, bodies)
    with pytest.raises(InvalidData) as bad:
        plan_body_transition_audit(cert, org.quality, planned_on="2030-01-01", combined_with="stage1")
    assert set(bad.value.errors) == {"planned_on", "combined_with"}
    with pytest.raises(NotPermitted):
        plan_body_transition_audit(cert, org.viewer, planned_on=TODAY)
    day = TODAY + dt.timedelta(days=300)
    plan_body_transition_audit(cert, org.quality, planned_on=day, combined_with="surveillance")
    steps = {s.what: s for s in timeline(cert, TODAY)}
    assert steps["Transition audit to ISO 9001:2026 (with the surveillance audit)"].due == day
    assert steps["Transition deadline: certificates to ISO 9001:2015 end"].due == dt.date(2029, 9, 30)
    assert steps["Cut-over: every audit to ISO 9001:2026 from this day"].due == dt.date(2028, 3, 31)


# --------------------------------------------------------------------------- web and API


def test_the_certification_page_shows_the_transition_and_plans_the_audit(app, org, bodies):
    cert = certified(org, bodies)
    quality = signed_in(app, org.quality)
    page = text(quality.get(f"/certifications/{cert.id}"))
    assert 'id="transition"' in page and "2029-09-30" in page and "not planned yet" in page
    bad = quality.post(f"/certifications/{cert.id}/transition-audit", data={"planned_on": "2031-01-01"})
    assert bad.status_code == 422 and "end of the transition" in text(bad)
    day = TODAY + dt.timedelta(days=100)
    response = quality.post(
        f"/certifications/{cert.id}/transition-audit",
        data={"planned_on": day.isoformat(), "combined_with": "recertification"},
    )
    assert response.status_code == 302
    assert f"planned for {day}" in text(quality.get(f"/certifications/{cert.id}"))
    assert signed_in(app, org.viewer).post(f"/certifications/{cert.id}/edition", data={}).status_code == 403
    assert quality.post(f"/certifications/{cert.id}/edition", data={"decided_on": "soon"}).status_code == 422
    response = quality.post(f"/certifications/{cert.id}/edition", data={"decided_on": TODAY.isoformat()})
    assert response.status_code == 302
    page = text(quality.get(f"/certifications/{cert.id}"))
    assert "moved from" in page and 'id="transition"' not in page
    readiness_page = text(quality.get(f"/certifications/{cert.id}/readiness"))
    assert "Transition to" not in readiness_page


def test_the_api_plans_the_transition_audit_and_records_the_move(app, org, bodies, api):
    cert = certified(org, bodies)
    url = f"/api/v1/certifications/{cert.id}"
    found = ok(api.get("viewer", f"{url}/readiness"))
    assert found["figures"]["transition_deadline"] == "2029-09-30"
    assert any("Transition to ISO 9001:2026" in r["message"] for r in found["reasons"])
    body = error(api.request("quality", "PUT", f"{url}/transition-audit", json={"planned_on": "2031-01-01"}), 422)
    assert set(body["errors"]) == {"planned_on"}
    error(api.request("quality", "PUT", f"{url}/transition-audit", json={"planned_on": None, "colour": 1}), 422)
    error(api.request("viewer", "PUT", f"{url}/transition-audit", json={"planned_on": None}), 403)
    day = (TODAY + dt.timedelta(days=90)).isoformat()
    planned = ok(
        api.request(
            "quality", "PUT", f"{url}/transition-audit", json={"planned_on": day, "combined_with": "surveillance"}
        )
    )
    assert (planned["transition_audit_planned_on"], planned["transition_audit_combined_with"]) == (day, "surveillance")
    moved = ok(api.post("manager", f"{url}/edition", json={"decided_on": TODAY.isoformat()}))
    assert (moved["standard_identifier"], moved["previous_standard_identifier"]) == ("iso-9001-2026", "iso-9001-2015")
    assert moved["transition_audit_planned_on"] is None
    error(api.post("manager", f"{url}/edition", json={"decided_on": TODAY.isoformat()}), 422)  # nothing replaces 2026


def test_the_api_reads_and_edits_edition_dates(app, org, api):
    url = "/api/v1/standards/iso-9001-2026/edition"
    found = ok(api.get("viewer", url))
    assert (found["status"], found["replaces"], found["cutover_on"]) == ("draft", "iso-9001-2015", "2028-03-31")
    error(api.patch("manager", url, json={"status": "published"}), 403)
    body = error(api.patch("admin", url, json={"cutover_on": "2030-01-01"}), 422)
    assert set(body["errors"]) == {"cutover_on"}
    error(api.patch("admin", url, json={"warn_months": "many"}), 422)
    edited = ok(api.patch("admin", url, json={"status": "published", "published_on": "2026-09-15"}))
    assert (edited["status"], edited["published_on"]) == ("published", "2026-09-15")
    error(api.get("viewer", "/api/v1/standards/nope/edition"), 404)
    page = text(signed_in(app, org.admin).get("/standards"))
    assert 'id="edition-iso-9001-2026"' in page and "2026-09-15" in page
