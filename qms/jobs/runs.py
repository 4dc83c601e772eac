"""Scheduled jobs: each (job, day) is claimed once in the database, run, and recorded.

A claim is an INSERT into ``job_runs`` under a unique (job, period) constraint, committed
before the work starts: of two beats, two workers, or a beat and ``qms jobs run``, exactly one
inserts the row and the others do nothing.  A run that failed may be claimed again (an atomic
UPDATE from ``failed`` to ``running``); per-user messages are deduplicated on their own, so a
retried digest mails nobody twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..database import begin_write, db, utcnow
from ..models import JobRun

log = logging.getLogger(__name__)

#: a run still "running" after this long was abandoned (its worker was killed) and may be taken over
ABANDONED_AFTER = dt.timedelta(hours=2)


@dataclass(frozen=True)
class Job:
    name: str
    description: str
    work: Callable[[dt.date], dict[str, int]]


def _daily_digest(day: dt.date) -> dict[str, int]:
    from ..services.notifications import send_daily_digests

    return send_daily_digests(day)


def _recurring_audits(day: dt.date) -> dict[str, int]:
    from ..services.reminders import generate_recurring_audits

    return generate_recurring_audits(day)


def _document_reviews(day: dt.date) -> dict[str, int]:
    from ..services.documents import start_due_reviews

    return {"reviews_started": len(start_due_reviews(day))}


def _clean_exports(day: dt.date) -> dict[str, int]:
    from .exports import clean_expired

    return clean_expired()


def _audit_checkpoint(day: dt.date) -> dict[str, int]:
    from ..services.audit_checks import checkpoint

    return {"sequence": checkpoint("job")["seq"]}


def _objective_measures(day: dt.date) -> dict[str, int]:
    from ..services.objectives import refresh_all_computed

    return refresh_all_computed(day)


def _dashboard_counts(day: dt.date) -> dict[str, int]:
    from ..services.dashboard_counts import rebuild
    from ..web.main import refresh_panels

    return rebuild(db.session) | refresh_panels(day)


JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job("document-reviews", "Start the periodic review of revisions whose review date has come", _document_reviews),
        Job("daily-digest", "E-mail each user their overdue and due-soon items", _daily_digest),
        Job("recurring-audits", "Create the audits of this and next year's audit programmes", _recurring_audits),
        Job("clean-exports", "Delete prepared exports past their expiry", _clean_exports),
        Job(
            "audit-checkpoint",
            "Write the audit trail's head outside the database (checkpoint folder, log, e-mail)",
            _audit_checkpoint,
        ),
        Job(
            "objective-measures",
            "Recompute the KPIs of active quality objectives measured from the records",
            _objective_measures,
        ),
        Job(
            "dashboard-counts",
            "Recount the dashboard's open NC and action counts from the records (repairs rows written past the app)",
            _dashboard_counts,
        ),
    )
}


def today() -> dt.date:
    """Today in the organisation's time zone (``QMS_TIMEZONE``, also the beat's)."""
    return dt.datetime.now(ZoneInfo(current_app.config.get("QMS_TIMEZONE", "UTC"))).date()


class UnknownJob(ValueError):
    pass


def claim(job: str, period: str, trigger: str) -> JobRun | None:
    """The new run of ``job`` for ``period``, or None when another process has it (or has done it)."""
    session = db.session
    begin_write(session)
    run = JobRun(job=job, period=period, trigger=trigger, outcome="running", counts={}, error="")
    session.add(run)
    try:
        session.commit()
        return run
    except IntegrityError:
        session.rollback()
    # the period is taken; a failed run, or one left running by a killed worker long ago,
    # may be taken over, by one claimant only
    begin_write(session)
    abandoned = (JobRun.outcome == "running") & (JobRun.started_at < utcnow() - ABANDONED_AFTER)
    taken = session.execute(
        update(JobRun)
        .where(JobRun.job == job, JobRun.period == period, (JobRun.outcome == "failed") | abandoned)
        .values(outcome="running", trigger=trigger, started_at=utcnow(), finished_at=None, error="")
    ).rowcount
    session.commit()
    if not taken:
        return None
    return session.scalar(select(JobRun).where(JobRun.job == job, JobRun.period == period))


def run_job(name: str, day: dt.date | None = None, *, trigger: str = "beat") -> JobRun | None:
    """Run job ``name`` for ``day`` (today) unless it already ran; the recorded run, or None if skipped."""
    if name not in JOBS:
        raise UnknownJob(f"no job named {name!r}; the jobs are: " + ", ".join(JOBS))
    day = day or today()
    run = claim(name, day.isoformat(), trigger)
    if run is None:
        log.info("job %s for %s already claimed; nothing to do", name, day)
        return None
    run_id = run.id
    try:
        counts = JOBS[name].work(day)
    except Exception as exc:  # the run is recorded as failed, with the error, and may be retried
        db.session.rollback()
        log.exception("job %s for %s failed", name, day)
        _finish(
            run_id,
            "failed",
            getattr(exc, "counts", {}),
            f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}",
        )
        raise
    _finish(run_id, "succeeded", counts, "")
    return db.session.get(JobRun, run_id)


def _finish(run_id: int, outcome: str, counts: dict[str, int], error: str) -> None:
    session = db.session
    begin_write(session)
    session.execute(
        update(JobRun)
        .where(JobRun.id == run_id)
        .values(outcome=outcome, counts=counts, error=error[:20_000], finished_at=utcnow())
    )
    session.commit()
    session.expire_all()


def recent_runs(limit: int = 50, job: str | None = None) -> list[JobRun]:
    query = select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(limit)
    if job:
        query = query.where(JobRun.job == job)
    return list(db.session.scalars(query))
