"""Inspections: recording one (validated), a rejected incoming inspection raising an NC against the
supplier that counts in its score, the review by someone other than the inspector, and the
out-of-tolerance assessment of an instrument listing the inspections it was used for."""

from __future__ import annotations

import datetime as dt

import pytest

from qms.database import db
from qms.models import Inspection, Nonconformity
from qms.services import available_events, fire
from qms.services.inspections import record_inspection
from qms.services.suppliers import record_delivery
from workflows.errors import GuardFailed, InvalidData, NotPermitted

from ..equipment.builders import calibrate, new_instrument
from ..helpers import row_count
from ..suppliers.builders import approved_supplier

TODAY = dt.date.today()


def incoming(org, supplier, **fields):
    values = {
        "kind": "incoming",
        "inspected_on": TODAY,
        "item": "Cold-rolled sheet 1.2 mm",
        "lot": "L-0417",
        "result": "accepted",
        "supplier_id": supplier.id,
    }
    values.update(fields)
    return record_inspection(org.owner, **values)


def test_recording_validates_every_field_and_changes_nothing_when_refused(app, org):
    supplier = approved_supplier(org)
    gauge = new_instrument(org)
    with pytest.raises(InvalidData) as bad:
        record_inspection(
            org.owner,
            kind="incoming",
            inspected_on=TODAY + dt.timedelta(days=1),
            item="",
            result="maybe",
            equipment_id=999_999,
            colour="red",
        )
    assert set(bad.value.errors) == {"inspected_on", "item", "result", "equipment_id", "supplier_id", "colour"}
    with pytest.raises(InvalidData) as bad:
        record_inspection(org.owner, kind="final", inspected_on=TODAY, item="Panel", result="concession")
    assert bad.value.errors == {
        "findings": "describe what did not conform",
        "concession": "say who authorised accepting it and on what terms",
    }
    with pytest.raises(InvalidData) as bad:
        record_inspection(
            org.owner, kind="final", inspected_on=TODAY, item="Panel", result="accepted", supplier_id=supplier.id
        )
    assert bad.value.errors == {"supplier_id": "is given only for an incoming inspection"}
    with pytest.raises(NotPermitted):
        record_inspection(org.viewer, kind="final", inspected_on=TODAY, item="Panel", result="accepted")
    calibrate(org, gauge, TODAY - dt.timedelta(days=5), found=True, left=False)  # quarantined
    with pytest.raises(InvalidData) as bad:
        record_inspection(
            org.owner, kind="final", inspected_on=TODAY, item="Panel", result="accepted", equipment_id=gauge.id
        )
    assert bad.value.errors["equipment_id"] == "GA-012 is quarantined: it cannot give a valid result"
    assert row_count(Inspection) == 0


def test_a_rejected_incoming_inspection_raises_a_supplier_nc_that_lowers_its_score(app, org):
    supplier = approved_supplier(org)
    assert supplier.score == 100
    accepted = incoming(org, supplier)
    assert accepted.nonconformity is None and accepted.reference.startswith("INS-")
    delivery = record_delivery(supplier, org.owner, order_reference="PO-88", due_on=TODAY, delivered_on=TODAY)
    rejected = incoming(
        org,
        supplier,
        result="rejected",
        findings="Thickness 1.32 mm on 4 of 10 sheets (limit 1.26 mm)",
        criteria="Thickness 1.2 ± 0.06 mm",
        delivery_id=delivery.id,
    )
    nc = rejected.nonconformity
    assert nc is not None and rejected.order_reference == "PO-88"
    assert (nc.source, nc.supplier_id, nc.detected_on, nc.clause_refs) == (
        "supplier",
        supplier.id,
        TODAY,
        ["8.4.2", "8.6"],
    )
    assert rejected.reference in nc.description and "1.32 mm" in nc.description
    assert nc.title == "Rejected at incoming inspection: Cold-rolled sheet 1.2 mm, lot L-0417"
    db.session.refresh(supplier)
    assert supplier.score < 100  # the NC counts in its quality score at once
    # a rejected in-process inspection raises none by itself
    in_process = record_inspection(
        org.owner, kind="in_process", inspected_on=TODAY, item="Bracket", result="rejected", findings="Burrs"
    )
    assert in_process.nonconformity is None
    assert row_count(Nonconformity) == 1


def test_a_delivery_of_another_supplier_is_refused(app, org):
    supplier = approved_supplier(org)
    other = approved_supplier(org, "Otieno Plastics")
    delivery = record_delivery(other, org.owner, order_reference="PO-1", due_on=TODAY, delivered_on=TODAY)
    with pytest.raises(InvalidData) as bad:
        incoming(org, supplier, delivery_id=delivery.id)
    assert bad.value.errors == {"delivery_id": "must be a delivery recorded for this supplier"}


def test_the_review_is_by_someone_else_and_a_void_keeps_its_reason(app, org):
    inspection = record_inspection(org.quality, kind="final", inspected_on=TODAY, item="Cabinet", result="accepted")
    blocked = next(a for a in available_events(inspection, org.quality) if a.name == "review")
    assert blocked.reason == "You recorded this inspection, so someone else must review it"
    with pytest.raises(GuardFailed):
        fire(inspection, "review", org.quality)
    fire(inspection, "review", org.quality2, {"review_comment": "Records complete"})
    assert (inspection.state, inspection.review_comment) == ("reviewed", "Records complete")
    other = record_inspection(org.owner, kind="final", inspected_on=TODAY, item="Cabinet", result="accepted")
    fire(other, "void", org.manager, {"reason": "Entered twice"})
    assert (other.state, other.void_reason) == ("voided", "Entered twice")


def test_an_out_of_tolerance_instrument_lists_the_inspections_it_was_used_for(app, org):
    supplier = approved_supplier(org)
    gauge = new_instrument(org)
    calibrate(org, gauge, TODAY - dt.timedelta(days=100))
    before = incoming(org, supplier, inspected_on=TODAY - dt.timedelta(days=120), equipment_id=gauge.id)
    used = incoming(org, supplier, inspected_on=TODAY - dt.timedelta(days=40), equipment_id=gauge.id)
    final = record_inspection(
        org.owner,
        kind="final",
        inspected_on=TODAY - dt.timedelta(days=10),
        item="Cabinet",
        result="accepted",
        equipment_id=gauge.id,
    )
    voided = record_inspection(
        org.owner,
        kind="final",
        inspected_on=TODAY - dt.timedelta(days=9),
        item="X",
        result="accepted",
        equipment_id=gauge.id,
    )
    fire(voided, "void", org.manager, {"reason": "Wrong instrument entered"})
    _calibration, assessment = calibrate(org, gauge, TODAY, found=False, left=True)
    listed = [(a["kind"], a["reference"]) for a in assessment.affected]
    assert listed == [("inspection", used.reference), ("inspection", final.reference)]
    assert before.reference not in str(assessment.affected)  # before the last good calibration
    assert assessment.affected[0]["title"] == "Incoming (supplier delivery) inspection: Cold-rolled sheet 1.2 mm"
    fire(assessment, "raise_nonconformity", org.quality, {"impact": "Re-inspect the lots"})
    assert used.reference in assessment.nonconformity.description


def test_inspections_to_review_are_on_my_work_of_the_others(app, org, client):
    from qms.services.my_work import work_for

    from ..conftest import login

    inspection = record_inspection(
        org.quality, kind="final", inspected_on=TODAY - dt.timedelta(days=8), item="Cabinet", result="accepted"
    )
    assert not [i for i in work_for(org.quality, TODAY) if i.kind == "inspection"]  # not one's own
    assert not [i for i in work_for(org.owner, TODAY) if i.kind == "inspection"]  # not a reviewer
    (item,) = [i for i in work_for(org.quality2, TODAY) if i.kind == "inspection"]
    assert (item.reference, item.actions, item.overdue) == (inspection.reference, ["Review"], True)
    login(client, org.quality2.email)
    assert f'href="/inspections/{inspection.id}"' in client.get("/my-work").get_data(as_text=True)
    fire(inspection, "review", org.quality2)
    assert not [i for i in work_for(org.quality2, TODAY) if i.kind == "inspection"]
