"""The dashboard's running counts (kept by qms/services/dashboard_counts.py, read by services/dashboard.py)."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ..database import db


class DashboardCount(db.Model):
    """How many records stand under one value of one figure, e.g. (``nc.severity``, ``major``) → 412.

    Kept in the same flush as the change to the record, so the dashboard sums a few hundred rows
    instead of counting every record; ``qms dashboard rebuild`` recounts them from the records.
    Date figures (``nc.detected``, ``action.open_due``…) key by the ISO date, which sorts as the date.
    """

    __tablename__ = "dashboard_counts"

    figure: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)

    def __repr__(self) -> str:
        return f"<DashboardCount {self.figure} {self.key!r} {self.count}>"
