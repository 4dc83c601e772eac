"""A large organisation with three years of history, bulk-loaded (``qms seed-demo --scale large``).

The small demo (:mod:`qms.demo`) goes through the services; at this size that would take
hours, so this module writes rows with SQLAlchemy Core ``insert()`` in chunks instead.  What the
services would have written is reproduced by construction:

* every workflow record's life is planned as a timeline of events that respect the lifecycle's
  order and guards (an NC plans actions only with a corrective action, closes only when they are
  verified, an audit drafts its report only when every question is answered…), then cut at
  *now*: old records end closed, recent ones stop at every stage, slow ones are overdue;
* each fired event becomes a ``transition_history`` row (with its signature for signed events),
  so the last row's ``to_state`` is the record's state;
* references continue from the counters (``reference_counters``), the document search index is
  filled in one statement, PostgreSQL sequences are advanced, and ONE audit-trail entry records
  the bulk load itself (the per-row trail is written by the ORM flush, which Core bypasses).

Everything is written in one transaction: a failure leaves the database as it was.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import math
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, Table, func, select, text
from sqlalchemy.engine import Connection

from standards import cycle as cycles
from workflows import get_lifecycle

from ..database import begin_write, db, utcnow
from . import _SURVEY_QUESTIONS, DEMO_PASSWORD, DEMO_USERS

#: the counts at factor 1.0 (issue 8: "a believable organisation with 3 years of history")
FULL_SIZE = {
    "users": 500,
    "nonconformities": 100_000,
    "corrective_actions": 20_000,
    "audits": 5_000,
    "checklist_answers": 200_000,
    "documents": 10_000,
    "document_revisions": 50_000,
    "survey_responses": 50_000,
}
HISTORY_DAYS = 3 * 365
CHUNK = 5_000
STANDARD = "iso-9001-2015"

#: tables in foreign-key order: flushing one table first flushes every table before it
TABLE_ORDER = (
    "users",
    "user_roles",
    "sites",
    "processes",
    "audit_programmes",
    "audit_programme_entries",
    "certifications",
    "external_audits",
    "nonconformities",
    "external_findings",
    "corrective_actions",
    "audits",
    "audit_team_members",
    "checklist_items",
    "documents",
    "document_revisions",
    "surveys",
    "survey_questions",
    "survey_responses",
    "survey_answers",
    "transition_history",
)


class SeedRefused(Exception):
    """The database is not empty (or the arguments are wrong): nothing was written."""


# --------------------------------------------------------------------------- writing


class _Writer:
    """Buffers rows per table and inserts them in chunks with Core ``insert()`` (executemany)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.tables: dict[str, Table] = {name: db.metadata.tables[name] for name in TABLE_ORDER}
        self.buffers: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLE_ORDER}
        self.counts: dict[str, int] = dict.fromkeys(TABLE_ORDER, 0)
        self._next_id: dict[str, int] = {}
        for name in TABLE_ORDER:
            if "id" in self.tables[name].c:
                top = conn.execute(select(func.max(self.tables[name].c.id))).scalar()
                self._next_id[name] = (top or 0) + 1

    def new_id(self, table: str) -> int:
        value = self._next_id[table]
        self._next_id[table] = value + 1
        return value

    def add(self, table: str, row: dict[str, Any]) -> None:
        buffer = self.buffers[table]
        buffer.append(row)
        if len(buffer) >= CHUNK:
            self.flush(table)

    def flush(self, upto: str | None = None) -> None:
        """Write the buffered rows of ``upto`` and of every table it may refer to (all when None)."""
        for name in TABLE_ORDER:
            rows = self.buffers[name]
            if rows:
                if self.conn.dialect.name == "postgresql":
                    self._copy(self.tables[name], rows)
                else:
                    # executemany needs one key set per statement (columns left out take their defaults)
                    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
                    for row in rows:
                        groups[tuple(row)].append(row)
                    for group in groups.values():
                        self.conn.execute(self.tables[name].insert(), group)
                self.counts[name] += len(rows)
                self.buffers[name] = []
            if name == upto:
                return

    def _copy(self, table: Table, rows: list[dict[str, Any]]) -> None:
        """PostgreSQL ``COPY … FROM STDIN`` on the session's own connection (same transaction).

        COPY applies no Python-side column defaults, so every column gets a value: the row's, or
        the column's scalar default, or NULL.
        """
        from psycopg.types.json import Json

        columns = list(table.c)
        defaults = {}
        for column in columns:
            default = column.default
            defaults[column.name] = default.arg if default is not None and default.is_scalar else None
            if default is not None and default.is_callable:
                defaults[column.name] = functools.partial(default.arg, None)  # SQLAlchemy wraps fn() as fn(ctx)
        json_columns = {c.name for c in columns if isinstance(c.type, JSON)}
        names = ", ".join(f'"{c.name}"' for c in columns)
        cursor = self.conn.connection.driver_connection.cursor()
        with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                values = []
                for column in columns:
                    key = column.name
                    if key in row:
                        value = row[key]
                    else:
                        value = defaults[key]
                        value = value() if callable(value) else value
                    if key in json_columns and value is not None:
                        value = Json(value)
                    values.append(value)
                copy.write_row(values)


# --------------------------------------------------------------------------- names and texts

_FIRST = (
    "Amani",
    "Baraka",
    "Chiku",
    "Daudi",
    "Esther",
    "Faith",
    "Grace",
    "Hassan",
    "Imani",
    "Joseph",
    "Kamau",
    "Lina",
    "Mwangi",
    "Njeri",
    "Otieno",
    "Pendo",
    "Rehema",
    "Salim",
    "Tumaini",
    "Wanjiru",
    "Yusuf",
    "Zawadi",
    "Abdi",
    "Beatrice",
    "Collins",
    "Dorcas",
    "Edwin",
    "Fatuma",
    "Gideon",
    "Halima",
    "Irene",
    "James",
    "Kevin",
    "Lucy",
    "Mercy",
    "Nelson",
    "Oscar",
    "Priscilla",
    "Ruth",
    "Samuel",
    "Teresa",
    "Victor",
    "Winnie",
    "Aisha",
    "Brian",
    "Caroline",
)
_LAST = (
    "Achieng",
    "Bett",
    "Cheruiyot",
    "Dlamini",
    "Eze",
    "Farah",
    "Gitau",
    "Haile",
    "Ibrahim",
    "Jama",
    "Kariuki",
    "Langat",
    "Mensah",
    "Nkosi",
    "Odhiambo",
    "Pretorius",
    "Quaye",
    "Rotich",
    "Said",
    "Tesfaye",
    "Uwimana",
    "Vilakazi",
    "Wekesa",
    "Yeboah",
    "Zulu",
    "Adeyemi",
    "Banda",
    "Chege",
    "Diallo",
    "Essien",
)
_SITES = (
    ("Nairobi plant", "NBO"),
    ("Mombasa depot", "MBA"),
    ("Kampala branch", "KLA"),
    ("Dar es Salaam plant", "DAR"),
    ("Kigali office", "KGL"),
    ("Addis Ababa plant", "ADD"),
    ("Lusaka depot", "LUN"),
    ("Accra plant", "ACC"),
    ("Lagos plant", "LOS"),
    ("Johannesburg plant", "JNB"),
    ("Cairo office", "CAI"),
    ("Casablanca plant", "CAS"),
    ("Dakar depot", "DKR"),
    ("Abidjan plant", "ABJ"),
    ("Kinshasa depot", "FIH"),
    ("Maputo depot", "MPM"),
    ("Windhoek office", "WDH"),
    ("Gaborone office", "GBE"),
    ("Harare plant", "HRE"),
    ("Kisumu depot", "KIS"),
)
#: name, code, risk, clauses (ISO 9001:2015) addressed
_PROCESSES = (
    ("Production", "PROD", "high", ["7.1", "8.5", "8.6", "8.7"]),
    ("Purchasing", "PUR", "medium", ["8.4"]),
    ("Sales and customer service", "SAL", "medium", ["8.2", "9.1"]),
    ("Quality management", "QM", "low", ["4.4", "6.1", "7.5", "9.2", "9.3", "10.2"]),
    ("Human resources", "HR", "low", ["7.1", "7.2", "7.3"]),
    ("Design and development", "DES", "high", ["8.3"]),
    ("Warehousing and dispatch", "WH", "medium", ["8.5.4", "8.5.5", "8.7"]),
    ("Maintenance", "MNT", "medium", ["7.1.3", "7.1.4", "7.1.5"]),
    ("Inspection and testing", "QC", "high", ["8.6", "8.7", "7.1.5"]),
    ("Leadership and planning", "LEAD", "low", ["5", "6.2", "6.3"]),
    ("Customer complaints", "CC", "medium", ["9.1.2", "10.2", "8.2.1"]),
    ("Document control", "DOC", "low", ["7.5"]),
)
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
_DOC_TYPES = (
    ("procedure", 30),
    ("work_instruction", 35),
    ("form", 18),
    ("record", 6),
    ("policy", 2),
    ("manual", 1),
    ("external", 8),
)
_DOC_SUBJECTS = (
    "Control of nonconforming output",
    "Calibration of measuring equipment",
    "Incoming inspection",
    "Supplier evaluation",
    "Handling customer complaints",
    "Internal audit",
    "Management review",
    "Training and competence",
    "Control of documented information",
    "Design review",
    "Preventive maintenance",
    "Order review",
    "Product identification and traceability",
    "Packaging and dispatch",
    "Corrective action",
    "Risk assessment",
    "Change control",
    "Final inspection",
    "Customer property",
    "Monitoring customer satisfaction",
)
_DOC_CLAUSES = ("8.7", "7.1.5", "8.4", "8.4.1", "9.1.2", "9.2", "9.3", "7.2", "7.5", "8.3.4", "7.1.3")


def _spread(rng: random.Random, n: int, weights: Iterable[tuple[Any, int]]) -> list[Any]:
    values, w = zip(*weights, strict=True)
    return rng.choices(values, weights=w, k=n)


def _label(index: int) -> str:
    """A, B, … Z, AA … for the 1-based ``index`` (as ``add_revision`` labels revisions)."""
    label = ""
    while index:
        index, rest = divmod(index - 1, 26)
        label = chr(65 + rest) + label
    return label


def _at(day: dt.date, rng: random.Random) -> dt.datetime:
    """A working-hours moment on ``day`` (UTC)."""
    return dt.datetime(day.year, day.month, day.day, 7, 0, tzinfo=dt.UTC) + dt.timedelta(
        minutes=rng.randrange(0, 9 * 60)
    )


# --------------------------------------------------------------------------- the seeder


@dataclass
class _People:
    by_role: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    names: dict[int, str] = field(default_factory=dict)
    demo: dict[str, int] = field(default_factory=dict)


class _Seeder:
    def __init__(self, conn: Connection, factor: float, progress: Callable[[str], None], seed: int) -> None:
        self.conn = conn
        self.factor = factor
        self.progress = progress
        self.rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
        self.w = _Writer(conn)
        self.now = utcnow()
        self.today = self.now.date()
        self.start = self.today - dt.timedelta(days=HISTORY_DAYS)
        self.people = _People()
        self.counters: dict[str, int] = defaultdict(int)
        self.lifecycles = {
            name: get_lifecycle(name)
            for name in ("nonconformity", "corrective_action", "internal_audit", "document", "survey", "certification")
        }
        self.sites: list[tuple[int, str, str]] = []
        self.processes: list[dict[str, Any]] = []
        self.actions_made = 0

    # -- helpers ----------------------------------------------------------------------------

    def n(self, key: str, minimum: int = 1) -> int:
        return max(minimum, round(FULL_SIZE[key] * self.factor))

    def reference(self, prefix: str, year: int) -> str:
        key = f"{prefix}-{year}"
        self.counters[key] += 1
        return f"{key}-{self.counters[key]:04d}"

    def pick(self, role: str) -> int:
        return self.rng.choice(self.people.by_role[role])

    def history(
        self,
        lifecycle: str,
        record_id: int,
        events: list[tuple[str, dt.datetime, int, dict[str, Any]]],
    ) -> str:
        """History rows for ``events`` (name, when, actor, data) fired in order; returns the final state."""
        lc = self.lifecycles[lifecycle]
        state = lc.initial
        for name, at, actor, data in events:
            event = lc.event(name)
            if state not in event.sources:
                raise AssertionError(f"{lifecycle} {record_id}: {name} cannot fire from {state}")
            self.w.add(
                "transition_history",
                {
                    "id": self.w.new_id("transition_history"),
                    "lifecycle": lifecycle,
                    "lifecycle_version": lc.version,
                    "record_id": record_id,
                    "event": name,
                    "from_state": state,
                    "to_state": event.dest,
                    "actor_id": actor,
                    "actor_name": self.people.names[actor],
                    "at": at,
                    "comment": "",
                    "data": {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in data.items()},
                    "signature_meaning": event.signature,
                    "signed_by_name": self.people.names[actor] if event.signature else None,
                    "signed_at": at if event.signature else None,
                },
            )
            state = event.dest
        return state

    def past(self, events: list[tuple[str, dt.datetime, int, dict[str, Any]]]) -> list:
        return [e for e in events if e[1] <= self.now]

    # -- phases -----------------------------------------------------------------------------

    def users(self) -> None:
        from ..services.users import hash_password

        password_hash = hash_password(DEMO_PASSWORD)  # once: Argon2 is slow on purpose
        total = max(self.n("users", 20), len(DEMO_USERS) + 12)
        extra = total - len(DEMO_USERS)
        share = (("process_owner", 30), ("internal_auditor", 12), ("quality_officer", 6), ("manager", 5))
        roles: list[str] = []
        for role, percent in share:
            roles += [role] * max(2, extra * percent // 100)
        roles += ["admin"]
        roles += ["viewer"] * max(1, extra - len(roles))
        roles = roles[:extra]
        rows = [(email, name, list(r)) for email, name, r in DEMO_USERS]
        used: set[str] = set()
        for index, role in enumerate(roles):
            first, last = self.rng.choice(_FIRST), self.rng.choice(_LAST)
            email = f"{first}.{last}".lower()
            if email in used:
                email = f"{email}{index}"
            used.add(email)
            rows.append((f"{email}@example.com", f"{first} {last}", [role]))
        for index, (email, name, user_roles) in enumerate(rows):
            user_id = self.w.new_id("users")
            created = self.start - dt.timedelta(days=30) if index < len(DEMO_USERS) else None
            if created is None:
                created = self.start + dt.timedelta(days=self.rng.randrange(0, HISTORY_DAYS // 2))
            inactive = user_roles == ["viewer"] and index % 25 == 0
            self.w.add(
                "users",
                {
                    "id": user_id,
                    "email": email,
                    "name": name,
                    "password_hash": password_hash,
                    "active": not inactive,
                    "created_at": _at(created, self.rng),
                },
            )
            for role in user_roles:
                self.w.add("user_roles", {"user_id": user_id, "role": role})
                if not inactive:
                    self.people.by_role[role].append(user_id)
            self.people.names[user_id] = name
            if index < len(DEMO_USERS):
                self.people.demo[email.split("@")[0]] = user_id
        self.w.flush("user_roles")

    def sites_and_processes(self) -> None:
        from ..services.standards import find_standard

        n_sites = max(2, round(len(_SITES) * min(1.0, self.factor * 20)))
        n_per_site = len(_PROCESSES) if self.factor >= 0.05 else 4
        standard = find_standard(STANDARD)
        from ..services.audits import checklist_questions

        general = checklist_questions(standard, [])
        for name, code in _SITES[:n_sites]:
            site_id = self.w.new_id("sites")
            self.sites.append((site_id, name, code))
            self.w.add("sites", {"id": site_id, "name": name, "code": code, "address": f"{name}, head office road"})
            for pname, pcode, risk, clauses in _PROCESSES[:n_per_site]:
                process_id = self.w.new_id("processes")
                owner = self.pick("process_owner")
                own = checklist_questions(standard, clauses)
                seen = {q for _, _, q in own}
                pool = own + [row for row in general if row[2] not in seen]
                self.processes.append(
                    {
                        "id": process_id,
                        "name": f"{pname} — {name}",
                        "short": pname,
                        "code": f"{pcode}-{code}",
                        "site_id": site_id,
                        "site": name,
                        "owner_id": owner,
                        "risk": risk,
                        "clauses": clauses,
                        "questions": pool,
                    }
                )
                self.w.add(
                    "processes",
                    {
                        "id": process_id,
                        "name": f"{pname} — {name}",
                        "code": f"{pcode}-{code}",
                        "description": f"The {pname.lower()} process at the {name}.",
                        "site_id": site_id,
                        "owner_id": owner,
                        "risk": risk,
                        "clause_numbers": clauses,
                    },
                )
        self.w.flush("processes")

    # -- nonconformities --------------------------------------------------------------------

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
                    mgr,
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

    # -- internal audits --------------------------------------------------------------------

    def audits(self, target: int, answer_target: int) -> None:
        from ..services.audits import planned_dates

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

    # -- documents --------------------------------------------------------------------------

    def documents(self, target: int, revision_target: int) -> None:
        from ..services.attachments import store_file
        from ..services.documents import numbering_pattern, process_code
        from ..services.text_extraction import extract_text

        rng = self.rng
        session = db.session()
        files = []
        for subject in _DOC_SUBJECTS:
            for variant in range(3):
                body = (
                    f"{subject}\n\n1 Purpose\nThis document describes how we carry out {subject.lower()}.\n"
                    f"2 Scope\nAll sites and processes of the organisation (issue {variant + 1}).\n"
                    "3 Responsibilities\nThe process owner maintains this document; the quality officer "
                    "checks that it is followed.\n4 Method\nPlan the work, record the results on the form, "
                    "review them monthly and raise a nonconformity when a requirement is not met.\n"
                    "5 Records\nKept for three years in the document system.\n"
                )
                data = body.encode()
                stored = store_file(io.BytesIO(data), f"{subject.lower().replace(' ', '-')}-{variant + 1}.txt")
                files.append((stored, extract_text(data, stored.content_type)))
        patterns = {doc_type: numbering_pattern(session, doc_type) for doc_type, _ in _DOC_TYPES}
        per_doc = max(1.0, revision_target / target)
        authors = self.people.by_role["process_owner"] + self.people.by_role["quality_officer"]
        approvers = self.people.by_role["quality_officer"] + self.people.by_role["manager"]
        doc_types = _spread(rng, target, _DOC_TYPES)
        report_every = max(1, target // 5)
        for index, doc_type in enumerate(doc_types):
            process = rng.choice(self.processes)
            subject = rng.choice(_DOC_SUBJECTS)
            pattern = patterns[doc_type]
            created_day = self.start + dt.timedelta(days=rng.randrange(0, HISTORY_DAYS - 20))
            values = {"process": process_code(process["name"]), "year": created_day.year}
            prefix = pattern.split("{seq", 1)[0].format(**values)
            self.counters[f"DOC:{prefix}"] += 1
            number = pattern.format(seq=self.counters[f"DOC:{prefix}"], **values)
            document_id = self.w.new_id("documents")
            owner = process["owner_id"]
            period = rng.choice((12, 24, 24, 36))
            document = {
                "id": document_id,
                "number": number,
                "title": f"{subject} — {process['short']}"[:200],
                "doc_type": doc_type,
                "owner_id": owner,
                "process": process["name"],
                "clause_refs": [rng.choice(_DOC_CLAUSES)],
                "review_period_months": period,
                "confidentiality": rng.choice(("internal", "internal", "internal", "public", "confidential")),
                "next_review_due": None,
                "created_at": _at(created_day, rng),
                "created_by_id": owner,
                "obsolete": False,
            }
            planned = max(1, min(2 * round(per_doc) - 1, round(rng.triangular(1, 2 * per_doc - 1, per_doc))))
            gap = (self.today - created_day).days / planned
            obsolete = rng.random() < 0.02
            revisions: list[tuple[dict[str, Any], list]] = []
            t = document["created_at"]
            current: tuple[dict[str, Any], list] | None = None
            for number_of in range(1, planned + 1):
                if t > self.now:
                    break
                stored, body = rng.choice(files)
                author = rng.choice(authors)
                approver = rng.choice([a for a in approvers if a != author])
                revision = {
                    "id": self.w.new_id("document_revisions"),
                    "document_id": document_id,
                    "label": _label(number_of),
                    "change_summary": "First issue." if number_of == 1 else "Updated after review.",
                    "author_id": author,
                    "filename": stored.filename,
                    "content_type": stored.content_type,
                    "size": stored.size,
                    "sha256": stored.sha256,
                    "extracted_text": body,
                    "approved_by_id": None,
                    "approved_at": None,
                    "effective_date": None,
                    "superseded_at": None,
                    "retired_reason": "",
                    "review_comments": [],
                    "lifecycle_version": self.lifecycles["document"].version,
                    "created_at": t,
                }
                events = []
                submit = t + dt.timedelta(days=rng.uniform(1, 10))
                events.append(("submit_for_review", submit, author, {"change_summary": revision["change_summary"]}))
                if rng.random() < 0.1:
                    back = submit + dt.timedelta(days=rng.uniform(1, 5))
                    comments = "Please add the records to keep."
                    events.append(("request_changes", back, approver, {"comments": comments}))
                    submit = back + dt.timedelta(days=rng.uniform(1, 5))
                    events.append(("submit_for_review", submit, author, {"change_summary": revision["change_summary"]}))
                approved = submit + dt.timedelta(days=rng.uniform(1, 7))
                events.append(("approve", approved, approver, {}))
                effective = approved + dt.timedelta(days=rng.uniform(0, 14))
                events.append(("make_effective", effective, approver, {"effective_date": effective.date()}))
                events = self.past(events)
                for name, at, actor, data in events:
                    if name == "request_changes":
                        revision["review_comments"] = [
                            {"by": self.people.names[actor], "at": at.isoformat(), "comments": data["comments"]}
                        ]
                    elif name == "approve":
                        revision.update(approved_by_id=actor, approved_at=at)
                    elif name == "make_effective":
                        revision["effective_date"] = data["effective_date"]
                        if current is not None:  # the one in force is superseded in the same transaction
                            old, old_events = current
                            old_events.append(("supersede", at, actor, {"superseded_by": revision["label"]}))
                            old["superseded_at"] = at
                        document["next_review_due"] = _add_months(data["effective_date"], period)
                        current = (revision, events)
                revisions.append((revision, events))
                if not events or events[-1][0] != "make_effective":
                    break  # still in work: nothing comes after it yet
                t = max(effective + dt.timedelta(days=1), document["created_at"] + dt.timedelta(days=gap * number_of))
            if current is not None:
                revision, events = current
                due = document["next_review_due"]
                last = events[-1][1]
                ending = last + dt.timedelta(days=rng.uniform(30, 300))
                if obsolete and ending <= self.now and current[0] is revisions[-1][0]:
                    reason = "Process discontinued."
                    events.append(("make_obsolete", ending, rng.choice(approvers), {"reason": reason}))
                    revision.update(retired_reason=reason, superseded_at=ending)
                    document.update(obsolete=True, next_review_due=None)
                elif current[0] is revisions[-1][0] and due < self.today - dt.timedelta(days=30) and rng.random() < 0.5:
                    events.append(("mark_review_due", _at(due, rng), rng.choice(approvers), {}))
            self.w.add("documents", document)
            for revision, events in revisions:
                revision["state"] = self.history("document", revision["id"], events) if events else "draft"
                revision["version"] = 1 + len(events)
                revision["updated_at"] = events[-1][1] if events else revision["created_at"]
                self.w.add("document_revisions", revision)
            if (index + 1) % report_every == 0:
                self.progress(f"  documents: {index + 1:,} of {target:,}")
        self.w.flush("document_revisions")

    # -- surveys ----------------------------------------------------------------------------

    def surveys(self, target: int) -> None:
        import secrets

        rng = self.rng
        n_surveys = max(2, min(12, round(12 * min(1.0, self.factor * 50))))
        span = HISTORY_DAYS // n_surveys
        per_survey = max(1, target // n_surveys)
        channels = ("whatsapp", "phone", "email", "facebook", "walk_in", "web_form")
        for k in range(n_surveys):
            opens = self.start + dt.timedelta(days=k * span + 1)
            closes = opens + dt.timedelta(days=span - 2)
            if k == n_surveys - 1:
                closes = self.today + dt.timedelta(days=45)  # the current survey is collecting responses
            survey_id = self.w.new_id("surveys")
            qo, mgr = self.pick("quality_officer"), self.pick("manager")
            created = _at(opens - dt.timedelta(days=7), rng)
            events = [("open", _at(opens, rng), qo, {"closes_on": closes})]
            events.append(("close", _at(closes + dt.timedelta(days=1), rng), qo, {}))
            summary = "NPS and satisfaction by branch compared with the previous survey; verbatims grouped."
            events.append(
                ("analyse", _at(closes + dt.timedelta(days=8), rng), qo, {"method": "nps", "summary": summary})
            )
            events.append(("report", _at(closes + dt.timedelta(days=15), rng), mgr, {"distribution": ["Management"]}))
            events = self.past(events)
            names = [e[0] for e in events]
            quarter = (opens.month - 1) // 3 + 1
            row = {
                "id": survey_id,
                "reference": self.reference("SUR", created.year),
                "title": f"Customer satisfaction survey {opens.year} Q{quarter}",
                "introduction": "Five minutes of your time helps us serve you better. Thank you!",
                "service": "Customer service",
                "public_token": secrets.token_urlsafe(24),
                "invitation_only": False,
                "closes_on": closes,
                "owner_id": qo,
                "nps_threshold": -10.0,
                "drop_threshold": 25.0,
                "rule_action": "nonconformity",
                "analysis_method": "nps" if "analyse" in names else "",
                "analysis": summary if "analyse" in names else "",
                "reported_at": next((e[1] for e in events if e[0] == "report"), None),
                "lifecycle_version": self.lifecycles["survey"].version,
                "version": 1 + len(events),
                "created_at": created,
                "updated_at": events[-1][1] if events else created,
            }
            row["state"] = self.history("survey", survey_id, events) if events else "draft"
            self.w.add("surveys", row)
            questions = []
            for position, question in enumerate(_SURVEY_QUESTIONS, start=1):
                question_id = self.w.new_id("survey_questions")
                questions.append((question_id, question))
                self.w.add(
                    "survey_questions",
                    {
                        "id": question_id,
                        "survey_id": survey_id,
                        "position": position,
                        "kind": question["kind"],
                        "text": question["text"],
                        "required": bool(question.get("required", False)),
                        "choices": list(question.get("choices", [])),
                        "dimension": question.get("dimension"),
                        "weight": float(question.get("weight", 1)),
                    },
                )
            if not events:
                continue
            last_day = min(closes, self.today)
            window = max(0, (last_day - opens).days)
            base = 7 + (k % 4) - (1 if k % 5 == 0 else 0)
            count = per_survey if k < n_surveys - 1 else target - per_survey * (n_surveys - 1)
            for i in range(count):
                responded = opens + dt.timedelta(days=rng.randint(0, window))
                response_id = self.w.new_id("survey_responses")
                self.w.add(
                    "survey_responses",
                    {
                        "id": response_id,
                        "survey_id": survey_id,
                        "responded_on": responded,
                        "submitted_at": min(_at(responded, rng), self.now),
                        "source": "import" if i % 10 == 0 else "web",
                        "service": "Customer service",
                        "channel": rng.choice(channels),
                    },
                )
                nps = max(0, min(10, round(rng.gauss(base, 2))))
                numbers = (nps, 1 + min(4, nps // 2), rng.randint(2, 5), rng.randint(3, 7), rng.randint(2, 7))
                for (question_id, _question), value in zip(questions, numbers, strict=False):
                    self.w.add(
                        "survey_answers",
                        {
                            "id": self.w.new_id("survey_answers"),
                            "response_id": response_id,
                            "question_id": question_id,
                            "number": float(value),
                            "text": "",
                            "choices": [],
                        },
                    )
                branch_id, branch = questions[5]
                self.w.add(
                    "survey_answers",
                    {
                        "id": self.w.new_id("survey_answers"),
                        "response_id": response_id,
                        "question_id": branch_id,
                        "number": None,
                        "text": "",
                        "choices": [rng.choice(branch["choices"])],
                    },
                )
                verbatim = ("Faster replies on WhatsApp please", "Friendly staff", "Delivery took too long")
                if rng.random() < 0.3:
                    self.w.add(
                        "survey_answers",
                        {
                            "id": self.w.new_id("survey_answers"),
                            "response_id": response_id,
                            "question_id": questions[6][0],
                            "number": None,
                            "text": rng.choice(verbatim),
                            "choices": [],
                        },
                    )
        self.w.flush("survey_answers")

    # -- certifications ---------------------------------------------------------------------

    def certifications(self) -> None:
        from ..models import CertificationBody
        from ..services.audit_trail import audit_context
        from ..services.certifications import ensure_bodies, profile
        from ..services.standards import find_standard

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

    # -- the end ----------------------------------------------------------------------------

    def counters_and_index(self, first_revision_id: int) -> None:
        from ..models import ReferenceCounter
        from ..services.search import ensure_search_index

        table = ReferenceCounter.__table__
        existing = dict(self.conn.execute(select(table.c.key, table.c.value)).all())
        for key, value in sorted(self.counters.items()):
            if key in existing:
                if value > existing[key]:
                    self.conn.execute(table.update().where(table.c.key == key).values(value=value))
            else:
                self.conn.execute(table.insert().values(key=key, value=value))
        ensure_search_index(self.conn)
        if self.conn.dialect.name == "postgresql":
            self.conn.execute(
                text(
                    "INSERT INTO document_search (revision_id, document_id, tsv) SELECT r.id, d.id,"
                    " setweight(to_tsvector('english', d.number || ' ' || d.title), 'A')"
                    " || setweight(to_tsvector('english', concat_ws(' ', d.process,"
                    "   (SELECT string_agg(c, ' ') FROM json_array_elements_text(d.clause_refs) AS c),"
                    "   r.label, r.change_summary)), 'B')"
                    " || setweight(to_tsvector('english', r.extracted_text), 'C')"
                    " FROM document_revisions r JOIN documents d ON d.id = r.document_id WHERE r.id >= :first"
                ),
                {"first": first_revision_id},
            )
        else:
            self.conn.execute(
                text(
                    "INSERT INTO document_search (rowid, revision_id, document_id, number, title, body)"
                    " SELECT r.id, r.id, d.id, d.number, d.title,"
                    " r.change_summary || char(10) || r.extracted_text || char(10) || d.process || char(10)"
                    " || coalesce((SELECT group_concat(value, ' ') FROM json_each(d.clause_refs)), '')"
                    " || char(10) || r.label"
                    " FROM document_revisions r JOIN documents d ON d.id = r.document_id WHERE r.id >= :first"
                ),
                {"first": first_revision_id},
            )

    def advance_sequences(self) -> None:
        """PostgreSQL: explicit ids do not move the sequences; set them past the highest id."""
        if self.conn.dialect.name != "postgresql":
            return
        for name in TABLE_ORDER:
            if "id" in self.w.tables[name].c:
                self.conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608 - our table names
                        f"(SELECT coalesce(max(id), 0) + 1 FROM {name}), false)"
                    )
                )


def _add_months(day: dt.date, months: int) -> dt.date:
    return cycles.add_months(day, months)


#: tables that must be empty before a large seed
_MUST_BE_EMPTY = ("users", "nonconformities", "documents", "audits", "surveys", "certifications")


def seed_large(
    factor: float = 1.0,
    *,
    progress: Callable[[str], None] = print,
    seed: int = 9001,
) -> dict[str, int]:
    """Bulk-load the large organisation into an empty, initialised database; returns rows per table.

    ``factor`` (0 < factor <= 1) scales every count down (tests use 0.002). Raises SeedRefused,
    having written nothing, when the database already holds data.
    """
    if not isinstance(factor, int | float) or isinstance(factor, bool) or not 0 < factor <= 1:
        raise SeedRefused("factor must be a number greater than 0 and at most 1")
    from ..services.audit_trail import AuditContext, append, canonical_json

    session = db.session()
    begin_write(session)
    conn = session.connection()
    found = {
        name: conn.execute(select(func.count()).select_from(db.metadata.tables[name])).scalar()
        for name in _MUST_BE_EMPTY
    }
    found = {name: count for name, count in found.items() if count}
    if found:
        session.rollback()
        listed = ", ".join(f"{count} {name}" for name, count in found.items())
        raise SeedRefused(f"The database already has data ({listed}); seed-demo needs an empty database.")
    began = time.perf_counter()
    seeder = _Seeder(conn, factor, progress, seed)

    def phase(title: str, work: Callable[[], None]) -> None:
        started = time.perf_counter()
        progress(f"{title}…")
        work()
        progress(f"{title}: done in {time.perf_counter() - started:.1f} s")

    try:
        phase("Users", seeder.users)
        phase("Sites and processes", seeder.sites_and_processes)
        phase("Certifications", seeder.certifications)
        phase(
            "Internal audits and checklists",
            lambda: seeder.audits(seeder.n("audits", 4), seeder.n("checklist_answers", 40)),
        )
        first_nc = seeder.w._next_id["nonconformities"]
        already = first_nc - 1
        phase(
            "Nonconformities and corrective actions",
            lambda: seeder.nonconformities(
                max(1, seeder.n("nonconformities", 20) - already), seeder.n("corrective_actions", 4)
            ),
        )
        first_revision = seeder.w._next_id["document_revisions"]
        phase(
            "Documents and revisions",
            lambda: seeder.documents(seeder.n("documents", 4), seeder.n("document_revisions", 10)),
        )
        phase("Surveys and responses", lambda: seeder.surveys(seeder.n("survey_responses", 10)))
        seeder.w.flush()

        def finish() -> None:
            seeder.counters_and_index(first_revision)
            seeder.advance_sequences()

        phase("References, search index and sequences", finish)
        counts = {name: count for name, count in seeder.w.counts.items() if count}
        append(
            session,
            [
                {
                    "action": "create",
                    "record_type": "bulk_load",
                    "record_id": "seed-demo-large",
                    "event": None,
                    "fields": ",".join(sorted(counts)),
                    "old_value": "{}",
                    "new_value": canonical_json({"factor": factor, "rows": counts, "seed": seed}),
                }
            ],
            AuditContext(
                None, "system", f"large demo organisation bulk-loaded (seed-demo --scale large, factor {factor})"
            ),
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    if db.engine.dialect.name == "postgresql":
        started = time.perf_counter()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as analyse:
            analyse.execute(text("ANALYZE"))
        progress(f"ANALYZE: done in {time.perf_counter() - started:.1f} s")
    counts["elapsed_seconds"] = round(time.perf_counter() - began)
    return counts
