"""The large organisation's certifications, external audits and their findings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select

from standards import cycle as cycles

from ...database import db
from .common import STANDARD, _at
from .nonconformities import _NonconformityPhases


class _CertificationPhases(_NonconformityPhases):
    """Certifications with their external audits; findings raise NCs."""

    def certifications(self) -> None:
        from ...models import CertificationBody
        from ...services.audit_trail import audit_context
        from ...services.certifications import ensure_bodies, profile
        from ...services.standards import find_standard

        session = db.session()
        if session.scalar(select(func.count()).select_from(CertificationBody)) == 0:
            with audit_context(session, None, reason="certification body profiles loaded"):
                ensure_bodies(session)
                session.flush()
        bodies = {body.code: body for body in session.scalars(select(CertificationBody))}
        standard = find_standard(STANDARD)
        plans = (
            # body, site index, scope, days from today of the recertification audit, recertified?
            ("kebs", 0, "Design, manufacture and installation of steel doors and windows", -75, True),
            ("sgs", 1, "Warehousing and distribution", -8, False),
        )
        for code, site_index, scope, recert_offset, recertify in plans:
            body = bodies.get(code) or next(iter(bodies.values()))
            body_profile = profile(body)
            rules = body_profile.programme
            # a decision date whose cycle puts the recertification audit at today + recert_offset
            decision = self.today + dt.timedelta(days=recert_offset + 30)
            for _ in range(3):
                dates = cycles.cycle_dates(decision, rules)
                shift = (self.today + dt.timedelta(days=recert_offset + 30) - dates.recertification_due).days
                decision += dt.timedelta(days=shift)
            dates = cycles.cycle_dates(decision, rules)
            site_id, site_name, _site_code = self.sites[min(site_index, len(self.sites) - 1)]
            applied = decision - dt.timedelta(days=170)
            mgr, qo = (
                self.people.demo.get("manager", self.pick("manager")),
                self.people.demo.get("quality", self.pick("quality_officer")),
            )
            cert_id = self.w.new_id("certifications")
            stage1 = applied + dt.timedelta(days=60)
            stage2 = stage1 + dt.timedelta(days=45)
            number = f"{code.upper()}-QMS-{self.rng.randrange(1000, 9999)}"
            events: list[tuple[str, dt.datetime, int, dict[str, Any]]] = [
                (
                    "record_contract",
                    _at(applied + dt.timedelta(days=14), self.rng),
                    mgr,
                    {
                        "signed_on": applied + dt.timedelta(days=14),
                        "contract_reference": f"{code.upper()}/C/{cert_id:04d}",
                    },
                ),
                ("start_stage1", _at(stage1, self.rng), qo, {"audit_date": stage1}),
                ("ready_for_stage2", _at(stage1 + dt.timedelta(days=10), self.rng), qo, {"audit_date": stage2}),
                (
                    "complete_stage2",
                    _at(stage2 + dt.timedelta(days=1), self.rng),
                    qo,
                    {"last_day": stage2 + dt.timedelta(days=1)},
                ),
                ("submit_response", _at(stage2 + dt.timedelta(days=25), self.rng), qo, {}),
                ("certify", _at(decision, self.rng), qo, {"decided_on": decision, "certificate_number": number}),
            ]
            audits = [
                (
                    "stage1",
                    stage1,
                    stage1,
                    [("observation", "7.5.1", "The quality manual does not list the exclusions.")],
                ),
                (
                    "stage2",
                    stage2,
                    stage2 + dt.timedelta(days=1),
                    [
                        ("minor", "7.5.3", "An obsolete work instruction was found at a workstation."),
                        ("observation", "9.1.2", "Satisfaction results are not yet trended by product line."),
                    ],
                ),
            ]
            for number_of, due in enumerate(dates.surveillance_due, start=1):
                day = due - dt.timedelta(days=25)
                events.append(("start_surveillance", _at(day, self.rng), qo, {"audit_date": day}))
                following = [d for d in (*dates.surveillance_due, dates.recertification_due) if d > due]
                next_due = following[0] if following else dates.recertification_due
                done_at = _at(day + dt.timedelta(days=12), self.rng)
                events.append(("complete_surveillance", done_at, qo, {"next_audit_due": next_due}))
                audits.append(
                    (
                        "surveillance",
                        day,
                        day + dt.timedelta(days=1),
                        [("minor", "8.4.1", f"Surveillance {number_of}: a supplier's evaluation was overdue.")],
                    )
                )
            recert_day = dates.recertification_due - dt.timedelta(days=30)
            events.append(("start_recertification", _at(recert_day, self.rng), qo, {"audit_date": recert_day}))
            audits.append(
                (
                    "recertification",
                    recert_day,
                    recert_day + dt.timedelta(days=2),
                    [("observation", "10.3", "Improvement projects could be tracked in one register.")],
                )
            )
            if recertify:
                new_decision = recert_day + dt.timedelta(days=20)
                events.append(
                    (
                        "recertify",
                        _at(new_decision, self.rng),
                        qo,
                        {"decided_on": new_decision, "certificate_number": number + "-R1"},
                    )
                )
            events = self.past(events)
            row = {
                "id": cert_id,
                "reference": self.reference("CERT", applied.year),
                "body_id": body.id,
                "standard_identifier": STANDARD,
                "scope": f"{scope} ({site_name})",
                "site_id": site_id,
                "owner_id": mgr,
                "applied_on": applied,
                "contract_reference": "",
                "contracted_on": None,
                "stage1_date": None,
                "stage2_date": None,
                "response_due": None,
                "certificate_number": "",
                "decided_on": None,
                "cycle_start": None,
                "expires_on": None,
                "next_audit_due": None,
                "status_reason": "",
                "lifecycle_version": self.lifecycles["certification"].version,
                "created_at": _at(applied, self.rng),
            }
            for name, _at_time, _actor, data in events:  # the effects of qms.services.certifications
                if name == "record_contract":
                    row.update(contracted_on=data["signed_on"], contract_reference=data["contract_reference"])
                elif name == "start_stage1":
                    row["stage1_date"] = data["audit_date"]
                elif name == "ready_for_stage2":
                    row["stage2_date"] = data["audit_date"]
                elif name == "complete_stage2":
                    row["response_due"] = data["last_day"] + dt.timedelta(days=rules.findings_response_days)
                elif name in ("certify", "recertify"):
                    if name == "recertify":
                        cycle = cycles.recertified_cycle(row["expires_on"], data["decided_on"], rules)
                    else:
                        cycle = cycles.cycle_dates(data["decided_on"], rules)
                    row.update(
                        decided_on=data["decided_on"],
                        certificate_number=data["certificate_number"],
                        cycle_start=cycle.cycle_start,
                        expires_on=cycle.expires_on,
                        next_audit_due=cycle.surveillance_due[0]
                        if cycle.surveillance_due
                        else cycle.recertification_due,
                    )
                elif name == "complete_surveillance":
                    row["next_audit_due"] = data["next_audit_due"]
            row["state"] = self.history("certification", cert_id, events)
            row["version"] = 1 + len(events)
            row["updated_at"] = events[-1][1]
            self.w.add("certifications", row)
            process = next((p for p in self.processes if p["site_id"] == site_id), self.processes[0])
            for kind, start_day, end_day, findings in audits:
                if start_day > self.today:
                    continue
                audit_id = self.w.new_id("external_audits")
                self.w.add(
                    "external_audits",
                    {
                        "id": audit_id,
                        "certification_id": cert_id,
                        "kind": kind,
                        "start_date": start_day,
                        "end_date": min(end_day, self.today),
                        "lead_auditor": self.rng.choice(("Jane Mwangi", "Peter Okello", "Fatou Ndiaye")),
                        "body_reference": f"{code.upper()}/{kind.upper()}/{cert_id:04d}",
                        "outcome": "Recommended."
                        if kind in ("stage2", "recertification")
                        else "Certificate maintained.",
                        "recorded_by_id": qo,
                        "recorded_at": _at(min(end_day, self.today), self.rng),
                    },
                )
                for index, (severity, clause, description) in enumerate(findings, start=1):
                    grade = next((g for g in body_profile.severity_scale if g.nc_severity == severity), None)
                    if grade is None or not standard.has_clause(clause):
                        continue
                    raised = min(end_day, self.today)
                    nc_id = None
                    if grade.raises_nonconformity:
                        nc_id, _closed = self.nonconformity(
                            raised,
                            kind="full",
                            source="external_audit",
                            process=process,
                            raised_by=qo,
                            title=f"{body.name} {kind.upper()}-{index:02d}: {description}",
                            description=(
                                f"Finding of the {kind} audit by {body.name}, graded {grade.label}.\n\n{description}"
                            ),
                            clause=clause,
                            severity=severity,
                        )
                    self.w.add(
                        "external_findings",
                        {
                            "id": self.w.new_id("external_findings"),
                            "external_audit_id": audit_id,
                            "body_reference": f"{kind.upper()}-{index:02d}",
                            "grade": grade.code,
                            "grade_label": grade.label,
                            "clause_number": clause,
                            "clause_urn": standard.clause(clause).urn,
                            "description": description,
                            "response_due": raised + dt.timedelta(days=grade.response_days)
                            if grade.response_days is not None
                            else None,
                            "nonconformity_id": nc_id,
                        },
                    )
        self.w.flush("external_findings")
