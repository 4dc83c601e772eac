"""Measuring equipment (ISO 9001 7.1.5): the register with each instrument's calibration status, an
instrument's page with its calibrations (certificates uploaded, as found / as left, traceability)
and lifecycle, its calibration label (PDF), and the out-of-tolerance impact assessments.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from workflows import get_lifecycle
from workflows.errors import InvalidData, InvalidTransition, NotPermitted

from ..database import db
from ..downloads import content_disposition
from ..errors import message_of
from ..models import (
    CALIBRATION_KINDS,
    CALIBRATION_STATUS_LABELS,
    ChecklistItem,
    Equipment,
    Nonconformity,
    OotAssessment,
)
from ..services import available_events, history_of
from ..services.equipment import (
    AFFECTED_KINDS,
    CALIBRATION_ROLES,
    MANAGE_ROLES,
    OWNER_ROLES,
    STATUS_ORDER,
    assessments_of,
    calibrations_of,
    cite_equipment,
    equipment_register,
    in_calibration_order,
    record_calibration,
    register_equipment,
    update_equipment,
)
from ..services.filters import distinct_values
from ..services.inspections import inspections_with
from .events import EventFormState, add_record_routes, lifecycle_diagram
from .forms import apply_errors, user_choices
from .paging import register_page

bp = Blueprint("equipment", __name__)
TOLERANCE_CHOICES = [("true", "In tolerance"), ("false", "Out of tolerance")]


def _has(roles: frozenset[str]) -> bool:
    return current_user.is_authenticated and current_user.has_role(*roles)


def _equipment_or_404(equipment_id: int) -> Equipment:
    return db.session.get(Equipment, equipment_id) or abort(404)


def _assessment_or_404(assessment_id: int) -> OotAssessment:
    return db.session.get(OotAssessment, assessment_id) or abort(404)


@bp.route("/equipment")
@login_required
def register() -> str:
    today = dt.date.today()
    status = request.args.get("status", "")
    status = status if status in STATUS_ORDER else ""
    location = request.args.get("location", "")[:200]
    q = request.args.get("q", "")[:100].strip()
    query = in_calibration_order(equipment_register(status, location, q, today)).options(selectinload(Equipment.owner))
    pagination = register_page(query)
    args = {k: v for k, v in {"status": status, "location": location, "q": q}.items() if v}
    return render_template(
        "equipment/list.html",
        pagination=pagination,
        args=args,
        statuses={s: CALIBRATION_STATUS_LABELS[s] for s in STATUS_ORDER},
        locations=distinct_values(Equipment.location),
        today=today,
        can_manage=_has(MANAGE_ROLES),
    )


class EquipmentForm(FlaskForm):
    identifier = StringField(
        "Identifier", validators=[DataRequired(), Length(max=60)], description="As on its tag, e.g. GA-012."
    )
    name = StringField("Instrument", validators=[DataRequired(), Length(max=200)])
    serial_number = StringField("Serial number", validators=[Optional(), Length(max=120)])
    location = StringField("Location", validators=[Optional(), Length(max=200)])
    measuring_range = StringField("Measuring range", validators=[Optional(), Length(max=200)])
    accuracy = StringField("Accuracy (tolerance)", validators=[Optional(), Length(max=200)])
    interval_days = IntegerField(
        "Calibration interval (days)", validators=[DataRequired(), NumberRange(1, 3660)], default=365
    )
    calibration_kind = SelectField("Calibrated by", choices=list(CALIBRATION_KINDS.items()))
    next_calibration_due = DateField(
        "Next calibration due", validators=[Optional()], description="Leave empty if it has not been calibrated yet."
    )
    owner_id = SelectField("Owner", coerce=int, validators=[Optional()], default=0)
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=10_000)])


FORM_FIELDS = (
    "identifier",
    "name",
    "serial_number",
    "location",
    "measuring_range",
    "accuracy",
    "interval_days",
    "calibration_kind",
    "next_calibration_due",
    "owner_id",
    "notes",
)


def _form_values(form: EquipmentForm) -> dict[str, Any]:
    values = {name: getattr(form, name).data for name in FORM_FIELDS}
    values["owner_id"] = values["owner_id"] or None
    for name in ("identifier", "name", "serial_number", "location", "measuring_range", "accuracy", "notes"):
        values[name] = values[name] or ""
    return values


@bp.route("/equipment/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    if not _has(MANAGE_ROLES):
        abort(403)
    form = EquipmentForm()
    form.owner_id.choices = user_choices(*OWNER_ROLES, blank="Nobody")
    if form.validate_on_submit():
        try:
            equipment = register_equipment(current_user, **_form_values(form))
        except InvalidData as exc:
            apply_errors(form, exc.errors)
        else:
            flash(f"{equipment.identifier} added to the register.")
            return redirect(url_for("equipment.detail", equipment_id=equipment.id))
    return render_template("equipment/form.html", form=form, equipment=None), (422 if form.errors else 200)


@bp.route("/equipment/<id:equipment_id>/edit", methods=["GET", "POST"])
@login_required
def edit(equipment_id: int) -> Any:
    equipment = _equipment_or_404(equipment_id)
    if not _has(MANAGE_ROLES):
        abort(403)
    form = EquipmentForm(obj=equipment if request.method == "GET" else None)
    form.owner_id.choices = user_choices(*OWNER_ROLES, blank="Nobody")
    if request.method == "GET":
        form.owner_id.data = equipment.owner_id or 0
    if form.validate_on_submit():
        try:
            update_equipment(equipment, current_user, **_form_values(form))
        except InvalidData as exc:
            apply_errors(form, exc.errors)
        except InvalidTransition as exc:
            flash(message_of(exc))
        else:
            flash(f"{equipment.identifier} saved.")
            return redirect(url_for("equipment.detail", equipment_id=equipment.id))
    return render_template("equipment/form.html", form=form, equipment=equipment), (422 if form.errors else 200)


class CalibrationForm(FlaskForm):
    calibrated_on = DateField("Calibrated on", validators=[DataRequired()])
    kind = SelectField("Calibrated by", choices=list(CALIBRATION_KINDS.items()))
    performed_by = StringField("Laboratory or person", validators=[DataRequired(), Length(max=200)])
    certificate_number = StringField("Certificate number", validators=[Optional(), Length(max=120)])
    as_found = TextAreaField("As found (readings)", validators=[Optional(), Length(max=5000)])
    as_found_in_tolerance = SelectField("As found", choices=TOLERANCE_CHOICES)
    as_left = TextAreaField("As left (after adjustment)", validators=[Optional(), Length(max=5000)])
    as_left_in_tolerance = SelectField("As left", choices=TOLERANCE_CHOICES)
    traceability = StringField(
        "Traceability",
        validators=[DataRequired(), Length(max=2000)],
        description="The reference standards and their traceability to national or international standards.",
    )
    next_due = DateField("Next calibration due", validators=[Optional()], description="Leave empty for the interval.")
    certificate = StringField("Certificate file")  # the file input is read from request.files


def _render_detail(equipment: Equipment, failed: EventFormState | None = None, status: int = 200, **forms: Any) -> Any:
    today = dt.date.today()
    ncs = list(
        db.session.scalars(
            select(Nonconformity)
            .where(Nonconformity.equipment_id == equipment.id)
            .order_by(Nonconformity.detected_on.desc(), Nonconformity.id.desc())
            .limit(50)
        )
    )
    form = forms.get("calibration_form") or CalibrationForm(
        formdata=None, calibrated_on=today, kind=equipment.calibration_kind
    )
    page = render_template(
        "equipment/detail.html",
        equipment=equipment,
        events=available_events(equipment, current_user),
        failed=failed,
        history=(history := history_of(equipment)),
        diagram=lifecycle_diagram(equipment, history),
        calibrations=calibrations_of(equipment),
        assessments=assessments_of(equipment),
        ncs=ncs,
        inspections=inspections_with(equipment, limit=50),
        form=form,
        today=today,
        can_manage=_has(MANAGE_ROLES),
        can_calibrate=_has(CALIBRATION_ROLES),
    )
    return page, status


add_record_routes(
    bp,
    "/equipment/<id:equipment_id>",
    load=lambda equipment_id: _equipment_or_404(equipment_id),
    render=_render_detail,
    url=lambda equipment: url_for("equipment.detail", equipment_id=equipment.id),
)


@bp.route("/equipment/<id:equipment_id>/calibrations", methods=["POST"])
@login_required
def calibrate(equipment_id: int) -> Any:
    equipment = _equipment_or_404(equipment_id)
    if not _has(CALIBRATION_ROLES):
        abort(403)
    form = CalibrationForm()
    if form.validate_on_submit():
        file = request.files.get("certificate")
        certificate = (file.stream, file.filename) if file is not None and file.filename else None
        data = {
            name: getattr(form, name).data
            for name in (
                "calibrated_on",
                "kind",
                "performed_by",
                "certificate_number",
                "as_found",
                "as_found_in_tolerance",
                "as_left",
                "as_left_in_tolerance",
                "traceability",
                "next_due",
            )
        }
        try:
            _calibration, assessment = record_calibration(equipment, current_user, certificate=certificate, **data)
        except InvalidData as exc:
            apply_errors(form, exc.errors, {"file": "certificate"})
        except InvalidTransition as exc:
            flash(message_of(exc))
            return redirect(url_for("equipment.detail", equipment_id=equipment.id))
        except NotPermitted:
            abort(403)
        else:
            if assessment is not None:
                flash(
                    f"Out of tolerance as found: {assessment.reference} lists what {equipment.identifier} measured "
                    f"since {assessment.window_start}. Assess the impact."
                )
                return redirect(url_for("equipment.assessment", assessment_id=assessment.id))
            flash(f"Calibration recorded; next due {equipment.next_calibration_due}.")
            return redirect(url_for("equipment.detail", equipment_id=equipment.id) + "#calibrations")
    return _render_detail(equipment, None, 422, calibration_form=form)


@bp.route("/equipment/<id:equipment_id>/label.pdf")
@login_required
def label(equipment_id: int) -> Response:
    from ..reports.equipment import calibration_label_pdf

    equipment = _equipment_or_404(equipment_id)
    return Response(
        calibration_label_pdf(equipment, current_app.config["QMS_ORGANISATION"]),
        mimetype="application/pdf",
        headers={"Content-Disposition": content_disposition(f"label-{equipment.id}.pdf", inline=True)},
    )


@bp.route("/equipment/assessments")
@login_required
def assessments() -> str:
    state = request.args.get("state", "")
    lifecycle = get_lifecycle("oot_assessment")
    state = state if state in {s.name for s in lifecycle.states} else ""
    query = select(OotAssessment).options(selectinload(OotAssessment.equipment))
    if state:
        query = query.where(OotAssessment.state == state)
    query = query.order_by(OotAssessment.id.desc())
    pagination = register_page(query)
    return render_template(
        "equipment/assessments.html", pagination=pagination, args={"state": state} if state else {}, lifecycle=lifecycle
    )


def _render_assessment(assessment: OotAssessment, failed: EventFormState | None = None, status: int = 200) -> Any:
    page = render_template(
        "equipment/assessment.html",
        assessment=assessment,
        events=available_events(assessment, current_user),
        failed=failed,
        history=(history := history_of(assessment)),
        diagram=lifecycle_diagram(assessment, history),
        kinds=AFFECTED_KINDS,
    )
    return page, status


add_record_routes(
    bp,
    "/equipment/assessments/<id:assessment_id>",
    load=lambda assessment_id: _assessment_or_404(assessment_id),
    render=_render_assessment,
    url=lambda assessment: url_for("equipment.assessment", assessment_id=assessment.id),
    detail="assessment",
    fire_event="fire_assessment_event",
)


@bp.route("/checklist-items/<id:item_id>/equipment", methods=["POST"])
@login_required
def cite(item_id: int) -> Response:
    """Say which instrument a checklist answer relied on (by its identifier; empty to clear)."""
    item = db.session.get(ChecklistItem, item_id) or abort(404)
    identifier = request.form.get("identifier", "")[:60].strip()
    equipment = db.session.scalar(select(Equipment).where(Equipment.identifier == identifier)) if identifier else None
    back = url_for("audits.checklist", audit_id=item.audit_id) + f"#item-{item.id}"
    if identifier and equipment is None:
        flash(f"No instrument {identifier} in the register.")
        return redirect(back)
    try:
        cite_equipment(item, current_user, equipment.id if equipment else None)
    except NotPermitted:
        abort(403)
    flash(f"Instrument {identifier} recorded on the answer." if equipment else "Instrument cleared from the answer.")
    return redirect(back)


@bp.app_template_global("equipment_panel_for")
def equipment_panel_for(nc: Nonconformity) -> Equipment | None:
    return db.session.get(Equipment, nc.equipment_id) if nc.equipment_id is not None else None


@bp.app_template_global("instruments_cited")
def instruments_cited(audit: Any) -> dict[int, tuple[int, str]]:
    """item id → (instrument id, identifier) for the audit's checklist answers, in one query."""
    rows = db.session.execute(
        select(ChecklistItem.id, Equipment.id, Equipment.identifier)
        .join(Equipment, Equipment.id == ChecklistItem.equipment_id)
        .where(ChecklistItem.audit_id == audit.id)
    ).all()
    return {item_id: (equipment_id, identifier) for item_id, equipment_id, identifier in rows}
