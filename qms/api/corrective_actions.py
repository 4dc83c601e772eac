"""/api/v1/corrective-actions: planning, progress notes and the action's own lifecycle."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import url_for
from marshmallow import RAISE
from sqlalchemy import and_, not_, select
from sqlalchemy.orm import selectinload

from ..models import CorrectiveAction, Nonconformity, ProgressNote
from ..services.nonconformities import add_corrective_action, add_progress_note
from .attachments import add_attachment_routes
from .auth import api_user
from .blueprint import ID, ApiBlueprint
from .schemas import (
    CorrectiveActionCreateSchema,
    CorrectiveActionPageSchema,
    CorrectiveActionQuerySchema,
    CorrectiveActionSchema,
    ProgressNoteCreateSchema,
    ProgressNoteSchema,
)
from .workflow import add_workflow_routes, get_or_404, ordering, paginate, present, state_order

blp = ApiBlueprint(
    "api_corrective_actions",
    __name__,
    tag="Corrective actions",
    description="Corrective actions: planned on a nonconformity, implemented by their owner, verified by another.",
)

CA = CorrectiveAction
#: what an action's representation reads, loaded for a whole page in a fixed number of queries
LOAD = (
    selectinload(CA.nonconformity),
    selectinload(CA.owner),
    selectinload(CA.implemented_by),
    selectinload(CA.verified_by),
    selectinload(CA.notes).selectinload(ProgressNote.author),
)


def extras(action: CorrectiveAction) -> dict[str, Any]:
    base = "api_corrective_actions."
    return {
        "overdue": action.is_overdue(dt.date.today()),
        "links": {
            "self": url_for(base + "get_corrective_action", action_id=action.id),
            "history": url_for(base + "corrective_action_history", action_id=action.id),
            "events": url_for(base + "corrective_action_events", action_id=action.id),
            "notes": url_for(base + "add_note", action_id=action.id),
            "attachments": url_for(base + "list_attachments", action_id=action.id),
            "nonconformity": url_for("api_nonconformities.get_nonconformity", nc_id=action.nonconformity_id),
        },
    }


def load(action_id: int) -> CorrectiveAction:
    return get_or_404(CA, action_id, options=LOAD)


def _page(args: dict[str, Any], nonconformity_id: int | None = None) -> dict[str, Any]:
    stmt = select(CA)
    if nonconformity_id is not None:
        stmt = stmt.where(CA.nonconformity_id == nonconformity_id)
    if "state" in args:
        stmt = stmt.where(CA.state == args["state"])
    if "owner" in args:
        stmt = stmt.where(CA.owner_id == args["owner"])
    if "overdue" in args:
        overdue = and_(CA.state.in_(CA.OPEN_STATES), CA.due_date < dt.date.today())
        stmt = stmt.where(overdue if args["overdue"] else not_(overdue))
    columns = {
        "reference": CA.reference,
        "due_date": CA.due_date,
        "created_at": CA.created_at,
        "state": state_order(CA),
    }
    stmt = stmt.order_by(*ordering(args["sort"], columns, CA.id))
    items, page = paginate(stmt, args["page"], args["per_page"], options=LOAD)
    return {**page, "items": present(items, extras)}


@blp.route("/corrective-actions", methods=["GET"])
@blp.arguments(CorrectiveActionQuerySchema, location="query", unknown=RAISE)
@blp.response(200, CorrectiveActionPageSchema)
def list_corrective_actions(args: dict[str, Any]) -> dict[str, Any]:
    """All corrective actions: filtered (state, owner, overdue), sorted, one page at a time"""
    return _page(args)


@blp.route(f"/nonconformities/<{ID}:nc_id>/corrective-actions", methods=["GET"])
@blp.arguments(CorrectiveActionQuerySchema, location="query", unknown=RAISE)
@blp.response(200, CorrectiveActionPageSchema)
def list_nonconformity_actions(args: dict[str, Any], nc_id: int) -> dict[str, Any]:
    """The corrective actions of one nonconformity"""
    nc = get_or_404(Nonconformity, nc_id)
    return _page(args, nonconformity_id=nc.id)


@blp.route(f"/nonconformities/<{ID}:nc_id>/corrective-actions", methods=["POST"])
@blp.arguments(CorrectiveActionCreateSchema)
@blp.response(201, CorrectiveActionSchema)
def create_corrective_action(body: dict[str, Any], nc_id: int) -> Any:
    """Plan a corrective action on a nonconformity

    Possible once its root cause is recorded, by a manager, process owner or
    quality officer; the owner must be an active user and the due date not in
    the past.
    """
    nc = get_or_404(Nonconformity, nc_id)
    action = add_corrective_action(nc, api_user(), **body)
    action = load(action.id)
    location = url_for("api_corrective_actions.get_corrective_action", action_id=action.id)
    return present([action], extras)[0], 201, {"Location": location}


add_workflow_routes(
    blp,
    model=CA,
    collection="corrective-actions",
    key="action_id",
    name="corrective_action",
    schema=CorrectiveActionSchema,
    load=load,
    extras=extras,
)


@blp.route(f"/corrective-actions/<{ID}:action_id>/notes", methods=["POST"])
@blp.arguments(ProgressNoteCreateSchema)
@blp.response(201, ProgressNoteSchema)
def add_note(body: dict[str, Any], action_id: int) -> Any:
    """Record progress on an open corrective action (its owner, a quality officer or a manager)"""
    return add_progress_note(load(action_id), api_user(), body["text"])


add_attachment_routes(blp, collection="corrective-actions", key="action_id", label="corrective action", load=load)
