"""Home (dashboard), My work and the lifecycle reference pages."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from flask import Blueprint, abort, current_app, render_template, request, send_from_directory
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from workflows import all_lifecycles, get_lifecycle
from workflows.errors import UnknownLifecycle

from ..database import begin_write, db, utcnow
from ..models import DashboardPanels, User
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
    body, as_of, panels_as_of = dashboard_body(current_user.has_role("manager", "quality_officer"))
    return render_template("main/index.html", body=body, as_of=as_of, panels_as_of=panels_as_of)


def dashboard_body(certification_panel: bool) -> tuple[Markup, dt.datetime, dt.datetime]:
    """The dashboard as HTML, when its NC and action figures were counted, and when its panels were.

    The NC and action figures are summed from the running counts (a few hundred rows at any
    size). The organisation-wide panels (competence, customers, objectives, certification,
    suppliers and calibration, risks) count every person, response and checklist item: they are
    read from ``dashboard_panels`` while younger than QMS_DASHBOARD_PANELS_SECONDS (the beat
    renders them every few minutes), else counted now and stored. On top, each server process
    reuses the whole body for QMS_DASHBOARD_CACHE_SECONDS (0: every view). The page says how old
    each part is.
    """
    seconds = current_app.config.get("QMS_DASHBOARD_CACHE_SECONDS", 0)
    today = dt.date.today()
    key = (certification_panel, today)
    cache: dict[tuple[bool, dt.date], tuple[float, Markup, dt.datetime, dt.datetime]] = (
        current_app.extensions.setdefault("qms_dashboard", {})
    )
    cached = cache.get(key)
    if seconds and cached is not None and time.monotonic() - cached[0] < seconds:
        return cached[1], cached[2], cached[3]
    as_of = utcnow()
    counts = Markup(  # noqa: S704  (render_template's output is already escaped HTML)
        render_template("main/_dashboard_counts.html", figures=dashboard_figures(today, panels=False))
    )
    panels, panels_as_of = dashboard_panels(certification_panel, today)
    body = counts + panels
    if seconds:
        for stale in [k for k in cache if k[1] != today]:
            cache.pop(stale, None)
        cache[key] = (time.monotonic(), body, as_of, panels_as_of)
    return body, as_of, panels_as_of


def _variant(certification_panel: bool, today: dt.date) -> str:
    return f"{'managers' if certification_panel else 'everyone'}:{today.isoformat()}"


def render_panels(certification_panel: bool, today: dt.date, figures: Any = None, risks: Any = None) -> Markup:
    """The organisation-wide panels counted now (seconds at a million NCs: see dashboard_panels);
    ``figures`` and ``risks`` given, counted once for both variants."""
    return Markup(  # noqa: S704  (render_template's output is already escaped HTML)
        render_template(
            "main/_dashboard.html",
            figures=figures or dashboard_figures(today),
            certification_panel=certification_panel,
            risk_heat_map=risks or heat_map(),
        )
    )


def dashboard_panels(certification_panel: bool, today: dt.date) -> tuple[Markup, dt.datetime]:
    """The panels as stored when younger than QMS_DASHBOARD_PANELS_SECONDS, else counted now and stored."""
    seconds = current_app.config.get("QMS_DASHBOARD_PANELS_SECONDS", 0)
    variant = _variant(certification_panel, today)
    if seconds:
        stored = db.session.get(DashboardPanels, variant)
        if stored is not None and utcnow() - stored.computed_at < dt.timedelta(seconds=seconds):
            return Markup(stored.body), stored.computed_at  # noqa: S704  (HTML rendered by render_panels)
    computed_at = utcnow()
    body = render_panels(certification_panel, today)
    if seconds:
        store_panels({variant: body}, computed_at, today)
    return body, computed_at


def store_panels(bodies: dict[str, Markup], computed_at: dt.datetime, today: dt.date) -> None:
    """Keep rendered panels (an UPSERT per variant; other days' rows go). A failure only costs the next
    view a recount, so it is logged, not raised."""
    session = db.session
    try:
        begin_write(session)
        conn = session.connection()
        table = DashboardPanels.__table__
        insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        for variant, body in bodies.items():
            statement = insert(table).values(variant=variant, computed_at=computed_at, body=str(body))
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=[table.c.variant],
                    set_={"computed_at": statement.excluded.computed_at, "body": statement.excluded.body},
                )
            )
        conn.execute(table.delete().where(~table.c.variant.endswith(f":{today.isoformat()}")))
        session.commit()
    except SQLAlchemyError:
        session.rollback()
        current_app.logger.exception("the dashboard's panels could not be stored")


def refresh_panels(today: dt.date | None = None) -> dict[str, int]:
    """Count and store both variants of the panels now (the beat's ``qms.refresh_dashboard``, ``qms
    dashboard rebuild``); needs an app context, makes its own request context for the links."""
    today = today or dt.date.today()
    with current_app.test_request_context("/"):
        computed_at = utcnow()
        figures, risks = dashboard_figures(today), heat_map()  # its panels are counted once, when first shown
        bodies = {_variant(m, today): render_panels(m, today, figures, risks) for m in (True, False)}
        store_panels(bodies, computed_at, today)
    return {"variants": len(bodies)}


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
