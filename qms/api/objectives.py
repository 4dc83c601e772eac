"""/api/v1/objectives: quality objectives (ISO 9001 6.2) with their KPI, values and status.

An objective is a workflow resource (``quality_objective`` lifecycle: draft → approved (signed) →
active → achieved or missed → closed, or withdrawn). Its representation carries its ``status``
against the target (on track, at risk, off track…) with the latest value and a linear forecast to
the deadline. Values are posted one at a time, imported from CSV (all or nothing; errors name the
line and column) or, for a KPI computed from the records, recomputed; ``/objective-measures`` lists
the measures that can be computed. ``…/report.pdf`` is the plan and status report.
"""

from __future__ import annotations

import datetime as dt
from http import HTTPStatus
from typing import Any

from flask import current_app, url_for
from marshmallow import RAISE
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from ..downloads import content_disposition
from ..models import ObjectiveMeasurement, QualityObjective
from ..services.objectives import (
    MEASURES,
    SET_ROLES,
    create_objective,
    import_measurements_csv,
    measurement_points,
    objective_status,
    objective_statuses,
    record_measurement,
    refresh_computed,
    update_objective,
)
from ..services.objectives.objectives import MAX_CSV_BYTES
from .auth import api_user, require_roles
from .blueprint import ID, ApiBlueprint
from .schemas.objectives import (
    ImportCountsSchema,
    MeasurementCreateSchema,
    MeasurementSchema,
    MeasureSchema,
    ObjectiveCreateSchema,
    ObjectiveFieldsSchema,
    ObjectivePageSchema,
    ObjectiveQuerySchema,
    ObjectiveSchema,
    RecomputedSchema,
)
from .surveys import csv_upload, limit_body
from .workflow import ETAG_HEADER, add_workflow_routes, etag, get_or_404, ordering, paginate, present, state_order

blp = ApiBlueprint(
    "api_objectives",
    __name__,
    tag="Quality objectives",
    description=(
        "Quality objectives (ISO 9001 6.2) with a KPI, target, plan and lifecycle; KPI values entered, imported "
        "from CSV or computed from the records (9.1.3); status against the target with a forecast to the deadline."
    ),
)

LOAD = (selectinload(QualityObjective.owner), selectinload(QualityObjective.process))
MEASURE_MESSAGE = "Only the objective's owner, a quality officer or a manager records its values"
SET_MESSAGE = "Requires the role manager, quality officer or process owner to set quality objectives"
IMPORT_BODY = {
    "required": True,
    "description": (
        "The CSV file: columns `date` (YYYY-MM-DD, the end of the period measured) and `value`, optionally "
        "`note`. UTF-8, comma or semicolon separated, at most 256 KB and 5000 rows."
    ),
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
                "additionalProperties": False,
            }
        },
        "text/csv": {"schema": {"type": "string"}},
    },
}
PDF_RESPONSE = {
    "description": "The quality objectives plan and status report",
    "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
}


def load(objective_id: int) -> QualityObjective:
    return get_or_404(QualityObjective, objective_id, options=LOAD, label="quality objective")


def _extras_for(statuses: dict[int, Any]) -> Any:
    def extras(objective: QualityObjective) -> dict[str, Any]:
        base = "api_objectives."
        measure = MEASURES.get(objective.measure)
        status = statuses[objective.id]
        return {
            "measure_label": measure.label if measure else "Entered or imported",
            "status": {**status.__dict__, "label": status.label},
            "links": {
                "self": url_for(base + "get_objective", objective_id=objective.id),
                "history": url_for(base + "objective_history", objective_id=objective.id),
                "events": url_for(base + "objective_events", objective_id=objective.id),
                "measurements": url_for(base + "list_measurements", objective_id=objective.id),
                "nonconformity": (
                    url_for("api_nonconformities.get_nonconformity", nc_id=objective.nonconformity_id)
                    if objective.nonconformity_id
                    else None
                ),
                "opportunity": (
                    url_for("api_opportunities.get_opportunity", opportunity_id=objective.opportunity_id)
                    if objective.opportunity_id
                    else None
                ),
            },
        }

    return extras


def extras(objective: QualityObjective) -> dict[str, Any]:
    """The API's additions to one objective (its status computed from its values)."""
    status = objective_status(objective, measurement_points([objective.id])[objective.id], dt.date.today())
    return _extras_for({objective.id: status})(objective)


def presented(objective: QualityObjective) -> Any:
    return present([objective], extras)[0]


@blp.route("/objectives", methods=["GET"])
@blp.arguments(ObjectiveQuerySchema, location="query", unknown=RAISE)
@blp.response(200, ObjectivePageSchema)
def list_objectives(args: dict[str, Any]) -> dict[str, Any]:
    """The quality objectives: filtered by state, process, owner or measure, sorted, one page at a time

    Each carries its status against the target, computed from its values.
    """
    stmt = select(QualityObjective)
    state = args.get("state")
    if state == "open":
        stmt = stmt.where(QualityObjective.state.in_(QualityObjective.OPEN_STATES))
    elif state is not None:
        stmt = stmt.where(QualityObjective.state == state)
    for name in ("process_id", "owner_id", "measure"):
        if name in args:
            stmt = stmt.where(getattr(QualityObjective, name) == args[name])
    columns = {
        "reference": QualityObjective.reference,
        "deadline": QualityObjective.deadline,
        "starts_on": QualityObjective.starts_on,
        "created_at": QualityObjective.created_at,
        "state": state_order(QualityObjective),
    }
    stmt = stmt.order_by(*ordering(args["sort"], columns, QualityObjective.id))
    items, page = paginate(stmt, args, options=LOAD)
    statuses = objective_statuses(items, dt.date.today())
    return {**page, "items": present(items, _extras_for(statuses))}


@blp.route("/objectives", methods=["POST"])
@require_roles(SET_ROLES, SET_MESSAGE)
@blp.arguments(ObjectiveCreateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, ObjectiveSchema, headers=ETAG_HEADER)
def create(body: dict[str, Any]) -> Any:
    """Set a quality objective with its KPI and plan (it starts as a draft)

    Managers, quality officers and process owners may. `measure` is `manual` (values posted or
    imported) or the key of a computed measure (see `/objective-measures`). A manager approves
    it (signed) once the plan's five parts are written.
    """
    objective = load(create_objective(api_user(), **body).id)
    location = url_for("api_objectives.get_objective", objective_id=objective.id)
    return presented(objective), 201, {"Location": location, **etag(objective)}


@blp.route(f"/objectives/<{ID}:objective_id>", methods=["PATCH"])
@require_roles(SET_ROLES, SET_MESSAGE)
@blp.arguments(ObjectiveFieldsSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, ObjectiveSchema, headers=ETAG_HEADER)
def change(body: dict[str, Any], objective_id: int) -> Any:
    """Change a draft objective (409 once approved: withdraw it and set a new one)"""
    objective = load(objective_id)
    update_objective(objective, api_user(), **body)
    return presented(objective), 200, etag(objective)


def _measurement(objective: QualityObjective, m: ObjectiveMeasurement) -> dict[str, Any]:
    return {
        "id": m.id,
        "measured_on": m.measured_on,
        "value": m.value,
        "source": m.source,
        "note": m.note,
        "meets_target": objective.meets(m.value),
        "recorded_by": m.recorded_by,
        "recorded_at": m.recorded_at,
    }


@blp.route(f"/objectives/<{ID}:objective_id>/measurements", methods=["GET"])
@blp.response(200, MeasurementSchema(many=True))
def list_measurements(objective_id: int) -> list[dict[str, Any]]:
    """The KPI's values, oldest first"""
    objective = load(objective_id)
    rows = objective.measurements
    return [_measurement(objective, m) for m in rows]


@blp.route(f"/objectives/<{ID}:objective_id>/measurements", methods=["POST"])
@require_roles(SET_ROLES, MEASURE_MESSAGE)
@blp.arguments(MeasurementCreateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, MeasurementSchema)
def add_measurement(body: dict[str, Any], objective_id: int) -> Any:
    """Record one value of the KPI (its owner, quality officers, managers; while active)

    409 for a KPI computed from the records or an objective not active; 422 for a date in the
    future or one that already has a value (import a CSV to replace values).
    """
    objective = load(objective_id)
    row = record_measurement(objective, api_user(), **body)
    return _measurement(objective, row), 201


@blp.route(f"/objectives/<{ID}:objective_id>/measurements/import", methods=["POST"])
@require_roles(SET_ROLES, MEASURE_MESSAGE)
@limit_body(MAX_CSV_BYTES + 64 * 1024)
@blp.doc(requestBody=IMPORT_BODY)
@blp.alt_response(413, response=HTTPStatus.REQUEST_ENTITY_TOO_LARGE.name)
@blp.alt_response(415, response=HTTPStatus.UNSUPPORTED_MEDIA_TYPE.name)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, ImportCountsSchema)
def import_measurements(objective_id: int) -> Any:
    """Import values from a CSV file, all or nothing

    Send the file as `multipart/form-data` (field `file`) or as a `text/csv` body. Every line is
    checked first: 422 lists each problem by line and column (`errors` keys such as
    `line 3, column 'value'`) and nothing is imported. A date that has a value gets the file's.
    """
    objective = load(objective_id)
    data = csv_upload()
    return import_measurements_csv(objective, api_user(), data), 201


@blp.route(f"/objectives/<{ID}:objective_id>/recompute", methods=["POST"])
@require_roles(SET_ROLES, MEASURE_MESSAGE)
@blp.response(200, RecomputedSchema)
def recompute(objective_id: int) -> dict[str, Any]:
    """Recompute a computed KPI's values from the records (409 for a KPI entered by hand)"""
    objective = load(objective_id)
    changed = refresh_computed(objective, api_user())
    return {"changed": changed, "objective": presented(load(objective_id))}


@blp.route("/objectives/report.pdf", methods=["GET"])
@blp.doc(responses={"200": PDF_RESPONSE})
def report_pdf() -> Response:
    """The plan and status report of the objectives (PDF)"""
    from ..reports.objectives import objectives_report_pdf

    return Response(
        objectives_report_pdf(organisation=current_app.config["QMS_ORGANISATION"]),
        mimetype="application/pdf",
        headers={
            "Content-Disposition": content_disposition(f"quality-objectives-{dt.date.today()}.pdf", inline=True),
            "Cache-Control": "no-store",
        },
    )


@blp.route("/objective-measures", methods=["GET"])
@blp.response(200, MeasureSchema(many=True))
def list_measures() -> list[Any]:
    """The measures qmsflow computes from its own records, usable as an objective's `measure`"""
    return list(MEASURES.values())


add_workflow_routes(
    blp,
    model=QualityObjective,
    collection="objectives",
    key="objective_id",
    name="objective",
    schema=ObjectiveSchema,
    load=load,
    extras=extras,
)
