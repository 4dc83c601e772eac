"""Planning of changes (ISO 9001 6.3): the register of change requests, requesting a change (or opening
one from an organisational-change review), the request's page with its plan, tasks, signed approval
and post-change review.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from workflows import get_lifecycle
from workflows.errors import InvalidData, InvalidTransition, NotPermitted

from ..database import db, id_in
from ..models import TASK_STATUSES, ChangeRequest, ChangeTask, Document, OrgChangeReview
from ..security import DIAGRAM_CSP, talisman
from ..services import available_events, history_of
from ..services.changes import (
    MANAGE_ROLES,
    REQUEST_ROLES,
    TASK_STATES,
    add_task,
    complete_task,
    documents_of,
    processes_of,
    request_change,
    update_change,
)
from ..services.documents import can_view, visible_to
from .events import EventFormState, add_record_routes, lifecycle_diagram
from .forms import apply_errors, process_choices, user_choices
from .paging import register_page

bp = Blueprint("changes", __name__)


def can_request() -> bool:
    return current_user.has_role(*REQUEST_ROLES)


def _change_or_404(change_id: int) -> ChangeRequest:
    return db.session.get(ChangeRequest, change_id) or abort(404)


def document_choices(linked: Sequence[int] = ()) -> list[tuple[int, str]]:
    """The documents a change may name: those the user may see (a restricted one's number and title
    reach only its readers), and those it names already that the user may not see, kept unnamed."""
    rows = db.session.execute(
        select(Document.id, Document.number, Document.title)
        .where(Document.obsolete.is_(False), visible_to(current_user))
        .order_by(Document.number)
    )
    choices = [(i, f"{number} {title}") for i, number, title in rows]
    if linked:
        hidden = db.session.scalars(
            select(Document.id).where(id_in(Document.id, list(linked)), ~visible_to(current_user))
        )
        choices += [(i, "A document you may not see (kept)") for i in hidden]
    return choices


@bp.route("/changes")
@login_required
def register() -> str:
    lifecycle = get_lifecycle("change_request")
    state = request.args.get("state", "")
    state = state if state in {s.name for s in lifecycle.states} or state == "open" else ""
    query = select(ChangeRequest).options(selectinload(ChangeRequest.owner), selectinload(ChangeRequest.tasks))
    if state == "open":
        query = query.where(ChangeRequest.state.in_(ChangeRequest.OPEN_STATES))
    elif state:
        query = query.where(ChangeRequest.state == state)
    query = query.order_by(ChangeRequest.created_at.desc(), ChangeRequest.id.desc())
    pagination = register_page(query)
    args = {"state": state} if state else {}
    return render_template(
        "changes/list.html",
        pagination=pagination,
        args=args,
        lifecycle=lifecycle,
        today=dt.date.today(),
        can_request=can_request(),
    )


class ChangeForm(FlaskForm):
    title = StringField("Change", validators=[DataRequired(), Length(max=200)])
    purpose = TextAreaField("Purpose of the change", validators=[Optional(), Length(max=10_000)])
    consequences = TextAreaField("Potential consequences", validators=[Optional(), Length(max=10_000)])
    resources = TextAreaField("Resources needed", validators=[Optional(), Length(max=10_000)])
    responsibilities = TextAreaField("Responsibilities and authorities", validators=[Optional(), Length(max=10_000)])
    risks = TextAreaField(
        "Notes on risks (optional)",
        validators=[Optional(), Length(max=10_000)],
        description="Link the risks themselves from the register on the change's page; this is for anything else.",
    )
    process_ids = SelectMultipleField("Processes affected", coerce=int, validators=[Optional()])
    document_ids = SelectMultipleField("Documents affected", coerce=int, validators=[Optional()])


FIELDS = ("title", "purpose", "consequences", "resources", "responsibilities", "risks", "process_ids", "document_ids")


def _form(obj: Any = None) -> ChangeForm:
    form = ChangeForm(obj=obj)
    form.process_ids.choices = process_choices()[1:]
    form.document_ids.choices = document_choices(getattr(obj, "document_ids", None) or ())
    return form


@bp.route("/changes/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    if not can_request():
        abort(403)
    form = _form()
    if form.validate_on_submit():
        try:
            change = request_change(current_user, **{name: getattr(form, name).data for name in FIELDS})
        except InvalidData as exc:
            apply_errors(form, exc.errors)
        else:
            flash(f"{change.reference} drafted. Submit it for approval when the plan is written.")
            return redirect(url_for("changes.detail", change_id=change.id))
    return render_template("changes/form.html", form=form, change=None), (422 if form.errors else 200)


@bp.route("/changes/<id:change_id>/edit", methods=["GET", "POST"])
@login_required
def edit(change_id: int) -> Any:
    change = _change_or_404(change_id)
    if not can_request():
        abort(403)
    if change.state != "draft":
        flash("Only a draft change request can be changed.")
        return redirect(url_for("changes.detail", change_id=change.id))
    form = _form(change)
    if form.validate_on_submit():
        try:
            update_change(change, current_user, **{name: getattr(form, name).data for name in FIELDS})
        except NotPermitted:
            abort(403)
        except InvalidData as exc:
            apply_errors(form, exc.errors)
        else:
            flash("Change request saved.")
            return redirect(url_for("changes.detail", change_id=change.id))
    return render_template("changes/form.html", form=form, change=change), (422 if form.errors else 200)


@bp.route("/reviews/org-change/<id:review_id>/change-request", methods=["POST"])
@login_required
def from_org_change(review_id: int) -> Any:
    review = db.session.get(OrgChangeReview, review_id) or abort(404)
    if not can_request():
        abort(403)
    try:
        change = request_change(current_user, org_change_review_id=review.id)
    except InvalidData as exc:
        flash("No change request opened: " + "; ".join(exc.errors.values()))
        return redirect(url_for("reviews.detail", kind="org-change", review_id=review.id))
    flash(f"{change.reference} opened from {review.reference}.")
    return redirect(url_for("changes.detail", change_id=change.id))


def _render_detail(
    change: ChangeRequest,
    failed: EventFormState | None = None,
    status: int = 200,
    *,
    task_errors: dict | None = None,
    risk_errors: dict | None = None,
) -> Any:
    from ..services.risks import citable_risks

    may_plan = can_request() and change.state in TASK_STATES
    history = history_of(change)
    linked = documents_of([change])
    page = render_template(
        "changes/detail.html",
        change=change,
        events=available_events(change, current_user),
        failed=failed,
        history=history,
        diagram=lifecycle_diagram(change, history),
        processes=processes_of([change]),
        documents={i: d for i, d in linked.items() if can_view(d, current_user)},
        hidden_documents={i for i, d in linked.items() if not can_view(d, current_user)},
        task_statuses=TASK_STATUSES,
        people=user_choices("manager", "quality_officer", "process_owner", "internal_auditor") if may_plan else [],
        may_plan=may_plan,
        can_manage=current_user.has_role(*MANAGE_ROLES),
        task_errors=task_errors or {},
        task_form=request.form if task_errors else {},
        risk_errors=risk_errors or {},
        risk_form=request.form if risk_errors else {},
        risk_choices=citable_risks() if may_plan else [],
        today=dt.date.today(),
    )
    return page, status


add_record_routes(
    bp,
    "/changes/<id:change_id>",
    load=lambda change_id: _change_or_404(change_id),
    render=_render_detail,
    url=lambda change: url_for("changes.detail", change_id=change.id),
)


@bp.route("/changes/<id:change_id>/tasks", methods=["POST"])
@login_required
@talisman(content_security_policy=DIAGRAM_CSP)
def new_task(change_id: int) -> Any:
    change = _change_or_404(change_id)
    if not can_request():
        abort(403)
    try:
        add_task(
            change,
            current_user,
            title=request.form.get("title", ""),
            owner_id=request.form.get("owner_id", ""),
            due_date=request.form.get("due_date", ""),
        )
    except NotPermitted:
        abort(403)
    except InvalidData as exc:
        return _render_detail(change, status=422, task_errors=exc.errors)
    except InvalidTransition as exc:
        return _render_detail(change, status=409, task_errors={"title": exc.message})
    flash("Task added.")
    return redirect(url_for("changes.detail", change_id=change.id) + "#tasks")


@bp.route("/changes/tasks/<id:task_id>/complete", methods=["POST"])
@login_required
@talisman(content_security_policy=DIAGRAM_CSP)
def finish_task(task_id: int) -> Any:
    task = db.session.get(ChangeTask, task_id) or abort(404)
    try:
        complete_task(task, current_user, outcome=request.form.get("outcome", ""))
    except NotPermitted:
        abort(403)
    except InvalidData as exc:
        return _render_detail(task.change, status=422, task_errors={f"outcome-{task.id}": exc.errors["outcome"]})
    except InvalidTransition as exc:
        return _render_detail(task.change, status=409, task_errors={f"outcome-{task.id}": exc.message})
    flash("Task done.")
    return redirect(url_for("changes.detail", change_id=task.change_id) + "#tasks")


# --- risks on the register -------------------------------------------------------------------------


@bp.route("/changes/<id:change_id>/risks", methods=["POST"])
@login_required
@talisman(content_security_policy=DIAGRAM_CSP)
def link_risk_route(change_id: int) -> Any:
    """Link a risk on the register (chosen, or typed by its reference) to the change."""
    from ..models import Risk
    from ..services.changes import link_risk

    change = _change_or_404(change_id)
    if not can_request():
        abort(403)
    typed = str(request.form.get("risk_reference", "")).strip().upper()[:30]
    risk_id: Any = request.form.get("risk_id", "")
    if typed:
        risk_id = db.session.scalar(select(Risk.id).where(Risk.reference == typed)) or -1
    try:
        link = link_risk(change, current_user, risk_id=risk_id, note=request.form.get("note", ""))
    except NotPermitted:
        abort(403)
    except InvalidData as exc:
        return _render_detail(change, status=422, risk_errors=exc.errors)
    except InvalidTransition as exc:
        return _render_detail(change, status=409, risk_errors={"risk_id": exc.message})
    flash(f"{link.risk.reference} linked to {change.reference}.")
    return redirect(url_for("changes.detail", change_id=change.id) + "#change-risks")


@bp.route("/changes/<id:change_id>/risks/<id:link_id>/remove", methods=["POST"])
@login_required
@talisman(content_security_policy=DIAGRAM_CSP)
def unlink_risk_route(change_id: int, link_id: int) -> Any:
    from ..services.changes import unlink_risk

    change = _change_or_404(change_id)
    if not can_request():
        abort(403)
    try:
        unlink_risk(change, current_user, link_id)
    except NotPermitted:
        abort(403)
    except InvalidData:
        abort(404)
    except InvalidTransition as exc:
        return _render_detail(change, status=409, risk_errors={"risk_id": exc.message})
    flash("Risk unlinked; it stays on the register.")
    return redirect(url_for("changes.detail", change_id=change.id) + "#change-risks")


@bp.app_template_global()
def change_links_of(risk: Any) -> list[Any]:
    """The change requests that link a risk, for the risk's page."""
    from ..services.changes import changes_citing

    return changes_citing(risk)


@bp.app_template_global()
def change_request_of(review: OrgChangeReview) -> ChangeRequest | None:
    """The change request opened from an organisational-change review, for its page."""
    return db.session.scalar(select(ChangeRequest).where(ChangeRequest.org_change_review_id == review.id))
