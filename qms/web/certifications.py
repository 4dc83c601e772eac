"""External certification: certification bodies (admins edit their profiles), certifications through
the ISO/IEC 17021-1 cycle with their timeline and reminders, external audits and their findings on
the body's own scale, readiness for the next audit and the certification pack (PDF).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict
from wtforms import DateField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

import standards
from workflows import get_lifecycle
from workflows.errors import InvalidData, InvalidTransition, NotPermitted

from ..database import db
from ..downloads import content_disposition
from ..models import EXTERNAL_AUDIT_KINDS, Certification, CertificationBody, ExternalAudit, ExternalFinding
from ..security import DIAGRAM_CSP, talisman
from ..services import available_events, history_of
from ..services.certifications import (
    IN_FORCE,
    MANAGE_ROLES,
    TRANSITION_COMBINED_WITH,
    bodies,
    create_certification,
    cycle_of,
    group_findings,
    next_audit,
    plan_body_transition_audit,
    profile,
    readiness,
    record_edition_transition,
    record_external_audit,
    regrade_finding,
    reminders,
    rules_of,
    set_body_active,
    timeline,
    transition_status,
    update_body,
)
from ..services.competence import VIEW_ROLES as COMPETENCE_VIEW_ROLES
from ..services.standards import successor_of
from .events import EventFormState, add_record_routes, lifecycle_diagram
from .forms import apply_errors, site_choices, standard_choices

bp = Blueprint("certifications", __name__)

#: blank finding rows on a fresh "Record external audit" form, and the most a form may carry
FINDING_ROWS = 3
MAX_FINDING_ROWS = 60
MAX_GRADE_ROWS = 20
PROGRAMME_FIELDS = {
    "certificate_years": ("Certificate valid (years)", "From the certification decision."),
    "surveillance_interval_months": ("Surveillance interval (months)", "Between surveillance audits."),
    "first_surveillance_max_months": (
        "First surveillance at the latest (months)",
        "After the certification decision.",
    ),
    "recertification_lead_days": ("Recertification lead (days)", "Recertification audit this long before expiry."),
    "stage2_max_days_after_stage1": ("Stage 2 at the latest (days after stage 1)", ""),
    "findings_response_days": ("Days to answer findings", "The default; each grade may set its own."),
}
GRADE_FIELDS = ("code", "label", "nc_severity", "response_days", "blocks_certification")
STATUS_LABELS = {
    "done": "Done",
    "overdue": "Overdue",
    "due_soon": "Due soon",
    "upcoming": "Upcoming",
    "pending": "Not scheduled",
}
FINDING_FIELDS = ("body_reference", "grade", "clause_number", "description")


def can_manage() -> bool:
    return current_user.is_authenticated and current_user.has_role(*MANAGE_ROLES)


def is_admin() -> bool:
    return current_user.is_authenticated and current_user.has_role("admin")


def _body_or_404(body_id: int) -> CertificationBody:
    return db.session.get(CertificationBody, body_id) or abort(404)


def _certification_or_404(certification_id: int) -> Certification:
    return db.session.get(Certification, certification_id) or abort(404)


def _standard_titles() -> dict[str, str]:
    return dict(standard_choices())


# --------------------------------------------------------------------------- certification bodies


@bp.route("/certification-bodies")
@login_required
def body_list() -> str:
    rows = [(body, profile(body)) for body in bodies(active_only=False)]
    return render_template("certifications/bodies.html", rows=rows, can_edit=is_admin())


@bp.route("/certification-bodies/<id:body_id>")
@login_required
def body_detail(body_id: int) -> str:
    body = _body_or_404(body_id)
    used = db.session.scalars(
        select(Certification).where(Certification.body_id == body.id).order_by(Certification.id.desc())
    ).all()
    return render_template(
        "certifications/body.html",
        body=body,
        data=profile(body),
        programme_fields=PROGRAMME_FIELDS,
        certifications=used,
        can_edit=is_admin(),
        rule_sources=standards.RULE_SOURCES,
        cycle_rules=standards.cycle_rules(),
    )


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _number(value: str) -> Any:
    """A whole number when the text is one; otherwise the text, for the validator to name the field."""
    value = (value or "").strip()
    try:
        return int(value)
    except ValueError:
        return value


def _grade_rows_from_profile(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "code": grade.get("code", ""),
            "label": grade.get("label", ""),
            "nc_severity": grade.get("nc_severity", "minor"),
            "response_days": "" if grade.get("response_days") is None else str(grade["response_days"]),
            "blocks_certification": bool(grade.get("blocks_certification")),
            "remove": False,
        }
        for grade in data.get("severity_scale") or []
    ]


def _grade_rows_from_form(form: MultiDict) -> list[dict[str, Any]]:
    count = max(0, min(form.get("grade_rows", type=int) or 0, MAX_GRADE_ROWS))
    rows = []
    for index in range(count):
        prefix = f"grade-{index}-"
        rows.append(
            {
                "code": form.get(prefix + "code", "").strip(),
                "label": form.get(prefix + "label", ""),
                "nc_severity": form.get(prefix + "nc_severity", ""),
                "response_days": form.get(prefix + "response_days", "").strip(),
                "blocks_certification": form.get(prefix + "blocks_certification") in ("on", "1", "true", "yes"),
                "remove": form.get(prefix + "remove") in ("on", "1", "true", "yes"),
            }
        )
    return rows


def _body_values(body: CertificationBody) -> dict[str, Any]:
    data = body.profile
    programme = data.get("programme") or {}
    return {
        "name": data.get("name", body.name),
        "accreditation": "\n".join(data.get("accreditation") or []),
        "marks": "\n".join(data.get("marks") or []),
        "website": data.get("website") or "",
        "notes": data.get("notes") or "",
        **{f"programme-{key}": str(programme.get(key, "")) for key in PROGRAMME_FIELDS},
        "programme-reminder_days": ", ".join(str(d) for d in programme.get("reminder_days") or []),
    }


def _body_data(form: MultiDict, rows: list[dict[str, Any]]) -> tuple[dict[str, Any], list[int]]:
    """The profile changes from the form, and for each grade sent the index of its form row."""
    reminder_text = form.get("programme-reminder_days", "").replace(";", ",")
    programme: dict[str, Any] = {key: _number(form.get(f"programme-{key}", "")) for key in PROGRAMME_FIELDS}
    programme["reminder_days"] = [_number(part) for part in reminder_text.split(",") if part.strip()]
    scale, positions = [], []
    for index, row in enumerate(rows):
        if row["remove"] or not (row["code"] or row["label"].strip()):
            continue
        days = row["response_days"]
        scale.append(
            {
                "code": row["code"],
                "label": row["label"],
                "nc_severity": row["nc_severity"],
                "response_days": None if days == "" else _number(days),
                "blocks_certification": row["blocks_certification"],
            }
        )
        positions.append(index)
    data = {
        "name": form.get("name", ""),
        "accreditation": _lines(form.get("accreditation", "")),
        "marks": _lines(form.get("marks", "")),
        "website": form.get("website", "").strip() or None,
        "notes": form.get("notes", "").strip(),
        "programme": programme,
        "severity_scale": scale,
    }
    return data, positions


def _body_errors(errors: dict[str, str], positions: list[int]) -> tuple[dict[str, str], dict[int, dict[str, str]]]:
    """Service errors by form field: the body's fields, and the grade rows' by form row."""
    fields: dict[str, str] = {}
    rows: dict[int, dict[str, str]] = {}
    for name, message in errors.items():
        if name.startswith("severity_scale[") and "]" in name:
            index_text, _, rest = name[len("severity_scale[") :].partition("]")
            if index_text.isdigit() and int(index_text) < len(positions):
                row = rows.setdefault(positions[int(index_text)], {})
                key = rest.lstrip(".") or "row"
                row[key] = f"{row[key]}; {message}" if key in row else message
                continue
        base, bracket, rest = name.partition("[")
        key = "programme-" + base[len("programme.") :] if base.startswith("programme.") else base
        index_text = rest.split("]", 1)[0]
        text = f"item {int(index_text) + 1}: {message}" if bracket and index_text.isdigit() else message
        fields[key] = f"{fields[key]}; {text}" if key in fields else text
    return fields, rows


@bp.route("/certification-bodies/<id:body_id>/edit", methods=["GET", "POST"])
@login_required
def body_edit(body_id: int) -> Any:
    body = _body_or_404(body_id)
    if not is_admin():
        abort(403)
    errors: dict[str, str] = {}
    row_errors: dict[int, dict[str, str]] = {}
    status = 200
    if request.method == "POST":
        form = request.form
        values = form.to_dict()
        rows = _grade_rows_from_form(form)
        if "add_row" in form:
            if len(rows) < MAX_GRADE_ROWS:
                rows.append(_blank_grade())
        else:
            data, positions = _body_data(form, rows)
            try:
                update_body(body, current_user, data)
            except NotPermitted:
                abort(403)
            except InvalidData as exc:
                errors, row_errors = _body_errors(exc.errors, positions)
                status = 422
            else:
                flash(f"{body.name}: profile saved.")
                return redirect(url_for("certifications.body_detail", body_id=body.id))
    else:
        values = _body_values(body)
        rows = [*_grade_rows_from_profile(body.profile), _blank_grade()]
    return render_template(
        "certifications/body_edit.html",
        body=body,
        values=values,
        rows=rows,
        errors=errors,
        row_errors=row_errors,
        programme_fields=PROGRAMME_FIELDS,
        severities=standards.NC_SEVERITIES,
    ), status


def _blank_grade() -> dict[str, Any]:
    return {
        "code": "",
        "label": "",
        "nc_severity": "minor",
        "response_days": "",
        "blocks_certification": False,
        "remove": False,
    }


@bp.route("/certification-bodies/<id:body_id>/active", methods=["POST"])
@login_required
def body_active(body_id: int) -> Any:
    body = _body_or_404(body_id)
    if not is_admin():
        abort(403)
    active = request.form.get("active") in ("1", "on", "true", "yes")
    set_body_active(body, current_user, active)
    flash(f"{body.name} {'enabled: it can be chosen for new applications' if active else 'disabled'}.")
    return redirect(url_for("certifications.body_detail", body_id=body.id))


# --------------------------------------------------------------------------- certifications


def _next_deadline(certification: Certification, today: dt.date) -> Any:
    steps = [s for s in timeline(certification, today) if s.done_on is None and s.due is not None]
    return min(steps, key=lambda s: s.due) if steps else None


@bp.route("/certifications")
@login_required
def index() -> str:
    lifecycle = get_lifecycle("certification")
    state = request.args.get("state", "")
    state = state if state in {s.name for s in lifecycle.states} else ""
    query = select(Certification).options(
        selectinload(Certification.body), selectinload(Certification.site), selectinload(Certification.audits)
    )
    if state:
        query = query.where(Certification.state == state)
    certifications = db.session.scalars(query.order_by(Certification.id.desc())).all()
    today = dt.date.today()
    return render_template(
        "certifications/list.html",
        certifications=certifications,
        deadlines={c.id: _next_deadline(c, today) for c in certifications if not c.is_terminal},
        today=today,
        lifecycle=lifecycle,
        state=state,
        standards=_standard_titles(),
        can_manage=can_manage(),
    )


class ApplicationForm(FlaskForm):
    body_id = SelectField("Certification body", coerce=int, default=0)
    standard_identifier = SelectField("Standard", validators=[DataRequired()], default="iso-9001-2015")
    scope = TextAreaField(
        "Scope of certification",
        validators=[DataRequired(), Length(max=5000)],
        description="As it will read on the certificate, e.g. 'Design and manufacture of steel doors'.",
    )
    site_id = SelectField("Site", coerce=int, default=0)
    applied_on = DateField("Applied on", validators=[Optional()], description="Leave empty for today.")


@bp.route("/certifications/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    if not can_manage():
        abort(403)
    form = ApplicationForm()
    form.body_id.choices = [(0, "Choose…")] + [(b.id, b.name) for b in bodies()]
    form.standard_identifier.choices = standard_choices()
    form.site_id.choices = site_choices("— whole organisation —")
    if form.validate_on_submit():
        try:
            certification = create_certification(
                current_user,
                body_id=form.body_id.data,
                scope=form.scope.data,
                standard_identifier=form.standard_identifier.data,
                site_id=form.site_id.data or None,
                applied_on=form.applied_on.data,
            )
        except InvalidData as exc:
            apply_errors(form, exc.errors)
        else:
            flash(f"{certification.reference}: application to {certification.body.name} recorded.")
            return redirect(url_for("certifications.detail", certification_id=certification.id))
    elif request.method == "POST" and not form.body_id.errors and not form.body_id.data:
        form.body_id.errors = ["choose an active certification body"]
    return render_template("certifications/new.html", form=form), (422 if form.errors else 200)


def _finding_rows(values: MultiDict | None, count: int) -> list[dict[str, str]]:
    return [
        {name: (values.get(f"finding-{i}-{name}", "") if values is not None else "") for name in FINDING_FIELDS}
        for i in range(count)
    ]


def _finding_row_count(values: MultiDict) -> int:
    return max(0, min(values.get("finding_rows", type=int) or 0, MAX_FINDING_ROWS))


def _render_detail(
    certification: Certification,
    failed: EventFormState | None = None,
    *,
    status: int = 200,
    audit_values: MultiDict | None = None,
    audit_errors: dict[str, str] | None = None,
    finding_rows: list[dict[str, str]] | None = None,
    finding_errors: dict[int, dict[str, str]] | None = None,
    change_errors: dict[str, dict[str, str]] | None = None,
    change_values: MultiDict | None = None,
) -> Any:
    today = dt.date.today()
    data = profile(certification.body)
    steps = timeline(certification, today)
    page = render_template(
        "certifications/detail.html",
        certification=certification,
        body=data,
        standards=_standard_titles(),
        events=available_events(certification, current_user),
        failed=failed,
        history=(history := history_of(certification)),
        diagram=lifecycle_diagram(certification, history),
        steps=[(step, step.status(today)) for step in steps],
        coming=next_audit(certification, today),
        status_labels=STATUS_LABELS,
        due=[r for r in reminders(today) if r.certification.id == certification.id],
        cycle=cycle_of(certification),
        rules=rules_of(certification),
        kinds=EXTERNAL_AUDIT_KINDS,
        grades=data.severity_scale,
        today=today,
        can_manage=can_manage(),
        audit_values=audit_values or MultiDict(),
        audit_errors=audit_errors or {},
        finding_rows=finding_rows or _finding_rows(None, FINDING_ROWS),
        finding_errors=finding_errors or {},
        change_errors=change_errors or {},
        change_values=change_values or MultiDict(),
        pack_available=_pack_function() is not None,
        transition=transition_status(certification, today) if not certification.is_terminal else None,
        edition_source=_edition_source(certification),
        combined_labels=TRANSITION_COMBINED_WITH,
        in_force=IN_FORCE,
    )
    return page, status


def _edition_source(certification: Certification) -> str:
    successor = successor_of(certification.standard_identifier)
    return successor.source if successor else ""


@bp.route("/certifications/<id:certification_id>/transition-audit", methods=["POST"])
@login_required
@talisman(content_security_policy=DIAGRAM_CSP)
def plan_transition_audit(certification_id: int) -> Any:
    certification = _certification_or_404(certification_id)
    form = request.form
    try:
        return _change(
            certification,
            lambda: plan_body_transition_audit(
                certification,
                current_user,
                planned_on=form.get("planned_on", "").strip() or None,
                combined_with=form.get("combined_with", "").strip(),
            ),
            "Transition audit planned.",
            "transition-audit",
            "#transition",
        )
    except InvalidTransition as exc:
        return _render_detail(
            certification, status=409, change_errors={"transition-audit": {"form": exc.message}}, change_values=form
        )


@bp.route("/certifications/<id:certification_id>/edition", methods=["POST"])
@login_required
@talisman(content_security_policy=DIAGRAM_CSP)
def record_transition(certification_id: int) -> Any:
    certification = _certification_or_404(certification_id)
    form = request.form
    try:
        return _change(
            certification,
            lambda: record_edition_transition(
                certification,
                current_user,
                decided_on=form.get("decided_on", ""),
                certificate_number=form.get("certificate_number", ""),
            ),
            "The certificate moved to the new edition.",
            "edition",
            "#transition",
        )
    except InvalidTransition as exc:
        return _render_detail(
            certification, status=409, change_errors={"edition": {"form": exc.message}}, change_values=form
        )


add_record_routes(
    bp,
    "/certifications/<id:certification_id>",
    load=lambda certification_id: _certification_or_404(certification_id),
    render=lambda certification, failed, status: _render_detail(certification, failed, status=status),
    url=lambda certification: url_for("certifications.detail", certification_id=certification.id),
)


@bp.route("/certifications/<id:certification_id>/audits", methods=["POST"])
@login_required
@talisman(content_security_policy=DIAGRAM_CSP)
def record_audit(certification_id: int) -> Any:
    certification = _certification_or_404(certification_id)
    if not can_manage():
        abort(403)
    form = request.form
    rows = _finding_rows(form, _finding_row_count(form))
    if "add_row" in form:
        if len(rows) < MAX_FINDING_ROWS:
            rows.append(dict.fromkeys(FINDING_FIELDS, ""))
        return _render_detail(certification, audit_values=form, finding_rows=rows)
    filled = [(i, row) for i, row in enumerate(rows) if any(str(v).strip() for v in row.values())]
    try:
        audit = record_external_audit(
            certification,
            current_user,
            kind=form.get("kind", ""),
            start_date=form.get("start_date", ""),
            end_date=form.get("end_date", "") or None,
            lead_auditor=form.get("lead_auditor", ""),
            body_reference=form.get("body_reference", ""),
            outcome=form.get("outcome", ""),
            findings=[row for _, row in filled],
        )
    except NotPermitted:
        abort(403)
    except InvalidTransition as exc:
        return _render_detail(
            certification, status=409, audit_values=form, audit_errors={"form": exc.message}, finding_rows=rows
        )
    except InvalidData as exc:
        other: dict[str, str] = {}
        by_row: dict[int, dict[str, str]] = {}
        for name, message in exc.errors.items():
            if name.startswith("findings[") and "]." in name:
                index, field = name[len("findings[") :].split("].", 1)
                if index.isdigit() and int(index) < len(filled):
                    by_row.setdefault(filled[int(index)][0], {})[field] = message
                    continue
            other[name] = message
        return _render_detail(
            certification,
            status=422,
            audit_values=form,
            audit_errors=other,
            finding_rows=rows,
            finding_errors=by_row,
        )
    raised = [f.nonconformity.reference for f in audit.findings if f.nonconformity is not None]
    message = f"{EXTERNAL_AUDIT_KINDS[audit.kind]} audit recorded with {len(audit.findings)} finding(s)."
    if raised:
        message += " Nonconformities raised: " + ", ".join(raised) + "."
    flash(message)
    return redirect(url_for("certifications.detail", certification_id=certification.id) + f"#audit-{audit.id}")


def _change(certification: Certification, change: Callable[[], Any], done: str, key: str, anchor: str) -> Any:
    if not can_manage():
        abort(403)
    try:
        change()
    except NotPermitted:
        abort(403)
    except InvalidData as exc:
        return _render_detail(
            certification, status=422, change_errors={key: dict(exc.errors)}, change_values=request.form
        )
    flash(done)
    return redirect(url_for("certifications.detail", certification_id=certification.id) + anchor)


def _audit_of(certification: Certification, audit_id: int) -> ExternalAudit:
    audit = db.session.get(ExternalAudit, audit_id)
    if audit is None or audit.certification_id != certification.id:
        abort(404)
    return audit


@bp.route("/certifications/<id:certification_id>/audits/<id:audit_id>/group", methods=["POST"])
@login_required
@talisman(content_security_policy=DIAGRAM_CSP)
def group(certification_id: int, audit_id: int) -> Any:
    certification = _certification_or_404(certification_id)
    audit = _audit_of(certification, audit_id)
    ids = [int(v) for v in request.form.getlist("finding_ids") if v.isdigit() and len(v) < 10]
    label = request.form.get("label", "")
    return _change(
        certification,
        lambda: group_findings(audit, current_user, ids, label),
        f"Findings grouped as {label.strip()}.",
        f"group-{audit.id}",
        f"#audit-{audit.id}",
    )


@bp.route("/certifications/<id:certification_id>/findings/<id:finding_id>/regrade", methods=["POST"])
@login_required
@talisman(content_security_policy=DIAGRAM_CSP)
def regrade(certification_id: int, finding_id: int) -> Any:
    certification = _certification_or_404(certification_id)
    finding = db.session.get(ExternalFinding, finding_id)
    if finding is None or finding.audit.certification_id != certification.id:
        abort(404)
    grade, reason = request.form.get("grade", ""), request.form.get("reason", "")
    return _change(
        certification,
        lambda: regrade_finding(finding, current_user, grade=grade, reason=reason),
        f"Finding {finding.body_reference} re-graded.",
        f"regrade-{finding.id}",
        f"#finding-{finding.id}",
    )


# --------------------------------------------------------------------------- readiness and the pack


def _render_readiness(certification: Certification | None) -> str:
    today = dt.date.today()
    result = readiness(certification, today)
    others = db.session.scalars(
        select(Certification)
        .options(selectinload(Certification.body))
        .where(Certification.state.not_in(("withdrawn", "expired", "cancelled")))
        .order_by(Certification.id.desc())
    ).all()
    return render_template(
        "certifications/readiness.html",
        certification=certification,
        result=result,
        next_step=_next_deadline(certification, today) if certification and not certification.is_terminal else None,
        today=today,
        standards=_standard_titles(),
        certifications=others,
        pack_available=_pack_function() is not None,
        # the competence matrix opens to its viewers alone: the others read that reason without a link
        unlinked=() if current_user.has_role(*COMPETENCE_VIEW_ROLES) else ("/competence",),
    )


@bp.route("/readiness")
@login_required
def organisation_readiness() -> str:
    return _render_readiness(None)


@bp.route("/certifications/<id:certification_id>/readiness")
@login_required
def certification_readiness(certification_id: int) -> str:
    return _render_readiness(_certification_or_404(certification_id))


def _pack_function() -> Callable[..., bytes] | None:
    try:
        from ..reports.certifications import certification_pack_pdf
    except ImportError:
        return None
    return certification_pack_pdf


@bp.route("/certifications/<id:certification_id>/pack.pdf")
@login_required
def pack(certification_id: int) -> Response:
    certification = _certification_or_404(certification_id)
    build = _pack_function()
    if build is None:
        abort(404, description="The certification pack is not available in this version.")
    current_app.logger.info("certification pack of %s by user %s", certification.reference, current_user.id)
    return Response(
        build(certification, organisation=current_app.config["QMS_ORGANISATION"], reader=current_user),
        mimetype="application/pdf",
        headers={"Content-Disposition": content_disposition(f"{certification.reference}-certification-pack.pdf")},
    )
