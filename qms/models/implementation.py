"""The QMS implementation board: one *implementation item* per process and clause, following the
``qms_implementation`` lifecycle, with links to the evidence that it is in place.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import db
from .audits import Process
from .users import User
from .workflow import WorkflowRecord


class ImplementationItem(WorkflowRecord, db.Model):
    """One process or clause on the QMS implementation board."""

    __tablename__ = "implementation_items"
    __table_args__ = (
        CheckConstraint("(process_id IS NULL) <> (clause_number IS NULL)", "process_or_clause"),
        UniqueConstraint("process_id", name="uq_implementation_items_process"),
        UniqueConstraint("standard_identifier", "clause_number", name="uq_implementation_items_clause"),
    )
    lifecycle_name = "qms_implementation"

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int | None] = mapped_column(ForeignKey("processes.id"))
    standard_identifier: Mapped[str] = mapped_column(String(60), default="iso-9001-2015")
    clause_number: Mapped[str | None] = mapped_column(String(30))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    target_date: Mapped[dt.date | None]
    #: evidence links: [{"kind": "document"|"audit"|"nonconformity"|"url", "ref": "...", "label": "..."}]
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    notes: Mapped[str] = mapped_column(Text, default="")

    process: Mapped[Process | None] = relationship()
    owner: Mapped[User | None] = relationship()

    @property
    def reference(self) -> str:
        """A short name for captions and messages: ``process PROD`` or ``clause 8.5``."""
        if self.process_id is not None:
            return f"process {self.process.code}" if self.process else "process"
        return f"clause {self.clause_number}"
