"""Monitoring and measuring resources (ISO 9001 7.1.5): the *equipment* register (``equipment``
lifecycle), calibration records with their as-found and as-left results, and the out-of-tolerance
impact assessments (``oot_assessment`` lifecycle) a calibration found out of tolerance opens.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import db, quoted_list, utcnow
from .nonconformities import Nonconformity
from .users import User
from .workflow import WorkflowRecord

#: how an instrument's calibration is shown beside its state
CALIBRATION_STATUS_LABELS = {
    "in_service": "In service",
    "due": "Calibration due",
    "overdue": "Calibration overdue",
    "out_of_service": "Out of service",
    "quarantined": "Quarantined",
    "retired": "Retired",
}
#: days before the due date from which an instrument counts as "due"
DUE_SOON_DAYS = 30
CALIBRATION_KINDS = {"external": "External laboratory", "internal": "In-house"}


class Equipment(WorkflowRecord, db.Model):
    __tablename__ = "equipment"
    __table_args__ = (
        Index("ix_equipment_next_calibration_due_identifier_id", "next_calibration_due", "identifier", "id"),
        CheckConstraint("interval_days BETWEEN 1 AND 3660", "interval_days"),
    )
    lifecycle_name = "equipment"

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    serial_number: Mapped[str] = mapped_column(String(120), default="")
    location: Mapped[str] = mapped_column(String(200), default="", index=True)
    measuring_range: Mapped[str] = mapped_column(String(200), default="")
    accuracy: Mapped[str] = mapped_column(String(200), default="")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    interval_days: Mapped[int]
    calibration_kind: Mapped[str] = mapped_column(String(20), default="external")
    last_calibrated_on: Mapped[dt.date | None]
    next_calibration_due: Mapped[dt.date | None] = mapped_column(index=True)
    #: whether the latest calibration left the instrument in tolerance (None: never calibrated)
    calibrated_in_tolerance: Mapped[bool | None]
    #: the date of the last calibration found in tolerance as found: what was measured since is in doubt
    last_good_calibration_on: Mapped[dt.date | None]
    status_reason: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")

    owner: Mapped[User | None] = relationship()

    @property
    def reference(self) -> str:
        """How the instrument is referred to (its identifier), like every workflow record's reference."""
        return self.identifier

    def calibration_status(self, today: dt.date) -> str:
        """in_service, due, overdue, out_of_service, quarantined or retired."""
        if self.state != "in_service":
            return self.state
        due = self.next_calibration_due
        if due is None or due < today:
            return "overdue"
        if (due - today).days <= DUE_SOON_DAYS:
            return "due"
        return "in_service"

    def calibration_status_label(self, today: dt.date) -> str:
        return CALIBRATION_STATUS_LABELS[self.calibration_status(today)]

    def __repr__(self) -> str:
        return f"<Equipment {self.identifier} {self.state}>"


class Calibration(db.Model):
    """One calibration or verification: as found and as left, in or out of tolerance, traceability."""

    __tablename__ = "calibrations"
    __table_args__ = (
        Index("ix_calibrations_equipment_date", "equipment_id", "calibrated_on"),
        CheckConstraint(f"kind IN ({quoted_list(CALIBRATION_KINDS)})", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id", ondelete="CASCADE"))
    calibrated_on: Mapped[dt.date]
    kind: Mapped[str] = mapped_column(String(20), default="external")
    performed_by: Mapped[str] = mapped_column(String(200))
    certificate_number: Mapped[str] = mapped_column(String(120), default="")
    as_found: Mapped[str] = mapped_column(Text, default="")
    as_found_in_tolerance: Mapped[bool]
    as_left: Mapped[str] = mapped_column(Text, default="")
    as_left_in_tolerance: Mapped[bool]
    traceability: Mapped[str] = mapped_column(Text)
    next_due: Mapped[dt.date]
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    equipment: Mapped[Equipment] = relationship()
    recorded_by: Mapped[User] = relationship()

    @property
    def result_label(self) -> str:
        if not self.as_found_in_tolerance:
            return "Out of tolerance as found" + ("; in tolerance as left" if self.as_left_in_tolerance else "")
        return "In tolerance" if self.as_left_in_tolerance else "Out of tolerance as left"


class OotAssessment(WorkflowRecord, db.Model):
    """The impact of an out-of-tolerance finding on what the instrument measured since its last good calibration."""

    __tablename__ = "oot_assessments"
    __table_args__ = (CheckConstraint("window_start <= window_end", "window"),)
    lifecycle_name = "oot_assessment"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(30), unique=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"), index=True)
    calibration_id: Mapped[int] = mapped_column(ForeignKey("calibrations.id"), unique=True)
    window_start: Mapped[dt.date]
    window_end: Mapped[dt.date]
    #: the records found in the window when the assessment opened (kind, id, reference, title, date)
    affected: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    impact: Mapped[str] = mapped_column(Text, default="")
    rationale: Mapped[str] = mapped_column(Text, default="")
    nonconformity_id: Mapped[int | None] = mapped_column(ForeignKey("nonconformities.id"), index=True)
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[dt.datetime | None]

    equipment: Mapped[Equipment] = relationship()
    calibration: Mapped[Calibration] = relationship()
    nonconformity: Mapped[Nonconformity | None] = relationship()

    def __repr__(self) -> str:
        return f"<OotAssessment {self.reference} {self.state}>"
