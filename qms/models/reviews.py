"""Reviews of the QMS: ISO-change (a new edition; one item per clause change found by the
differ), organisational change (impact items) and management review (ISO 9001 9.3: inputs
compiled from the system). Their *actions* are tracked to done.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import db, quoted_list, utcnow
from .audits import Audit, Process, Site
from .certifications import ExternalAudit
from .users import User
from .workflow import WorkflowRecord

CHANGE_KINDS = {
    "new_site": "New site",
    "process": "New or changed process",
    "product": "New or changed product or service",
    "restructuring": "Restructuring",
    "key_people": "Change of key people",
    "other": "Other",
}


IMPACT_AREAS = {
    "document": "Documents",
    "process": "Processes",
    "risk": "Risks and opportunities",
    "audit_programme": "Audit programme",
    "resources": "Resources",
    "other": "Other",
}


REVIEW_KINDS = {
    "iso_change": "ISO-change review",
    "org_change": "Organisational-change review",
    "management": "Management review",
}


ACTION_STATES = {"open": "Open", "done": "Done", "cancelled": "Cancelled"}


GAP_STATUSES = {"not_assessed": "Not assessed", "no_gap": "No gap", "gap": "Gap — action needed"}


#: ISO 9001:2015 9.3.2: the inputs every management review considers (key → label)
MANAGEMENT_REVIEW_INPUTS = {
    "previous_actions": "a) Status of actions from previous management reviews",
    "context_changes": "b) Changes in external and internal issues relevant to the QMS",
    "customer_satisfaction": "c1) Customer satisfaction and feedback from relevant interested parties",
    "quality_objectives": "c2) Extent to which quality objectives have been met",
    "process_performance": "c3) Process performance and conformity of products and services",
    "nonconformities": "c4) Nonconformities and corrective actions",
    "monitoring_results": "c5) Monitoring and measurement results",
    "audit_results": "c6) Audit results",
    "external_providers": "c7) Performance of external providers",
    "resources": "d) Adequacy of resources",
    "risks_opportunities": "e) Effectiveness of actions taken to address risks and opportunities",
    "improvement_opportunities": "f) Opportunities for improvement",
}


OUTPUT_CATEGORIES = {
    "improvement": "Opportunity for improvement",
    "qms_change": "Need for change to the QMS",
    "resources": "Resource need",
}


class IsoChangeReview(WorkflowRecord, db.Model):
    __tablename__ = "iso_change_reviews"
    lifecycle_name = "iso_change_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(30), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    old_standard: Mapped[str] = mapped_column(String(60))
    new_standard: Mapped[str] = mapped_column(String(60))
    transition_deadline: Mapped[dt.date | None]
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    gap_summary: Mapped[str] = mapped_column(Text, default="")
    verification: Mapped[str] = mapped_column(Text, default="")
    #: the internal audit that verified the transition, and the body's transition audit
    verification_audit_id: Mapped[int | None] = mapped_column(ForeignKey("audits.id"))
    transition_audit_id: Mapped[int | None] = mapped_column(ForeignKey("external_audits.id"))
    closed_at: Mapped[dt.datetime | None]

    owner: Mapped[User] = relationship()
    items: Mapped[list[IsoChangeItem]] = relationship(
        back_populates="review", order_by="IsoChangeItem.id", cascade="all, delete-orphan"
    )
    verification_audit: Mapped[Audit | None] = relationship()
    transition_audit: Mapped[ExternalAudit | None] = relationship()


class IsoChangeItem(db.Model):
    """One clause change between the editions, with what in the QMS refers to it and its assessment."""

    __tablename__ = "iso_change_items"
    __table_args__ = (CheckConstraint(f"status IN ({quoted_list(GAP_STATUSES)})", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("iso_change_reviews.id", ondelete="CASCADE"), index=True)
    change: Mapped[str] = mapped_column(String(20))  # added, removed, renamed, moved, changed
    old_clause: Mapped[str] = mapped_column(String(30), default="")
    new_clause: Mapped[str] = mapped_column(String(30), default="")
    old_title: Mapped[str] = mapped_column(String(200), default="")
    new_title: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    #: what referenced the old clause when the review opened: {"documents": [...], "processes": [...], "questions": n}
    references: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="not_assessed")
    assessment: Mapped[str] = mapped_column(Text, default="")

    review: Mapped[IsoChangeReview] = relationship(back_populates="items")


class OrgChangeReview(WorkflowRecord, db.Model):
    __tablename__ = "org_change_reviews"
    __table_args__ = (CheckConstraint(f"change_kind IN ({quoted_list(CHANGE_KINDS)})", "change_kind"),)
    lifecycle_name = "org_change_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(30), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    change_kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    process_id: Mapped[int | None] = mapped_column(ForeignKey("processes.id"))
    consequences: Mapped[str] = mapped_column(Text, default="")
    qms_integrity: Mapped[str] = mapped_column(Text, default="")
    resources: Mapped[str] = mapped_column(Text, default="")
    responsibilities: Mapped[str] = mapped_column(Text, default="")
    target_date: Mapped[dt.date | None]
    effectiveness_review_due: Mapped[dt.date | None]
    evidence: Mapped[str] = mapped_column(Text, default="")
    closed_at: Mapped[dt.datetime | None]

    owner: Mapped[User] = relationship()
    site: Mapped[Site | None] = relationship()
    process: Mapped[Process | None] = relationship()
    impacts: Mapped[list[ChangeImpact]] = relationship(
        back_populates="review", order_by="ChangeImpact.id", cascade="all, delete-orphan"
    )


class ChangeImpact(db.Model):
    """What an organisational change touches (a document, a process, a risk, the audit programme…)."""

    __tablename__ = "change_impacts"
    __table_args__ = (CheckConstraint(f"area IN ({quoted_list(IMPACT_AREAS)})", "area"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("org_change_reviews.id", ondelete="CASCADE"), index=True)
    area: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(200))
    #: the linked record when there is one ("document:12", "process:3", "audit:7")
    link: Mapped[str] = mapped_column(String(40), default="")
    assessment: Mapped[str] = mapped_column(Text, default="")

    review: Mapped[OrgChangeReview] = relationship(back_populates="impacts")


class ManagementReview(WorkflowRecord, db.Model):
    __tablename__ = "management_reviews"
    lifecycle_name = "management_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(30), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    planned_for: Mapped[dt.date]
    period_start: Mapped[dt.date]
    period_end: Mapped[dt.date]
    chair_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: per 9.3.2 input: {"compiled": {...figures from the system...}, "compiled_at": iso, "notes": "..."}
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    inputs_due: Mapped[dt.date | None]
    held_on: Mapped[dt.date | None]
    attendees: Mapped[list[str]] = mapped_column(JSON, default=list)
    minutes: Mapped[str] = mapped_column(Text, default="")
    minutes_approved_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]

    chair: Mapped[User] = relationship()


class ReviewAction(db.Model):
    """An action decided by a review (transition, change or management-review output), tracked to done."""

    __tablename__ = "review_actions"
    __table_args__ = (
        CheckConstraint(f"review_kind IN ({quoted_list(REVIEW_KINDS)})", "review_kind"),
        CheckConstraint(f"status IN ({quoted_list(ACTION_STATES)})", "status"),
        Index("ix_review_actions_review", "review_kind", "review_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_kind: Mapped[str] = mapped_column(String(20))
    review_id: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    #: for management-review outputs (9.3.3): improvement, qms_change, resources
    category: Mapped[str] = mapped_column(String(20), default="")
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    due_date: Mapped[dt.date] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(10), default="open")
    outcome: Mapped[str] = mapped_column(Text, default="")
    done_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: for an ISO-change review: the clause change this action answers (None for the whole review)
    change_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("iso_change_items.id", ondelete="SET NULL"), index=True
    )

    owner: Mapped[User] = relationship()

    def is_overdue(self, today: dt.date) -> bool:
        return self.status == "open" and self.due_date < today
