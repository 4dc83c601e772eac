"""External providers (ISO 9001 8.4): the *supplier* register (``supplier`` lifecycle), their
evaluations per period, the deliveries that give on-time delivery, and the supplier corrective
action requests (``scar`` lifecycle) they answer through a single-use link.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import db, quoted_list, utcnow
from .nonconformities import Nonconformity
from .users import User
from .workflow import WorkflowRecord

CRITICALITY_LABELS = {"high": "High", "medium": "Medium", "low": "Low"}
#: months between evaluations by criticality (ISO 9001 8.4.1: re-evaluation proportionate to the risk)
REEVALUATION_MONTHS = {"high": 6, "medium": 12, "low": 24}
#: the evaluation criteria and their default weights (percent; they add up to 100)
CRITERIA = {
    "quality": "Quality",
    "delivery": "Delivery",
    "price": "Price",
    "service": "Service",
    "certification": "Certification",
}
DEFAULT_WEIGHTS = {"quality": 40, "delivery": 25, "price": 10, "service": 15, "certification": 10}
#: the states in which a supplier is on the approved supplier list
APPROVED_STATES = ("approved", "conditionally_approved")


class Supplier(WorkflowRecord, db.Model):
    __tablename__ = "suppliers"
    __table_args__ = (
        Index("ix_suppliers_name_id", "name", "id"),
        # My work's "status proposals to decide on": the few suppliers with a proposal, found without
        # reading the register (its OR with the evaluations due becomes two index scans)
        Index(
            "ix_suppliers_proposed",
            "id",
            sqlite_where=db.text("proposed_state IS NOT NULL"),
            postgresql_where=db.text("proposed_state IS NOT NULL"),
        ),
        CheckConstraint(f"criticality IN ({quoted_list(CRITICALITY_LABELS)})", "criticality"),
    )
    lifecycle_name = "supplier"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    supplies: Mapped[str] = mapped_column(Text)
    criticality: Mapped[str] = mapped_column(String(10), index=True)
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    contact_phone: Mapped[str] = mapped_column(String(60), default="")
    address: Mapped[str] = mapped_column(Text, default="")
    iso9001_certificate: Mapped[str] = mapped_column(String(120), default="")
    iso9001_expires_on: Mapped[dt.date | None]
    notes: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: what the approval covers and its conditions (from the signed approval events)
    approval_scope: Mapped[str] = mapped_column(Text, default="")
    conditions: Mapped[str] = mapped_column(Text, default="")
    conditions_review_by: Mapped[dt.date | None]
    status_reason: Mapped[str] = mapped_column(Text, default="")
    approved_at: Mapped[dt.datetime | None]
    #: the latest figures, kept with each evaluation and each change to the supplier's NCs
    evaluation_count: Mapped[int] = mapped_column(default=0)
    last_evaluated_on: Mapped[dt.date | None]
    next_evaluation_due: Mapped[dt.date | None] = mapped_column(index=True)
    score: Mapped[float | None]
    #: a status change the falling score proposes (a state name) and why; people decide
    proposed_state: Mapped[str | None] = mapped_column(String(40))
    proposal_reason: Mapped[str] = mapped_column(Text, default="")
    proposed_at: Mapped[dt.datetime | None]

    owner: Mapped[User | None] = relationship()

    @property
    def criticality_label(self) -> str:
        return CRITICALITY_LABELS.get(self.criticality, self.criticality)

    @property
    def is_approved(self) -> bool:
        return self.state in APPROVED_STATES

    def certificate_valid(self, today: dt.date) -> bool:
        return (
            bool(self.iso9001_certificate) and self.iso9001_expires_on is not None and self.iso9001_expires_on >= today
        )

    def evaluation_overdue(self, today: dt.date) -> bool:
        return (
            self.state != "disqualified" and self.next_evaluation_due is not None and self.next_evaluation_due < today
        )

    def __repr__(self) -> str:
        return f"<Supplier {self.reference} {self.state}>"


class SupplierEvaluation(db.Model):
    """One evaluation of a supplier over a period: a score per criterion, weighted, and what it proposes."""

    __tablename__ = "supplier_evaluations"
    __table_args__ = (
        UniqueConstraint("supplier_id", "period_start", "period_end", name="uq_supplier_evaluation_period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id", ondelete="CASCADE"), index=True)
    period_start: Mapped[dt.date]
    period_end: Mapped[dt.date] = mapped_column(index=True)
    #: criterion → score 0–100 (None: not assessed, its weight shared by the others)
    scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    weights: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: what the computed scores were computed from (NCs by severity, deliveries on time…)
    basis: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    total: Mapped[float]
    previous_total: Mapped[float | None]
    proposed_state: Mapped[str | None] = mapped_column(String(40))
    proposal_reason: Mapped[str] = mapped_column(Text, default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    evaluated_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    evaluated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    supplier: Mapped[Supplier] = relationship()
    evaluated_by: Mapped[User] = relationship()


class SupplierCriteriaWeights(db.Model):
    """The evaluation criteria's weights an administrator set (one row per change; the latest applies).

    Each evaluation copies the weights it used, so older scores stay explained by their own weights.
    """

    __tablename__ = "supplier_criteria_weights"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: criterion → weight in percent (they add up to 100)
    weights: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text, default="")
    set_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    set_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    set_by: Mapped[User] = relationship()


class SupplierDelivery(db.Model):
    """A delivery (or service visit) with its promised and actual dates: on-time delivery comes from these."""

    __tablename__ = "supplier_deliveries"
    __table_args__ = (
        UniqueConstraint("supplier_id", "order_reference", name="uq_supplier_delivery_order"),
        Index("ix_supplier_deliveries_supplier_due", "supplier_id", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id", ondelete="CASCADE"))
    order_reference: Mapped[str] = mapped_column(String(60))
    due_on: Mapped[dt.date]
    delivered_on: Mapped[dt.date]
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    @property
    def on_time(self) -> bool:
        return self.delivered_on <= self.due_on


class Scar(WorkflowRecord, db.Model):
    """A supplier corrective action request, raised from a nonconformity against the supplier.

    The supplier's link holds a random token of which only the sha256 is stored; a new link
    replaces the previous one, and answering uses it up.
    """

    __tablename__ = "scars"
    lifecycle_name = "scar"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(30), unique=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    nonconformity_id: Mapped[int] = mapped_column(ForeignKey("nonconformities.id"), index=True)
    request: Mapped[str] = mapped_column(Text)
    respond_by: Mapped[dt.date] = mapped_column(index=True)
    raised_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    link_issued_at: Mapped[dt.datetime | None]
    link_used_at: Mapped[dt.datetime | None]
    containment: Mapped[str] = mapped_column(Text, default="")
    root_cause: Mapped[str] = mapped_column(Text, default="")
    actions: Mapped[str] = mapped_column(Text, default="")
    responder: Mapped[str] = mapped_column(String(200), default="")
    answered_at: Mapped[dt.datetime | None]
    answered_through_link: Mapped[bool] = mapped_column(default=False)
    rounds: Mapped[int] = mapped_column(default=0)
    review_comment: Mapped[str] = mapped_column(Text, default="")
    returned_reason: Mapped[str] = mapped_column(Text, default="")
    verification_due: Mapped[dt.date | None]
    verification_evidence: Mapped[str] = mapped_column(Text, default="")
    verified_at: Mapped[dt.datetime | None]
    cancel_reason: Mapped[str] = mapped_column(Text, default="")

    supplier: Mapped[Supplier] = relationship()
    nonconformity: Mapped[Nonconformity] = relationship()
    raised_by: Mapped[User] = relationship()

    OPEN_STATES = ("awaiting_response", "answered", "accepted")

    def response_overdue(self, today: dt.date) -> bool:
        return self.state == "awaiting_response" and self.respond_by < today

    def __repr__(self) -> str:
        return f"<Scar {self.reference} {self.state}>"
