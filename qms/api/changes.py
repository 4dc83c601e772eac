"""/api/v1/change-requests: planning of changes (ISO 9001 6.3).

A change request is a workflow resource (``change_request`` lifecycle: draft → submitted → approved
(signed) → implementing → post-change review → closed (signed), or rejected or cancelled) with its
implementation tasks. One can be opened from an organisational-change review.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from flask import abort, url_for
from marshmallow import RAISE, Schema
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from workflows.errors import InvalidData

from ..models import ChangeRequest, ChangeRisk, ChangeTask
from ..services.changes import REQUEST_ROLES, add_task, complete_task, request_change, update_change
from .auth import api_user, require_roles
from .blueprint import ID, ApiBlueprint
from .schemas.changes import (
    ChangeCreateSchema,
    ChangeFieldsSchema,
    ChangePageSchema,
    ChangeQuerySchema,
    ChangeRiskCreateSchema,
    ChangeRiskSchema,
    ChangeSchema,
    TaskCompleteSchema,
    TaskCreateSchema,
    TaskSchema,
)
from .schemas.risks import RiskCreateSchema
from .workflow import ETAG_HEADER, add_workflow_routes, etag, get_or_404, ordering, paginate, present, state_order

#: a new risk for a change: the fields of a risk, without a source (it is the change's)
ChangeRiskNewSchema = Schema.from_dict(
    {
        name: copy.deepcopy(field)
        for name, field in RiskCreateSchema._declared_fields.items()
        if name not in ("source", "source_id", "trend")
    },
    name="ChangeRiskNewSchema",
)

blp = ApiBlueprint(
    "api_changes",
    __name__,
    tag="Planned changes",
    description=(
        "Change requests (ISO 9001 6.3): purpose, consequences, resources, responsibilities, affected processes, "
        "documents and risks; signed approval; implementation tasks; the post-change review."
    ),
)

LOAD = (
    selectinload(ChangeRequest.owner),
    selectinload(ChangeRequest.requested_by),
    selectinload(ChangeRequest.tasks).selectinload(ChangeTask.owner),
    selectinload(ChangeRequest.risk_links).selectinload(ChangeRisk.risk),
    selectinload(ChangeRequest.risk_links).selectinload(ChangeRisk.linked_by),
)
#: who may be given a task (the task's owner completes it; the service checks who)
TASK_DOERS = frozenset({"admin", "manager", "quality_officer", "internal_auditor", "process_owner"})
REQUEST_MESSAGE = "Requires the role manager, quality officer or process owner to request changes"


def load(change_request_id: int) -> ChangeRequest:
    return get_or_404(ChangeRequest, change_request_id, options=LOAD, label="change request")


def extras(change: ChangeRequest) -> dict[str, Any]:
    base = "api_changes."
    review_id = change.org_change_review_id
    return {
        "review_overdue": change.review_overdue(dt.date.today()),
        "links": {
            "self": url_for(base + "get_change", change_request_id=change.id),
            "history": url_for(base + "change_history", change_request_id=change.id),
            "events": url_for(base + "change_events", change_request_id=change.id),
            "org_change_review": (
                url_for("api_reviews.get_org_change_review", review_id=review_id) if review_id else None
            ),
        },
    }


@blp.route("/change-requests", methods=["GET"])
@blp.arguments(ChangeQuerySchema, location="query", unknown=RAISE)
@blp.response(200, ChangePageSchema)
def list_changes(args: dict[str, Any]) -> dict[str, Any]:
    """The change requests: filtered by state or owner, sorted, one page at a time"""
    stmt = select(ChangeRequest)
    state = args.get("state")
    if state == "open":
        stmt = stmt.where(ChangeRequest.state.in_(ChangeRequest.OPEN_STATES))
    elif state is not None:
        stmt = stmt.where(ChangeRequest.state == state)
    if "owner_id" in args:
        stmt = stmt.where(ChangeRequest.owner_id == args["owner_id"])
    columns = {
        "reference": ChangeRequest.reference,
        "created_at": ChangeRequest.created_at,
        "planned_for": ChangeRequest.planned_for,
        "review_due": ChangeRequest.review_due,
        "state": state_order(ChangeRequest),
    }
    stmt = stmt.order_by(*ordering(args["sort"], columns, ChangeRequest.id))
    items, page = paginate(stmt, args, options=LOAD)
    return {**page, "items": present(items, extras)}


@blp.route("/change-requests", methods=["POST"])
@require_roles(REQUEST_ROLES, REQUEST_MESSAGE)
@blp.arguments(ChangeCreateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, ChangeSchema, headers=ETAG_HEADER)
def create(body: dict[str, Any]) -> Any:
    """Request a change (it starts as a draft)

    With `org_change_review_id` it is opened from an organisational-change review, starting with
    the review's assessment; the fields sent override it.
    """
    if "org_change_review_id" not in body and not body.get("title"):
        raise InvalidData({"title": "is required"})
    change = load(request_change(api_user(), **body).id)
    location = url_for("api_changes.get_change", change_request_id=change.id)
    return present([change], extras)[0], 201, {"Location": location, **etag(change)}


@blp.route(f"/change-requests/<{ID}:change_request_id>", methods=["PATCH"])
@require_roles(REQUEST_ROLES, REQUEST_MESSAGE)
@blp.arguments(ChangeFieldsSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, ChangeSchema, headers=ETAG_HEADER)
def change_request(body: dict[str, Any], change_request_id: int) -> Any:
    """Change a draft request's plan (409 once submitted)"""
    change = load(change_request_id)
    update_change(change, api_user(), **body)
    return present([change], extras)[0], 200, etag(change)


@blp.route(f"/change-requests/<{ID}:change_request_id>/tasks", methods=["POST"])
@require_roles(REQUEST_ROLES, "Requires the role manager, quality officer or process owner to plan change tasks")
@blp.arguments(TaskCreateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, TaskSchema)
def create_task(body: dict[str, Any], change_request_id: int) -> Any:
    """Add an implementation task (until the implementation is complete)"""
    return add_task(load(change_request_id), api_user(), **body), 201


@blp.route(f"/change-requests/<{ID}:change_request_id>/tasks/<{ID}:task_id>/complete", methods=["POST"])
@require_roles(TASK_DOERS, "Viewers do not complete change tasks")
@blp.arguments(TaskCompleteSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, TaskSchema)
def finish_task(body: dict[str, Any], change_request_id: int, task_id: int) -> Any:
    """Mark a task done with what was done (its owner, quality officers, managers)"""
    change = load(change_request_id)
    task = next((t for t in change.tasks if t.id == task_id), None)
    if task is None:
        abort(404, description=f"Change request {change.reference} has no task with id {task_id}")
    return complete_task(task, api_user(), **body)


@blp.route(f"/change-requests/<{ID}:change_request_id>/risks", methods=["GET"])
@blp.response(200, ChangeRiskSchema(many=True))
def list_risks(change_request_id: int) -> Any:
    """The risks on the register a change request links"""
    return load(change_request_id).risk_links


@blp.route(f"/change-requests/<{ID}:change_request_id>/risks", methods=["POST"])
@require_roles(REQUEST_ROLES, "Requires the role manager, quality officer or process owner to link risks")
@blp.arguments(ChangeRiskCreateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, ChangeRiskSchema)
def link_risk_to_change(body: dict[str, Any], change_request_id: int) -> Any:
    """Link a risk on the register that the change brings or affects (until its implementation is complete)"""
    from ..services.changes import link_risk

    return link_risk(load(change_request_id), api_user(), **body), 201


@blp.route(f"/change-requests/<{ID}:change_request_id>/risks/new", methods=["POST"])
@require_roles(REQUEST_ROLES, "Requires the role manager, quality officer or process owner to raise risks")
@blp.arguments(ChangeRiskNewSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, ChangeRiskSchema)
def raise_risk_for_change(body: dict[str, Any], change_request_id: int) -> Any:
    """Raise a new risk on the register for the change, linked to it (one transaction)

    The body is that of `POST /risks` without a source; rate the risk with its `assess` event.
    """
    from ..services.changes import raise_change_risk

    change = load(change_request_id)
    risk = raise_change_risk(change, api_user(), **body)
    return next(link for link in load(change.id).risk_links if link.risk_id == risk.id), 201


@blp.route(f"/change-requests/<{ID}:change_request_id>/risks/<{ID}:risk_id>", methods=["DELETE"])
@require_roles(REQUEST_ROLES, "Requires the role manager, quality officer or process owner to unlink risks")
@blp.response(204)
def unlink_risk_from_change(change_request_id: int, risk_id: int) -> None:
    """Remove a risk's link from the change (the risk stays on the register)"""
    from ..services.changes import unlink_risk

    change = load(change_request_id)
    link = next((link for link in change.risk_links if link.risk_id == risk_id), None)
    if link is None:
        abort(404, description=f"Change request {change.reference} does not link the risk with id {risk_id}")
    unlink_risk(change, api_user(), link.id)


add_workflow_routes(
    blp,
    model=ChangeRequest,
    collection="change-requests",
    key="change_request_id",
    name="change",
    schema=ChangeSchema,
    load=load,
    extras=extras,
)
