"""/api/v1/suppliers and /api/v1/scars: external providers (ISO 9001 8.4).

A supplier is a workflow resource (``supplier`` lifecycle: prospective → under evaluation →
approved or conditionally approved → suspended → disqualified) with its evaluations, deliveries
(one by one or CSV), certificates (attachments), nonconformities and status proposals; the
approved supplier list as JSON, PDF and spreadsheet. A SCAR (``scar`` lifecycle) is raised from a
nonconformity against a supplier; creating one answers the supplier's single-use answer link once.
Who may do what is the services' rule (NotPermitted → 403).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app, url_for
from marshmallow import RAISE
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from ..downloads import content_disposition
from ..models import APPROVED_STATES, DEFAULT_WEIGHTS, Nonconformity, Scar, Supplier
from ..services.filters import contains
from ..services.notifications import public_url
from ..services.suppliers import (
    DELIVERY_ROLES,
    EVALUATE_ROLES,
    MANAGE_ROLES,
    SCAR_ROLES,
    approved_list_xlsx,
    approved_query,
    create_supplier,
    current_weights,
    deliveries_of,
    dismiss_proposal,
    evaluations_of,
    import_deliveries,
    raise_scar,
    raise_supplier_nc,
    record_delivery,
    record_evaluation,
    set_criteria_weights,
    update_supplier,
    weight_changes,
    weights_history,
)
from .attachments import add_attachment_routes
from .auth import api_user, require_roles
from .blueprint import ID, ApiBlueprint
from .schemas.suppliers import (
    ApprovedQuerySchema,
    CreatedNcSchema,
    CriteriaWeightsSchema,
    CriteriaWeightsSetSchema,
    DeliveryCreateSchema,
    DeliveryImportResultSchema,
    DeliveryImportSchema,
    DeliverySchema,
    DismissSchema,
    EvaluationSchema,
    ScarCreateSchema,
    ScarPageSchema,
    ScarQuerySchema,
    ScarSchema,
    ScarWithLinkSchema,
    SupplierCreateSchema,
    SupplierEvaluationCreateSchema,
    SupplierNcCreateSchema,
    SupplierPageSchema,
    SupplierQuerySchema,
    SupplierSchema,
    SupplierUpdateSchema,
)
from .workflow import (
    ETAG_HEADER,
    Presented,
    add_workflow_routes,
    etag,
    get_or_404,
    ordering,
    paginate,
    present,
    state_order,
)

blp = ApiBlueprint(
    "api_suppliers",
    __name__,
    tag="Suppliers",
    description=(
        "External providers (ISO 9001 8.4): the register, the lifecycle (prospective, under evaluation, approved, "
        "conditionally approved, suspended, disqualified), evaluations with weighted criteria partly computed "
        "from our records, deliveries (CSV import), certificates, status proposals and the approved supplier list."
    ),
)
scars_blp = ApiBlueprint(
    "api_scars",
    __name__,
    tag="Supplier corrective action requests",
    description=(
        "SCARs raised from nonconformities against suppliers: the supplier answers through a single-use link; "
        "accept or return the answer, verify effectiveness. The NC closes only when its SCAR is verified."
    ),
)

LOAD = (selectinload(Supplier.owner),)
SCAR_LOAD = (selectinload(Scar.supplier), selectinload(Scar.nonconformity))
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def load(supplier_id: int) -> Supplier:
    return get_or_404(Supplier, supplier_id, options=LOAD, label="supplier")


def load_scar(scar_id: int) -> Scar:
    return get_or_404(Scar, scar_id, options=SCAR_LOAD, label="supplier corrective action request")


def extras(supplier: Supplier) -> dict[str, Any]:
    today = dt.date.today()
    base = "api_suppliers."
    return {
        "certificate_valid": supplier.certificate_valid(today),
        "approved_list": supplier.state in APPROVED_STATES,
        "evaluation_overdue": supplier.evaluation_overdue(today),
        "links": {
            "self": url_for(base + "get_supplier", supplier_id=supplier.id),
            "history": url_for(base + "supplier_history", supplier_id=supplier.id),
            "events": url_for(base + "supplier_events", supplier_id=supplier.id),
            "evaluations": url_for(base + "list_evaluations", supplier_id=supplier.id),
            "deliveries": url_for(base + "list_deliveries", supplier_id=supplier.id),
            "attachments": url_for(base + "list_attachments", supplier_id=supplier.id),
        },
    }


def scar_extras(scar: Scar) -> dict[str, Any]:
    return {
        "supplier_name": scar.supplier.name,
        "nonconformity_reference": scar.nonconformity.reference,
        "response_overdue": scar.response_overdue(dt.date.today()),
        "links": {
            "self": url_for("api_scars.get_scar", scar_id=scar.id),
            "history": url_for("api_scars.scar_history", scar_id=scar.id),
            "events": url_for("api_scars.scar_events", scar_id=scar.id),
            "supplier": url_for("api_suppliers.get_supplier", supplier_id=scar.supplier_id),
            "nonconformity": url_for("api_nonconformities.get_nonconformity", nc_id=scar.nonconformity_id),
        },
    }


# --- the register ---------------------------------------------------------------------------------


@blp.route("/suppliers", methods=["GET"])
@blp.arguments(SupplierQuerySchema, location="query", unknown=RAISE)
@blp.response(200, SupplierPageSchema)
def list_suppliers(args: dict[str, Any]) -> dict[str, Any]:
    """The supplier register: filtered by status, criticality, text, evaluation due or proposal; one page at a time"""
    stmt = select(Supplier)
    state = args.get("state")
    if state == "listed":
        stmt = stmt.where(Supplier.state.in_(APPROVED_STATES))
    elif state is not None:
        stmt = stmt.where(Supplier.state == state)
    if "criticality" in args:
        stmt = stmt.where(Supplier.criticality == args["criticality"])
    if args.get("q"):
        stmt = stmt.where(or_(contains(Supplier.name, args["q"]), contains(Supplier.supplies, args["q"])))
    if "evaluation_due" in args:
        due = (Supplier.state != "disqualified") & (
            Supplier.next_evaluation_due <= dt.date.today() + dt.timedelta(days=30)
        )
        stmt = stmt.where(due if args["evaluation_due"] else ~due)
    if "proposed" in args:
        stmt = stmt.where(
            Supplier.proposed_state.is_not(None) if args["proposed"] else Supplier.proposed_state.is_(None)
        )
    columns = {
        "name": Supplier.name,
        "reference": Supplier.reference,
        "score": Supplier.score,
        "next_evaluation_due": Supplier.next_evaluation_due,
        "state": state_order(Supplier),
    }
    stmt = stmt.order_by(*ordering(args["sort"], columns, Supplier.id))
    items, page = paginate(stmt, args, options=LOAD)
    return {**page, "items": present(items, extras)}


@blp.route("/suppliers", methods=["POST"])
@require_roles(MANAGE_ROLES, "Requires the role admin, manager or quality officer to add suppliers")
@blp.arguments(SupplierCreateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, SupplierSchema, headers=ETAG_HEADER)
def create(body: dict[str, Any]) -> Any:
    """Add a supplier (it starts as prospective, not on the approved list)

    With an ISO 9001 certificate number give its expiry date. The owner defaults to you.
    """
    supplier = load(create_supplier(api_user(), **body).id)
    location = url_for("api_suppliers.get_supplier", supplier_id=supplier.id)
    return present([supplier], extras)[0], 201, {"Location": location, **etag(supplier)}


@blp.route(f"/suppliers/<{ID}:supplier_id>", methods=["PATCH"])
@require_roles(MANAGE_ROLES, "Requires the role admin, manager or quality officer to edit suppliers")
@blp.arguments(SupplierUpdateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, SupplierSchema, headers=ETAG_HEADER)
def update(body: dict[str, Any], supplier_id: int) -> Any:
    """Change a supplier's register details (its status changes through its events)"""
    supplier = load(supplier_id)
    update_supplier(supplier, api_user(), **body)
    return present([supplier], extras)[0], 200, etag(supplier)


@blp.route(f"/suppliers/<{ID}:supplier_id>/evaluations", methods=["GET"])
@blp.response(200, EvaluationSchema(many=True))
def list_evaluations(supplier_id: int) -> Any:
    """The supplier's evaluations, oldest first (its score trend)

    Each carries the weights it used; `weights_change` says what changed in them since the
    evaluation before it, so a score that moved because of the weights is explained.
    """
    evaluations = evaluations_of(load(supplier_id))
    changes = weight_changes(evaluations)
    return [Presented(e, weights_change=changes.get(e.id)) for e in evaluations]


@blp.route("/supplier-evaluation-weights", methods=["GET"])
@blp.response(200, CriteriaWeightsSchema)
def get_weights() -> Any:
    """The criteria's weights the next evaluations use, the defaults and the changes, newest first"""
    return _weights()


def _weights() -> dict[str, Any]:
    return {"weights": current_weights(), "default": DEFAULT_WEIGHTS, "history": weights_history()}


@blp.route("/supplier-evaluation-weights", methods=["PUT"])
@require_roles({"admin"}, "Requires the role admin to set the supplier evaluation weights")
@blp.arguments(CriteriaWeightsSetSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, CriteriaWeightsSchema)
def set_weights(body: dict[str, Any]) -> Any:
    """Set the criteria's weights

    Every criterion (quality, delivery, price, service, certification) needs a weight of 0 or
    more; they must add up to 100, or give `normalise: true` to have them scaled to 100.
    Evaluations recorded before keep the weights they used.
    """
    set_criteria_weights(api_user(), **body)
    return _weights()


@blp.route(f"/suppliers/<{ID}:supplier_id>/evaluations", methods=["POST"])
@require_roles(EVALUATE_ROLES, "Requires the role manager or quality officer to evaluate suppliers")
@blp.arguments(SupplierEvaluationCreateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, EvaluationSchema)
def evaluate(body: dict[str, Any], supplier_id: int) -> Any:
    """Evaluate the supplier over a period

    Quality (from its NCs and their severity), delivery (from the deliveries recorded;
    `delivery` only when none is) and certification are computed; price and service
    are yours. The score is weighted; when it falls below the supplier's band a
    status change is proposed (`proposed_state`, `proposal_reason`).
    """
    return record_evaluation(load(supplier_id), api_user(), **body), 201


@blp.route(f"/suppliers/<{ID}:supplier_id>/deliveries", methods=["GET"])
@blp.response(200, DeliverySchema(many=True))
def list_deliveries(supplier_id: int) -> Any:
    """The supplier's latest 50 deliveries, newest first"""
    return deliveries_of(load(supplier_id))


@blp.route(f"/suppliers/<{ID}:supplier_id>/deliveries", methods=["POST"])
@require_roles(DELIVERY_ROLES, "Requires the role manager, quality officer or process owner to record deliveries")
@blp.arguments(DeliveryCreateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, DeliverySchema)
def add_delivery(body: dict[str, Any], supplier_id: int) -> Any:
    """Record a delivery with its promised and actual dates"""
    return record_delivery(load(supplier_id), api_user(), **body), 201


@blp.route(f"/suppliers/<{ID}:supplier_id>/deliveries/import", methods=["POST"])
@require_roles(DELIVERY_ROLES, "Requires the role manager, quality officer or process owner to import deliveries")
@blp.arguments(DeliveryImportSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, DeliveryImportResultSchema)
def import_csv(body: dict[str, Any], supplier_id: int) -> Any:
    """Import deliveries from CSV text: all or, on any error, none

    The error under `file` names each bad line and column.
    """
    return {"imported": import_deliveries(load(supplier_id), api_user(), body["csv"])}, 201


@blp.route(f"/suppliers/<{ID}:supplier_id>/nonconformities", methods=["POST"])
@require_roles(
    frozenset({"admin", "manager", "quality_officer", "internal_auditor", "process_owner"}),
    "Viewers cannot raise nonconformities",
)
@blp.arguments(SupplierNcCreateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, CreatedNcSchema)
def raise_nc(body: dict[str, Any], supplier_id: int) -> Any:
    """Raise a nonconformity against the supplier (source "supplier", clause 8.4); its score follows at once"""
    nc = raise_supplier_nc(load(supplier_id), api_user(), clause_refs=["8.4"], **body)
    return {
        "id": nc.id,
        "reference": nc.reference,
        "links": {"self": url_for("api_nonconformities.get_nonconformity", nc_id=nc.id)},
    }, 201


@blp.route(f"/suppliers/<{ID}:supplier_id>/proposal/dismiss", methods=["POST"])
@require_roles(EVALUATE_ROLES, "Requires the role manager or quality officer to decide on status proposals")
@blp.arguments(DismissSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, SupplierSchema, headers=ETAG_HEADER)
def dismiss(body: dict[str, Any], supplier_id: int) -> Any:
    """Keep the supplier's status despite the proposal, with the reason (409 when there is none)"""
    supplier = load(supplier_id)
    dismiss_proposal(supplier, api_user(), body["reason"])
    return present([supplier], extras)[0], 200, etag(supplier)


@blp.route("/suppliers/approved", methods=["GET"])
@blp.arguments(ApprovedQuerySchema, location="query", unknown=RAISE)
@blp.response(200, SupplierPageSchema)
def approved(args: dict[str, Any]) -> Any:
    """The approved supplier list: approved and conditionally approved suppliers, by name, one page at a time"""
    items, page = paginate(approved_query(args.get("q", "")), args, options=LOAD)
    return {**page, "items": present(items, extras)}


def _download(data: bytes, mimetype: str, name: str, disposition: str) -> Response:
    return Response(
        data,
        mimetype=mimetype,
        headers={
            "Content-Disposition": content_disposition(name, inline=disposition == "inline"),
            "Cache-Control": "no-store",
        },
    )


@blp.route("/suppliers/approved.pdf", methods=["GET"])
@blp.doc(
    responses={
        "200": {
            "description": "The approved supplier list",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        }
    }
)
def approved_pdf() -> Response:
    """The approved supplier list as a PDF"""
    from ..reports.suppliers import approved_list_pdf

    today = dt.date.today()
    pdf = approved_list_pdf(today, current_app.config["QMS_ORGANISATION"])
    return _download(pdf, "application/pdf", f"approved-suppliers-{today}.pdf", "inline")


@blp.route("/suppliers/approved.xlsx", methods=["GET"])
@blp.doc(
    responses={
        "200": {
            "description": "The approved supplier list; text that could be a formula stays text",
            "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}},
        }
    }
)
def approved_spreadsheet() -> Response:
    """The approved supplier list as a spreadsheet"""
    today = dt.date.today()
    data = approved_list_xlsx(today, current_app.config["QMS_ORGANISATION"])
    return _download(data, XLSX, f"approved-suppliers-{today}.xlsx", "attachment")


add_workflow_routes(
    blp,
    model=Supplier,
    collection="suppliers",
    key="supplier_id",
    name="supplier",
    schema=SupplierSchema,
    load=load,
    extras=extras,
)
add_attachment_routes(blp, collection="suppliers", key="supplier_id", label="supplier", load=load)


# --- SCARs ------------------------------------------------------------------------------------------


@scars_blp.route("/scars", methods=["GET"])
@scars_blp.arguments(ScarQuerySchema, location="query", unknown=RAISE)
@scars_blp.response(200, ScarPageSchema)
def list_scars(args: dict[str, Any]) -> dict[str, Any]:
    """The supplier corrective action requests, filtered by state or supplier"""
    stmt = select(Scar)
    state = args.get("state")
    if state == "open":
        stmt = stmt.where(Scar.state.in_(Scar.OPEN_STATES))
    elif state is not None:
        stmt = stmt.where(Scar.state == state)
    if "supplier_id" in args:
        stmt = stmt.where(Scar.supplier_id == args["supplier_id"])
    columns = {"id": Scar.id, "respond_by": Scar.respond_by, "state": state_order(Scar)}
    stmt = stmt.order_by(*ordering(args["sort"], columns, Scar.id))
    items, page = paginate(stmt, args, options=SCAR_LOAD)
    return {**page, "items": present(items, scar_extras)}


@scars_blp.route("/scars", methods=["POST"])
@require_roles(SCAR_ROLES, "Requires the role manager or quality officer to request corrective action from suppliers")
@scars_blp.arguments(ScarCreateSchema)
@scars_blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@scars_blp.response(201, ScarWithLinkSchema, headers=ETAG_HEADER)
def create_scar(body: dict[str, Any]) -> Any:
    """Raise a SCAR from a nonconformity against a supplier

    The answer's `answer_url` is the supplier's single-use link: it is shown only
    here (a new one can be created with `POST /scars/{id}/link`). `respond_by`
    defaults to 14 days from today.
    """
    nc = get_or_404(Nonconformity, body["nonconformity_id"], label="nonconformity")
    scar, token = raise_scar(nc, api_user(), request=body["request"], respond_by=body["respond_by"])
    scar = load_scar(scar.id)
    presented = present([scar], scar_extras)[0]
    presented.answer_url = public_url("suppliers.answer", token=token)
    location = url_for("api_scars.get_scar", scar_id=scar.id)
    return presented, 201, {"Location": location, "Cache-Control": "no-store", **etag(scar)}


@scars_blp.route(f"/scars/<{ID}:scar_id>/link", methods=["POST"])
@require_roles(SCAR_ROLES, "Requires the role manager or quality officer to send answer links to suppliers")
@scars_blp.alt_response(409, response="CONFLICT")
@scars_blp.response(200, ScarWithLinkSchema, headers=ETAG_HEADER)
def new_link(scar_id: int) -> Any:
    """A new answer link for the supplier (the previous one stops working); 409 unless an answer is awaited"""
    from ..services.suppliers import issue_scar_link

    scar = load_scar(scar_id)
    token = issue_scar_link(scar, api_user())
    presented = present([scar], scar_extras)[0]
    presented.answer_url = public_url("suppliers.answer", token=token)
    return presented, 200, {"Cache-Control": "no-store", **etag(scar)}


@scars_blp.route(f"/scars/<{ID}:scar_id>/report.pdf", methods=["GET"])
@scars_blp.doc(
    responses={
        "200": {
            "description": "The request, the supplier's answer, review, verification and history",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        }
    }
)
def scar_pdf(scar_id: int) -> Response:
    """The SCAR as a PDF (for the supplier file)"""
    from ..reports.suppliers import scar_report_pdf

    scar = load_scar(scar_id)
    pdf = scar_report_pdf(scar, current_app.config["QMS_ORGANISATION"])
    return _download(pdf, "application/pdf", f"{scar.reference}.pdf", "inline")


add_workflow_routes(
    scars_blp,
    model=Scar,
    collection="scars",
    key="scar_id",
    name="scar",
    schema=ScarSchema,
    load=load_scar,
    extras=scar_extras,
)
