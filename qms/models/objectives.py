"""Quality objectives (ISO 9001 6.2) with their KPI and its measurements (9.1.3).

An *objective* follows the ``quality_objective`` lifecycle and carries one KPI: a target in a
unit, a direction (``up``: higher is better; ``down``: lower is better) and where its values come
from: typed in or imported from CSV (``manual``) or computed from qmsflow's own records by a
measure of the registry in ``services/objectives/measures.py``.  *Measurements* are the KPI's
values, one per date.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import db, quoted_list, utcnow
from .audits import Process
from .users import User
from .workflow import WorkflowRecord

DIRECTIONS = {"up": "Higher is better", "down": "Lower is better"}
FREQUENCIES = {"monthly": "Monthly", "quarterly": "Quarterly"}
MEASUREMENT_SOURCES = {"manual": "Entered", "csv": "Imported", "computed": "Computed from the records"}
#: objective states in which the KPI is measured
MEASURED_STATES = ("active",)


def month_end(year: int, month: int) -> dt.date:
    """The last day of ``month`` of ``year``."""
    return dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)


class QualityObjective(WorkflowRecord, db.Model):
    __tablename__ = "quality_objectives"
    __table_args__ = (
        Index("ix_quality_objectives_deadline_id", "deadline", "id"),
        CheckConstraint(f"direction IN ({quoted_list(DIRECTIONS)})", "direction"),
        CheckConstraint(f"frequency IN ({quoted_list(FREQUENCIES)})", "frequency"),
        CheckConstraint("missed_follow_up IN ('', 'nonconformity', 'opportunity')", "missed_follow_up"),
    )
    lifecycle_name = "quality_objective"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(30), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    process_id: Mapped[int | None] = mapped_column(ForeignKey("processes.id"), index=True)
    #: the KPI
    kpi_name: Mapped[str] = mapped_column(String(200))
    #: ``manual`` or the key of a computed measure
    measure: Mapped[str] = mapped_column(String(40), default="manual")
    unit: Mapped[str] = mapped_column(String(30), default="")
    direction: Mapped[str] = mapped_column(String(4), default="up")
    baseline: Mapped[float | None] = mapped_column(Float)
    target: Mapped[float] = mapped_column(Float)
    #: how far short of the target the forecast may be and still count as "at risk" (not "off track")
    tolerance: Mapped[float | None] = mapped_column(Float)
    frequency: Mapped[str] = mapped_column(String(10), default="monthly")
    starts_on: Mapped[dt.date]
    deadline: Mapped[dt.date] = mapped_column(index=True)
    #: the plan (6.2.2): what will be done, resources, who is responsible, when, how results are evaluated
    plan_what: Mapped[str] = mapped_column(Text, default="")
    plan_resources: Mapped[str] = mapped_column(Text, default="")
    plan_who: Mapped[str] = mapped_column(Text, default="")
    plan_when: Mapped[str] = mapped_column(Text, default="")
    plan_evaluation: Mapped[str] = mapped_column(Text, default="")
    evaluation: Mapped[str] = mapped_column(Text, default="")
    missed_reason: Mapped[str] = mapped_column(Text, default="")
    missed_follow_up: Mapped[str] = mapped_column(String(20), default="")
    closing_note: Mapped[str] = mapped_column(Text, default="")
    withdrawn_reason: Mapped[str] = mapped_column(Text, default="")
    nonconformity_id: Mapped[int | None] = mapped_column(ForeignKey("nonconformities.id"), index=True)
    opportunity_id: Mapped[int | None] = mapped_column(ForeignKey("opportunities.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    evaluated_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]

    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    process: Mapped[Process | None] = relationship()
    measurements: Mapped[list[ObjectiveMeasurement]] = relationship(
        back_populates="objective", order_by="ObjectiveMeasurement.measured_on", cascade="all, delete-orphan"
    )

    OPEN_STATES = ("draft", "approved", "active")

    @property
    def computed(self) -> bool:
        return self.measure != "manual"

    def meets(self, value: float | None) -> bool:
        """Whether ``value`` meets the target in the objective's direction."""
        if value is None:
            return False
        return value >= self.target if self.direction == "up" else value <= self.target

    def next_measurement_due(self, last: dt.date | None) -> dt.date | None:
        """When the next value is due: a period after the last one (or the start), while active."""
        if self.state != "active" or self.computed:
            return None
        months = 1 if self.frequency == "monthly" else 3
        base = last or self.starts_on
        index = base.year * 12 + base.month - 1 + (months if last else months - 1)
        year, month = divmod(index, 12)
        return month_end(year, month + 1)

    def __repr__(self) -> str:
        return f"<QualityObjective {self.reference} {self.state}>"


class ObjectiveMeasurement(db.Model):
    """One value of an objective's KPI, for the period ending on ``measured_on``."""

    __tablename__ = "objective_measurements"
    __table_args__ = (
        UniqueConstraint("objective_id", "measured_on", name="uq_objective_measurement_day"),
        CheckConstraint(f"source IN ({quoted_list(MEASUREMENT_SOURCES)})", "source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    objective_id: Mapped[int] = mapped_column(ForeignKey("quality_objectives.id", ondelete="CASCADE"), index=True)
    measured_on: Mapped[dt.date]
    value: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(10), default="manual")
    note: Mapped[str] = mapped_column(String(500), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    objective: Mapped[QualityObjective] = relationship(back_populates="measurements")
    recorded_by: Mapped[User | None] = relationship()
