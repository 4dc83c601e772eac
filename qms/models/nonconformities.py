"""Nonconformities and their corrective actions (ISO 9001 10.2)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import db
from .records import ProgressNote
from .users import User
from .workflow import WorkflowRecord

NC_SOURCES = {
    "internal_audit": "Internal audit",
    "external_audit": "External audit",
    "customer_complaint": "Customer complaint",
    "process_monitoring": "Process monitoring",
    "supplier": "Supplier",
    "survey": "Satisfaction survey",
}
SEVERITY_LABELS = {"major": "Major", "minor": "Minor", "observation": "Observation"}
#: the states in which an NC is over: counted nowhere as open (withdrawn and rejected NCs not at all)
NC_ENDED_STATES = ("closed", "rejected", "withdrawn")


class Nonconformity(WorkflowRecord, db.Model):
    __tablename__ = "nonconformities"
    #: the API lists NCs newest first by default; (sort key, id) indexes serve keyset paging
    __table_args__ = (
        Index("ix_nonconformities_created_at", "created_at"),
        Index("ix_nonconformities_created_at_id", "created_at", "id"),
        Index("ix_nonconformities_detected_on_id", "detected_on", "id"),
    )
    lifecycle_name = "nonconformity"
    creator_attribute = "raised_by"
    created_verb = "Raised"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(30), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(30), index=True)
    severity: Mapped[str | None] = mapped_column(String(20), index=True)
    process: Mapped[str] = mapped_column(String(120), default="", index=True)
    clause_refs: Mapped[list[str]] = mapped_column(JSON, default=list)
    detected_on: Mapped[dt.date] = mapped_column(index=True)
    raised_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    containment_due: Mapped[dt.date | None]
    containment: Mapped[str] = mapped_column(Text, default="")
    correction: Mapped[str] = mapped_column(Text, default="")
    root_cause_method: Mapped[str | None] = mapped_column(String(20))
    root_cause: Mapped[str] = mapped_column(Text, default="")
    root_cause_whys: Mapped[list[str]] = mapped_column(JSON, default=list)
    root_cause_fishbone: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    verification_due: Mapped[dt.date | None]
    effectiveness_evidence: Mapped[str] = mapped_column(Text, default="")
    closure_note: Mapped[str] = mapped_column(Text, default="")
    rejection_reason: Mapped[str] = mapped_column(Text, default="")
    closed_at: Mapped[dt.datetime | None]
    #: the supplier the NC is against (source "supplier") and the instrument it cites, if any
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"), index=True)
    equipment_id: Mapped[int | None] = mapped_column(ForeignKey("equipment.id"), index=True)

    raised_by: Mapped[User] = relationship(foreign_keys=[raised_by_id])
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    actions: Mapped[list[CorrectiveAction]] = relationship(
        back_populates="nonconformity", order_by="CorrectiveAction.id"
    )

    def __repr__(self) -> str:
        return f"<Nonconformity {self.reference} {self.state}>"


class CorrectiveAction(WorkflowRecord, db.Model):
    __tablename__ = "corrective_actions"
    #: the API lists actions newest first by default; (sort key, id) indexes serve keyset paging
    __table_args__ = (
        Index("ix_corrective_actions_created_at", "created_at"),
        Index("ix_corrective_actions_created_at_id", "created_at", "id"),
    )
    lifecycle_name = "corrective_action"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(30), unique=True)
    nonconformity_id: Mapped[int] = mapped_column(ForeignKey("nonconformities.id"), index=True)
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

    nonconformity: Mapped[Nonconformity] = relationship(back_populates="actions")
    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    implemented_by: Mapped[User | None] = relationship(foreign_keys=[implemented_by_id])
    verified_by: Mapped[User | None] = relationship(foreign_keys=[verified_by_id])
    notes: Mapped[list[ProgressNote]] = relationship(order_by="ProgressNote.id")

    #: states in which an action still needs work
    OPEN_STATES = ("planned", "in_progress")

    def is_overdue(self, today: dt.date) -> bool:
        return self.state in self.OPEN_STATES and self.due_date < today

    def __repr__(self) -> str:
        return f"<CorrectiveAction {self.reference} {self.state}>"
