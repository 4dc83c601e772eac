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


def planning_ids(org) -> dict[str, int]:
    """Records of the risk and context registers for the authorisation matrices, by their template key."""
    from qms.services.context import plan_context_review, save_issue, save_party

    risk = new_risk(org)
    planned = risk_in_state(org, "treatment_planned", title="Oven fails")
    action = add_treatment_action(
        planned, org.quality, title="Service the oven", owner_id=org.owner.id, due_date=dt.date.today()
    )
    review_on = dt.date.today() + dt.timedelta(days=90)
    issue = save_issue(
        org.quality, {"title": "Skilled bakers", "swot": "strength", "owner_id": org.owner.id, "review_on": review_on}
    )
    party = save_party(
        org.quality,
        {
            "name": "Retail customers",
            "category": "customer",
            "requirements": "Fresh bread daily",
            "monitoring": "Complaints and surveys",
            "owner_id": org.owner.id,
            "review_on": review_on,
        },
    )
    review = plan_context_review(org.quality, title="Context 2026", planned_for=review_on)
    return {
        "risk": risk.id,
        "planned_risk": planned.id,
        "risk_action": action.id,
        "issue": issue.id,
        "party": party.id,
        "context_review": review.id,
    }


def grow_planning(org, tag: str, nc) -> dict[str, int]:
    """One more of each planning record (for the query-count test): a treated risk that ``nc`` realised,
    a treatment action, an issue, an interested party and a context review."""
    from qms.services.context import plan_context_review, save_issue, save_party
    from qms.services.risks import cite_realised_risk

    risk = risk_in_state(org, "monitored", title=f"Risk {tag}")
    cite_realised_risk(nc, org.quality, risk_id=risk.id)
    review_on = dt.date.today() + dt.timedelta(days=90)
    issue = save_issue(
        org.quality, {"title": f"Issue {tag}", "swot": "threat", "owner_id": org.owner.id, "review_on": review_on}
    )
    party = save_party(
        org.quality,
        {
            "name": f"Party {tag}",
            "category": "regulator",
            "requirements": "Licence",
            "monitoring": "Inspections",
            "owner_id": org.owner.id,
            "review_on": review_on,
        },
    )
    review = plan_context_review(org.quality, title=f"Context {tag}", planned_for=review_on)
    return {
        "risk": risk.id,
        "risk_action": risk.actions[0].id,
        "issue": issue.id,
        "party": party.id,
        "context_review": review.id,
    }
