"""The large organisation's quality objectives: hundreds of them over three years, each with its
monthly KPI values; missed ones raise an opportunity for improvement, as their owners chose."""

from __future__ import annotations

import datetime as dt

from workflows import get_lifecycle

from ...models.objectives import month_end
from .common import _at, _SeederBase

#: KPIs the organisation sets objectives on: (name, unit, direction, baseline, target)
KPIS = (
    ("On-time delivery", "%", "up", 84.0, 95.0),
    ("First-pass yield", "%", "up", 91.0, 97.0),
    ("Scrap rate", "%", "down", 4.0, 2.0),
    ("Complaint resolution time", "days", "down", 12.0, 5.0),
    ("Customer satisfaction index", "CSI", "up", 68.0, 80.0),
    ("Corrective actions completed on time", "%", "up", 70.0, 90.0),
    ("Supplier deliveries on time", "%", "up", 80.0, 92.0),
    ("Calls answered within a minute", "%", "up", 75.0, 90.0),
)


class _ObjectivePhases(_SeederBase):
    """Quality objectives with three years of monthly values."""

    def _months_between(self, start: dt.date, end: dt.date) -> list[dt.date]:
        days = []
        year, month = start.year, start.month
        while True:
            day = month_end(year, month)
            if day > end:
                return days
            days.append(day)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)

    def objectives(self, target: int) -> None:
        rng = self.rng
        self.lifecycles["quality_objective"] = get_lifecycle("quality_objective")
        self.lifecycles["opportunity"] = get_lifecycle("opportunity")
        first_month = dt.date(self.start.year, self.start.month, 1)
        for i in range(target):
            kpi, unit, direction, baseline, goal = KPIS[i % len(KPIS)]
            process = self.processes[i % len(self.processes)] if self.processes else None
            owner = self.pick("process_owner") if self.people.by_role["process_owner"] else self.pick("quality_officer")
            mgr, qo = self.pick("manager"), self.pick("quality_officer")
            long_running = i % 5 < 2  # two in five run over the whole three years
            if long_running:
                starts_on = first_month
                deadline = self.today + dt.timedelta(days=rng.randint(60, 360))
            else:
                offset = rng.randint(0, 33)
                index = first_month.year * 12 + first_month.month - 1 + offset
                starts_on = dt.date(index // 12, index % 12 + 1, 1)
                deadline = starts_on + dt.timedelta(days=365)
            objective_id = self.w.new_id("quality_objectives")
            created = _at(starts_on - dt.timedelta(days=14), rng)
            events = [
                ("approve", _at(starts_on - dt.timedelta(days=7), rng), mgr, {}),
                ("activate", _at(starts_on, rng), qo, {}),
            ]
            months = self._months_between(starts_on, min(deadline, self.today))
            # a noisy trend from the baseline towards (or short of) the target
            reach = rng.uniform(0.6, 1.2)
            values = []
            for k, day in enumerate(months):
                progress = min(1.0, (k + 1) / max(1, 12 if not long_running else len(months)))
                value = baseline + (goal - baseline) * reach * progress + rng.gauss(0, abs(goal - baseline) * 0.08)
                values.append((day, round(value, 1)))
            row = {
                "id": objective_id,
                "reference": self.reference("OBJ", starts_on.year),
                "title": f"{kpi}: {'at least' if direction == 'up' else 'at most'} {goal:g} {unit}"
                + (f" — {process['short']}" if process else ""),
                "description": "",
                "owner_id": owner,
                "process_id": process["id"] if process else None,
                "kpi_name": kpi,
                "measure": "manual",
                "unit": unit,
                "direction": direction,
                "baseline": baseline,
                "target": goal,
                "tolerance": None,
                "frequency": "monthly",
                "starts_on": starts_on,
                "deadline": deadline,
                "plan_what": "Monthly review of the KPI at the process meeting; actions on every adverse trend",
                "plan_resources": "The process team's time; the quality officer's analysis",
                "plan_who": "The process owner",
                "plan_when": f"By {deadline.isoformat()}",
                "plan_evaluation": "The monthly KPI against the target; reported to the management review",
                "created_by_id": qo,
                "created_at": created,
            }
            opportunity_id = None
            if deadline < self.today:
                met = (values[-1][1] >= goal) if direction == "up" else (values[-1][1] <= goal)
                evaluated = _at(deadline + dt.timedelta(days=rng.randint(3, 20)), rng)
                if met:
                    events.append(("mark_achieved", evaluated, qo, {"evaluation": "The monthly KPI met the target"}))
                    row["evaluation"] = "The monthly KPI met the target"
                else:
                    reason = "The trend improved but did not reach the target"
                    events.append(("mark_missed", evaluated, owner, {"reason": reason, "follow_up": "opportunity"}))
                    row["missed_reason"], row["missed_follow_up"] = reason, "opportunity"
                    opportunity_id = self._missed_opportunity(row, owner, evaluated)
                row["evaluated_at"] = evaluated
                closed = evaluated + dt.timedelta(days=rng.randint(5, 30))
                if closed <= self.now:
                    events.append(("close", closed, mgr, {}))
                    row["closed_at"] = closed
            events = self.past(events)
            row["opportunity_id"] = opportunity_id
            row["state"] = self.history("quality_objective", objective_id, events)
            row["lifecycle_version"] = self.lifecycles["quality_objective"].version
            row["version"] = 1 + len(events)
            row["updated_at"] = events[-1][1] if events else created
            self.w.add("quality_objectives", row)
            for day, value in values:
                self.w.add(
                    "objective_measurements",
                    {
                        "id": self.w.new_id("objective_measurements"),
                        "objective_id": objective_id,
                        "measured_on": day,
                        "value": value,
                        "source": "csv" if day.month == 1 else "manual",
                        "note": "",
                        "recorded_by_id": owner,
                        "recorded_at": _at(min(day + dt.timedelta(days=3), self.today), rng),
                    },
                )
        self.w.flush("objective_measurements")

    def _missed_opportunity(self, objective: dict, owner: int, at: dt.datetime) -> int:
        opportunity_id = self.w.new_id("opportunities")
        self.w.add(
            "opportunities",
            {
                "id": opportunity_id,
                "reference": self.reference("OPP", at.year),
                "title": f"Improve: {objective['title']}"[:200],
                "description": f"Quality objective {objective['reference']} was missed.",
                "source": "objective_missed",
                "process_id": objective["process_id"],
                "owner_id": owner,
                "proposed_by_id": owner,
                "state": "proposed",
                "lifecycle_version": self.lifecycles["opportunity"].version,
                "version": 1,
                "created_at": at,
                "updated_at": at,
            },
        )
        return opportunity_id
