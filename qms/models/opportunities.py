"""Opportunities for improvement and innovation (ISO 9001 6.1.3, 10.1) and the innovation committees.

An *opportunity* follows the ``opportunity`` lifecycle from a proposal through evaluation, a
committee's approval and a pilot to adoption and a measured benefit. An *innovation committee*
is the review body whose members decide on pilots and adoption.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import db, quoted_list, utcnow
from .users import User
from .workflow import WorkflowRecord

EDGE_LABELS = {
    "price": "Price",
    "design": "Design",
    "technology": "Technology",
    "re_engineering": "Re-engineering",
    "differentiation": "Differentiation",
    "niche": "Niche",
}
OPPORTUNITY_SOURCES = {
    "staff": "Staff suggestion",
    "customer_feedback": "Customer feedback",
    "survey": "Survey",
    "complaint": "Complaint",
    "audit": "Audit",
    "competitor": "Competitor survey",
    "objective_missed": "Missed quality objective",
    "management_review": "Management review",
}

committee_members = Table(
    "innovation_committee_members",
    db.metadata,
    Column("committee_id", ForeignKey("innovation_committees.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), primary_key=True),
)


class InnovationCommittee(db.Model):
    """A review body that decides on innovation pilots and their adoption."""

    __tablename__ = "innovation_committees"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    remit: Mapped[str] = mapped_column(Text, default="")
    chair_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    chair: Mapped[User] = relationship(foreign_keys=[chair_id])
    members: Mapped[list[User]] = relationship(secondary=committee_members, order_by="User.name")

    @property
    def member_ids(self) -> frozenset[int]:
        return frozenset(m.id for m in self.members)


class Opportunity(WorkflowRecord, db.Model):
    __tablename__ = "opportunities"
    __table_args__ = (
        Index("ix_opportunities_created_at_id", "created_at", "id"),
        CheckConstraint(f"source IN ({quoted_list(OPPORTUNITY_SOURCES)})", "source"),
        CheckConstraint(f"edge_category IS NULL OR edge_category IN ({quoted_list(EDGE_LABELS)})", "edge_category"),
    )
    lifecycle_name = "opportunity"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(30), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(30), default="staff")
    process_id: Mapped[int | None] = mapped_column(ForeignKey("processes.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    committee_id: Mapped[int | None] = mapped_column(ForeignKey("innovation_committees.id"), index=True)
    #: intellectual-property notes (patent, trademark, copyright): a record, not legal advice
    ip_notes: Mapped[str] = mapped_column(Text, default="")
    estimated_cost: Mapped[int | None]
    expected_benefit: Mapped[str] = mapped_column(Text, default="")
    edge_category: Mapped[str | None] = mapped_column(String(20))
    cost_benefit: Mapped[str] = mapped_column(Text, default="")
    decision: Mapped[str] = mapped_column(Text, default="")
    decided_on: Mapped[dt.date | None]
    pilot_plan: Mapped[str] = mapped_column(Text, default="")
    success_criteria: Mapped[str] = mapped_column(Text, default="")
    pilot_start: Mapped[dt.date | None]
    pilot_end: Mapped[dt.date | None] = mapped_column(index=True)
    pilot_results: Mapped[str] = mapped_column(Text, default="")
    benefit_measured: Mapped[str] = mapped_column(Text, default="")
    benefit_value: Mapped[int | None]
    declined_reason: Mapped[str] = mapped_column(Text, default="")
    adopted_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]
    #: raised from a survey trend: the survey and the trend in words, as it was detected
    source_survey_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id"), index=True)
    source_detail: Mapped[str] = mapped_column(Text, default="")

    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    proposed_by: Mapped[User] = relationship(foreign_keys=[proposed_by_id])
    committee: Mapped[InnovationCommittee | None] = relationship()
    process = relationship("Process")
    source_survey = relationship("Survey")

    OPEN_STATES = ("proposed", "evaluated", "approved", "piloting", "adopted")

    def pilot_overdue(self, today: dt.date) -> bool:
        return self.state == "piloting" and self.pilot_end is not None and self.pilot_end < today

    def __repr__(self) -> str:
        return f"<Opportunity {self.reference} {self.state}>"
