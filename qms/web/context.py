"""The context of the organisation (ISO 9001 4.1, 4.2): the SWOT board, the issues and interested
parties (each with an owner and a review date), the printable context summary, and the periodic
context review with its climate-change question.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from workflows import get_lifecycle
from workflows.errors import InvalidData, NotPermitted

from ..database import db
from ..downloads import content_disposition
from ..models import (
    PARTY_CATEGORIES,
    PESTLE,
    SWOT,
    SWOT_ONE,
    SWOT_PLURALS,
    ContextIssue,
    ContextReview,
    InterestedParty,
)
from ..services import available_events, history_of
from ..services.context import (
    CONTEXT_ROLES,
    OWNER_ROLES,
    can_edit_item,
    issue_list,
    last_completed_review,
    party_list,
    plan_context_review,
    save_issue,
    save_party,
    swot_board,
)
from .events import EventFormState, add_record_routes, lifecycle_diagram
from .forms import apply_errors, site_choices, user_choices
from .paging import register_page

bp = Blueprint("context", __name__)


def _can_keep() -> bool:
    return current_user.has_role(*CONTEXT_ROLES)


def _site_arg() -> int | None:
    site = request.args.get("site", type=int)
    return site if site and 0 < site < 2**31 else None


@bp.route("/context")
@login_required
def index() -> str:
    site = _site_arg()
    today = dt.date.today()
    return render_template(
        "context/index.html",
        board=swot_board(site),
        swot=SWOT,
        swot_plurals=SWOT_PLURALS,
        swot_one=SWOT_ONE,
        pestle=PESTLE,
        sites=site_choices("The whole organisation"),
        site=site,
        last_review=last_completed_review(site),
        today=today,
        can_keep=_can_keep(),
    )


# --------------------------------------------------------------------------- issues


class IssueForm(FlaskForm):
    title = StringField("Issue", validators=[DataRequired(), Length(max=200)])
    description = TextAreaField("Details", validators=[Optional(), Length(max=5000)])
    swot = SelectField("SWOT quadrant", choices=list(SWOT.items()), validators=[DataRequired()])
    pestle = SelectField("PESTLE category", choices=[("", "—"), *PESTLE.items()], validators=[Optional()])
    site_id = SelectField("Site", coerce=int, validators=[Optional()], default=0)
    owner_id = SelectField("Owner", coerce=int, validators=[DataRequired(message="Choose an owner")])
    review_on = DateField("Review by", validators=[DataRequired(message="Give a date (YYYY-MM-DD)")])
    climate_related = BooleanField("Related to climate change")
    active = BooleanField("Still relevant", default=True)


def _issue_form(formdata: Any = None, **data: Any) -> IssueForm:
    form = IssueForm(formdata=formdata, **data) if formdata is not None else IssueForm(**data)
    form.site_id.choices = site_choices("The whole organisation")
    form.owner_id.choices = user_choices(*OWNER_ROLES)
    return form


def _issue_values(form: IssueForm) -> dict[str, Any]:
    return {
        "title": form.title.data or "",
        "description": form.description.data or "",
        "swot": form.swot.data,
        "pestle": form.pestle.data or None,
        "site_id": form.site_id.data or None,
        "owner_id": form.owner_id.data,
        "review_on": form.review_on.data,
        "climate_related": bool(form.climate_related.data),
    }


@bp.route("/context/issues")
@login_required
def issues() -> str:
    swot = request.args.get("swot", "")
    pestle = request.args.get("pestle", "")
    q = request.args.get("q", "").replace("\x00", "").strip()[:200]
    site = _site_arg()
    archived = request.args.get("archived") == "1"
    query = issue_list(swot=swot, pestle=pestle, site=site, q=q, active=not archived)
    pagination = register_page(query)
    args = {
        k: v
        for k, v in {
            "swot": swot if swot in SWOT else "",
            "pestle": pestle if pestle in PESTLE else "",
            "q": q,
            "site": site or "",
            "archived": "1" if archived else "",
        }.items()
        if v
    }
    return render_template(
        "context/issues.html",
        pagination=pagination,
        args=args,
        swot=SWOT,
        pestle=PESTLE,
        sites=site_choices("Any"),
        today=dt.date.today(),
        can_keep=_can_keep(),
    )


@bp.route("/context/issues/new", methods=["GET", "POST"])
@login_required
def new_issue() -> Any:
    if not _can_keep():
        abort(403)
    swot = request.args.get("swot", "")
    form = (
        _issue_form(request.form)
        if request.method == "POST"
        else _issue_form(
            None,
            swot=swot if swot in SWOT else "strength",
            review_on=dt.date.today() + dt.timedelta(days=365),
            owner_id=current_user.id,
        )
    )
    if form.validate_on_submit():
        try:
            issue = save_issue(current_user, _issue_values(form))
        except InvalidData as exc:
            apply_errors(form, exc.errors)
        else:
            flash(f"{issue.reference} recorded.")
            return redirect(url_for("context.index") + f"#quadrant-{issue.swot}")
    return render_template("context/issue_form.html", form=form, issue=None), (422 if form.errors else 200)


@bp.route("/context/issues/<id:issue_id>", methods=["GET", "POST"])
@login_required
def issue(issue_id: int) -> Any:
    item = db.session.get(ContextIssue, issue_id) or abort(404)
    editable = can_edit_item(item, current_user)
    if request.method == "POST":
        if not editable:
            abort(403)
        form = _issue_form(request.form)
        if form.validate():
            values = _issue_values(form) | {"active": bool(form.active.data)}
            try:
                save_issue(current_user, values, item)
            except InvalidData as exc:
                apply_errors(form, exc.errors)
            except NotPermitted:
                abort(403)
            else:
                flash(f"{item.reference} saved.")
                return redirect(url_for("context.issue", issue_id=item.id))
    else:
        form = _issue_form(
            None,
            title=item.title,
            description=item.description,
            swot=item.swot,
            pestle=item.pestle or "",
            site_id=item.site_id or 0,
            owner_id=item.owner_id,
            review_on=item.review_on,
            climate_related=item.climate_related,
            active=item.active,
        )
    page = render_template(
        "context/issue_form.html",
        form=form,
        issue=item,
        editable=editable,
        swot=SWOT,
        pestle=PESTLE,
        today=dt.date.today(),
    )
    return page, (422 if form.errors else 200)


# --------------------------------------------------------------------------- interested parties


class PartyForm(FlaskForm):
    name = StringField("Interested party", validators=[DataRequired(), Length(max=200)])
    category = SelectField("Kind", choices=list(PARTY_CATEGORIES.items()), validators=[DataRequired()])
    needs = TextAreaField("Needs and expectations", validators=[Optional(), Length(max=5000)])
    requirements = TextAreaField("Requirements relevant to the QMS", validators=[DataRequired(), Length(max=5000)])
    monitoring = TextAreaField("How they are monitored", validators=[DataRequired(), Length(max=5000)])
    climate_requirements = TextAreaField(
        "Climate-related requirements (optional)", validators=[Optional(), Length(max=5000)]
    )
    site_id = SelectField("Site", coerce=int, validators=[Optional()], default=0)
    owner_id = SelectField("Owner", coerce=int, validators=[DataRequired(message="Choose an owner")])
    review_on = DateField("Review by", validators=[DataRequired(message="Give a date (YYYY-MM-DD)")])
    active = BooleanField("Still relevant", default=True)


def _party_form(formdata: Any = None, **data: Any) -> PartyForm:
    form = PartyForm(formdata=formdata, **data) if formdata is not None else PartyForm(**data)
    form.site_id.choices = site_choices("The whole organisation")
    form.owner_id.choices = user_choices(*OWNER_ROLES)
    return form


def _party_values(form: PartyForm) -> dict[str, Any]:
    names = ("name", "category", "needs", "requirements", "monitoring", "climate_requirements")
    values: dict[str, Any] = {name: getattr(form, name).data or "" for name in names}
    values |= {"site_id": form.site_id.data or None, "owner_id": form.owner_id.data, "review_on": form.review_on.data}
    return values


@bp.route("/context/parties")
@login_required
def parties() -> str:
    category = request.args.get("category", "")
    q = request.args.get("q", "").replace("\x00", "").strip()[:200]
    pagination = register_page(party_list(category=category, q=q))
    args = {k: v for k, v in {"category": category if category in PARTY_CATEGORIES else "", "q": q}.items() if v}
    return render_template(
        "context/parties.html",
        pagination=pagination,
        args=args,
        categories=PARTY_CATEGORIES,
        today=dt.date.today(),
        can_keep=_can_keep(),
    )


@bp.route("/context/parties/new", methods=["GET", "POST"])
@login_required
def new_party() -> Any:
    if not _can_keep():
        abort(403)
    form = (
        _party_form(request.form)
        if request.method == "POST"
        else _party_form(None, review_on=dt.date.today() + dt.timedelta(days=365), owner_id=current_user.id)
    )
    if form.validate_on_submit():
        try:
            party = save_party(current_user, _party_values(form))
        except InvalidData as exc:
            apply_errors(form, exc.errors)
        else:
            flash(f"{party.reference} recorded.")
            return redirect(url_for("context.parties"))
    return render_template("context/party_form.html", form=form, party=None), (422 if form.errors else 200)


@bp.route("/context/parties/<id:party_id>", methods=["GET", "POST"])
@login_required
def party(party_id: int) -> Any:
    item = db.session.get(InterestedParty, party_id) or abort(404)
    editable = can_edit_item(item, current_user)
    if request.method == "POST":
        if not editable:
            abort(403)
        form = _party_form(request.form)
        if form.validate():
            try:
                save_party(current_user, _party_values(form) | {"active": bool(form.active.data)}, item)
            except InvalidData as exc:
                apply_errors(form, exc.errors)
            except NotPermitted:
                abort(403)
            else:
                flash(f"{item.reference} saved.")
                return redirect(url_for("context.party", party_id=item.id))
    else:
        form = _party_form(
            None,
            **{n: getattr(item, n) for n in ("name", "category", "needs", "requirements", "monitoring")},
            climate_requirements=item.climate_requirements,
            site_id=item.site_id or 0,
            owner_id=item.owner_id,
            review_on=item.review_on,
            active=item.active,
        )
    page = render_template(
        "context/party_form.html",
        form=form,
        party=item,
        editable=editable,
        categories=PARTY_CATEGORIES,
        today=dt.date.today(),
    )
    return page, (422 if form.errors else 200)


# --------------------------------------------------------------------------- the summary PDF


@bp.route("/context/summary.pdf")
@login_required
def summary_pdf() -> Response:
    from ..reports.context import context_summary_pdf

    return Response(
        context_summary_pdf(current_app.config["QMS_ORGANISATION"], site_id=_site_arg()),
        mimetype="application/pdf",
        headers={"Content-Disposition": content_disposition("context-summary.pdf", inline=True)},
    )


# --------------------------------------------------------------------------- context reviews


class ReviewForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    planned_for = DateField("Planned for", validators=[DataRequired(message="Give a date (YYYY-MM-DD)")])
    scope = TextAreaField("Scope", validators=[Optional(), Length(max=5000)])
    chair_id = SelectField("Chair", coerce=int, validators=[Optional()], default=0)
    site_id = SelectField("Site", coerce=int, validators=[Optional()], default=0)


@bp.route("/context/reviews")
@login_required
def reviews() -> str:
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    query = (
        select(ContextReview)
        .options(selectinload(ContextReview.chair))
        .order_by(ContextReview.planned_for.desc(), ContextReview.id.desc())
    )
    pagination = register_page(query)
    return render_template("context/reviews.html", pagination=pagination, today=dt.date.today(), can_keep=_can_keep())


@bp.route("/context/reviews/new", methods=["GET", "POST"])
@login_required
def new_review() -> Any:
    if not _can_keep():
        abort(403)
    form = ReviewForm()
    form.chair_id.choices = user_choices("manager", "quality_officer", blank="Me")
    form.site_id.choices = site_choices("The whole organisation")
    if form.validate_on_submit():
        try:
            review = plan_context_review(
                current_user,
                title=form.title.data,
                planned_for=form.planned_for.data,
                scope=form.scope.data or "",
                chair_id=form.chair_id.data or None,
                site_id=form.site_id.data or None,
            )
        except InvalidData as exc:
            apply_errors(form, exc.errors)
        else:
            flash(f"{review.reference} planned.")
            return redirect(url_for("context.review_detail", review_id=review.id))
    return render_template("context/review_new.html", form=form), (422 if form.errors else 200)


def _render_review(review: ContextReview, failed: EventFormState | None = None, status: int = 200) -> Any:
    page = render_template(
        "context/review.html",
        review=review,
        events=available_events(review, current_user),
        failed=failed,
        history=history_of(review),
        diagram=lifecycle_diagram(review, history_of(review)),
        lifecycle=get_lifecycle("context_review"),
        today=dt.date.today(),
    )
    return page, status


add_record_routes(
    bp,
    "/context/reviews/<id:review_id>",
    load=lambda review_id: db.session.get(ContextReview, review_id) or abort(404),
    render=_render_review,
    url=lambda review: url_for("context.review_detail", review_id=review.id),
    detail="review_detail",
    fire_event="fire_review_event",
)
