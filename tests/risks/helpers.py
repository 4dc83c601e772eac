"""Builders of risks in a given state, through the services (as a person would)."""

from __future__ import annotations

import datetime as dt

from qms.models import Risk
from qms.services import fire
from qms.services.risks import add_treatment_action, raise_risk

from ..conftest import PASSWORD


def new_risk(org, *, process=None, title: str = "Supplier fails to deliver steel", **fields) -> Risk:
    values = {
        "title": title,
        "cause": "Single qualified steel supplier",
        "effect": "Production stops; late deliveries",
        "clause_refs": ["8.4", "6.1"],
        "process_id": process.id if process else None,
        "owner_id": org.owner.id,
    }
    values.update(fields)
    return raise_risk(org.quality, **values)


def risk_in_state(org, state: str, *, process=None, likelihood: int = 4, impact: int = 5, **fields) -> Risk:
    """A risk moved to ``state`` (assessed, treatment_planned, monitored, treated) by the usual people."""
    risk = new_risk(org, process=process, **fields)
    if state == "identified":
        return risk
    fire(risk, "assess", org.quality, {"likelihood": likelihood, "impact": impact})
    if state == "assessed":
        return risk
    if state == "accepted":
        fire(risk, "accept", org.manager, {"rationale": "Cost of treatment too high"}, signature_password=PASSWORD)
        return risk
    fire(risk, "plan_treatment", org.quality, {"treatment": "reduce", "treatment_plan": "Qualify a second supplier"})
    if state == "treatment_planned":
        return risk
    action = add_treatment_action(
        risk, org.quality, title="Qualify second supplier", owner_id=org.owner.id, due_date=dt.date.today()
    )
    fire(action, "start", org.owner)
    fire(action, "implement", org.owner, {"implementation": "Audited and approved Acme Steel"})
    fire(action, "verify", org.quality, {"verification": "Two orders delivered"}, signature_password=PASSWORD)
    fire(
        risk,
        "record_treated",
        org.quality,
        {"residual_likelihood": 2, "residual_impact": 5, "effectiveness": "Second source in place"},
    )
    return risk



