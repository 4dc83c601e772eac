"""Home (dashboard), My work and the lifecycle reference pages."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from flask import Blueprint, abort, current_app, render_template, request, send_from_directory
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from workflows import all_lifecycles, get_lifecycle
from workflows.errors import UnknownLifecycle

from ..database import db, utcnow
from ..models import User
from ..security import DIAGRAM_CSP, talisman
from ..services.dashboard import dashboard_figures
from ..services.my_work import work_page
from ..services.reminders import KIND_LABELS, item_url
from ..services.risks import heat_map
from .events import lifecycle_diagram

bp = Blueprint("main", __name__)


@bp.route("/")
@login_required
def index() -> str:
    body, as_of = dashboard_body(current_user.has_role("manager", "quality_officer"))
    return render_template("main/index.html", body=body, as_of=as_of)


def dashboard_body(certification_panel: bool) -> tuple[Markup, dt.datetime]:
    """The dashboard's figures as HTML, and when they were counted.

    They are organisation-wide (only the certification panel depends on the role), and counting
    them over hundreds of thousands of records is the dearest page of the app, so each server
    process reuses them for QMS_DASHBOARD_CACHE_SECONDS (0: count on every view); the page says
    how old they are.
    """
    seconds = current_app.config.get("QMS_DASHBOARD_CACHE_SECONDS", 0)
    today = dt.date.today()
    key = (certification_panel, today)
    cache: dict[tuple[bool, dt.date], tuple[float, Markup, dt.datetime]] = current_app.extensions.setdefault(
        "qms_dashboard", {}
    )
    cached = cache.get(key)
    if seconds and cached is not None and time.monotonic() - cached[0] < seconds:
        return cached[1], cached[2]
    as_of = utcnow()
    body = Markup(  # noqa: S704  (render_template's output is already escaped HTML)
        render_template(
            "main/_dashboard.html",
            figures=dashboard_figures(today),
            certification_panel=certification_panel,
            risk_heat_map=heat_map(),
        )
    )
    if seconds:
        for stale in [k for k in cache if k[1] != today]:
            cache.pop(stale, None)
        cache[key] = (time.monotonic(), body, as_of)
    return body, as_of


@bp.route("/my-work")
@login_required
def my_work() -> str:
    """Everything the user can act on, a page at a time (sorted and paged in the database), by kind if asked."""
    today = dt.date.today()
    kind = request.args.get("kind") or None
    if kind is not None and kind not in KIND_LABELS:
        kind = None  # an unknown kind lists everything rather than nothing
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 100_000)
    work = work_page(current_user, today, page=page, kind=kind)
    return render_template(
        "main/my_work.html", work=work, items=work.items, kind=kind, kinds=KIND_LABELS, today=today, item_url=item_url
    )


@bp.route("/health")
def health() -> Any:
    """For a reverse proxy or a load balancer: reads one row, so it fails when the database does."""
    try:
        db.session.execute(select(User.id).order_by(User.id).limit(1)).first()
    except SQLAlchemyError:
        db.session.rollback()
        return {"status": "unavailable", "message": "The database cannot be reached"}, 503
    return {"status": "ok"}


@bp.route("/favicon.ico")
def favicon() -> Any:
    """Browsers and feed readers ask for /favicon.ico whatever the page links: the SVG icon answers."""
    return send_from_directory(current_app.static_folder, "favicon.svg", mimetype="image/svg+xml", max_age=86400)


@bp.route("/lifecycles")
@login_required
def lifecycles() -> str:
    return render_template("lifecycles/index.html", lifecycles=all_lifecycles())


@bp.route("/lifecycles/<name>")
@login_required
@talisman(content_security_policy=DIAGRAM_CSP)
def lifecycle(name: str) -> str:
    try:
        lc = get_lifecycle(name)
    except UnknownLifecycle:
        abort(404)
    return render_template("lifecycles/detail.html", lc=lc, diagram=lifecycle_diagram(lc))
