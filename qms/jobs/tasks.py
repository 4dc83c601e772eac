"""The Celery tasks; each runs inside a Flask app context (see ``celery_init_app``)."""

from __future__ import annotations

import datetime as dt

from celery import shared_task


@shared_task(name="qms.run_job")
def run_job_task(name: str, on: str | None = None, trigger: str = "beat") -> dict[str, object]:
    """Run scheduled job ``name`` for the day ``on`` (ISO date; today when omitted), once."""
    from .runs import run_job

    run = run_job(name, dt.date.fromisoformat(on) if on else None, trigger=trigger)
    if run is None:
        return {"job": name, "skipped": True}
    return {"job": name, "run_id": run.id, "outcome": run.outcome, "counts": run.counts}


@shared_task(name="qms.refresh_dashboard", ignore_result=True)
def refresh_dashboard_task() -> dict[str, int]:
    """Count the dashboard's organisation-wide panels now and keep them (beat: every few minutes)."""
    from ..web.main import refresh_panels

    return refresh_panels()


@shared_task(name="qms.prepare_export")
def prepare_export_task(export_id: int) -> str:
    """Build a requested export file; returns its status."""
    from .exports import prepare_export

    return prepare_export(export_id)


@shared_task(
    name="qms.inspect_upload",
    # a file that kills the process reading it must not come back to kill the next one:
    # acknowledged when taken, never redelivered
    acks_late=False,
    reject_on_worker_lost=False,
    ignore_result=False,
    track_started=True,
)
def inspect_upload_task(request: dict[str, object]) -> dict[str, object]:
    """Read one uploaded file within its time and memory budget; the answer the upload waits for."""
    from .uploads import read_on_worker

    return read_on_worker(request)
