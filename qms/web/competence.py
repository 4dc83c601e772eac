"""Competence (ISO 9001 7.2): the matrix (filters, gaps and expiries, PDF and XLSX), the catalogue with
its requirements, job roles, a person's record (profile, records, training, the training record PDF),
and the assignment preconditions an administrator turns on.

Everyone signed in reads the catalogue; the matrix and other people's records are for
administrators, managers, quality officers and internal auditors (each person sees their own);
quality officers, managers and administrators change them; only administrators set preconditions.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from workflows.errors import InvalidData, NotPermitted

from ..database import db
from ..downloads import content_disposition
from ..models import (
    ASSIGNMENTS,
    AUDIT_ROLES,
    CHANNELS,
    COMPETENCE_LEVELS,
    DOCUMENT_TYPES,
    REQUIREMENT_SCOPES,
    VIRTUAL_PLATFORMS,
    Competence,
    CompetenceRequirement,
    Document,
    JobRole,
    Process,
    Site,
    User,
)
from ..services.competence import (
    MANAGE_ROLES,
    VIEW_ROLES,
    add_requirement,
    can_view_person,
    create_competence,
    create_job_role,
    matrix,
    paged_matrix,
    platform_labels,
    preconditions,
    record_competence,
    remove_requirement,
    requirement_target_label,
    set_precondition,
    set_profile,
    signed_events,
    target_names,
    training_record,
    update_competence,
)
from ..services.paging import BadCursor, cursor_args
from ..services.training import raise_needs_from_gaps

bp = Blueprint("competence", __name__)
COMPETENCE_FIELDS = (
    "name",
    "description",
    "validity_months",
    "evidence_aware",
    "evidence_practitioner",
    "evidence_expert",
)
RECORD_FIELDS = ("competence_id", "level", "source", "title", "provider", "evidence", "achieved_on", "expires_on")
#: people on one page of the matrix
PER_PAGE = 50


def can_manage() -> bool:
    return current_user.has_role(*MANAGE_ROLES)


def _require_manager() -> None:
    if not can_manage():
        abort(403)


def _require_viewer() -> None:
    if not current_user.has_role(*VIEW_ROLES):
        abort(403)


def _competence_or_404(competence_id: int) -> Competence:
    return db.session.get(Competence, competence_id) or abort(404)


def _user_or_404(user_id: int) -> User:
    return db.session.get(User, user_id) or abort(404)


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and len(value) < 10 else None


def _choices(model: type) -> list[tuple[int, str]]:
    return [(row_id, name) for row_id, name in db.session.execute(select(model.id, model.name).order_by(model.name))]


# --------------------------------------------------------------------------- the matrix


def _matrix_filters() -> tuple[dict[str, int | None], dict[str, Any]]:
    filters = {"site_id": _int_arg("site"), "process_id": _int_arg("process"), "job_role_id": _int_arg("role")}
    gaps = request.args.get("gaps") == "1"
    args = {
        key: value
        for key, value in {
            "site": filters["site_id"],
            "process": filters["process_id"],
            "role": filters["job_role_id"],
            "gaps": "1" if gaps else None,
        }.items()
        if value
    }
    return filters, args


def _showing(args: dict[str, Any]) -> str:
    parts = []
    for key, model in (("site", Site), ("process", Process), ("role", JobRole)):
        if key in args:
            row = db.session.get(model, args[key])
            parts.append(f"{key.replace('role', 'job role')}: {row.name if row else '—'}")
    if args.get("gaps"):
        parts.append("people with gaps or expiries only")
    return ", ".join(parts)


@bp.route("/competence")
@login_required
def matrix_page() -> Any:
    """A page of people (by name, keyset-paged); the coverage figure counts everyone matching the filters."""
    _require_viewer()
    filters, args = _matrix_filters()
    after, before = cursor_args(request.args)
    try:
        found = paged_matrix(**filters, gaps_only="gaps" in args, per_page=PER_PAGE, after=after, before=before)
    except BadCursor:
        flash("That page link is out of date or damaged, so the matrix starts again at its first page.")
        found = paged_matrix(**filters, gaps_only="gaps" in args, per_page=PER_PAGE)
    return render_template(
        "competence/matrix.html",
        found=found,
        shown=found.people,
        pagination=found.page,
        args=args,
        sites=_choices(Site),
        processes=_choices(Process),
        roles=_choices(JobRole),
        levels=COMPETENCE_LEVELS,
        can_manage=can_manage(),
    )


@bp.route("/competence/matrix.pdf")
@login_required
def matrix_pdf() -> Response:
    _require_viewer()
    filters, args = _matrix_filters()
    from ..reports.competence import matrix_pdf as build

    data = build(
        matrix(**filters, gaps_only="gaps" in args),
        organisation=current_app.config["QMS_ORGANISATION"],
        showing=_showing(args),
    )
    return Response(
        data,
        mimetype="application/pdf",
        headers={"Content-Disposition": content_disposition("competence-matrix.pdf", inline=True)},
    )


@bp.route("/competence/matrix.xlsx")
@login_required
def matrix_xlsx() -> Response:
    _require_viewer()
    filters, args = _matrix_filters()
    from ..reports.competence import matrix_xlsx as build

    return Response(
        build(matrix(**filters, gaps_only="gaps" in args)),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": content_disposition("competence-matrix.xlsx")},
    )


@bp.route("/competence/needs-from-gaps", methods=["POST"])
@login_required
def needs_from_gaps() -> Response:
    _require_manager()
    created = raise_needs_from_gaps(current_user)
    flash(f"{len(created)} training need{'s' if len(created) != 1 else ''} raised from the gaps.")
    return redirect(url_for("training.needs"))


# --------------------------------------------------------------------------- the catalogue


def _catalogue(errors: dict[str, str] | None = None, values: Any = None, role_errors: dict[str, str] | None = None):
    competences = list(
        db.session.scalars(select(Competence).options(selectinload(Competence.requirements)).order_by(Competence.name))
    )
    page = render_template(
        "competence/catalogue.html",
        competences=competences,
        job_roles=list(db.session.scalars(select(JobRole).order_by(JobRole.name))),
        errors=errors or {},
        values=values or {},
        role_errors=role_errors or {},
        levels=COMPETENCE_LEVELS,
        can_manage=can_manage(),
    )
    return page, (422 if errors or role_errors else 200)


@bp.route("/competences", methods=["GET", "POST"])
@login_required
def catalogue() -> Any:
    if request.method == "GET":
        return _catalogue()
    _require_manager()
    form = request.form
    try:
        competence = create_competence(current_user, **{name: form.get(name, "") for name in COMPETENCE_FIELDS})
    except InvalidData as exc:
        return _catalogue(exc.errors, form)
    flash(f"{competence.name} added to the catalogue.")
    return redirect(url_for("competence.detail", competence_id=competence.id))


@bp.route("/job-roles", methods=["POST"])
@login_required
def job_roles() -> Any:
    _require_manager()
    try:
        role = create_job_role(
            current_user, name=request.form.get("name", ""), description=request.form.get("description", "")
        )
    except InvalidData as exc:
        return _catalogue(role_errors=exc.errors, values=request.form)
    flash(f"Job role {role.name} added.")
    return redirect(url_for("competence.catalogue") + "#job-roles")


def _render_competence(
    competence: Competence,
    errors: dict[str, str] | None = None,
    values: Any = None,
    status: int = 200,
    edit_errors=None,
) -> Any:
    requirements = list(competence.requirements)
    names = target_names(requirements, current_user)
    page = render_template(
        "competence/detail.html",
        competence=competence,
        requirements=[(r, requirement_target_label(r, names)) for r in requirements],
        scopes=REQUIREMENT_SCOPES,
        levels=COMPETENCE_LEVELS,
        job_roles=_choices(JobRole),
        processes=_choices(Process),
        documents=[
            (d.id, f"{d.number} {d.title}")
            for d in db.session.scalars(select(Document).where(Document.obsolete.is_(False)).order_by(Document.number))
        ],
        platforms=platform_labels(),
        audit_roles=AUDIT_ROLES,
        events=signed_events(),
        errors=errors or {},
        edit_errors=edit_errors or {},
        values=values or {},
        can_manage=can_manage(),
    )
    return page, status


@bp.route("/competences/<id:competence_id>", methods=["GET", "POST"])
@login_required
def detail(competence_id: int) -> Any:
    competence = _competence_or_404(competence_id)
    if request.method == "GET":
        return _render_competence(competence)
    _require_manager()
    form = request.form
    data: dict[str, Any] = {name: form.get(name, "") for name in COMPETENCE_FIELDS}
    data["active"] = form.get("active") == "1"
    try:
        update_competence(competence, current_user, **data)
    except InvalidData as exc:
        return _render_competence(competence, values=form, status=422, edit_errors=exc.errors)
    flash("Competence saved.")
    return redirect(url_for("competence.detail", competence_id=competence.id))


@bp.route("/competences/<id:competence_id>/requirements", methods=["POST"])
@login_required
def add_requirement_page(competence_id: int) -> Any:
    competence = _competence_or_404(competence_id)
    _require_manager()
    form = request.form
    scope = form.get("scope", "")
    target_id = form.get(f"target_id-{scope}") or None
    target_key = form.get(f"target_key-{scope}", "")
    if scope == "platform" and form.get("target_key-platform-new", "").strip():
        target_key = form.get("target_key-platform-new", "")
    try:
        add_requirement(
            competence,
            current_user,
            scope=scope,
            level=form.get("level", ""),
            target_id=target_id,
            target_key=target_key,
        )
    except InvalidData as exc:
        return _render_competence(competence, exc.errors, form, 422)
    flash("Requirement added.")
    return redirect(url_for("competence.detail", competence_id=competence.id) + "#requirements")


@bp.route("/competence-requirements/<id:requirement_id>/delete", methods=["POST"])
@login_required
def delete_requirement(requirement_id: int) -> Response:
    requirement = db.session.get(CompetenceRequirement, requirement_id) or abort(404)
    _require_manager()
    competence_id = requirement.competence_id
    remove_requirement(requirement, current_user)
    flash("Requirement removed.")
    return redirect(url_for("competence.detail", competence_id=competence_id) + "#requirements")


# --------------------------------------------------------------------------- a person's record


def _render_person(user: User, *, profile_errors=None, record_errors=None, values=None, status: int = 200) -> Any:
    record = training_record(user)
    page = render_template(
        "competence/person.html",
        person=user,
        record=record,
        levels=COMPETENCE_LEVELS,
        job_roles=_choices(JobRole),
        sites=_choices(Site),
        processes=_choices(Process),
        platforms=platform_labels(),
        competences=_choices(Competence),
        profile_errors=profile_errors or {},
        record_errors=record_errors or {},
        values=values or {},
        can_manage=can_manage(),
    )
    return page, status


@bp.route("/people/<id:user_id>")
@login_required
def person(user_id: int) -> Any:
    user = _user_or_404(user_id)
    if not can_view_person(current_user, user.id):
        abort(403)
    return _render_person(user)


@bp.route("/people/<id:user_id>/profile", methods=["POST"])
@login_required
def profile(user_id: int) -> Any:
    user = _user_or_404(user_id)
    _require_manager()
    form = request.form
    platforms = form.getlist("platforms")
    extra = [p.strip() for p in form.get("platforms_other", "").split(",") if p.strip()]
    try:
        set_profile(
            user,
            current_user,
            job_role_id=form.get("job_role_id") or None,
            site_id=form.get("site_id") or None,
            process_id=form.get("process_id") or None,
            platforms=platforms + extra,
        )
    except InvalidData as exc:
        return _render_person(user, profile_errors=exc.errors, values=form, status=422)
    flash("Profile saved.")
    return redirect(url_for("competence.person", user_id=user.id))


@bp.route("/people/<id:user_id>/records", methods=["POST"])
@login_required
def add_record(user_id: int) -> Any:
    user = _user_or_404(user_id)
    _require_manager()
    form = request.form
    try:
        record_competence(user, current_user, **{name: form.get(name, "") for name in RECORD_FIELDS})
    except InvalidData as exc:
        return _render_person(user, record_errors=exc.errors, values=form, status=422)
    flash("Competence recorded.")
    return redirect(url_for("competence.person", user_id=user.id) + "#records")


@bp.route("/people/<id:user_id>/training-record.pdf")
@login_required
def training_record_pdf(user_id: int) -> Response:
    user = _user_or_404(user_id)
    if not can_view_person(current_user, user.id):
        abort(403)
    from ..reports.competence import training_record_pdf as build

    data = build(training_record(user), organisation=current_app.config["QMS_ORGANISATION"])
    return Response(
        data,
        mimetype="application/pdf",
        headers={"Content-Disposition": content_disposition(f"training-record-{user.id}.pdf", inline=True)},
    )


# --------------------------------------------------------------------------- preconditions


def _render_preconditions(errors: dict[str, str] | None = None, status: int = 200) -> Any:
    page = render_template(
        "competence/preconditions.html",
        preconditions=preconditions(),
        assignments=ASSIGNMENTS,
        platforms={key: CHANNELS[key] for key in VIRTUAL_PLATFORMS},
        document_types=DOCUMENT_TYPES,
        errors=errors or {},
    )
    return page, status


@bp.route("/competence/preconditions", methods=["GET", "POST"])
@login_required
def preconditions_page() -> Any:
    if not current_user.has_role("admin"):
        abort(403)
    if request.method == "GET":
        return _render_preconditions()
    form = request.form
    assignment = form.get("assignment", "")
    key = form.get(f"target_key-{assignment}", "") if assignment in ("complaint_owner", "document_approver") else ""
    try:
        set_precondition(current_user, assignment=assignment, target_key=key, enabled=form.get("enabled", "1") == "1")
    except InvalidData as exc:
        return _render_preconditions(exc.errors, 422)
    except NotPermitted:
        abort(403)
    flash("Precondition saved.")
    return redirect(url_for("competence.preconditions_page"))
