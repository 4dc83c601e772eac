"""Background work on Celery: the app, its schedule, and how tasks get a Flask app context.

With ``QMS_CELERY_BROKER_URL`` set (e.g. ``redis://127.0.0.1:6379/0``) tasks go to the broker
and a worker runs them::

    celery -A qms.jobs.worker worker --loglevel=INFO
    celery -A qms.jobs.worker beat --loglevel=INFO

Without a broker (the embedded default) every task runs in-process when it is sent and no
Redis is needed; the scheduled jobs are then started by cron with ``qms jobs run NAME``.
Scheduled jobs happen once per period however many beats and workers run: see ``runs.claim``.
"""

from __future__ import annotations

from typing import Any

from celery import Celery, Task
from celery.schedules import crontab
from flask import Flask


def celery_init_app(app: Flask) -> Celery:
    """A Celery app configured from the Flask config, whose tasks run inside a Flask app context."""

    class FlaskTask(Task):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    broker = app.config.get("QMS_CELERY_BROKER_URL", "")
    eager = not broker
    celery = Celery(app.name, task_cls=FlaskTask)
    celery.conf.update(
        broker_url=broker or "memory://",
        result_backend=app.config.get("QMS_CELERY_RESULT_BACKEND") or None,
        task_always_eager=eager,
        task_eager_propagates=eager,
        task_ignore_result=True,
        # a task is acknowledged once done, so a worker killed half-way leaves it to another worker
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        timezone=app.config.get("QMS_TIMEZONE", "UTC"),
        beat_schedule=beat_schedule(app.config.get("QMS_DIGEST_HOUR", 6)),
        beat_schedule_filename=f"{app.instance_path}/celerybeat-schedule",
        # a prefork child grown past this after a task is replaced (a parser's garbage does not stay)
        worker_max_memory_per_child=int(app.config.get("QMS_CELERY_MAX_MEMORY_PER_CHILD_MB", 512)) * 1024,
        # an unreachable broker is reported in seconds, not after minutes of retries
        broker_transport_options={"socket_connect_timeout": 3},
        redis_socket_connect_timeout=3,
        result_backend_transport_options={
            "retry_policy": {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
        },
        # reading an upload: the worker's own time limits (the sender sets the same per message)
        task_annotations={"qms.inspect_upload": upload_time_limits(app)},
    )
    celery.set_default()
    from . import tasks  # noqa: F401  (registers the tasks with this app)

    app.extensions["celery"] = celery
    return celery


def upload_time_limits(app: Flask) -> dict[str, float]:
    """The soft time limit of reading one upload on a worker (``QMS_UPLOAD_PARSE_SECONDS``), and the hard
    one a few seconds later, when the worker kills the process reading it."""
    seconds = float(app.config.get("QMS_UPLOAD_PARSE_SECONDS", 20))
    return {"soft_time_limit": seconds, "time_limit": seconds + 5}


#: how often the beat renders the dashboard's panels (seconds); a view recounts them only when they
#: are older than QMS_DASHBOARD_PANELS_SECONDS (15 minutes by default), so a missed beat costs one view
DASHBOARD_PANELS_EVERY = 300.0


def beat_schedule(digest_hour: int) -> dict[str, dict[str, Any]]:
    """The periodic jobs; each beat entry only sends a task, the task claims its (job, day) once."""
    return {
        # before the digest, so that the reviews it starts are in the morning's e-mail
        "document-reviews": {
            "task": "qms.run_job",
            "schedule": crontab(hour=max(digest_hour - 1, 0), minute=30),
            "args": ("document-reviews",),
        },
        "daily-digest": {
            "task": "qms.run_job",
            "schedule": crontab(hour=digest_hour, minute=0),
            "args": ("daily-digest",),
        },
        "recurring-audits": {
            "task": "qms.run_job",
            "schedule": crontab(hour=1, minute=30),
            "args": ("recurring-audits",),
        },
        "clean-exports": {
            "task": "qms.run_job",
            "schedule": crontab(hour=2, minute=15),
            "args": ("clean-exports",),
        },
        "audit-checkpoint": {
            "task": "qms.run_job",
            "schedule": crontab(hour=23, minute=50),
            "args": ("audit-checkpoint",),
        },
        # before the digest, so that its objectives' statuses are this morning's
        "objective-measures": {
            "task": "qms.run_job",
            "schedule": crontab(hour=max(digest_hour - 1, 0), minute=0),
            "args": ("objective-measures",),
        },
        # the dashboard's organisation-wide panels, so that no view has to count them (idempotent:
        # two beats only count twice)
        "dashboard-panels": {
            "task": "qms.refresh_dashboard",
            "schedule": DASHBOARD_PANELS_EVERY,
        },
        # the dashboard's running counts recounted from the records, in the quiet of the night
        "dashboard-counts": {
            "task": "qms.run_job",
            "schedule": crontab(hour=3, minute=0),
            "args": ("dashboard-counts",),
        },
    }


def is_eager(app: Flask) -> bool:
    """True when tasks run in-process (no broker configured)."""
    return bool(app.extensions["celery"].conf.task_always_eager)
