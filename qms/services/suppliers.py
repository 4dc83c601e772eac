"""External providers (ISO 9001 8.4): the supplier register, evaluations and re-evaluation, on-time
delivery, the approved supplier list, and supplier corrective action requests (SCAR) answered by the
supplier itself through a single-use link.

The score: each criterion is scored 0–100 and weighted (``DEFAULT_WEIGHTS`` until an administrator
sets others; each evaluation keeps the weights it used); quality follows from
the supplier's nonconformities and their severity, delivery from the deliveries recorded (on time or
not), certification from the ISO 9001 certificate; price and service are the evaluator's judgement.
A criterion without a score shares its weight among the others. The supplier's current score is kept
up to date as its nonconformities are raised and graded; when it falls into a lower band than the
supplier's status, a status change is *proposed* with its reason, and a person decides.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, BinaryIO

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from workflows import FireResult
from workflows.errors import Conflict, InvalidData, InvalidTransition, NotPermitted

from ..database import db, id_in, utcnow
from ..models import (
    APPROVED_STATES,
    CRITERIA,
    CRITICALITY_LABELS,
    DEFAULT_WEIGHTS,
    REEVALUATION_MONTHS,
    Actor,
    Nonconformity,
    Scar,
    Supplier,
    SupplierCriteriaWeights,
    SupplierDelivery,
    SupplierEvaluation,
    User,
)
from .audit_trail import recorded_change, register_audited
from .filters import contains, spreadsheet_safe
from .references import next_reference
from .validation import clean_date, clean_text, require_roles, row_by_id
from .workflow import as_actor, effect, facts_provider, fire

#: who keeps the register and evaluates suppliers
register_audited(SupplierCriteriaWeights)

MANAGE_ROLES = frozenset({"admin", "manager", "quality_officer"})
EVALUATE_ROLES = frozenset({"manager", "quality_officer"})
#: who records deliveries (purchasing is often a process owner)
DELIVERY_ROLES = frozenset({"manager", "quality_officer", "process_owner"})
SCAR_ROLES = frozenset({"manager", "quality_officer"})
OWNER_ROLES = ("quality_officer", "manager", "process_owner")
#: points a nonconformity takes off the quality score, by severity (ungraded: as a minor)
NC_PENALTY = {"major": 25, "minor": 10, "observation": 3, None: 10}
#: bands of the score: at or above APPROVE_AT approved, at or above CONDITIONAL_AT conditionally approved
APPROVE_AT = 80.0
CONDITIONAL_AT = 60.0
#: the certification score: valid ISO 9001 certificate, none, expired
CERTIFICATION_SCORE = {"valid": 100.0, "none": 50.0, "expired": 25.0}
#: the period the current score looks back on
ROLLING_DAYS = 365
MAX_CSV_BYTES = 1024 * 1024
MAX_CSV_ROWS = 5000
CSV_COLUMNS = ("order_reference", "due_on", "delivered_on")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
STATE_RANK = {"approved": 0, "conditionally_approved": 1, "suspended": 2}
PROPOSAL_LABELS = {
    "conditionally_approved": "approve with conditions",
    "suspended": "suspend",
}
#: the days a supplier has to answer a SCAR, by default
SCAR_RESPONSE_DAYS = 14
NC_CLOSED_STATES = ("closed", "rejected")


# --------------------------------------------------------------------------- the register
@contextmanager
def saved_once(what: str) -> Iterator[None]:
    """A unique rule the database enforces (a concurrent duplicate got there first) as a Conflict (409)."""
    try:
        yield
    except IntegrityError:
        raise Conflict(f"{what} was saved at the same time by someone else; reload and check") from None


REGISTER_FIELDS = (
    "name",
    "supplies",
    "criticality",
    "contact_name",
    "contact_email",
    "contact_phone",
    "address",
    "iso9001_certificate",
    "iso9001_expires_on",
    "notes",
    "owner_id",
)


def _validated(data: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    unknown = sorted(set(data) - set(REGISTER_FIELDS))
    errors: dict[str, str] = {name: "is not a field of a supplier" for name in unknown}
    values: dict[str, Any] = {}

    def text(name: str, limit: int, required: bool = False) -> None:
        if partial and name not in data:
            return
        values[name] = clean_text(errors, name, data.get(name), required=required, limit=limit)

    text("name", 200, required=True)
    text("supplies", 5000, required=True)
    text("contact_name", 200)
    text("contact_email", 254)
    text("contact_phone", 60)
    text("address", 2000)
    text("iso9001_certificate", 120)
    text("notes", 10_000)
    if not partial or "criticality" in data:
        criticality = data.get("criticality")
        if criticality not in CRITICALITY_LABELS:
            errors["criticality"] = "must be one of: " + ", ".join(CRITICALITY_LABELS)
        values["criticality"] = criticality
    if values.get("contact_email") and not EMAIL_RE.match(values["contact_email"]):
        errors["contact_email"] = "must be an e-mail address"
    if not partial or "iso9001_expires_on" in data:
        values["iso9001_expires_on"] = clean_date(
            errors, "iso9001_expires_on", data.get("iso9001_expires_on"), required=False
        )
    if not partial and values.get("iso9001_certificate") and not values.get("iso9001_expires_on"):
        errors.setdefault("iso9001_expires_on", "is required with a certificate number")
    if not partial or "owner_id" in data:
        owner_id = data.get("owner_id")
        if owner_id in (None, "", 0):
            values["owner_id"] = None
        else:
            owner = row_by_id(User, owner_id)
            if owner is None or not owner.active or not owner.has_role(*OWNER_ROLES):
                errors["owner_id"] = "must be an active quality officer, manager or process owner"
            else:
                values["owner_id"] = owner.id
    if errors:
        raise InvalidData(errors)
    return values


def create_supplier(actor: User | Actor, **data: Any) -> Supplier:
    """Add a supplier to the register (it starts as prospective; it is not on the approved list)."""
    actor = as_actor(actor)
    require_roles(actor, MANAGE_ROLES, "add suppliers")
    values = _validated(data)
    if values["owner_id"] is None:
        values["owner_id"] = actor.id if actor.roles & set(OWNER_ROLES) else None
    today = dt.date.today()
    with recorded_change(actor, "supplier added") as session:
        supplier = Supplier(reference=next_reference(session, "SUP", today.year), **values)
        session.add(supplier)
    return supplier


def update_supplier(supplier: Supplier, actor: User | Actor, **data: Any) -> Supplier:
    """Change a supplier's register details (not its status: that is the lifecycle's)."""
    actor = as_actor(actor)
    require_roles(actor, MANAGE_ROLES, "edit suppliers")
    values = _validated(data, partial=True)
    if supplier.state == "disqualified":
        raise InvalidTransition("A disqualified supplier's record is kept as it was")
    certificate = values.get("iso9001_certificate", supplier.iso9001_certificate)
    if certificate and not values.get("iso9001_expires_on", supplier.iso9001_expires_on):
        raise InvalidData({"iso9001_expires_on": "is required with a certificate number"})
    with recorded_change(actor, f"supplier {supplier.reference} edited"):
        for name, value in values.items():
            setattr(supplier, name, value)
        if "criticality" in values and supplier.last_evaluated_on is not None:
            supplier.next_evaluation_due = next_evaluation(supplier.last_evaluated_on, supplier.criticality)
    return supplier


def supplier_link(errors: dict[str, str], supplier_id: Any, source: str) -> Supplier | None:
    """The supplier an NC is raised against (``supplier_id``), checked; records why not in ``errors``."""
    if supplier_id in (None, "", 0):
        return None
    supplier = row_by_id(Supplier, supplier_id)
    if supplier is None:
        errors["supplier_id"] = "is not a supplier of the register"
    elif source != "supplier":
        errors["supplier_id"] = 'can be given only for the source "supplier"'
    return supplier


def add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    last = [
        31,
        29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28,
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ]
    return dt.date(year, month, min(day.day, last[month - 1]))


def next_evaluation(evaluated_on: dt.date, criticality: str) -> dt.date:
    """When a supplier of this criticality is to be re-evaluated (the cadence of ``REEVALUATION_MONTHS``)."""
    return add_months(evaluated_on, REEVALUATION_MONTHS.get(criticality, 12))


# --------------------------------------------------------------------------- deliveries


def _delivery_values(errors: dict[str, str], row: dict[str, Any], name: str = "{}") -> tuple[str, Any, Any]:
    reference = clean_text(errors, name.format("order_reference"), row.get("order_reference"), limit=60)
    due = clean_date(errors, name.format("due_on"), row.get("due_on"))
    delivered = clean_date(errors, name.format("delivered_on"), row.get("delivered_on"))
    if delivered and delivered > dt.date.today():
        errors[name.format("delivered_on")] = "cannot be in the future"
    return reference, due, delivered


def record_delivery(supplier: Supplier, actor: User | Actor, **data: Any) -> SupplierDelivery:
    """One delivery with its promised and actual dates (on-time delivery is computed from them)."""
    actor = as_actor(actor)
    require_roles(actor, DELIVERY_ROLES, "record deliveries")
    unknown = sorted(set(data) - set(CSV_COLUMNS))
    errors: dict[str, str] = {name: "is not a field of a delivery" for name in unknown}
    reference, due, delivered = _delivery_values(errors, data)
    if not errors and _existing_orders(supplier, [reference]):
        errors["order_reference"] = f"{reference} is already recorded for this supplier"
    if errors:
        raise InvalidData(errors)
    with (
        saved_once(f"Delivery {reference}"),
        recorded_change(actor, f"delivery recorded for {supplier.reference}") as session,
    ):
        delivery = SupplierDelivery(
            supplier_id=supplier.id,
            order_reference=reference,
            due_on=due,
            delivered_on=delivered,
            recorded_by_id=actor.id,
        )
        session.add(delivery)
    return delivery


def _existing_orders(supplier: Supplier, references: Sequence[str]) -> set[str]:
    return set(
        db.session.scalars(
            select(SupplierDelivery.order_reference).where(
                SupplierDelivery.supplier_id == supplier.id, SupplierDelivery.order_reference.in_(list(references))
            )
        )
    )


def import_deliveries(supplier: Supplier, actor: User | Actor, data: bytes | str) -> int:
    """Deliveries from CSV (``order_reference,due_on,delivered_on``): all of them or, on any error, none.

    Errors name the line and the column ("line 4, column due_on: must be a date (YYYY-MM-DD)").
    """
    actor = as_actor(actor)
    require_roles(actor, DELIVERY_ROLES, "import deliveries")
    if isinstance(data, bytes):
        if len(data) > MAX_CSV_BYTES:
            raise InvalidData({"file": f"must be at most {MAX_CSV_BYTES // 1024} KB"})
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidData({"file": "must be UTF-8 text (CSV)"}) from None
    if "\x00" in data:
        raise InvalidData({"file": "must be a CSV text file"})
    reader = csv.reader(io.StringIO(data))
    try:
        header = [h.strip().lower() for h in next(reader, [])]
    except csv.Error as exc:
        raise InvalidData({"file": f"line 1: {exc}"}) from None
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise InvalidData(
            {
                "file": "line 1: the header must name the columns "
                + ", ".join(CSV_COLUMNS)
                + " (missing: "
                + ", ".join(missing)
                + ")"
            }
        )
    problems: list[str] = []
    rows: list[tuple[int, str, dt.date, dt.date]] = []
    seen: dict[str, int] = {}
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(rows) + len(problems) >= MAX_CSV_ROWS:
                raise InvalidData({"file": f"must have at most {MAX_CSV_ROWS} deliveries"})
            row = dict(zip(header, cells, strict=False))
            errors: dict[str, str] = {}
            reference, due, delivered = _delivery_values(errors, row)
            if reference and reference in seen:
                errors["order_reference"] = f"{reference} is already on line {seen[reference]}"
            for column, message in errors.items():
                problems.append(f"line {line}, column {column}: {message}")
            if not errors:
                seen[reference] = line
                rows.append((line, reference, due, delivered))
    except csv.Error as exc:
        raise InvalidData({"file": f"line {reader.line_num}: {exc}"}) from None
    existing = _existing_orders(supplier, [r[1] for r in rows]) if rows else set()
    problems += [
        f"line {line}, column order_reference: {ref} is already recorded" for line, ref, _, _ in rows if ref in existing
    ]
    if problems:
        shown = "; ".join(problems[:20]) + (f"; and {len(problems) - 20} more" if len(problems) > 20 else "")
        raise InvalidData({"file": shown})
    if not rows:
        raise InvalidData({"file": "holds no deliveries"})
    with (
        saved_once("One of these deliveries"),
        recorded_change(actor, f"{len(rows)} deliveries imported for {supplier.reference}") as session,
    ):
        session.add_all(
            SupplierDelivery(
                supplier_id=supplier.id,
                order_reference=ref,
                due_on=due,
                delivered_on=delivered,
                recorded_by_id=actor.id,
            )
            for _line, ref, due, delivered in rows
        )
    return len(rows)


# --------------------------------------------------------------------------- scores


@dataclass(frozen=True)
class Computed:
    """The criteria computed from our records over a period, and what they were computed from."""

    scores: dict[str, float | None]
    basis: dict[str, Any]


def computed_scores(supplier: Supplier, start: dt.date, end: dt.date) -> Computed:
    """Quality (from its NCs and their severity), delivery (on time) and certification, for a period."""
    session = db.session
    severities = session.execute(
        select(Nonconformity.severity, func.count())
        .where(
            Nonconformity.supplier_id == supplier.id,
            Nonconformity.detected_on.between(start, end),
            Nonconformity.state != "rejected",
        )
        .group_by(Nonconformity.severity)
    ).all()
    ncs = {str(severity or "ungraded"): count for severity, count in severities}
    penalty = sum(NC_PENALTY.get(severity, 10) * count for severity, count in severities)
    quality = max(0.0, 100.0 - penalty)
    total, on_time = session.execute(
        select(func.count(), func.count().filter(SupplierDelivery.delivered_on <= SupplierDelivery.due_on)).where(
            SupplierDelivery.supplier_id == supplier.id, SupplierDelivery.due_on.between(start, end)
        )
    ).one()
    delivery = round(100.0 * on_time / total, 1) if total else None
    if supplier.iso9001_certificate and supplier.iso9001_expires_on:
        certificate = "valid" if supplier.iso9001_expires_on >= end else "expired"
    else:
        certificate = "none"
    return Computed(
        {"quality": quality, "delivery": delivery, "certification": CERTIFICATION_SCORE[certificate]},
        {"nonconformities": ncs, "deliveries": total, "on_time": on_time, "certificate": certificate},
    )


def weighted_total(scores: dict[str, float | None], weights: dict[str, float]) -> float:
    """The weighted mean of the criteria that have a score (their weights re-shared to 100)."""
    used = {name: weights[name] for name, score in scores.items() if score is not None and weights.get(name)}
    if not used:
        return 0.0
    return round(sum(float(scores[name]) * w for name, w in used.items()) / sum(used.values()), 1)


# --------------------------------------------------------------------------- the criteria's weights


def current_weights() -> dict[str, float]:
    """The weights the next evaluation uses: the latest an administrator set, or the defaults."""
    row = db.session.scalar(select(SupplierCriteriaWeights).order_by(SupplierCriteriaWeights.id.desc()).limit(1))
    return dict(row.weights) if row is not None else dict(DEFAULT_WEIGHTS)


def weights_history(limit: int = 50) -> list[SupplierCriteriaWeights]:
    """The weights administrators set, newest first."""
    return list(
        db.session.scalars(
            select(SupplierCriteriaWeights)
            .options(selectinload(SupplierCriteriaWeights.set_by))
            .order_by(SupplierCriteriaWeights.id.desc())
            .limit(limit)
        )
    )


def _number(value: float) -> float | int:
    """A weight as stored and shown: whole numbers without a decimal point."""
    return int(value) if float(value).is_integer() else value


def clean_weights(raw: Any, *, normalise: bool = False) -> dict[str, float | int]:
    """The criteria's weights from ``raw`` (criterion → percent), checked; InvalidData naming each bad one.

    Every criterion needs a weight of 0 or more (0 leaves it out of the score); they must add up to
    100, unless ``normalise`` asks to scale them to 100 (rounded to one decimal).
    """
    if not isinstance(raw, dict):
        raise InvalidData({"weights": "must give a weight for each criterion: " + ", ".join(CRITERIA)})
    errors: dict[str, str] = {}
    for name in sorted(set(raw) - set(CRITERIA)):
        errors[f"weights.{name}"] = "is not an evaluation criterion (" + ", ".join(CRITERIA) + ")"
    weights: dict[str, float] = {}
    for name, label in CRITERIA.items():
        value = raw.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            errors[f"weights.{name}"] = f"{label}: give a weight (0 or more)"
            continue
        try:
            if isinstance(value, bool):
                raise ValueError
            number = float(value)
        except (TypeError, ValueError):
            errors[f"weights.{name}"] = f"{label}: must be a number (0 or more)"
            continue
        if number != number or number in (float("inf"), float("-inf")):
            errors[f"weights.{name}"] = f"{label}: must be a number (0 or more)"
        elif number < 0:
            errors[f"weights.{name}"] = f"{label}: cannot be negative"
        elif number > 100:
            errors[f"weights.{name}"] = f"{label}: at most 100"
        else:
            weights[name] = round(number, 1)
    if errors:
        raise InvalidData(errors)
    total = sum(weights.values())
    if total <= 0:
        raise InvalidData({"weights": "at least one criterion needs a weight above 0"})
    if normalise:
        scaled = {name: round(100 * w / total, 1) for name, w in weights.items()}
        drift = round(100 - sum(scaled.values()), 1)
        if drift:  # rounding left the sum a tenth off: the largest weight takes it
            largest = max(scaled, key=lambda name: scaled[name])
            scaled[largest] = round(scaled[largest] + drift, 1)
        weights = scaled
    elif abs(total - 100) > 0.05:
        raise InvalidData(
            {"weights": f"add up to {total:g}; they must add up to 100 (or ask for them to be normalised)"}
        )
    return {name: _number(w) for name, w in weights.items()}


def set_criteria_weights(
    actor: User | Actor, *, weights: Any, normalise: bool = False, reason: Any = ""
) -> dict[str, float | int]:
    """An administrator sets the weights the next evaluations use; past evaluations keep theirs."""
    actor = as_actor(actor)
    require_roles(actor, frozenset({"admin"}), "set the supplier evaluation weights")
    if not isinstance(normalise, bool):
        raise InvalidData({"normalise": "must be true or false"})
    cleaned = clean_weights(weights, normalise=normalise)
    errors: dict[str, str] = {}
    reason = clean_text(errors, "reason", reason, required=False, limit=2000)
    if errors:
        raise InvalidData(errors)
    described = ", ".join(f"{CRITERIA[name].lower()} {w:g}" for name, w in cleaned.items())
    with recorded_change(actor, f"supplier evaluation weights set: {described}") as session:
        session.add(SupplierCriteriaWeights(weights=cleaned, reason=reason, set_by_id=actor.id))
    return cleaned


def describe_weights(weights: dict[str, Any]) -> str:
    """ "Quality 40 %, delivery 25 %, …" in the criteria's order."""
    return ", ".join(f"{CRITERIA[name].lower()} {float(weights.get(name, 0)):g} %" for name in CRITERIA).capitalize()


def weight_changes(evaluations: Sequence[SupplierEvaluation]) -> dict[int, str]:
    """For a trend (oldest first): evaluation id → what changed in the weights since the one before it.

    A score that moved only because the weights did is then explained beside it.
    """
    changes: dict[int, str] = {}
    previous: dict[str, Any] | None = None
    for evaluation in evaluations:
        weights = evaluation.weights or DEFAULT_WEIGHTS
        if previous is not None and previous != weights:
            moved = [
                f"{CRITERIA[name].lower()} {float(previous.get(name, 0)):g} → {float(weights.get(name, 0)):g}"
                for name in CRITERIA
                if float(previous.get(name, 0)) != float(weights.get(name, 0))
            ]
            if moved:
                changes[evaluation.id] = (
                    "Weights changed since the previous evaluation: " + ", ".join(moved) + "; scores weighted "
                    "differently are not directly comparable."
                )
        previous = weights
    return changes


def band(score: float) -> str:
    """The status a score supports: approved, conditionally approved or suspended."""
    if score >= APPROVE_AT:
        return "approved"
    if score >= CONDITIONAL_AT:
        return "conditionally_approved"
    return "suspended"


def proposal_for(state: str, previous: float | None, score: float, why: str) -> tuple[str | None, str]:
    """The status change a falling score proposes for a supplier in ``state``, with its reason."""
    if state not in STATE_RANK or state == "suspended" or previous is None or score >= previous:
        return None, ""
    supported = band(score)
    if STATE_RANK[supported] <= STATE_RANK[state]:
        return None, ""
    threshold = APPROVE_AT if supported == "conditionally_approved" else CONDITIONAL_AT
    reason = (
        f"The score fell from {previous:g} to {score:g}, below {threshold:g}: "
        f"{PROPOSAL_LABELS[supported]}. {why}".strip()
    )
    return supported, reason


def _why(computed: Computed) -> str:
    ncs = computed.basis.get("nonconformities") or {}
    parts = []
    if ncs:
        parts.append("Nonconformities: " + ", ".join(f"{n} {severity}" for severity, n in sorted(ncs.items())) + ".")
    if computed.basis.get("deliveries"):
        parts.append(f"On time: {computed.basis['on_time']} of {computed.basis['deliveries']} deliveries.")
    if computed.basis.get("certificate") != "valid":
        parts.append(f"ISO 9001 certificate: {computed.basis.get('certificate')}.")
    return " ".join(parts)


def _latest_evaluation(session: Session, supplier: Supplier) -> SupplierEvaluation | None:
    return session.scalar(
        select(SupplierEvaluation)
        .where(SupplierEvaluation.supplier_id == supplier.id)
        .order_by(SupplierEvaluation.period_end.desc(), SupplierEvaluation.id.desc())
        .limit(1)
    )


def _propose(supplier: Supplier, proposed: str | None, reason: str) -> None:
    if proposed is not None:
        supplier.proposed_state, supplier.proposal_reason, supplier.proposed_at = proposed, reason, utcnow()


def rescore_supplier(session: Session, supplier: Supplier, what: str) -> float | None:
    """Bring the supplier's current score up to date (the last 12 months) inside the caller's transaction.

    Price and service come from its latest evaluation; a supplier never evaluated has no score yet,
    but its proposal still follows when a score exists.
    """
    latest = _latest_evaluation(session, supplier)
    if latest is None:
        return None
    today = dt.date.today()
    computed = computed_scores(supplier, today - dt.timedelta(days=ROLLING_DAYS), today)
    scores = {**computed.scores}
    if scores["delivery"] is None:
        scores["delivery"] = latest.scores.get("delivery")
    for name in ("price", "service"):
        scores[name] = latest.scores.get(name)
    score = weighted_total(scores, latest.weights or DEFAULT_WEIGHTS)
    previous = supplier.score
    proposed, reason = proposal_for(supplier.state, previous, score, f"{what}. {_why(computed)}".strip())
    supplier.score = score
    _propose(supplier, proposed, reason)
    return score


def _score(errors: dict[str, str], name: str, value: Any, *, required: bool) -> float | None:
    if value in (None, ""):
        if required:
            errors[name] = "is required (0 to 100)"
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        errors[name] = "must be a number from 0 to 100"
        return None
    if isinstance(value, bool) or not 0 <= number <= 100 or number != number:
        errors[name] = "must be a number from 0 to 100"
        return None
    return round(number, 1)


def record_evaluation(
    supplier: Supplier,
    actor: User | Actor,
    *,
    period_start: Any,
    period_end: Any,
    price: Any,
    service: Any,
    delivery: Any = None,
    comment: str = "",
) -> SupplierEvaluation:
    """Evaluate the supplier over a period: computed criteria plus the evaluator's price and service.

    ``delivery`` is the evaluator's figure when no delivery of the period is recorded (ignored
    otherwise). Sets the next evaluation by the supplier's criticality and proposes a status
    change when the score fell below its band.
    """
    actor = as_actor(actor)
    require_roles(actor, EVALUATE_ROLES, "evaluate suppliers")
    if supplier.state == "disqualified":
        raise InvalidTransition("A disqualified supplier is not evaluated")
    errors: dict[str, str] = {}
    start = clean_date(errors, "period_start", period_start)
    end = clean_date(errors, "period_end", period_end)
    today = dt.date.today()
    if start and end:
        if end < start:
            errors["period_end"] = "must not be before the start of the period"
        elif end > today:
            errors["period_end"] = "cannot be in the future"
        elif (end - start).days > 3 * 366:
            errors["period_start"] = "the period can be at most three years"
    scores = {
        "price": _score(errors, "price", price, required=True),
        "service": _score(errors, "service", service, required=True),
    }
    entered_delivery = _score(errors, "delivery", delivery, required=False)
    comment = clean_text(errors, "comment", comment, required=False, limit=5000)
    if errors:
        raise InvalidData(errors)
    if db.session.scalar(
        select(SupplierEvaluation.id).where(
            SupplierEvaluation.supplier_id == supplier.id,
            SupplierEvaluation.period_start == start,
            SupplierEvaluation.period_end == end,
        )
    ):
        raise InvalidData({"period_end": "this period is already evaluated"})
    computed = computed_scores(supplier, start, end)
    scores.update(computed.scores)
    basis = dict(computed.basis)
    if scores["delivery"] is None and entered_delivery is not None:
        scores["delivery"] = entered_delivery
        basis["delivery_entered"] = True
    weights = current_weights()
    total = weighted_total(scores, weights)
    previous = supplier.score
    proposed, reason = proposal_for(supplier.state, previous, total, _why(computed))
    with (
        saved_once("An evaluation of this period"),
        recorded_change(actor, f"evaluation of {supplier.reference}") as session,
    ):
        evaluation = SupplierEvaluation(
            supplier_id=supplier.id,
            period_start=start,
            period_end=end,
            scores=scores,
            weights=weights,
            basis=basis,
            total=total,
            previous_total=previous,
            proposed_state=proposed,
            proposal_reason=reason,
            comment=comment,
            evaluated_by_id=actor.id,
        )
        session.add(evaluation)
        supplier.evaluation_count += 1
        supplier.last_evaluated_on = today
        supplier.next_evaluation_due = next_evaluation(today, supplier.criticality)
        supplier.score = total
        _propose(supplier, proposed, reason)
    return evaluation


def evaluations_of(supplier: Supplier) -> list[SupplierEvaluation]:
    """The supplier's evaluations, oldest first: its score trend."""
    return list(
        db.session.scalars(
            select(SupplierEvaluation)
            .where(SupplierEvaluation.supplier_id == supplier.id)
            .options(selectinload(SupplierEvaluation.evaluated_by))
            .order_by(SupplierEvaluation.period_end, SupplierEvaluation.id)
        )
    )


def deliveries_of(supplier: Supplier, limit: int = 50) -> list[SupplierDelivery]:
    return list(
        db.session.scalars(
            select(SupplierDelivery)
            .where(SupplierDelivery.supplier_id == supplier.id)
            .order_by(SupplierDelivery.due_on.desc(), SupplierDelivery.id.desc())
            .limit(limit)
        )
    )


def dismiss_proposal(supplier: Supplier, actor: User | Actor, reason: str) -> Supplier:
    """Keep the supplier's status despite the proposal; the reason is recorded in the audit trail."""
    actor = as_actor(actor)
    require_roles(actor, EVALUATE_ROLES, "decide on status proposals")
    errors: dict[str, str] = {}
    reason = clean_text(errors, "reason", reason, limit=2000)
    if errors:
        raise InvalidData(errors)
    if supplier.proposed_state is None:
        raise InvalidTransition("There is no proposal to dismiss")
    with recorded_change(actor, f"status proposal for {supplier.reference} dismissed: {reason}"):
        supplier.proposed_state, supplier.proposal_reason, supplier.proposed_at = None, "", None
    return supplier


# --------------------------------------------------------------------------- the approved supplier list


def approved_query(q: str = "") -> Any:
    """The approved supplier list as a query (approved and conditionally approved, by name), ``q`` in the
    name or what they supply."""
    stmt = select(Supplier).where(Supplier.state.in_(APPROVED_STATES))
    if q:
        stmt = stmt.where(contains(Supplier.name, q) | contains(Supplier.supplies, q))
    return stmt.order_by(Supplier.name, Supplier.id)


def approved_suppliers() -> list[Supplier]:
    """The whole approved supplier list (for the PDF, the spreadsheet and the API)."""
    return list(db.session.scalars(approved_query().options(selectinload(Supplier.owner))))


ASL_HEADERS = (
    "Reference",
    "Supplier",
    "Supplies",
    "Status",
    "Scope of approval",
    "Conditions",
    "Criticality",
    "ISO 9001 certificate",
    "Certificate expires",
    "Score",
    "Next evaluation",
    "Contact",
)


def approved_list_rows(today: dt.date) -> list[list[Any]]:
    rows = []
    for s in approved_suppliers():
        rows.append(
            [
                s.reference,
                s.name,
                s.supplies,
                s.state_label,
                s.approval_scope,
                s.conditions if s.state == "conditionally_approved" else "",
                s.criticality_label,
                s.iso9001_certificate or "none",
                s.iso9001_expires_on.isoformat() if s.iso9001_expires_on else "",
                "" if s.score is None else s.score,
                s.next_evaluation_due.isoformat() if s.next_evaluation_due else "",
                ", ".join(v for v in (s.contact_name, s.contact_email, s.contact_phone) if v),
            ]
        )
    return rows


def approved_list_xlsx(today: dt.date, organisation: str) -> bytes:
    """The approved supplier list as a spreadsheet; text that could be a formula stays text."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Approved suppliers"
    sheet.append([f"{organisation} — approved supplier list, {today.isoformat()}"])
    sheet.append(list(ASL_HEADERS))
    for row in approved_list_rows(today):
        sheet.append([spreadsheet_safe(value) for value in row])
    for column, width in zip("ABCDEFGHIJKL", (16, 30, 40, 22, 30, 30, 12, 22, 16, 8, 16, 40), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --------------------------------------------------------------------------- SCAR


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def raise_scar(nc: Nonconformity, actor: User | Actor, *, request: str, respond_by: Any = None) -> tuple[Scar, str]:
    """A corrective action request to the supplier of ``nc``, with its answer link's token (shown once)."""
    actor = as_actor(actor)
    require_roles(actor, SCAR_ROLES, "request corrective action from suppliers")
    errors: dict[str, str] = {}
    request = clean_text(errors, "request", request, limit=10_000)
    today = dt.date.today()
    due = clean_date(errors, "respond_by", respond_by, required=False) if respond_by not in (None, "") else None
    if due is None and "respond_by" not in errors:
        due = today + dt.timedelta(days=SCAR_RESPONSE_DAYS)
    if due is not None and due < today:
        errors["respond_by"] = "cannot be in the past"
    if nc.supplier_id is None:
        errors["nonconformity"] = "is not against a supplier"
    elif nc.state in NC_CLOSED_STATES:
        errors["nonconformity"] = "is closed"
    elif db.session.scalar(
        select(Scar.id).where(Scar.nonconformity_id == nc.id, Scar.state.in_(Scar.OPEN_STATES)).limit(1)
    ):
        errors["nonconformity"] = "already has an open corrective action request"
    if errors:
        raise InvalidData(errors)
    token = secrets.token_urlsafe(32)
    with recorded_change(actor, f"corrective action requested from the supplier of {nc.reference}") as session:
        scar = Scar(
            reference=next_reference(session, "SCAR", today.year),
            supplier_id=nc.supplier_id,
            nonconformity_id=nc.id,
            request=request,
            respond_by=due,
            raised_by_id=actor.id,
            token_hash=_hash(token),
            link_issued_at=utcnow(),
        )
        session.add(scar)
    return scar, token


def issue_scar_link(scar: Scar, actor: User | Actor) -> str:
    """A new answer link for the supplier (the previous one stops working); the token is shown once."""
    actor = as_actor(actor)
    require_roles(actor, SCAR_ROLES, "send answer links to suppliers")
    if scar.state != "awaiting_response":
        raise InvalidTransition("A link is sent only while the supplier's answer is awaited")
    token = secrets.token_urlsafe(32)
    with recorded_change(actor, f"answer link of {scar.reference} issued"):
        scar.token_hash = _hash(token)
        scar.link_issued_at = utcnow()
        scar.link_used_at = None
    return token


def scar_for_token(token: str) -> Scar | None:
    if not token or len(token) > 64:
        return None
    return db.session.scalar(select(Scar).where(Scar.token_hash == _hash(token)))


ANSWER_FIELDS = ("containment", "root_cause", "actions", "responder")
ANSWER_LIMIT = 10_000


def submit_scar_answer(token: str, **answer: Any) -> Scar:
    """The supplier's answer through its link (no account): used once, then the link is spent."""
    scar = scar_for_token(token)
    if scar is None:
        raise NotPermitted("This link is not valid")
    if scar.link_used_at is not None or scar.state != "awaiting_response":
        raise InvalidTransition("This link has already been used")
    unknown = sorted(set(answer) - set(ANSWER_FIELDS))
    if unknown:
        raise InvalidData({name: "is not a field of this form" for name in unknown})
    supplier = scar.supplier
    responder = str(answer.get("responder") or "").strip()[:200]
    actor = Actor(
        None, f"{responder or 'Supplier'} ({supplier.name}, through the answer link)"[:120], frozenset({"supplier"})
    )
    fire(scar, "submit_answer", actor, answer)
    return scar


def scars_of(supplier: Supplier) -> list[Scar]:
    return list(
        db.session.scalars(
            select(Scar)
            .where(Scar.supplier_id == supplier.id)
            .options(selectinload(Scar.nonconformity))
            .order_by(Scar.id.desc())
        )
    )


def open_scars_for_nc(nc: Nonconformity) -> list[Scar]:
    return list(db.session.scalars(select(Scar).where(Scar.nonconformity_id == nc.id).order_by(Scar.id)))


# --------------------------------------------------------------------------- lifecycle effects and facts


@effect("supplier", "approve")
def _approved(supplier: Supplier, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    supplier.approval_scope = result.data["scope"]
    supplier.conditions, supplier.conditions_review_by, supplier.status_reason = "", None, ""
    supplier.approved_at = now
    _clear_proposal(supplier)


@effect("supplier", "approve_conditionally")
def _approved_with_conditions(supplier: Supplier, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    if result.data["review_by"] < now.date():
        raise InvalidData({"review_by": "cannot be in the past"})
    supplier.conditions = result.data["conditions"]
    supplier.conditions_review_by = result.data["review_by"]
    supplier.status_reason = ""
    if not supplier.approval_scope:
        supplier.approval_scope = supplier.supplies
    supplier.approved_at = now
    _clear_proposal(supplier)


def _clear_proposal(supplier: Supplier) -> None:
    supplier.proposed_state, supplier.proposal_reason, supplier.proposed_at = None, "", None


@effect("supplier", "suspend", "re_evaluate", "disqualify")
def _status_changed(supplier: Supplier, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    supplier.status_reason = result.data["reason"]
    _clear_proposal(supplier)


@effect("supplier", "start_evaluation")
def _evaluation_started(supplier: Supplier, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    if supplier.owner_id is None and actor.id is not None:
        supplier.owner_id = actor.id


@effect("scar", "submit_answer")
def _answered(scar: Scar, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    for name in ANSWER_FIELDS:
        setattr(scar, name, result.data[name])
    scar.answered_at = now
    scar.answered_through_link = actor.id is None
    scar.link_used_at = now
    scar.rounds += 1


@effect("scar", "accept")
def _accepted(scar: Scar, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    due = result.data["verification_due"]
    if due < now.date():
        raise InvalidData({"verification_due": "cannot be in the past"})
    scar.review_comment = result.data.get("review_comment") or ""
    scar.verification_due = due


@effect("scar", "return_answer")
def _returned(scar: Scar, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    scar.returned_reason = result.data["reason"]
    scar.token_hash = None  # a new link is issued for the next answer
    scar.link_used_at = None
    scar.link_issued_at = None
    if scar.respond_by < now.date() + dt.timedelta(days=7):
        scar.respond_by = now.date() + dt.timedelta(days=7)


@effect("scar", "verify")
def _verified(scar: Scar, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    scar.verification_evidence = result.data["evidence"]
    scar.verified_at = now
    rescore_supplier(db.session(), scar.supplier, f"{scar.reference} verified effective")


@effect("scar", "cancel")
def _cancelled(scar: Scar, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    scar.cancel_reason = result.data["reason"]
    scar.token_hash = None


@effect("nonconformity", "triage", "reject")
def _supplier_nc_graded(nc: Nonconformity, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    """A supplier NC's severity (or its rejection: it was none) changes the supplier's quality score."""
    if nc.supplier_id is not None:
        supplier = db.session.get(Supplier, nc.supplier_id)
        if supplier is not None:
            if "severity" in result.data:  # whichever effect runs first, the score reads the new grade
                nc.severity = result.data["severity"]
            db.session.flush()
            what = f"graded {result.data['severity']}" if "severity" in result.data else "rejected"
            rescore_supplier(db.session(), supplier, f"{nc.reference} {what}")


@facts_provider("supplier", provides=("evaluation_count",))
def _supplier_facts(session: Session, suppliers: Sequence[Supplier]) -> dict[int, dict[str, Any]]:
    return {s.id: {"evaluation_count": s.evaluation_count} for s in suppliers}


def scar_counts(supplier_ids: Sequence[int]) -> dict[int, int]:
    """Open SCARs per supplier, for a page of suppliers in one query."""
    rows = db.session.execute(
        select(Scar.supplier_id, func.count())
        .where(id_in(Scar.supplier_id, list(supplier_ids)), Scar.state.in_(Scar.OPEN_STATES))
        .group_by(Scar.supplier_id)
    ).all()
    return dict(rows)


def raise_supplier_nc(
    supplier: Supplier,
    actor: User | Actor,
    *,
    title: str,
    description: str,
    evidence: tuple[BinaryIO, str] | None = None,
    **fields: Any,
) -> Nonconformity:
    """A nonconformity against this supplier (source "supplier"): its score follows at once."""
    from .nonconformities import raise_nonconformity

    return raise_nonconformity(
        actor,
        title=title,
        description=description,
        source="supplier",
        supplier_id=supplier.id,
        evidence=evidence,
        **fields,
    )


# --------------------------------------------------------------------------- figures for the rest of the system


def external_provider_performance(start: dt.date, end: dt.date) -> dict[str, Any]:
    """The performance of external providers in a period (ISO 9001 9.3.2 c 7), for the management review.

    Suppliers by status, the evaluations of the period and their scores, the lowest scores,
    on-time delivery and the corrective action requests.
    """
    session = db.session
    by_state = dict(session.execute(select(Supplier.state, func.count()).group_by(Supplier.state)).all())
    evaluations = list(
        session.execute(
            select(Supplier.reference, Supplier.name, SupplierEvaluation.total, SupplierEvaluation.period_end)
            .join(Supplier, Supplier.id == SupplierEvaluation.supplier_id)
            .where(SupplierEvaluation.period_end.between(start, end))
            .order_by(SupplierEvaluation.total, Supplier.reference)
        ).all()
    )
    deliveries, on_time = session.execute(
        select(func.count(), func.count().filter(SupplierDelivery.delivered_on <= SupplierDelivery.due_on)).where(
            SupplierDelivery.due_on.between(start, end)
        )
    ).one()
    first, last = (
        dt.datetime.combine(start, dt.time.min, tzinfo=dt.UTC),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC),
    )
    scars = dict(
        session.execute(
            select(Scar.state, func.count())
            .where(Scar.created_at >= first, Scar.created_at < last)
            .group_by(Scar.state)
        ).all()
    )
    overdue = session.scalar(
        select(func.count()).where(Supplier.state != "disqualified", Supplier.next_evaluation_due < end)
    )
    return {
        "suppliers_by_status": {state: by_state.get(state, 0) for state in STATE_LABELS},
        "evaluations": len(evaluations),
        "average_score": round(sum(e.total for e in evaluations) / len(evaluations), 1) if evaluations else None,
        "lowest_scores": [
            {"reference": e.reference, "supplier": e.name, "score": e.total, "period_end": e.period_end.isoformat()}
            for e in evaluations[:10]
        ],
        "deliveries": deliveries,
        "on_time_rate": round(100.0 * on_time / deliveries, 1) if deliveries else None,
        "corrective_action_requests": sum(scars.values()),
        "requests_verified": scars.get("verified", 0),
        "requests_open": sum(n for state, n in scars.items() if state in Scar.OPEN_STATES),
        "evaluations_overdue": overdue or 0,
    }


STATE_LABELS = ("prospective", "under_evaluation", "approved", "conditionally_approved", "suspended", "disqualified")


def score_panel(limit: int = 8) -> dict[str, Any]:
    """The dashboard's supplier panel: lowest scores of approved suppliers, proposals, overdue evaluations."""
    today = dt.date.today()
    session = db.session
    lowest = list(
        session.execute(
            select(Supplier.id, Supplier.name, Supplier.score, Supplier.state)
            .where(Supplier.state.in_(APPROVED_STATES), Supplier.score.is_not(None))
            .order_by(Supplier.score, Supplier.id)
            .limit(limit)
        ).all()
    )
    listed, average, proposals, overdue = session.execute(
        select(
            func.count().filter(Supplier.state.in_(APPROVED_STATES)),
            func.avg(Supplier.score).filter(Supplier.state.in_(APPROVED_STATES)),
            func.count().filter(Supplier.proposed_state.is_not(None)),
            func.count().filter(Supplier.state != "disqualified", Supplier.next_evaluation_due < today),
        )
    ).one()
    open_scars = session.scalar(select(func.count()).where(Scar.state.in_(Scar.OPEN_STATES))) or 0
    return {
        "listed": listed or 0,
        "average": round(float(average), 1) if average is not None else None,
        "proposals": proposals or 0,
        "evaluations_overdue": overdue or 0,
        "open_scars": open_scars,
        "lowest": [{"id": r.id, "name": r.name, "score": r.score, "state": r.state} for r in lowest],
    }


def readiness_figures(today: dt.date) -> dict[str, int]:
    """8.4 evidence for certification readiness: approved suppliers, overdue re-evaluations, NCs without SCAR."""
    session = db.session
    listed, overdue = session.execute(
        select(
            func.count().filter(Supplier.state.in_(APPROVED_STATES)),
            func.count().filter(Supplier.state.in_(APPROVED_STATES), Supplier.next_evaluation_due < today),
        )
    ).one()
    with_scar = select(Scar.nonconformity_id)
    without = session.scalar(
        select(func.count()).where(
            Nonconformity.supplier_id.is_not(None),
            Nonconformity.state.not_in(NC_CLOSED_STATES),
            Nonconformity.id.not_in(with_scar),
        )
    )
    return {
        "approved_suppliers": listed or 0,
        "overdue_supplier_evaluations": overdue or 0,
        "supplier_ncs_without_scar": without or 0,
    }


def email_scar_link(scar: Scar, link: str) -> str:
    """E-mail the answer link to the supplier's contact: "sent", "logged" (no mail server) or "failed".

    The link is the only copy of the token: it goes to the contact's address and nowhere else.
    """
    from flask import current_app
    from flask_mail import Message

    from ..extensions import mail

    supplier = scar.supplier
    if not supplier.contact_email:
        raise InvalidData({"contact_email": "the supplier has no contact e-mail address"})
    organisation = current_app.config.get("QMS_ORGANISATION", "")
    subject = f"[{organisation}] Corrective action request {scar.reference}".replace("\n", " ")[:200]
    body = (
        f"Dear {supplier.contact_name or supplier.name},\n\n"
        f"{organisation} asks for your corrective action on: {scar.nonconformity.title}\n\n"
        f"{scar.request}\n\n"
        f"Please answer by {scar.respond_by.isoformat()} through this link (no account needed; it works once):\n"
        f"{link}\n"
    )
    message = Message(subject=subject, recipients=[supplier.contact_email], body=body)
    if not current_app.config.get("MAIL_SERVER"):
        current_app.logger.info("SCAR %s link for %s (mail not configured, not sent)", scar.reference, supplier.name)
        return "logged"
    try:
        mail.send(message)
    except Exception:  # the officer is told and can copy the link instead
        current_app.logger.exception("SCAR %s: the e-mail to the supplier failed", scar.reference)
        return "failed"
    return "sent"
