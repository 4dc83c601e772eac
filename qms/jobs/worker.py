"""The Celery entry point: ``celery -A qms.jobs.worker worker`` and ``celery -A qms.jobs.worker beat``.

It builds the Flask app from the environment (the same ``QMS_*`` variables as the web server;
``QMS_CELERY_BROKER_URL`` must be set) and exposes its Celery app as ``app``.
"""

from __future__ import annotations

from .. import create_app

flask_app = create_app()
app = flask_app.extensions["celery"]
