"""Celery beat for the topology benchmark: ``celery -A topology_beat beat`` (run by benchmarks/topology.py).

The production app and schedule (``qms.jobs.worker``, ``qms.jobs.beat_schedule``), except that
every job is sent every ``QMS_BENCH_BEAT_SECONDS`` seconds (instead of once a day) for the day
``QMS_BENCH_JOB_DAY``, so that within a few minutes beat asks for each job many times and the
worker must find all but the first claim taken.
"""

from __future__ import annotations

import os

from qms.jobs import beat_schedule
from qms.jobs.worker import app, flask_app

DAY = os.environ["QMS_BENCH_JOB_DAY"]
EVERY = float(os.environ.get("QMS_BENCH_BEAT_SECONDS", "10"))

app.conf.beat_schedule = {
    name: {"task": entry["task"], "schedule": EVERY, "args": (entry["args"][0], DAY, "beat")}
    for name, entry in beat_schedule(flask_app.config["QMS_DIGEST_HOUR"]).items()
}

__all__ = ["app"]
