"""KPIs computed from the people, supplier and equipment modules, each on real records made through
the services: training effectiveness, required competences met, supplier on-time delivery, average
supplier score, SCARs answered on time, calibrations on time and out of tolerance."""

from __future__ import annotations

import datetime as dt

import pytest

from qms.database import as_of, db
from qms.models import SupplierEvaluation
from qms.services import fire
from qms.services.competence import coverage
from qms.services.objectives import MEASURES, refresh_computed
from qms.services.objectives.objectives import measurement_points
from qms.services.suppliers import raise_scar, raise_supplier_nc, record_delivery, record_evaluation, submit_scar_answer
from qms.services.training import record_evaluation as evaluate_attendee

from ..competence.test_services import held_training, lead_auditing, second_auditor
from ..equipment.builders import calibrate, new_instrument
from ..suppliers.builders import approved_supplier, new_supplier
from .helpers import active_objective

TODAY = dt.date.today()
NEW_KEYS = (
    "training_effectiveness_rate",
    "competence_requirements_met_rate",
    "supplier_on_time_delivery",
    "average_supplier_score",
    "scar_on_time_rate",
    "calibration_on_time_rate",
    "out_of_tolerance_rate",
)


def compute(key: str, start: dt.date, end: dt.date) -> float | None:
    return MEASURES[key].compute(start, end)


def test_the_new_measures_are_registered_and_empty_without_records(app, org):
    for key in NEW_KEYS:
        assert key in MEASURES, key
        if key != "competence_requirements_met_rate":
            assert compute(key, TODAY - dt.timedelta(days=30), TODAY) is None, key
    assert MEASURES["out_of_tolerance_rate"].direction == "down"
    assert MEASURES["competence_requirements_met_rate"].snapshot


def test_training_effectiveness_and_competence_met_from_an_evaluated_session(app, org):
    competence = lead_auditing(org)
    amina = second_auditor(org)
    before_met, before_required = coverage()
    assert before_required >= 1
    before = compute("competence_requirements_met_rate", TODAY, TODAY)
    assert before == round(100 * before_met / before_required, 1)
    training = held_training(org, competence, [amina, org.auditor])
    evaluate_attendee(training, org.quality, user_id=amina.id, score=85)
    evaluate_attendee(training, org.quality, user_id=org.auditor.id, score=40)  # below the pass mark of 70
    fire(training, "evaluate", org.quality, {"evaluated_on": TODAY})
    assert compute("training_effectiveness_rate", TODAY, TODAY) == 50.0
    assert compute("training_effectiveness_rate", TODAY - dt.timedelta(days=60), TODAY - dt.timedelta(days=1)) is None
    after = compute("competence_requirements_met_rate", TODAY, TODAY)
    assert after is not None and after > before  # Amina now holds what a lead auditor needs


def test_supplier_delivery_score_and_scar_figures(app, org):
    supplier = approved_supplier(org)  # evaluated at 100
    for order, due, delivered in (("PO-1", -10, -12), ("PO-2", -5, -5), ("PO-3", -3, -1), ("PO-4", -90, -80)):
        record_delivery(
            supplier,
            org.quality,
            order_reference=order,
            due_on=TODAY + dt.timedelta(days=due),
            delivered_on=TODAY + dt.timedelta(days=delivered),
        )
    month = (TODAY - dt.timedelta(days=30), TODAY)
    assert compute("supplier_on_time_delivery", *month) == pytest.approx(66.7)  # PO-4 was due before the month

    other = new_supplier(org, name="Otieno Plastics")
    fire(other, "start_evaluation", org.quality)
    record_evaluation(
        other, org.quality, period_start=TODAY - dt.timedelta(days=90), period_end=TODAY, price=40, service=60
    )
    totals = [e.total for e in db.session.query(SupplierEvaluation).all()]
    assert len(totals) == 2 and 100.0 in totals
    assert compute("average_supplier_score", *month) == round(sum(totals) / 2, 1)

    answer = {"containment": "Sorted", "root_cause": "Worn tool", "actions": "Tool life", "responder": "QA"}
    on_time_nc = raise_supplier_nc(supplier, org.quality, title="Burrs", description="Edges not deburred")
    on_time, token = raise_scar(on_time_nc, org.quality, request="Tell us why", respond_by=TODAY)
    submit_scar_answer(token, **answer)
    assert on_time.answered_at.date() <= on_time.respond_by
    late_nc = raise_supplier_nc(supplier, org.quality, title="Scratches", description="Scratched sheets")
    late, late_token = raise_scar(late_nc, org.quality, request="Tell us why", respond_by=TODAY)
    with as_of(dt.datetime.combine(TODAY + dt.timedelta(days=3), dt.time(9), tzinfo=dt.UTC)):
        submit_scar_answer(late_token, **answer)
    assert late.answered_at.date() > late.respond_by
    waiting_nc = raise_supplier_nc(supplier, org.quality, title="Dents", description="Dented sheets")
    raise_scar(waiting_nc, org.quality, request="Tell us why", respond_by=TODAY + dt.timedelta(days=5))
    # the one not due yet counts neither way
    assert compute("scar_on_time_rate", TODAY - dt.timedelta(days=1), TODAY + dt.timedelta(days=10)) == 50.0


def test_calibration_on_time_and_out_of_tolerance_rates(app, org):
    late = new_instrument(org, "GA-001")
    calibrate(org, late, TODAY - dt.timedelta(days=400))  # due again 35 days ago
    calibrate(org, late, TODAY - dt.timedelta(days=30))
    prompt = new_instrument(org, "GA-002")
    calibrate(org, prompt, TODAY - dt.timedelta(days=300))
    calibrate(org, prompt, TODAY - dt.timedelta(days=10), found=False)  # on time, but found out of tolerance
    first = new_instrument(org, "GA-003")
    calibrate(org, first, TODAY - dt.timedelta(days=5))  # a first calibration: nothing to be on time for
    period = (TODAY - dt.timedelta(days=60), TODAY)
    assert compute("calibration_on_time_rate", *period) == 50.0
    assert compute("out_of_tolerance_rate", *period) == pytest.approx(33.3)
    assert compute("out_of_tolerance_rate", TODAY - dt.timedelta(days=500), TODAY - dt.timedelta(days=100)) == 0.0


def test_an_objective_uses_a_module_measure_as_its_kpi(app, org):
    instrument = new_instrument(org, "GA-010")
    calibrate(org, instrument, TODAY - dt.timedelta(days=3), found=False)
    objective = active_objective(
        org,
        measure="out_of_tolerance_rate",
        kpi_name="Instruments found out of tolerance",
        direction="down",
        target=5,
        unit="%",
    )
    refresh_computed(objective, org.quality)
    points = dict(measurement_points([objective.id])[objective.id])
    assert points[max(points)] == 100.0
