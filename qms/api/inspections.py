"""/api/v1/inspections: incoming, in-process and final inspections (ISO 9001 8.6, 8.4.2).

An inspection is a workflow resource (``inspection`` lifecycle: recorded → reviewed, or voided)
with what was inspected, the measuring instrument used and the result. A rejected incoming
inspection raises a nonconformity against its supplier when it is recorded (``nonconformity_id``).
"""

from __future__ import annotations

from typing import Any

from flask import url_for
from marshmallow import RAISE
from sqlalchemy.orm import selectinload

from ..models import Inspection
from ..services.inspections import RECORD_ROLES, inspection_register, record_inspection
from .auth import api_user, require_roles
from .blueprint import ApiBlueprint
from .schemas.inspections import InspectionCreateSchema, InspectionPageSchema, InspectionQuerySchema, InspectionSchema
from .workflow import ETAG_HEADER, add_workflow_routes, etag, get_or_404, ordering, paginate, present, state_order

blp = ApiBlueprint(
    "api_inspections",
    __name__,
    tag="Inspections",
    description=(
        "Incoming (a supplier's delivery), in-process and final inspections: what was inspected, the measuring "
        "instrument used and the result (accepted, rejected, accepted with concession); a rejected incoming "
        "inspection raises a nonconformity against the supplier."
    ),
)

LOAD = (selectinload(Inspection.inspected_by),)


def load(inspection_id: int) -> Inspection:
    return get_or_404(Inspection, inspection_id, options=LOAD, label="inspection")


def extras(inspection: Inspection) -> dict[str, Any]:
    base = "api_inspections."
    return {
        "links": {
            "self": url_for(base + "get_inspection", inspection_id=inspection.id),
            "history": url_for(base + "inspection_history", inspection_id=inspection.id),
            "events": url_for(base + "inspection_events", inspection_id=inspection.id),
            "supplier": (
                url_for("api_suppliers.get_supplier", supplier_id=inspection.supplier_id)
                if inspection.supplier_id is not None
                else None
            ),
            "equipment": (
                url_for("api_equipment.get_equipment", equipment_id=inspection.equipment_id)
                if inspection.equipment_id is not None
                else None
            ),
            "nonconformity": (
                url_for("api_nonconformities.get_nonconformity", nc_id=inspection.nonconformity_id)
                if inspection.nonconformity_id is not None
                else None
            ),
        },
    }


@blp.route("/inspections", methods=["GET"])
@blp.arguments(InspectionQuerySchema, location="query", unknown=RAISE)
@blp.response(200, InspectionPageSchema)
def list_inspections(args: dict[str, Any]) -> dict[str, Any]:
    """The inspections, filtered by kind, result, state, supplier, instrument or text; one page at a time"""
    stmt = inspection_register(args.get("kind", ""), args.get("result", ""), args.get("state", ""), args.get("q", ""))
    if "supplier_id" in args:
        stmt = stmt.where(Inspection.supplier_id == args["supplier_id"])
    if "equipment_id" in args:
        stmt = stmt.where(Inspection.equipment_id == args["equipment_id"])
    columns = {
        "inspected_on": Inspection.inspected_on,
        "reference": Inspection.reference,
        "result": Inspection.result,
        "state": state_order(Inspection),
    }
    stmt = stmt.order_by(None).order_by(*ordering(args["sort"], columns, Inspection.id))
    items, page = paginate(stmt, args, options=LOAD)
    return {**page, "items": present(items, extras)}


@blp.route("/inspections", methods=["POST"])
@require_roles(RECORD_ROLES, "Requires the role manager, process owner or quality officer to record inspections")
@blp.arguments(InspectionCreateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, InspectionSchema, headers=ETAG_HEADER)
def create(body: dict[str, Any]) -> Any:
    """Record an inspection

    A rejected incoming inspection raises a nonconformity against the supplier in the same
    transaction (`nonconformity_id`), which counts in the supplier's quality score at once.
    """
    inspection = load(record_inspection(api_user(), **body).id)
    location = url_for("api_inspections.get_inspection", inspection_id=inspection.id)
    return present([inspection], extras)[0], 201, {"Location": location, **etag(inspection)}


add_workflow_routes(
    blp,
    model=Inspection,
    collection="inspections",
    key="inspection_id",
    name="inspection",
    schema=InspectionSchema,
    load=load,
    extras=extras,
)
