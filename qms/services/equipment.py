"""Monitoring and measuring resources (ISO 9001 7.1.5): the equipment register, calibration records
and the out-of-tolerance impact assessment (7.1.5.2).

A calibration found out of tolerance *as found* opens an assessment listing what the instrument
measured since its last good calibration: the audit checklist answers, inspections and
nonconformities that cite it. A calibration that leaves it out of tolerance quarantines it, in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, BinaryIO

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from workflows import FireResult
from workflows.errors import InvalidData, InvalidTransition, NotPermitted

from ..database import db, id_in
from ..models import (
    CALIBRATION_KINDS,
    INSPECTION_KINDS,
    Actor,
    Attachment,
    Calibration,
    ChecklistItem,
    Equipment,
    Inspection,
    Nonconformity,
    OotAssessment,
    User,
)
from ..models.equipment import DUE_SOON_DAYS
from .attachments import store_file
from .audit_trail import recorded_change
from .filters import contains
from .references import next_reference
from .suppliers import saved_once
from .validation import clean_date, clean_text, require_roles, row_by_id
from .workflow import apply_event, as_actor, effect, facts_provider

MANAGE_ROLES = frozenset({"admin", "manager", "quality_officer"})
#: who records calibrations (the owner of an instrument is often a process owner)
CALIBRATION_ROLES = frozenset({"manager", "quality_officer", "process_owner"})
OWNER_ROLES = ("quality_officer", "manager", "process_owner")
REGISTER_FIELDS = (
    "identifier",
    "name",
    "serial_number",
    "location",
    "measuring_range",
    "accuracy",
    "owner_id",
    "interval_days",
    "calibration_kind",
    "next_calibration_due",
    "notes",
)
CALIBRATION_FIELDS = (
    "calibrated_on",
    "kind",
    "performed_by",
    "certificate_number",
    "as_found",
    "as_found_in_tolerance",
    "as_left",
    "as_left_in_tolerance",
    "traceability",
    "next_due",
    "certificate_attachment_id",
)
#: how each calibration status is ordered on the register and counted on the dashboard
STATUS_ORDER = ("overdue", "due", "quarantined", "in_service", "out_of_service", "retired")


def _validated(data: dict[str, Any], *, partial: bool = False, current: Equipment | None = None) -> dict[str, Any]:
    unknown = sorted(set(data) - set(REGISTER_FIELDS))
    errors: dict[str, str] = {name: "is not a field of an instrument" for name in unknown}
    values: dict[str, Any] = {}

    def text(name: str, limit: int, required: bool = False) -> None:
        if partial and name not in data:
            return
        values[name] = clean_text(errors, name, data.get(name), required=required, limit=limit)

    text("identifier", 60, required=True)
    text("name", 200, required=True)
    text("serial_number", 120)
    text("location", 200)
    text("measuring_range", 200)
    text("accuracy", 200)
    text("notes", 10_000)
    if not partial or "interval_days" in data:
        interval = data.get("interval_days")
        try:
            number = (
                int(str(interval).strip()) if not isinstance(interval, bool) and interval not in (None, "") else None
            )
        except ValueError:
            number = None
        if number is None or not 1 <= number <= 3660:
            errors["interval_days"] = "must be a whole number of days from 1 to 3660"
        values["interval_days"] = number
    if not partial or "calibration_kind" in data:
        kind = data.get("calibration_kind") or "external"
        if kind not in CALIBRATION_KINDS:
            errors["calibration_kind"] = "must be one of: " + ", ".join(CALIBRATION_KINDS)
        values["calibration_kind"] = kind
    if not partial or "next_calibration_due" in data:
        values["next_calibration_due"] = clean_date(
            errors, "next_calibration_due", data.get("next_calibration_due"), required=False
        )
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
    identifier = values.get("identifier")
    if identifier and "identifier" not in errors:
        taken = db.session.scalar(select(Equipment.id).where(Equipment.identifier == identifier))
        if taken is not None and (current is None or taken != current.id):
            errors["identifier"] = f"{identifier} is already in the register"
    if errors:
        raise InvalidData(errors)
    return values


def register_equipment(actor: User | Actor, **data: Any) -> Equipment:
    """Add an instrument to the register, in service (due for calibration by ``next_calibration_due``)."""
    actor = as_actor(actor)
    require_roles(actor, MANAGE_ROLES, "add measuring equipment")
    values = _validated(data)
    with (
        saved_once(f"Instrument {values['identifier']}"),
        recorded_change(actor, f"instrument {values['identifier']} registered") as session,
    ):
        equipment = Equipment(**values)
        session.add(equipment)
    return equipment


def update_equipment(equipment: Equipment, actor: User | Actor, **data: Any) -> Equipment:
    actor = as_actor(actor)
    require_roles(actor, MANAGE_ROLES, "edit measuring equipment")
    if equipment.state == "retired":
        raise InvalidTransition("A retired instrument's record is kept as it was")
    values = _validated(data, partial=True, current=equipment)
    with (
        saved_once("An instrument with this identifier"),
        recorded_change(actor, f"instrument {equipment.identifier} edited"),
    ):
        for name, value in values.items():
            setattr(equipment, name, value)
    return equipment


def equipment_link(errors: dict[str, str], equipment_id: Any) -> Equipment | None:
    """The instrument a record cites (``equipment_id``), checked; records why not in ``errors``."""
    if equipment_id in (None, "", 0):
        return None
    equipment = row_by_id(Equipment, equipment_id)
    if equipment is None:
        errors["equipment_id"] = "is not an instrument of the register"
    return equipment


def _boolean(errors: dict[str, str], name: str, value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if value in ("true", "yes", "1", "on", "in"):
        return True
    if value in ("false", "no", "0", "out"):
        return False
    errors[name] = "must be true (in tolerance) or false (out of tolerance)"
    return None


def record_calibration(
    equipment: Equipment,
    actor: User | Actor,
    *,
    certificate: tuple[BinaryIO, str] | None = None,
    **data: Any,
) -> tuple[Calibration, OotAssessment | None]:
    """Record a calibration (with its certificate file) and what follows, in one transaction.

    Out of tolerance as found → an impact assessment listing what the instrument measured since
    its last good calibration. Out of tolerance as left → the instrument is quarantined.
    """
    actor = as_actor(actor)
    require_roles(actor, CALIBRATION_ROLES, "record calibrations")
    if equipment.state == "retired":
        raise InvalidTransition("A retired instrument is not calibrated")
    unknown = sorted(set(data) - set(CALIBRATION_FIELDS))
    errors: dict[str, str] = {name: "is not a field of a calibration" for name in unknown}
    today = dt.date.today()
    calibrated_on = clean_date(errors, "calibrated_on", data.get("calibrated_on"))
    if calibrated_on and calibrated_on > today:
        errors["calibrated_on"] = "cannot be in the future"
    if calibrated_on and equipment.last_calibrated_on and calibrated_on < equipment.last_calibrated_on:
        errors["calibrated_on"] = (
            f"cannot be before its latest calibration ({equipment.last_calibrated_on.isoformat()})"
        )
    kind = data.get("kind") or equipment.calibration_kind
    if kind not in CALIBRATION_KINDS:
        errors["kind"] = "must be one of: " + ", ".join(CALIBRATION_KINDS)
    values = {
        "performed_by": clean_text(errors, "performed_by", data.get("performed_by"), limit=200),
        "certificate_number": clean_text(
            errors, "certificate_number", data.get("certificate_number"), required=False, limit=120
        ),
        "as_found": clean_text(errors, "as_found", data.get("as_found"), required=False, limit=5000),
        "as_left": clean_text(errors, "as_left", data.get("as_left"), required=False, limit=5000),
        "traceability": clean_text(errors, "traceability", data.get("traceability"), limit=2000),
    }
    found_ok = _boolean(errors, "as_found_in_tolerance", data.get("as_found_in_tolerance"))
    left_ok = _boolean(errors, "as_left_in_tolerance", data.get("as_left_in_tolerance"))
    if found_ok is False and not values["as_found"]:
        errors["as_found"] = "describe what was found out of tolerance"
    next_due = clean_date(errors, "next_due", data.get("next_due"), required=False)
    if next_due is None and calibrated_on:
        next_due = calibrated_on + dt.timedelta(days=equipment.interval_days)
    if next_due and calibrated_on and next_due <= calibrated_on:
        errors["next_due"] = "must be after the calibration date"
    existing_certificate = None
    if data.get("certificate_attachment_id") not in (None, "", 0):
        existing_certificate = row_by_id(Attachment, data["certificate_attachment_id"])
        if existing_certificate is None or (existing_certificate.lifecycle, existing_certificate.record_id) != (
            equipment.lifecycle_name,
            equipment.id,
        ):
            errors["certificate_attachment_id"] = "must be a file attached to this instrument"
    if errors:
        raise InvalidData(errors)
    stored = store_file(*certificate) if certificate else None
    assessment = None
    with recorded_change(actor, f"calibration of {equipment.identifier} recorded") as session:
        certificate_id = existing_certificate.id if existing_certificate is not None else None
        if stored is not None:
            attachment = Attachment(
                lifecycle=equipment.lifecycle_name,
                record_id=equipment.id,
                filename=stored.filename,
                content_type=stored.content_type,
                size=stored.size,
                sha256=stored.sha256,
                uploaded_by_id=actor.id,
            )
            session.add(attachment)
            session.flush()
            certificate_id = attachment.id
        calibration = Calibration(
            equipment_id=equipment.id,
            calibrated_on=calibrated_on,
            kind=kind,
            as_found_in_tolerance=found_ok,
            as_left_in_tolerance=left_ok,
            next_due=next_due,
            certificate_id=certificate_id,
            recorded_by_id=actor.id,
            **values,
        )
        session.add(calibration)
        session.flush()
        if not found_ok:
            start = equipment.last_good_calibration_on or equipment.created_at.date()
            start = min(start, calibrated_on)
            assessment = OotAssessment(
                reference=next_reference(session, "OOT", calibrated_on.year),
                equipment_id=equipment.id,
                calibration_id=calibration.id,
                window_start=start,
                window_end=calibrated_on,
                affected=affected_records(equipment, start, calibrated_on),
                opened_by_id=actor.id,
            )
            session.add(assessment)
        else:
            equipment.last_good_calibration_on = calibrated_on
        equipment.last_calibrated_on = calibrated_on
        equipment.next_calibration_due = next_due
        equipment.calibrated_in_tolerance = left_ok
        if not left_ok and equipment.state in ("in_service", "out_of_service"):
            apply_event(
                equipment,
                "quarantine",
                actor,
                {"reason": f"Calibration on {calibrated_on.isoformat()} left it out of tolerance"},
            )
    return calibration, assessment


def affected_records(equipment: Equipment, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    """What the instrument measured between ``start`` and ``end``: checklist answers, inspections that used it
    (not voided ones) and NCs that cite it."""
    items = db.session.execute(
        select(
            ChecklistItem.id,
            ChecklistItem.audit_id,
            ChecklistItem.clause_number,
            ChecklistItem.question,
            ChecklistItem.answered_at,
        )
        .where(
            ChecklistItem.equipment_id == equipment.id,
            ChecklistItem.answered_at.is_not(None),
            ChecklistItem.answered_at >= dt.datetime.combine(start, dt.time.min, tzinfo=dt.UTC),
            ChecklistItem.answered_at <= dt.datetime.combine(end, dt.time.max, tzinfo=dt.UTC),
        )
        .order_by(ChecklistItem.answered_at)
    ).all()
    from ..models import Audit

    audits = (
        dict(
            db.session.execute(
                select(Audit.id, Audit.reference).where(id_in(Audit.id, [i.audit_id for i in items]))
            ).all()
        )
        if items
        else {}
    )
    found: list[dict[str, Any]] = [
        {
            "kind": "checklist_item",
            "id": item.id,
            "record_id": item.audit_id,
            "reference": f"{audits.get(item.audit_id, 'Audit')} · {item.clause_number}".strip(" ·"),
            "title": item.question[:200],
            "date": item.answered_at.date().isoformat(),
        }
        for item in items
    ]
    ncs = db.session.execute(
        select(Nonconformity.id, Nonconformity.reference, Nonconformity.title, Nonconformity.detected_on)
        .where(Nonconformity.equipment_id == equipment.id, Nonconformity.detected_on.between(start, end))
        .order_by(Nonconformity.detected_on, Nonconformity.id)
    ).all()
    inspections = db.session.execute(
        select(Inspection.id, Inspection.reference, Inspection.item, Inspection.kind, Inspection.inspected_on)
        .where(
            Inspection.equipment_id == equipment.id,
            Inspection.inspected_on.between(start, end),
            Inspection.state != "voided",
        )
        .order_by(Inspection.inspected_on, Inspection.id)
    ).all()
    found += [
        {
            "kind": "inspection",
            "id": row.id,
            "record_id": row.id,
            "reference": row.reference,
            "title": f"{INSPECTION_KINDS[row.kind]} inspection: {row.item}"[:200],
            "date": row.inspected_on.isoformat(),
        }
        for row in inspections
    ]
    found += [
        {
            "kind": "nonconformity",
            "id": nc.id,
            "record_id": nc.id,
            "reference": nc.reference,
            "title": nc.title,
            "date": nc.detected_on.isoformat(),
        }
        for nc in ncs
    ]
    return found


AFFECTED_KINDS = {
    "checklist_item": "Audit checklist answer",
    "inspection": "Inspection",
    "nonconformity": "Nonconformity",
}


def calibrations_of(equipment: Equipment) -> list[Calibration]:
    return list(
        db.session.scalars(
            select(Calibration)
            .where(Calibration.equipment_id == equipment.id)
            .options(selectinload(Calibration.recorded_by))
            .order_by(Calibration.calibrated_on.desc(), Calibration.id.desc())
        )
    )


def assessments_of(equipment: Equipment) -> list[OotAssessment]:
    return list(
        db.session.scalars(
            select(OotAssessment).where(OotAssessment.equipment_id == equipment.id).order_by(OotAssessment.id.desc())
        )
    )


def cite_equipment(item: ChecklistItem, actor: User | Actor, equipment_id: Any) -> ChecklistItem:
    """Record (or clear, with None) the instrument a checklist answer relied on."""
    from .audits.checklists import can_answer

    actor = as_actor(actor)
    if not can_answer(item.audit, actor):
        raise NotPermitted("Only the auditors of this audit can say which instrument an answer relied on")
    errors: dict[str, str] = {}
    equipment = equipment_link(errors, equipment_id)
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, "instrument cited on a checklist answer"):
        item.equipment_id = equipment.id if equipment is not None else None
    return item


def status_condition(status: str, today: dt.date) -> Any:
    """SQL for one calibration status (as ``Equipment.calibration_status``)."""
    soon = today + dt.timedelta(days=DUE_SOON_DAYS)
    in_service = Equipment.state == "in_service"
    if status == "overdue":
        return in_service & or_(Equipment.next_calibration_due.is_(None), Equipment.next_calibration_due < today)
    if status == "due":
        return in_service & Equipment.next_calibration_due.between(today, soon)
    if status == "in_service":
        return in_service & (Equipment.next_calibration_due > soon)
    return Equipment.state == status


def status_counts(today: dt.date) -> dict[str, int]:
    """Instruments per calibration status (the dashboard's panel), in one query."""
    soon = today + dt.timedelta(days=DUE_SOON_DAYS)
    due = Equipment.next_calibration_due
    rows = db.session.execute(
        select(
            Equipment.state,
            func.count().filter(or_(due.is_(None), due < today)),
            func.count().filter(due.between(today, soon)),
            func.count(),
        ).group_by(Equipment.state)
    ).all()
    counts = dict.fromkeys(STATUS_ORDER, 0)
    for state, overdue, due_soon, total in rows:
        if state == "in_service":
            counts["overdue"] += overdue
            counts["due"] += due_soon
            counts["in_service"] += total - overdue - due_soon
        else:
            counts[state] = counts.get(state, 0) + total
    return counts


def equipment_register(status: str = "", location: str = "", q: str = "", today: dt.date | None = None) -> Select:
    today = today or dt.date.today()
    stmt = select(Equipment)
    if status in STATUS_ORDER:
        stmt = stmt.where(status_condition(status, today))
    if location:
        stmt = stmt.where(Equipment.location == location)
    if q:
        stmt = stmt.where(or_(contains(Equipment.identifier, q), contains(Equipment.name, q)))
    return stmt


def in_calibration_order(stmt: Select) -> Select:
    """The register page's order: undated instruments first, then by next calibration due and identifier.

    On PostgreSQL the index ``ix_order_equipment_calibration_due`` (migration a20c0de00107) is in
    this order, so the first page reads 26 rows instead of sorting the register.
    """
    return stmt.order_by(Equipment.next_calibration_due.asc().nulls_first(), Equipment.identifier, Equipment.id)


# --------------------------------------------------------------------------- lifecycle effects and facts


@effect("equipment", "quarantine", "withdraw", "retire")
def _status_changed(equipment: Equipment, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    equipment.status_reason = result.data["reason"]


@effect("equipment", "return_to_service")
def _returned(equipment: Equipment, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    equipment.status_reason = ""


def assessment_nc(session: Session, assessment: OotAssessment, actor: Actor, impact: str) -> Nonconformity:
    """The nonconformity an assessment raises for the results in doubt (in the caller's transaction)."""
    equipment = assessment.equipment
    listed = (
        "\n".join(
            f"- {AFFECTED_KINDS.get(a['kind'], a['kind'])} {a['reference']} ({a['date']}): {a['title']}"
            for a in assessment.affected
        )
        or "- none recorded in the register"
    )
    nc = Nonconformity(
        reference=next_reference(session, "NC", dt.date.today().year),
        title=f"Out of tolerance: {equipment.identifier} {equipment.name}"[:200],
        description=(
            f"Calibration on {assessment.window_end.isoformat()} found {equipment.identifier} out of tolerance "
            f"as found ({assessment.calibration.as_found or 'see the calibration record'}).\n\n"
            f"Measured since its last good calibration ({assessment.window_start.isoformat()}):\n{listed}\n\n"
            f"Impact: {impact}"
        ),
        source="process_monitoring",
        process=equipment.location,
        clause_refs=["7.1.5.2"],
        detected_on=assessment.window_end,
        raised_by_id=actor.id if actor.id is not None else assessment.opened_by_id,
        equipment_id=equipment.id,
    )
    session.add(nc)
    return nc


@effect("oot_assessment", "raise_nonconformity")
def _nc_raised(assessment: OotAssessment, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    assessment.impact = result.data["impact"]
    if assessment.nonconformity_id is None:
        assessment.nonconformity = assessment_nc(db.session(), assessment, actor, result.data["impact"])


@effect("oot_assessment", "conclude_no_impact", "close")
def _closed(assessment: OotAssessment, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    assessment.rationale = result.data["rationale"]
    assessment.closed_at = now


@facts_provider("equipment", provides=("calibrated_in_tolerance", "next_calibration_due"))
def _equipment_facts(session: Session, records: Sequence[Equipment]) -> dict[int, dict[str, Any]]:
    return {
        e.id: {
            "calibrated_in_tolerance": bool(e.calibrated_in_tolerance),
            "next_calibration_due": e.next_calibration_due,
        }
        for e in records
    }


def readiness_figures(today: dt.date) -> dict[str, int]:
    """7.1.5 evidence for certification readiness: instruments overdue, quarantined, assessments open."""
    counts = status_counts(today)
    open_assessments = db.session.scalar(select(func.count()).where(OotAssessment.state.in_(("open", "nc_raised"))))
    return {
        "instruments": sum(counts.values()) - counts.get("retired", 0),
        "overdue_calibrations": counts["overdue"],
        "quarantined_instruments": counts["quarantined"],
        "open_oot_assessments": open_assessments or 0,
    }
