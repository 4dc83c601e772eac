"""Inspections (ISO 9001 8.6, 8.4.2, 7.1.5): incoming inspection of a supplier's delivery, in-process
and final inspection, each with what was inspected, the measuring equipment used and the result;
follows the ``inspection`` lifecycle (recorded → reviewed).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import db, quoted_list
from .equipment import Equipment
from .nonconformities import Nonconformity
from .suppliers import Supplier, SupplierDelivery
from .users import User
from .workflow import WorkflowRecord

INSPECTION_KINDS = {"incoming": "Incoming (supplier delivery)", "in_process": "In-process", "final": "Final"}
INSPECTION_RESULTS = {
    "accepted": "Accepted",
    "rejected": "Rejected",
    "concession": "Accepted with concession",
}


class Inspection(WorkflowRecord, db.Model):
    __tablename__ = "inspections"
    __table_args__ = (
        CheckConstraint(f"kind IN ({quoted_list(INSPECTION_KINDS)})", "kind"),
        CheckConstraint(f"result IN ({quoted_list(INSPECTION_RESULTS)})", "result"),
        CheckConstraint("kind <> 'incoming' OR supplier_id IS NOT NULL", "incoming_supplier"),
        Index("ix_inspections_equipment_date", "equipment_id", "inspected_on"),
    )
    lifecycle_name = "inspection"
    creator_attribute = "inspected_by"
    created_verb = "Recorded"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(30), unique=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    inspected_on: Mapped[dt.date] = mapped_column(index=True)
    #: what was inspected: the product, part or lot
    item: Mapped[str] = mapped_column(String(200))
    lot: Mapped[str] = mapped_column(String(120), default="")
    quantity: Mapped[str] = mapped_column(String(60), default="")
    #: the characteristics checked and the criteria (drawing, specification)
    criteria: Mapped[str] = mapped_column(Text, default="")
    findings: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[str] = mapped_column(String(20), index=True)
    #: who authorised accepting a nonconforming product, and on what terms (8.7.1 d)
    concession: Mapped[str] = mapped_column(Text, default="")
    process: Mapped[str] = mapped_column(String(200), default="")
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"), index=True)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("supplier_deliveries.id"), index=True)
    order_reference: Mapped[str] = mapped_column(String(60), default="")
    equipment_id: Mapped[int | None] = mapped_column(ForeignKey("equipment.id"))
    nonconformity_id: Mapped[int | None] = mapped_column(ForeignKey("nonconformities.id"), index=True)
    inspected_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    review_comment: Mapped[str] = mapped_column(Text, default="")
    void_reason: Mapped[str] = mapped_column(Text, default="")

    supplier: Mapped[Supplier | None] = relationship()
    delivery: Mapped[SupplierDelivery | None] = relationship()
    equipment: Mapped[Equipment | None] = relationship()
    nonconformity: Mapped[Nonconformity | None] = relationship()
    inspected_by: Mapped[User] = relationship()

    @property
    def kind_label(self) -> str:
        return INSPECTION_KINDS[self.kind]

    @property
    def result_label(self) -> str:
        return INSPECTION_RESULTS[self.result]

    def __repr__(self) -> str:
        return f"<Inspection {self.reference} {self.result}>"
