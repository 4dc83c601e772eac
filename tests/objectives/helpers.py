"""Builders of quality objectives for the tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from qms.services import fire
from qms.services.objectives import create_objective

from ..conftest import PASSWORD

PLAN = {
    "plan_what": "Weekly review of open actions at the production meeting",
    "plan_resources": "One hour a week of the quality officer",
    "plan_who": "Quality officer",
    "plan_when": "Every Monday until the deadline",
    "plan_evaluation": "Monthly KPI against the target, reported to management review",
}


def months_ago(n: int, today: dt.date | None = None) -> dt.date:
    today = today or dt.date.today()
    index = today.year * 12 + today.month - 1 - n
    return dt.date(index // 12, index % 12 + 1, 1)


def new_objective(org, **overrides: Any):
    fields: dict[str, Any] = {
        "title": "Deliver on time",
        "kpi_name": "On-time delivery",
        "unit": "%",
        "direction": "up",
        "target": 95,
        "baseline": 80,
        "starts_on": months_ago(6),
        "deadline": dt.date.today() + dt.timedelta(days=180),
        **PLAN,
    }
    fields.update(overrides)
    return create_objective(org.quality, **fields)


def active_objective(org, **overrides: Any):
    objective = new_objective(org, **overrides)
    fire(objective, "approve", org.manager, signature_password=PASSWORD)
    fire(objective, "activate", org.quality)
    return objective
