"""The bulk loader's plumbing: the sizes, the chunked row writer and the seeder's base."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import random
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, Float, Table, func, select
from sqlalchemy.engine import Connection

from workflows import get_lifecycle

from ...database import db, utcnow

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
    "risks": 5_000,
    "quality_objectives": 400,
    "suppliers": 3_000,
    "equipment": 5_000,
}
#: each ``--scale`` as a multiple of FULL_SIZE (xl: issue 20's million NCs)
SCALES = {"large": 1, "xl": 10}
HISTORY_DAYS = 3 * 365
CHUNK = 5_000
STANDARD = "iso-9001-2015"

#: tables in foreign-key order: flushing one table first flushes every table before it
TABLE_ORDER = (
    "users",
    "user_roles",
    "sites",
    "processes",
    "suppliers",
    "supplier_evaluations",
    "supplier_deliveries",
    "equipment",
    "calibrations",
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
    "context_issues",
    "interested_parties",
    "context_reviews",
    "risks",
    "risk_treatment_actions",
    "transition_history",
    "job_roles",
    "competences",
    "competence_requirements",
    "competence_preconditions",
    "person_profiles",
    "training_sessions",
    "training_attendance",
    "competence_records",
    "training_needs",
    "opportunities",
    "quality_objectives",
    "objective_measurements",
)


class SeedRefused(Exception):
    """The database is not empty (or the arguments are wrong): nothing was written."""


# --------------------------------------------------------------------------- writing


class _Writer:
    """Buffers rows per table and inserts them in chunks with Core ``insert()`` (executemany)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.tables: dict[str, Table] = {name: db.metadata.tables[name] for name in TABLE_ORDER}
        #: PostgreSQL: the audit-trail digest of every row COPY wrote to a table the trail covers,
        #: {table: {record id: digest}}, taken from the values as written (see :func:`row_digest_of`)
        self.digests: dict[str, dict[str, str]] = {}
        self._digested: dict[str, tuple[list[str], list[int]]] = {}
        if conn.dialect.name == "postgresql":
            from ...services.audit_checks import covered_mappers

            for mapper in covered_mappers():
                name = mapper.local_table.name
                if name in self.tables:
                    columns = [c.name for c in self.tables[name].c]
                    self.digests[name] = {}
                    self._digested[name] = (columns, [columns.index(c.name) for c in mapper.primary_key])
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
        json_indexes = [i for i, c in enumerate(columns) if isinstance(c.type, JSON)]
        names = ", ".join(f'"{c.name}"' for c in columns)
        digested = self._digested.get(table.name)
        digests = self.digests.get(table.name)
        digest = _RowDigest(table.name, digested[0], _digest_kinds(table)) if digested else None
        scalars = [(c.name, None if callable(defaults[c.name]) else defaults[c.name]) for c in columns]
        calls = [(i, c.name, defaults[c.name]) for i, c in enumerate(columns) if callable(defaults[c.name])]
        cursor = self.conn.connection.driver_connection.cursor()
        with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                values = [row.get(key, default) for key, default in scalars]
                for index, key, make in calls:
                    if key not in row:
                        values[index] = make()
                if digest is not None and digests is not None and digested is not None:
                    record_id = "/".join(str(values[i]) for i in digested[1])
                    digests[record_id] = digest(values)
                for index in json_indexes:
                    if values[index] is not None:
                        values[index] = Json(values[index])
                copy.write_row(values)


def _digest_kinds(table: Table) -> list[str]:
    """How each column's value comes back from PostgreSQL: ``utc`` (UTCDateTime), ``float`` or as written."""
    from ...database import UTCDateTime

    kinds = []
    for column in table.c:
        if isinstance(column.type, UTCDateTime):
            kinds.append("utc")
        elif isinstance(column.type, Float):
            kinds.append("float")
        else:
            kinds.append("")
    return kinds


def row_digest_of(table_name: str, names: list[str], kinds: list[str], values: list[Any]) -> str:
    """:func:`qms.services.audit_trail.row_digest` of a row from the values COPY writes, without reading it back.

    The values are first turned into what the database returns for them (UTC datetimes, floats),
    so the digest is the one ``verify`` computes from the stored row; the seed's tests prove it.
    """
    return _RowDigest(table_name, names, kinds)(values)


class _RowDigest:
    """:func:`row_digest_of` for the rows of one table, with the per-column choices made once."""

    def __init__(self, table_name: str, names: list[str], kinds: list[str]) -> None:
        from ...services.audit_trail import SKIPPED, _digest_value, canonical_json

        self.table_name = table_name
        self.count = len(names)
        #: (position, name, kind) of the columns that enter the digest
        self.columns = [
            (i, name, kind) for i, (name, kind) in enumerate(zip(names, kinds, strict=True)) if name not in SKIPPED
        ]
        self._digest_value, self._canonical_json = _digest_value, canonical_json

    def __call__(self, values: list[Any]) -> str:
        if len(values) != self.count:
            raise ValueError(f"{self.table_name}: {len(values)} values for {self.count} columns")
        _digest_value, canonical_json = self._digest_value, self._canonical_json
        row: dict[str, Any] = {}
        for index, name, kind in self.columns:
            value = values[index]
            if value is None:
                continue
            if kind == "utc" and isinstance(value, dt.datetime):
                value = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
            elif kind == "float" and isinstance(value, int | float) and not isinstance(value, bool):
                value = float(value)
            row[name] = value if value.__class__ in _PLAIN else _digest_value(value)
        return hashlib.sha256(canonical_json([self.table_name, row]).encode()).hexdigest()


_PLAIN = frozenset({str, int, bool, float, list, dict})


def _spread(rng: random.Random, n: int, weights: Iterable[tuple[Any, int]]) -> list[Any]:
    values, w = zip(*weights, strict=True)
    return rng.choices(values, weights=w, k=n)


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


class _SeederBase:
    """What every phase uses: the writer, the random source, ids, references and histories."""

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
            for name in (
                "nonconformity",
                "corrective_action",
                "internal_audit",
                "document",
                "survey",
                "certification",
                "risk",
                "risk_treatment",
                "context_review",
                "supplier",
                "equipment",
            )
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
