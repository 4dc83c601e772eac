"""/api/v1/implementation: the QMS implementation board (ISO 9001), one item per process and clause.

Every active process and every clause (two levels deep by default) is a
workflow resource (``qms_implementation`` lifecycle: planned → documented →
implemented → monitored → effective, or retired) whose guards read the
evidence linked to it (controlled documents, audits, nonconformities, web
addresses). The board is built (idempotently) by managers and quality
officers; evidence is linked by them or by the owner of the item's process.
Who may do what is the services' rule (NotPermitted → 403).
"""

from __future__ import annotations

from typing import Any

from flask import abort, url_for
from marshmallow import RAISE
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from workflows import get_lifecycle
from workflows.errors import InvalidData

from ..models import ImplementationItem
from ..services.implementation import (
    BOARD_ROLES,
    EVIDENCE_ROLES,
    MAX_EVIDENCE,
    add_evidence,
    board,
    board_summary,
    build_board,
    item_label,
    remove_evidence,
)
from ..services.standards import find_standard
from .auth import api_user, require_roles
from .blueprint import ID, ApiBlueprint
from .schemas.implementation import (
    BoardQuerySchema,
    BoardSchema,
    BuildResultSchema,
    BuildSchema,
    EvidenceInputSchema,
    EvidenceLinkSchema,
    ImplementationItemSchema,
)
from .workflow import add_workflow_routes, get_or_404, present

blp = ApiBlueprint(
    "api_implementation",
    __name__,
    tag="Implementation",
    description=(
        "The QMS implementation board (ISO 9001): each process and clause from planned to effective, "
        "with the evidence that shows where it stands."
    ),
)

LOAD = (selectinload(ImplementationItem.process), selectinload(ImplementationItem.owner))
#: who may change evidence at all (a process owner only on the items they own: the service's rule)
EVIDENCE_EDITORS = EVIDENCE_ROLES | {"process_owner"}
EVIDENCE_MESSAGE = "Only a quality officer, a manager or the item's owner can change its evidence"
#: a piece of evidence in a URL: its position in the item's list
INDEX = f"int(min=0, max={MAX_EVIDENCE - 1})"


def load(implementation_id: int) -> ImplementationItem:
    return get_or_404(ImplementationItem, implementation_id, options=LOAD, label="implementation item")


def _evidence(item: ImplementationItem) -> list[dict[str, Any]]:
    return [
        {"index": index, "kind": str(e.get("kind", "")), "ref": str(e.get("ref", "")), "label": str(e.get("label", ""))}
        for index, e in enumerate(item.evidence or [])
    ]


def extras(item: ImplementationItem) -> dict[str, Any]:
    process = item.process
    key = {"implementation_id": item.id}
    base = "api_implementation."
    return {
        "reference": process.code if process is not None else (item.clause_number or ""),
        "label": item_label(item),
        "item_kind": "process" if item.process_id is not None else "clause",
        "process": {"id": process.id, "name": process.name, "code": process.code} if process is not None else None,
        "owner": {"id": item.owner.id, "name": item.owner.name} if item.owner is not None else None,
        "evidence": _evidence(item),
        "links": {
            "self": url_for(base + "get_implementation_item", **key),
            "history": url_for(base + "implementation_item_history", **key),
            "events": url_for(base + "implementation_item_events", **key),
            "evidence": url_for(base + "link_evidence", **key),
        },
    }


def _summary(columns: dict[str, list[ImplementationItem]]) -> dict[str, Any]:
    summary = board_summary(columns)
    return {
        "counts": dict(summary.counts),
        "total": summary.total,
        "effective": summary.effective,
        "percent_effective": summary.percent_effective,
    }


@blp.route("/implementation", methods=["GET"])
@blp.arguments(BoardQuerySchema, location="query", unknown=RAISE)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, BoardSchema)
def get_board(args: dict[str, Any]) -> dict[str, Any]:
    """The board: every process, then the standard's clauses, per state, with where the QMS stands

    `summary.percent_effective` leaves retired items out. 422 naming `standard` for an unknown standard.
    """
    standard = args["standard"]
    try:
        find_standard(standard)
    except KeyError:
        raise InvalidData({"standard": f"no standard {standard!r}"}) from None
    columns = board(standard)
    everything = present([item for items in columns.values() for item in items], extras)
    presented = {item.id: item for item in everything}
    labels = {state.name: state.label for state in get_lifecycle("qms_implementation").states}
    return {
        "standard_identifier": standard,
        "summary": _summary(columns),
        "columns": [
            {"state": state, "label": labels.get(state, state), "items": [presented[i.id] for i in items]}
            for state, items in columns.items()
        ],
    }


@blp.route("/implementation/build", methods=["POST"])
@require_roles(BOARD_ROLES, "Requires the role manager or quality officer to set up the implementation board")
@blp.arguments(BuildSchema, required=False)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, BuildResultSchema)
def build(body: dict[str, Any]) -> dict[str, Any]:
    """Add what the board lacks: every active process and every clause `depth` levels deep

    Running it again adds only what is new (`added` is 0 when nothing is).
    Managers and quality officers may.
    """
    standard = body.get("standard_identifier", "iso-9001-2015")
    added = build_board(api_user(), standard_identifier=standard, depth=body.get("depth", 2))
    return {"added": added, "summary": _summary(board(standard))}


add_workflow_routes(
    blp,
    model=ImplementationItem,
    collection="implementation",
    key="implementation_id",
    name="implementation_item",
    schema=ImplementationItemSchema,
    load=load,
    extras=extras,
)


@blp.route(f"/implementation/<{ID}:implementation_id>/evidence", methods=["POST"])
@require_roles(EVIDENCE_EDITORS, EVIDENCE_MESSAGE)
@blp.arguments(EvidenceInputSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, EvidenceLinkSchema)
def link_evidence(body: dict[str, Any], implementation_id: int) -> Any:
    """Link evidence: a controlled document, an audit or a nonconformity (by id), or a web address

    Quality officers, managers and the owner of the item's process may, until
    the item is retired (409). 422 names `ref` for a record that does not
    exist, an obsolete document, evidence already linked, or an address that
    is not http(s).
    """
    item = load(implementation_id)
    entry = add_evidence(item, api_user(), kind=body["kind"], ref=body["ref"], label=body["label"])
    return {"index": len(item.evidence) - 1, **entry}, 201


@blp.route(f"/implementation/<{ID}:implementation_id>/evidence/<{INDEX}:index>", methods=["DELETE"])
@require_roles(EVIDENCE_EDITORS, EVIDENCE_MESSAGE)
@blp.response(204)
def unlink_evidence(implementation_id: int, index: int) -> Response:
    """Remove a piece of evidence by its position (the others move up)"""
    item = load(implementation_id)
    if index >= len(item.evidence or []):
        abort(404, description=f"Implementation item {item.id} has no evidence at position {index}")
    remove_evidence(item, api_user(), index)
    return Response(status=204)
