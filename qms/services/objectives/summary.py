"""Objectives in bulk: the status of a page of them, and the summary that feeds the management
review (9.3.2 c2), the dashboard and readiness."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from ...database import db
from ...models import QualityObjective
from .objectives import measurement_points
from .status import STATUS_LABELS, ObjectiveStatus, objective_status


def objective_statuses(objectives: Sequence[QualityObjective], today: dt.date) -> dict[int, ObjectiveStatus]:
    """The status of each objective, with one query for all their values."""
    points = measurement_points([o.id for o in objectives])
    return {o.id: objective_status(o, points[o.id], today) for o in objectives}


def objectives_summary(start: dt.date, end: dt.date, today: dt.date) -> dict[str, Any]:
    """Objectives pursued in the period (active in it or evaluated in it): how far each was met."""
    since = dt.datetime.combine(start, dt.time.min, tzinfo=dt.UTC)
    objectives = list(
        db.session.scalars(
            select(QualityObjective)
            .options(selectinload(QualityObjective.owner), selectinload(QualityObjective.process))
            .where(
                QualityObjective.state.not_in(("draft", "withdrawn")),
                QualityObjective.starts_on <= end,
                or_(QualityObjective.closed_at.is_(None), QualityObjective.closed_at >= since),
            )
            .order_by(QualityObjective.deadline, QualityObjective.id)
        )
    )
    statuses = objective_statuses(objectives, today)
    counts = Counter(statuses[o.id].status for o in objectives)
    rows = []
    for o in objectives:
        s = statuses[o.id]
        unit = f" {o.unit}" if o.unit else ""
        rows.append(
            {
                "id": o.id,
                "reference": o.reference,
                "title": o.title,
                "kpi": o.kpi_name,
                "process": o.process.name if o.process else "organisation-wide",
                "owner": o.owner.name,
                "target": f"{'at least' if o.direction == 'up' else 'at most'} {o.target:g}{unit}",
                "deadline": o.deadline.isoformat(),
                "latest": f"{s.latest:g}{unit}" if s.latest is not None else None,
                "forecast": f"{s.forecast:g}{unit}" if s.forecast is not None and s.slope is not None else None,
                "status": s.label,
                "state": o.state_label,
            }
        )
    evaluated = counts["achieved"] + counts["missed"]
    return {
        "objectives": len(objectives),
        "by_status": {key: counts[key] for key in STATUS_LABELS if counts[key]},
        "achieved": counts["achieved"],
        "missed": counts["missed"],
        "on_track": counts["on_track"],
        "at_risk": counts["at_risk"],
        "off_track": counts["off_track"],
        "percent_met_of_evaluated": round(100 * counts["achieved"] / evaluated, 1) if evaluated else None,
        "rows": rows,
    }


@dataclass
class ObjectivePanel:
    """The dashboard's quality objectives: active ones by status, and those needing attention."""

    counts: dict[str, int]
    attention: list[tuple[QualityObjective, ObjectiveStatus]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


#: the months of values the dashboard's statuses are judged on
PANEL_MONTHS = 12


def objective_panel(today: dt.date, *, limit: int = 5) -> ObjectivePanel:
    """Active objectives by status (judged on the last year's values) and the worst few."""
    objectives = list(
        db.session.scalars(
            select(QualityObjective)
            .where(QualityObjective.state == "active")
            .order_by(QualityObjective.deadline, QualityObjective.id)
        )
    )
    points = measurement_points([o.id for o in objectives], since=today - dt.timedelta(days=31 * PANEL_MONTHS))
    statuses = {o.id: objective_status(o, points[o.id], today) for o in objectives}
    counts = Counter(s.status for s in statuses.values())
    order = {"off_track": 0, "at_risk": 1, "no_data": 2}
    attention = sorted(
        ((o, statuses[o.id]) for o in objectives if statuses[o.id].status in order),
        key=lambda pair: (order[pair[1].status], pair[0].deadline, pair[0].id),
    )[:limit]
    return ObjectivePanel({key: counts[key] for key in ("on_track", "at_risk", "off_track", "no_data")}, attention)
