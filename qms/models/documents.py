"""Controlled documents (ISO 9001 7.5): documents, their revisions, distribution and read receipts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import db, utcnow
from .users import User
from .workflow import WorkflowRecord

DOCUMENT_TYPES = {
    "policy": "Policy",
    "manual": "Manual",
    "procedure": "Procedure",
    "work_instruction": "Work instruction",
    "form": "Form",
    "record": "Record",
    "external": "External document",
}
CONFIDENTIALITY = {
    "public": "Public",
    "internal": "Internal",
    "confidential": "Confidential",
    "restricted": "Restricted",
}
#: states in which a revision is the one in force; at most one per document (a partial unique index)
IN_FORCE_STATES = ("effective", "review_due")


class DocumentNumbering(db.Model):
    """How new documents of a type are numbered: a pattern such as ``SOP-{process}-{seq:03d}``.

    ``{process}`` is the document's process code (upper-cased, letters and digits), ``{seq}`` a
    counter per prefix. Admins edit these; ``qms init`` seeds sensible defaults.
    """

    __tablename__ = "document_numbering"

    doc_type: Mapped[str] = mapped_column(String(30), primary_key=True)
    pattern: Mapped[str] = mapped_column(String(60))


class Document(db.Model):
    __tablename__ = "documents"
    __table_args__ = (
        Index("ix_documents_number_id", "number", "id"),
        CheckConstraint("review_period_months >= 0 AND review_period_months <= 120", "review_period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    doc_type: Mapped[str] = mapped_column(String(30), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    process: Mapped[str] = mapped_column(String(120), default="", index=True)
    clause_refs: Mapped[list[str]] = mapped_column(JSON, default=list)
    review_period_months: Mapped[int] = mapped_column(default=24)
    confidentiality: Mapped[str] = mapped_column(String(20), default="internal")
    next_review_due: Mapped[dt.date | None] = mapped_column(index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    obsolete: Mapped[bool] = mapped_column(default=False)

    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    revisions: Mapped[list[DocumentRevision]] = relationship(back_populates="document", order_by="DocumentRevision.id")
    distribution: Mapped[list[DistributionEntry]] = relationship(
        back_populates="document", cascade="all, delete-orphan", order_by="DistributionEntry.id"
    )

    @property
    def current_revision(self) -> DocumentRevision | None:
        """The revision in force (effective or due for review), if any."""
        return next((r for r in self.revisions if r.state in IN_FORCE_STATES), None)

    def __repr__(self) -> str:
        return f"<Document {self.number}>"


class DocumentRevision(WorkflowRecord, db.Model):
    """One revision of a document and its file; follows the ``document`` lifecycle."""

    __tablename__ = "document_revisions"
    lifecycle_name = "document"
    creator_attribute = "author"
    created_verb = "Drafted"
    __table_args__ = (
        UniqueConstraint("document_id", "label", name="uq_document_revisions_label"),
        # Exactly one revision in force per document, enforced by the database itself.
        Index(
            "uq_document_revisions_in_force",
            "document_id",
            unique=True,
            sqlite_where=db.text("state IN ('effective', 'review_due')"),
            postgresql_where=db.text("state IN ('effective', 'review_due')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    label: Mapped[str] = mapped_column(String(20))
    change_summary: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    filename: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None]
    sha256: Mapped[str | None] = mapped_column(String(64))
    extracted_text: Mapped[str] = mapped_column(Text, default="")
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[dt.datetime | None]
    effective_date: Mapped[dt.date | None]
    superseded_at: Mapped[dt.datetime | None]
    retired_reason: Mapped[str] = mapped_column(Text, default="")
    review_comments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    document: Mapped[Document] = relationship(back_populates="revisions")
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])

    @property
    def reference(self) -> str:
        return f"{self.document.number} rev {self.label}"

    def __repr__(self) -> str:
        return f"<DocumentRevision {self.document_id} {self.label} {self.state}>"


class DistributionEntry(db.Model):
    """Who must read a document: a user, everyone holding a role, or everyone owning a process."""

    __tablename__ = "document_distribution"
    __table_args__ = (
        UniqueConstraint("document_id", "kind", "value", name="uq_document_distribution_entry"),
        CheckConstraint("kind IN ('user', 'role', 'process')", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    value: Mapped[str] = mapped_column(String(120))

    document: Mapped[Document] = relationship(back_populates="distribution")


class Acknowledgement(db.Model):
    """A read-and-understood receipt a user owes for an effective revision."""

    __tablename__ = "document_acknowledgements"
    __table_args__ = (UniqueConstraint("revision_id", "user_id", name="uq_document_acknowledgements_receipt"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("document_revisions.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    due_date: Mapped[dt.date]
    acknowledged_at: Mapped[dt.datetime | None]

    revision: Mapped[DocumentRevision] = relationship()
    user: Mapped[User] = relationship()

    def is_overdue(self, today: dt.date) -> bool:
        return self.acknowledged_at is None and self.due_date < today
