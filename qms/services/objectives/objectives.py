"""Quality objectives (ISO 9001 6.2): setting them with their KPI and plan, measuring the KPI (typed
in, imported from CSV or computed from the records), and the lifecycle's effects.

Who may: managers, quality officers and process owners set objectives; the objective's owner,
quality officers and managers record its values. A missed objective raises, as its owner
chooses, a nonconformity or an opportunity for improvement in the same transaction.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows import FireResult
from workflows.errors import InvalidData, InvalidTransition, NotPermitted

from ...database import db, id_in
from ...models import (
    DIRECTIONS,
    FREQUENCIES,
    Actor,
    Nonconformity,
    ObjectiveMeasurement,
    Opportunity,
    Process,
    QualityObjective,
    User,
)
from ...models.objectives import month_end
from ..audit_trail import recorded_change
from ..references import next_reference
from ..validation import clean_date, clean_text, require_roles, row_by_id
from ..workflow import as_actor, effect, facts_provider
from .measures import MEASURES

SET_ROLES = frozenset({"manager", "quality_officer", "process_owner"})
MEASURE_ROLES = frozenset({"manager", "quality_officer"})
OWNER_ROLES = ("manager", "quality_officer", "process_owner")
PLAN_FIELDS = {
    "plan_what": "what will be done",
    "plan_resources": "resources",
    "plan_who": "who is responsible",
    "plan_when": "when it will be completed",
    "plan_evaluation": "how the results will be evaluated",
}
EDITABLE = (
    "title",
    "description",
    "owner_id",
    "process_id",
    "kpi_name",
    "measure",
    "unit",
    "direction",
    "baseline",
    "target",
    "tolerance",
    "frequency",
    "starts_on",
    "deadline",
    *PLAN_FIELDS,
)
#: the largest CSV of measurements accepted, and its most rows
MAX_CSV_BYTES = 256 * 1024
MAX_CSV_ROWS = 5000
#: the most a KPI value may be (keeps charts and sums finite)
MAX_VALUE = 1e12


def _number(errors: dict[str, str], name: str, value: Any, *, required: bool) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[name] = "is required"
        return None
    if isinstance(value, bool):
        errors[name] = "must be a number"
        return None
    try:
        number = float(value.strip().replace(",", ".") if isinstance(value, str) else value)
    except (TypeError, ValueError):
        errors[name] = "must be a number"
        return None
    if not math.isfinite(number) or abs(number) > MAX_VALUE:
        errors[name] = f"must be a finite number no larger than {MAX_VALUE:.0e}"
        return None
    return number


def _validated(data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """The objective's fields from ``data``, every problem named by its field."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}

    def given(name: str) -> bool:
        return not partial or name in data

    if given("title"):
        values["title"] = clean_text(errors, "title", data.get("title"), limit=200)
    if given("description"):
        values["description"] = clean_text(errors, "description", data.get("description"), required=False)
    if given("kpi_name"):
        values["kpi_name"] = clean_text(errors, "kpi_name", data.get("kpi_name"), limit=200)
    if given("unit"):
        values["unit"] = clean_text(errors, "unit", data.get("unit"), required=False, limit=30)
    if given("measure"):
        measure = data.get("measure") or "manual"
        if measure != "manual" and measure not in MEASURES:
            errors["measure"] = "must be manual or one of: " + ", ".join(MEASURES)
        values["measure"] = measure
    if given("direction"):
        direction = data.get("direction") or ""
        if direction not in DIRECTIONS:
            errors["direction"] = "must be up (higher is better) or down (lower is better)"
        values["direction"] = direction
    if given("frequency"):
        frequency = data.get("frequency") or "monthly"
        if frequency not in FREQUENCIES:
            errors["frequency"] = "must be one of: " + ", ".join(FREQUENCIES)
        values["frequency"] = frequency
    if given("target"):
        values["target"] = _number(errors, "target", data.get("target"), required=True)
    if given("baseline"):
        values["baseline"] = _number(errors, "baseline", data.get("baseline"), required=False)
    if given("tolerance"):
        tolerance = _number(errors, "tolerance", data.get("tolerance"), required=False)
        if tolerance is not None and tolerance < 0:
            errors["tolerance"] = "cannot be negative"
        values["tolerance"] = tolerance
    if given("starts_on"):
        values["starts_on"] = clean_date(errors, "starts_on", data.get("starts_on"))
    if given("deadline"):
        values["deadline"] = clean_date(errors, "deadline", data.get("deadline"))
    for name in PLAN_FIELDS:
        if given(name):
            values[name] = clean_text(errors, name, data.get(name), required=False, limit=5000)
    if given("owner_id"):
        owner = row_by_id(User, data.get("owner_id"))
        if owner is None or not owner.active or not owner.has_role(*OWNER_ROLES):
            errors["owner_id"] = "must be an active manager, quality officer or process owner"
        else:
            values["owner_id"] = owner.id
    if given("process_id"):
        raw = data.get("process_id")
        if raw in (None, "", 0):
            values["process_id"] = None
        else:
            process = row_by_id(Process, raw)
            if process is None or not process.active:
                errors["process_id"] = "must be an active process"
            else:
                values["process_id"] = process.id
    if errors:
        raise InvalidData(errors)
    return values


def _check_dates(values: Mapping[str, Any]) -> None:
    starts_on, deadline = values.get("starts_on"), values.get("deadline")
    if starts_on and deadline and deadline <= starts_on:
        raise InvalidData({"deadline": "must be after the start"})


def create_objective(actor: User | Actor, **data: Any) -> QualityObjective:
    """A draft objective with its KPI and plan; the owner defaults to the person setting it."""
    actor = as_actor(actor)
    require_roles(actor, SET_ROLES, "set quality objectives")
    unknown = set(data) - set(EDITABLE)
    if unknown:
        raise InvalidData({name: "is not a field of an objective" for name in sorted(unknown)})
    data = dict(data)
    if data.get("owner_id") in (None, "", 0):
        data["owner_id"] = actor.id
    if data.get("starts_on") in (None, ""):
        data["starts_on"] = dt.date.today()
    values = _validated(data)
    _check_dates(values)
    measure = MEASURES.get(values["measure"])
    if measure is not None and not values.get("unit"):
        values["unit"] = measure.unit
    with recorded_change(actor, "quality objective set") as session:
        objective = QualityObjective(
            reference=next_reference(session, "OBJ", values["starts_on"].year),
            created_by_id=actor.id,
            **values,
        )
        session.add(objective)
    return objective


def update_objective(objective: QualityObjective, actor: User | Actor, **changes: Any) -> QualityObjective:
    """Change a draft objective (target, KPI, plan…); once approved it is changed by withdrawing it."""
    actor = as_actor(actor)
    require_roles(actor, SET_ROLES, "change quality objectives")
    if objective.state != "draft":
        raise InvalidTransition("Only a draft objective can be changed; an approved one is withdrawn and set again")
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidData({name: "is not a field of an objective" for name in sorted(unknown)})
    values = _validated(changes, partial=True)
    _check_dates(
        {
            "starts_on": values.get("starts_on", objective.starts_on),
            "deadline": values.get("deadline", objective.deadline),
        }
    )
    with recorded_change(actor, f"{objective.reference} changed"):
        for name, value in values.items():
            setattr(objective, name, value)
    return objective


# --- measurements -------------------------------------------------------------------------------


def can_measure(objective: QualityObjective, actor: Actor) -> bool:
    return bool(actor.roles & MEASURE_ROLES) or objective.owner_id == actor.id


def _check_measurable(objective: QualityObjective, actor: Actor) -> None:
    if not can_measure(objective, actor):
        raise NotPermitted("Only the objective's owner, a quality officer or a manager records its values")
    if objective.state != "active":
        raise InvalidTransition("Values are recorded while the objective is active")
    if objective.computed:
        raise InvalidTransition(
            f"This KPI is computed from the records ({MEASURES[objective.measure].label}); it is not typed in"
        )


def _check_day(errors: dict[str, str], name: str, objective: QualityObjective, day: dt.date | None) -> None:
    if day is None:
        return
    if day > dt.date.today():
        errors[name] = "cannot be in the future"
    elif day < objective.starts_on - dt.timedelta(days=366):
        errors[name] = "is more than a year before the objective starts"


def record_measurement(
    objective: QualityObjective, actor: User | Actor, *, measured_on: Any, value: Any, note: Any = ""
) -> ObjectiveMeasurement:
    """One value of the KPI for the period ending on ``measured_on`` (one value per date)."""
    actor = as_actor(actor)
    _check_measurable(objective, actor)
    errors: dict[str, str] = {}
    day = clean_date(errors, "measured_on", measured_on)
    _check_day(errors, "measured_on", objective, day)
    number = _number(errors, "value", value, required=True)
    text = clean_text(errors, "note", note, required=False, limit=500)
    if not errors and db.session.scalar(
        select(ObjectiveMeasurement.id).where(
            ObjectiveMeasurement.objective_id == objective.id, ObjectiveMeasurement.measured_on == day
        )
    ):
        errors["measured_on"] = f"already has a value for {day}; import a CSV to replace values"
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, f"{objective.reference} measured") as session:
        row = ObjectiveMeasurement(
            objective_id=objective.id,
            measured_on=day,
            value=number,
            source="manual",
            note=text,
            recorded_by_id=actor.id,
        )
        session.add(row)
    db.session.expire(objective, ["measurements"])
    return row


def import_measurements_csv(objective: QualityObjective, actor: User | Actor, data: bytes | str) -> dict[str, int]:
    """Values from a CSV file with the columns ``date`` and ``value`` (``note`` optional); all or nothing.

    Errors name the line and the column. A date that already has a value gets the file's value.
    Answers ``{"added": n, "replaced": m}``.
    """
    actor = as_actor(actor)
    _check_measurable(objective, actor)
    if isinstance(data, bytes):
        if len(data) > MAX_CSV_BYTES:
            raise InvalidData({"file": f"is larger than {MAX_CSV_BYTES // 1024} KB"})
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidData({"file": "must be UTF-8 text (save the sheet as CSV UTF-8)"}) from None
    else:
        if len(data) > MAX_CSV_BYTES:
            raise InvalidData({"file": f"is larger than {MAX_CSV_BYTES // 1024} KB"})
        text = data
    if "\x00" in text:
        raise InvalidData({"file": "is not a text CSV file"})
    delimiter = ";" if text.split("\n", 1)[0].count(";") > text.split("\n", 1)[0].count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise InvalidData({"file": "is empty"}) from None
    except csv.Error as exc:
        raise InvalidData({"line 1": f"is not valid CSV: {exc}"}) from None
    errors: dict[str, str] = {}
    unknown = [h for h in header if h not in ("date", "value", "note")]
    if unknown:
        errors["line 1"] = (
            "unknown column(s): " + ", ".join(repr(h[:40]) for h in unknown[:10]) + "; expected date, value, note"
        )
    elif len(set(header)) != len(header):
        errors["line 1"] = "a column is repeated"
    for column in ("date", "value"):
        if column not in header:
            errors[f"line 1, column '{column}'"] = "is missing"
    if errors:
        raise InvalidData(errors)
    rows: dict[dt.date, tuple[float, str]] = {}
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(rows) >= MAX_CSV_ROWS:
                raise InvalidData({"file": f"has more than {MAX_CSV_ROWS} rows; split it"})
            if len(row) != len(header):
                errors[f"line {line}"] = f"has {len(row)} cells, the header has {len(header)}"
                continue
            cells = dict(zip(header, row, strict=True))
            row_errors: dict[str, str] = {}
            day = clean_date(row_errors, f"line {line}, column 'date'", cells["date"].strip())
            _check_day(row_errors, f"line {line}, column 'date'", objective, day)
            number = _number(row_errors, f"line {line}, column 'value'", cells["value"], required=True)
            note = clean_text(
                row_errors, f"line {line}, column 'note'", cells.get("note", ""), required=False, limit=500
            )
            if day is not None and day in rows and not row_errors:
                row_errors[f"line {line}, column 'date'"] = f"{day} appears twice in the file"
            errors.update(row_errors)
            if not row_errors and day is not None and number is not None:
                rows[day] = (number, note)
            if len(errors) >= 50:
                errors["file"] = "too many errors; the first 50 are listed"
                break
    except csv.Error as exc:
        errors[f"line {reader.line_num}"] = f"is not valid CSV: {exc}"
    if errors:
        raise InvalidData(errors)
    if not rows:
        raise InvalidData({"file": "has no values"})
    existing = {
        m.measured_on: m
        for m in db.session.scalars(
            select(ObjectiveMeasurement).where(
                ObjectiveMeasurement.objective_id == objective.id, ObjectiveMeasurement.measured_on.in_(list(rows))
            )
        )
    }
    with recorded_change(actor, f"{len(rows)} values imported into {objective.reference}") as session:
        for day, (number, note) in sorted(rows.items()):
            row = existing.get(day)
            if row is None:
                session.add(
                    ObjectiveMeasurement(
                        objective_id=objective.id,
                        measured_on=day,
                        value=number,
                        source="csv",
                        note=note,
                        recorded_by_id=actor.id,
                    )
                )
            else:
                row.value, row.note, row.source, row.recorded_by_id = number, note, "csv", actor.id
    db.session.expire(objective, ["measurements"])
    return {"added": len(rows) - len(existing), "replaced": len(existing)}


def periods(objective: QualityObjective, today: dt.date) -> list[tuple[dt.date, dt.date]]:
    """The objective's measuring periods (calendar months or quarters) from its start to today or its
    deadline; the last may still be in progress."""
    months = 1 if objective.frequency == "monthly" else 3
    last_day = min(today, objective.deadline)
    year, month = objective.starts_on.year, objective.starts_on.month
    month -= (month - 1) % months
    result = []
    while dt.date(year, month, 1) <= last_day:
        index = year * 12 + month - 1 + months
        result.append((dt.date(year, month, 1), month_end((index - 1) // 12, (index - 1) % 12 + 1)))
        year, month = index // 12, index % 12 + 1
    return result


def _computed_rows(objective: QualityObjective, today: dt.date) -> dict[dt.date, float]:
    measure = MEASURES[objective.measure]
    spans = periods(objective, today)
    if measure.snapshot:
        spans = spans[-1:]
    values = {}
    for start, end in spans:
        value = measure.compute(start, end)
        if value is not None:
            values[end] = round(float(value), 4)
    return values


def apply_computed(session: Session, objective: QualityObjective, today: dt.date) -> int:
    """Store the computed measure's value of each period (replacing earlier computations); no commit."""
    values = _computed_rows(objective, today)
    existing = {
        m.measured_on: m
        for m in session.scalars(
            select(ObjectiveMeasurement).where(
                ObjectiveMeasurement.objective_id == objective.id, ObjectiveMeasurement.source == "computed"
            )
        )
    }
    changed = 0
    for day, value in values.items():
        row = existing.get(day)
        if row is None:
            session.add(
                ObjectiveMeasurement(
                    objective_id=objective.id,
                    measured_on=day,
                    value=value,
                    source="computed",
                    note="to date" if day > today else "",
                )
            )
            changed += 1
        elif row.value != value or (row.note == "to date") != (day > today):
            row.value, row.note = value, "to date" if day > today else ""
            changed += 1
    return changed


def refresh_computed(objective: QualityObjective, actor: User | Actor | None, today: dt.date | None = None) -> int:
    """Recompute a computed KPI's values from the records; the number of values added or changed."""
    today = today or dt.date.today()
    if actor is not None:
        actor = as_actor(actor)
        if not can_measure(objective, actor) and not actor.roles & SET_ROLES:
            raise NotPermitted("Only the objective's owner, a quality officer or a manager recomputes its values")
    if not objective.computed:
        raise InvalidTransition("This KPI is entered by hand or imported; there is nothing to compute")
    if objective.state != "active":
        raise InvalidTransition("Values are computed while the objective is active")
    with recorded_change(actor, f"{objective.reference} recomputed from the records") as session:
        changed = apply_computed(session, objective, today)
    db.session.expire(objective, ["measurements"])
    return changed


def refresh_all_computed(today: dt.date | None = None) -> dict[str, int]:
    """Recompute every active objective whose KPI is computed (the nightly job)."""
    today = today or dt.date.today()
    objectives = list(
        db.session.scalars(
            select(QualityObjective).where(QualityObjective.state == "active", QualityObjective.measure != "manual")
        )
    )
    changed = 0
    for objective in objectives:
        changed += refresh_computed(objective, None, today)
    return {"objectives": len(objectives), "values_changed": changed}


def measurement_points(
    objective_ids: Sequence[int], *, since: dt.date | None = None
) -> dict[int, list[tuple[dt.date, float]]]:
    """Each objective's (date, value) pairs (from ``since``), oldest first: one query for a page of objectives."""
    points: dict[int, list[tuple[dt.date, float]]] = {i: [] for i in objective_ids}
    if not objective_ids:
        return points
    m = ObjectiveMeasurement
    query = select(m.objective_id, m.measured_on, m.value).where(id_in(m.objective_id, list(objective_ids)))
    if since is not None:
        query = query.where(m.measured_on >= since)
    for objective_id, day, value in db.session.execute(query.order_by(m.objective_id, m.measured_on)):
        points[objective_id].append((day, value))
    return points


def last_measured(objective_ids: Sequence[int]) -> dict[int, dt.date]:
    """The date of each objective's latest value."""
    if not objective_ids:
        return {}
    m = ObjectiveMeasurement
    return dict(
        db.session.execute(
            select(m.objective_id, func.max(m.measured_on))
            .where(id_in(m.objective_id, list(objective_ids)))
            .group_by(m.objective_id)
        ).all()
    )


# --- lifecycle effects and facts ----------------------------------------------------------------


@effect("quality_objective", "activate")
def _activated(objective: QualityObjective, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    if objective.computed:
        apply_computed(db.session(), objective, now.date())


@effect("quality_objective", "mark_achieved")
def _achieved(objective: QualityObjective, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    objective.evaluation = result.data["evaluation"]
    objective.evaluated_at = now


@effect("quality_objective", "mark_missed")
def _missed(objective: QualityObjective, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    objective.missed_reason = result.data["reason"]
    objective.missed_follow_up = result.data["follow_up"]
    objective.evaluated_at = now
    session = db.session()
    points = measurement_points([objective.id])[objective.id]
    latest = f"{points[-1][1]:g} {objective.unit}".strip() if points else "no value recorded"
    summary = (
        f'Quality objective {objective.reference} "{objective.title}" was missed: target '
        f"{objective.target:g} {objective.unit} by {objective.deadline}, latest value {latest}.\n\n"
        f"Why: {objective.missed_reason}"
    )
    if objective.missed_follow_up == "nonconformity":
        nc = Nonconformity(
            reference=next_reference(session, "NC", now.year),
            title=f"{objective.reference}: objective missed — {objective.title}"[:200],
            description=summary,
            source="process_monitoring",
            process=objective.process.name if objective.process else "",
            clause_refs=["6.2", "9.1.3"],
            detected_on=now.date(),
            raised_by_id=actor.id if actor.id is not None else objective.owner_id,
            owner_id=objective.owner_id,
        )
        session.add(nc)
        session.flush()
        objective.nonconformity_id = nc.id
    else:
        opportunity = Opportunity(
            reference=next_reference(session, "OPP", now.year),
            title=f"Improve: {objective.title}"[:200],
            description=summary,
            source="objective_missed",
            process_id=objective.process_id,
            owner_id=objective.owner_id,
            proposed_by_id=actor.id if actor.id is not None else objective.owner_id,
        )
        session.add(opportunity)
        session.flush()
        objective.opportunity_id = opportunity.id


@effect("quality_objective", "close")
def _closed(objective: QualityObjective, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    objective.closing_note = result.data.get("closing_note", "")
    objective.closed_at = now


@effect("quality_objective", "withdraw")
def _withdrawn(objective: QualityObjective, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    objective.withdrawn_reason = result.data["reason"]
    objective.closed_at = now


@facts_provider("quality_objective", provides=("plan_missing", "latest_value", "target_met"))
def _objective_facts(session: Session, objectives: Sequence[QualityObjective]) -> dict[int, dict[str, Any]]:
    m = ObjectiveMeasurement
    ids = [o.id for o in objectives]
    latest_day = (
        select(m.objective_id, func.max(m.measured_on).label("day"))
        .where(id_in(m.objective_id, ids))
        .group_by(m.objective_id)
        .subquery()
    )
    latest = dict(
        session.execute(
            select(m.objective_id, m.value).join(
                latest_day, (latest_day.c.objective_id == m.objective_id) & (latest_day.c.day == m.measured_on)
            )
        ).all()
    )
    return {
        o.id: {
            "plan_missing": [label for name, label in PLAN_FIELDS.items() if not (getattr(o, name) or "").strip()],
            "latest_value": latest.get(o.id),
            "target_met": o.meets(latest.get(o.id)),
        }
        for o in objectives
    }
