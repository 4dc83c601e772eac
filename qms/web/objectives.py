"""Quality objectives (ISO 9001 6.2): the register with each objective's status, setting an objective
with its KPI and plan, the objective's page (trend chart, values, events), recording values by hand
or from a CSV file, recomputing a KPI computed from the records, and the plan and status report.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import DateField, DecimalField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from workflows import get_lifecycle
from workflows.errors import InvalidData, InvalidTransition, NotPermitted

from ..database import db
from ..downloads import content_disposition
from ..models import DIRECTIONS, FREQUENCIES, MEASUREMENT_SOURCES, QualityObjective
from ..security import DIAGRAM_CSP, talisman
from ..services import available_events, history_of
from ..services.objectives import (
    MEASURES,
    OWNER_ROLES,
    PLAN_FIELDS,
    SET_ROLES,
    STATUS_LABELS,
    can_measure,
    create_objective,
    import_measurements_csv,
    measurement_points,
    objective_status,
    objective_statuses,
    record_measurement,
    refresh_computed,
    trend_svg,
    update_objective,
)
from .events import EventFormState, add_record_routes, lifecycle_diagram
from .forms import apply_errors, process_choices, user_choices
from .paging import register_page

bp = Blueprint("objectives", __name__)


def can_set() -> bool:
    return current_user.has_role(*SET_ROLES)


def _objective_or_404(objective_id: int) -> QualityObjective:
    return db.session.get(QualityObjective, objective_id) or abort(404)


def measure_choices() -> list[tuple[str, str]]:
    return [("manual", "Entered by hand or imported from CSV")] + [
        (m.key, f"Computed: {m.label}") for m in MEASURES.values()
    ]


# --------------------------------------------------------------------------- the register


@bp.route("/objectives")
@login_required
def register() -> str:
    lifecycle = get_lifecycle("quality_objective")
    state = request.args.get("state", "")
    state = state if state in {s.name for s in lifecycle.states} or state == "open" else ""
    process_id = request.args.get("process", 0, type=int) or 0
    query = select(QualityObjective).options(
        selectinload(QualityObjective.owner), selectinload(QualityObjective.process)
    )
    if state == "open":
        query = query.where(QualityObjective.state.in_(QualityObjective.OPEN_STATES))
    elif state:
        query = query.where(QualityObjective.state == state)
    if 0 < process_id < 2**31:
        query = query.where(QualityObjective.process_id == process_id)
    query = query.order_by(QualityObjective.deadline, QualityObjective.id)
    pagination = register_page(query)
    args = {k: v for k, v in {"state": state, "process": process_id or ""}.items() if v}
    return render_template(
        "objectives/list.html",
        pagination=pagination,
        statuses=objective_statuses(pagination.items, dt.date.today()),
        args=args,
        lifecycle=lifecycle,
        processes=process_choices("Any"),
        status_labels=STATUS_LABELS,
        can_set=can_set(),
    )


# --------------------------------------------------------------------------- setting an objective


class ObjectiveForm(FlaskForm):
    title = StringField("Objective", validators=[DataRequired(), Length(max=200)])
    description = TextAreaField("Why it matters", validators=[Optional(), Length(max=10_000)])
    process_id = SelectField("Process", coerce=int, validators=[Optional()], default=0)
    owner_id = SelectField("Owner", coerce=int, validators=[Optional()], default=0)
    kpi_name = StringField(
        "KPI", validators=[DataRequired(), Length(max=200)], description="What is measured, e.g. on-time delivery."
    )
    measure = SelectField("How the KPI is measured", default="manual")
    unit = StringField("Unit", validators=[Optional(), Length(max=30)], description="e.g. %, days, NCs.")
    direction = SelectField("Better is", choices=list(DIRECTIONS.items()), default="up")
    baseline = DecimalField("Baseline", validators=[Optional()], places=None)
    target = DecimalField("Target", validators=[DataRequired()], places=None)
    tolerance = DecimalField(
        "At risk within",
        validators=[Optional()],
        places=None,
        description="How far short of the target the forecast may be and count as at risk (default 10 % of it).",
    )
    frequency = SelectField("Measured", choices=list(FREQUENCIES.items()), default="monthly")
    starts_on = DateField("Starts on", validators=[Optional()], description="Leave empty for today.")
    deadline = DateField("Deadline", validators=[DataRequired()])
    plan_what = TextAreaField("What will be done", validators=[Optional(), Length(max=5000)])
    plan_resources = TextAreaField("Resources", validators=[Optional(), Length(max=5000)])
    plan_who = TextAreaField("Who is responsible", validators=[Optional(), Length(max=5000)])
    plan_when = TextAreaField("When it will be completed", validators=[Optional(), Length(max=5000)])
    plan_evaluation = TextAreaField("How the results will be evaluated", validators=[Optional(), Length(max=5000)])


FORM_FIELDS = (
    "title",
    "description",
    "process_id",
    "owner_id",
    "kpi_name",
    "measure",
    "unit",
    "direction",
    "baseline",
    "target",
    "tolerance",
    "frequency",
    "starts_on",
    "deadline",
    *PLAN_FIELDS,
)


def _form(obj: Any = None) -> ObjectiveForm:
    form = ObjectiveForm(obj=obj)
    form.process_id.choices = process_choices("—")
    form.owner_id.choices = user_choices(*OWNER_ROLES, blank="Me")
    form.measure.choices = measure_choices()
    return form


def _values(form: ObjectiveForm) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in FORM_FIELDS:
        value = getattr(form, name).data
        if name in ("baseline", "target", "tolerance"):
            value = None if value is None else float(value)
        values[name] = value
    return values


@bp.route("/objectives/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    if not can_set():
        abort(403)
    form = _form()
    if form.validate_on_submit():
        try:
            objective = create_objective(current_user, **_values(form))
        except InvalidData as exc:
            apply_errors(form, exc.errors)
        else:
            flash(f"{objective.reference} set as a draft. A manager approves it once its plan is written.")
            return redirect(url_for("objectives.detail", objective_id=objective.id))
    return render_template("objectives/form.html", form=form, objective=None), (422 if form.errors else 200)


@bp.route("/objectives/<id:objective_id>/edit", methods=["GET", "POST"])
@login_required
def edit(objective_id: int) -> Any:
    objective = _objective_or_404(objective_id)
    if not can_set():
        abort(403)
    if objective.state != "draft":
        flash("Only a draft objective can be changed.")
        return redirect(url_for("objectives.detail", objective_id=objective.id))
    form = _form(objective)
    if form.validate_on_submit():
        values = _values(form)
        values["owner_id"] = values["owner_id"] or objective.owner_id
        try:
            update_objective(objective, current_user, **values)
        except InvalidData as exc:
            apply_errors(form, exc.errors)
        else:
            flash("Objective saved.")
            return redirect(url_for("objectives.detail", objective_id=objective.id))
    return render_template("objectives/form.html", form=form, objective=objective), (422 if form.errors else 200)


# --------------------------------------------------------------------------- the objective's page


def _render_detail(
    objective: QualityObjective,
    failed: EventFormState | None = None,
    status: int = 200,
    *,
    value_errors: dict[str, str] | None = None,
    import_errors: dict[str, str] | None = None,
) -> Any:
    today = dt.date.today()
    points = measurement_points([objective.id])[objective.id]
    standing = objective_status(objective, points, today)
    history = history_of(objective)
    page = render_template(
        "objectives/detail.html",
        objective=objective,
        standing=standing,
        chart=trend_svg(objective, points, standing),
        measurements=list(reversed(objective.measurements)),
        events=available_events(objective, current_user),
        failed=failed,
        history=history,
        diagram=lifecycle_diagram(objective, history),
        measure=MEASURES.get(objective.measure),
        directions=DIRECTIONS,
        frequencies=FREQUENCIES,
        sources=MEASUREMENT_SOURCES,
        can_measure=can_measure(objective, current_user.as_actor()) and objective.state == "active",
        can_set=can_set(),
        value_errors=value_errors or {},
        import_errors=import_errors or {},
        value_form=request.form if value_errors else {},
        today=today,
    )
    return page, status


add_record_routes(
    bp,
    "/objectives/<id:objective_id>",
    load=lambda objective_id: _objective_or_404(objective_id),
    render=_render_detail,
    url=lambda objective: url_for("objectives.detail", objective_id=objective.id),
)


def _protected(view: Any) -> Any:
    return login_required(talisman(content_security_policy=DIAGRAM_CSP)(view))


def record_value(objective_id: int) -> Any:
    objective = _objective_or_404(objective_id)
    try:
        record_measurement(
            objective,
            current_user,
            measured_on=request.form.get("measured_on", ""),
            value=request.form.get("value", ""),
            note=request.form.get("note", ""),
        )
    except NotPermitted:
        abort(403)
    except InvalidData as exc:
        return _render_detail(objective, status=422, value_errors=exc.errors)
    except InvalidTransition as exc:
        return _render_detail(objective, status=409, value_errors={"value": exc.message})
    flash("Value recorded.")
    return redirect(url_for("objectives.detail", objective_id=objective.id) + "#values")


def import_values(objective_id: int) -> Any:
    objective = _objective_or_404(objective_id)
    if not can_measure(objective, current_user.as_actor()):
        abort(403)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _render_detail(objective, status=422, import_errors={"file": "choose a CSV file to import"})
    try:
        counts = import_measurements_csv(objective, current_user, upload.read(512 * 1024))
    except NotPermitted:
        abort(403)
    except InvalidData as exc:
        return _render_detail(objective, status=422, import_errors=exc.errors)
    except InvalidTransition as exc:
        return _render_detail(objective, status=409, import_errors={"file": exc.message})
    flash(f"{counts['added']} values imported, {counts['replaced']} replaced.")
    return redirect(url_for("objectives.detail", objective_id=objective.id) + "#values")


def recompute(objective_id: int) -> Any:
    objective = _objective_or_404(objective_id)
    try:
        changed = refresh_computed(objective, current_user)
    except NotPermitted:
        abort(403)
    except InvalidTransition as exc:
        return _render_detail(objective, status=409, value_errors={"value": exc.message})
    flash(f"Recomputed from the records: {changed} value(s) added or changed.")
    return redirect(url_for("objectives.detail", objective_id=objective.id) + "#trend")


bp.add_url_rule("/objectives/<id:objective_id>/values", "record_value", _protected(record_value), methods=["POST"])
bp.add_url_rule(
    "/objectives/<id:objective_id>/values/import", "import_values", _protected(import_values), methods=["POST"]
)
bp.add_url_rule("/objectives/<id:objective_id>/recompute", "recompute", _protected(recompute), methods=["POST"])


@bp.route("/objectives/report.pdf")
@login_required
def report_pdf() -> Response:
    """The plan and status of every objective not withdrawn, as a PDF."""
    from ..reports.objectives import objectives_report_pdf

    return Response(
        objectives_report_pdf(organisation=current_app.config["QMS_ORGANISATION"]),
        mimetype="application/pdf",
        headers={"Content-Disposition": content_disposition(f"quality-objectives-{dt.date.today()}.pdf", inline=True)},
    )
