"""The QMS implementation board: every process and clause from planned to effective, with evidence.

The board shows where the QMS stands (columns per state of the ``qms_implementation`` lifecycle,
the share that is effective); each card says what moves it on next, or why it cannot move yet.
An item's page holds its evidence links (documents, audits, nonconformities, web addresses) and
its lifecycle events.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from workflows import get_lifecycle
from workflows.errors import Conflict, InvalidData, InvalidTransition, NotPermitted

from ..database import db
from ..models import ImplementationItem
from ..security import DIAGRAM_CSP, talisman
from ..services import available_events, available_events_many, history_of
from ..services.implementation import (
    BOARD_ROLES,
    DEFAULT_STANDARD,
    EVIDENCE_KINDS,
    EVIDENCE_ROLES,
    add_evidence,
    board,
    board_summary,
    build_board,
    item_label,
    remove_evidence,
)
from .events import EventFormState, add_record_routes, lifecycle_diagram

bp = Blueprint("implementation", __name__)

#: the board's columns, in the lifecycle's order (retired items are only counted)
COLUMNS = ("planned", "documented", "implemented", "monitored", "effective")
SHOW = {"all": "Processes and clauses", "processes": "Processes", "clauses": "Clauses"}
#: where a card moves next: state → the forward event
FORWARD = {"planned": "document", "documented": "implement", "implemented": "monitor", "monitored": "confirm_effective"}
EVIDENCE_ENDPOINTS = {
    "document": ("documents.detail", "document_id"),
    "audit": ("audits.detail", "audit_id"),
    "nonconformity": ("nonconformities.detail", "nc_id"),
}


def can_build() -> bool:
    return current_user.is_authenticated and current_user.has_role(*BOARD_ROLES)


def can_edit_evidence(item: ImplementationItem) -> bool:
    """Quality officers and managers, or the process owner who owns the item; never on a retired item."""
    if item.is_terminal or not current_user.is_authenticated:
        return False
    if current_user.has_role(*EVIDENCE_ROLES):
        return True
    owns = item.owner_id == current_user.id or (item.process is not None and item.process.owner_id == current_user.id)
    return current_user.has_role("process_owner") and owns


@bp.route("/implementation")
@login_required
def board_page() -> str:
    show = request.args.get("show", "all")
    show = show if show in SHOW else "all"
    columns = board(DEFAULT_STANDARD)
    summary = board_summary(columns)
    if show != "all":
        columns = {
            state: [i for i in items if (i.process_id is not None) == (show == "processes")]
            for state, items in columns.items()
        }
    shown = [item for state in COLUMNS for item in columns.get(state, [])]
    events = available_events_many(shown, current_user, dt.date.today()) if shown else {}
    next_step = {}
    for item in shown:
        forward = FORWARD.get(item.state)
        found = next((a for a in events.get(item.id, []) if a.name == forward), None)
        if found is not None and (found.allowed or found.blocked_by != "role"):
            next_step[item.id] = found
    lifecycle = get_lifecycle("qms_implementation")
    return render_template(
        "implementation/board.html",
        columns=columns,
        column_names=COLUMNS,
        states={s.name: s for s in lifecycle.states},
        summary=summary,
        next_step=next_step,
        labels={item.id: item_label(item) for item in shown},
        show=show,
        show_choices=SHOW,
        can_build=can_build(),
        standard=DEFAULT_STANDARD,
    )


@bp.route("/implementation/build", methods=["POST"])
@login_required
def build() -> Any:
    if not can_build():
        abort(403)
    try:
        added = build_board(current_user)
    except NotPermitted:
        abort(403)
    except (InvalidData, Conflict) as exc:
        flash(f"The board was not built: {exc.message}")
        return redirect(url_for("implementation.board_page"))
    flash(f"{added} item(s) added to the board." if added else "The board already holds every process and clause.")
    return redirect(url_for("implementation.board_page"))


def _item_or_404(item_id: int) -> ImplementationItem:
    return db.session.get(ImplementationItem, item_id) or abort(404)


def _render(
    item: ImplementationItem,
    failed: EventFormState | None = None,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: MultiDict | None = None,
) -> Any:
    return render_template(
        "implementation/item.html",
        item=item,
        label=item_label(item),
        events=available_events(item, current_user),
        failed=failed,
        history=(history := history_of(item)),
        diagram=lifecycle_diagram(item, history),
        evidence_kinds=EVIDENCE_KINDS,
        evidence_endpoints=EVIDENCE_ENDPOINTS,
        can_edit=can_edit_evidence(item),
        errors=errors or {},
        values=values or MultiDict(),
    ), status


add_record_routes(
    bp,
    "/implementation/<id:item_id>",
    load=lambda item_id: _item_or_404(item_id),
    render=lambda item, failed, status: _render(item, failed, status=status),
    url=lambda item: url_for("implementation.item_page", item_id=item.id),
    detail="item_page",
)


@bp.route("/implementation/<id:item_id>/evidence", methods=["POST"])
@login_required
@talisman(content_security_policy=DIAGRAM_CSP)
def evidence(item_id: int) -> Any:
    item = _item_or_404(item_id)
    if not can_edit_evidence(item) and not item.is_terminal:
        abort(403)
    form = request.form
    try:
        entry = add_evidence(
            item, current_user, kind=form.get("kind", ""), ref=form.get("ref", "").strip(), label=form.get("label", "")
        )
    except NotPermitted:
        abort(403)
    except InvalidData as exc:
        return _render(item, status=422, errors=exc.errors, values=form)
    except InvalidTransition as exc:
        return _render(item, status=409, errors={"form": exc.message}, values=form)
    flash(f"Evidence linked: {entry['label']}.")
    return redirect(url_for("implementation.item_page", item_id=item.id) + "#evidence")


@bp.route("/implementation/<id:item_id>/evidence/<int:index>/remove", methods=["POST"])
@login_required
@talisman(content_security_policy=DIAGRAM_CSP)
def remove(item_id: int, index: int) -> Any:
    item = _item_or_404(item_id)
    if not can_edit_evidence(item) and not item.is_terminal:
        abort(403)
    evidence = list(item.evidence or [])
    label = evidence[index].get("label", "") if index < len(evidence) else ""
    try:
        remove_evidence(item, current_user, index)
    except NotPermitted:
        abort(403)
    except InvalidData as exc:
        return _render(item, status=422, errors={"form": "; ".join(exc.errors.values())})
    except InvalidTransition as exc:
        return _render(item, status=409, errors={"form": exc.message})
    flash(f"Evidence removed: {label}.")
    return redirect(url_for("implementation.item_page", item_id=item.id) + "#evidence")
