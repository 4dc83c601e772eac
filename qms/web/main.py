"""Home, lifecycle reference pages and the nonconformity register."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import func, select

from workflows import all_lifecycles, get_lifecycle
from workflows.diagram import mermaid
from workflows.errors import UnknownLifecycle

from ..database import db
from ..models import NC_SOURCES, SEVERITY_LABELS, CorrectiveAction, Nonconformity
from ..services import available_events, available_events_many, history_of

bp = Blueprint("main", __name__)
PER_PAGE = 25


@bp.route("/")
@login_required
def index() -> str:
    by_state = dict(db.session.execute(select(Nonconformity.state, func.count()).group_by(Nonconformity.state)).all())
    open_actions = db.session.scalar(
        select(func.count()).where(CorrectiveAction.state.in_(CorrectiveAction.OPEN_STATES))
    )
    return render_template(
        "main/index.html",
        lifecycle=get_lifecycle("nonconformity"),
        by_state=by_state,
        open_actions=open_actions,
    )


@bp.route("/health")
def health() -> dict[str, str]:
    db.session.execute(select(1))
    return {"status": "ok"}


@bp.route("/lifecycles")
@login_required
def lifecycles() -> str:
    return render_template("lifecycles/index.html", lifecycles=all_lifecycles())


@bp.route("/lifecycles/<name>")
@login_required
def lifecycle(name: str) -> str:
    try:
        lc = get_lifecycle(name)
    except UnknownLifecycle:
        abort(404)
    return render_template("lifecycles/detail.html", lc=lc, diagram=mermaid(lc))


@bp.route("/nonconformities")
@login_required
def nonconformities() -> str:
    page = request.args.get("page", 1, type=int) or 1
    state = request.args.get("state") or None
    query = select(Nonconformity).order_by(Nonconformity.id.desc())
    if state:
        query = query.where(Nonconformity.state == state)
    pagination = db.paginate(query, page=max(page, 1), per_page=PER_PAGE, error_out=False)
    available = available_events_many(pagination.items, current_user)
    return render_template(
        "nonconformities/list.html",
        pagination=pagination,
        available=available,
        state=state,
        lifecycle=get_lifecycle("nonconformity"),
        sources=NC_SOURCES,
        severities=SEVERITY_LABELS,
    )


@bp.route("/nonconformities/<int:nc_id>")
@login_required
def nonconformity(nc_id: int) -> str:
    nc = db.session.get(Nonconformity, nc_id) or abort(404)
    return render_template(
        "nonconformities/detail.html",
        nc=nc,
        events=available_events(nc, current_user),
        history=history_of(nc),
        diagram=mermaid(nc.lifecycle, current=nc.state),
        sources=NC_SOURCES,
        severities=SEVERITY_LABELS,
    )
