"""The registry of computed measures: KPIs qmsflow computes from its own records.

Each measure is a function of a period ``(start, end)`` (whole days, both included) returning a
number or None when the period has nothing to measure. ``snapshot`` measures describe the records
as they are now (a document's review date moves when it is reviewed), so they are stored only for
the period in progress; the others can be recomputed for any past period. Another module adds a
measure with ``@computed_measure(...)``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select

from ...database import db
from ...models import (
    Audit,
    Complaint,
    CorrectiveAction,
    Document,
    Nonconformity,
    Survey,
    SurveyAnswer,
    SurveyQuestion,
    SurveyResponse,
)

Compute = Callable[[dt.date, dt.date], float | None]


@dataclass(frozen=True)
class Measure:
    key: str
    label: str
    unit: str
    direction: str
    description: str
    compute: Compute
    snapshot: bool = False


MEASURES: dict[str, Measure] = {}


def computed_measure(
    key: str, label: str, *, unit: str, direction: str, description: str, snapshot: bool = False
) -> Callable[[Compute], Compute]:
    """Register ``fn(start, end)`` as the computed measure ``key``."""

    def register(fn: Compute) -> Compute:
        MEASURES[key] = Measure(key, label, unit, direction, description, fn, snapshot)
        return fn

    return register


def _instants(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    return (
        dt.datetime.combine(start, dt.time.min, tzinfo=dt.UTC),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC),
    )


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


@computed_measure(
    "nc_raised",
    "Nonconformities raised",
    unit="NCs",
    direction="down",
    description="Nonconformities detected in the period (rejected reports not counted).",
)
def nc_raised(start: dt.date, end: dt.date) -> float | None:
    count = db.session.scalar(
        select(func.count()).where(Nonconformity.detected_on.between(start, end), Nonconformity.state != "rejected")
    )
    return float(count or 0)


@computed_measure(
    "nc_recurrence",
    "Nonconformity recurrence rate",
    unit="%",
    direction="down",
    description=(
        "Share of the nonconformities detected in the period that repeat one of the year before "
        "(same process and same clause)."
    ),
)
def nc_recurrence(start: dt.date, end: dt.date) -> float | None:
    nc = Nonconformity
    since = start - dt.timedelta(days=365)
    rows = db.session.execute(
        select(nc.detected_on, nc.process, nc.clause_refs)
        .where(nc.detected_on.between(since, end), nc.state != "rejected")
        .order_by(nc.detected_on, nc.id)
    ).all()
    seen: dict[tuple[str, str], dt.date] = {}
    in_period = repeated = 0
    for detected_on, process, clauses in rows:
        keys = {(process or "", str(c)) for c in (clauses or [])} or {(process or "", "")}
        if detected_on >= start:
            in_period += 1
            if any(k in seen and seen[k] >= detected_on - dt.timedelta(days=365) for k in keys):
                repeated += 1
        for k in keys:
            seen[k] = detected_on
    return _percent(repeated, in_period)


@computed_measure(
    "capa_on_time_rate",
    "Corrective actions completed on time",
    unit="%",
    direction="up",
    description="Share of the corrective actions implemented in the period by their due date.",
)
def capa_on_time_rate(start: dt.date, end: dt.date) -> float | None:
    since, until = _instants(start, end)
    ca = CorrectiveAction
    rows = db.session.execute(
        select(ca.implemented_at, ca.due_date).where(ca.implemented_at >= since, ca.implemented_at < until)
    ).all()
    return _percent(sum(1 for done, due in rows if done.date() <= due), len(rows))


@computed_measure(
    "complaint_resolution_days",
    "Complaint resolution time",
    unit="days",
    direction="down",
    description="Mean days from receipt to resolution of the complaints resolved in the period.",
)
def complaint_resolution_days(start: dt.date, end: dt.date) -> float | None:
    since, until = _instants(start, end)
    rows = db.session.execute(
        select(Complaint.received_at, Complaint.resolved_at).where(
            Complaint.resolved_at >= since, Complaint.resolved_at < until
        )
    ).all()
    if not rows:
        return None
    return round(sum((r - c).total_seconds() / 86400 for c, r in rows) / len(rows), 1)


@computed_measure(
    "nps",
    "Net Promoter Score",
    unit="NPS",
    direction="up",
    description="Net Promoter Score of every survey's answers given in the period (promoters less detractors).",
)
def net_promoter_score(start: dt.date, end: dt.date) -> float | None:
    number = SurveyAnswer.number
    rows = db.session.execute(
        select(number)
        .join(SurveyQuestion, SurveyQuestion.id == SurveyAnswer.question_id)
        .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
        .where(SurveyQuestion.kind == "nps", number.is_not(None), SurveyResponse.responded_on.between(start, end))
    ).all()
    if not rows:
        return None
    promoters = sum(1 for (v,) in rows if v >= 9)
    detractors = sum(1 for (v,) in rows if v <= 6)
    return round(100 * (promoters - detractors) / len(rows), 1)


@computed_measure(
    "csi",
    "Customer satisfaction index",
    unit="CSI",
    direction="up",
    description="Customer satisfaction index (0–100) of the surveys answered in the period, weighted by answers.",
)
def customer_satisfaction_index(start: dt.date, end: dt.date) -> float | None:
    from ..surveys import survey_measures

    answered = select(SurveyResponse.survey_id).where(SurveyResponse.responded_on.between(start, end)).distinct()
    total = weight = 0.0
    for survey in db.session.scalars(select(Survey).where(Survey.id.in_(answered))):
        csi = survey_measures(survey, start=start, end=end).csi
        if csi.score is not None and csi.n:
            total += csi.score * csi.n
            weight += csi.n
    return round(total / weight, 1) if weight else None


@computed_measure(
    "audit_programme_completion",
    "Audit programme completion",
    unit="%",
    direction="up",
    description="Share of the year's programmed internal audits due to start by the period's end that were held.",
)
def audit_programme_completion(start: dt.date, end: dt.date) -> float | None:
    year_start = dt.date(end.year, 1, 1)
    rows = db.session.execute(
        select(Audit.state).where(
            Audit.programme_id.is_not(None),
            Audit.planned_start.between(year_start, end),
            Audit.state != "cancelled",
        )
    ).all()
    return _percent(sum(1 for (state,) in rows if state in Audit.CONDUCTED_STATES), len(rows))


@computed_measure(
    "document_review_overdue_rate",
    "Documents overdue for review",
    unit="%",
    direction="down",
    description="Share of the documents in use whose review date has passed (as the records stand today).",
    snapshot=True,
)
def document_review_overdue_rate(start: dt.date, end: dt.date) -> float | None:
    day = min(end, dt.date.today())
    in_use = db.session.scalar(select(func.count()).where(Document.obsolete.is_(False))) or 0
    overdue = db.session.scalar(
        select(func.count()).where(
            Document.obsolete.is_(False), Document.next_review_due.is_not(None), Document.next_review_due < day
        )
    )
    return _percent(overdue or 0, in_use)
