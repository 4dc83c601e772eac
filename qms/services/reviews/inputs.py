"""The 9.3.2 inputs of a management review, computed from the records of its period (reads only)."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import selectinload

from ...database import db, id_in
from ...models import (
    RESULTS,
    SEVERITY_LABELS,
    Audit,
    Complaint,
    CorrectiveAction,
    Document,
    ExternalAudit,
    IsoChangeReview,
    ManagementReview,
    Nonconformity,
    OrgChangeReview,
    Process,
    ReviewAction,
    Survey,
    SurveyResponse,
)
from ..audits import coverage
from ..objectives import objectives_summary
from ..opportunities import opportunities_summary
from ..surveys import survey_measures
from .common import NC_CLOSED_STATES

#: the 9.3.2 inputs compile_inputs computes from the records; the others need notes
COMPILED_INPUTS = (
    "previous_actions",
    "context_changes",
    "customer_satisfaction",
    "process_performance",
    "nonconformities",
    "monitoring_results",
    "audit_results",
    "external_providers",
    "improvement_opportunities",
    "risks_opportunities",
    "quality_objectives",
)


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The UTC instants [start 00:00, the day after end 00:00) of a period of whole days."""
    return (
        dt.datetime.combine(start, dt.time.min, tzinfo=dt.UTC),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC),
    )


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def compiled_inputs(review: ManagementReview, today: dt.date) -> dict[str, dict[str, Any]]:
    """The figures of every compiled input for the review period (reads only)."""
    start, end = review.period_start, review.period_end
    held = _audits_held(start, end)
    compiled = {
        "previous_actions": _previous_actions(review, start, end, today),
        "context_changes": _context_changes(start, end),
        "customer_satisfaction": _customer_satisfaction(start, end, today),
        "process_performance": _process_performance(start, end),
        "nonconformities": _nonconformities(start, end, today),
        "monitoring_results": _monitoring_results(end, today),
        "audit_results": _audit_results(start, end, held),
        "external_providers": _external_providers(start, end),
        "improvement_opportunities": {
            **_improvement_opportunities(held),
            "pipeline": opportunities_summary(start, end),
        },
        "quality_objectives": objectives_summary(start, end, today),
    }
    risks = _risks_opportunities(start, end, today)
    if risks is not None:
        compiled["risks_opportunities"] = risks
    return compiled


def _risks_opportunities(start: dt.date, end: dt.date, today: dt.date) -> dict[str, Any] | None:
    """Input e) from the risk register: ratings, treatments verified and how much they lowered the
    rating, risks that happened (NCs citing them), reviews overdue. None while the register is empty
    (the input then needs notes)."""
    from ..risks import review_input

    figures = review_input(start, end, today)
    return (
        figures if figures["open_risks"] or figures["treatment_actions_verified"] or figures["realised_risks"] else None
    )


def _previous_actions(review: ManagementReview, start: dt.date, end: dt.date, today: dt.date) -> dict[str, Any]:
    """Actions of earlier management reviews still open, or completed or cancelled since the period began."""
    mr = ManagementReview
    earlier = dict(
        db.session.execute(
            select(mr.id, mr.reference).where(
                mr.id != review.id,
                or_(mr.planned_for < review.planned_for, and_(mr.planned_for == review.planned_for, mr.id < review.id)),
            )
        ).all()
    )
    since, _ = _bounds(start, end)
    actions = (
        list(
            db.session.scalars(
                select(ReviewAction)
                .options(selectinload(ReviewAction.owner))
                .where(
                    ReviewAction.review_kind == "management",
                    id_in(ReviewAction.review_id, list(earlier)),
                    or_(ReviewAction.status == "open", ReviewAction.done_at >= since),
                )
                .order_by(ReviewAction.due_date, ReviewAction.id)
            )
        )
        if earlier
        else []
    )
    status = Counter(a.status for a in actions)
    return {
        "open": status["open"],
        "done": status["done"],
        "cancelled": status["cancelled"],
        "overdue": sum(1 for a in actions if a.is_overdue(today)),
        "actions": [
            {
                "id": a.id,
                "review": earlier[a.review_id],
                "title": a.title,
                "category": a.category,
                "owner": a.owner.name,
                "due_date": a.due_date.isoformat(),
                "status": a.status,
                "overdue": a.is_overdue(today),
                "outcome": a.outcome,
            }
            for a in actions
        ],
    }


def _context_changes(start: dt.date, end: dt.date) -> dict[str, Any]:
    """Organisational-change and ISO-change reviews opened or closed in the period."""
    since, until = _bounds(start, end)
    reviews: list[dict[str, Any]] = []
    for model, kind in ((OrgChangeReview, "org_change"), (IsoChangeReview, "iso_change")):
        query = (
            select(model)
            .where(
                or_(
                    and_(model.created_at >= since, model.created_at < until),
                    and_(model.closed_at >= since, model.closed_at < until),
                )
            )
            .order_by(model.created_at, model.id)
        )
        for r in db.session.scalars(query):
            reviews.append(
                {
                    "kind": kind,
                    "id": r.id,
                    "reference": r.reference,
                    "title": r.title,
                    "state": r.state,
                    "opened_on": r.created_at.date().isoformat(),
                    "closed_on": r.closed_at.date().isoformat() if r.closed_at else None,
                    "opened_in_period": since <= r.created_at < until,
                    "closed_in_period": r.closed_at is not None and since <= r.closed_at < until,
                }
            )
    return {
        "opened": sum(1 for r in reviews if r["opened_in_period"]),
        "closed": sum(1 for r in reviews if r["closed_in_period"]),
        "org_changes": sum(1 for r in reviews if r["kind"] == "org_change"),
        "iso_changes": sum(1 for r in reviews if r["kind"] == "iso_change"),
        "reviews": reviews,
    }


def _customer_satisfaction(start: dt.date, end: dt.date, today: dt.date) -> dict[str, Any]:
    """Survey measures of the responses in the period, and the complaints received in it."""
    answered = select(SurveyResponse.survey_id).where(SurveyResponse.responded_on.between(start, end)).distinct()
    surveys = []
    for survey in db.session.scalars(select(Survey).where(Survey.id.in_(answered)).order_by(Survey.reference)):
        m = survey_measures(survey, start=start, end=end)
        surveys.append(
            {
                "id": survey.id,
                "reference": survey.reference,
                "title": survey.title,
                "service": survey.service,
                "responses": m.responses,
                "nps": m.nps.score,
                "nps_n": m.nps.n,
                "csi": m.csi.score,
                "csi_n": m.csi.n,
            }
        )
    since, until = _bounds(start, end)
    complaints = list(
        db.session.scalars(select(Complaint).where(Complaint.received_at >= since, Complaint.received_at < until))
    )
    return {
        "surveys": surveys,
        "responses": sum(s["responses"] for s in surveys),
        "complaints": {
            "received": len(complaints),
            "by_channel": dict(sorted(Counter(c.channel for c in complaints).items())),
            "by_state": dict(sorted(Counter(c.state for c in complaints).items())),
            "open": sum(1 for c in complaints if c.state in Complaint.OPEN_STATES),
            "overdue": sum(1 for c in complaints if c.resolution_overdue(today)),
        },
    }


def _by_severity(severities: Iterable[str | None]) -> dict[str, int]:
    counts = {key: 0 for key in SEVERITY_LABELS} | {"ungraded": 0}
    for severity in severities:
        counts[severity if severity in SEVERITY_LABELS else "ungraded"] += 1
    return counts


def _raised(start: dt.date, end: dt.date, *conditions: Any) -> list[Nonconformity]:
    """NCs detected in the period and not rejected (a rejected report was not a nonconformity)."""
    return list(
        db.session.scalars(
            select(Nonconformity)
            .where(
                Nonconformity.detected_on.between(start, end),
                Nonconformity.state.not_in(("rejected", "withdrawn")),
                *conditions,
            )
            .order_by(Nonconformity.detected_on, Nonconformity.id)
        )
    )


def _process_performance(start: dt.date, end: dt.date) -> dict[str, Any]:
    """Nonconformities raised in the period, per process."""
    groups: dict[str, list[Nonconformity]] = defaultdict(list)
    for nc in _raised(start, end):
        groups[nc.process or ""].append(nc)
    rows = [
        {
            "process": name or "(no process)",
            "raised": len(ncs),
            "open": sum(1 for nc in ncs if nc.state not in NC_CLOSED_STATES),
            "by_severity": _by_severity(nc.severity for nc in ncs),
        }
        for name, ncs in groups.items()
    ]
    rows.sort(key=lambda row: (-row["raised"], row["process"]))
    return {"raised": sum(row["raised"] for row in rows), "processes": rows}


def _nonconformities(start: dt.date, end: dt.date, today: dt.date) -> dict[str, Any]:
    """NCs raised, rejected, closed and open; corrective actions open, overdue and completed on time."""
    since, until = _bounds(start, end)
    nc = Nonconformity
    raised = _raised(start, end)
    rejected = db.session.scalar(select(func.count()).where(nc.detected_on.between(start, end), nc.state == "rejected"))
    closed = db.session.scalars(
        select(nc.severity).where(nc.state == "closed", nc.closed_at >= since, nc.closed_at < until)
    ).all()
    still_open = db.session.scalars(
        select(nc.severity).where(nc.detected_on <= end, nc.state.not_in(NC_CLOSED_STATES))
    ).all()
    ca = CorrectiveAction
    open_actions = db.session.execute(
        select(ca.due_date).where(ca.state.in_(ca.OPEN_STATES), ca.created_at < until)
    ).all()
    completed = db.session.execute(
        select(ca.implemented_at, ca.due_date).where(ca.implemented_at >= since, ca.implemented_at < until)
    ).all()
    on_time = sum(1 for done_at, due in completed if done_at.date() <= due)
    return {
        "raised": len(raised),
        "raised_by_severity": _by_severity(n.severity for n in raised),
        "rejected": rejected or 0,
        "closed": len(closed),
        "closed_by_severity": _by_severity(closed),
        "open": len(still_open),
        "open_by_severity": _by_severity(still_open),
        "corrective_actions": {
            "open": len(open_actions),
            "overdue": sum(1 for (due,) in open_actions if due < today),
            "completed": len(completed),
            "completed_on_time": on_time,
            "on_time_percent": round(100 * on_time / len(completed), 1) if completed else None,
        },
    }


def _monitoring_results(end: dt.date, today: dt.date) -> dict[str, Any]:
    """Documents overdue for review, the internal audit coverage of the period's year, and training effectiveness."""
    overdue = list(
        db.session.scalars(
            select(Document)
            .where(Document.obsolete.is_(False), Document.next_review_due < today)
            .order_by(Document.next_review_due, Document.number)
        )
    )
    audit_coverage = None
    if db.session.scalar(select(func.count()).where(Process.active.is_(True))):
        matrix = coverage(end.year)
        audit_coverage = {
            "year": end.year,
            "percent_audited": matrix.percent_audited,
            "relevant": matrix.relevant,
            "audited": matrix.count("audited"),
            "planned": matrix.count("planned"),
            "uncovered_clauses": matrix.uncovered_clauses(),
        }
    return {
        "documents_overdue_for_review": len(overdue),
        "documents": [
            {"id": d.id, "number": d.number, "title": d.title, "next_review_due": _iso(d.next_review_due)}
            for d in overdue
        ],
        "audit_coverage": audit_coverage,
        "training_effectiveness": _training_effectiveness(end, today),
    }


def _training_effectiveness(end: dt.date, today: dt.date) -> dict[str, Any]:
    """Training (ISO 9001 7.2): sessions evaluated in the twelve months to the period's end, and coverage."""
    from ..competence import coverage as competence_coverage
    from ..training import effectiveness

    start = end - dt.timedelta(days=365)
    figures = effectiveness(start, end)
    met, required = competence_coverage(today)
    rate = figures["effective_rate"]
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "sessions_held": figures["sessions_held"],
        "sessions_evaluated": figures["sessions_evaluated"],
        "attendees_evaluated": figures["attendees_evaluated"],
        "attendees_effective": figures["attendees_effective"],
        "effective_percent": None if rate is None else round(100 * rate, 1),
        "open_training_needs": figures["open_needs"],
        "required_competences_met": f"{met} of {required}",
        "sessions": [{**row, "evaluated_on": _iso(row["evaluated_on"])} for row in figures["sessions"]],
    }


def _audits_held(start: dt.date, end: dt.date) -> list[Audit]:
    """Internal audits that took place (started) in the period."""
    held_on = func.coalesce(Audit.actual_start, Audit.planned_start)
    return list(
        db.session.scalars(
            select(Audit)
            .options(selectinload(Audit.items))
            .where(Audit.state.in_(Audit.CONDUCTED_STATES), held_on.between(start, end))
            .order_by(held_on, Audit.id)
        )
    )


def _audit_results(start: dt.date, end: dt.date, held: Sequence[Audit]) -> dict[str, Any]:
    """Internal audits held in the period with their checklist results; external audits and findings."""
    results = {key: 0 for key in RESULTS} | {"unanswered": 0}
    for audit in held:
        for item in audit.items:
            results[item.result or "unanswered"] += 1
    external = list(
        db.session.scalars(
            select(ExternalAudit)
            .options(selectinload(ExternalAudit.findings))
            .where(ExternalAudit.start_date.between(start, end))
            .order_by(ExternalAudit.start_date, ExternalAudit.id)
        )
    )
    grades: dict[str, dict[str, Any]] = {}
    for audit in external:
        for finding in audit.findings:
            row = grades.setdefault(finding.grade, {"grade": finding.grade, "label": finding.grade_label, "count": 0})
            row["count"] += 1
    return {
        "internal_audits": len(held),
        "by_state": dict(sorted(Counter(a.state for a in held).items())),
        "checklist_results": results,
        "audits": [
            {
                "id": a.id,
                "reference": a.reference,
                "title": a.title,
                "state": a.state,
                "held_on": _iso(a.actual_start or a.planned_start),
            }
            for a in held
        ],
        "external_audits": len(external),
        "external_by_kind": dict(sorted(Counter(a.kind for a in external).items())),
        "external_findings": sum(row["count"] for row in grades.values()),
        "findings_by_grade": sorted(grades.values(), key=lambda row: row["grade"]),
    }


def _external_providers(start: dt.date, end: dt.date) -> dict[str, Any]:
    """Nonconformities of external providers (source "supplier") raised in the period, and their performance."""
    ncs = _raised(start, end, Nonconformity.source == "supplier")
    return {
        "raised": len(ncs),
        "open": sum(1 for nc in ncs if nc.state not in NC_CLOSED_STATES),
        "by_severity": _by_severity(nc.severity for nc in ncs),
        "nonconformities": [
            {
                "id": nc.id,
                "reference": nc.reference,
                "title": nc.title,
                "state": nc.state,
                "severity": nc.severity,
                "detected_on": nc.detected_on.isoformat(),
            }
            for nc in ncs
        ],
        **_supplier_performance(start, end),
    }


def _supplier_performance(start: dt.date, end: dt.date) -> dict[str, Any]:
    """Statuses, evaluations, scores, on-time delivery and SCARs of the suppliers (services/suppliers.py)."""
    from ..suppliers import external_provider_performance

    return external_provider_performance(start, end)


def _improvement_opportunities(held: Sequence[Audit]) -> dict[str, Any]:
    """Opportunities for improvement found by the internal audits held in the period."""
    found = [
        {
            "audit_id": audit.id,
            "audit": audit.reference,
            "clause": item.clause_number,
            "question": item.question,
            "notes": item.notes,
        }
        for audit in held
        for item in audit.items
        if item.result == "ofi"
    ]
    return {"count": len(found), "opportunities": found}
