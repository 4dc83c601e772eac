"""/api/v1 training: sessions (``training_session`` lifecycle: planned → held → evaluated → closed, or
cancelled) with invitees, attendance, certificates and the evaluation of effectiveness; and training
needs (by hand, from an NC, from the matrix's gaps; a new document revision raises its own).

Everyone with a token reads them; administrators, managers and quality officers plan, record and
evaluate (a manager's sign-off needs a manager).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import url_for
from marshmallow import RAISE
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..models import DocumentRevision, TrainingAttendance, TrainingNeed, TrainingSession
from ..services.competence import MANAGE_ROLES
from ..services.training import (
    cancel_need,
    invite,
    plan_training,
    raise_need,
    raise_needs_from_gaps,
    record_attendance,
    record_evaluation,
)
from .attachments import add_attachment_routes
from .auth import api_user, require_roles
from .blueprint import ID, ApiBlueprint
from .schemas.training import (
    AttendancePutSchema,
    CancelSchema,
    NeedCreateSchema,
    NeedPageSchema,
    NeedQuerySchema,
    NeedSchema,
    PeopleSchema,
    TrainingEvaluationCreateSchema,
    TrainingSessionCreateSchema,
    TrainingSessionPageSchema,
    TrainingSessionQuerySchema,
    TrainingSessionSchema,
)
from .workflow import ETAG_HEADER, Presented, add_workflow_routes, etag, get_or_404, paginate, present

blp = ApiBlueprint(
    "api_training",
    __name__,
    tag="Training",
    description=(
        "Training (ISO 9001 7.2): sessions planned, held (attendance, trainer, material from document control, "
        "certificates), evaluated for effectiveness after a set period (test score, observation or manager "
        "sign-off) and closed; training needs from gaps, new document revisions, nonconformities or by hand."
    ),
)
MANAGE_MESSAGE = "Requires the role admin, manager or quality officer to plan and record training"
LOAD = (
    selectinload(TrainingSession.competence),
    selectinload(TrainingSession.trainer),
    selectinload(TrainingSession.attendance).selectinload(TrainingAttendance.user),
    selectinload(TrainingSession.attendance).selectinload(TrainingAttendance.evaluated_by),
    selectinload(TrainingSession.material_revision).selectinload(DocumentRevision.document),
)
NEED_LOAD = (selectinload(TrainingNeed.user), selectinload(TrainingNeed.competence))


def load(session_id: int) -> TrainingSession:
    return get_or_404(TrainingSession, session_id, options=LOAD, label="training session")


def extras(training: TrainingSession) -> dict[str, Any]:
    base = "api_training."
    return {
        "competence_name": training.competence.name,
        "material_reference": (
            training.material_revision.reference if training.material_revision is not None else None
        ),
        "links": {
            "self": url_for(base + "get_training_session", session_id=training.id),
            "history": url_for(base + "training_session_history", session_id=training.id),
            "events": url_for(base + "training_session_events", session_id=training.id),
            "attachments": url_for(base + "list_attachments", session_id=training.id),
        },
    }


def _one(training: TrainingSession) -> Any:
    training = load(training.id)
    return present([training], extras)[0], 200, etag(training)


def _present_needs(needs: list[TrainingNeed]) -> list[Presented]:
    today = dt.date.today()
    return [Presented(n, competence_name=n.competence.name, overdue=n.is_overdue(today)) for n in needs]


# --------------------------------------------------------------------------- sessions


@blp.route("/training-sessions", methods=["GET"])
@blp.arguments(TrainingSessionQuerySchema, location="query", unknown=RAISE)
@blp.response(200, TrainingSessionPageSchema)
def list_sessions(args: dict[str, Any]) -> dict[str, Any]:
    """Training sessions, latest first, filtered by state or competence"""
    stmt = select(TrainingSession)
    state = args.get("state")
    if state == "open":
        stmt = stmt.where(TrainingSession.state.in_(TrainingSession.OPEN_STATES))
    elif state is not None:
        stmt = stmt.where(TrainingSession.state == state)
    if "competence_id" in args:
        stmt = stmt.where(TrainingSession.competence_id == args["competence_id"])
    stmt = stmt.order_by(TrainingSession.planned_on.desc(), TrainingSession.id.desc())
    items, page = paginate(stmt, args, options=LOAD)
    return {**page, "items": present(items, extras)}


@blp.route("/training-sessions", methods=["POST"])
@require_roles(MANAGE_ROLES, MANAGE_MESSAGE)
@blp.arguments(TrainingSessionCreateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, TrainingSessionSchema, headers=ETAG_HEADER)
def create(body: dict[str, Any]) -> Any:
    """Plan a training session (it starts as planned)

    Name a colleague (`trainer_id`) or an external trainer (`trainer_name`). `need_ids` link open needs
    (their people are invited and the needs become planned); `invitee_ids` invite others. The
    effectiveness is evaluated `evaluation_after_days` after the session is held; a test needs a
    `pass_mark`.
    """
    training = plan_training(api_user(), **body)
    presented, _, tag = _one(training)
    return presented, 201, {"Location": url_for("api_training.get_training_session", session_id=training.id), **tag}


@blp.route(f"/training-sessions/<{ID}:session_id>/invitees", methods=["POST"])
@require_roles(MANAGE_ROLES, MANAGE_MESSAGE)
@blp.arguments(PeopleSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, TrainingSessionSchema, headers=ETAG_HEADER)
def post_invitees(body: dict[str, Any], session_id: int) -> Any:
    """Invite people to a planned session (409 once held)"""
    return _one(invite(load(session_id), api_user(), body["user_ids"]))


@blp.route(f"/training-sessions/<{ID}:session_id>/attendance", methods=["PUT"])
@require_roles(MANAGE_ROLES, MANAGE_MESSAGE)
@blp.arguments(AttendancePutSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, TrainingSessionSchema, headers=ETAG_HEADER)
def put_attendance(body: dict[str, Any], session_id: int) -> Any:
    """Record who attended (every other invitee did not); while planned or held (409 after)"""
    return _one(record_attendance(load(session_id), api_user(), body["attended"]))


@blp.route(f"/training-sessions/<{ID}:session_id>/evaluations", methods=["POST"])
@require_roles(MANAGE_ROLES, MANAGE_MESSAGE)
@blp.arguments(TrainingEvaluationCreateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, TrainingSessionSchema, headers=ETAG_HEADER)
def post_evaluation(body: dict[str, Any], session_id: int) -> Any:
    """Record one attendee's evaluation of effectiveness, once the session is held

    A test needs `score` (effective at or above the pass mark); an observation or a manager's
    sign-off needs `effective` and a `note` (a sign-off is a manager's: 403 for others). Then fire
    `evaluate` once the evaluation period is over.
    """
    training = load(session_id)
    record_evaluation(training, api_user(), **body)
    return _one(training)


add_workflow_routes(
    blp,
    model=TrainingSession,
    collection="training-sessions",
    key="session_id",
    name="training_session",
    schema=TrainingSessionSchema,
    load=load,
    extras=extras,
)
add_attachment_routes(blp, collection="training-sessions", key="session_id", label="training session", load=load)


# --------------------------------------------------------------------------- needs


@blp.route("/training-needs", methods=["GET"])
@blp.arguments(NeedQuerySchema, location="query", unknown=RAISE)
@blp.response(200, NeedPageSchema)
def list_needs(args: dict[str, Any]) -> dict[str, Any]:
    """Training needs, newest first, filtered by status (`open_or_planned`: still to meet) or person"""
    stmt = select(TrainingNeed)
    status = args.get("status")
    if status == "open_or_planned":
        stmt = stmt.where(TrainingNeed.status.in_(("open", "planned")))
    elif status is not None:
        stmt = stmt.where(TrainingNeed.status == status)
    if "user_id" in args:
        stmt = stmt.where(TrainingNeed.user_id == args["user_id"])
    stmt = stmt.order_by(TrainingNeed.created_at.desc(), TrainingNeed.id.desc())
    items, page = paginate(stmt, args, options=NEED_LOAD)
    return {**page, "items": _present_needs(items)}


@blp.route("/training-needs", methods=["POST"])
@require_roles(MANAGE_ROLES, MANAGE_MESSAGE)
@blp.arguments(NeedCreateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, NeedSchema)
def create_need(body: dict[str, Any]) -> Any:
    """Raise a training need by hand, or from a nonconformity whose root cause is competence"""
    need = raise_need(api_user(), **body)
    need = get_or_404(TrainingNeed, need.id, options=NEED_LOAD, label="training need")
    return _present_needs([need])[0], 201


@blp.route("/training-needs/from-gaps", methods=["POST"])
@require_roles(MANAGE_ROLES, MANAGE_MESSAGE)
@blp.response(201, NeedSchema(many=True))
def needs_from_gaps() -> Any:
    """Raise a need for every gap or expired competence of the matrix that has none open (the new ones)"""
    created = raise_needs_from_gaps(api_user())
    ids = [n.id for n in created]
    if not ids:
        return [], 201
    from ..database import db, id_in

    needs = list(
        db.session.scalars(
            select(TrainingNeed).options(*NEED_LOAD).where(id_in(TrainingNeed.id, ids)).order_by(TrainingNeed.id)
        )
    )
    return _present_needs(needs), 201


@blp.route(f"/training-needs/<{ID}:need_id>/cancel", methods=["POST"])
@require_roles(MANAGE_ROLES, MANAGE_MESSAGE)
@blp.arguments(CancelSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, NeedSchema)
def cancel(body: dict[str, Any], need_id: int) -> Any:
    """Cancel an open or planned need, with the reason (409 otherwise)"""
    need = get_or_404(TrainingNeed, need_id, options=NEED_LOAD, label="training need")
    return _present_needs([cancel_need(need, api_user(), body["reason"])])[0]
