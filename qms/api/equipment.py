"""/api/v1/equipment and /api/v1/oot-assessments: monitoring and measuring resources (ISO 9001 7.1.5).

An instrument is a workflow resource (``equipment`` lifecycle: in service, quarantined, out of
service, retired) with its calibration status (due and overdue follow from the next due date), its
calibrations and certificates (attachments), and its label (PDF). A calibration out of tolerance as
found opens an out-of-tolerance assessment (``oot_assessment`` lifecycle) listing what the
instrument measured since its last good calibration; the assessment can raise a nonconformity.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app, url_for
from marshmallow import RAISE
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from ..downloads import content_disposition
from ..models import ChecklistItem, Equipment, OotAssessment
from ..services.equipment import (
    CALIBRATION_ROLES,
    MANAGE_ROLES,
    calibrations_of,
    cite_equipment,
    equipment_register,
    record_calibration,
    register_equipment,
    update_equipment,
)
from .attachments import add_attachment_routes
from .auth import api_user, require_roles
from .blueprint import ID, ApiBlueprint
from .schemas.equipment import (
    AssessmentPageSchema,
    AssessmentQuerySchema,
    AssessmentSchema,
    CalibrationCreateSchema,
    CalibrationResultSchema,
    CalibrationSchema,
    CitedItemSchema,
    CiteSchema,
    EquipmentCreateSchema,
    EquipmentPageSchema,
    EquipmentQuerySchema,
    EquipmentSchema,
    EquipmentUpdateSchema,
)
from .workflow import ETAG_HEADER, add_workflow_routes, etag, get_or_404, ordering, paginate, present, state_order

blp = ApiBlueprint(
    "api_equipment",
    __name__,
    tag="Measuring equipment",
    description=(
        "Monitoring and measuring resources (ISO 9001 7.1.5): the register with each instrument's calibration "
        "status, calibrations (as found, as left, traceability, certificate), the lifecycle (quarantine, out of "
        "service, retire) and the calibration label."
    ),
)
assessments_blp = ApiBlueprint(
    "api_oot_assessments",
    __name__,
    tag="Out-of-tolerance assessments",
    description=(
        "What an instrument found out of tolerance measured since its last good calibration (ISO 9001 7.1.5.2): "
        "conclude that the results stand, or raise a nonconformity."
    ),
)

LOAD = (selectinload(Equipment.owner),)
ASSESSMENT_LOAD = (selectinload(OotAssessment.equipment),)


def load(equipment_id: int) -> Equipment:
    return get_or_404(Equipment, equipment_id, options=LOAD, label="instrument")


def load_assessment(assessment_id: int) -> OotAssessment:
    return get_or_404(OotAssessment, assessment_id, options=ASSESSMENT_LOAD, label="out-of-tolerance assessment")


def extras(equipment: Equipment) -> dict[str, Any]:
    today = dt.date.today()
    base = "api_equipment."
    return {
        "calibration_status": equipment.calibration_status(today),
        "calibration_status_label": equipment.calibration_status_label(today),
        "links": {
            "self": url_for(base + "get_equipment", equipment_id=equipment.id),
            "history": url_for(base + "equipment_history", equipment_id=equipment.id),
            "events": url_for(base + "equipment_events", equipment_id=equipment.id),
            "calibrations": url_for(base + "list_calibrations", equipment_id=equipment.id),
            "attachments": url_for(base + "list_attachments", equipment_id=equipment.id),
            "label": url_for(base + "label", equipment_id=equipment.id),
        },
    }


def assessment_extras(assessment: OotAssessment) -> dict[str, Any]:
    nc_id = assessment.nonconformity_id
    return {
        "equipment_identifier": assessment.equipment.identifier,
        "links": {
            "self": url_for("api_oot_assessments.get_oot_assessment", assessment_id=assessment.id),
            "history": url_for("api_oot_assessments.oot_assessment_history", assessment_id=assessment.id),
            "events": url_for("api_oot_assessments.oot_assessment_events", assessment_id=assessment.id),
            "equipment": url_for("api_equipment.get_equipment", equipment_id=assessment.equipment_id),
            "nonconformity": (
                url_for("api_nonconformities.get_nonconformity", nc_id=nc_id) if nc_id is not None else None
            ),
        },
    }


@blp.route("/equipment", methods=["GET"])
@blp.arguments(EquipmentQuerySchema, location="query", unknown=RAISE)
@blp.response(200, EquipmentPageSchema)
def list_equipment(args: dict[str, Any]) -> dict[str, Any]:
    """The equipment register: filtered by calibration status, location or text; one page at a time"""
    stmt = equipment_register(args.get("status", ""), args.get("location", ""), args.get("q", ""))
    columns = {
        "identifier": Equipment.identifier,
        "name": Equipment.name,
        "next_calibration_due": Equipment.next_calibration_due,
        "state": state_order(Equipment),
    }
    stmt = stmt.order_by(*ordering(args["sort"], columns, Equipment.id))
    items, page = paginate(stmt, args, options=LOAD)
    return {**page, "items": present(items, extras)}


@blp.route("/equipment", methods=["POST"])
@require_roles(MANAGE_ROLES, "Requires the role admin, manager or quality officer to add measuring equipment")
@blp.arguments(EquipmentCreateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, EquipmentSchema, headers=ETAG_HEADER)
def create(body: dict[str, Any]) -> Any:
    """Add an instrument to the register (in service; without a next due date it counts as overdue)"""
    equipment = load(register_equipment(api_user(), **body).id)
    location = url_for("api_equipment.get_equipment", equipment_id=equipment.id)
    return present([equipment], extras)[0], 201, {"Location": location, **etag(equipment)}


@blp.route(f"/equipment/<{ID}:equipment_id>", methods=["PATCH"])
@require_roles(MANAGE_ROLES, "Requires the role admin, manager or quality officer to edit measuring equipment")
@blp.arguments(EquipmentUpdateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, EquipmentSchema, headers=ETAG_HEADER)
def update(body: dict[str, Any], equipment_id: int) -> Any:
    """Change an instrument's register details (its status changes through its events and calibrations)"""
    equipment = load(equipment_id)
    update_equipment(equipment, api_user(), **body)
    return present([equipment], extras)[0], 200, etag(equipment)


@blp.route(f"/equipment/<{ID}:equipment_id>/calibrations", methods=["GET"])
@blp.response(200, CalibrationSchema(many=True))
def list_calibrations(equipment_id: int) -> Any:
    """The instrument's calibrations, newest first"""
    return calibrations_of(load(equipment_id))


@blp.route(f"/equipment/<{ID}:equipment_id>/calibrations", methods=["POST"])
@require_roles(CALIBRATION_ROLES, "Requires the role manager, quality officer or process owner to record calibrations")
@blp.arguments(CalibrationCreateSchema)
@blp.alt_response(409, response="CONFLICT")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, CalibrationResultSchema)
def calibrate(body: dict[str, Any], equipment_id: int) -> Any:
    """Record a calibration

    Out of tolerance as found opens an out-of-tolerance assessment (in the answer's
    `assessment`); out of tolerance as left quarantines the instrument. Upload the
    certificate first to the instrument's attachments and give its id.
    """
    equipment = load(equipment_id)
    calibration, assessment = record_calibration(equipment, api_user(), **body)
    return {
        "calibration": calibration,
        "assessment": present([assessment], assessment_extras)[0] if assessment is not None else None,
    }, 201


@blp.route(f"/equipment/<{ID}:equipment_id>/label.pdf", methods=["GET"])
@blp.doc(
    responses={
        "200": {
            "description": "The calibration label, 62 × 40 mm",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        }
    }
)
def label(equipment_id: int) -> Response:
    """The instrument's calibration label (PDF)"""
    from ..reports.equipment import calibration_label_pdf

    equipment = load(equipment_id)
    return Response(
        calibration_label_pdf(equipment, current_app.config["QMS_ORGANISATION"]),
        mimetype="application/pdf",
        headers={
            "Content-Disposition": content_disposition(f"label-{equipment.id}.pdf", inline=True),
            "Cache-Control": "no-store",
        },
    )


@blp.route(f"/checklist-items/<{ID}:item_id>/equipment", methods=["PUT"])
@blp.arguments(CiteSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, CitedItemSchema)
def cite(body: dict[str, Any], item_id: int) -> Any:
    """Say which instrument an audit checklist answer relied on (`null` clears it); its auditors may"""
    item = get_or_404(ChecklistItem, item_id, label="checklist item")
    return cite_equipment(item, api_user(), body["equipment_id"])


add_workflow_routes(
    blp,
    model=Equipment,
    collection="equipment",
    key="equipment_id",
    name="equipment",
    schema=EquipmentSchema,
    load=load,
    extras=extras,
)
add_attachment_routes(blp, collection="equipment", key="equipment_id", label="instrument", load=load)


@assessments_blp.route("/oot-assessments", methods=["GET"])
@assessments_blp.arguments(AssessmentQuerySchema, location="query", unknown=RAISE)
@assessments_blp.response(200, AssessmentPageSchema)
def list_assessments(args: dict[str, Any]) -> dict[str, Any]:
    """The out-of-tolerance assessments, newest first, filtered by state or instrument"""
    stmt = select(OotAssessment)
    if "state" in args:
        stmt = stmt.where(OotAssessment.state == args["state"])
    if "equipment_id" in args:
        stmt = stmt.where(OotAssessment.equipment_id == args["equipment_id"])
    stmt = stmt.order_by(OotAssessment.id.desc())
    items, page = paginate(stmt, args, options=ASSESSMENT_LOAD)
    return {**page, "items": present(items, assessment_extras)}


add_workflow_routes(
    assessments_blp,
    model=OotAssessment,
    collection="oot-assessments",
    key="assessment_id",
    name="oot_assessment",
    schema=AssessmentSchema,
    load=load_assessment,
    extras=assessment_extras,
)
