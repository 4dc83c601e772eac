"""Inspections (ISO 9001 8.6, 8.4.2): recording what was inspected, with which instrument and the result.

A rejected incoming inspection raises a nonconformity against the supplier in the same transaction,
so it counts in the supplier's quality score at once. The instrument an inspection used makes the
inspection part of what that instrument measured: an out-of-tolerance calibration lists it
(``equipment.affected_records``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from workflows import FireResult
from workflows.errors import InvalidData

from ..database import db
from ..models import (
    INSPECTION_KINDS,
    INSPECTION_RESULTS,
    Actor,
    Equipment,
    Inspection,
    Nonconformity,
    Supplier,
    SupplierDelivery,
    User,
)
from .audit_trail import recorded_change
from .filters import contains
from .references import next_reference
from .validation import clean_date, clean_text, require_roles, row_by_id
from .workflow import as_actor, effect

#: who records inspections: the people who inspect (process owners) and quality
RECORD_ROLES = frozenset({"manager", "quality_officer", "process_owner"})
FIELDS = (
    "kind",
    "inspected_on",
    "item",
    "lot",
    "quantity",
    "criteria",
    "findings",
    "result",
    "concession",
    "process",
    "supplier_id",
    "delivery_id",
    "order_reference",
    "equipment_id",
)
#: instruments in these states cannot have given a result
UNUSABLE_EQUIPMENT_STATES = {"quarantined": "is quarantined", "retired": "is retired"}


def validated(data: dict[str, Any]) -> dict[str, Any]:
    """The inspection's values from ``data``, checked; InvalidData naming each bad field."""
    errors: dict[str, str] = {name: "is not a field of an inspection" for name in sorted(set(data) - set(FIELDS))}
    kind = data.get("kind")
    if kind not in INSPECTION_KINDS:
        errors["kind"] = "must be one of: " + ", ".join(INSPECTION_KINDS)
    result = data.get("result")
    if result not in INSPECTION_RESULTS:
        errors["result"] = "must be one of: " + ", ".join(INSPECTION_RESULTS)
    inspected_on = clean_date(errors, "inspected_on", data.get("inspected_on"))
    if inspected_on and inspected_on > dt.date.today():
        errors["inspected_on"] = "cannot be in the future"
    values: dict[str, Any] = {
        "kind": kind,
        "result": result,
        "inspected_on": inspected_on,
        "item": clean_text(errors, "item", data.get("item"), limit=200),
        "lot": clean_text(errors, "lot", data.get("lot"), required=False, limit=120),
        "quantity": clean_text(errors, "quantity", data.get("quantity"), required=False, limit=60),
        "criteria": clean_text(errors, "criteria", data.get("criteria"), required=False, limit=5000),
        "findings": clean_text(errors, "findings", data.get("findings"), required=False, limit=10_000),
        "concession": clean_text(errors, "concession", data.get("concession"), required=False, limit=5000),
        "process": clean_text(errors, "process", data.get("process"), required=False, limit=200),
        "order_reference": clean_text(errors, "order_reference", data.get("order_reference"), required=False, limit=60),
    }
    if result in ("rejected", "concession") and not values["findings"] and "findings" not in errors:
        errors["findings"] = "describe what did not conform"
    if result == "concession" and not values["concession"] and "concession" not in errors:
        errors["concession"] = "say who authorised accepting it and on what terms"
    if result != "concession" and values["concession"]:
        errors["concession"] = "is given only when the result is accepted with concession"
    supplier = delivery = None
    if data.get("supplier_id") not in (None, "", 0):
        supplier = row_by_id(Supplier, data.get("supplier_id"))
        if supplier is None:
            errors["supplier_id"] = "is not a supplier of the register"
        elif kind in INSPECTION_KINDS and kind != "incoming":
            errors["supplier_id"] = "is given only for an incoming inspection"
    elif kind == "incoming":
        errors["supplier_id"] = "is required for an incoming inspection (whose delivery was inspected)"
    if data.get("delivery_id") not in (None, "", 0):
        delivery = row_by_id(SupplierDelivery, data.get("delivery_id"))
        if delivery is None or (supplier is not None and delivery.supplier_id != supplier.id):
            errors["delivery_id"] = "must be a delivery recorded for this supplier"
        elif supplier is None and "supplier_id" not in errors:
            errors["delivery_id"] = "is given only with its supplier"
        elif not values["order_reference"]:
            values["order_reference"] = delivery.order_reference
    equipment = None
    if data.get("equipment_id") not in (None, "", 0):
        equipment = row_by_id(Equipment, data.get("equipment_id"))
        if equipment is None:
            errors["equipment_id"] = "is not an instrument of the register"
        elif equipment.state in UNUSABLE_EQUIPMENT_STATES:
            errors["equipment_id"] = (
                f"{equipment.identifier} {UNUSABLE_EQUIPMENT_STATES[equipment.state]}: it cannot give a valid result"
            )
    if errors:
        raise InvalidData(errors)
    values["supplier_id"] = supplier.id if supplier is not None else None
    values["delivery_id"] = delivery.id if delivery is not None else None
    values["equipment_id"] = equipment.id if equipment is not None else None
    return values


def record_inspection(actor: User | Actor, **data: Any) -> Inspection:
    """Record an inspection; a rejected incoming one raises an NC against its supplier in the same transaction."""
    actor = as_actor(actor)
    require_roles(actor, RECORD_ROLES, "record inspections")
    values = validated(data)
    with recorded_change(actor, "inspection recorded") as session:
        inspection = Inspection(
            reference=next_reference(session, "INS", values["inspected_on"].year),
            inspected_by_id=actor.id,
            **values,
        )
        session.add(inspection)
        if inspection.kind == "incoming" and inspection.result == "rejected":
            session.flush()
            inspection.nonconformity = _supplier_nc(session, inspection, actor)
    return inspection


def _supplier_nc(session: Session, inspection: Inspection, actor: Actor) -> Nonconformity:
    """The NC against the supplier for a rejected delivery; it counts in the supplier's score at once."""
    from .suppliers import rescore_supplier

    supplier = db.session.get(Supplier, inspection.supplier_id)
    assert supplier is not None
    what = inspection.item + (f", lot {inspection.lot}" if inspection.lot else "")
    order = f" (order {inspection.order_reference})" if inspection.order_reference else ""
    nc = Nonconformity(
        reference=next_reference(session, "NC", inspection.inspected_on.year),
        title=f"Rejected at incoming inspection: {what}"[:200],
        description=(
            f"Incoming inspection {inspection.reference} on {inspection.inspected_on.isoformat()} rejected "
            f"{what} from {supplier.name}{order}.\n\nFindings: {inspection.findings}"
            + (f"\n\nCriteria: {inspection.criteria}" if inspection.criteria else "")
        ),
        source="supplier",
        process=inspection.process[:120],
        clause_refs=["8.4.2", "8.6"],
        detected_on=inspection.inspected_on,
        raised_by_id=actor.id,
        supplier_id=supplier.id,
    )
    session.add(nc)
    session.flush()
    rescore_supplier(session, supplier, f"{nc.reference} raised by incoming inspection {inspection.reference}")
    return nc


def inspection_register(kind: str = "", result: str = "", state: str = "", q: str = "") -> Select:
    """The register as a query, newest first, filtered by kind, result, state and text."""
    stmt = select(Inspection)
    if kind in INSPECTION_KINDS:
        stmt = stmt.where(Inspection.kind == kind)
    if result in INSPECTION_RESULTS:
        stmt = stmt.where(Inspection.result == result)
    if state:
        stmt = stmt.where(Inspection.state == state)
    if q:
        stmt = stmt.where(
            contains(Inspection.item, q) | contains(Inspection.reference, q) | contains(Inspection.lot, q)
        )
    return stmt.order_by(Inspection.inspected_on.desc(), Inspection.id.desc())


def inspections_of_supplier(supplier: Supplier, limit: int = 50) -> list[Inspection]:
    return list(
        db.session.scalars(
            select(Inspection)
            .where(Inspection.supplier_id == supplier.id)
            .order_by(Inspection.inspected_on.desc(), Inspection.id.desc())
            .limit(limit)
        )
    )


def inspections_with(equipment: Equipment, limit: int = 50) -> list[Inspection]:
    return list(
        db.session.scalars(
            select(Inspection)
            .where(Inspection.equipment_id == equipment.id)
            .order_by(Inspection.inspected_on.desc(), Inspection.id.desc())
            .limit(limit)
        )
    )


# --------------------------------------------------------------------------- lifecycle effects


@effect("inspection", "review")
def _reviewed(inspection: Inspection, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    inspection.review_comment = result.data.get("review_comment", "") or ""


@effect("inspection", "void")
def _voided(inspection: Inspection, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    inspection.void_reason = result.data["reason"]
