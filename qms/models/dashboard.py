"""The dashboard's running counts (kept by qms/services/dashboard_counts.py, read by services/dashboard.py)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, Text
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


class DashboardPanels(db.Model):
    """The dashboard's organisation-wide panels (competence, customers, objectives, certification,
    suppliers and calibration, risks) as rendered at ``computed_at``, one row per variant and day.

    Counting them reads every person, survey response, objective and checklist item of the year:
    seconds at a million NCs. The beat refreshes them every few minutes (``qms.refresh_dashboard``)
    and a view older than ``QMS_DASHBOARD_PANELS_SECONDS`` recounts them; the page shows their time.
    """

    __tablename__ = "dashboard_panels"

    variant: Mapped[str] = mapped_column(String(40), primary_key=True)  # "managers:2026-12-06"
    computed_at: Mapped[dt.datetime]
    body: Mapped[str] = mapped_column(Text)
