"""Nonconformity register and record pages, corrective actions, evidence, exports."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, FileField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from standards import get_standard
from workflows import get_lifecycle
from workflows.errors import InvalidData, InvalidTransition, NotPermitted

from ..database import db
from ..downloads import content_disposition, send_download
from ..errors import status_of
from ..models import NC_SOURCES, SEVERITY_LABELS, Attachment, ChecklistItem, CorrectiveAction, Nonconformity
from ..security import DIAGRAM_CSP, talisman
from ..services import available_events, available_events_many, history_of
from ..services.attachments import UPLOAD_ROLES, attach, attachments_of, storage_path
from ..services.filters import distinct_values
from ..services.nonconformities import (
    ACTION_OWNER_ROLES,
    EXPORT_COLUMNS,
    PLAN_ROLES,
    PLANNING_STATES,
    RAISE_ROLES,
    NcFilters,
    add_corrective_action,
    add_progress_note,
    export_rows,
    nonconformity_register,
    raise_nonconformity,
    register_xlsx,
)
from ..services.nonconformities import register_pdf as register_pdf_report
from ..services.spreadsheets import csv_text
from .events import EventFormState, add_record_routes, lifecycle_diagram
from .forms import apply_errors, user_choices
from .paging import register_page

bp = Blueprint("nonconformities", __name__)


def iso_clauses() -> list[tuple[str, str]]:
    return [(c.number, c.label) for c in get_standard("iso-9001-2015").clauses]


class RaiseForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    description = TextAreaField("Description", validators=[DataRequired(), Length(max=10_000)])
    source = SelectField("Source", choices=list(NC_SOURCES.items()), validators=[DataRequired()])
    process_name = StringField("Process", validators=[Optional(), Length(max=120)])
    clauses = TextAreaField(
        "ISO 9001 clauses",
        validators=[Optional(), Length(max=500)],
        description="Clause numbers separated by commas, e.g. 7.1.5.2, 8.7",
    )
    detected_on = DateField("Detected on", validators=[DataRequired()], default=dt.date.today)
    evidence = FileField("Evidence (optional)")
    instrument = StringField(
        "Measuring instrument used (optional)",
        validators=[Optional(), Length(max=60)],
        description="Its identifier in the equipment register, e.g. GA-012: traced if it is found out of tolerance.",
    )


def _instrument_id(identifier: str | None) -> int | None:
    """The id of the instrument with this identifier (-1, which the service refuses, when there is none)."""
    from ..models import Equipment

    identifier = (identifier or "").strip()
    if not identifier:
        return None
    return db.session.scalar(select(Equipment.id).where(Equipment.identifier == identifier)) or -1


class ActionForm(FlaskForm):
    title = StringField("Action", validators=[DataRequired(), Length(max=200)])
    description = TextAreaField("Details", validators=[Optional(), Length(max=10_000)])
    owner_id = SelectField("Owner", coerce=int, validators=[DataRequired()])
    due_date = DateField("Due date", validators=[DataRequired()])


# --- register ------------------------------------------------------------------


@bp.route("/nonconformities")
@login_required
def register() -> str:
    filters = NcFilters.from_args(request.args)
    pagination = register_page(nonconformity_register(filters))
    processes = distinct_values(Nonconformity.process)
    return render_template(
        "nonconformities/list.html",
        pagination=pagination,
        available=available_events_many(pagination.items, current_user),
        filters=filters,
        processes=processes,
        lifecycle=get_lifecycle("nonconformity"),
        sources=NC_SOURCES,
        severities=SEVERITY_LABELS,
        today=dt.date.today(),
    )


@bp.route("/nonconformities/export.csv")
@login_required
def export_csv() -> Response:
    filters = NcFilters.from_args(request.args)
    return Response(
        csv_text(EXPORT_COLUMNS, export_rows(filters)),
        mimetype="text/csv",
        headers={"Content-Disposition": content_disposition(f"nonconformities-{dt.date.today()}.csv")},
    )


@bp.route("/nonconformities/export.xlsx")
@login_required
def export_xlsx() -> Response:
    data, _ = register_xlsx(NcFilters.from_args(request.args))
    return Response(
        data,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": content_disposition(f"nonconformities-{dt.date.today()}.xlsx")},
    )


# --- raising -------------------------------------------------------------------


@bp.route("/nonconformities/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    if not current_user.has_role(*RAISE_ROLES):
        abort(403)
    form = RaiseForm()
    if form.validate_on_submit():
        clauses = [c.strip() for c in (form.clauses.data or "").replace(";", ",").split(",") if c.strip()]
        standard = get_standard("iso-9001-2015")
        unknown = [c for c in clauses if not standard.has_clause(c)]
        if unknown:
            form.clauses.errors = [f"Not ISO 9001:2015 clauses: {', '.join(unknown)}"]
        else:
            upload = request.files.get("evidence")
            try:
                nc = raise_nonconformity(
                    current_user,
                    title=form.title.data,
                    description=form.description.data,
                    source=form.source.data,
                    process=form.process_name.data or "",
                    clause_refs=clauses,
                    detected_on=form.detected_on.data,
                    evidence=(upload.stream, upload.filename) if upload and upload.filename else None,
                    equipment_id=_instrument_id(form.instrument.data),
                )
            except InvalidData as exc:
                apply_errors(
                    form,
                    exc.errors,
                    {
                        "clause_refs": "clauses",
                        "file": "evidence",
                        "process": "process_name",
                        "equipment_id": "instrument",
                    },
                )
            else:
                flash(f"{nc.reference} raised.")
                return redirect(url_for("nonconformities.detail", nc_id=nc.id))
    status = 422 if form.errors else 200
    return render_template("nonconformities/new.html", form=form, clauses=iso_clauses()), status


# --- the record page -------------------------------------------------------------


def _nc_or_404(nc_id: int) -> Nonconformity:
    return db.session.get(Nonconformity, nc_id) or abort(404)


def _render_detail(nc: Nonconformity, failed: EventFormState | None = None, action_form: ActionForm | None = None):
    if action_form is None:
        action_form = ActionForm(formdata=None)
    can_plan = nc.state in PLANNING_STATES and current_user.has_role(*PLAN_ROLES)
    if can_plan:  # the page shows the form (and reads its owners, every eligible person) only then
        action_form.owner_id.choices = user_choices(*ACTION_OWNER_ROLES)
    return render_template(
        "nonconformities/detail.html",
        nc=nc,
        events=available_events(nc, current_user),
        failed=failed,
        history=(history := history_of(nc)),
        attachments=attachments_of(nc),
        diagram=lifecycle_diagram(nc, history),
        action_form=action_form,
        can_plan=can_plan,
        can_attach=current_user.has_role(*UPLOAD_ROLES) and not nc.is_terminal,
        sources=NC_SOURCES,
        severities=SEVERITY_LABELS,
        today=dt.date.today(),
        raised_by_item=db.session.scalar(select(ChecklistItem).where(ChecklistItem.nonconformity_id == nc.id)),
    )


add_record_routes(
    bp,
    "/nonconformities/<id:nc_id>",
    load=lambda nc_id: _nc_or_404(nc_id),
    render=lambda nc, failed, status: (_render_detail(nc, failed), status),
    url=lambda nc: url_for("nonconformities.detail", nc_id=nc.id),
)


@bp.route("/nonconformities/<id:nc_id>/actions", methods=["POST"])
@login_required
@talisman(content_security_policy=DIAGRAM_CSP)
def add_action(nc_id: int) -> Any:
    nc = _nc_or_404(nc_id)
    if not current_user.has_role(*PLAN_ROLES):
        abort(403)
    form = ActionForm()
    form.owner_id.choices = user_choices(*ACTION_OWNER_ROLES)
    if form.validate_on_submit():
        try:
            action = add_corrective_action(
                nc,
                current_user,
                title=form.title.data,
                description=form.description.data or "",
                owner_id=form.owner_id.data,
                due_date=form.due_date.data,
            )
        except InvalidData as exc:
            apply_errors(form, exc.errors)
        except (NotPermitted, InvalidTransition) as exc:
            flash(exc.message)
            return _render_detail(nc, action_form=form), status_of(exc)
        else:
            flash(f"{action.reference} added to the plan.")
            return redirect(url_for("nonconformities.detail", nc_id=nc.id) + "#actions")
    return _render_detail(nc, action_form=form), 422


def _upload_to(record: Nonconformity | CorrectiveAction, back: str) -> Response:
    if not current_user.has_role(*UPLOAD_ROLES):
        abort(403)
    file = request.files.get("file")
    if not file or not file.filename:
        flash("Choose a file to attach.")
        return redirect(back)
    try:
        attachment = attach(record, current_user, file.stream, file.filename)
    except InvalidData as exc:
        flash("The file " + exc.errors.get("file", "was refused") + ".")
    except InvalidTransition as exc:
        flash(exc.message[:1].upper() + exc.message[1:] + ".")
        return redirect(back)
    else:
        flash(f"{attachment.filename} attached.")
    return redirect(back + "#evidence")


@bp.route("/nonconformities/<id:nc_id>/attachments", methods=["POST"])
@login_required
def upload(nc_id: int) -> Response:
    nc = _nc_or_404(nc_id)
    return _upload_to(nc, url_for("nonconformities.detail", nc_id=nc.id))


@bp.route("/corrective-actions/<id:action_id>/attachments", methods=["POST"])
@login_required
def upload_for_action(action_id: int) -> Response:
    action = _action_or_404(action_id)
    return _upload_to(action, url_for("nonconformities.action_detail", action_id=action.id))


@bp.route("/attachments/<id:attachment_id>")
@login_required
def download(attachment_id: int) -> Response:
    attachment = db.session.get(Attachment, attachment_id) or abort(404)
    path = storage_path(attachment.sha256)
    if not path.exists():
        current_app.logger.error("attachment %s: stored file %s is missing", attachment.id, path)
        abort(404)
    return send_download(path, attachment.filename, attachment.content_type)


@bp.route("/nonconformities/<id:nc_id>/report.pdf")
@login_required
def report(nc_id: int) -> Response:
    from ..reports import nonconformity_report

    nc = _nc_or_404(nc_id)
    pdf = nonconformity_report(nc, current_app.config["QMS_ORGANISATION"])
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": content_disposition(f"{nc.reference}.pdf", inline=True)},
    )


@bp.route("/nonconformities/register.pdf")
@login_required
def register_pdf() -> Response:
    pdf, _ = register_pdf_report(NcFilters.from_args(request.args), current_app.config["QMS_ORGANISATION"])
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": content_disposition(f"nc-register-{dt.date.today()}.pdf", inline=True)},
    )


# --- corrective actions ------------------------------------------------------------


def _action_or_404(action_id: int) -> CorrectiveAction:
    return db.session.get(CorrectiveAction, action_id) or abort(404)


def _render_action(action: CorrectiveAction, failed: EventFormState | None = None):
    return render_template(
        "nonconformities/action.html",
        action=action,
        nc=action.nonconformity,
        events=available_events(action, current_user),
        failed=failed,
        history=(history := history_of(action)),
        attachments=attachments_of(action),
        can_attach=current_user.has_role(*UPLOAD_ROLES) and not action.is_terminal,
        diagram=lifecycle_diagram(action, history),
        can_note=not action.is_terminal
        and (action.owner_id == current_user.id or current_user.has_role("quality_officer", "manager")),
        today=dt.date.today(),
    )


add_record_routes(
    bp,
    "/corrective-actions/<id:action_id>",
    load=lambda action_id: _action_or_404(action_id),
    render=lambda action, failed, status: (_render_action(action, failed), status),
    url=lambda action: url_for("nonconformities.action_detail", action_id=action.id),
    detail="action_detail",
    fire_event="fire_action_event",
)


@bp.route("/corrective-actions/<id:action_id>/notes", methods=["POST"])
@login_required
def add_note(action_id: int) -> Any:
    action = _action_or_404(action_id)
    try:
        add_progress_note(action, current_user, request.form.get("text", ""))
    except NotPermitted:
        abort(403)
    except (InvalidData, InvalidTransition) as exc:
        flash("Progress note " + (exc.errors.get("text", "") if isinstance(exc, InvalidData) else exc.message))
    else:
        flash("Progress note added.")
    return redirect(url_for("nonconformities.action_detail", action_id=action.id) + "#notes")
