"""The large organisation's audit programmes, internal audits, teams and checklists."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .common import STANDARD, _at, _spread
from .nonconformities import _NonconformityPhases


class _AuditPhases(_NonconformityPhases):
    """The programmes of every year and site, and their audits (findings raise NCs)."""

    def audits(self, target: int, answer_target: int) -> None:
        from ...services.audits import planned_dates

        rng = self.rng
        horizon = self.today + dt.timedelta(days=120)
        years = range(self.start.year, horizon.year + 1)

        def per_process(per_year: int, process: dict[str, Any]) -> int:
            return per_year if process["risk"] != "low" else max(1, per_year // 2)

        def slot_count(per_year: int) -> int:
            return sum(
                1
                for year in years
                for process in self.processes
                for begin, _end in planned_dates(year, per_process(per_year, process))
                if self.start <= begin <= horizon
            )

        per_year = 1  # how often each process is audited: the least that gives the target count
        while per_year < 12 and slot_count(per_year) < target:
            per_year += 1
        qo_lead = self.people.demo.get("quality", self.pick("quality_officer"))
        slots: list[tuple[dict[str, Any], int, int, dt.date, dt.date, int]] = []
        for year in years:
            for site_id, site_name, _code in self.sites:
                programme_id = self.w.new_id("audit_programmes")
                self.w.add(
                    "audit_programmes",
                    {
                        "id": programme_id,
                        "year": year,
                        "site_id": site_id,
                        "title": f"Internal audit programme {year} — {site_name}",
                        "standard_identifier": STANDARD,
                        "objectives": "Cover every process and clause in the year; high-risk processes more often.",
                        "created_by_id": qo_lead,
                        "created_at": _at(dt.date(year - 1, 12, 1), rng),
                    },
                )
                for process in (p for p in self.processes if p["site_id"] == site_id):
                    count = per_process(per_year, process)
                    self.w.add(
                        "audit_programme_entries",
                        {
                            "id": self.w.new_id("audit_programme_entries"),
                            "programme_id": programme_id,
                            "process_id": process["id"],
                            "risk": process["risk"],
                            "audits_per_year": count,
                            "duration_days": 1,
                        },
                    )
                    for number, (begin, end) in enumerate(planned_dates(year, count), start=1):
                        if self.start <= begin <= horizon:
                            slots.append((process, programme_id, number, begin, end, count))
        self.w.flush("audit_programme_entries")
        if len(slots) > target:
            keep = sorted(rng.sample(range(len(slots)), target))
            slots = [slots[i] for i in keep]
        conducted = sum(1 for s in slots if s[3] < self.today - dt.timedelta(days=14))
        per_audit = max(5, min(60, round(answer_target / max(1, conducted))))
        auditors = self.people.by_role["internal_auditor"]
        managers = self.people.by_role["manager"]
        for process, programme_id, number, begin, end, count in slots:
            self._audit(process, programme_id, number, begin, end, count, per_audit, auditors, managers)
        self.w.flush("checklist_items")

    def _audit(
        self,
        process: dict[str, Any],
        programme_id: int,
        number: int,
        begin: dt.date,
        end: dt.date,
        count: int,
        per_audit: int,
        auditors: list[int],
        managers: list[int],
    ) -> None:
        rng = self.rng
        audit_id = self.w.new_id("audits")
        lead = rng.choice(auditors)
        member = rng.choice([a for a in auditors if a != lead] or [lead])
        qo = self.pick("quality_officer")
        created = _at(dt.date(begin.year - 1, 12, 2), rng)
        age = (self.today - begin).days
        events: list[tuple[str, dt.datetime, int, dict[str, Any]]] = []
        sched = _at(begin - dt.timedelta(days=rng.randrange(20, 60)), rng)
        cancelled = rng.random() < 0.04
        events.append(("schedule", sched, qo, {"planned_start": begin, "planned_end": end}))
        if cancelled:
            events.append(("cancel", sched + dt.timedelta(days=rng.randrange(1, 15)), qo, {"reason": "Site shutdown."}))
        else:
            events.append(("prepare", _at(begin - dt.timedelta(days=rng.randrange(1, 10)), rng), lead, {}))
            started = _at(begin, rng)
            events.append(("start", started, lead, {}))
            slow = 6 if rng.random() < 0.06 else 1
            drafted = started + dt.timedelta(days=rng.randrange(2, 10) * slow)
            summary = "The process is effective; findings recorded on the checklist."
            events.append(("draft_report", drafted, lead, {"summary": summary}))
            approved = drafted + dt.timedelta(days=rng.randrange(1, 7) * slow)
            events.append(("approve_report", approved, rng.choice(managers), {}))
            follow = approved + dt.timedelta(days=rng.randrange(0, 3))
            events.append(("start_follow_up", follow, qo, {}))
            events.append(("close", follow + dt.timedelta(days=rng.randrange(20, 60) * slow), qo, {}))
        events = self.past(events)
        if events and events[0][0] == "schedule" and age < -30 and rng.random() < 0.5:
            events = []  # a later audit of the programme: not scheduled yet
        names = [e[0] for e in events]
        item_rows: list[dict[str, Any]] = []
        finding_ends = []
        if "prepare" in names or ("schedule" in names and "cancel" not in names and rng.random() < 0.5):
            questions = process["questions"][:per_audit]
            answering = "start" in names
            complete = "draft_report" in names
            started_at = next((e[1] for e in events if e[0] == "start"), None)
            finding_ends: list[dt.datetime | None] = []
            for position, (clause, urn, question) in enumerate(questions, start=1):
                item = {
                    "id": self.w.new_id("checklist_items"),
                    "audit_id": audit_id,
                    "position": position,
                    "standard_identifier": STANDARD,
                    "clause_number": clause,
                    "clause_urn": urn,
                    "question": question,
                    "result": None,
                    "notes": "",
                    "answered_by_id": None,
                    "answered_at": None,
                    "nonconformity_id": None,
                    "revision": 0,
                }
                if answering and started_at is not None and (complete or rng.random() < 0.5):
                    result = _spread(
                        rng,
                        1,
                        (
                            ("conforming", 850),
                            ("ofi", 60),
                            ("observation", 40),
                            ("not_applicable", 30),
                            ("minor", 16),
                            ("major", 4),
                        ),
                    )[0]
                    answered_at = min(started_at + dt.timedelta(hours=rng.uniform(0.5, 30)), self.now)
                    notes = "Records sampled; complete." if result == "conforming" else f"Evidence for {clause} seen."
                    item.update(result=result, notes=notes, answered_by_id=lead, answered_at=answered_at, revision=1)
                    if result in ("major", "minor"):
                        title = f"AUD finding {clause}: {question}"[:200]
                        item["nonconformity_id"], nc_closed = self.nonconformity(
                            answered_at.date(),
                            kind="full",
                            source="internal_audit",
                            process=process,
                            raised_by=lead,
                            title=title,
                            description=f"Raised by internal audit.\n\nQuestion: {question}\n\nEvidence: {notes}",
                            clause=clause,
                            severity=result,
                        )
                        finding_ends.append(nc_closed)
                item_rows.append(item)
        if names and names[-1] == "close" and finding_ends:
            # the audit closes only once the NCs it raised are closed
            if None in finding_ends:
                events.pop()
            else:
                close_at = max(events[-1][1], *finding_ends) + dt.timedelta(days=1)
                if close_at > self.now:
                    events.pop()
                else:
                    events[-1] = ("close", close_at, events[-1][2], {})
            names = [e[0] for e in events]
        summary = next((e[3]["summary"] for e in events if e[0] == "draft_report"), "")
        approved_at = next((e[1] for e in events if e[0] == "approve_report"), None)
        closed_at = next((e[1] for e in events if e[0] in ("close", "cancel")), None)
        row = {
            "id": audit_id,
            "reference": self.reference("AUD", begin.year),
            "kind": "internal",
            "title": f"{process['name']} — audit {number} of {count} ({begin.year})"[:200],
            "programme_id": programme_id,
            "site_id": process["site_id"],
            "process_id": process["id"],
            "standard_identifier": STANDARD,
            "clause_numbers": process["clauses"],
            "objectives": "Conformity and effectiveness of the process.",
            "scope": f"The {process['name']} process",
            "criteria": "ISO 9001:2015",
            "planned_start": begin,
            "planned_end": end,
            "actual_start": begin if "start" in names else None,
            "actual_end": end if "draft_report" in names else None,
            "lead_auditor_id": lead if events or rng.random() < 0.5 else None,
            "summary": summary,
            "report_approved_at": approved_at,
            "cancel_reason": "Site shutdown." if "cancel" in names else "",
            "created_by_id": qo,
            "closed_at": closed_at,
            "lifecycle_version": self.lifecycles["internal_audit"].version,
            "version": 1 + len(events),
            "created_at": created,
            "updated_at": events[-1][1] if events else created,
        }
        row["state"] = self.history("internal_audit", audit_id, events) if events else "planned"
        self.w.add("audits", row)
        if row["lead_auditor_id"] is not None and member != lead:
            self.w.add(
                "audit_team_members",
                {"id": self.w.new_id("audit_team_members"), "audit_id": audit_id, "user_id": member, "role": "auditor"},
            )
        for item in item_rows:
            self.w.add("checklist_items", item)
