"""The large organisation's nonconformities and corrective actions (also those raised by audit findings)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from .common import HISTORY_DAYS, _at, _SeederBase

_NC_TOPICS = (
    ("Calibration overdue on {thing}", "7.1.5.2", "process_monitoring"),
    ("Work instruction not followed at {thing}", "8.5.1", "process_monitoring"),
    ("Obsolete revision of {thing} found in use", "7.5.3", "internal_audit"),
    ("Supplier certificate missing for {thing}", "8.4.1", "supplier"),
    ("Incoming material for {thing} out of specification", "8.4.3", "supplier"),
    ("Training record incomplete for {thing}", "7.2", "internal_audit"),
    ("Customer reported defect on {thing}", "8.7", "customer_complaint"),
    ("Late delivery of {thing} to the customer", "8.2.1", "customer_complaint"),
    ("Inspection sign-off missing for {thing}", "8.6", "process_monitoring"),
    ("Nonconforming output of {thing} released", "8.7", "process_monitoring"),
    ("Maintenance plan not followed for {thing}", "7.1.3", "internal_audit"),
    ("Quality objective for {thing} not monitored", "6.2.1", "external_audit"),
    ("Low satisfaction score for {thing}", "9.1.2", "survey"),
    ("Design review not recorded for {thing}", "8.3.4", "internal_audit"),
    ("Traceability of {thing} lost", "8.5.2", "process_monitoring"),
    ("Customer property damaged: {thing}", "8.5.3", "customer_complaint"),
)
_THINGS = (
    "torque wrench TW-{n}",
    "line {n}",
    "batch {n}",
    "lot {n}",
    "order {n}",
    "gauge G-{n}",
    "press P-{n}",
    "station {n}",
    "oven O-{n}",
    "pallet {n}",
    "forklift FL-{n}",
    "product family {n}",
)
_ROOT_CAUSES = (
    "No reminder when a periodic task falls due.",
    "The procedure did not say who checks the record.",
    "New operators were not trained on the revised instruction.",
    "The supplier was not re-evaluated after a change of ownership.",
    "The gauge was used outside its calibrated range.",
    "Work was planned without the current drawing.",
)


class _NonconformityPhases(_SeederBase):
    """One NC's life from report to closure, and the bulk of the NCs."""

    def nonconformity(
        self,
        detected: dt.date,
        *,
        kind: str,
        source: str,
        process: dict[str, Any],
        raised_by: int,
        title: str,
        description: str,
        clause: str,
        severity: str | None = None,
        pace: float = 1.0,
    ) -> tuple[int, dt.datetime | None]:
        """One NC and (on the full path) its corrective actions, with their histories.

        ``kind``: ``full`` (triage → … → close with corrective actions), ``observation`` (closed
        without action) or ``rejected``. The planned timeline is cut at now.  Returns the NC's id
        and when it was closed (None while open).
        """
        rng = self.rng
        nc_id = self.w.new_id("nonconformities")
        t = _at(detected, rng)

        def step(low: float, high: float) -> dt.datetime:
            nonlocal t
            t = t + dt.timedelta(hours=24 * rng.uniform(low, high) * pace)
            return t

        qo, mgr = self.pick("quality_officer"), self.pick("manager")
        owner = process["owner_id"]
        row: dict[str, Any] = {
            "id": nc_id,
            "reference": self.reference("NC", detected.year),
            "title": title[:200],
            "description": description,
            "source": source,
            "severity": None,
            "process": process["name"],
            "clause_refs": [clause],
            "detected_on": detected,
            "raised_by_id": raised_by,
            "owner_id": None,
            "containment_due": None,
            "containment": "",
            "correction": "",
            "root_cause_method": None,
            "root_cause": "",
            "root_cause_whys": [],
            "verification_due": None,
            "effectiveness_evidence": "",
            "closure_note": "",
            "rejection_reason": "",
            "closed_at": None,
            "state": "reported",
            "lifecycle_version": self.lifecycles["nonconformity"].version,
            "version": 1,
            "created_at": t,
        }
        events: list[tuple[str, dt.datetime, int, dict[str, Any]]] = []
        actions: list[dict[str, Any]] = []
        action_events: dict[int, list] = {}
        if kind == "rejected":
            if rng.random() < 0.5:
                events.append(("triage", step(0.1, 3), qo, {"severity": "minor"}))
            events.append(("reject", step(0.5, 8), qo, {"reason": "Not a nonconformity: the requirement was met."}))
        elif kind == "observation":
            events.append(("triage", step(0.1, 3), qo, {"severity": "observation"}))
            if rng.random() < 0.5:
                events.append(("contain", step(0.5, 5), owner, {"containment": "Area checked and labelled."}))
            events.append(
                (
                    "close_observation",
                    step(1, 20),
                    mgr if mgr != raised_by else qo,  # segregation of duties: not the person who raised it
                    {"justification": "Isolated case; monitored, no action needed."},
                )
            )
        else:
            severity = severity or ("major" if rng.random() < 0.2 else "minor")
            containment_due = (t + dt.timedelta(days=7)).date()
            events.append(("triage", step(0.1, 3), qo, {"severity": severity, "containment_due": containment_due}))
            events.append(
                (
                    "contain",
                    step(0.5, 5),
                    owner,
                    {"containment": "Affected items quarantined and labelled.", "correction": ""},
                )
            )
            cause = rng.choice(_ROOT_CAUSES)
            whys = ["Task missed", "Not in the schedule", "Schedule kept by hand", cause]
            events.append(
                ("analyse_root_cause", step(2, 10), qo, {"method": "five_whys", "root_cause": cause, "whys": whys})
            )
            created = step(0.1, 2)
            implementers = []
            for index in range(1 if rng.random() < 0.78 else 2):
                action_id = self.w.new_id("corrective_actions")
                a_owner = owner if index == 0 else self.pick("process_owner")
                due = (created + dt.timedelta(days=rng.randrange(21, 60))).date()
                actions.append(
                    {
                        "id": action_id,
                        "reference": None,  # numbered when written: references have no gaps
                        "nonconformity_id": nc_id,
                        "title": f"Prevent recurrence: {cause.rstrip('.').lower()}"[:200],
                        "description": "Update the procedure, train the people concerned and check three cycles.",
                        "owner_id": a_owner,
                        "due_date": due,
                        "implementation": "",
                        "implemented_by_id": None,
                        "implemented_at": None,
                        "verification": "",
                        "verified_by_id": None,
                        "verified_at": None,
                        "state": "planned",
                        "lifecycle_version": self.lifecycles["corrective_action"].version,
                        "version": 1,
                        "created_at": created,
                    }
                )
                implementers.append(a_owner)
            plan_at = step(1, 5)
            verification_due = (plan_at + dt.timedelta(days=rng.randrange(30, 46))).date()
            events.append(("plan_actions", plan_at, owner, {"verification_due": verification_due}))
            last_done = plan_at
            for action in actions:
                started = plan_at + dt.timedelta(hours=24 * rng.uniform(1, 5) * pace)
                done = started + dt.timedelta(hours=24 * rng.uniform(5, 25) * pace)
                action_events[action["id"]] = [
                    ("start", started, action["owner_id"], {}),
                    ("implement", done, action["owner_id"], {"implementation": "Procedure revised; people trained."}),
                ]
                last_done = max(last_done, done)
            t = last_done
            events.append(("complete_actions", step(0.1, 3), owner, {}))
            verifier = self.pick("internal_auditor")
            verified_until = t
            for action in actions:
                at = t + dt.timedelta(hours=24 * rng.uniform(1, 10) * pace)
                action_events[action["id"]].append(
                    ("verify", at, verifier, {"verification": "Checked three cycles: done as planned."})
                )
                verified_until = max(verified_until, at)
            check_day = max(verified_until, _at(verification_due, rng))
            t = check_day
            events.append(("verify_effectiveness", step(0, 5), mgr, {"evidence": "No recurrence since the actions."}))
            events.append(("close", step(0.5, 7), qo, {}))
        events = self.past(events)
        # the record as the events left it
        for name, at, _actor, data in events:
            if name == "triage":
                row.update(severity=data["severity"], owner_id=owner, containment_due=data.get("containment_due"))
            elif name == "contain":
                row.update(containment=data["containment"], correction=data.get("correction", ""))
            elif name == "analyse_root_cause":
                row.update(root_cause_method="five_whys", root_cause=data["root_cause"], root_cause_whys=data["whys"])
            elif name == "plan_actions":
                row["verification_due"] = data["verification_due"]
            elif name == "verify_effectiveness":
                row["effectiveness_evidence"] = data["evidence"]
            elif name == "close_observation":
                row.update(closure_note=data["justification"], closed_at=at)
            elif name in ("close", "reject"):
                row["closed_at"] = at
                if name == "reject":
                    row["rejection_reason"] = data["reason"]
        row["state"] = self.history("nonconformity", nc_id, events) if events else "reported"
        row["updated_at"] = events[-1][1] if events else row["created_at"]
        row["version"] = 1 + len(events)
        self.w.add("nonconformities", row)
        for action in actions:
            if action["created_at"] > self.now:
                continue  # not planned yet
            action["reference"] = self.reference("CA", action["created_at"].year)
            a_events = self.past(action_events[action["id"]])
            for name, at, actor, data in a_events:
                if name == "implement":
                    action.update(implementation=data["implementation"], implemented_by_id=actor, implemented_at=at)
                elif name == "verify":
                    action.update(verification=data["verification"], verified_by_id=actor, verified_at=at)
            action["state"] = self.history("corrective_action", action["id"], a_events) if a_events else "planned"
            action["updated_at"] = a_events[-1][1] if a_events else action["created_at"]
            action["version"] = 1 + len(a_events)
            self.w.add("corrective_actions", action)
            self.actions_made += 1
        return nc_id, row["closed_at"]

    def _nc_text(self, process: dict[str, Any]) -> tuple[str, str, str, str]:
        template, clause, source = self.rng.choice(_NC_TOPICS)
        thing = self.rng.choice(_THINGS).format(n=self.rng.randrange(1, 400))
        title = template.format(thing=thing)
        description = (
            f"{title}. Found at the {process['site']} ({process['short'].lower()}); "
            "evidence and details recorded by the reporter."
        )
        return title, description, clause, source

    def nonconformities(self, target: int, action_target: int) -> None:
        """The bulk of the NCs; the share on the full path is steered so the action count meets its target."""
        rng = self.rng
        days = sorted(
            self.start + dt.timedelta(days=int(HISTORY_DAYS * math.sqrt(rng.random()))) for _ in range(target)
        )
        raisers = self.people.by_role["quality_officer"] + self.people.by_role["internal_auditor"]
        raisers += self.people.by_role["process_owner"]
        report_every = max(1, target // 10)
        for index, detected in enumerate(days):
            detected = min(detected, self.today)
            remaining = target - index
            # a full-path NC that gets as far as planning brings 1.22 actions on average
            p_full = max(0.0, min(1.0, (action_target - self.actions_made) / (remaining * 1.22)))
            roll = rng.random()
            kind = "full" if roll < p_full else "rejected" if roll < p_full + 0.05 else "observation"
            pace = 1.0
            slow = rng.random()
            if slow < 0.02:
                pace = 20.0
            elif slow < 0.10:
                pace = 4.0
            process = rng.choice(self.processes)
            title, description, clause, source = self._nc_text(process)
            self.nonconformity(
                detected,
                kind=kind,
                source=source,
                process=process,
                raised_by=rng.choice(raisers),
                title=title,
                description=description,
                clause=clause,
                pace=pace,
            )
            if (index + 1) % report_every == 0:
                self.progress(f"  nonconformities: {index + 1:,} of {target:,}")
        self.w.flush("corrective_actions")
