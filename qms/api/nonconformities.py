"""/api/v1/nonconformities: the register, raising, lifecycle events and evidence files."""

from __future__ import annotations

from typing import Any

from flask import url_for
from marshmallow import RAISE
from sqlalchemy import case, or_, select
from sqlalchemy.orm import selectinload

from ..models import Nonconformity
from ..services.nonconformities import raise_nonconformity
from ..services.registers import clause_filter
from .attachments import add_attachment_routes
from .auth import api_user
from .blueprint import ApiBlueprint
from .schemas import (
    NonconformityCreateSchema,
    NonconformityPageSchema,
    NonconformityQuerySchema,
    NonconformitySchema,
)
from .workflow import (
    add_workflow_routes,
    contains,
    get_or_404,
    ordering,
    paginate,
    present,
    state_order,
)

blp = ApiBlueprint(
    "api_nonconformities",
    __name__,
    tag="Nonconformities",
    description="Nonconformities (ISO 9001 10.2): raise, triage, contain, find the cause, verify, close.",
)

#: what a nonconformity's representation reads, loaded for a whole page in a fixed number of queries
LOAD = (selectinload(Nonconformity.raised_by), selectinload(Nonconformity.owner), selectinload(Nonconformity.actions))
SEVERITY_ORDER = {"major": 0, "minor": 1, "observation": 2}


def extras(nc: Nonconformity) -> dict[str, Any]:
    base = "api_nonconformities."
    return {
        "links": {
            "self": url_for(base + "get_nonconformity", nc_id=nc.id),
            "history": url_for(base + "nonconformity_history", nc_id=nc.id),
            "events": url_for(base + "nonconformity_events", nc_id=nc.id),
            "corrective_actions": url_for("api_corrective_actions.list_nonconformity_actions", nc_id=nc.id),
            "attachments": url_for(base + "list_attachments", nc_id=nc.id),
        }
    }


def load(nc_id: int) -> Nonconformity:
    return get_or_404(Nonconformity, nc_id, options=LOAD)


@blp.route("/nonconformities", methods=["GET"])
@blp.arguments(NonconformityQuerySchema, location="query", unknown=RAISE)
@blp.response(200, NonconformityPageSchema)
def list_nonconformities(args: dict[str, Any]) -> dict[str, Any]:
    """The nonconformity register: filtered, sorted, one page at a time"""
    nc = Nonconformity
    stmt = select(nc)
    for name, column in (("state", nc.state), ("severity", nc.severity), ("source", nc.source)):
        if name in args:
            stmt = stmt.where(column == args[name])
    if "process" in args:
        stmt = stmt.where(contains(nc.process, args["process"]))
    if "clause" in args:
        stmt = stmt.where(clause_filter(args["clause"]))
    if "q" in args:
        stmt = stmt.where(
            or_(contains(nc.reference, args["q"]), contains(nc.title, args["q"]), contains(nc.description, args["q"]))
        )
    if "raised_by" in args:
        stmt = stmt.where(nc.raised_by_id == args["raised_by"])
    if "owner" in args:
        stmt = stmt.where(nc.owner_id == args["owner"])
    columns = {
        "reference": nc.reference,
        "detected_on": nc.detected_on,
        "created_at": nc.created_at,
        "severity": case(SEVERITY_ORDER, value=nc.severity, else_=len(SEVERITY_ORDER)),
        "state": state_order(nc),
    }
    stmt = stmt.order_by(*ordering(args["sort"], columns, nc.id))
    items, page = paginate(stmt, args["page"], args["per_page"], options=LOAD)
    return {**page, "items": present(items, extras)}


@blp.route("/nonconformities", methods=["POST"])
@blp.arguments(NonconformityCreateSchema)
@blp.response(201, NonconformitySchema)
def create_nonconformity(body: dict[str, Any]) -> Any:
    """Raise a nonconformity (it starts as reported)

    Any role but viewer may raise one.
    """
    nc = raise_nonconformity(api_user(), **body)
    nc = load(nc.id)
    return present([nc], extras)[0], 201, {"Location": url_for("api_nonconformities.get_nonconformity", nc_id=nc.id)}


add_workflow_routes(
    blp,
    model=Nonconformity,
    collection="nonconformities",
    key="nc_id",
    name="nonconformity",
    schema=NonconformitySchema,
    load=load,
    extras=extras,
)


add_attachment_routes(blp, collection="nonconformities", key="nc_id", label="nonconformity", load=load)
