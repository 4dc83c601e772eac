"""Reviews of the QMS in the browser: ISO-change reviews opened from the edition differ (gap analysis,
transition actions, verification), organisational-change reviews (ISO 9001 6.3: impacts, suggested
impacts, change actions) and management reviews (ISO 9001 9.3: inputs compiled from the records,
notes, the meeting, outputs as tracked actions, the minutes as PDF).

Every page is a thin layer over ``qms.services.reviews``: the views parse the form, call one service
and render; a refusal comes back as errors next to the form that caused it, never as a 500.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from standards import Standard
from workflows.errors import Conflict, InvalidData, InvalidTransition, NotPermitted

from ..database import db
from ..downloads import content_disposition
from ..models import (
    ACTION_STATES as ACTION_STATUS_LABELS,
)
from ..models import (
    CHANGE_KINDS,
    EXTERNAL_AUDIT_KINDS,
    GAP_STATUSES,
    IMPACT_AREAS,
    MANAGEMENT_REVIEW_INPUTS,
    OUTPUT_CATEGORIES,
    REVIEW_KINDS,
    Audit,
    ChangeImpact,
    ExternalAudit,
    IsoChangeItem,
    IsoChangeReview,
    ManagementReview,
    OrgChangeReview,
    ReviewAction,
)
from ..reports.review_inputs import designed
from ..security import DIAGRAM_CSP, talisman
from ..services import available_events, history_of
from ..services.audits import SETUP_ROLES
from ..services.reviews import (
    ACTION_OWNER_ROLES,
    ACTION_STATES,
    AUDIT_PLANNING_STATES,
    CHANGE_ROLES,
    GAP_ANALYSIS_STATES,
    IMPACT_STATES,
    INPUT_STATES,
    REVIEW_ROLES,
    VERIFICATION_STATES,
    actions_of,
    add_action,
    add_impact,
    assess_change,
    cancel_action,
    compile_inputs,
    complete_action,
    inputs_summary,
    link_verification,
    missing_inputs,
    open_iso_change_review,
    open_org_change_review,
    plan_management_review,
    plan_transition_audit,
    remove_impact,
    review_kind,
    review_of,
    set_input_notes,
    suggest_impacts,
    transition_clauses,
)
from ..services.reviews.iso_change import visible_references
from .events import EventFormState, add_record_routes, lifecycle_diagram
from .forms import apply_errors, process_choices, site_choices, standard_choices, user_choices

bp = Blueprint("reviews", __name__)

#: the URL segment of each kind of review, and back
SLUGS = {"iso_change": "iso-change", "org_change": "org-change", "management": "management"}
MODELS: dict[str, type] = {
    "iso-change": IsoChangeReview,
    "org-change": OrgChangeReview,
    "management": ManagementReview,
}
TEMPLATES = {
    "iso_change": "reviews/iso_change.html",
    "org_change": "reviews/org_change.html",
    "management": "reviews/management.html",
}
CHANGE_LABELS = {
    "added": "Added",
    "removed": "Removed",
    "renamed": "Renamed",
    "moved": "Moved",
    "changed": "Changed",
}
#: what an impact's link points to: kind → (endpoint, argument name)
LINK_ENDPOINTS = {
    "document": ("documents.detail", "document_id"),
    "audit": ("audits.detail", "audit_id"),
    "nonconformity": ("nonconformities.detail", "nc_id"),
}


def can_run() -> bool:
    """Managers and quality officers run reviews: open, assess, compile, plan and cancel actions."""
    return current_user.is_authenticated and current_user.has_role(*REVIEW_ROLES)


def can_change() -> bool:
    """Who may propose an organisational change and record its impacts (process owners too)."""
    return current_user.is_authenticated and current_user.has_role(*CHANGE_ROLES)


def review_url(review: Any, anchor: str = "") -> str:
    return url_for("reviews.detail", kind=SLUGS[review_kind(review)], review_id=review.id) + anchor


def _review_or_404(kind: str, review_id: int) -> Any:
    model = MODELS.get(kind)
    if model is None:
        abort(404)
    return db.session.get(model, review_id) or abort(404)


def _standard_titles() -> dict[str, str]:
    return dict(standard_choices())


def _days_left(due: dt.date | None, today: dt.date) -> int | None:
    return (due - today).days if due else None


# --------------------------------------------------------------------------- the index


def _open_counts(kind: str) -> dict[int, int]:
    from sqlalchemy import func

    return dict(
        db.session.execute(
            select(ReviewAction.review_id, func.count())
            .where(ReviewAction.review_kind == kind, ReviewAction.status == "open")
            .group_by(ReviewAction.review_id)
        ).all()
    )


@bp.route("/reviews")
@login_required
def index() -> str:
    today = dt.date.today()
    iso = db.session.scalars(
        select(IsoChangeReview).options(selectinload(IsoChangeReview.owner)).order_by(IsoChangeReview.id.desc())
    ).all()
    org = db.session.scalars(
        select(OrgChangeReview).options(selectinload(OrgChangeReview.owner)).order_by(OrgChangeReview.id.desc())
    ).all()
    management = db.session.scalars(
        select(ManagementReview)
        .options(selectinload(ManagementReview.chair))
        .order_by(ManagementReview.planned_for.desc(), ManagementReview.id.desc())
    ).all()
    rows = []
    for review in iso:
        rows.append((review, "iso_change", review.owner, review.transition_deadline, "Transition deadline"))
    for review in org:
        rows.append((review, "org_change", review.owner, review.target_date, "Target date"))
    for review in management:
        rows.append((review, "management", review.chair, review.planned_for, "Meeting"))
    counts = {kind: _open_counts(kind) for kind in REVIEW_KINDS}
    return render_template(
        "reviews/index.html",
        rows=rows,
        counts=counts,
        kinds=REVIEW_KINDS,
        slugs=SLUGS,
        today=today,
        can_run=can_run(),
        can_change=can_change(),
    )


@bp.route("/reviews/management")
@login_required
def management_list() -> str:
    reviews = db.session.scalars(
        select(ManagementReview)
        .options(selectinload(ManagementReview.chair))
        .order_by(ManagementReview.planned_for.desc(), ManagementReview.id.desc())
    ).all()
    return render_template(
        "reviews/management_list.html",
        reviews=reviews,
        missing={r.id: len(missing_inputs(r)) for r in reviews},
        counts=_open_counts("management"),
        today=dt.date.today(),
        can_run=can_run(),
    )


# --------------------------------------------------------------------------- opening reviews


def previous_edition(identifier: str, standards: Sequence[Standard] | None = None) -> str:
    """The standard a new edition most likely replaces: the one its edition data names (ISO 9001:2026
    replaces 2015, the edition certificates are to), the one it amends, else the latest earlier one."""
    from ..services.standards import all_standards, edition_of

    standards = list(standards) if standards is not None else all_standards()
    new = next((s for s in standards if s.identifier == identifier), None)
    if new is None:
        return ""
    edition = edition_of(identifier)
    if edition is not None and edition.replaces and any(s.identifier == edition.replaces for s in standards):
        return edition.replaces
    if new.amends:
        amended = next((s for s in standards if s.urn == new.amends), None)
        if amended is not None:
            return amended.identifier
    family = "-".join(new.identifier.split("-")[:2])
    key = (new.edition, new.published or "")
    earlier = [
        s
        for s in standards
        if s.identifier != new.identifier
        and s.kind == new.kind
        and "-".join(s.identifier.split("-")[:2]) == family
        and (s.edition, s.published or "") < key
    ]
    return max(earlier, key=lambda s: (s.edition, s.published or "")).identifier if earlier else ""


class IsoChangeForm(FlaskForm):
    old_standard = SelectField("Edition in use (old)", validators=[DataRequired()])
    new_standard = SelectField("New edition or amendment", validators=[DataRequired()])
    title = StringField(
        "Title (optional)",
        validators=[Optional(), Length(max=200)],
        description="Leave empty for 'Transition to <the new edition>'.",
    )
    transition_deadline = DateField(
        "Transition deadline (optional)",
        validators=[Optional()],
        description="The date by which the certification body expects the transition.",
    )


@bp.route("/reviews/iso-change/new", methods=["GET", "POST"])
@login_required
def new_iso_change() -> Any:
    if not can_run():
        abort(403)
    new_arg = request.args.get("new", "")
    old_arg = request.args.get("old", "") or (previous_edition(new_arg) if new_arg else "")
    form = IsoChangeForm(old_standard=old_arg or None, new_standard=new_arg or None)
    choices = standard_choices()
    form.old_standard.choices = [("", "Choose…"), *choices]
    form.new_standard.choices = [("", "Choose…"), *choices]
    if form.validate_on_submit():
        try:
            review = open_iso_change_review(
                current_user,
                old_standard=form.old_standard.data,
                new_standard=form.new_standard.data,
                title=form.title.data or None,
                transition_deadline=form.transition_deadline.data,
            )
        except NotPermitted:
            abort(403)
        except InvalidData as exc:
            apply_errors(form, exc.errors)
        else:
            flash(
                f"{review.reference}: review opened with {len(review.items)} clause change(s) from the edition differ."
            )
            return redirect(review_url(review))
    return render_template("reviews/new_iso_change.html", form=form), (422 if form.errors else 200)


class OrgChangeForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    change_kind = SelectField("Kind of change", validators=[DataRequired()])
    description = TextAreaField(
        "Description",
        validators=[DataRequired(), Length(max=20_000)],
        description="What changes, why, and when (ISO 9001 6.3: the purpose of the change).",
    )
    site_id = SelectField("Site concerned (optional)", coerce=int, default=0)
    process_id = SelectField("Process concerned (optional)", coerce=int, default=0)


@bp.route("/reviews/org-change/new", methods=["GET", "POST"])
@login_required
def new_org_change() -> Any:
    if not can_change():
        abort(403)
    form = OrgChangeForm()
    form.change_kind.choices = [("", "Choose…"), *CHANGE_KINDS.items()]
    form.site_id.choices = site_choices("— none —")
    form.process_id.choices = process_choices("— none —")
    if form.validate_on_submit():
        try:
            review = open_org_change_review(
                current_user,
                title=form.title.data,
                change_kind=form.change_kind.data,
                description=form.description.data,
                site_id=form.site_id.data or None,
                process_id=form.process_id.data or None,
            )
        except NotPermitted:
            abort(403)
        except InvalidData as exc:
            apply_errors(form, exc.errors)
        else:
            flash(f"{review.reference}: change proposed.")
            return redirect(review_url(review))
    return render_template("reviews/new_org_change.html", form=form), (422 if form.errors else 200)


class ManagementReviewForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    planned_for = DateField("Meeting planned for", validators=[DataRequired()])
    period_start = DateField(
        "Period reviewed from", validators=[DataRequired()], description="The inputs are compiled for this period."
    )
    period_end = DateField("Period reviewed to", validators=[DataRequired()])
    chair_id = SelectField("Chair", coerce=int)


@bp.route("/reviews/management/new", methods=["GET", "POST"])
@login_required
def new_management() -> Any:
    if not can_run():
        abort(403)
    form = ManagementReviewForm()
    form.chair_id.choices = user_choices(*REVIEW_ROLES)
    if request.method == "GET":
        form.chair_id.data = current_user.id
        today = dt.date.today()
        form.period_start.data = form.period_start.data or dt.date(today.year - 1, today.month, 1)
        form.period_end.data = form.period_end.data or today
    if form.validate_on_submit():
        try:
            review = plan_management_review(
                current_user,
                title=form.title.data,
                planned_for=form.planned_for.data,
                period_start=form.period_start.data,
                period_end=form.period_end.data,
                chair_id=form.chair_id.data,
            )
        except NotPermitted:
            abort(403)
        except InvalidData as exc:
            apply_errors(form, exc.errors)
        else:
            flash(f"{review.reference}: management review planned.")
            return redirect(review_url(review))
    return render_template("reviews/new_management.html", form=form), (422 if form.errors else 200)


# --------------------------------------------------------------------------- a review's page


def _iso_context(review: IsoChangeReview, today: dt.date) -> dict[str, Any]:
    items = review.items
    assessed = [i for i in items if i.status != "not_assessed"]
    audits = (
        db.session.scalars(select(Audit).where(Audit.state != "cancelled").order_by(Audit.id.desc()).limit(200)).all()
        if review.state in VERIFICATION_STATES
        else []
    )
    external = (
        db.session.scalars(
            select(ExternalAudit)
            .options(selectinload(ExternalAudit.certification))
            .order_by((ExternalAudit.kind != "transition"), ExternalAudit.start_date.desc(), ExternalAudit.id.desc())
            .limit(200)
        ).all()
        if review.state in VERIFICATION_STATES
        else []
    )
    return {
        "items": items,
        "references": visible_references(items, current_user),
        "assessed": len(assessed),
        "gaps": sum(1 for i in items if i.status == "gap"),
        "gap_statuses": GAP_STATUSES,
        "change_labels": CHANGE_LABELS,
        "can_assess": can_run() and review.state in GAP_ANALYSIS_STATES,
        "can_link": can_run() and review.state in VERIFICATION_STATES,
        "can_open_processes": current_user.has_role(*SETUP_ROLES),  # the processes page is theirs alone
        "audits": audits,
        "external_audits": external,
        "external_kinds": EXTERNAL_AUDIT_KINDS,
        "days_left": _days_left(review.transition_deadline, today),
        "change_clauses": {i.id: i.new_clause or i.old_clause for i in items},
        "actions_by_item": _actions_by_item(review),
        "can_plan_audit": can_run() and review.state in AUDIT_PLANNING_STATES,
        "transition_clauses": transition_clauses(review),
        "plan_available": _plan_function() is not None,
    }


def _actions_by_item(review: IsoChangeReview) -> dict[int, int]:
    counts: dict[int, int] = {}
    for action in actions_of(review):
        if action.change_item_id is not None and action.status != "cancelled":
            counts[action.change_item_id] = counts.get(action.change_item_id, 0) + 1
    return counts


def _plan_function() -> Callable[..., bytes] | None:
    try:
        from ..reports.reviews import transition_plan_pdf
    except ImportError:
        return None
    return transition_plan_pdf


@bp.route("/reviews/iso-change/<id:review_id>/transition-audit", methods=["POST"])
@login_required
@talisman(content_security_policy=DIAGRAM_CSP)
def plan_audit(review_id: int) -> Any:
    review = _review_or_404("iso-change", review_id)
    if not can_run():
        abort(403)
    form = request.form
    return _change(
        review,
        "transition-audit",
        lambda: plan_transition_audit(
            review,
            current_user,
            planned_start=form.get("planned_start", ""),
            planned_end=form.get("planned_end", "") or None,
        ),
        lambda: f"Transition audit {review.verification_audit.reference} planned with the new clauses' questions.",
        "#transition-audit",
    )


@bp.route("/reviews/iso-change/<id:review_id>/transition-plan.pdf")
@login_required
def transition_plan(review_id: int) -> Response:
    review = _review_or_404("iso-change", review_id)
    build = _plan_function()
    if build is None:
        abort(404, description="The transition plan is not available in this version.")
    current_app.logger.info("transition plan of %s by user %s", review.reference, current_user.id)
    return Response(
        build(review, organisation=current_app.config["QMS_ORGANISATION"], reader=current_user),
        mimetype="application/pdf",
        headers={"Content-Disposition": content_disposition(f"{review.reference}-transition-plan.pdf")},
    )


def _org_context(review: OrgChangeReview, today: dt.date) -> dict[str, Any]:
    editable = can_change() and review.state in IMPACT_STATES
    return {
        "change_kinds": CHANGE_KINDS,
        "impact_areas": IMPACT_AREAS,
        "can_impact": editable,
        "suggestions": suggest_impacts(review, current_user) if editable else [],
        "link_endpoints": LINK_ENDPOINTS,
        "days_left": _days_left(review.target_date, today),
    }


def _management_context(review: ManagementReview, today: dt.date) -> dict[str, Any]:
    inputs = inputs_summary(review, current_user)
    return {
        "inputs": inputs,
        "designs": {key: designed(key, entry.get("compiled")) for key, _label, entry in inputs},
        "missing": set(missing_inputs(review)),
        "can_edit_inputs": can_run() and review.state in INPUT_STATES,
        "pdf_available": _minutes_function() is not None,
        "days_left": _days_left(review.planned_for, today),
    }


def _render(
    review: Any,
    failed: EventFormState | None = None,
    *,
    status: int = 200,
    errors: dict[str, dict[str, str]] | None = None,
    values: MultiDict | None = None,
    message: str = "",
) -> Any:
    today = dt.date.today()
    kind = review_kind(review)
    context = {"iso_change": _iso_context, "org_change": _org_context, "management": _management_context}[kind](
        review, today
    )
    actions = actions_of(review)
    page = render_template(
        TEMPLATES[kind],
        review=review,
        kind=kind,
        slug=SLUGS[kind],
        kind_label=REVIEW_KINDS[kind],
        events=available_events(review, current_user),
        failed=failed,
        history=(history := history_of(review)),
        diagram=lifecycle_diagram(review, history),
        actions=actions,
        open_actions=sum(1 for a in actions if a.status == "open"),
        action_labels=ACTION_STATUS_LABELS,
        can_add_action=can_run() and review.state in ACTION_STATES[kind],
        can_run=can_run(),
        owners=user_choices(*ACTION_OWNER_ROLES),
        output_categories=OUTPUT_CATEGORIES,
        standards=_standard_titles(),
        today=today,
        errors=errors or {},
        values=values or MultiDict(),
        message=message,
        **context,
    )
    return page, status


add_record_routes(
    bp,
    "/reviews/<kind>/<id:review_id>",
    load=_review_or_404,
    render=lambda review, failed, status: _render(review, failed, status=status),
    url=review_url,
)


def _change(review: Any, key: str, change: Callable[[], Any], done: str | Callable[[], str], anchor: str) -> Any:
    """Run one service call for a form on the review page: redirect on success, the errors by the form otherwise."""
    try:
        change()
    except NotPermitted:
        abort(403)
    except InvalidData as exc:
        return _render(review, status=422, errors={key: dict(exc.errors)}, values=request.form)
    except (InvalidTransition, Conflict) as exc:
        return _render(review, status=409, message=exc.message)
    flash(done() if callable(done) else done)
    return redirect(review_url(review, anchor))


# --------------------------------------------------------------------------- review actions (all kinds)


@bp.route("/reviews/<kind>/<id:review_id>/actions", methods=["POST"])
@login_required
@talisman(content_security_policy=DIAGRAM_CSP)
def add_review_action(kind: str, review_id: int) -> Any:
    review = _review_or_404(kind, review_id)
    if not can_run():
        abort(403)
    form = request.form
    owner = form.get("owner_id", "").strip()
    return _change(
        review,
        "action",
        lambda: add_action(
            review,
            current_user,
            title=form.get("title", ""),
            owner_id=int(owner) if owner.isdigit() and len(owner) < 10 else owner,
            due_date=form.get("due_date", ""),
            description=form.get("description", ""),
            category=form.get("category", ""),
            change_item_id=form.get("change_item_id", "").strip() or None,
        ),
        f"Action added: {form.get('title', '').strip()}.",
        "#actions",
    )


def _action_or_404(action_id: int) -> ReviewAction:
    return db.session.get(ReviewAction, action_id) or abort(404)


@bp.route("/review-actions/<id:action_id>/complete", methods=["POST"])
@login_required
@talisman(content_security_policy=DIAGRAM_CSP)
def complete(action_id: int) -> Any:
    action = _action_or_404(action_id)
    review = review_of(action)
    if action.owner_id != current_user.id and not can_run():
        abort(403)
    return _change(
        review,
        f"complete-{action.id}",
        lambda: complete_action(action, current_user, outcome=request.form.get("outcome", "")),
        f"Action done: {action.title}.",
        f"#action-{action.id}",
    )


@bp.route("/review-actions/<id:action_id>/cancel", methods=["POST"])
@login_required
@talisman(content_security_policy=DIAGRAM_CSP)
def cancel(action_id: int) -> Any:
    action = _action_or_404(action_id)
    review = review_of(action)
    if not can_run():
        abort(403)
    return _change(
        review,
        f"cancel-{action.id}",
        lambda: cancel_action(action, current_user, reason=request.form.get("reason", "")),
        f"Action cancelled: {action.title}.",
        f"#action-{action.id}",
    )


# --------------------------------------------------------------------------- ISO change: items and verification


@bp.route("/reviews/iso-change/<id:review_id>/items/<id:item_id>", methods=["POST"])
@login_required
@talisman(content_security_policy=DIAGRAM_CSP)
def assess(review_id: int, item_id: int) -> Any:
    review = _review_or_404("iso-change", review_id)
    item = db.session.get(IsoChangeItem, item_id)
    if item is None or item.review_id != review.id:
        abort(404)
    if not can_run():
        abort(403)
    clause = item.new_clause or item.old_clause
    return _change(
        review,
        f"assess-{item.id}",
        lambda: assess_change(
            item, current_user, status=request.form.get("status", ""), assessment=request.form.get("assessment", "")
        ),
        lambda: f"Clause {clause}: {GAP_STATUSES.get(item.status, item.status).lower()}.",
        f"#item-{item.id}",
    )


@bp.route("/reviews/iso-change/<id:review_id>/verification", methods=["POST"])
@login_required
@talisman(content_security_policy=DIAGRAM_CSP)
def verification(review_id: int) -> Any:
    review = _review_or_404("iso-change", review_id)
    if not can_run():
        abort(403)
    form = request.form
    return _change(
        review,
        "verification",
        lambda: link_verification(
            review,
            current_user,
            audit_id=form.get("audit_id", "").strip() or None,
            external_audit_id=form.get("external_audit_id", "").strip() or None,
        ),
        "Verification linked.",
        "#verification",
    )


# --------------------------------------------------------------------------- organisational change: impacts


@bp.route("/reviews/org-change/<id:review_id>/impacts", methods=["POST"])
@login_required
@talisman(content_security_policy=DIAGRAM_CSP)
def impact(review_id: int) -> Any:
    review = _review_or_404("org-change", review_id)
    if not can_change():
        abort(403)
    form = request.form
    key = "suggestion" if form.get("suggested") else "impact"
    return _change(
        review,
        key,
        lambda: add_impact(
            review,
            current_user,
            area=form.get("area", ""),
            subject=form.get("subject", ""),
            link=form.get("link", ""),
            assessment=form.get("assessment", ""),
        ),
        f"Impact recorded: {form.get('subject', '').strip()}.",
        "#impacts",
    )


@bp.route("/reviews/org-change/<id:review_id>/impacts/<id:impact_id>/remove", methods=["POST"])
@login_required
@talisman(content_security_policy=DIAGRAM_CSP)
def remove(review_id: int, impact_id: int) -> Any:
    review = _review_or_404("org-change", review_id)
    found = db.session.get(ChangeImpact, impact_id)
    if found is None or found.review_id != review.id:
        abort(404)
    if not can_change():
        abort(403)
    subject = found.subject
    return _change(
        review,
        f"remove-{impact_id}",
        lambda: remove_impact(found, current_user),
        f"Impact removed: {subject}.",
        "#impacts",
    )


# --------------------------------------------------------------------------- management review: inputs, minutes


@bp.route("/reviews/management/<id:review_id>/compile", methods=["POST"])
@login_required
@talisman(content_security_policy=DIAGRAM_CSP)
def compile_from_records(review_id: int) -> Any:
    review = _review_or_404("management", review_id)
    if not can_run():
        abort(403)
    return _change(
        review,
        "compile",
        lambda: compile_inputs(review, current_user),
        lambda: f"Inputs compiled from the records of {review.period_start} to {review.period_end}.",
        "#inputs",
    )


@bp.route("/reviews/management/<id:review_id>/inputs/<key>", methods=["POST"])
@login_required
@talisman(content_security_policy=DIAGRAM_CSP)
def notes(review_id: int, key: str) -> Any:
    review = _review_or_404("management", review_id)
    if key not in MANAGEMENT_REVIEW_INPUTS:
        abort(404)
    if not can_run():
        abort(403)
    return _change(
        review,
        f"notes-{key}",
        lambda: set_input_notes(review, current_user, key, request.form.get("notes", "")),
        f"Notes saved: {MANAGEMENT_REVIEW_INPUTS[key]}.",
        f"#input-{key}",
    )


def _minutes_function() -> Callable[..., bytes] | None:
    try:
        from ..reports.reviews import management_review_pdf
    except ImportError:
        return None
    return management_review_pdf


@bp.route("/reviews/management/<id:review_id>/minutes.pdf")
@login_required
def minutes(review_id: int) -> Response:
    review = _review_or_404("management", review_id)
    build = _minutes_function()
    if build is None:
        abort(404, description="The minutes report is not available in this version.")
    current_app.logger.info("management review minutes of %s by user %s", review.reference, current_user.id)
    return Response(
        build(review, organisation=current_app.config["QMS_ORGANISATION"], reader=current_user),
        mimetype="application/pdf",
        headers={"Content-Disposition": content_disposition(f"{review.reference}-minutes.pdf")},
    )
