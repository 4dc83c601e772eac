"""Internal audits: the audit list, audit pages, teams, checklists (edited and answered on site),
evidence, the calendar with its iCalendar feed, and the clause coverage of a cycle.

Programmes, sites and processes are here too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import extract, or_, select
from sqlalchemy.orm import selectinload
from wtforms import BooleanField, DateField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from workflows import get_lifecycle
from workflows.errors import Conflict, InvalidData, InvalidTransition, NotPermitted

from ..database import db
from ..downloads import content_disposition, send_download
from ..models import (
    AUDIT_KINDS,
    RESULTS,
    RISK_FREQUENCY,
    RISK_LEVELS,
    TEAM_ROLES,
    Attachment,
    Audit,
    AuditProgramme,
    AuditTeamMember,
    ChecklistItem,
    Process,
    Site,
)
from ..security import DIAGRAM_CSP, talisman
from ..services import available_events, history_of
from ..services.attachments import storage_path
from ..services.audits import (
    ATTACHMENT_LIFECYCLE,
    AUDITOR_ROLES,
    PLANNER_ROLES,
    SETUP_ROLES,
    TEAM_STATES,
    add_question,
    assign_team,
    attach_evidence,
    audits_between,
    can_answer,
    can_edit_checklist,
    coverage,
    create_audit,
    create_programme,
    create_site,
    edit_question,
    evidence_of,
    generate_audits,
    generate_checklist,
    ical_feed,
    month_grid,
    remove_question,
    result_counts,
    save_process,
    score_trend,
    scores,
    user_for_feed,
)
from ..services.audits import answer as answer_item
from ..services.dashboard import Chart
from .events import EventFormState, add_record_routes, lifecycle_diagram
from .forms import apply_errors, process_choices, site_choices, standard_choices, user_choices
from .paging import register_page

bp = Blueprint("audits", __name__)


MONTHS = tuple(dt.date(2000, m, 1).strftime("%B") for m in range(1, 13))


def find_standard(identifier: str) -> Any:
    try:
        from ..services.standards import find_standard as service_find
    except ImportError:
        from standards import get_standard as service_find
    return service_find(identifier)


def split_clauses(values: list[str] | None, text: str | None) -> list[str]:
    chosen = list(values or [])
    chosen += [part.strip() for part in (text or "").replace(";", ",").split(",") if part.strip()]
    return list(dict.fromkeys(chosen))


def is_planner() -> bool:
    return current_user.has_role(*PLANNER_ROLES)


def _audit_or_404(audit_id: int) -> Audit:
    return db.session.get(Audit, audit_id) or abort(404)


def _item_or_404(audit: Audit, item_id: int) -> ChecklistItem:
    item = db.session.get(ChecklistItem, item_id)
    if item is None or item.audit_id != audit.id:
        abort(404)
    return item


def _int_arg(name: str, low: int = 1, high: int = 2**31 - 1) -> int | None:
    value = request.args.get(name, type=int)
    return value if value is not None and low <= value <= high else None


@bp.route("/audits")
@login_required
def index() -> str:
    lifecycle = get_lifecycle("internal_audit")
    state = request.args.get("state", "")
    state = state if state in {s.name for s in lifecycle.states} else ""
    process_id = _int_arg("process")
    year = _int_arg("year", 2000, 2100)
    mine = request.args.get("mine") == "1"
    query = select(Audit).options(
        selectinload(Audit.process), selectinload(Audit.lead_auditor), selectinload(Audit.site)
    )
    if state:
        query = query.where(Audit.state == state)
    if process_id:
        query = query.where(Audit.process_id == process_id)
    if year:
        query = query.where(extract("year", Audit.planned_start) == year)
    if mine:
        member = select(AuditTeamMember.audit_id).where(AuditTeamMember.user_id == current_user.id)
        query = query.where(or_(Audit.lead_auditor_id == current_user.id, Audit.id.in_(member)))
    # the pager sorts the audits without a planned start last (NULL as the largest date)
    query = query.order_by(Audit.planned_start, Audit.id)
    pagination = register_page(query)
    args = {
        k: v for k, v in {"state": state, "process": process_id, "year": year, "mine": "1" if mine else ""}.items() if v
    }
    return render_template(
        "audits/list.html",
        pagination=pagination,
        args=args,
        lifecycle=lifecycle,
        processes=process_choices()[1:],
        kinds=AUDIT_KINDS,
        can_plan=is_planner(),
    )


class AuditForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    kind = SelectField("Kind of audit", choices=list(AUDIT_KINDS.items()), default="internal")
    standard_identifier = SelectField("Standard", validators=[DataRequired()], default="iso-9001-2015")
    clause_list = SelectMultipleField("Clauses", validators=[Optional()], validate_choice=False)
    clause_text = StringField(
        "More clauses",
        validators=[Optional(), Length(max=500)],
        description="Clause numbers separated by commas, e.g. 7.1.5, 8.5; sub-clauses are included",
    )
    process_id = SelectField("Process", coerce=int, validators=[Optional()], default=0)
    site_id = SelectField("Site", coerce=int, validators=[Optional()], default=0)
    planned_start = DateField("Planned start", validators=[Optional()])
    planned_end = DateField("Planned end", validators=[Optional()])
    scope = TextAreaField("Scope", validators=[Optional(), Length(max=5000)])
    criteria = TextAreaField("Criteria", validators=[Optional(), Length(max=2000)])
    objectives = TextAreaField("Objectives", validators=[Optional(), Length(max=5000)])


def _audit_form() -> AuditForm:
    form = AuditForm()
    form.standard_identifier.choices = standard_choices()
    form.process_id.choices = process_choices()
    form.site_id.choices = site_choices()
    try:
        standard = find_standard(form.standard_identifier.data or "iso-9001-2015")
        form.clause_list.choices = [(c.number, c.label) for c in standard.clauses if c.depth <= 2]
    except KeyError:
        form.clause_list.choices = []
    return form


@bp.route("/audits/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    if not is_planner():
        abort(403)
    form = _audit_form()
    if form.validate_on_submit():
        try:
            audit = create_audit(
                current_user,
                title=form.title.data,
                kind=form.kind.data,
                standard_identifier=form.standard_identifier.data,
                clause_numbers=split_clauses(form.clause_list.data, form.clause_text.data),
                process_id=form.process_id.data or None,
                site_id=form.site_id.data or None,
                planned_start=form.planned_start.data,
                planned_end=form.planned_end.data,
                scope=form.scope.data or "",
                criteria=form.criteria.data or "",
                objectives=form.objectives.data or "",
            )
        except InvalidData as exc:
            apply_errors(form, exc.errors, {"clause_numbers": "clause_text"})
        else:
            flash(f"{audit.reference} planned.")
            return redirect(url_for("audits.detail", audit_id=audit.id))
    return render_template("audits/new.html", form=form), (422 if form.errors else 200)


def _team_rows(audit: Audit, values: Any = None) -> list[dict[str, Any]]:
    """The member rows of the team form: current members (or what was typed) plus blank rows."""
    rows: list[dict[str, Any]] = []
    if values is not None:
        for index in range(_team_row_count(values)):
            rows.append(
                {
                    "user_id": values.get(f"member-{index}-user", type=int) or 0,
                    "role": values.get(f"member-{index}-role", "auditor"),
                }
            )
    else:
        rows = [{"user_id": m.user_id, "role": m.role} for m in audit.team]
        rows += [{"user_id": 0, "role": "auditor"} for _ in range(2)]
    return rows


def _team_row_count(values: Any) -> int:
    count = values.get("member_rows", type=int) or 0
    return max(0, min(count, 20))


def _render_detail(
    audit: Audit,
    failed: EventFormState | None = None,
    *,
    team_errors: dict[str, str] | None = None,
    team_values: Any = None,
    question_errors: dict[str, str] | None = None,
    status: int = 200,
) -> Any:
    items = list(audit.items)
    planner = is_planner()
    editable = audit.state in Audit.EDITABLE_STATES and can_edit_checklist(audit, current_user)
    lead = team_values.get("lead_auditor_id", type=int) if team_values is not None else audit.lead_auditor_id
    trend_chart = None
    audit_scores = scores(audit)
    if audit.kind == "service_performance":
        trend = score_trend(audit)
        bars = []
        for earlier, found in trend:
            share = next((s.percent for s in found if s.standard_identifier == audit.standard_identifier), None)
            if share is not None:
                bars.append((f"{earlier.reference} ({earlier.planned_start or '—'})", share))
        trend_chart = Chart("Score trend (% conforming)", bars, "No scored audits yet.")
    page = render_template(
        "audits/detail.html",
        audit=audit,
        items=items,
        events=available_events(audit, current_user),
        failed=failed,
        history=(history := history_of(audit)),
        diagram=lifecycle_diagram(audit, history),
        counts=result_counts(audit),
        results=RESULTS,
        scores=audit_scores,
        trend_chart=trend_chart,
        kinds=AUDIT_KINDS,
        team_roles=TEAM_ROLES,
        can_team=planner and audit.state in TEAM_STATES,
        team_rows=_team_rows(audit, team_values),
        team_lead=lead or 0,
        team_errors=team_errors or {},
        auditors=user_choices(*AUDITOR_ROLES),
        people=user_choices(),
        editable=editable,
        question_errors=question_errors or {},
        can_answer=can_answer(audit, current_user),
        findings=[item for item in items if item.nonconformity is not None],
        evidence=evidence_of(items),
    )
    return page, status


add_record_routes(
    bp,
    "/audits/<id:audit_id>",
    load=lambda audit_id: _audit_or_404(audit_id),
    render=lambda audit, failed, status: _render_detail(audit, failed, status=status),
    url=lambda audit: url_for("audits.detail", audit_id=audit.id),
)


@bp.route("/audits/<id:audit_id>/team", methods=["POST"])
@login_required
@talisman(content_security_policy=DIAGRAM_CSP)
def team(audit_id: int) -> Any:
    audit = _audit_or_404(audit_id)
    if not is_planner():
        abort(403)
    form = request.form
    members = []
    for index in range(_team_row_count(form)):
        user_id = form.get(f"member-{index}-user", type=int)
        if user_id:
            members.append((user_id, form.get(f"member-{index}-role", "auditor")))
    lead = form.get("lead_auditor_id", type=int) or None
    try:
        warnings = assign_team(audit, current_user, lead_auditor_id=lead, members=members)
    except InvalidData as exc:
        errors = dict(exc.errors)
        if lead is None:
            errors["lead_auditor_id"] = "choose a lead auditor"
        return _render_detail(audit, team_errors=errors, team_values=form, status=422)
    except InvalidTransition as exc:
        flash(exc.message)
        return _render_detail(audit, team_values=form, status=409)
    flash("Audit team saved.")
    for warning in warnings:
        flash(f"Warning — double booking: {warning}")
    return redirect(url_for("audits.detail", audit_id=audit.id) + "#team")


def _checklist_change(audit: Audit, change: Any, done: str) -> Any:
    try:
        change()
    except NotPermitted:
        abort(403)
    except InvalidTransition as exc:
        flash(exc.message)
        return _render_detail(audit, status=409)
    except InvalidData as exc:
        return _render_detail(audit, question_errors=exc.errors, status=422)
    flash(done)
    return redirect(url_for("audits.detail", audit_id=audit.id) + "#checklist")


@bp.route("/audits/<id:audit_id>/checklist/generate", methods=["POST"])
@login_required
@talisman(content_security_policy=DIAGRAM_CSP)
def generate(audit_id: int) -> Any:
    audit = _audit_or_404(audit_id)
    replace = request.form.get("replace") in ("on", "1", "true")
    return _checklist_change(
        audit,
        lambda: generate_checklist(audit, current_user, replace=replace),
        "Checklist generated from the audit's clauses.",
    )


@bp.route("/audits/<id:audit_id>/questions", methods=["POST"])
@login_required
@talisman(content_security_policy=DIAGRAM_CSP)
def new_question(audit_id: int) -> Any:
    audit = _audit_or_404(audit_id)
    return _checklist_change(
        audit,
        lambda: add_question(
            audit,
            current_user,
            question=request.form.get("question", ""),
            clause_number=request.form.get("clause_number", ""),
        ),
        "Question added.",
    )


@bp.route("/audits/<id:audit_id>/questions/<id:item_id>", methods=["POST"])
@login_required
@talisman(content_security_policy=DIAGRAM_CSP)
def change_question(audit_id: int, item_id: int) -> Any:
    audit = _audit_or_404(audit_id)
    item = _item_or_404(audit, item_id)
    return _checklist_change(
        audit,
        lambda: edit_question(item, current_user, question=request.form.get("question", "")),
        "Question changed.",
    )


@bp.route("/audits/<id:audit_id>/questions/<id:item_id>/remove", methods=["POST"])
@login_required
@talisman(content_security_policy=DIAGRAM_CSP)
def delete_question(audit_id: int, item_id: int) -> Any:
    audit = _audit_or_404(audit_id)
    item = _item_or_404(audit, item_id)
    return _checklist_change(audit, lambda: remove_question(item, current_user), "Question removed.")


def _grouped(items: list[ChecklistItem]) -> list[tuple[str, list[ChecklistItem]]]:
    groups: dict[str, list[ChecklistItem]] = {}
    for item in items:
        groups.setdefault(item.clause_number or "", []).append(item)
    return list(groups.items())


def _clause_titles(audit: Audit) -> dict[str, str]:
    try:
        standard = find_standard(audit.standard_identifier)
    except KeyError:
        return {}
    return {c.number: c.title for c in standard.clauses}


def _render_checklist(audit: Audit, failed: dict[int, dict[str, Any]] | None = None, status: int = 200) -> Any:
    items = list(audit.items)
    answering = can_answer(audit, current_user)
    from ..services.risks import clause_evidence

    groups = _grouped(items)
    page = render_template(
        "audits/checklist.html",
        audit=audit,
        groups=groups,
        register_evidence=clause_evidence(clause for clause, _ in groups),
        titles=_clause_titles(audit),
        results=RESULTS,
        evidence=evidence_of(items),
        can_answer=answering,
        open_for_answers=audit.state in Audit.ANSWERING_STATES,
        failed=failed or {},
        answered=sum(1 for item in items if item.result),
        total=len(items),
    )
    return page, status


@bp.route("/audits/<id:audit_id>/checklist")
@login_required
def checklist(audit_id: int) -> Any:
    return _render_checklist(_audit_or_404(audit_id))


def _wants_json() -> bool:
    return request.is_json or request.accept_mimetypes.best == "application/json"


def _json_error(status: int, message: str, errors: dict[str, str] | None = None, **extra: Any) -> Response:
    names = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 409: "Conflict", 422: "Unprocessable Entity"}
    body = {"code": status, "status": names.get(status, ""), "message": message, "errors": errors or {}, **extra}
    response = jsonify(body)
    response.status_code = status
    return response


def _item_json(item: ChecklistItem) -> dict[str, Any]:
    nc = item.nonconformity
    return {
        "id": item.id,
        "result": item.result,
        "result_label": item.result_label,
        "notes": item.notes,
        "revision": item.revision,
        "answered_by": item.answered_by.name if item.answered_by else None,
        "nonconformity": (
            {"id": nc.id, "reference": nc.reference, "url": url_for("nonconformities.detail", nc_id=nc.id)}
            if nc
            else None
        ),
    }


@bp.route("/audits/<id:audit_id>/checklist/<id:item_id>", methods=["POST"])
@login_required
def save_answer(audit_id: int, item_id: int) -> Any:
    """One answer: JSON from the tablet page's script, or the plain form without JavaScript."""
    audit = _audit_or_404(audit_id)
    item = _item_or_404(audit, item_id)
    as_json = _wants_json()
    if request.is_json:
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict):
            return _json_error(400, "The request body must be a JSON object.")
    else:
        payload = request.form.to_dict()
    result = payload.get("result") or None
    notes = payload.get("notes", "")
    raw_revision = payload.get("expected_revision")
    expected: int | None = None
    if raw_revision not in (None, ""):
        try:
            expected = int(raw_revision)
            if not 0 <= expected < 2**31:
                raise ValueError
        except (TypeError, ValueError):
            message = "The form is damaged."
            if as_json:
                return _json_error(422, message, {"expected_revision": "must be a whole number"})
            flash(message)
            return redirect(url_for("audits.checklist", audit_id=audit.id))
    if not isinstance(result, (str, type(None))) or not isinstance(notes, str):
        if as_json:
            errors = {"result": "must be text", "notes": "must be text"}
            return _json_error(422, "Please correct the fields marked.", errors)
        abort(400)
    try:
        answer_item(item, current_user, result=result, notes=notes, expected_revision=expected)
    except NotPermitted as exc:
        if as_json:
            return _json_error(403, exc.message)
        abort(403, description=exc.message)
    except InvalidData as exc:
        if as_json:
            return _json_error(422, "Please correct the fields marked.", exc.errors)
        failed = {item.id: {"result": result, "notes": notes, "errors": exc.errors}}
        return _render_checklist(audit, failed, 422)
    except Conflict as exc:
        db.session.rollback()
        if as_json:
            return _json_error(409, exc.message, conflict=True, item=_item_json(item))
        flash(exc.message)
        return _render_checklist(audit, {item.id: {"result": result, "notes": notes, "errors": {}}}, 409)
    except InvalidTransition as exc:
        if as_json:
            return _json_error(409, exc.message)
        flash(exc.message)
        return _render_checklist(audit, {item.id: {"result": result, "notes": notes, "errors": {}}}, 409)
    if as_json:
        return jsonify({"ok": True, "item": _item_json(item)})
    message = "Answer saved."
    if item.nonconformity is not None:
        message += f" Finding raised as {item.nonconformity.reference}."
    flash(message)
    return redirect(url_for("audits.checklist", audit_id=audit.id) + f"#item-{item.id}")


@bp.route("/audits/<id:audit_id>/checklist/<id:item_id>/evidence", methods=["POST"])
@login_required
def upload_evidence(audit_id: int, item_id: int) -> Any:
    audit = _audit_or_404(audit_id)
    item = _item_or_404(audit, item_id)
    back = url_for("audits.checklist", audit_id=audit.id) + f"#item-{item.id}"
    if not can_answer(audit, current_user):
        abort(403, description="Only the auditors of this audit can add evidence to its checklist")
    files = [f for f in request.files.getlist("file") if f and f.filename]
    if not files:
        flash("Choose a photo or file to attach.")
        return redirect(back)
    for upload in files:
        try:
            attachment = attach_evidence(item, current_user, upload.stream, upload.filename)
        except NotPermitted as exc:
            abort(403, description=exc.message)
        except InvalidTransition as exc:
            flash(exc.message)
            return redirect(back)
        except InvalidData as exc:
            flash(f"{upload.filename}: the file " + exc.errors.get("file", "was refused") + ".")
        else:
            flash(f"{attachment.filename} attached.")
    return redirect(back)


@bp.route("/audits/<id:audit_id>/evidence/<id:attachment_id>")
@login_required
def evidence_file(audit_id: int, attachment_id: int) -> Response:
    """A checklist item's evidence file, only through the audit it belongs to."""
    audit = _audit_or_404(audit_id)
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.lifecycle != ATTACHMENT_LIFECYCLE:
        abort(404)
    item = db.session.get(ChecklistItem, attachment.record_id)
    if item is None or item.audit_id != audit.id:
        abort(404)
    path = storage_path(attachment.sha256)
    if not path.exists():
        current_app.logger.error("attachment %s: stored file %s is missing", attachment.id, path)
        abort(404)
    return send_download(path, attachment.filename, attachment.content_type)


@bp.route("/audits/<id:audit_id>/report.pdf")
@login_required
def report(audit_id: int) -> Response:
    audit = _audit_or_404(audit_id)
    try:
        from ..reports.audits import audit_report_pdf
    except ImportError:
        abort(404, description="Audit reports are not available in this version.")
    return Response(
        audit_report_pdf(audit, current_app.config["QMS_ORGANISATION"]),
        mimetype="application/pdf",
        headers={"Content-Disposition": content_disposition(f"{audit.reference}.pdf", inline=True)},
    )


@bp.route("/audits/calendar")
@login_required
def calendar() -> str:
    today = dt.date.today()
    view = "year" if request.args.get("view") == "year" else "month"
    year = _int_arg("year", 2000, 2100) or today.year
    month = _int_arg("month", 1, 12) or (today.month if year == today.year else 1)
    mine = request.args.get("mine") == "1"
    site_id = _int_arg("site")
    filters = {k: v for k, v in {"mine": "1" if mine else "", "site": site_id}.items() if v}
    auditor = current_user.id if mine else None
    if view == "month":
        weeks = month_grid(year, month)
        first, last = dt.date(year, month, 1), weeks[-1][-1] or dt.date(year, month, 28)
        first = weeks[0][0] or first
        audits = audits_between(first, last, auditor_id=auditor, site_id=site_id)
        by_day: dict[dt.date, list[Audit]] = {}
        for audit in audits:
            day = max(audit.planned_start, first)
            end = min(audit.planned_end or audit.planned_start, last)
            while day <= end:
                by_day.setdefault(day, []).append(audit)
                day += dt.timedelta(days=1)
        previous = (year - 1, 12) if month == 1 else (year, month - 1)
        following = (year + 1, 1) if month == 12 else (year, month + 1)
        context = {"weeks": weeks, "by_day": by_day, "previous": previous, "following": following, "audits": audits}
    else:
        audits = audits_between(dt.date(year, 1, 1), dt.date(year, 12, 31), auditor_id=auditor, site_id=site_id)
        by_month: dict[int, list[Audit]] = {m: [] for m in range(1, 13)}
        for audit in audits:
            if audit.planned_start.year == year:
                by_month[audit.planned_start.month].append(audit)
            else:  # started the year before
                by_month[1].append(audit)
        context = {"by_month": by_month, "audits": audits}
    return render_template(
        "audits/calendar.html",
        view=view,
        year=year,
        month=month,
        months=MONTHS,
        filters=filters,
        mine=mine,
        site_id=site_id,
        sites=site_choices("All sites")[1:],
        today=today,
        **context,
    )


@bp.route("/calendar/<secret>.ics")
def feed(secret: str) -> Response:
    """A user's audits as iCalendar: no sign-in, the secret in the address is the credential."""
    user = user_for_feed(secret)
    if user is None:
        abort(404)
    return Response(
        ical_feed(user, base_url=current_app.config["QMS_BASE_URL"]),
        mimetype="text/calendar",
        headers={
            "Cache-Control": "private, max-age=300",
            "Content-Disposition": content_disposition("audits.ics", inline=True),
        },
    )


@bp.route("/audits/coverage")
@login_required
def coverage_page() -> Any:
    today = dt.date.today()
    year = _int_arg("year", 2000, 2100) or today.year
    site_id = _int_arg("site")
    identifier = request.args.get("standard", "iso-9001-2015")[:60]
    choices = standard_choices()
    if identifier not in {key for key, _ in choices}:
        identifier = "iso-9001-2015"
    try:
        matrix = coverage(year, site_id=site_id, standard_identifier=identifier)
    except KeyError:
        abort(404)
    titles = {c.number: c.title for c in matrix.standard.clauses}
    return render_template(
        "audits/coverage.html",
        matrix=matrix,
        titles=titles,
        year=year,
        site_id=site_id,
        identifier=identifier,
        standards=choices,
        sites=site_choices("All sites")[1:],
        results=RESULTS,
    )


def _require(roles: frozenset[str]) -> None:
    if not current_user.has_role(*roles):
        abort(403)


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
        "audits/processes.html",
        processes=db.session.scalars(
            select(Process).options(selectinload(Process.owner), selectinload(Process.site)).order_by(Process.name)
        ).all(),
        sites=db.session.scalars(select(Site).order_by(Site.name)).all(),
        site_form=site_form,
        risks=RISK_LEVELS,
        frequency=RISK_FREQUENCY,
        register_levels=_register_levels(),
    )


def _register_levels() -> dict[int, str]:
    """Per process, the rating the risk register gives it (its highest open rated risk)."""
    from ..services.risks import process_risk_levels

    return process_risk_levels()


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
            return redirect(url_for("audits.processes") + "#sites")
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
        return redirect(url_for("audits.processes"))
    return render_template("audits/process_edit.html", form=form, process=None), (422 if form.errors else 200)


@bp.route("/processes/<id:process_id>/edit", methods=["GET", "POST"])
@login_required
def edit_process(process_id: int) -> Any:
    _require(SETUP_ROLES)
    process = db.session.get(Process, process_id) or abort(404)
    form = _process_form(process) if request.method == "GET" else _process_form()
    if request.method == "POST" and form.validate_on_submit() and _save_process(form, process) is not None:
        flash(f"Process {process.name} saved.")
        return redirect(url_for("audits.processes"))
    return render_template("audits/process_edit.html", form=form, process=process), (422 if form.errors else 200)


class ProgrammeForm(FlaskForm):
    year = IntegerField("Year", validators=[DataRequired(), NumberRange(min=2000, max=2100)])
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    site_id = SelectField("Site", coerce=int, default=0)
    standard_identifier = SelectField("Standard", default="iso-9001-2015")
    objectives = TextAreaField("Objectives", validators=[Optional(), Length(max=5000)])


@bp.route("/programmes")
@login_required
def programmes() -> str:
    programmes = db.session.scalars(
        select(AuditProgramme)
        .options(selectinload(AuditProgramme.site), selectinload(AuditProgramme.entries))
        .order_by(AuditProgramme.year.desc(), AuditProgramme.id)
    ).all()
    return render_template(
        "audits/programmes.html", programmes=programmes, can_plan=current_user.has_role(*PLANNER_ROLES)
    )


def _entry_rows(processes: list[Process], values: Any) -> tuple[list[dict[str, Any]], dict[int, str]]:
    """The process rows of the programme form (what was chosen and typed) and their errors."""
    from ..services.risks import process_risk_levels

    rows, errors = [], {}
    register_levels = process_risk_levels([p.id for p in processes])  # the risk register's rating wins
    for process in processes:
        chosen = values.get(f"include-{process.id}") in ("on", "1", "y") if values is not None else False
        rated = register_levels.get(process.id, process.risk)
        risk = values.get(f"risk-{process.id}", rated) if values is not None else rated
        per_year = (values.get(f"per_year-{process.id}", "") if values is not None else "").strip()
        if per_year and not (per_year.isdigit() and 1 <= int(per_year) <= 12):
            errors[process.id] = "audits per year must be a whole number from 1 to 12"
        rows.append({"process": process, "chosen": chosen, "risk": risk, "per_year": per_year})
    return rows, errors


@bp.route("/programmes/new", methods=["GET", "POST"])
@login_required
def new_programme() -> Any:
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
            return redirect(url_for("audits.programme", programme_id=programme.id))
    failed = bool(form.errors or row_errors)
    return render_template(
        "audits/programme_new.html",
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
def programme(programme_id: int) -> str:
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
        "audits/programme.html",
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
def generate_programme(programme_id: int) -> Response:
    programme = _programme_or_404(programme_id)
    try:
        created = generate_audits(programme, current_user)
    except NotPermitted:
        abort(403)
    if created:
        flash(f"{len(created)} audits generated.")
    else:
        flash("Every audit of this programme exists already; none added.")
    return redirect(url_for("audits.programme", programme_id=programme.id))


def _programme_pdf() -> Any:
    try:
        from ..reports.audits import programme_pdf
    except ImportError:
        return None
    return programme_pdf


@bp.route("/programmes/<id:programme_id>/report.pdf")
@login_required
def programme_report(programme_id: int) -> Response:
    programme = _programme_or_404(programme_id)
    render = _programme_pdf()
    if render is None:
        abort(404, description="Programme reports are not available in this version.")
    return Response(
        render(programme, current_app.config["QMS_ORGANISATION"]),
        mimetype="application/pdf",
        headers={"Content-Disposition": content_disposition(f"audit-programme-{programme.year}.pdf", inline=True)},
    )
