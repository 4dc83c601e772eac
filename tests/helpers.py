"""Builders for records in a given stage, through the real services."""

from __future__ import annotations

import datetime as dt

from qms.models import Nonconformity
from qms.services import fire
from qms.services.nonconformities import add_corrective_action, raise_nonconformity

from .conftest import PASSWORD


def new_nc(org, **overrides) -> Nonconformity:
    fields = {
        "title": "Calibration overdue on gauge G-7",
        "description": "Gauge G-7 was used 12 days after its calibration due date.",
        "source": "internal_audit",
        "process": "Production",
        "clause_refs": ["7.1.5.2"],
    }
    fields.update(overrides)
    return raise_nonconformity(org.auditor, **fields)


def nc_in_state(org, state: str) -> Nonconformity:
    """An NC walked through the lifecycle up to ``state`` (a happy-path state)."""
    nc = new_nc(org)
    steps = [
        ("triaged", lambda: fire(nc, "triage", org.quality, {"severity": "major"})),
        ("contained", lambda: fire(nc, "contain", org.owner, {"containment": "Quarantined all parts."})),
        (
            "root_cause_identified",
            lambda: fire(
                nc,
                "analyse_root_cause",
                org.quality,
                {"method": "five_whys", "root_cause": "No recall reminder", "whys": ["a", "b"]},
            ),
        ),
        ("action_planned", lambda: _plan(org, nc)),
        ("actions_completed", lambda: _complete(org, nc)),
        (
            "effectiveness_verified",
            lambda: fire(
                nc,
                "verify_effectiveness",
                org.manager,
                {"evidence": "No recurrence"},
                signature_password=PASSWORD,
                today=CHECK_DAY,
            ),
        ),
        ("closed", lambda: fire(nc, "close", org.manager, signature_password=PASSWORD)),
    ]
    for name, step in steps:
        if nc.state == state:
            break
        step()
        assert nc.state == name
    assert nc.state == state
    return nc


#: the effectiveness check comes after a waiting period; tests fire it "on" that later day
CHECK_DAY = dt.date.today() + dt.timedelta(days=30)


def _plan(org, nc):
    add_corrective_action(nc, org.quality, title="Add recall reminders", owner_id=org.owner.id, due_date=_in(10))
    return fire(nc, "plan_actions", org.quality, {"verification_due": CHECK_DAY.isoformat()})


def _complete(org, nc):
    action = nc.actions[0]
    fire(action, "start", org.owner)
    fire(action, "implement", org.owner, {"implementation": "Reminders configured"})
    fire(action, "verify", org.quality2, {"verification": "Checked"}, signature_password=PASSWORD)
    return fire(nc, "complete_actions", org.quality)


def _in(days: int) -> dt.date:
    return dt.date.today() + dt.timedelta(days=days)
