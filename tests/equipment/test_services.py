"""Measuring equipment: the register, calibration status (due, overdue), calibrations that quarantine
an instrument left out of tolerance, and the out-of-tolerance assessment listing what the instrument
measured since its last good calibration (checklist answers and NCs citing it) and raising an NC."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import update

from qms.database import db
from qms.models import Calibration, Equipment, Nonconformity, OotAssessment
from qms.services import fire
from qms.services.equipment import cite_equipment, register_equipment, status_counts
from qms.services.nonconformities import raise_nonconformity
from workflows.errors import GuardFailed, InvalidData, NotPermitted

from ..conftest import PASSWORD
from ..helpers import audit_in_state
from .builders import TODAY, calibrate, new_instrument


def test_register_validates_and_refuses_a_duplicate_identifier(app, org):
    gauge = new_instrument(org)
    assert gauge.state == "in_service" and gauge.calibration_status(TODAY) == "overdue"  # never calibrated
    with pytest.raises(InvalidData) as exc:
        register_equipment(org.quality, identifier="GA-012", name="", interval_days=0, calibration_kind="x")
    assert set(exc.value.errors) == {"identifier", "name", "interval_days", "calibration_kind"}
    with pytest.raises(NotPermitted):
        register_equipment(org.owner, identifier="X", name="Y", interval_days=1)


def test_calibration_sets_due_dates_and_status(app, org):
    gauge = new_instrument(org, interval_days=100)
    calibration, assessment = calibrate(org, gauge, TODAY - dt.timedelta(days=80))
    assert assessment is None and calibration.next_due == TODAY + dt.timedelta(days=20)
    assert gauge.calibration_status(TODAY) == "due" and gauge.last_good_calibration_on == TODAY - dt.timedelta(days=80)
    assert status_counts(TODAY)["due"] == 1
    with pytest.raises(InvalidData) as exc:
        calibrate(org, gauge, TODAY - dt.timedelta(days=90), traceability="", as_found_in_tolerance="maybe")
    assert set(exc.value.errors) == {"calibrated_on", "traceability", "as_found_in_tolerance"}
    with pytest.raises(InvalidData):
        calibrate(org, gauge, TODAY + dt.timedelta(days=1))


def test_out_of_tolerance_as_left_quarantines_and_blocks_return_to_service(app, org):
    gauge = new_instrument(org)
    calibrate(org, gauge, TODAY - dt.timedelta(days=10), found=True, left=False)
    assert gauge.state == "quarantined" and "left it out of tolerance" in gauge.status_reason
    with pytest.raises(GuardFailed, match="out of tolerance: calibrate it first"):
        fire(gauge, "return_to_service", org.quality)
    calibrate(org, gauge, TODAY, found=False, left=True)
    fire(gauge, "return_to_service", org.quality)
    assert gauge.state == "in_service" and gauge.calibration_status(TODAY) == "in_service"


def test_out_of_tolerance_lists_what_it_measured_and_raises_an_nc(app, org):
    gauge = new_instrument(org)
    calibrate(org, gauge, TODAY - dt.timedelta(days=200))
    audit = audit_in_state(org, "in_progress")
    item = audit.items[0]
    from qms.services.audits import answer

    answer(item, org.auditor, result="conforming", notes="Thickness measured 1.20 mm")
    cite_equipment(item, org.auditor, gauge.id)
    with pytest.raises(NotPermitted):
        cite_equipment(item, org.viewer, gauge.id)
    nc = raise_nonconformity(
        org.quality,
        title="Sheet thickness",
        description="Measured 1.10",
        source="process_monitoring",
        equipment_id=gauge.id,
    )
    old = raise_nonconformity(
        org.quality, title="Old one", description="Before", source="process_monitoring", equipment_id=gauge.id
    )
    db.session.execute(
        update(Nonconformity).where(Nonconformity.id == old.id).values(detected_on=TODAY - dt.timedelta(days=300))
    )
    db.session.commit()
    with pytest.raises(InvalidData):
        raise_nonconformity(org.quality, title="T", description="D", source="process_monitoring", equipment_id=999999)
    _calibration, assessment = calibrate(org, gauge, TODAY, found=False, left=True)
    assert assessment is not None and assessment.state == "open"
    assert assessment.window_start == TODAY - dt.timedelta(days=200) and assessment.window_end == TODAY
    kinds = {(a["kind"], a["id"]) for a in assessment.affected}
    assert kinds == {("checklist_item", item.id), ("nonconformity", nc.id)}  # the older NC is outside the window
    assert gauge.state == "in_service"  # adjusted back into tolerance
    fire(assessment, "raise_nonconformity", org.quality, {"impact": "Two lots measured with it may be thin"})
    assert assessment.state == "nc_raised" and assessment.nonconformity is not None
    raised = assessment.nonconformity
    assert raised.equipment_id == gauge.id and raised.clause_refs == ["7.1.5.2"] and nc.reference in raised.description
    fire(assessment, "close", org.manager, {"rationale": "Handled by " + raised.reference})
    assert assessment.state == "closed" and assessment.closed_at is not None


def test_no_impact_conclusion_is_signed(app, org):
    gauge = new_instrument(org)
    _c, assessment = calibrate(org, gauge, TODAY, found=False, left=True)
    with pytest.raises(InvalidData):
        fire(assessment, "conclude_no_impact", org.quality, {"rationale": "x"}, signature_password="bad")
    history = fire(
        assessment,
        "conclude_no_impact",
        org.quality,
        {"rationale": "Within product tolerance"},
        signature_password=PASSWORD,
    )
    assert history.signature_meaning == "assessed" and assessment.state == "closed"
    assert db.session.query(OotAssessment).count() == 1 and db.session.query(Calibration).count() == 1


def test_certificate_file_is_stored_with_the_calibration(app, org):
    gauge = new_instrument(org)
    calibration, _ = calibrate(org, gauge, TODAY, certificate=(io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "cert.pdf"))
    assert calibration.certificate_id is not None
    with pytest.raises(InvalidData) as exc:
        calibrate(org, gauge, TODAY, certificate=(io.BytesIO(b"MZ\x90\x00" + bytes(300)), "cert.pdf"))
    assert "file" in exc.value.errors
    assert db.session.query(Calibration).count() == 1
    assert db.session.get(Equipment, gauge.id).last_calibrated_on == TODAY
