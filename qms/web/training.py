"""Training (ISO 9001 7.2): sessions (planned → held → evaluated → closed) with attendance, certificates and
the evaluation of effectiveness, and training needs (raised by hand, from an NC, a revision or the gaps).

Everyone signed in sees the sessions and needs; quality officers, managers and administrators plan,
record and evaluate (a manager's sign-off needs a manager).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from workflows import get_lifecycle
from workflows.errors import InvalidData, InvalidTransition, NotPermitted

from ..database import db
from ..models import (
    COMPETENCE_LEVELS,
    EVALUATION_METHODS,
    NEED_SOURCES,
    NEED_STATUSES,
    Competence,
    Document,
    DocumentRevision,
    Nonconformity,
    TrainingAttendance,
    TrainingNeed,
    TrainingSession,
)
from ..services import available_events, history_of
from ..services.attachments import UPLOAD_ROLES, attach, attachments_of
from ..services.competence import MANAGE_ROLES, can_view_person
from ..services.training import (
    MATERIAL_STATES,
    cancel_need,
    invite,
    plan_training,
    raise_need,
    record_attendance,
    record_evaluation,
    sessions_query,
)
from .events import EventFormState, add_record_routes, lifecycle_diagram
from .forms import user_choices
from .paging import register_page

bp = Blueprint("training", __name__)
SESSION_FIELDS = (
    "title",
    "competence_id",
    "level",
    "planned_on",
    "trainer_id",
    "trainer_name",
    "location",
    "material_revision_id",
    "evaluation_method",
    "evaluation_after_days",
    "pass_mark",
    "notes",
)


def can_manage() -> bool:
    return current_user.has_role(*MANAGE_ROLES)


def _require_manager() -> None:
    if not can_manage():
        abort(403)


def _session_or_404(session_id: int) -> TrainingSession:
    return db.session.get(TrainingSession, session_id) or abort(404)


def _competences() -> list[tuple[int, str]]:
    return [
        (cid, name)
        for cid, name in db.session.execute(
            select(Competence.id, Competence.name).where(Competence.active.is_(True)).order_by(Competence.name)
        )
    ]


# --------------------------------------------------------------------------- sessions


@bp.route("/training")
@login_required
def index() -> str:
    lifecycle = get_lifecycle("training_session")
    state = request.args.get("state", "")
    state = state if state in {s.name for s in lifecycle.states} or state == "open" else ""
    query = sessions_query()
    if state == "open":
        query = query.where(TrainingSession.state.in_(TrainingSession.OPEN_STATES))
    elif state:
        query = query.where(TrainingSession.state == state)
    query = query.order_by(TrainingSession.planned_on.desc(), TrainingSession.id.desc())
    pagination = register_page(query)
    args = {"state": state} if state else {}
    return render_template(
        "training/list.html",
        pagination=pagination,
        lifecycle=lifecycle,
        args=args,
        levels=COMPETENCE_LEVELS,
        today=dt.date.today(),
        can_manage=can_manage(),
    )


def _render_new(errors: dict[str, str] | None = None, values: Any = None, status: int = 200) -> Any:
    values = values if values is not None else request.args
    competence_id = values.get("competence_id", "")
    needs_query = (
        select(TrainingNeed)
        .options(selectinload(TrainingNeed.user), selectinload(TrainingNeed.competence))
        .where(TrainingNeed.status == "open")
        .order_by(TrainingNeed.created_at, TrainingNeed.id)
    )
    if str(competence_id).isdigit():
        needs_query = needs_query.where(TrainingNeed.competence_id == int(competence_id))
    page = render_template(
        "training/new.html",
        errors=errors or {},
        values=values,
        competences=_competences(),
        levels=COMPETENCE_LEVELS,
        methods=EVALUATION_METHODS,
        people=user_choices(),
        revisions=[
            (r.id, f"{r.document.number} {r.document.title}, revision {r.label} ({r.state_label.lower()})")
            for r in db.session.scalars(
                select(DocumentRevision)
                .join(Document)
                .options(selectinload(DocumentRevision.document))
                .where(Document.obsolete.is_(False), DocumentRevision.state.in_(MATERIAL_STATES))
                .order_by(Document.number, DocumentRevision.id)
            )
        ],
        needs=list(db.session.scalars(needs_query.limit(200))),
    )
    return page, status


@bp.route("/training/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    _require_manager()
    if request.method == "GET":
        return _render_new()
    form = request.form
    data: dict[str, Any] = {name: form.get(name, "") for name in SESSION_FIELDS}
    data["external"] = form.get("external") == "1"
    data["invitee_ids"] = form.getlist("invitee_ids")
    data["need_ids"] = form.getlist("need_ids")
    if not data["evaluation_after_days"]:
        data["evaluation_after_days"] = 30
    try:
        training = plan_training(current_user, **data)
    except InvalidData as exc:
        return _render_new(exc.errors, form, 422)
    flash(f"{training.reference} planned for {training.planned_on}.")
    return redirect(url_for("training.detail", session_id=training.id))


def _render_detail(
    training: TrainingSession,
    failed: EventFormState | None = None,
    status: int = 200,
    *,
    errors: dict[str, str] | None = None,
) -> Any:
    page = render_template(
        "training/detail.html",
        training=training,
        events=available_events(training, current_user),
        failed=failed,
        history=(history := history_of(training)),
        diagram=lifecycle_diagram(training, history),
        attendance=list(
            db.session.scalars(
                select(TrainingAttendance)
                .options(selectinload(TrainingAttendance.user), selectinload(TrainingAttendance.evaluated_by))
                .where(TrainingAttendance.session_id == training.id)
                .order_by(TrainingAttendance.id)
            )
        ),
        attachments=attachments_of(training),
        levels=COMPETENCE_LEVELS,
        methods=EVALUATION_METHODS,
        people=user_choices(),
        errors=errors or {},
        can_manage=can_manage(),
        can_upload=current_user.has_role(*UPLOAD_ROLES),
        today=dt.date.today(),
        can_open_person=lambda user_id: can_view_person(current_user, user_id),
    )
    return page, status


add_record_routes(
    bp,
    "/training/<id:session_id>",
    load=lambda session_id: _session_or_404(session_id),
    render=_render_detail,
    url=lambda training: url_for("training.detail", session_id=training.id),
)


def _change(training: TrainingSession, change: Any, done: str, anchor: str) -> Any:
    try:
        change()
    except NotPermitted as exc:
        flash(exc.message)
        return _render_detail(training, status=403)
    except InvalidTransition as exc:
        flash(exc.message)
        return _render_detail(training, status=409)
    except InvalidData as exc:
        return _render_detail(training, status=422, errors=exc.errors)
    flash(done)
    return redirect(url_for("training.detail", session_id=training.id) + anchor)


@bp.route("/training/<id:session_id>/invite", methods=["POST"])
@login_required
def invite_page(session_id: int) -> Any:
    training = _session_or_404(session_id)
    _require_manager()
    ids = request.form.getlist("user_ids")
    return _change(training, lambda: invite(training, current_user, ids), "Invited.", "#attendance")


@bp.route("/training/<id:session_id>/attendance", methods=["POST"])
@login_required
def attendance(session_id: int) -> Any:
    training = _session_or_404(session_id)
    _require_manager()
    ids = request.form.getlist("attended")
    return _change(
        training, lambda: record_attendance(training, current_user, ids), "Attendance recorded.", "#attendance"
    )


@bp.route("/training/<id:session_id>/evaluations", methods=["POST"])
@login_required
def evaluation(session_id: int) -> Any:
    training = _session_or_404(session_id)
    _require_manager()
    form = request.form
    data: dict[str, Any] = {"user_id": form.get("user_id", ""), "note": form.get("note", "")}
    if training.evaluation_method == "test":
        data["score"] = form.get("score", "")
    else:
        data["effective"] = form.get("effective", "")
    return _change(
        training, lambda: record_evaluation(training, current_user, **data), "Evaluation recorded.", "#attendance"
    )


@bp.route("/training/<id:session_id>/attachments", methods=["POST"])
@login_required
def upload(session_id: int) -> Response:
    training = _session_or_404(session_id)
    if not current_user.has_role(*UPLOAD_ROLES):
        abort(403)
    file = request.files.get("file")
    back = url_for("training.detail", session_id=training.id) + "#certificates"
    if file is None or not file.filename:
        flash("Choose a file to attach.")
        return redirect(back)
    try:
        attachment = attach(training, current_user, file.stream, file.filename)
    except InvalidData as exc:
        flash("The file " + exc.errors.get("file", "was refused") + ".")
    else:
        flash(f"{attachment.filename} attached.")
    return redirect(back)


# --------------------------------------------------------------------------- needs


def _render_needs(errors: dict[str, str] | None = None, values: Any = None, status: int = 200) -> Any:
    status_filter = request.args.get("status", "open")
    status_filter = status_filter if status_filter in NEED_STATUSES or status_filter == "all" else "open"
    query = select(TrainingNeed).options(
        selectinload(TrainingNeed.user),
        selectinload(TrainingNeed.competence),
        selectinload(TrainingNeed.training_session),
        selectinload(TrainingNeed.nonconformity),
        selectinload(TrainingNeed.document_revision),
    )
    if status_filter == "open":
        query = query.where(TrainingNeed.status.in_(("open", "planned")))
    elif status_filter != "all":
        query = query.where(TrainingNeed.status == status_filter)
    query = query.order_by(TrainingNeed.created_at.desc(), TrainingNeed.id.desc())
    pagination = register_page(query)
    ncs = [
        (nc_id, f"{ref} {title}")
        for nc_id, ref, title in db.session.execute(
            select(Nonconformity.id, Nonconformity.reference, Nonconformity.title)
            .where(Nonconformity.root_cause != "", Nonconformity.state != "rejected")
            .order_by(Nonconformity.id.desc())
            .limit(100)
        )
    ]
    result = render_template(
        "training/needs.html",
        pagination=pagination,
        status_filter=status_filter,
        statuses=NEED_STATUSES,
        sources=NEED_SOURCES,
        levels=COMPETENCE_LEVELS,
        people=user_choices(),
        competences=_competences(),
        ncs=ncs,
        errors=errors or {},
        values=values or {},
        can_manage=can_manage(),
        today=dt.date.today(),
        can_open_person=lambda user_id: can_view_person(current_user, user_id),
    )
    return result, status


@bp.route("/training/needs", methods=["GET", "POST"])
@login_required
def needs() -> Any:
    if request.method == "GET":
        return _render_needs()
    _require_manager()
    form = request.form
    data = {
        name: form.get(name, "")
        for name in ("user_id", "competence_id", "level", "reason", "due_date", "nonconformity_id")
    }
    try:
        need = raise_need(current_user, **data)
    except InvalidData as exc:
        return _render_needs(exc.errors, form, 422)
    flash(f"Training need of {need.user.name} raised.")
    return redirect(url_for("training.needs"))


@bp.route("/training/needs/<id:need_id>/cancel", methods=["POST"])
@login_required
def cancel(need_id: int) -> Any:
    need = db.session.get(TrainingNeed, need_id) or abort(404)
    _require_manager()
    try:
        cancel_need(need, current_user, request.form.get("reason", ""))
    except InvalidData as exc:
        return _render_needs(exc.errors, request.form, 422)
    except InvalidTransition as exc:
        flash(exc.message)
        return _render_needs(status=409)
    flash("Training need cancelled.")
    return redirect(url_for("training.needs"))
