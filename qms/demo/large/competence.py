"""The large organisation's competence and training: job roles, a catalogue with requirements, every
person's profile and records (some expired or expiring, some missing: gaps), training sessions at every
stage with attendance and evaluations, and training needs for part of the gaps."""

from __future__ import annotations

import datetime as dt
from typing import Any

from workflows import get_lifecycle

from .common import HISTORY_DAYS, _at

#: job role → the share of people holding it (by weight), its competences and the level needed
_JOB_ROLES = (
    ("Customer service agent", 30, (("Complaint handling (ISO 10002)", "practitioner"),)),
    (
        "Social media officer",
        10,
        (("Social media customer care", "practitioner"), ("Complaint handling (ISO 10002)", "aware")),
    ),
    ("Production operator", 25, (("Machine safety", "practitioner"), ("Work instructions", "aware"))),
    ("Warehouse clerk", 12, (("Forklift operation", "practitioner"), ("Work instructions", "aware"))),
    ("Buyer", 6, (("Supplier evaluation", "practitioner"),)),
    ("Inspector", 7, (("Measurement and calibration", "practitioner"), ("Work instructions", "practitioner"))),
    ("Quality officer", 5, (("Document approval", "practitioner"), ("Internal auditing", "aware"))),
    ("Manager", 5, (("Risk-based thinking", "practitioner"),)),
)
_COMPETENCES = (
    ("Complaint handling (ISO 10002)", 24),
    ("Social media customer care", 12),
    ("Machine safety", 12),
    ("Work instructions", None),
    ("Forklift operation", 36),
    ("Supplier evaluation", 36),
    ("Measurement and calibration", 24),
    ("Document approval", None),
    ("Internal auditing", 36),
    ("Lead auditing (ISO 19011)", 36),
    ("Risk-based thinking", 36),
    ("First aid at work", 24),
)
_LEVELS = ("aware", "practitioner", "expert")
_PLATFORMS = ("facebook", "twitter", "whatsapp", "instagram")


def _months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, 28))


class _CompetencePhases:
    """The seeder's competence phase (a mixin of :class:`qms.demo.large._Seeder`)."""

    def competence(self) -> None:
        self.lifecycles["training_session"] = get_lifecycle("training_session")
        w, rng, today = self.w, self.rng, self.today
        competences: dict[str, tuple[int, int | None]] = {}
        for name, months in _COMPETENCES:
            competence_id = w.new_id("competences")
            competences[name] = (competence_id, months)
            w.add(
                "competences",
                {
                    "id": competence_id,
                    "name": name,
                    "description": f"{name}, as the organisation's procedures describe it",
                    "validity_months": months,
                    "evidence_aware": "Read the procedure",
                    "evidence_practitioner": "Training passed and observed at work",
                    "evidence_expert": "Trains others",
                    "active": True,
                    "created_at": self.now,
                },
            )
        admin = self.people.demo.get("admin") or next(iter(self.people.names))
        quality = self.people.demo.get("quality") or admin

        def require(competence: str, scope: str, level: str, target_id: int | None = None, key: str = "") -> None:
            w.add(
                "competence_requirements",
                {
                    "id": w.new_id("competence_requirements"),
                    "competence_id": competences[competence][0],
                    "scope": scope,
                    "target_id": target_id,
                    "target_key": key,
                    "level": level,
                    "created_by_id": quality,
                    "created_at": self.now,
                },
            )

        roles: list[tuple[int, int, tuple[tuple[str, str], ...]]] = []
        for name, weight, needs in _JOB_ROLES:
            role_id = w.new_id("job_roles")
            roles.append((role_id, weight, needs))
            w.add("job_roles", {"id": role_id, "name": name, "description": "", "active": True})
            for competence, level in needs:
                require(competence, "job_role", level, role_id)
        for platform in _PLATFORMS:
            require("Social media customer care", "platform", "practitioner", key=platform)
        require("Lead auditing (ISO 19011)", "audit_role", "practitioner", key="lead_auditor")
        require("Internal auditing", "audit_role", "practitioner", key="auditor")
        w.add(
            "competence_preconditions",
            {
                "id": w.new_id("competence_preconditions"),
                "assignment": "audit_lead",
                "target_key": "",
                "enabled_by_id": admin,
                "enabled_at": self.now,
            },
        )

        auditors = set(self.people.by_role.get("internal_auditor", []))
        held: dict[int, dict[str, tuple[str, dt.date | None]]] = {}
        social_role = roles[1][0]
        for user_id in sorted(self.people.names):
            role_id, _weight, needs = rng.choices(roles, weights=[r[1] for r in roles])[0]
            process = rng.choice(self.processes) if self.processes else None
            platforms = rng.sample(_PLATFORMS, rng.randint(1, 3)) if role_id == social_role else []
            w.add(
                "person_profiles",
                {
                    "user_id": user_id,
                    "job_role_id": role_id,
                    "site_id": process["site_id"] if process else None,
                    "process_id": process["id"] if process else None,
                    "platforms": platforms,
                    "updated_at": self.now,
                },
            )
            wanted = list(needs)
            if platforms:
                wanted.append(("Social media customer care", "practitioner"))
            if user_id in auditors:
                wanted += [("Internal auditing", "practitioner"), ("Lead auditing (ISO 19011)", "practitioner")]
            if rng.random() < 0.3:
                wanted.append(("First aid at work", "practitioner"))
            mine: dict[str, tuple[str, dt.date | None]] = {}
            for competence, level in wanted:
                chance = rng.random()
                if chance < 0.12:
                    continue  # a gap
                competence_id, months = competences[competence]
                achieved = self.start + dt.timedelta(days=rng.randrange(0, HISTORY_DAYS))
                if chance < 0.2 and months:
                    achieved = today - dt.timedelta(days=months * 30 + rng.randint(5, 200))  # lapsed
                elif chance < 0.26 and months:
                    achieved = today - dt.timedelta(days=months * 30 - rng.randint(5, 50))  # expiring
                expires = _months(achieved, months) if months else None
                grade = level if rng.random() < 0.8 else rng.choice(_LEVELS)
                mine[competence] = (grade, expires)
                w.add(
                    "competence_records",
                    {
                        "id": w.new_id("competence_records"),
                        "user_id": user_id,
                        "competence_id": competence_id,
                        "level": grade,
                        "source": rng.choice(("external", "assessment")),
                        "title": competence,
                        "provider": rng.choice(("In house", "KEBS", "Kenya Red Cross", "Digital Skills Kenya")),
                        "evidence": f"{competence}: certificate on file",
                        "achieved_on": achieved,
                        "expires_on": expires,
                        "training_session_id": None,
                        "recorded_by_id": quality,
                        "recorded_at": _at(achieved, rng),
                    },
                )
            held[user_id] = mine
            for competence, level in wanted:
                if competence not in mine and rng.random() < 0.5:
                    w.add(
                        "training_needs",
                        {
                            "id": w.new_id("training_needs"),
                            "user_id": user_id,
                            "competence_id": competences[competence][0],
                            "level": level,
                            "source": "gap",
                            "status": "open",
                            "reason": "Required by the job role",
                            "due_date": today + dt.timedelta(days=rng.randint(-20, 90)),
                            "raised_by_id": quality,
                            "created_at": self.now - dt.timedelta(days=rng.randint(1, 60)),
                        },
                    )
        self._training_sessions(competences, quality)

    def _training_sessions(self, competences: dict[str, tuple[int, int | None]], quality: int) -> None:
        w, rng = self.w, self.rng
        people = sorted(self.people.names)
        active = [u for role in self.people.by_role.values() for u in role]
        count = max(8, round(400 * self.factor))
        names = list(competences)
        for index in range(count):
            planned = self.start + dt.timedelta(days=round(index * HISTORY_DAYS / count))
            recent = count - 1 - index
            if recent < 3:  # the last ones: held a month ago, held ten days ago, and planned next week
                planned = self.today + dt.timedelta(days=(-36, -10, 7)[recent])
            competence = rng.choice(names)
            competence_id, months = competences[competence]
            session_id = w.new_id("training_sessions")
            method = rng.choice(("test", "observation", "manager_signoff"))
            after = 30
            invitees = sorted(set(rng.sample(active or people, min(len(active or people), rng.randint(3, 12)))))
            held_on = planned if planned < self.today else None
            evaluated_on = planned + dt.timedelta(days=after + rng.randint(0, 10)) if held_on else None
            if evaluated_on and evaluated_on >= self.today:
                evaluated_on = None
            events: list[tuple[str, dt.datetime, int, dict[str, Any]]] = []
            if held_on:
                events.append(("hold", _at(held_on, rng), quality, {"held_on": held_on}))
            if evaluated_on:
                events.append(("evaluate", _at(evaluated_on, rng), quality, {"evaluated_on": evaluated_on}))
                if evaluated_on < self.today - dt.timedelta(days=14):
                    events.append(("close", _at(evaluated_on + dt.timedelta(days=7), rng), quality, {}))
            state = self.history("training_session", session_id, events)
            w.add(
                "training_sessions",
                {
                    "id": session_id,
                    "reference": self.reference("TRN", planned.year),
                    "title": f"{competence} training",
                    "competence_id": competence_id,
                    "level": "practitioner",
                    "trainer_id": quality,
                    "trainer_name": "",
                    "external": False,
                    "planned_on": planned,
                    "location": "Training room",
                    "material_document_id": None,
                    "evaluation_method": method,
                    "evaluation_after_days": after,
                    "pass_mark": 70 if method == "test" else None,
                    "held_on": held_on,
                    "evaluation_due": held_on + dt.timedelta(days=after) if held_on else None,
                    "evaluated_on": evaluated_on,
                    "cancel_reason": "",
                    "notes": "",
                    "created_by_id": quality,
                    "closed_at": _at(evaluated_on + dt.timedelta(days=7), rng) if state == "closed" else None,
                    "state": state,
                    "lifecycle_version": self.lifecycles["training_session"].version,
                    "version": 1 + len(events),
                    "created_at": _at(planned - dt.timedelta(days=20), rng),
                    "updated_at": self.now,
                },
            )
            for user_id in invitees:
                attended = None if not held_on else rng.random() < 0.9
                score = effective = None
                if attended and evaluated_on:
                    if method == "test":
                        score = rng.randint(45, 100)
                        effective = score >= 70
                    else:
                        effective = rng.random() < 0.85
                w.add(
                    "training_attendance",
                    {
                        "id": w.new_id("training_attendance"),
                        "session_id": session_id,
                        "user_id": user_id,
                        "attended": attended,
                        "score": score,
                        "effective": effective,
                        "evaluation_note": "" if effective is None or method == "test" else "Observed at work",
                        "evaluated_by_id": quality if effective is not None else None,
                        "evaluated_at": _at(evaluated_on, rng) if effective is not None and evaluated_on else None,
                    },
                )
                if effective and evaluated_on and held_on:
                    w.add(
                        "competence_records",
                        {
                            "id": w.new_id("competence_records"),
                            "user_id": user_id,
                            "competence_id": competence_id,
                            "level": "practitioner",
                            "source": "training",
                            "title": f"{competence} training",
                            "provider": self.people.names.get(quality, ""),
                            "evidence": f"Training held {held_on}, evaluated effective",
                            "achieved_on": held_on,
                            "expires_on": _months(held_on, months) if months else None,
                            "training_session_id": session_id,
                            "recorded_by_id": quality,
                            "recorded_at": _at(evaluated_on, rng),
                        },
                    )
