"""Background work: scheduled job runs, sent notifications, prepared exports, e-mail preferences.

The unique constraints are what make scheduled work happen once: a job claims
its (job, period) by inserting a ``JobRun`` row, and a notification is recorded
(user, kind, subject, day) before it is mailed.  Whoever loses the insert race
does nothing, however many beats, workers and web servers run.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import db, utcnow
from .users import User

JOB_OUTCOMES = ("running", "succeeded", "failed")
NOTIFICATION_STATUSES = ("pending", "sent", "logged", "failed")
EXPORT_STATUSES = ("queued", "running", "ready", "failed")
EXPORT_FORMATS = ("pdf", "xlsx")


def _in(column: str, values: tuple[str, ...]) -> str:
    return "{} IN ({})".format(column, ", ".join(f"'{v}'" for v in values))


class JobRun(db.Model):
    """One run of a scheduled job for one period (a day): claimed once, then finished."""

    __tablename__ = "job_runs"
    __table_args__ = (
        UniqueConstraint("job", "period", name="uq_job_runs_job_period"),
        CheckConstraint(_in("outcome", JOB_OUTCOMES), "outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(60))
    period: Mapped[str] = mapped_column(String(20))
    #: who started it: beat, cli, web, test
    trigger: Mapped[str] = mapped_column(String(20), default="beat")
    outcome: Mapped[str] = mapped_column(String(20), default="running")
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(Text, default="")

    def __repr__(self) -> str:
        return f"<JobRun {self.job} {self.period} {self.outcome}>"


class Notification(db.Model):
    """A message to one user, recorded before it is sent so that a retried task never sends it twice."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "subject", "day", name="uq_notifications_user_kind_subject_day"),
        CheckConstraint(_in("status", NOTIFICATION_STATUSES), "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    #: what the message is about, e.g. "digest" or "nc:12"
    subject: Mapped[str] = mapped_column(String(120))
    day: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    items: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]
    error: Mapped[str] = mapped_column(Text, default="")

    user: Mapped[User] = relationship()


class NotificationPreference(db.Model):
    """A user's e-mail choices; no row means the defaults (the daily digest is sent)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    daily_digest: Mapped[bool] = mapped_column(default=True)


class ReportExport(db.Model):
    """A large register export prepared in the background; only its requester (or an admin) downloads it."""

    __tablename__ = "report_exports"
    __table_args__ = (
        CheckConstraint(_in("status", EXPORT_STATUSES), "status"),
        CheckConstraint(_in("format", EXPORT_FORMATS), "format"),
        Index("ix_report_exports_requested_by_id", "requested_by_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the register exported, e.g. "nc-register"
    report: Mapped[str] = mapped_column(String(40))
    format: Mapped[str] = mapped_column(String(10))
    #: the register's filters as given (already validated)
    filters: Mapped[dict] = mapped_column(JSON, default=dict)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default="queued")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    expires_at: Mapped[dt.datetime]
    #: file name inside the instance's exports folder; empty until ready
    filename: Mapped[str] = mapped_column(String(200), default="")
    rows: Mapped[int] = mapped_column(default=0)
    size: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(Text, default="")

    requested_by: Mapped[User] = relationship()
