"""Internal audits (ISO 9001 9.2, ISO 19011): sites, processes, audit programmes, audits, checklists.

A *process* has an owner; an auditor may not audit a process they own.  An *audit programme*
covers one year and one site (or the whole organisation), with one entry per process whose risk
rating sets how often it is audited.  An *audit* follows the ``internal_audit`` lifecycle; its
checklist items are questions against standard clauses (linked by URN), answered on site.
A major or minor finding raises exactly one nonconformity, linked from the item.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import db, quoted_list, utcnow
from .nonconformities import Nonconformity
from .users import User
from .workflow import WorkflowRecord

RISK_LEVELS = {"low": "Low", "medium": "Medium", "high": "High"}


#: audits per year for each risk rating (high-risk processes are audited more often)
RISK_FREQUENCY = {"low": 1, "medium": 2, "high": 4}


AUDIT_KINDS = {"internal": "Internal audit", "service_performance": "Service performance audit"}


TEAM_ROLES = {"auditor": "Auditor", "technical_expert": "Technical expert", "observer": "Observer"}


RESULTS = {
    "conforming": "Conforming",
    "major": "Major nonconformity",
    "minor": "Minor nonconformity",
    "observation": "Observation",
    "ofi": "Opportunity for improvement",
    "not_applicable": "Not applicable",
}


#: results that raise a nonconformity (with this NC severity)
FINDING_SEVERITY = {"major": "major", "minor": "minor"}


class Site(db.Model):
    """A location of the organisation; programmes and audits may be per site."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    address: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True)

    def __repr__(self) -> str:
        return f"<Site {self.code}>"


class Process(db.Model):
    """A QMS process (ISO 9001 4.4) with its owner, risk rating and the clauses it addresses."""

    __tablename__ = "processes"
    __table_args__ = (CheckConstraint(f"risk IN ({quoted_list(RISK_LEVELS)})", "risk"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    risk: Mapped[str] = mapped_column(String(10), default="medium")
    #: clause numbers (of the programme's standard) this process addresses, for the coverage matrix
    clause_numbers: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)

    site: Mapped[Site | None] = relationship()
    owner: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<Process {self.code}>"


class AuditProgramme(db.Model):
    """The audits planned for one year (and one site, or the whole organisation when site is empty)."""

    __tablename__ = "audit_programmes"
    __table_args__ = (UniqueConstraint("year", "site_id", name="uq_audit_programmes_year_site"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    title: Mapped[str] = mapped_column(String(200))
    standard_identifier: Mapped[str] = mapped_column(String(60))
    objectives: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    site: Mapped[Site | None] = relationship()
    created_by: Mapped[User] = relationship()
    entries: Mapped[list[ProgrammeEntry]] = relationship(
        back_populates="programme", order_by="ProgrammeEntry.id", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<AuditProgramme {self.year} site={self.site_id}>"


class ProgrammeEntry(db.Model):
    """One process in a programme: its risk rating for the year and how many audits that means."""

    __tablename__ = "audit_programme_entries"
    __table_args__ = (
        UniqueConstraint("programme_id", "process_id", name="uq_audit_programme_entries_process"),
        CheckConstraint(f"risk IN ({quoted_list(RISK_LEVELS)})", "risk"),
        CheckConstraint("audits_per_year BETWEEN 1 AND 12", "audits_per_year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("audit_programmes.id", ondelete="CASCADE"), index=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("processes.id"))
    risk: Mapped[str] = mapped_column(String(10))
    audits_per_year: Mapped[int]
    duration_days: Mapped[int] = mapped_column(default=1)

    programme: Mapped[AuditProgramme] = relationship(back_populates="entries")
    process: Mapped[Process] = relationship()


class Audit(WorkflowRecord, db.Model):
    __tablename__ = "audits"
    __table_args__ = (
        Index("ix_audits_planned_start_id", "planned_start", "id"),
        CheckConstraint(f"kind IN ({quoted_list(AUDIT_KINDS)})", "kind"),
        Index("ix_audits_planned_start", "planned_start"),
    )
    lifecycle_name = "internal_audit"
    creator_attribute = "created_by"
    created_verb = "Planned"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(30), unique=True)
    kind: Mapped[str] = mapped_column(String(30), default="internal")
    title: Mapped[str] = mapped_column(String(200))
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("audit_programmes.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    process_id: Mapped[int | None] = mapped_column(ForeignKey("processes.id"), index=True)
    standard_identifier: Mapped[str] = mapped_column(String(60))
    clause_numbers: Mapped[list[str]] = mapped_column(JSON, default=list)
    objectives: Mapped[str] = mapped_column(Text, default="")
    scope: Mapped[str] = mapped_column(Text, default="")
    criteria: Mapped[str] = mapped_column(Text, default="")
    planned_start: Mapped[dt.date | None]
    planned_end: Mapped[dt.date | None]
    actual_start: Mapped[dt.date | None]
    actual_end: Mapped[dt.date | None]
    lead_auditor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    report_approved_at: Mapped[dt.datetime | None]
    postpone_reason: Mapped[str] = mapped_column(Text, default="")
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[dt.datetime | None]

    programme: Mapped[AuditProgramme | None] = relationship()
    site: Mapped[Site | None] = relationship()
    process: Mapped[Process | None] = relationship()
    lead_auditor: Mapped[User | None] = relationship(foreign_keys=[lead_auditor_id])
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    team: Mapped[list[AuditTeamMember]] = relationship(
        back_populates="audit", order_by="AuditTeamMember.id", cascade="all, delete-orphan"
    )
    items: Mapped[list[ChecklistItem]] = relationship(
        back_populates="audit", order_by="(ChecklistItem.position, ChecklistItem.id)", cascade="all, delete-orphan"
    )

    #: states in which the checklist may still be edited (questions added, changed, removed)
    EDITABLE_STATES = ("planned", "scheduled", "prepared")
    #: the only state in which answers are recorded
    ANSWERING_STATES = ("in_progress",)
    #: states after which the audit has taken place (counts for coverage)
    CONDUCTED_STATES = ("in_progress", "report_drafted", "report_approved", "follow_up", "closed")

    @property
    def auditor_ids(self) -> set[int]:
        """The lead auditor and every team member who audits (not observers)."""
        ids = {member.user_id for member in self.team if member.role != "observer"}
        if self.lead_auditor_id is not None:
            ids.add(self.lead_auditor_id)
        return ids

    @property
    def member_ids(self) -> set[int]:
        """Everyone on the audit, observers included."""
        ids = {member.user_id for member in self.team}
        if self.lead_auditor_id is not None:
            ids.add(self.lead_auditor_id)
        return ids

    def __repr__(self) -> str:
        return f"<Audit {self.reference} {self.state}>"


class AuditTeamMember(db.Model):
    __tablename__ = "audit_team_members"
    __table_args__ = (
        UniqueConstraint("audit_id", "user_id", name="uq_audit_team_members_user"),
        CheckConstraint(f"role IN ({quoted_list(TEAM_ROLES)})", "role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audits.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(20), default="auditor")

    audit: Mapped[Audit] = relationship(back_populates="team")
    user: Mapped[User] = relationship()


class ChecklistItem(db.Model):
    """A question of an audit's checklist against one clause, and its answer on site.

    ``revision`` counts saves (SQLAlchemy's ``version_id_col``: every UPDATE carries
    ``WHERE revision = <read>``): the tablet page sends the revision it last saw, and of two
    concurrent saves the second fails instead of overwriting the first.
    """

    __tablename__ = "checklist_items"
    __table_args__ = (CheckConstraint(f"result IS NULL OR result IN ({quoted_list(RESULTS)})", "result"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audits.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    standard_identifier: Mapped[str] = mapped_column(String(60))
    clause_number: Mapped[str] = mapped_column(String(30), default="")
    clause_urn: Mapped[str] = mapped_column(String(200), default="", index=True)
    question: Mapped[str] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(String(20))
    notes: Mapped[str] = mapped_column(Text, default="")
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[dt.datetime | None]
    nonconformity_id: Mapped[int | None] = mapped_column(ForeignKey("nonconformities.id"), unique=True)
    #: the measuring instrument the answer relies on (ISO 9001 7.1.5.2: traced when it is found unfit)
    equipment_id: Mapped[int | None] = mapped_column(ForeignKey("equipment.id"), index=True)
    revision: Mapped[int] = mapped_column(default=0)
    __mapper_args__ = {"version_id_col": revision, "version_id_generator": lambda current: (current or 0) + 1}  # noqa: RUF012

    audit: Mapped[Audit] = relationship(back_populates="items")
    answered_by: Mapped[User | None] = relationship()
    nonconformity: Mapped[Nonconformity | None] = relationship()

    @property
    def result_label(self) -> str:
        return RESULTS.get(self.result or "", "Not answered")
