"""Inspections (ISO 9001 8.6, 8.4.2): the register, recording one (incoming from a supplier's delivery,
in-process, final) with the instrument used and the result, and an inspection's page with its review.

Suppliers and instruments are typed by their reference or identifier, as on the delivery note and
the instrument's tag: registers of thousands do not fit in a drop-down list.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict

from workflows import get_lifecycle
from workflows.errors import InvalidData

from ..database import db
from ..models import INSPECTION_KINDS, INSPECTION_RESULTS, Equipment, Inspection, Supplier
from ..services import available_events, history_of
from ..services.inspections import RECORD_ROLES, inspection_register, record_inspection, validated
from .events import EventFormState, add_record_routes, lifecycle_diagram
from .paging import register_page

bp = Blueprint("inspections", __name__)

TEXT_FIELDS = (
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
    "order_reference",
)


def _can_record() -> bool:
    return current_user.is_authenticated and current_user.has_role(*RECORD_ROLES)


def _inspection_or_404(inspection_id: int) -> Inspection:
    return db.session.get(Inspection, inspection_id) or abort(404)


@bp.route("/inspections")
@login_required
def register() -> str:
    lifecycle = get_lifecycle("inspection")
    kind = request.args.get("kind", "")
    kind = kind if kind in INSPECTION_KINDS else ""
    result = request.args.get("result", "")
    result = result if result in INSPECTION_RESULTS else ""
    state = request.args.get("state", "")
    state = state if state in {s.name for s in lifecycle.states} else ""
    q = request.args.get("q", "")[:100].strip()
    query = inspection_register(kind, result, state, q).options(
        selectinload(Inspection.supplier), selectinload(Inspection.equipment)
    )
    pagination = register_page(query)
    args = {k: v for k, v in {"kind": kind, "result": result, "state": state, "q": q}.items() if v}
    return render_template(
        "inspections/list.html",
        pagination=pagination,
        args=args,
        kinds=INSPECTION_KINDS,
        results=INSPECTION_RESULTS,
        lifecycle=lifecycle,
        can_record=_can_record(),
    )


def _supplier_by_reference(text: str) -> Supplier | None:
    text = text.strip()[:200]
    if not text:
        return None
    found = db.session.scalar(select(Supplier).where(Supplier.reference == text))
    if found is None:
        named = db.session.scalars(select(Supplier).where(func.lower(Supplier.name) == text.lower()).limit(2)).all()
        found = named[0] if len(named) == 1 else None
    return found


def _render_new(values: MultiDict | dict[str, Any], errors: dict[str, str] | None = None, status: int = 200) -> Any:
    page = render_template(
        "inspections/new.html",
        values=values,
        errors=errors or {},
        kinds=INSPECTION_KINDS,
        results=INSPECTION_RESULTS,
        today=dt.date.today(),
    )
    return page, status


@bp.route("/inspections/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    if not _can_record():
        abort(403)
    if request.method == "GET":
        values: dict[str, Any] = {"inspected_on": dt.date.today().isoformat()}
        supplier = db.session.get(Supplier, request.args.get("supplier_id", 0, type=int) or 0)
        if supplier is not None:
            values.update(kind="incoming", supplier=supplier.reference)
        equipment = db.session.get(Equipment, request.args.get("equipment_id", 0, type=int) or 0)
        if equipment is not None:
            values["equipment"] = equipment.identifier
        return _render_new(values)
    form = request.form
    data: dict[str, Any] = {name: form.get(name, "") for name in TEXT_FIELDS}
    errors: dict[str, str] = {}
    supplier_text = form.get("supplier", "").strip()
    if supplier_text:
        supplier = _supplier_by_reference(supplier_text)
        if supplier is None:
            errors["supplier_id"] = f"no supplier with the reference or name “{supplier_text[:200]}” in the register"
        else:
            data["supplier_id"] = supplier.id
    equipment_text = form.get("equipment", "").strip()[:60]
    if equipment_text:
        equipment = db.session.scalar(select(Equipment).where(Equipment.identifier == equipment_text))
        if equipment is None:
            errors["equipment_id"] = f"no instrument {equipment_text} in the register"
        else:
            data["equipment_id"] = equipment.id
    try:
        if errors:  # the other fields are checked too, so every error shows at once
            try:
                validated(data)
            except InvalidData as exc:
                errors = {**exc.errors, **errors}
            raise InvalidData(errors)
        inspection = record_inspection(current_user, **data)
    except InvalidData as exc:
        return _render_new(form, exc.errors, 422)
    message = f"{inspection.reference} recorded: {inspection.result_label.lower()}."
    if inspection.nonconformity is not None:
        message += f" {inspection.nonconformity.reference} raised against the supplier."
    flash(message)
    return redirect(url_for("inspections.detail", inspection_id=inspection.id))


def _render_detail(inspection: Inspection, failed: EventFormState | None = None, status: int = 200) -> Any:
    page = render_template(
        "inspections/detail.html",
        inspection=inspection,
        events=available_events(inspection, current_user),
        failed=failed,
        history=(history := history_of(inspection)),
        diagram=lifecycle_diagram(inspection, history),
    )
    return page, status


add_record_routes(
    bp,
    "/inspections/<id:inspection_id>",
    load=lambda inspection_id: _inspection_or_404(inspection_id),
    render=_render_detail,
    url=lambda inspection: url_for("inspections.detail", inspection_id=inspection.id),
)
