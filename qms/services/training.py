"""Training (ISO 9001 7.2): needs, and sessions planned → held → evaluated for effectiveness → closed.

Needs are raised from the matrix's gaps, from a new document revision (for people who need more than
awareness of it: reading it is not enough), from a nonconformity whose root cause is competence, or
by hand. A session is planned for invitees (their needs become planned), attendance is recorded,
certificates are attached as evidence files, and after the evaluation period each attendee is
evaluated (test score against the pass mark, an observation, or the manager's sign-off). Evaluating
the session records the competence of those found effective and meets their needs; the others'
needs open again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from workflows import FireResult
from workflows.errors import InvalidData, InvalidTransition, NotPermitted

from ..database import db, id_in, utcnow
from ..models import (
    EVALUATION_METHODS,
    IN_FORCE_STATES,
    LEVEL_RANK,
    Actor,
    Competence,
    CompetenceRecord,
    CompetenceRequirement,
    Document,
    DocumentRevision,
    Nonconformity,
    TrainingAttendance,
    TrainingNeed,
    TrainingSession,
    User,
)
from .audit_trail import recorded_change
from .competence import MANAGE_ROLES, _clean_int, _clean_level, expiry_for, matrix, meet_needs
from .references import next_reference
from .validation import clean_date, clean_text, require_roles, row_by_id
from .workflow import as_actor, effect, facts_provider

MAX_INVITEES = 500
#: an NC whose root cause is recorded can raise training needs (its root cause is competence)
NC_WITH_CAUSE_STATES = ("root_cause_identified", "action_planned", "actions_completed", "closed")
#: how long after a new revision the training it needs is due
REVISION_TRAINING_DAYS = 30


def _active_user(errors: dict[str, str], name: str, value: Any) -> User | None:
    user = row_by_id(User, value)
    if user is None or not user.active:
        errors[name] = "must be the id of an active user"
        return None
    return user


def _has_open_need(session: Session, user_id: int, competence_id: int) -> bool:
    return (
        session.scalar(
            select(TrainingNeed.id).where(
                TrainingNeed.user_id == user_id,
                TrainingNeed.competence_id == competence_id,
                TrainingNeed.status.in_(("open", "planned")),
            )
        )
        is not None
    )


# --------------------------------------------------------------------------- needs


def raise_need(actor: User | Actor, **data: Any) -> TrainingNeed:
    """A training need raised by hand, or from a nonconformity (``nonconformity_id``) whose cause is competence."""
    actor = as_actor(actor)
    require_roles(actor, MANAGE_ROLES, "raise training needs")
    allowed = {"user_id", "competence_id", "level", "reason", "due_date", "nonconformity_id"}
    errors: dict[str, str] = {name: "is not a field of a training need" for name in sorted(set(data) - allowed)}
    user = _active_user(errors, "user_id", data.get("user_id"))
    competence = row_by_id(Competence, data.get("competence_id"))
    if competence is None:
        errors["competence_id"] = "must be the id of a competence"
    level = _clean_level(errors, "level", data.get("level"))
    reason = clean_text(errors, "reason", data.get("reason"), required=False, limit=5000)
    due = clean_date(errors, "due_date", data.get("due_date"), required=False)
    nc = None
    if data.get("nonconformity_id") not in (None, "", 0):
        nc = row_by_id(Nonconformity, data.get("nonconformity_id"))
        if nc is None:
            errors["nonconformity_id"] = "must be the id of a nonconformity"
        elif nc.state not in NC_WITH_CAUSE_STATES or not nc.root_cause:
            errors["nonconformity_id"] = "the nonconformity's root cause must be recorded first"
    if errors:
        raise InvalidData(errors)
    assert user is not None and competence is not None and level is not None
    source = "nonconformity" if nc is not None else "manual"
    if nc is not None and not reason:
        reason = f"{nc.reference}: {nc.root_cause}"[:5000]
    with recorded_change(actor, f"training need of {user.name} raised") as session:
        need = TrainingNeed(
            user_id=user.id,
            competence_id=competence.id,
            level=level,
            source=source,
            reason=reason,
            due_date=due,
            nonconformity_id=nc.id if nc else None,
            raised_by_id=actor.id,
        )
        session.add(need)
    return need


def raise_needs_from_gaps(actor: User | Actor, today: dt.date | None = None) -> list[TrainingNeed]:
    """A need for every gap (or expired competence) of the matrix that has no open or planned need yet."""
    actor = as_actor(actor)
    require_roles(actor, MANAGE_ROLES, "raise training needs")
    today = today or dt.date.today()
    found = matrix(today=today)
    open_pairs = set(
        db.session.execute(
            select(TrainingNeed.user_id, TrainingNeed.competence_id).where(TrainingNeed.status.in_(("open", "planned")))
        ).all()
    )
    created = []
    with recorded_change(actor, "training needs raised from the competence gaps") as session:
        for person in found.people:
            for competence_id, cell in person.cells.items():
                if cell.status not in ("gap", "expired") or cell.required is None:
                    continue
                if (person.user.id, competence_id) in open_pairs:
                    continue
                need = TrainingNeed(
                    user_id=person.user.id,
                    competence_id=competence_id,
                    level=cell.required,
                    source="gap",
                    reason="Required: " + "; ".join(cell.reasons) if cell.reasons else "Required",
                    raised_by_id=actor.id,
                )
                session.add(need)
                created.append(need)
    return created


def cancel_need(need: TrainingNeed, actor: User | Actor, reason: Any = "") -> TrainingNeed:
    actor = as_actor(actor)
    require_roles(actor, MANAGE_ROLES, "cancel training needs")
    errors: dict[str, str] = {}
    text = clean_text(errors, "reason", reason, limit=5000)
    if errors:
        raise InvalidData(errors)
    if need.status not in ("open", "planned"):
        raise InvalidTransition("Only an open or planned need can be cancelled")
    with recorded_change(actor, "training need cancelled"):
        need.status = "cancelled"
        need.reason = (need.reason + "\n" if need.reason else "") + f"Cancelled: {text}"
        need.closed_at = utcnow()
    return need


@effect("document", "make_effective")
def _revision_needs_training(revision: DocumentRevision, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    """A new revision in force: people who need more than awareness of the document need training on it."""
    session = db.session()
    with session.no_autoflush:
        _raise_revision_needs(session, revision, result, actor)


def _raise_revision_needs(session: Session, revision: DocumentRevision, result: FireResult, actor: Actor) -> None:
    from .competence import _distributions

    requirements = session.scalars(
        select(CompetenceRequirement).where(
            CompetenceRequirement.scope == "document",
            CompetenceRequirement.target_id == revision.document_id,
            CompetenceRequirement.level != "aware",
        )
    ).all()
    if not requirements:
        return
    people = _distributions({revision.document_id}).get(revision.document_id, set())
    if not people:
        return
    active = set(session.scalars(select(User.id).where(id_in(User.id, list(people)), User.active.is_(True))))
    due = result.data["effective_date"] + dt.timedelta(days=REVISION_TRAINING_DAYS)
    for requirement in requirements:
        for user_id in sorted(active):
            if _has_open_need(session, user_id, requirement.competence_id):
                continue
            session.add(
                TrainingNeed(
                    user_id=user_id,
                    competence_id=requirement.competence_id,
                    level=requirement.level,
                    source="document_revision",
                    reason=f"{revision.document.number} revision {revision.label} is in force",
                    due_date=due,
                    document_revision_id=revision.id,
                    raised_by_id=actor.id,
                )
            )


# --------------------------------------------------------------------------- sessions


#: the revisions a session can use as material: approved (training before it takes effect) or in force
MATERIAL_STATES = ("approved", *IN_FORCE_STATES)


def _material(
    errors: dict[str, str], document_id: Any, revision_id: Any
) -> tuple[Document | None, DocumentRevision | None]:
    """The material from document control: a revision (``material_revision_id``), or a document whose
    revision in force is taken (``material_document_id``); both may be given if they agree."""
    document = revision = None
    if revision_id not in (None, "", 0):
        revision = row_by_id(DocumentRevision, revision_id)
        if revision is None or revision.state not in MATERIAL_STATES or revision.document.obsolete:
            errors["material_revision_id"] = "must be the id of a document revision that is approved or in force"
            revision = None
        else:
            document = revision.document
    if document_id not in (None, "", 0):
        given = row_by_id(Document, document_id)
        if given is None or given.obsolete:
            errors["material_document_id"] = "must be the id of a controlled document in use"
        elif revision is not None and revision.document_id != given.id:
            errors["material_revision_id"] = "is a revision of another document than the one given"
        elif revision is None and "material_revision_id" not in errors:
            revision = given.current_revision
            if revision is None:
                errors["material_document_id"] = "has no revision in force; choose an approved revision instead"
            document = given
    return document, revision


def plan_training(actor: User | Actor, **data: Any) -> TrainingSession:
    """Plan a session: competence and level, date, trainer, material from document control, invitees and needs.

    The material is one revision of a controlled document (``material_revision_id``, or the revision in
    force of ``material_document_id``), so the record shows what the attendees were trained on.

    ``need_ids`` link open needs (their people are invited, the needs become planned);
    ``invitee_ids`` invites others. The evaluation comes ``evaluation_after_days`` after it is held.
    """
    actor = as_actor(actor)
    require_roles(actor, MANAGE_ROLES, "plan training")
    allowed = {
        "title",
        "competence_id",
        "level",
        "planned_on",
        "trainer_id",
        "trainer_name",
        "external",
        "location",
        "material_document_id",
        "material_revision_id",
        "evaluation_method",
        "evaluation_after_days",
        "pass_mark",
        "notes",
        "invitee_ids",
        "need_ids",
    }
    errors: dict[str, str] = {name: "is not a field of a training session" for name in sorted(set(data) - allowed)}
    title = clean_text(errors, "title", data.get("title"), limit=200)
    competence = row_by_id(Competence, data.get("competence_id"))
    if competence is None:
        errors["competence_id"] = "must be the id of a competence"
    level = _clean_level(errors, "level", data.get("level"))
    planned_on = clean_date(errors, "planned_on", data.get("planned_on"))
    trainer = None
    if data.get("trainer_id") not in (None, "", 0):
        trainer = _active_user(errors, "trainer_id", data.get("trainer_id"))
    trainer_name = clean_text(errors, "trainer_name", data.get("trainer_name"), required=False, limit=200)
    if trainer is None and not trainer_name and "trainer_id" not in errors:
        errors["trainer_name"] = "name the trainer (a colleague or an external trainer)"
    external = data.get("external", False)
    if not isinstance(external, bool):
        errors["external"] = "must be true or false"
        external = False
    location = clean_text(errors, "location", data.get("location"), required=False, limit=200)
    material, revision = _material(errors, data.get("material_document_id"), data.get("material_revision_id"))
    method = data.get("evaluation_method") or "test"
    if method not in EVALUATION_METHODS:
        errors["evaluation_method"] = "must be one of: " + ", ".join(EVALUATION_METHODS)
    after = _clean_int(errors, "evaluation_after_days", data.get("evaluation_after_days", 30), 0, 365, required=True)
    pass_mark = _clean_int(errors, "pass_mark", data.get("pass_mark"), 0, 100)
    if method == "test" and pass_mark is None and "pass_mark" not in errors:
        errors["pass_mark"] = "is required when the effectiveness is evaluated by a test"  # noqa: S105
    notes = clean_text(errors, "notes", data.get("notes"), required=False, limit=10_000)
    invitees: dict[int, User] = {}
    raw_invitees = data.get("invitee_ids") or []
    if not isinstance(raw_invitees, list | tuple) or len(raw_invitees) > MAX_INVITEES:
        errors["invitee_ids"] = f"must be a list of at most {MAX_INVITEES} user ids"
        raw_invitees = []
    for index, value in enumerate(raw_invitees):
        user = row_by_id(User, value)
        if user is None or not user.active:
            errors[f"invitee_ids[{index}]"] = "must be the id of an active user"
        else:
            invitees[user.id] = user
    needs: list[TrainingNeed] = []
    raw_needs = data.get("need_ids") or []
    if not isinstance(raw_needs, list | tuple) or len(raw_needs) > MAX_INVITEES:
        errors["need_ids"] = f"must be a list of at most {MAX_INVITEES} training need ids"
        raw_needs = []
    for index, value in enumerate(raw_needs):
        need = row_by_id(TrainingNeed, value)
        if need is None or need.status != "open":
            errors[f"need_ids[{index}]"] = "must be the id of an open training need"
        elif competence is not None and need.competence_id != competence.id:
            errors[f"need_ids[{index}]"] = "is a need of another competence"
        elif level is not None and LEVEL_RANK[need.level] > LEVEL_RANK[level]:
            errors[f"need_ids[{index}]"] = "needs a higher level than this session gives"
        else:
            needs.append(need)
    if not invitees and not needs and "invitee_ids" not in errors:
        errors["invitee_ids"] = "invite at least one person (or link a training need)"
    if errors:
        raise InvalidData(errors)
    assert competence is not None and planned_on is not None and level is not None and after is not None
    with recorded_change(actor, "training planned") as session:
        training = TrainingSession(
            reference=next_reference(session, "TRN", planned_on.year),
            title=title,
            competence_id=competence.id,
            level=level,
            planned_on=planned_on,
            trainer_id=trainer.id if trainer else None,
            trainer_name=trainer_name,
            external=external,
            location=location,
            material_document_id=material.id if material else None,
            material_revision_id=revision.id if revision else None,
            evaluation_method=method,
            evaluation_after_days=after,
            pass_mark=pass_mark,
            notes=notes,
            created_by_id=actor.id,
        )
        session.add(training)
        people = dict(invitees)
        for need in needs:
            people.setdefault(need.user_id, need.user)
        for user_id in sorted(people):
            training.attendance.append(TrainingAttendance(user_id=user_id))
        session.flush()
        for need in needs:
            need.status = "planned"
            need.training_session_id = training.id
    return training


def invite(training: TrainingSession, actor: User | Actor, user_ids: Iterable[Any]) -> TrainingSession:
    """Add people to a planned session."""
    actor = as_actor(actor)
    require_roles(actor, MANAGE_ROLES, "invite people to training")
    if training.state != "planned":
        raise InvalidTransition("People are invited while the session is planned")
    errors: dict[str, str] = {}
    current = {a.user_id for a in training.attendance}
    added = []
    for index, value in enumerate(list(user_ids)[: MAX_INVITEES + 1]):
        user = row_by_id(User, value)
        if user is None or not user.active:
            errors[f"user_ids[{index}]"] = "must be the id of an active user"
        elif user.id not in current:
            current.add(user.id)
            added.append(user.id)
    if len(current) > MAX_INVITEES:
        errors["user_ids"] = f"a session has at most {MAX_INVITEES} invitees"
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, f"people invited to {training.reference}"):
        for user_id in added:
            training.attendance.append(TrainingAttendance(user_id=user_id))
    return training


def record_attendance(training: TrainingSession, actor: User | Actor, attended_ids: Iterable[Any]) -> TrainingSession:
    """Who attended (the other invitees did not); while planned or held."""
    actor = as_actor(actor)
    require_roles(actor, MANAGE_ROLES, "record attendance")
    if training.state not in ("planned", "held"):
        raise InvalidTransition(f"Attendance cannot change once the session is {training.state_label.lower()}")
    errors: dict[str, str] = {}
    invited = {a.user_id: a for a in training.attendance}
    present: set[int] = set()
    values = list(attended_ids)
    if len(values) > MAX_INVITEES:
        raise InvalidData({"attended": f"at most {MAX_INVITEES} people"})
    for index, value in enumerate(values):
        user = row_by_id(User, value)
        if user is None or user.id not in invited:
            errors[f"attended[{index}]"] = "must be the id of someone invited to this session"
        else:
            present.add(user.id)
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, f"attendance of {training.reference} recorded"):
        for user_id, row in invited.items():
            row.attended = user_id in present
            if not row.attended:
                row.score, row.effective, row.evaluation_note = None, None, ""
                row.evaluated_by_id, row.evaluated_at = None, None
    return training


def record_evaluation(training: TrainingSession, actor: User | Actor, **data: Any) -> TrainingAttendance:
    """One attendee's evaluation: a test score (effective at or above the pass mark), an observation
    or a manager's sign-off (``effective`` with a note). Allowed once the session is held."""
    actor = as_actor(actor)
    require_roles(actor, MANAGE_ROLES, "evaluate training")
    if training.state != "held":
        raise InvalidTransition("Attendees are evaluated once the session is held, before it is evaluated")
    allowed = {"user_id", "score", "effective", "note"}
    errors: dict[str, str] = {name: "is not a field of an evaluation" for name in sorted(set(data) - allowed)}
    row = None
    user = row_by_id(User, data.get("user_id"))
    if user is not None:
        row = next((a for a in training.attendance if a.user_id == user.id and a.attended), None)
    if row is None:
        errors["user_id"] = "must be the id of someone who attended this session"
    note = clean_text(errors, "note", data.get("note"), required=training.evaluation_method != "test", limit=5000)
    score = None
    effective = data.get("effective")
    if training.evaluation_method == "test":
        score = _clean_int(errors, "score", data.get("score"), 0, 100, required=True)
        if score is not None and training.pass_mark is not None:
            effective = score >= training.pass_mark
    else:
        if isinstance(effective, str) and effective in ("true", "false", "yes", "no"):
            effective = effective in ("true", "yes")
        if not isinstance(effective, bool):
            errors["effective"] = "say whether the training was effective (true or false)"
        if data.get("score") not in (None, ""):
            errors["score"] = "is only given when the effectiveness is evaluated by a test"
    if training.evaluation_method == "manager_signoff" and "manager" not in actor.roles:
        raise NotPermitted("This session is evaluated by a manager's sign-off: a manager must record it")
    if errors:
        raise InvalidData(errors)
    assert row is not None
    with recorded_change(actor, f"evaluation in {training.reference} recorded"):
        row.score = score
        row.effective = bool(effective)
        row.evaluation_note = note
        row.evaluated_by_id = actor.id
        row.evaluated_at = utcnow()
    return row


def sessions_query() -> Any:
    return select(TrainingSession).options(
        selectinload(TrainingSession.competence),
        selectinload(TrainingSession.trainer),
        selectinload(TrainingSession.attendance),
    )


# --------------------------------------------------------------------------- lifecycle effects and facts


@effect("training_session", "hold")
def _held(training: TrainingSession, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    day = result.data["held_on"]
    if day > now.date():
        raise InvalidData({"held_on": "cannot be in the future"})
    training.held_on = day
    training.evaluation_due = day + dt.timedelta(days=training.evaluation_after_days)
    absent = {a.user_id for a in training.attendance if not a.attended}
    for need in db.session.scalars(select(TrainingNeed).where(TrainingNeed.training_session_id == training.id)):
        if need.user_id in absent:
            need.status, need.training_session_id = "open", None


@effect("training_session", "evaluate")
def _evaluated(training: TrainingSession, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    day = result.data["evaluated_on"]
    if day > now.date():
        raise InvalidData({"evaluated_on": "cannot be in the future"})
    if training.held_on is not None and day < training.held_on:
        raise InvalidData({"evaluated_on": "cannot be before the session was held"})
    training.evaluated_on = day
    session = db.session()
    competence = training.competence
    for row in training.attendance:
        if not row.attended:
            continue
        if row.effective:
            achieved = training.held_on or day
            session.add(
                CompetenceRecord(
                    user_id=row.user_id,
                    competence_id=training.competence_id,
                    level=training.level,
                    source="training",
                    title=training.title,
                    provider=training.trainer_label,
                    evidence=_evidence(training, row),
                    achieved_on=achieved,
                    expires_on=expiry_for(competence, achieved),
                    training_session_id=training.id,
                    recorded_by_id=actor.id,
                )
            )
            meet_needs(session, row.user_id, training.competence_id, training.level, now_closed=True)
        else:
            for need in session.scalars(
                select(TrainingNeed).where(
                    TrainingNeed.training_session_id == training.id, TrainingNeed.user_id == row.user_id
                )
            ):
                need.status, need.training_session_id = "open", None


def _evidence(training: TrainingSession, row: TrainingAttendance) -> str:
    method = EVALUATION_METHODS[training.evaluation_method].lower()
    detail = f"score {row.score} (pass mark {training.pass_mark})" if row.score is not None else row.evaluation_note
    return f"{training.reference} {training.title}: held {training.held_on}, effective by {method}: {detail}"[:5000]


@effect("training_session", "close")
def _closed(training: TrainingSession, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    training.closed_at = now


@effect("training_session", "cancel")
def _cancelled(training: TrainingSession, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    training.cancel_reason = result.data["reason"]
    training.closed_at = now
    for need in db.session.scalars(select(TrainingNeed).where(TrainingNeed.training_session_id == training.id)):
        need.status, need.training_session_id = "open", None


@facts_provider("training_session", provides=("attendees", "unevaluated", "evaluation_due"))
def _training_facts(session: Session, sessions: Sequence[TrainingSession]) -> dict[int, dict[str, Any]]:
    ids = [s.id for s in sessions]
    attendees = dict(
        session.execute(
            select(TrainingAttendance.session_id, func.count())
            .where(id_in(TrainingAttendance.session_id, ids), TrainingAttendance.attended.is_(True))
            .group_by(TrainingAttendance.session_id)
        ).all()
    )
    unevaluated = dict(
        session.execute(
            select(TrainingAttendance.session_id, func.count())
            .where(
                id_in(TrainingAttendance.session_id, ids),
                TrainingAttendance.attended.is_(True),
                TrainingAttendance.effective.is_(None),
            )
            .group_by(TrainingAttendance.session_id)
        ).all()
    )
    return {
        s.id: {
            "attendees": attendees.get(s.id, 0),
            "unevaluated": unevaluated.get(s.id, 0),
            "evaluation_due": s.evaluation_due,
        }
        for s in sessions
    }


# --------------------------------------------------------------------------- figures for the rest


def effectiveness(start: dt.date, end: dt.date) -> dict[str, Any]:
    """Training effectiveness in a period (sessions evaluated between ``start`` and ``end``): the review's input."""
    sessions = list(
        db.session.scalars(
            sessions_query().where(
                TrainingSession.evaluated_on.is_not(None),
                TrainingSession.evaluated_on >= start,
                TrainingSession.evaluated_on <= end,
            )
        )
    )
    evaluated = [a for s in sessions for a in s.attendance if a.attended and a.effective is not None]
    effective = sum(1 for a in evaluated if a.effective)
    held = db.session.scalar(
        select(func.count())
        .select_from(TrainingSession)
        .where(TrainingSession.held_on.is_not(None), TrainingSession.held_on >= start, TrainingSession.held_on <= end)
    )
    open_needs = db.session.scalar(
        select(func.count()).select_from(TrainingNeed).where(TrainingNeed.status.in_(("open", "planned")))
    )
    return {
        "sessions_held": held or 0,
        "sessions_evaluated": len(sessions),
        "attendees_evaluated": len(evaluated),
        "attendees_effective": effective,
        "effective_rate": effective / len(evaluated) if evaluated else None,
        "open_needs": open_needs or 0,
        "sessions": [
            {
                "reference": s.reference,
                "title": s.title,
                "competence": s.competence.name,
                "evaluated_on": s.evaluated_on,
                "evaluated": sum(1 for a in s.attendance if a.attended and a.effective is not None),
                "effective": sum(1 for a in s.attendance if a.attended and a.effective),
            }
            for s in sessions
        ],
    }


# --------------------------------------------------------------------------- My work and the digest


def _sessions_to_run(actor: Actor) -> Any:
    mine = (TrainingSession.created_by_id == actor.id) | (TrainingSession.trainer_id == actor.id)
    return TrainingSession.state.in_(("planned", "held", "evaluated")) & mine


def training_work_conditions(actor: Actor, today: dt.date, part: str) -> list[Any]:
    """SQL conditions, one of which holds whenever ``training_work`` finds something in ``part`` (My work
    asks them first)."""
    from .competence import expiry_warning_days

    if actor.id is None:
        return []
    if part == "sessions":
        invited = select(TrainingAttendance.session_id).where(TrainingAttendance.user_id == actor.id)
        return [_sessions_to_run(actor), (TrainingSession.state == "planned") & TrainingSession.id.in_(invited)]
    if part == "needs":
        return [(TrainingNeed.user_id == actor.id) & (TrainingNeed.status == "open")]
    horizon = today + dt.timedelta(days=expiry_warning_days())
    return [
        (CompetenceRecord.user_id == actor.id)
        & CompetenceRecord.competence_id.is_not(None)
        & (CompetenceRecord.expires_on <= horizon)
    ]


#: the parts of training work, in the order My work lists them: sessions (kind "training"), then the
#: user's open needs and expiring competences (kind "competence")
TRAINING_WORK_PARTS = ("sessions", "needs", "competences")


def training_work(actor: Actor, today: dt.date, parts: Sequence[str] = TRAINING_WORK_PARTS) -> list[Any]:
    """Training work: sessions the user planned or trains (hold them; evaluate when due), sessions the user
    is invited to, their own open training needs and their competences expiring soon (or lapsed)."""
    from .my_work import WorkItem

    items: list[WorkItem] = []
    if actor.id is None:
        return items
    if "sessions" in parts:
        items += _session_work(actor, today)
    if "needs" in parts:
        items += _need_work(actor, today)
    if "competences" in parts:
        items += _expiring_work(actor, today)
    return items


def _session_work(actor: Actor, today: dt.date) -> list[Any]:
    from .my_work import WorkItem

    items: list[WorkItem] = []
    invited_to = select(TrainingAttendance.session_id).where(TrainingAttendance.user_id == actor.id)
    found = db.session.scalars(
        select(TrainingSession)
        .where(_sessions_to_run(actor) | ((TrainingSession.state == "planned") & TrainingSession.id.in_(invited_to)))
        .order_by(TrainingSession.id)
    ).all()
    sessions = [s for s in found if actor.id in (s.created_by_id, s.trainer_id)]
    for s in sessions:
        if s.state == "planned":
            actions, due = ["Record attendance and hold"], s.planned_on
        elif s.state == "held":
            actions, due = ["Evaluate effectiveness"], s.evaluation_due
        else:
            actions, due = ["Close"], None
        items.append(
            WorkItem("training", s.id, s.reference, s.title, s.state_label, actions, due, bool(due and due < today))
        )
    for s in found:  # invited to a planned session (and neither planned it nor trains it)
        if actor.id not in (s.created_by_id, s.trainer_id):
            items.append(
                WorkItem(
                    "training", s.id, s.reference, s.title, "Invited", ["Attend the training"], s.planned_on, False
                )
            )
    return items


def _need_work(actor: Actor, today: dt.date) -> list[Any]:
    from .my_work import WorkItem

    items: list[WorkItem] = []
    needs = db.session.scalars(
        select(TrainingNeed)
        .options(joinedload(TrainingNeed.competence))
        .where(TrainingNeed.user_id == actor.id, TrainingNeed.status == "open")
        .order_by(TrainingNeed.id)
    ).all()
    for need in needs:
        items.append(
            WorkItem(
                "competence",
                actor.id,
                f"Training need: {need.competence.name}",
                need.reason or "Training needed",
                "Open",
                ["Take the training"],
                need.due_date,
                need.is_overdue(today),
            )
        )
    return items


def _expiring_work(actor: Actor, today: dt.date) -> list[Any]:
    from .competence import expiry_warning_days
    from .my_work import WorkItem

    items: list[WorkItem] = []
    horizon = today + dt.timedelta(days=expiry_warning_days())
    records = db.session.scalars(
        select(CompetenceRecord)
        .options(joinedload(CompetenceRecord.competence))
        .where(CompetenceRecord.user_id == actor.id, CompetenceRecord.competence_id.is_not(None))
        .order_by(CompetenceRecord.achieved_on, CompetenceRecord.id)
    ).all()
    latest: dict[int, CompetenceRecord] = {}
    for record in records:  # the record that lasts longest per competence: renewing it is what counts
        current = latest.get(record.competence_id or 0)
        if current is None or (
            current.expires_on is not None and (record.expires_on or dt.date.max) >= current.expires_on
        ):
            latest[record.competence_id or 0] = record
    for record in latest.values():
        if record.expires_on is not None and record.expires_on <= horizon and record.competence is not None:
            items.append(
                WorkItem(
                    "competence",
                    actor.id,
                    f"Competence: {record.competence.name}",
                    "Expired" if record.expires_on < today else "Expires soon: renew it",
                    "Expiring",
                    ["Renew the competence"],
                    record.expires_on,
                    record.expires_on < today,
                )
            )
    return items
