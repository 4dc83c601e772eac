"""The context of the organisation (ISO 9001 4.1, 4.2): internal and external issues sorted by SWOT
quadrant and PESTLE category, interested parties with their relevant requirements, and the periodic
*context review* (``context_review`` lifecycle) that records what changed and answers the 2024
climate-change question.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import db, quoted_list, utcnow
from .audits import Site
from .users import User
from .workflow import WorkflowRecord

#: SWOT quadrants: strengths and weaknesses are internal issues, opportunities and threats external
SWOT = {"strength": "Strength", "weakness": "Weakness", "opportunity": "Opportunity", "threat": "Threat"}
#: the quadrants' headings: their plurals, and a new issue of each ("Add an opportunity")
SWOT_PLURALS = {"strength": "Strengths", "weakness": "Weaknesses", "opportunity": "Opportunities", "threat": "Threats"}
SWOT_ONE = {"strength": "a strength", "weakness": "a weakness", "opportunity": "an opportunity", "threat": "a threat"}
INTERNAL_QUADRANTS = ("strength", "weakness")
PESTLE = {
    "political": "Political",
    "economic": "Economic",
    "social": "Social",
    "technological": "Technological",
    "legal": "Legal",
    "environmental": "Environmental",
}
PARTY_CATEGORIES = {
    "customer": "Customers",
    "employee": "Employees",
    "owner": "Owners and shareholders",
    "supplier": "Suppliers and partners",
    "regulator": "Regulators and authorities",
    "community": "Community and neighbours",
    "certification_body": "Certification body",
    "other": "Other",
}


class ContextIssue(db.Model):
    """An internal or external issue relevant to the QMS (4.1), owned and reviewed by a date."""

    __tablename__ = "context_issues"
    __table_args__ = (
        CheckConstraint(f"swot IN ({quoted_list(SWOT)})", "swot"),
        CheckConstraint(f"pestle IS NULL OR pestle IN ({quoted_list(PESTLE)})", "pestle"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(30), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    swot: Mapped[str] = mapped_column(String(20), index=True)
    pestle: Mapped[str | None] = mapped_column(String(20))
    #: None: the whole organisation
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    review_on: Mapped[dt.date] = mapped_column(index=True)
    climate_related: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    site: Mapped[Site | None] = relationship()
    owner: Mapped[User] = relationship()

    @property
    def origin(self) -> str:
        """internal or external, from the SWOT quadrant."""
        return "internal" if self.swot in INTERNAL_QUADRANTS else "external"

    def review_overdue(self, today: dt.date) -> bool:
        return self.active and self.review_on < today

    def __repr__(self) -> str:
        return f"<ContextIssue {self.reference}>"


class InterestedParty(db.Model):
    """An interested party (4.2): its needs, the requirements relevant to the QMS and how they are monitored."""

    __tablename__ = "interested_parties"
    __table_args__ = (CheckConstraint(f"category IN ({quoted_list(PARTY_CATEGORIES)})", "category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(30), index=True)
    needs: Mapped[str] = mapped_column(Text, default="")
    requirements: Mapped[str] = mapped_column(Text)
    monitoring: Mapped[str] = mapped_column(Text)
    climate_requirements: Mapped[str] = mapped_column(Text, default="")
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    review_on: Mapped[dt.date] = mapped_column(index=True)
    active: Mapped[bool] = mapped_column(default=True, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    site: Mapped[Site | None] = relationship()
    owner: Mapped[User] = relationship()

    def review_overdue(self, today: dt.date) -> bool:
        return self.active and self.review_on < today

    def __repr__(self) -> str:
        return f"<InterestedParty {self.reference}>"


class ContextReview(WorkflowRecord, db.Model):
    """A periodic review of the context: what changed, and the climate-change question answered."""

    __tablename__ = "context_reviews"
    #: the register's default sort and the id, for keyset paging
    __table_args__ = (Index("ix_context_reviews_planned_for_id", "planned_for", "id"),)
    lifecycle_name = "context_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(30), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    planned_for: Mapped[dt.date] = mapped_column(index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    chair_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    scope: Mapped[str] = mapped_column(Text, default="")
    changes: Mapped[str] = mapped_column(Text, default="")
    climate_change_relevant: Mapped[str | None] = mapped_column(String(5))
    climate_change_notes: Mapped[str] = mapped_column(Text, default="")
    next_review_on: Mapped[dt.date | None]
    #: the registers when the review was completed: counts and the items changed since the last one
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    completed_at: Mapped[dt.datetime | None]
    cancel_reason: Mapped[str] = mapped_column(Text, default="")

    site: Mapped[Site | None] = relationship()
    chair: Mapped[User] = relationship()

    OPEN_STATES = ("planned", "in_progress")

    def is_overdue(self, today: dt.date) -> bool:
        return self.state in self.OPEN_STATES and self.planned_for < today

    def __repr__(self) -> str:
        return f"<ContextReview {self.reference} {self.state}>"
