"""The risk register (ISO 9001 6.1): *risks* (``risk`` lifecycle) rated likelihood × impact,
inherent and residual; their *treatment actions* (``risk_treatment`` lifecycle, verified like
corrective actions); and *realisations*: the NCs and audit findings that show a risk happened.

A risk may be raised from a nonconformity, a complaint, a survey (trend) or a context issue, and
remembers where it came from.  Its ratings are stored with the scale they were given on, and the
level (low, medium, high) of its current rating is kept in a column for the register, the heat
map and the audit programme.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import db, quoted_list, utcnow
from .audits import ChecklistItem, Process
from .complaints import Complaint
from .context import ContextIssue
from .nonconformities import Nonconformity
from .surveys import Survey
from .users import User
from .workflow import WorkflowRecord

TREATMENT_LABELS = {"avoid": "Avoid", "reduce": "Reduce", "transfer": "Transfer", "accept": "Accept"}
LEVEL_LABELS = {"low": "Low", "medium": "Medium", "high": "High"}
SOURCE_LABELS = {
    "manual": "Identified directly",
    "nonconformity": "A nonconformity",
    "complaint": "A complaint",
    "survey": "A survey trend",
    "context_issue": "A context issue",
}


class Risk(WorkflowRecord, db.Model):
    __tablename__ = "risks"
    __table_args__ = (
        Index("ix_risks_current_score_id", "current_score", "id"),
        CheckConstraint(f"treatment IS NULL OR treatment IN ({quoted_list(TREATMENT_LABELS)})", "treatment"),
        CheckConstraint(f"level IS NULL OR level IN ({quoted_list(LEVEL_LABELS)})", "level"),
        CheckConstraint(f"source IN ({quoted_list(SOURCE_LABELS)})", "source"),
        CheckConstraint("scale BETWEEN 3 AND 10", "scale"),
        Index("ix_risks_cell", "current_likelihood", "current_impact"),
    )
    lifecycle_name = "risk"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(30), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    cause: Mapped[str] = mapped_column(Text)
    effect: Mapped[str] = mapped_column(Text)
    process_id: Mapped[int | None] = mapped_column(ForeignKey("processes.id"), index=True)
    clause_refs: Mapped[list[str]] = mapped_column(JSON, default=list)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    raised_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: likelihood and impact run from 1 to ``scale`` (the organisation's scale when rated)
    scale: Mapped[int] = mapped_column(default=5)
    likelihood: Mapped[int | None]
    impact: Mapped[int | None]
    residual_likelihood: Mapped[int | None]
    residual_impact: Mapped[int | None]
    #: the rating shown on the heat map: the residual one when recorded, else the inherent one
    current_likelihood: Mapped[int | None]
    current_impact: Mapped[int | None]
    current_score: Mapped[int | None] = mapped_column(index=True)
    level: Mapped[str | None] = mapped_column(String(10), index=True)
    treatment: Mapped[str | None] = mapped_column(String(10))
    treatment_plan: Mapped[str] = mapped_column(Text, default="")
    acceptance_rationale: Mapped[str] = mapped_column(Text, default="")
    effectiveness: Mapped[str] = mapped_column(Text, default="")
    last_reviewed_on: Mapped[dt.date | None]
    next_review_on: Mapped[dt.date | None] = mapped_column(index=True)
    #: an NC or audit finding showed the risk happened: its rating should be looked at again
    rerating_requested: Mapped[bool] = mapped_column(default=False)
    rerating_reason: Mapped[str] = mapped_column(Text, default="")
    closure_reason: Mapped[str] = mapped_column(Text, default="")
    closed_at: Mapped[dt.datetime | None]
    source: Mapped[str] = mapped_column(String(20), default="manual")
    source_nonconformity_id: Mapped[int | None] = mapped_column(ForeignKey("nonconformities.id"), index=True)
    source_complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), index=True)
    source_survey_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id"), index=True)
    source_issue_id: Mapped[int | None] = mapped_column(ForeignKey("context_issues.id"), index=True)
    #: for a risk raised from a survey trend: the trend in words, as it was detected
    source_detail: Mapped[str] = mapped_column(Text, default="")

    process: Mapped[Process | None] = relationship()
    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    raised_by: Mapped[User] = relationship(foreign_keys=[raised_by_id])
    source_nonconformity: Mapped[Nonconformity | None] = relationship()
    source_complaint: Mapped[Complaint | None] = relationship()
    source_survey: Mapped[Survey | None] = relationship()
    source_issue: Mapped[ContextIssue | None] = relationship()
    actions: Mapped[list[RiskTreatmentAction]] = relationship(back_populates="risk", order_by="RiskTreatmentAction.id")
    realisations: Mapped[list[RiskRealisation]] = relationship(back_populates="risk", order_by="RiskRealisation.id")

    OPEN_STATES = ("identified", "assessed", "treatment_planned", "monitored")

    @property
    def inherent_score(self) -> int | None:
        return self.likelihood * self.impact if self.likelihood and self.impact else None

    @property
    def residual_score(self) -> int | None:
        if self.residual_likelihood and self.residual_impact:
            return self.residual_likelihood * self.residual_impact
        return None

    def review_overdue(self, today: dt.date) -> bool:
        return self.state == "monitored" and self.next_review_on is not None and self.next_review_on < today

    def __repr__(self) -> str:
        return f"<Risk {self.reference} {self.state}>"


class RiskTreatmentAction(WorkflowRecord, db.Model):
    __tablename__ = "risk_treatment_actions"
    lifecycle_name = "risk_treatment"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(30), unique=True)
    risk_id: Mapped[int] = mapped_column(ForeignKey("risks.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    due_date: Mapped[dt.date] = mapped_column(index=True)
    implementation: Mapped[str] = mapped_column(Text, default="")
    implemented_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    implemented_at: Mapped[dt.datetime | None]
    verification: Mapped[str] = mapped_column(Text, default="")
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    verified_at: Mapped[dt.datetime | None]
    cancel_reason: Mapped[str] = mapped_column(Text, default="")

    risk: Mapped[Risk] = relationship(back_populates="actions")
    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    implemented_by: Mapped[User | None] = relationship(foreign_keys=[implemented_by_id])
    verified_by: Mapped[User | None] = relationship(foreign_keys=[verified_by_id])

    OPEN_STATES = ("planned", "in_progress")

    def is_overdue(self, today: dt.date) -> bool:
        return self.state in self.OPEN_STATES and self.due_date < today

    def __repr__(self) -> str:
        return f"<RiskTreatmentAction {self.reference} {self.state}>"


class RiskRealisation(db.Model):
    """A nonconformity (or the audit finding behind it), or an audit finding that raised no NC (an
    observation, say), that shows ``risk`` happened: one of the two is always there."""

    __tablename__ = "risk_realisations"
    __table_args__ = (
        UniqueConstraint("risk_id", "nonconformity_id", name="uq_risk_realisations_nc"),
        UniqueConstraint("risk_id", "checklist_item_id", name="uq_risk_realisations_item"),
        CheckConstraint("nonconformity_id IS NOT NULL OR checklist_item_id IS NOT NULL", "cites_something"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    risk_id: Mapped[int] = mapped_column(ForeignKey("risks.id"), index=True)
    nonconformity_id: Mapped[int | None] = mapped_column(ForeignKey("nonconformities.id"), index=True)
    checklist_item_id: Mapped[int | None] = mapped_column(ForeignKey("checklist_items.id"), index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    cited_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    cited_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    risk: Mapped[Risk] = relationship(back_populates="realisations")
    nonconformity: Mapped[Nonconformity | None] = relationship()
    checklist_item: Mapped[ChecklistItem | None] = relationship()
    cited_by: Mapped[User] = relationship()
