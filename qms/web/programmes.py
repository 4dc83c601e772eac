"""Audit set-up: sites and processes, and the yearly audit programmes that generate audits."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from workflows.errors import InvalidData, NotPermitted

from ..database import db
from ..models import RISK_FREQUENCY, RISK_LEVELS, Audit, AuditProgramme, Process, Site
from ..services.audits import PLANNER_ROLES, SETUP_ROLES, create_programme, create_site, generate_audits, save_process
from .audits import apply_errors, find_standard, site_choices, split_clauses, standard_choices, user_choices

bp = Blueprint("programmes", __name__)


def _require(roles: frozenset[str]) -> None:
    if not current_user.has_role(*roles):
        abort(403)


# --------------------------------------------------------------------------- sites and processes


class SiteForm(FlaskForm):
    name = StringField("Site name", validators=[DataRequired(), Length(max=120)])
    code = StringField("Site code", validators=[DataRequired(), Length(max=12)])
    address = TextAreaField("Address", validators=[Optional(), Length(max=2000)])


class ProcessForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    code = StringField("Code", validators=[DataRequired(), Length(max=12)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=5000)])
    owner_id = SelectField("Owner", coerce=int, default=0)
    site_id = SelectField("Site", coerce=int, default=0)
    risk = SelectField("Risk rating", choices=list(RISK_LEVELS.items()), default="medium")
    clauses = StringField(
        "ISO 9001 clauses addressed",
        validators=[Optional(), Length(max=1000)],
        description="Clause numbers separated by commas, e.g. 7.1.5, 8.5; leave empty for all clauses",
    )
    active = BooleanField("Active", default=True)


def _process_form(process: Process | None = None) -> ProcessForm:
    form = (
        ProcessForm(obj=None)
        if process is None
        else ProcessForm(
            data={
                "name": process.name,
                "code": process.code,
                "description": process.description,
                "owner_id": process.owner_id or 0,
                "site_id": process.site_id or 0,
                "risk": process.risk,
                "clauses": ", ".join(process.clause_numbers or []),
                "active": process.active,
            }
        )
    )
    form.owner_id.choices = user_choices(blank="— nobody —")
    form.site_id.choices = site_choices("— all sites —")
    return form


@bp.route("/processes")
@login_required
def processes() -> str:
    _require(SETUP_ROLES)
    return _render_processes(SiteForm(formdata=None))


def _render_processes(site_form: SiteForm) -> str:
    return render_template(
        "processes/list.html",
        processes=db.session.scalars(
            select(Process).options(selectinload(Process.owner), selectinload(Process.site)).order_by(Process.name)
        ).all(),
        sites=db.session.scalars(select(Site).order_by(Site.name)).all(),
        site_form=site_form,
        risks=RISK_LEVELS,
        frequency=RISK_FREQUENCY,
    )


@bp.route("/sites", methods=["POST"])
@login_required
def new_site() -> Any:
    _require(SETUP_ROLES)
    form = SiteForm()
    if form.validate_on_submit():
        try:
            site = create_site(current_user, name=form.name.data, code=form.code.data, address=form.address.data or "")
        except InvalidData as exc:
            apply_errors(form, exc.errors)
        else:
            flash(f"Site {site.name} set up.")
            return redirect(url_for("programmes.processes") + "#sites")
    return _render_processes(form), 422


def _save_process(form: ProcessForm, process: Process | None) -> Process | None:
    try:
        return save_process(
            current_user,
            name=form.name.data,
            code=form.code.data,
            description=form.description.data or "",
            owner_id=form.owner_id.data or None,
            site_id=form.site_id.data or None,
            risk=form.risk.data,
            clause_numbers=split_clauses(None, form.clauses.data),
            active=form.active.data,
            process=process,
        )
    except InvalidData as exc:
        apply_errors(form, exc.errors, {"clause_numbers": "clauses", "standard": "clauses"})
        return None


@bp.route("/processes/new", methods=["GET", "POST"])
@login_required
def new_process() -> Any:
    _require(SETUP_ROLES)
    form = _process_form()
    if request.method == "GET":
        form.active.data = True
    if form.validate_on_submit() and (process := _save_process(form, None)) is not None:
        flash(f"Process {process.name} set up.")
        return redirect(url_for("programmes.processes"))
    return render_template("processes/edit.html", form=form, process=None), (422 if form.errors else 200)


@bp.route("/processes/<id:process_id>/edit", methods=["GET", "POST"])
@login_required
def edit_process(process_id: int) -> Any:
    _require(SETUP_ROLES)
    process = db.session.get(Process, process_id) or abort(404)
    form = _process_form(process) if request.method == "GET" else _process_form()
    if request.method == "POST" and form.validate_on_submit() and _save_process(form, process) is not None:
        flash(f"Process {process.name} saved.")
        return redirect(url_for("programmes.processes"))
    return render_template("processes/edit.html", form=form, process=process), (422 if form.errors else 200)


# --------------------------------------------------------------------------- programmes


class ProgrammeForm(FlaskForm):
    year = IntegerField("Year", validators=[DataRequired(), NumberRange(min=2000, max=2100)])
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    site_id = SelectField("Site", coerce=int, default=0)
    standard_identifier = SelectField("Standard", default="iso-9001-2015")
    objectives = TextAreaField("Objectives", validators=[Optional(), Length(max=5000)])


@bp.route("/programmes")
@login_required
def index() -> str:
    programmes = db.session.scalars(
        select(AuditProgramme)
        .options(selectinload(AuditProgramme.site), selectinload(AuditProgramme.entries))
        .order_by(AuditProgramme.year.desc(), AuditProgramme.id)
    ).all()
    return render_template(
        "programmes/list.html", programmes=programmes, can_plan=current_user.has_role(*PLANNER_ROLES)
    )


def _entry_rows(processes: list[Process], values: Any) -> tuple[list[dict[str, Any]], dict[int, str]]:
    """The process rows of the programme form (what was chosen and typed) and their errors."""
    rows, errors = [], {}
    for process in processes:
        chosen = values.get(f"include-{process.id}") in ("on", "1", "y") if values is not None else False
        risk = values.get(f"risk-{process.id}", process.risk) if values is not None else process.risk
        per_year = (values.get(f"per_year-{process.id}", "") if values is not None else "").strip()
        if per_year and not (per_year.isdigit() and 1 <= int(per_year) <= 12):
            errors[process.id] = "audits per year must be a whole number from 1 to 12"
        rows.append({"process": process, "chosen": chosen, "risk": risk, "per_year": per_year})
    return rows, errors


@bp.route("/programmes/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    _require(PLANNER_ROLES)
    form = ProgrammeForm()
    form.site_id.choices = site_choices("— whole organisation —")
    form.standard_identifier.choices = standard_choices()
    if request.method == "GET":
        form.year.data = dt.date.today().year + (1 if dt.date.today().month >= 10 else 0)
    processes = list(db.session.scalars(select(Process).where(Process.active.is_(True)).order_by(Process.name)))
    rows, row_errors = _entry_rows(processes, request.form if request.method == "POST" else None)
    if form.validate_on_submit() and not row_errors:
        entries = [
            {
                "process_id": row["process"].id,
                "risk": row["risk"],
                **({"audits_per_year": int(row["per_year"])} if row["per_year"] else {}),
            }
            for row in rows
            if row["chosen"]
        ]
        try:
            programme = create_programme(
                current_user,
                year=form.year.data,
                title=form.title.data,
                standard_identifier=form.standard_identifier.data,
                site_id=form.site_id.data or None,
                objectives=form.objectives.data or "",
                entries=entries,
            )
        except InvalidData as exc:
            for name, message in exc.errors.items():
                if name.startswith("entries["):
                    index = int(name[8 : name.index("]")])
                    chosen = [row for row in rows if row["chosen"]]
                    if index < len(chosen):
                        row_errors[chosen[index]["process"].id] = message
                        continue
                apply_errors(form, {name: message})
        else:
            flash(f"Programme {programme.year} planned with {len(programme.entries)} processes. Generate its audits.")
            return redirect(url_for("programmes.detail", programme_id=programme.id))
    failed = bool(form.errors or row_errors)
    return render_template(
        "programmes/new.html",
        form=form,
        rows=rows,
        row_errors=row_errors,
        risks=RISK_LEVELS,
        frequency=RISK_FREQUENCY,
    ), (422 if failed else 200)


def _programme_or_404(programme_id: int) -> AuditProgramme:
    return db.session.get(AuditProgramme, programme_id) or abort(404)


@bp.route("/programmes/<id:programme_id>")
@login_required
def detail(programme_id: int) -> str:
    programme = _programme_or_404(programme_id)
    audits = db.session.scalars(
        select(Audit)
        .options(selectinload(Audit.lead_auditor))
        .where(Audit.programme_id == programme.id)
        .order_by(Audit.planned_start, Audit.id)
    ).all()
    by_process: dict[int | None, list[Audit]] = {}
    for audit in audits:
        by_process.setdefault(audit.process_id, []).append(audit)
    expected = sum(entry.audits_per_year for entry in programme.entries)
    try:
        standard_title = find_standard(programme.standard_identifier).title
    except KeyError:
        standard_title = programme.standard_identifier
    return render_template(
        "programmes/detail.html",
        programme=programme,
        by_process=by_process,
        audits=audits,
        expected=expected,
        missing=max(expected - sum(1 for a in audits if a.state != "cancelled"), 0),
        standard_title=standard_title,
        risks=RISK_LEVELS,
        can_plan=current_user.has_role(*PLANNER_ROLES),
        has_pdf=_programme_pdf() is not None,
    )


@bp.route("/programmes/<id:programme_id>/generate", methods=["POST"])
@login_required
def generate(programme_id: int) -> Response:
    programme = _programme_or_404(programme_id)
    try:
        created = generate_audits(programme, current_user)
    except NotPermitted:
        abort(403)
    if created:
        flash(f"{len(created)} audits generated.")
    else:
        flash("Every audit of this programme exists already; none added.")
    return redirect(url_for("programmes.detail", programme_id=programme.id))


def _programme_pdf() -> Any:
    try:
        from ..reports.audit import programme_pdf
    except ImportError:
        return None
    return programme_pdf


@bp.route("/programmes/<id:programme_id>/report.pdf")
@login_required
def report(programme_id: int) -> Response:
    programme = _programme_or_404(programme_id)
    render = _programme_pdf()
    if render is None:
        abort(404, description="Programme reports are not available in this version.")
    return Response(
        render(programme, current_app.config["QMS_ORGANISATION"]),
        mimetype="application/pdf",
        headers={"Content-Disposition": f"inline; filename=audit-programme-{programme.year}.pdf"},
    )
