"""Competence (ISO 9001 7.2, 7.3): the catalogue, who needs what, what each person holds, and training.

A *competence* is held at a level (aware, practitioner, expert) and may expire after its validity
period. *Requirements* say which people need it: those of a job role, a process, a virtual platform,
the distribution of a document (reading its revision in force counts as awareness), internal
auditors (as auditor or lead auditor) or whoever may fire a signed event. A *competence record* is
what a person holds, with its evidence; a *training session* follows the ``training_session``
lifecycle and, once evaluated effective, gives its attendees a record. *Preconditions* (off unless
an administrator turns one on) make the requirements of an assignment binding.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import db, quoted_list, utcnow
from .audits import Process, Site
from .documents import Document, DocumentRevision
from .nonconformities import Nonconformity
from .users import User
from .workflow import WorkflowRecord

COMPETENCE_LEVELS = {"aware": "Aware", "practitioner": "Practitioner", "expert": "Expert"}
#: a higher level satisfies a lower one
LEVEL_RANK = {"aware": 1, "practitioner": 2, "expert": 3}
REQUIREMENT_SCOPES = {
    "job_role": "Job role",
    "process": "Process",
    "document": "Document (its distribution)",
    "platform": "Virtual platform",
    "audit_role": "Audit role",
    "event": "Signed event",
}
AUDIT_ROLES = {"lead_auditor": "Lead auditor", "auditor": "Auditor"}
RECORD_SOURCES = {
    "training": "Training session",
    "external": "External training or qualification",
    "assessment": "Assessment at work",
}
NEED_SOURCES = {
    "gap": "Competence gap",
    "document_revision": "New document revision",
    "nonconformity": "Nonconformity (competence)",
    "manual": "Raised by hand",
}
NEED_STATUSES = {"open": "Open", "planned": "Training planned", "met": "Met", "cancelled": "Cancelled"}
EVALUATION_METHODS = {"test": "Test score", "observation": "Observation", "manager_signoff": "Manager sign-off"}
#: assignments an administrator can make conditional on the competences their requirements name
ASSIGNMENTS = {
    "audit_lead": "Lead auditor of an audit",
    "audit_team": "Auditor on an audit team",
    "complaint_owner": "Owner of a virtual platform's complaints",
    "action_verifier": "Verifier of a corrective action",
    "document_approver": "Approver of a document type",
}


class JobRole(db.Model):
    """A job in the organisation (customer service agent, social media officer…)."""

    __tablename__ = "job_roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True)


class Competence(db.Model):
    """One entry of the catalogue, with the evidence each level needs and how long it stays valid."""

    __tablename__ = "competences"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    #: months a record stays valid; None: it does not expire
    validity_months: Mapped[int | None]
    evidence_aware: Mapped[str] = mapped_column(Text, default="")
    evidence_practitioner: Mapped[str] = mapped_column(Text, default="")
    evidence_expert: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    requirements: Mapped[list[CompetenceRequirement]] = relationship(
        back_populates="competence", order_by="CompetenceRequirement.id", cascade="all, delete-orphan"
    )

    def evidence_for(self, level: str) -> str:
        return str(getattr(self, f"evidence_{level}", "") or "")

    def __repr__(self) -> str:
        return f"<Competence {self.name}>"


class CompetenceRequirement(db.Model):
    """Who needs a competence at which level: ``scope`` with ``target_id`` (a row) or ``target_key`` (a name)."""

    __tablename__ = "competence_requirements"
    __table_args__ = (
        CheckConstraint(f"scope IN ({quoted_list(REQUIREMENT_SCOPES)})", "scope"),
        CheckConstraint(f"level IN ({quoted_list(COMPETENCE_LEVELS)})", "level"),
        UniqueConstraint("competence_id", "scope", "target_id", "target_key", name="uq_competence_requirement"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    competence_id: Mapped[int] = mapped_column(ForeignKey("competences.id", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(String(20), index=True)
    #: the job role, process or document
    target_id: Mapped[int | None]
    #: the platform, audit role or "lifecycle.event"
    target_key: Mapped[str] = mapped_column(String(120), default="")
    level: Mapped[str] = mapped_column(String(20))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    competence: Mapped[Competence] = relationship(back_populates="requirements")


class PersonProfile(db.Model):
    """Where a person works: job role, site, main process and the virtual platforms they handle."""

    __tablename__ = "person_profiles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    job_role_id: Mapped[int | None] = mapped_column(ForeignKey("job_roles.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    process_id: Mapped[int | None] = mapped_column(ForeignKey("processes.id"), index=True)
    platforms: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship()
    job_role: Mapped[JobRole | None] = relationship()
    site: Mapped[Site | None] = relationship()
    process: Mapped[Process | None] = relationship()


class TrainingSession(WorkflowRecord, db.Model):
    __tablename__ = "training_sessions"
    __table_args__ = (
        Index("ix_training_sessions_planned_on_id", "planned_on", "id"),
        CheckConstraint(f"level IN ({quoted_list(COMPETENCE_LEVELS)})", "level"),
        CheckConstraint(f"evaluation_method IN ({quoted_list(EVALUATION_METHODS)})", "evaluation_method"),
    )
    lifecycle_name = "training_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(30), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    competence_id: Mapped[int] = mapped_column(ForeignKey("competences.id"), index=True)
    #: the level an attendee found effective is recorded at
    level: Mapped[str] = mapped_column(String(20))
    trainer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    trainer_name: Mapped[str] = mapped_column(String(200), default="")
    external: Mapped[bool] = mapped_column(default=False)
    planned_on: Mapped[dt.date] = mapped_column(index=True)
    location: Mapped[str] = mapped_column(String(200), default="")
    material_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), index=True)
    #: the revision of the material used (the one in force when the session was planned, or chosen)
    material_revision_id: Mapped[int | None] = mapped_column(ForeignKey("document_revisions.id"), index=True)
    evaluation_method: Mapped[str] = mapped_column(String(20))
    evaluation_after_days: Mapped[int] = mapped_column(default=30)
    pass_mark: Mapped[int | None]
    held_on: Mapped[dt.date | None]
    evaluation_due: Mapped[dt.date | None] = mapped_column(index=True)
    evaluated_on: Mapped[dt.date | None]
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[dt.datetime | None]

    competence: Mapped[Competence] = relationship()
    trainer: Mapped[User | None] = relationship(foreign_keys=[trainer_id])
    material: Mapped[Document | None] = relationship()
    material_revision: Mapped[DocumentRevision | None] = relationship()
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    attendance: Mapped[list[TrainingAttendance]] = relationship(
        back_populates="session", order_by="TrainingAttendance.id", cascade="all, delete-orphan"
    )

    OPEN_STATES = ("planned", "held", "evaluated")

    @property
    def trainer_label(self) -> str:
        return self.trainer.name if self.trainer is not None else (self.trainer_name or "—")

    def __repr__(self) -> str:
        return f"<TrainingSession {self.reference} {self.state}>"


class TrainingAttendance(db.Model):
    """A person invited to a session: whether they attended, and the evaluation of its effectiveness for them."""

    __tablename__ = "training_attendance"
    __table_args__ = (UniqueConstraint("session_id", "user_id", name="uq_training_attendance"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("training_sessions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: None: invited, attendance not recorded yet
    attended: Mapped[bool | None]
    score: Mapped[int | None]
    #: None: not evaluated yet
    effective: Mapped[bool | None]
    evaluation_note: Mapped[str] = mapped_column(Text, default="")
    evaluated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    evaluated_at: Mapped[dt.datetime | None]

    session: Mapped[TrainingSession] = relationship(back_populates="attendance")
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    evaluated_by: Mapped[User | None] = relationship(foreign_keys=[evaluated_by_id])


class CompetenceRecord(db.Model):
    """What a person holds: a competence at a level (or an external qualification), its evidence and expiry."""

    __tablename__ = "competence_records"
    __table_args__ = (
        CheckConstraint(f"source IN ({quoted_list(RECORD_SOURCES)})", "source"),
        Index("ix_competence_records_person", "user_id", "competence_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: None: a qualification that is no competence of the catalogue (a driving licence…)
    competence_id: Mapped[int | None] = mapped_column(ForeignKey("competences.id"), index=True)
    level: Mapped[str | None] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200), default="")
    provider: Mapped[str] = mapped_column(String(200), default="")
    evidence: Mapped[str] = mapped_column(Text, default="")
    achieved_on: Mapped[dt.date]
    expires_on: Mapped[dt.date | None] = mapped_column(index=True)
    training_session_id: Mapped[int | None] = mapped_column(ForeignKey("training_sessions.id"), index=True)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    competence: Mapped[Competence | None] = relationship()
    training_session: Mapped[TrainingSession | None] = relationship()

    def valid_on(self, day: dt.date) -> bool:
        return self.expires_on is None or self.expires_on >= day


class TrainingNeed(db.Model):
    """A person who needs a competence (at a level): from a gap, a new revision, an NC, or by hand."""

    __tablename__ = "training_needs"
    __table_args__ = (
        Index("ix_training_needs_created_at_id", "created_at", "id"),
        CheckConstraint(f"source IN ({quoted_list(NEED_SOURCES)})", "source"),
        CheckConstraint(f"status IN ({quoted_list(NEED_STATUSES)})", "status"),
        CheckConstraint(f"level IN ({quoted_list(COMPETENCE_LEVELS)})", "level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    competence_id: Mapped[int] = mapped_column(ForeignKey("competences.id"), index=True)
    level: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    due_date: Mapped[dt.date | None]
    document_revision_id: Mapped[int | None] = mapped_column(ForeignKey("document_revisions.id"), index=True)
    nonconformity_id: Mapped[int | None] = mapped_column(ForeignKey("nonconformities.id"), index=True)
    training_session_id: Mapped[int | None] = mapped_column(ForeignKey("training_sessions.id"), index=True)
    raised_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    competence: Mapped[Competence] = relationship()
    document_revision: Mapped[DocumentRevision | None] = relationship()
    nonconformity: Mapped[Nonconformity | None] = relationship()
    training_session: Mapped[TrainingSession | None] = relationship()

    def is_overdue(self, today: dt.date) -> bool:
        return self.status in ("open", "planned") and self.due_date is not None and self.due_date < today


class CompetencePrecondition(db.Model):
    """An assignment an administrator made conditional on its requirements (``target_key`` "": every one)."""

    __tablename__ = "competence_preconditions"
    __table_args__ = (
        CheckConstraint(f"assignment IN ({quoted_list(ASSIGNMENTS)})", "assignment"),
        UniqueConstraint("assignment", "target_key", name="uq_competence_precondition"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment: Mapped[str] = mapped_column(String(30))
    #: a virtual platform (complaint owners) or a document type (approvers); "" for all
    target_key: Mapped[str] = mapped_column(String(60), default="")
    enabled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    enabled_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    enabled_by: Mapped[User | None] = relationship()
