"""The risk register (ISO 9001 6.1): the register with its filters, the heat map, raising a risk
(also from an NC, a complaint, a survey or a context issue, prefilled and linked), the risk page
with its lifecycle and treatment actions, a treatment action's page, and citing from an NC page
the risk the NC realised.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from workflows import get_lifecycle
from workflows.errors import InvalidData, InvalidTransition, NotPermitted

from ..database import db
from ..downloads import content_disposition, send_download
from ..errors import status_of
from ..models import (
    LEVEL_LABELS,
    SOURCE_LABELS,
    TREATMENT_LABELS,
    ChecklistItem,
    Nonconformity,
    Process,
    Risk,
    RiskRealisation,
    RiskTreatmentAction,
)
from ..security import DIAGRAM_CSP, talisman
from ..services import available_events, history_of
from ..services.risks import (
    CITE_ROLES,
    OWNER_ROLES,
    RISK_ROLES,
    RiskFilters,
    add_treatment_action,
    can_edit,
    cite_realised_risk,
    find_source,
    heat_map,
    prefill,
    raise_risk,
    risk_register,
    risk_scale,
    update_risk,
)
from .events import EventFormState, add_record_routes, lifecycle_diagram
from .forms import apply_errors, process_choices, user_choices
from .paging import register_page

bp = Blueprint("risks", __name__)


def _risk_or_404(risk_id: int) -> Risk:
    """The risk with what its page shows loaded in a fixed number of queries."""
    options = (
        selectinload(Risk.actions).selectinload(RiskTreatmentAction.owner),
        selectinload(Risk.realisations).selectinload(RiskRealisation.nonconformity),
        selectinload(Risk.realisations).selectinload(RiskRealisation.cited_by),
        selectinload(Risk.realisations).selectinload(RiskRealisation.checklist_item).selectinload(ChecklistItem.audit),
    )
    return db.session.get(Risk, risk_id, options=options) or abort(404)


def _action_or_404(action_id: int) -> RiskTreatmentAction:
    return db.session.get(RiskTreatmentAction, action_id) or abort(404)


# --------------------------------------------------------------------------- the register and heat map


@bp.route("/risks")
@login_required
def register() -> str:
    filters = RiskFilters.from_args(request.args)
    pagination = register_page(risk_register(filters))
    processes = db.session.execute(select(Process.id, Process.name).order_by(Process.name)).all()
    return render_template(
        "risks/list.html",
        pagination=pagination,
        filters=filters,
        args=filters.as_args(),
        lifecycle=get_lifecycle("risk"),
        levels=LEVEL_LABELS,
        treatments=TREATMENT_LABELS,
        processes=processes,
        owners=user_choices(*OWNER_ROLES),
        today=dt.date.today(),
        can_raise=current_user.has_role(*RISK_ROLES),
    )


@bp.route("/risks/heat-map")
@login_required
def heat_map_page() -> str:
    process = request.args.get("process", type=int)
    process = process if process and 0 < process < 2**31 else None
    extra = {"process": process} if process else {}
    return render_template(
        "risks/heat_map.html",
        current=heat_map("current", process_id=process),
        inherent=heat_map("inherent", process_id=process),
        extra=extra,
        processes=db.session.execute(select(Process.id, Process.name).order_by(Process.name)).all(),
        process=process,
    )


# --------------------------------------------------------------------------- raising and editing


class RiskForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    cause = TextAreaField("Cause (what could make it happen)", validators=[DataRequired(), Length(max=5000)])
    effect = TextAreaField("Effect (what would follow)", validators=[DataRequired(), Length(max=5000)])
    description = TextAreaField("Further details", validators=[Optional(), Length(max=10_000)])
    process_id = SelectField("Process", coerce=int, validators=[Optional()], default=0)
    clause_refs = StringField(
        "ISO 9001 clauses",
        validators=[Optional(), Length(max=400)],
        description="Comma-separated, such as 6.1, 8.4.",
    )
    owner_id = SelectField("Owner", coerce=int, validators=[Optional()], default=0)


def _risk_form(formdata: Any = None, **data: Any) -> RiskForm:
    form = RiskForm(formdata=formdata, **data) if formdata is not None else RiskForm(**data)
    form.process_id.choices = process_choices("No particular process")
    form.owner_id.choices = user_choices(*OWNER_ROLES, blank="Me")
    return form


def _form_values(form: RiskForm) -> dict[str, Any]:
    return {
        "title": form.title.data or "",
        "cause": form.cause.data or "",
        "effect": form.effect.data or "",
        "description": form.description.data or "",
        "process_id": form.process_id.data or None,
        "clause_refs": form.clause_refs.data or "",
        "owner_id": form.owner_id.data or None,
    }


@bp.route("/risks/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    if not current_user.has_role(*RISK_ROLES):
        abort(403)
    args = request.values
    try:
        source = find_source(args.get("source"), args.get("source_id"), args.get("trend"))
    except InvalidData:
        abort(404)
    change = None
    if args.get("change"):
        from ..models import ChangeRequest
        from ..services.changes import check_risk_linkable

        change = db.session.get(ChangeRequest, args.get("change", type=int) or 0) or abort(404)
        try:
            check_risk_linkable(change, current_user)
        except NotPermitted:
            abort(403)
        except InvalidTransition as exc:
            flash(exc.message)
            return redirect(url_for("changes.detail", change_id=change.id))
    if request.method == "POST":
        form = _risk_form(request.form)
    else:
        suggested = prefill(source)
        if "clause_refs" in suggested:
            suggested["clause_refs"] = ", ".join(suggested["clause_refs"])
        suggested["process_id"] = suggested.get("process_id") or 0
        form = _risk_form(None, **suggested)
    if form.validate_on_submit():
        try:
            risk = raise_risk(current_user, source=source, for_change=change, **_form_values(form))
        except InvalidData as exc:
            apply_errors(form, exc.errors)
        else:
            linked = f" It is linked to {change.reference}." if change is not None else ""
            flash(f"{risk.reference} raised.{linked} Rate it next: assess its likelihood and impact.")
            return redirect(url_for("risks.detail", risk_id=risk.id))
    status = 422 if form.errors else 200
    return render_template("risks/new.html", form=form, source=source, change=change, scale=risk_scale()), status


@bp.route("/risks/<id:risk_id>/edit", methods=["GET", "POST"])
@login_required
def edit(risk_id: int) -> Any:
    risk = _risk_or_404(risk_id)
    if not can_edit(risk, current_user):
        abort(403)
    if request.method == "POST":
        form = _risk_form(request.form)
    else:
        form = _risk_form(
            None,
            title=risk.title,
            cause=risk.cause,
            effect=risk.effect,
            description=risk.description,
            process_id=risk.process_id or 0,
            clause_refs=", ".join(risk.clause_refs or []),
            owner_id=risk.owner_id,
        )
    if form.validate_on_submit():
        values = _form_values(form)
        values["owner_id"] = values["owner_id"] or current_user.id
        try:
            update_risk(risk, current_user, values)
        except InvalidData as exc:
            apply_errors(form, exc.errors)
        except InvalidTransition as exc:
            flash(exc.message)
            return redirect(url_for("risks.detail", risk_id=risk.id))
        else:
            flash(f"{risk.reference} saved.")
            return redirect(url_for("risks.detail", risk_id=risk.id))
    return render_template("risks/edit.html", form=form, risk=risk), (422 if form.errors else 200)


# --------------------------------------------------------------------------- the risk page


class ActionForm(FlaskForm):
    title = StringField("Action", validators=[DataRequired(), Length(max=200)])
    description = TextAreaField("Details", validators=[Optional(), Length(max=5000)])
    owner_id = SelectField("Owner", coerce=int, validators=[DataRequired(message="Choose an owner")])
    due_date = DateField("Due date", validators=[DataRequired(message="Give a date (YYYY-MM-DD)")])


def _render_detail(risk: Risk, failed: EventFormState | None = None, status: int = 200, action_form: Any = None) -> Any:
    if action_form is None:
        action_form = ActionForm(formdata=None)
    action_form.owner_id.choices = user_choices(*OWNER_ROLES)
    page = render_template(
        "risks/detail.html",
        risk=risk,
        events=available_events(risk, current_user),
        failed=failed,
        history=history_of(risk),
        diagram=lifecycle_diagram(risk, history_of(risk)),
        action_form=action_form,
        can_plan=risk.state == "treatment_planned" and current_user.has_role(*RISK_ROLES),
        can_edit=can_edit(risk, current_user) and not risk.is_terminal,
        treatments=TREATMENT_LABELS,
        levels=LEVEL_LABELS,
        sources=SOURCE_LABELS,
        today=dt.date.today(),
    )
    return page, status


add_record_routes(
    bp,
    "/risks/<id:risk_id>",
    load=lambda risk_id: _risk_or_404(risk_id),
    render=_render_detail,
    url=lambda risk: url_for("risks.detail", risk_id=risk.id),
)


@bp.route("/risks/<id:risk_id>/actions", methods=["POST"])
@login_required
@talisman(content_security_policy=DIAGRAM_CSP)
def add_action(risk_id: int) -> Any:
    risk = _risk_or_404(risk_id)
    if not current_user.has_role(*RISK_ROLES):
        abort(403)
    form = ActionForm()
    form.owner_id.choices = user_choices(*OWNER_ROLES)
    if not form.validate():
        return _render_detail(risk, status=422, action_form=form)
    try:
        action = add_treatment_action(
            risk,
            current_user,
            title=form.title.data,
            description=form.description.data or "",
            owner_id=form.owner_id.data,
            due_date=form.due_date.data,
        )
    except InvalidData as exc:
        apply_errors(form, exc.errors)
        return _render_detail(risk, status=422, action_form=form)
    except InvalidTransition as exc:
        flash(exc.message)
        return _render_detail(risk, status=status_of(exc), action_form=form)
    flash(f"{action.reference} planned.")
    return redirect(url_for("risks.detail", risk_id=risk.id) + "#treatment")


# --------------------------------------------------------------------------- a treatment action's page


def _render_action(action: RiskTreatmentAction, failed: EventFormState | None = None, status: int = 200) -> Any:
    page = render_template(
        "risks/action.html",
        action=action,
        risk=action.risk,
        events=available_events(action, current_user),
        failed=failed,
        history=history_of(action),
        diagram=lifecycle_diagram(action, history_of(action)),
        today=dt.date.today(),
    )
    return page, status


add_record_routes(
    bp,
    "/risk-actions/<id:action_id>",
    load=lambda action_id: _action_or_404(action_id),
    render=_render_action,
    url=lambda action: url_for("risks.action_detail", action_id=action.id),
    detail="action_detail",
    fire_event="fire_action_event",
)


# --------------------------------------------------------------------------- NC → risk


def _risk_choice(form: Any) -> Any:
    """The risk chosen in the list, or typed by its reference (RSK-2026-0042)."""
    typed = str(form.get("risk_reference", "")).strip().upper()[:30]
    if typed:
        found = db.session.scalar(select(Risk.id).where(Risk.reference == typed))
        return found if found is not None else -1
    return form.get("risk_id")


@bp.route("/nonconformities/<id:nc_id>/realised-risks", methods=["POST"])
@login_required
def cite(nc_id: int) -> Any:
    nc = db.session.get(Nonconformity, nc_id) or abort(404)
    if not current_user.has_role(*CITE_ROLES):
        abort(403)
    try:
        realisation = cite_realised_risk(
            nc, current_user, risk_id=_risk_choice(request.form), note=request.form.get("note", "")
        )
    except InvalidData as exc:
        from .nonconformities import _render_detail as render_nc

        g.risk_cite_errors = exc.errors
        g.risk_cite_values = request.form
        return render_nc(nc), 422
    except NotPermitted:
        abort(403)
    risk = realisation.risk
    flash(f"{nc.reference} cites {risk.reference} as realised; its owner is asked to re-rate it.")
    return redirect(url_for("nonconformities.detail", nc_id=nc.id) + "#realised-risks")


@bp.route("/checklist-items/<id:item_id>/realised-risks", methods=["POST"])
@login_required
def cite_from_finding(item_id: int) -> Any:
    """An audit finding that raised no NC cites the risk it realised (its owner is asked to re-rate it)."""
    from ..services.risks import cite_risk_from_finding

    item = db.session.get(ChecklistItem, item_id) or abort(404)
    if not current_user.has_role(*CITE_ROLES):
        abort(403)
    back = url_for("audits.checklist", audit_id=item.audit_id) + f"#item-{item.id}"
    try:
        realisation = cite_risk_from_finding(
            item, current_user, risk_id=_risk_choice(request.form), note=request.form.get("note", "")
        )
    except InvalidData as exc:
        for name, message in exc.errors.items():
            field = {"risk_id": "Risk", "note": "Note", "checklist_item_id": "Finding"}.get(name, name)
            flash(f"The risk was not cited. {field} {message}.")
        return redirect(back)
    flash(f"Q{item.position} cites {realisation.risk.reference} as realised; its owner is asked to re-rate it.")
    return redirect(back)


@bp.app_template_global()
def finding_risks(audit: Any) -> dict[str, Any]:
    """For the checklist page: per finding without an NC, the risks it cites, and the risks one may cite."""
    from ..services.risks import citable_risks, finding_citations

    can_cite = current_user.has_role(*CITE_ROLES)
    return {
        "cited": finding_citations(audit.id),
        "can_cite": can_cite,
        "choices": citable_risks(audit.process.name if getattr(audit, "process", None) else "") if can_cite else [],
    }


@bp.app_template_global()
def risk_links(kind: str, record: Any) -> dict[str, Any]:
    """For a record page (an NC, a complaint, a survey, a context issue): the risks raised from it, whether
    the reader may raise one, and for an NC the risks it realised and those it may cite."""
    from ..services.risks import citable_risks, realised_risks_of, risks_raised_from

    links: dict[str, Any] = {
        "raised": risks_raised_from(kind, record.id),
        "can_raise": current_user.has_role(*RISK_ROLES),
        "new_url": url_for("risks.new", source=kind, source_id=record.id),
    }
    if kind == "nonconformity":
        links["realised"] = realised_risks_of(record)
        links["can_cite"] = current_user.has_role(*CITE_ROLES)
        links["choices"] = citable_risks(record.process) if links["can_cite"] else []
        links["errors"] = g.get("risk_cite_errors", {})
        links["values"] = g.get("risk_cite_values", {})
    return links


@bp.route("/risks/register.pdf")
@login_required
def register_pdf() -> Response:
    from ..reports.risks import risk_register_pdf

    return Response(
        risk_register_pdf(RiskFilters.from_args(request.args), current_app.config["QMS_ORGANISATION"]),
        mimetype="application/pdf",
        headers={"Content-Disposition": content_disposition("risk-register.pdf", inline=True)},
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.route("/risks/export.csv")
@login_required
def export_csv() -> Response:
    """The register as filtered on the page, as CSV (every cell formula-safe)."""
    from ..services.risks import register_csv

    data = register_csv(RiskFilters.from_args(request.args))
    return send_download(data.encode("utf-8"), f"risk-register-{dt.date.today()}.csv", "text/csv")


@bp.route("/risks/export.xlsx")
@login_required
def export_xlsx() -> Response:
    """The register as filtered on the page, as an Excel workbook (every cell formula-safe)."""
    from ..services.risks import register_xlsx

    data = register_xlsx(RiskFilters.from_args(request.args))
    return send_download(data, f"risk-register-{dt.date.today()}.xlsx", XLSX)


@bp.app_template_global()
def survey_trend_links(survey: Any, monthly_points: list[Any] | None = None) -> dict[str, Any]:
    """For a survey's page: the trends it shows now, the opportunities raised from it, and what the reader may raise.

    ``monthly_points``: the page's monthly trend when it drew one, so it is not worked out twice.
    """
    from ..services.opportunities import PROPOSE_ROLES, opportunities_raised_from_survey
    from ..services.surveys.trends import detect_trends

    return {
        "trends": detect_trends(survey, points=monthly_points),
        "opportunities": opportunities_raised_from_survey(survey.id),
        "can_raise_risk": current_user.has_role(*RISK_ROLES),
        "can_propose": current_user.has_role(*PROPOSE_ROLES),
    }
