"""The JSON REST API under /api/v1 (flask-smorest); filled in by the API work."""

from flask import Flask


def init_api(app: Flask) -> None:
    """Register the API blueprints on ``app``."""
