"""Home (dashboard), My work and the lifecycle reference pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from workflows import all_lifecycles, get_lifecycle
from workflows.diagram import mermaid
from workflows.errors import UnknownLifecycle

from ..database import db
from ..models import User
from ..security import DIAGRAM_CSP, talisman
from ..services.dashboard import dashboard_figures, work_for

bp = Blueprint("main", __name__)


@bp.route("/")
@login_required
def index() -> str:
    return render_template("main/index.html", figures=dashboard_figures(dt.date.today()))


@bp.route("/my-work")
@login_required
def my_work() -> str:
    return render_template("main/my_work.html", items=work_for(current_user, dt.date.today()), today=dt.date.today())


@bp.route("/health")
def health() -> Any:
    """For a reverse proxy or a load balancer: reads one row, so it fails when the database does."""
    try:
        db.session.execute(select(User.id).order_by(User.id).limit(1)).first()
    except SQLAlchemyError:
        db.session.rollback()
        return {"status": "unavailable", "message": "The database cannot be reached"}, 503
    return {"status": "ok"}


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
    return render_template("lifecycles/detail.html", lc=lc, diagram=mermaid(lc))
