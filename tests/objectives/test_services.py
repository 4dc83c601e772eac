"""Quality objectives and KPIs through the services (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest

from qms.database import db
from qms.models import Nonconformity, ObjectiveMeasurement, Opportunity
from qms.services import available_events, fire
from qms.services.objectives import (
    MEASURES,
    create_objective,
    forecast_at,
    import_measurements_csv,
    measurement_points,
    objective_status,
    objectives_summary,
    periods,
    record_measurement,
    refresh_computed,
    trend_svg,
    update_objective,
)
from workflows.errors import GuardFailed, InvalidData, InvalidTransition, NotPermitted

from ..conftest import PASSWORD
from ..helpers import new_nc, row_count
from .helpers import active_objective, months_ago, new_objective


def test_objective_from_draft_through_approval_to_achievement(org):
    objective = new_objective(org, plan_when="")
    assert objective.reference.startswith("OBJ-") and objective.state == "draft"
    blocked = {a.event.name: a for a in available_events(objective, org.manager)}["approve"]
    assert not blocked.allowed and "when it will be completed" in blocked.reason
    update_objective(objective, org.quality, plan_when="Monthly")
    with pytest.raises(InvalidData) as bad:
        fire(objective, "approve", org.manager, signature_password="wrong")
    assert "signature_password" in bad.value.errors
    history = fire(objective, "approve", org.manager, signature_password=PASSWORD)
    assert history.signature_meaning == "approved" and history.signed_by_name == org.manager.name
    with pytest.raises(InvalidTransition):
        update_objective(objective, org.quality, target=90)
    fire(objective, "activate", org.owner)
    with pytest.raises(GuardFailed, match="No measurement"):
        fire(objective, "mark_achieved", org.quality, {"evaluation": "KPI"})
    record_measurement(objective, org.quality, measured_on=months_ago(1), value="90.5")
    with pytest.raises(GuardFailed, match="does not meet"):
        fire(objective, "mark_achieved", org.quality, {"evaluation": "KPI"})
    record_measurement(objective, org.quality, measured_on=dt.date.today(), value=96)
    fire(objective, "mark_achieved", org.quality, {"evaluation": "Monthly KPI at 96 %"})
    fire(objective, "close", org.manager, {})
    assert objective.state == "closed" and objective.closed_at is not None


def test_bad_objectives_are_refused_naming_the_field(org):
    with pytest.raises(InvalidData) as bad:
        new_objective(org, target="lots", direction="sideways", measure="magic", owner_id=org.viewer.id)
    assert {"target", "direction", "measure", "owner_id"} <= set(bad.value.errors)
    with pytest.raises(InvalidData) as bad:
        new_objective(org, deadline=months_ago(12))
    assert set(bad.value.errors) == {"deadline"}
    with pytest.raises(InvalidData) as bad:
        new_objective(org, target=float("nan"))
    assert "target" in bad.value.errors
    with pytest.raises(InvalidData) as bad:
        new_objective(org, colour="red")
    assert "colour" in bad.value.errors
    with pytest.raises(NotPermitted):
        create_objective(org.viewer, title="T", kpi_name="K", target=1, direction="up", deadline="2099-01-01")


def test_measurements_are_validated_and_only_typed_for_manual_kpis(org):
    objective = active_objective(org)
    with pytest.raises(InvalidData) as bad:
        record_measurement(objective, org.quality, measured_on="2099-01-01", value="x")
    assert set(bad.value.errors) == {"measured_on", "value"}
    record_measurement(objective, org.quality, measured_on=months_ago(2), value=85)
    with pytest.raises(InvalidData, match="already has a value"):
        record_measurement(objective, org.quality, measured_on=months_ago(2), value=86)
    with pytest.raises(NotPermitted):
        record_measurement(objective, org.auditor, measured_on=months_ago(1), value=86)
    computed = active_objective(org, measure="nc_raised", direction="down", target=2, unit="")
    with pytest.raises(InvalidTransition, match="computed"):
        record_measurement(computed, org.quality, measured_on=months_ago(1), value=1)


def test_csv_import_is_all_or_nothing_with_errors_naming_line_and_column(org):
    objective = active_objective(org)
    record_measurement(objective, org.quality, measured_on=months_ago(3), value=70)
    bad_csv = f"date,value,note\n{months_ago(4)},81,ok\nnot-a-date,82,\n{months_ago(2)},lots,\n"
    with pytest.raises(InvalidData) as bad:
        import_measurements_csv(objective, org.quality, bad_csv.encode())
    assert bad.value.errors == {
        "line 3, column 'date'": "must be a date (YYYY-MM-DD)",
        "line 4, column 'value'": "must be a number",
    }
    assert row_count(ObjectiveMeasurement) == 1
    with pytest.raises(InvalidData) as bad:
        import_measurements_csv(objective, org.quality, b"day,amount\n")
    assert "line 1" in bad.value.errors
    with pytest.raises(InvalidData, match="larger"):
        import_measurements_csv(objective, org.quality, b"date,value\n" + b"2026-01-01,1\n" * 30_000)
    good = f"date;value\n{months_ago(4)};81\n{months_ago(3)};83,5\n"
    assert import_measurements_csv(objective, org.quality, good.encode("utf-8-sig")) == {"added": 1, "replaced": 1}
    values = dict(measurement_points([objective.id])[objective.id])
    assert values[months_ago(3)] == 83.5 and values[months_ago(4)] == 81


def test_a_kpi_computed_from_the_nc_records_with_its_trend(org):
    for months in (5, 5, 5, 4, 4, 3, 1):
        new_nc(org, detected_on=months_ago(months) + dt.timedelta(days=3))
    objective = active_objective(
        org, measure="nc_raised", kpi_name="NCs raised per month", direction="down", target=1, unit="NCs"
    )
    points = dict(measurement_points([objective.id])[objective.id])
    ends = [end for _start, end in periods(objective, dt.date.today())]
    assert list(points) == ends and len(ends) == 7  # six whole months and this one so far
    assert [points[e] for e in ends] == [0, 3, 2, 1, 0, 1, 0]
    new_nc(org, detected_on=dt.date.today())
    assert refresh_computed(objective, org.quality) == 1
    status = objective_status(objective, measurement_points([objective.id])[objective.id], dt.date.today())
    assert status.status in ("on_track", "at_risk") and status.slope is not None and status.slope < 0
    svg = str(trend_svg(objective, measurement_points([objective.id])[objective.id], status))
    assert svg.startswith("<svg") and 'role="img"' in svg and "<title" in svg and "<desc" in svg
    assert svg.count("<circle") == 7 and 'class="target"' in svg and 'class="forecast"' in svg


def test_every_registered_measure_computes_on_an_empty_and_a_busy_organisation(org):
    start, end = months_ago(1), dt.date.today()
    for measure in MEASURES.values():
        value = measure.compute(start, end)
        assert value is None or isinstance(value, float), measure.key
    new_nc(org, detected_on=start)
    new_nc(org, detected_on=end)
    assert MEASURES["nc_raised"].compute(start, end) == 2
    assert MEASURES["nc_recurrence"].compute(end, end) == 100.0  # same process and clause within the year


def test_status_and_forecast(org):
    objective = active_objective(org, target=95, baseline=80, tolerance=3)
    today = dt.date.today()
    rising = [(months_ago(n), 80.0 + 3 * (6 - n)) for n in range(6, 0, -1)]
    forecast, slope = forecast_at(rising, objective.deadline)
    assert slope == pytest.approx(3, abs=0.3) and forecast > 95
    assert objective_status(objective, rising, today).status == "on_track"
    flat = [(months_ago(n), 90.0) for n in range(6, 0, -1)]
    assert objective_status(objective, flat, today).status == "off_track"
    near = [(months_ago(n), 93.0) for n in range(6, 0, -1)]
    assert objective_status(objective, near, today).status == "at_risk"
    assert objective_status(objective, [], today).status == "no_data"


@pytest.mark.parametrize("follow_up", ["nonconformity", "opportunity"])
def test_a_missed_objective_raises_what_its_owner_chooses(org, follow_up):
    objective = active_objective(org)
    record_measurement(objective, org.quality, measured_on=months_ago(1), value=70)
    fire(objective, "mark_missed", org.quality, {"reason": "Supplier delays", "follow_up": follow_up})
    assert objective.state == "missed"
    if follow_up == "nonconformity":
        nc = db.session.get(Nonconformity, objective.nonconformity_id)
        assert nc.source == "process_monitoring" and "6.2" in nc.clause_refs and objective.reference in nc.title
        assert row_count(Opportunity) == 0
    else:
        opportunity = db.session.get(Opportunity, objective.opportunity_id)
        assert opportunity.source == "objective_missed" and opportunity.state == "proposed"
        assert row_count(Nonconformity) == 0


def test_review_summary_counts_objectives_by_status(org):
    achieved = active_objective(org, title="Achieved one")
    record_measurement(achieved, org.quality, measured_on=months_ago(1), value=99)
    fire(achieved, "mark_achieved", org.quality, {"evaluation": "KPI"})
    new_objective(org, title="Still a draft")
    summary = objectives_summary(months_ago(12), dt.date.today(), dt.date.today())
    assert summary["objectives"] == 1 and summary["achieved"] == 1
    assert summary["rows"][0]["title"] == "Achieved one"


def test_the_nightly_job_recomputes_computed_kpis(org):
    from qms.jobs.runs import run_job

    objective = active_objective(org, measure="nc_raised", direction="down", target=1, unit="NCs")
    new_nc(org)
    run = run_job("objective-measures", dt.date.today(), trigger="manual")
    assert run.outcome == "succeeded" and run.counts == {"objectives": 1, "values_changed": 1}
    assert measurement_points([objective.id])[objective.id][-1][1] == 1
