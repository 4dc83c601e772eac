"""The large organisation's context and risk register: issues per site on the SWOT board, interested
parties, yearly context reviews, and thousands of risks across the processes over three years, each
with the history of its lifecycle (assessed, treated with verified actions, accepted, reviewed at the
cadence of its rating, closed) cut at *now*.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ...models.context import INTERNAL_QUADRANTS
from ...services.risks import DEFAULT_REVIEW_DAYS, level_of
from .common import _at, _SeederBase

SCALE = 5
_CAUSES = (
    ("Machine breakdown", "Ageing equipment without preventive maintenance", "Orders late; overtime"),
    ("Supplier late", "Single qualified supplier", "Production stops"),
    ("Operator error", "Training not refreshed", "Scrap and rework"),
    ("Specification misread", "Drawings revised by phone", "Wrong product made"),
    ("Measurement wrong", "Calibration overdue", "Nonconforming product accepted"),
    ("Key person leaves", "Know-how not written down", "Quality drops"),
    ("Power cut", "Grid rationing", "Batches scrapped"),
    ("Customer data lost", "No backup of the order system", "Orders cannot be traced"),
    ("Regulation changes", "No watch on new rules", "Products not compliant"),
    ("Complaint unanswered", "No one monitors the channels", "Customers lost"),
)
_ISSUES = (
    ("Experienced workforce", "strength", None),
    ("Modern machinery", "strength", None),
    ("Paper-based records", "weakness", None),
    ("Dependence on few suppliers", "weakness", None),
    ("New housing programme", "opportunity", "political"),
    ("Regional export market", "opportunity", "economic"),
    ("Digital ordering by customers", "opportunity", "technological"),
    ("Raw material price volatility", "threat", "economic"),
    ("Droughts and power rationing", "threat", "environmental"),
    ("Stricter product regulation", "threat", "legal"),
    ("Skills shortage", "threat", "social"),
)
_PARTIES = (
    ("Customers", "customer", "Products to specification, on time", "Surveys, complaints"),
    ("Employees", "employee", "Safe work, training", "Staff survey, safety committee"),
    ("Shareholders", "owner", "Margin and growth", "Monthly accounts"),
    ("Suppliers", "supplier", "Clear specifications, payment on time", "Supplier evaluations"),
    ("Regulator", "regulator", "Licences and product standards", "Inspections"),
    ("Neighbours", "community", "Little noise and dust", "Complaints book"),
)


class _RiskPhases(_SeederBase):
    """The context issues, interested parties, context reviews, risks and their treatment actions."""

    def context_and_risks(self, n_risks: int) -> None:
        rng = self.rng
        qos = self.people.by_role["quality_officer"]
        managers = self.people.by_role["manager"]
        for site_id, name, _code in [*self.sites, (None, "the organisation", "")]:
            for title, swot, pestle in _ISSUES:
                self.w.add(
                    "context_issues",
                    {
                        "id": self.w.new_id("context_issues"),
                        "reference": self.reference("CTX", self.start.year),
                        "title": f"{title} ({name})",
                        "description": "",
                        "swot": swot,
                        "pestle": None if swot in INTERNAL_QUADRANTS else pestle,
                        "site_id": site_id,
                        "owner_id": rng.choice(managers if swot not in INTERNAL_QUADRANTS else qos),
                        "review_on": self.today + dt.timedelta(days=rng.randrange(-30, 330)),
                        "climate_related": pestle == "environmental",
                        "active": True,
                    },
                )
            for pname, category, requirements, monitoring in _PARTIES:
                self.w.add(
                    "interested_parties",
                    {
                        "id": self.w.new_id("interested_parties"),
                        "reference": self.reference("IP", self.start.year),
                        "name": f"{pname} ({name})",
                        "category": category,
                        "needs": "",
                        "requirements": requirements,
                        "monitoring": monitoring,
                        "climate_requirements": "",
                        "site_id": site_id,
                        "owner_id": rng.choice(qos),
                        "review_on": self.today + dt.timedelta(days=rng.randrange(-30, 330)),
                        "active": True,
                    },
                )
        chair = managers[0]
        for year in range(self.start.year, self.today.year + 1):
            held = dt.date(year, 2, 15)
            if held > self.today:
                continue
            review_id = self.w.new_id("context_reviews")
            at = _at(held, rng)
            events = [
                ("start", at, chair, {}),
                (
                    "complete",
                    at + dt.timedelta(hours=3),
                    chair,
                    {"climate_change_relevant": "yes", "next_review_on": dt.date(year + 1, 2, 15)},
                ),
            ]
            events = self.past(events)
            state = self.history("context_review", review_id, events)
            self.w.add(
                "context_reviews",
                {
                    "id": review_id,
                    "reference": self.reference("CRV", year),
                    "title": f"Context review {year}",
                    "planned_for": held,
                    "chair_id": chair,
                    "state": state,
                    "lifecycle_version": self.lifecycles["context_review"].version,
                    "changes": "Issues and parties reviewed; changes recorded in the registers."
                    if state == "completed"
                    else "",
                    "climate_change_relevant": "yes" if state == "completed" else None,
                    "climate_change_notes": "Droughts ration power; floods threaten depots."
                    if state == "completed"
                    else "",
                    "next_review_on": dt.date(year + 1, 2, 15) if state == "completed" else None,
                    "snapshot": {},
                    "completed_at": events[-1][1] if state == "completed" else None,
                    "created_at": at - dt.timedelta(days=14),
                    "updated_at": events[-1][1] if events else at,
                },
            )
        for _ in range(n_risks):
            self._risk()

    def _risk(self) -> None:
        rng = self.rng
        process = rng.choice(self.processes)
        owner = process["owner_id"]
        qo = self.pick("quality_officer")
        manager = self.pick("manager")
        what, cause, effect = rng.choice(_CAUSES)
        created_day = self.start + dt.timedelta(days=rng.randrange(0, (self.today - self.start).days + 1))
        created = _at(created_day, rng)
        risk_id = self.w.new_id("risks")
        likelihood, impact = rng.randint(1, SCALE), rng.randint(1, SCALE)
        roll = rng.random()
        plan = "identified" if roll < 0.06 else "assessed" if roll < 0.12 else "accepted" if roll < 0.25 else "treat"
        events: list[tuple[str, dt.datetime, int, dict[str, Any]]] = []
        row: dict[str, Any] = {
            "likelihood": None,
            "impact": None,
            "residual_likelihood": None,
            "residual_impact": None,
            "treatment": None,
            "treatment_plan": "",
            "acceptance_rationale": "",
            "effectiveness": "",
            "last_reviewed_on": None,
            "next_review_on": None,
            "closure_reason": "",
            "closed_at": None,
        }
        at = created + dt.timedelta(days=rng.randint(1, 10))
        action: dict[str, Any] | None = None
        if plan != "identified" and at <= self.now:
            events.append(("assess", at, owner, {"likelihood": likelihood, "impact": impact}))
            row["likelihood"], row["impact"] = likelihood, impact
            at += dt.timedelta(days=rng.randint(1, 10))
            if plan == "accepted" and at <= self.now:
                events.append(("accept", at, manager, {"rationale": "Within appetite"}))
                row |= {"treatment": "accept", "acceptance_rationale": "Within appetite"}
                row["residual_likelihood"], row["residual_impact"] = likelihood, impact
                row["next_review_on"] = at.date()
            elif plan == "treat" and at <= self.now:
                treatment = rng.choice(("reduce", "reduce", "reduce", "avoid", "transfer"))
                events.append(("plan_treatment", at, owner, {"treatment": treatment, "treatment_plan": f"{what}"}))
                row |= {"treatment": treatment, "treatment_plan": f"Reduce the cause: {cause.lower()}."}
                action = self._treatment_action(risk_id, owner, qo, at, what)
                verified_at = action["verified_at"]
                if verified_at is not None:
                    at = verified_at + dt.timedelta(days=rng.randint(1, 7))
                    if at <= self.now:
                        residual = (max(1, likelihood - rng.randint(1, 3)), max(1, impact - rng.randint(0, 1)))
                        events.append(
                            (
                                "record_treated",
                                at,
                                qo,
                                {"residual_likelihood": residual[0], "residual_impact": residual[1]},
                            )
                        )
                        row["residual_likelihood"], row["residual_impact"] = residual
                        row["effectiveness"] = "Treatment verified; the rating fell."
                        row["next_review_on"] = at.date()
        score = None
        current = (row["residual_likelihood"] or row["likelihood"], row["residual_impact"] or row["impact"])
        if current[0] and current[1]:
            score = current[0] * current[1]
        level = level_of(score, SCALE)
        if row["next_review_on"] is not None:
            cadence = dt.timedelta(days=DEFAULT_REVIEW_DAYS[level or "medium"])
            review = _at(row["next_review_on"], rng) + cadence
            while review <= self.now and rng.random() < 0.9:  # most reviews are held on time, a few run late
                events.append(("review", review, owner, {"notes": "Reviewed; controls still work"}))
                row["last_reviewed_on"] = review.date()
                review += cadence
            row["next_review_on"] = review.date()
            if rng.random() < 0.08 and review - cadence + dt.timedelta(days=30) <= self.now:
                closed = review - cadence + dt.timedelta(days=rng.randint(1, 29))
                events.append(("close", closed, manager, {"reason": "The activity stopped"}))
                row |= {"closure_reason": "The activity stopped", "closed_at": closed, "next_review_on": None}
        state = self.history("risk", risk_id, events)
        self.w.add(
            "risks",
            {
                "id": risk_id,
                "reference": self.reference("RSK", created.year),
                "title": f"{what} in {process['short'].lower()}",
                "description": "",
                "cause": cause,
                "effect": effect,
                "process_id": process["id"],
                "clause_refs": ["6.1", *process["clauses"][:1]],
                "owner_id": owner,
                "raised_by_id": qo,
                "scale": SCALE,
                "current_likelihood": current[0],
                "current_impact": current[1],
                "current_score": score,
                "level": level,
                "rerating_requested": False,
                "rerating_reason": "",
                "source": "manual",
                "state": state,
                "lifecycle_version": self.lifecycles["risk"].version,
                "created_at": created,
                "updated_at": events[-1][1] if events else created,
                **row,
            },
        )
        if action is not None:
            self.w.add("risk_treatment_actions", action)

    def _treatment_action(
        self, risk_id: int, owner: int, verifier: int, planned: dt.datetime, what: str
    ) -> dict[str, Any]:
        rng = self.rng
        action_id = self.w.new_id("risk_treatment_actions")
        start = planned + dt.timedelta(days=rng.randint(1, 10))
        done = start + dt.timedelta(days=rng.randint(5, 40))
        verified = done + dt.timedelta(days=rng.randint(1, 15))
        events = self.past(
            [
                ("start", start, owner, {}),
                ("implement", done, owner, {"implementation": "Done"}),
                ("verify", verified, verifier, {"verification": "Checked"}),
            ]
        )
        state = self.history("risk_treatment", action_id, events)
        return {
            "id": action_id,
            "reference": self.reference("RTA", planned.year),
            "risk_id": risk_id,
            "title": f"Act on: {what.lower()}",
            "description": "",
            "owner_id": owner,
            "due_date": done.date() + dt.timedelta(days=5),
            "implementation": "Done" if state in ("implemented", "verified") else "",
            "implemented_by_id": owner if state in ("implemented", "verified") else None,
            "implemented_at": done if state in ("implemented", "verified") else None,
            "verification": "Checked" if state == "verified" else "",
            "verified_by_id": verifier if state == "verified" else None,
            "verified_at": verified if state == "verified" else None,
            "cancel_reason": "",
            "state": state,
            "lifecycle_version": self.lifecycles["risk_treatment"].version,
            "created_at": planned,
            "updated_at": events[-1][1] if events else planned,
        }
