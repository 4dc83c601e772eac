"""The dashboard's NC and action figures kept as running counts, so the page costs the same at any size.

Counting the open NCs by severity, source, process, clause and age, and the corrective actions by
due date and by whether they were done on time, reads every open NC and every implemented action:
10 s at a million NCs. Instead, every flush that creates, changes or deletes an NC or an action
adds its difference to ``dashboard_counts`` (one UPSERT, in the same transaction as the change),
and the dashboard sums a few hundred rows: one per value of a figure, one per day for the date
figures (open NCs by detection day, open actions by due day), so an age bucket or "overdue" is a
sum over the days, whatever "today" is.

The difference is added after the audit trail's entries of the same flush (this module imports
the trail first, so its listener runs first): every writer locks the trail's head, then the counts,
in that order, so two writers cannot deadlock on them.

Rows written past the ORM (a DBA's UPDATE, a migration, the bulk seed) are not seen here:
``qms dashboard rebuild`` (and the nightly ``dashboard-counts`` job) recounts from the records,
``qms dashboard verify`` compares the kept counts with a recount without changing anything.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Date, case, cast, event, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.base import NO_VALUE

from ..database import begin_write
from ..models import CorrectiveAction, DashboardCount, Nonconformity
from . import audit_trail  # noqa: F401  (its after_flush listener must be registered before ours)
from .nonconformities import open_nc_states

Key = tuple[str, str]  # (figure, key)

#: the figures kept, and what their key is
FIGURES = {
    "nc.severity": "open NCs by severity ('' when not graded yet)",
    "nc.source": "open NCs by source",
    "nc.process": "open NCs by process (those with a process)",
    "nc.clause": "open NCs' clause references, one per reference",
    "nc.detected": "open NCs by detection day (ISO date)",
    "nc.graded_detected": "open graded NCs by detection day (ISO date)",
    "action.open_due": "open corrective actions by due day (ISO date)",
    "action.implemented": "implemented corrective actions: 'on_time' (by the due day) or 'late'",
}
DATE_FIGURES = ("nc.detected", "nc.graded_detected", "action.open_due")
KEY_LENGTH = 200

NC_COLUMNS = ("state", "severity", "source", "process", "clause_refs", "detected_on")
ACTION_COLUMNS = ("state", "due_date", "implemented_at")


def _key(value: Any) -> str:
    return (value.isoformat() if isinstance(value, dt.date) else str(value))[:KEY_LENGTH]


def nc_counts(values: Mapping[str, Any]) -> Counter[Key]:
    """What one NC adds to the counts: nothing once it is closed, rejected or withdrawn."""
    if values["state"] not in open_nc_states():
        return Counter()
    counts: Counter[Key] = Counter()
    counts["nc.severity", values["severity"] or ""] += 1
    counts["nc.source", _key(values["source"])] += 1
    if values["process"]:
        counts["nc.process", _key(values["process"])] += 1
    for clause in values["clause_refs"] or ():
        if clause is not None:
            counts["nc.clause", _key(clause)] += 1
    counts["nc.detected", _key(values["detected_on"])] += 1
    if values["severity"] is not None:
        counts["nc.graded_detected", _key(values["detected_on"])] += 1
    return counts


def action_counts(values: Mapping[str, Any]) -> Counter[Key]:
    """What one corrective action adds: its due day while open, and on time or late once implemented."""
    counts: Counter[Key] = Counter()
    if values["state"] in CorrectiveAction.OPEN_STATES:
        counts["action.open_due", _key(values["due_date"])] += 1
    implemented = values["implemented_at"]
    if implemented is not None:
        # done on time: implemented no later than the due day (the UTC date of the timestamp)
        on_time = implemented.astimezone(dt.UTC).date() <= values["due_date"]
        counts["action.implemented", "on_time" if on_time else "late"] += 1
    return counts


_COUNTED = {Nonconformity: (NC_COLUMNS, nc_counts), CorrectiveAction: (ACTION_COLUMNS, action_counts)}
_OLD_ROWS = "qms_dashboard_old_rows"


# ---------------------------------------------------------------- kept in the flush


@event.listens_for(Session, "before_flush")
def _remember_old_rows(session: Session, flush_context: Any, instances: Any) -> None:
    """Read the stored values the flush is about to lose and the session does not hold: those of
    deleted records, and of attributes set while expired (their old value was never loaded)."""
    session.info[_OLD_ROWS] = {}
    wanted: dict[type, set[int]] = {}
    for obj in (*session.dirty, *session.deleted):
        counted = _COUNTED.get(type(obj))
        if counted is None:
            continue
        state = sa.inspect(obj)
        if state.key is None:
            continue
        if obj in session.deleted or any(state.committed_state.get(k) is NO_VALUE for k in counted[0]):
            wanted.setdefault(type(obj), set()).add(state.key[1][0])
    if not wanted:
        return
    conn = session.connection()
    old = session.info[_OLD_ROWS]
    for model, ids in wanted.items():
        columns = [getattr(model, name) for name in _COUNTED[model][0]]
        for row in conn.execute(select(model.id, *columns).where(model.id.in_(ids))).mappings():
            old[model, row["id"]] = dict(row)


def _old_values(state: Any, columns: Iterable[str]) -> dict[str, Any]:
    values = {}
    for name in columns:
        history = state.attrs[name].history
        values[name] = history.deleted[0] if history.deleted else (history.unchanged or [None])[0]
    return values


@event.listens_for(Session, "after_flush")
def _count_changes(session: Session, flush_context: Any) -> None:
    """Add this flush's difference to the counts (after the audit trail's listener: see the module)."""
    old_rows = session.info.pop(_OLD_ROWS, {})
    delta: Counter[Key] = Counter()
    deleted = {id(obj) for obj in session.deleted}
    for obj in session.deleted:
        counted = _COUNTED.get(type(obj))
        if counted is not None:
            state = sa.inspect(obj)
            old = old_rows.get((type(obj), state.key[1][0])) if state.key else None
            delta.subtract(counted[1](old if old is not None else _old_values(state, counted[0])))
    for obj in session.new:
        counted = _COUNTED.get(type(obj))
        if counted is not None and id(obj) not in deleted:
            delta.update(counted[1]({name: getattr(obj, name) for name in counted[0]}))
    for obj in session.dirty:
        counted = _COUNTED.get(type(obj))
        if counted is None or id(obj) in deleted:
            continue
        state = sa.inspect(obj)
        columns = counted[0]
        if not any(state.attrs[name].history.has_changes() for name in columns):
            continue
        old = old_rows.get((type(obj), state.key[1][0])) if state.key else None
        delta.subtract(counted[1](old if old is not None else _old_values(state, columns)))
        delta.update(counted[1]({name: getattr(obj, name) for name in columns}))
    add(session.connection(), delta)


def add(conn: sa.Connection, delta: Mapping[Key, int]) -> None:
    """Add ``delta`` to the kept counts in one statement (an UPSERT, keys in a fixed order)."""
    rows = [{"figure": figure, "key": key, "count": n} for (figure, key), n in sorted(delta.items()) if n]
    if not rows:
        return
    table = DashboardCount.__table__
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = insert(table).values(rows)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.figure, table.c.key], set_={"count": table.c["count"] + statement.excluded["count"]}
        )
    )


# ---------------------------------------------------------------- recounted from the records


def recount(conn: sa.Connection) -> Counter[Key]:
    """The counts worked out from the records, in SQL (GROUP BY): what the kept counts must equal."""
    nc, ca = Nonconformity, CorrectiveAction
    is_open = nc.state.in_(open_nc_states())
    counts: Counter[Key] = Counter()

    def group(figure: str, column: Any, *where: Any, select_from: Any = None) -> None:
        query = select(column, func.count()).where(*where).group_by(column)
        if select_from is not None:
            query = query.select_from(select_from)
        for value, n in conn.execute(query):
            counts[figure, "" if value is None else _key(value)] += n

    group("nc.severity", nc.severity, is_open)
    group("nc.source", nc.source, is_open)
    group("nc.process", nc.process, is_open, nc.process != "")
    if conn.dialect.name == "postgresql":
        refs = func.json_array_elements_text(nc.clause_refs).table_valued("value")
    else:
        refs = func.json_each(nc.clause_refs).table_valued("value")
    group("nc.clause", refs.c.value, is_open, refs.c.value.is_not(None), select_from=sa.join(nc, refs, sa.true()))
    group("nc.detected", nc.detected_on, is_open)
    group("nc.graded_detected", nc.detected_on, is_open, nc.severity.is_not(None))
    group("action.open_due", ca.due_date, ca.state.in_(ca.OPEN_STATES))
    if conn.dialect.name == "postgresql":
        done_on = cast(func.timezone("UTC", ca.implemented_at), Date)
    else:
        done_on = func.date(ca.implemented_at)
    timing = case((done_on <= ca.due_date, "on_time"), else_="late")
    group("action.implemented", timing, ca.implemented_at.is_not(None))
    return counts


def stored(conn: sa.Connection) -> Counter[Key]:
    """The kept counts, zeros left out."""
    table = DashboardCount.__table__
    rows = conn.execute(select(table.c.figure, table.c.key, table.c["count"]).where(table.c["count"] != 0))
    return Counter({(figure, key): n for figure, key, n in rows})


@dataclass(frozen=True)
class Difference:
    figure: str
    key: str
    kept: int
    counted: int


def differences(conn: sa.Connection) -> list[Difference]:
    """Where the kept counts differ from a recount (empty when they agree)."""
    kept, counted = stored(conn), recount(conn)
    return [
        Difference(f, k, kept.get((f, k), 0), counted.get((f, k), 0))
        for f, k in sorted(set(kept) | set(counted))
        if kept.get((f, k), 0) != counted.get((f, k), 0)
    ]


def rebuild(session: Session) -> dict[str, int]:
    """Recount from the records and replace the kept counts, in one transaction; commits.

    On PostgreSQL the counts are locked first (EXCLUSIVE: the dashboard still reads them, writers
    wait), so a change committed during the recount is either in it or added after it, never lost.
    Returns the number of counts kept and how many were wrong.
    """
    begin_write(session)
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("LOCK TABLE dashboard_counts IN EXCLUSIVE MODE"))
    kept, fresh = stored(conn), recount(conn)
    wrong = sum(1 for key in set(kept) | set(fresh) if kept.get(key, 0) != fresh.get(key, 0))
    write(conn, fresh)
    session.commit()
    return {"counts": len(fresh), "corrected": wrong}


def write(conn: sa.Connection, counts: Mapping[Key, int]) -> None:
    """Replace the kept counts with ``counts`` (the caller holds the transaction)."""
    table = DashboardCount.__table__
    conn.execute(table.delete())
    rows = [{"figure": figure, "key": key, "count": n} for (figure, key), n in sorted(counts.items()) if n]
    if rows:
        conn.execute(table.insert(), rows)


# ---------------------------------------------------------------- read by the dashboard


@dataclass
class Counts:
    """The NC and action figures of the dashboard and of readiness, summed from the kept counts."""

    by_value: dict[str, dict[str, int]] = field(default_factory=dict)  # figure → key → count
    ages: dict[int | None, int] = field(default_factory=dict)  # age bucket's upper limit in days → open NCs
    old_graded: int = 0  # open graded NCs detected more than 90 days ago
    open_actions: int = 0
    overdue_actions: int = 0

    def of(self, figure: str) -> dict[str, int]:
        return self.by_value.get(figure, {})


def read_counts(conn: sa.Connection, today: dt.date, age_limits: Iterable[int] = (30, 60, 90)) -> Counts:
    """The figures on ``today`` in two queries over the kept counts (a few hundred rows at any size)."""
    table = DashboardCount.__table__
    figure, key, count = table.c.figure, table.c.key, table.c["count"]
    result = Counts()
    rows = conn.execute(
        select(figure, key, count).where(figure.not_in(DATE_FIGURES), count != 0).order_by(figure, count.desc(), key)
    )
    for name, value, n in rows:
        result.by_value.setdefault(name, {})[value] = n
    limits = sorted(age_limits)

    def total(*where: Any) -> Any:
        return func.coalesce(func.sum(case((sa.and_(*where), count), else_=0)), 0)

    detected = figure == "nc.detected"
    buckets, lower = [], None
    for limit in limits:
        since = (today - dt.timedelta(days=limit)).isoformat()
        buckets.append(total(detected, key >= since, *(() if lower is None else (key < lower,))))
        lower = since
    buckets.append(total(detected, *(() if lower is None else (key < lower,))))
    ninety = (today - dt.timedelta(days=90)).isoformat()
    due = figure == "action.open_due"
    sums = conn.execute(
        select(
            *buckets,
            total(figure == "nc.graded_detected", key < ninety),
            total(due),
            total(due, key < today.isoformat()),
        ).where(figure.in_(DATE_FIGURES))
    ).one()
    result.ages = dict(zip([*limits, None], sums[: len(limits) + 1], strict=True))
    result.old_graded, result.open_actions, result.overdue_actions = sums[len(limits) + 1 :]
    return result
