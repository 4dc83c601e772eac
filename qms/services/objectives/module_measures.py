"""Computed measures from the people, supplier and equipment modules (issues 16 and 17), added to the
registry of ``measures`` so an objective's KPI can be one of them:

- training: the effectiveness rate of the training evaluated in the period, and the share of the
  required competences met (as the records stand today, so a snapshot);
- suppliers: on-time delivery, the average evaluation score and the share of SCARs answered by
  their respond-by date;
- equipment: the share of calibrations made by their due date and the share found out of tolerance.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from ...database import db, id_in
from ...models import Calibration, Scar, SupplierDelivery, SupplierEvaluation, TrainingAttendance
from .measures import _instants, _percent, computed_measure

__all__ = [
    "average_supplier_score",
    "calibration_on_time_rate",
    "competence_requirements_met_rate",
    "out_of_tolerance_rate",
    "scar_on_time_rate",
    "supplier_on_time_delivery",
    "training_effectiveness_rate",
]


@computed_measure(
    "training_effectiveness_rate",
    "Training found effective",
    unit="%",
    direction="up",
    description="Share of the attendees whose training was evaluated in the period and found effective.",
)
def training_effectiveness_rate(start: dt.date, end: dt.date) -> float | None:
    since, until = _instants(start, end)
    ta = TrainingAttendance
    rows = dict(
        db.session.execute(
            select(ta.effective, func.count())
            .where(ta.attended.is_(True), ta.effective.is_not(None), ta.evaluated_at >= since, ta.evaluated_at < until)
            .group_by(ta.effective)
        ).all()
    )
    effective, total = rows.get(True, 0), sum(rows.values())
    return _percent(effective, total)


@computed_measure(
    "competence_requirements_met_rate",
    "Required competences met",
    unit="%",
    direction="up",
    description="Share of the competences the active people are required to hold that they hold, valid "
    "(as the records stand today).",
    snapshot=True,
)
def competence_requirements_met_rate(start: dt.date, end: dt.date) -> float | None:
    from ..competence import coverage

    met, required = coverage(min(end, dt.date.today()))
    return _percent(met, required)


@computed_measure(
    "supplier_on_time_delivery",
    "Supplier deliveries on time",
    unit="%",
    direction="up",
    description="Share of the supplier deliveries due in the period that arrived by their due date.",
)
def supplier_on_time_delivery(start: dt.date, end: dt.date) -> float | None:
    d = SupplierDelivery
    total, on_time = db.session.execute(
        select(func.count(), func.count().filter(d.delivered_on <= d.due_on)).where(d.due_on.between(start, end))
    ).one()
    return _percent(on_time or 0, total or 0)


@computed_measure(
    "average_supplier_score",
    "Average supplier score",
    unit="points",
    direction="up",
    description="Mean total score (0–100) of the supplier evaluations made in the period.",
)
def average_supplier_score(start: dt.date, end: dt.date) -> float | None:
    since, until = _instants(start, end)
    e = SupplierEvaluation
    value = db.session.scalar(select(func.avg(e.total)).where(e.evaluated_at >= since, e.evaluated_at < until))
    return round(float(value), 1) if value is not None else None


@computed_measure(
    "scar_on_time_rate",
    "SCARs answered on time",
    unit="%",
    direction="up",
    description="Share of the supplier corrective action requests due in the period that the supplier answered "
    "by the respond-by date (one still unanswered after it counts as late; cancelled ones are left out).",
)
def scar_on_time_rate(start: dt.date, end: dt.date) -> float | None:
    today = dt.date.today()
    rows = db.session.execute(
        select(Scar.respond_by, Scar.answered_at).where(Scar.respond_by.between(start, end), Scar.state != "cancelled")
    ).all()
    counted = on_time = 0
    for respond_by, answered_at in rows:
        if answered_at is None and respond_by >= today:
            continue  # not due yet: neither on time nor late
        counted += 1
        if answered_at is not None and answered_at.date() <= respond_by:
            on_time += 1
    return _percent(on_time, counted)


@computed_measure(
    "calibration_on_time_rate",
    "Calibrations on time",
    unit="%",
    direction="up",
    description="Share of the calibrations made in the period by the due date the previous calibration set "
    "(an instrument's first calibration is left out).",
)
def calibration_on_time_rate(start: dt.date, end: dt.date) -> float | None:
    c = Calibration
    in_period = db.session.execute(
        select(c.id, c.equipment_id, c.calibrated_on).where(c.calibrated_on.between(start, end))
    ).all()
    if not in_period:
        return None
    history: dict[int, list[tuple[dt.date, int, dt.date]]] = {}
    for equipment_id, calibrated_on, cal_id, next_due in db.session.execute(
        select(c.equipment_id, c.calibrated_on, c.id, c.next_due)
        .where(id_in(c.equipment_id, sorted({row.equipment_id for row in in_period})), c.calibrated_on <= end)
        .order_by(c.equipment_id, c.calibrated_on, c.id)
    ):
        history.setdefault(equipment_id, []).append((calibrated_on, cal_id, next_due))
    counted = on_time = 0
    for cal_id, equipment_id, calibrated_on in in_period:
        earlier = [h for h in history[equipment_id] if (h[0], h[1]) < (calibrated_on, cal_id)]
        if not earlier:
            continue
        counted += 1
        if calibrated_on <= earlier[-1][2]:
            on_time += 1
    return _percent(on_time, counted)


@computed_measure(
    "out_of_tolerance_rate",
    "Calibrations found out of tolerance",
    unit="%",
    direction="down",
    description="Share of the calibrations made in the period whose as-found result was out of tolerance.",
)
def out_of_tolerance_rate(start: dt.date, end: dt.date) -> float | None:
    c = Calibration
    total, out = db.session.execute(
        select(func.count(), func.count().filter(c.as_found_in_tolerance.is_(False))).where(
            c.calibrated_on.between(start, end)
        )
    ).one()
    return _percent(out or 0, total or 0)
