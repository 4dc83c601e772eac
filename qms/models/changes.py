"""Planning of changes (ISO 9001 6.3): change requests and their implementation tasks.

A *change request* follows the ``change_request`` lifecycle: the purpose and consequences of the
change, the resources and responsibilities, the processes and documents it affects and its risks;
a manager's signed approval; *tasks* to implement it; a post-change review. An organisational-change
review can open one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import db, quoted_list, utcnow
from .reviews import OrgChangeReview
from .users import User
from .workflow import WorkflowRecord

TASK_STATUSES = {"open": "Open", "done": "Done", "cancelled": "Cancelled"}


class ChangeRequest(WorkflowRecord, db.Model):
    __tablename__ = "change_requests"
    #: the register's default sort and the id, for keyset paging
    __table_args__ = (Index("ix_change_requests_created_at_id", "created_at", "id"),)
    lifecycle_name = "change_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(30), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(Text, default="")
    consequences: Mapped[str] = mapped_column(Text, default="")
    resources: Mapped[str] = mapped_column(Text, default="")
    responsibilities: Mapped[str] = mapped_column(Text, default="")
    #: free-text notes on risks (before risks were linked to the register, the only place for them)
    risks: Mapped[str] = mapped_column(Text, default="")
    #: ids of the processes (``processes``) and documents (``documents``) the change affects
    process_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    document_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    org_change_review_id: Mapped[int | None] = mapped_column(ForeignKey("org_change_reviews.id"), unique=True)
    planned_for: Mapped[dt.date | None]
    review_due: Mapped[dt.date | None] = mapped_column(index=True)
    review_findings: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    closed_at: Mapped[dt.datetime | None]

    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    org_change_review: Mapped[OrgChangeReview | None] = relationship()
    tasks: Mapped[list[ChangeTask]] = relationship(
        back_populates="change", order_by="ChangeTask.id", cascade="all, delete-orphan"
    )
    risk_links: Mapped[list[ChangeRisk]] = relationship(
        back_populates="change", order_by="ChangeRisk.id", cascade="all, delete-orphan"
    )

    OPEN_STATES = ("draft", "submitted", "approved", "implementing", "post_review")

    def review_overdue(self, today: dt.date) -> bool:
        return self.state == "post_review" and self.review_due is not None and self.review_due < today

    def __repr__(self) -> str:
        return f"<ChangeRequest {self.reference} {self.state}>"


class ChangeRisk(db.Model):
    """A risk on the register that a change request brings or affects, with an optional note."""

    __tablename__ = "change_risks"
    __table_args__ = (UniqueConstraint("change_id", "risk_id", name="uq_change_risks"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("change_requests.id", ondelete="CASCADE"), index=True)
    risk_id: Mapped[int] = mapped_column(ForeignKey("risks.id"), index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    linked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    linked_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    change: Mapped[ChangeRequest] = relationship(back_populates="risk_links")
    risk = relationship("Risk")
    linked_by: Mapped[User] = relationship()


class ChangeTask(db.Model):
    """One thing to do to implement a change, with its owner and due date."""

    __tablename__ = "change_tasks"
    __table_args__ = (CheckConstraint(f"status IN ({quoted_list(TASK_STATUSES)})", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("change_requests.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    due_date: Mapped[dt.date]
    status: Mapped[str] = mapped_column(String(10), default="open")
    outcome: Mapped[str] = mapped_column(Text, default="")
    done_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    change: Mapped[ChangeRequest] = relationship(back_populates="tasks")
    owner: Mapped[User] = relationship()

    def is_overdue(self, today: dt.date) -> bool:
        return self.status == "open" and self.due_date < today
