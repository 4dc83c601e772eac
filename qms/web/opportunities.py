"""Opportunities for improvement and innovation (ISO 9001 6.1.3): the pipeline register, proposing an
idea, the opportunity's page (evaluation, the committee's signed decisions, the pilot, adoption and
the benefit realised, intellectual-property notes), and the innovation committees.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from workflows import get_lifecycle
from workflows.errors import InvalidData, NotPermitted

from ..database import db
from ..models import EDGE_LABELS, OPPORTUNITY_SOURCES, InnovationCommittee, Opportunity
from ..services import available_events, history_of
from ..services.opportunities import (
    COMMITTEE_ROLES,
    MEMBER_ROLES,
    OWNER_ROLES,
    PROPOSE_ROLES,
    create_committee,
    propose_opportunity,
    update_opportunity,
)
from ..services.opportunities import (
    committees as all_committees,
)
from .events import EventFormState, add_record_routes, lifecycle_diagram
from .forms import apply_errors, process_choices, user_choices
from .paging import register_page

bp = Blueprint("opportunities", __name__)
SOURCE_CHOICES = [(k, v) for k, v in OPPORTUNITY_SOURCES.items() if k != "objective_missed"]


def _opportunity_or_404(opportunity_id: int) -> Opportunity:
    return db.session.get(Opportunity, opportunity_id) or abort(404)


def committee_choices(blank: str = "—") -> list[tuple[int, str]]:
    return [(0, blank)] + [(c.id, c.name) for c in all_committees()]


@bp.route("/opportunities")
@login_required
def register() -> str:
    lifecycle = get_lifecycle("opportunity")
    state = request.args.get("state", "")
    state = state if state in {s.name for s in lifecycle.states} or state == "open" else ""
    edge = request.args.get("edge", "")
    edge = edge if edge in EDGE_LABELS else ""
    query = select(Opportunity).options(selectinload(Opportunity.owner), selectinload(Opportunity.committee))
    if state == "open":
        query = query.where(Opportunity.state.in_(Opportunity.OPEN_STATES))
    elif state:
        query = query.where(Opportunity.state == state)
    if edge:
        query = query.where(Opportunity.edge_category == edge)
    query = query.order_by(Opportunity.created_at.desc(), Opportunity.id.desc())
    pagination = register_page(query)
    args = {k: v for k, v in {"state": state, "edge": edge}.items() if v}
    return render_template(
        "opportunities/list.html",
        pagination=pagination,
        args=args,
        lifecycle=lifecycle,
        edges=EDGE_LABELS,
        sources=OPPORTUNITY_SOURCES,
        today=dt.date.today(),
        can_propose=current_user.has_role(*PROPOSE_ROLES),
    )


class OpportunityForm(FlaskForm):
    title = StringField("Idea", validators=[DataRequired(), Length(max=200)])
    description = TextAreaField("Description", validators=[DataRequired(), Length(max=10_000)])
    source = SelectField("Where it came from", choices=SOURCE_CHOICES, default="staff")
    process_id = SelectField("Process", coerce=int, validators=[Optional()], default=0)
    owner_id = SelectField("Owner", coerce=int, validators=[Optional()], default=0)
    committee_id = SelectField("Innovation committee", coerce=int, validators=[Optional()], default=0)
    ip_notes = TextAreaField(
        "Intellectual-property notes",
        validators=[Optional(), Length(max=5000)],
        description="Patents, trademarks or copyright to consider or protect. A record, not legal advice.",
    )


def _form(obj: Any = None) -> OpportunityForm:
    form = OpportunityForm(obj=obj)
    form.process_id.choices = process_choices("—")
    form.owner_id.choices = user_choices(*OWNER_ROLES, blank="Me")
    form.committee_id.choices = committee_choices()
    return form


@bp.route("/opportunities/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    if not current_user.has_role(*PROPOSE_ROLES):
        abort(403)
    from ..models import Survey
    from ..services.opportunities import survey_source

    # raised from a survey (or one of its trends): prefilled, linked both ways
    survey_id = request.values.get("survey_id", type=int)
    trend = str(request.values.get("trend", ""))[:120]
    try:
        origin = survey_source(survey_id, trend) if survey_id else {}
    except InvalidData:
        abort(404)
    survey = db.session.get(Survey, survey_id) if origin else None
    form = _form()
    if request.method == "GET" and survey is not None:
        form.source.data = "survey"
        form.title.data = f"Improve satisfaction: {survey.title}"[:200]
        form.description.data = origin.get("source_detail") or f"From survey {survey.reference}."
    if form.validate_on_submit():
        data = {name: getattr(form, name).data for name in ("title", "description", "source", "ip_notes")}
        data |= {name: getattr(form, name).data or None for name in ("process_id", "owner_id", "committee_id")}
        if survey is not None:
            data |= {"survey_id": survey.id, "trend": trend or None}
        try:
            opportunity = propose_opportunity(current_user, **data)
        except InvalidData as exc:
            apply_errors(form, exc.errors)
        else:
            flash(f"{opportunity.reference} proposed.")
            return redirect(url_for("opportunities.detail", opportunity_id=opportunity.id))
    page = render_template(
        "opportunities/new.html", form=form, survey=survey, trend=trend, detail=origin.get("source_detail", "")
    )
    return page, (422 if form.errors else 200)


class EditForm(FlaskForm):
    description = TextAreaField("Description", validators=[DataRequired(), Length(max=10_000)])
    owner_id = SelectField("Owner", coerce=int, validators=[Optional()])
    committee_id = SelectField("Innovation committee", coerce=int, validators=[Optional()], default=0)
    ip_notes = TextAreaField(
        "Intellectual-property notes",
        validators=[Optional(), Length(max=5000)],
        description="Patents, trademarks or copyright to consider or protect. A record, not legal advice.",
    )


def _edit_form(opportunity: Opportunity, formdata: Any = None) -> EditForm:
    form = EditForm(formdata=formdata, obj=opportunity)
    form.owner_id.choices = user_choices(*OWNER_ROLES)
    form.committee_id.choices = committee_choices()
    return form


def _render_detail(
    opportunity: Opportunity, failed: EventFormState | None = None, status: int = 200, form: EditForm | None = None
) -> Any:
    may_edit = opportunity.state in Opportunity.OPEN_STATES and (
        opportunity.owner_id == current_user.id or current_user.has_role(*COMMITTEE_ROLES)
    )
    history = history_of(opportunity)
    page = render_template(
        "opportunities/detail.html",
        opportunity=opportunity,
        events=available_events(opportunity, current_user),
        failed=failed,
        history=history,
        diagram=lifecycle_diagram(opportunity, history),
        edges=EDGE_LABELS,
        sources=OPPORTUNITY_SOURCES,
        form=form or (_edit_form(opportunity, formdata=None) if may_edit else None),
        today=dt.date.today(),
    )
    return page, status


add_record_routes(
    bp,
    "/opportunities/<id:opportunity_id>",
    load=lambda opportunity_id: _opportunity_or_404(opportunity_id),
    render=_render_detail,
    url=lambda opportunity: url_for("opportunities.detail", opportunity_id=opportunity.id),
)


@bp.route("/opportunities/<id:opportunity_id>/edit", methods=["POST"])
@login_required
def edit(opportunity_id: int) -> Any:
    opportunity = _opportunity_or_404(opportunity_id)
    if not (opportunity.owner_id == current_user.id or current_user.has_role(*COMMITTEE_ROLES)):
        abort(403)
    form = _edit_form(opportunity, formdata=request.form)
    if form.validate():
        changes: dict[str, Any] = {"description": form.description.data, "ip_notes": form.ip_notes.data or ""}
        changes["owner_id"] = form.owner_id.data
        if opportunity.state in ("proposed", "evaluated"):
            changes["committee_id"] = form.committee_id.data or None
        try:
            update_opportunity(opportunity, current_user, **changes)
        except NotPermitted:
            abort(403)
        except InvalidData as exc:
            apply_errors(form, exc.errors)
        else:
            flash("Opportunity saved.")
            return redirect(url_for("opportunities.detail", opportunity_id=opportunity.id))
    return _render_detail(opportunity, status=422, form=form)


class CommitteeForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    remit = TextAreaField("Remit", validators=[Optional(), Length(max=5000)])
    chair_id = SelectField("Chair", coerce=int, validators=[DataRequired()])
    member_ids = SelectMultipleField("Members", coerce=int, validators=[Optional()])


@bp.route("/opportunities/committees", methods=["GET", "POST"])
@login_required
def committees() -> Any:
    can_manage = current_user.has_role(*COMMITTEE_ROLES)
    form = CommitteeForm() if can_manage else None
    if form is not None:
        people = user_choices(*MEMBER_ROLES)
        form.chair_id.choices = people
        form.member_ids.choices = people
    if request.method == "POST":
        if form is None:
            abort(403)
        if form.validate_on_submit():
            try:
                committee = create_committee(
                    current_user,
                    name=form.name.data,
                    remit=form.remit.data or "",
                    chair_id=form.chair_id.data,
                    member_ids=form.member_ids.data or [],
                )
            except InvalidData as exc:
                apply_errors(form, exc.errors)
            else:
                flash(f"{committee.name} set up.")
                return redirect(url_for("opportunities.committees"))
    listed = list(
        db.session.scalars(
            select(InnovationCommittee)
            .options(selectinload(InnovationCommittee.members), selectinload(InnovationCommittee.chair))
            .order_by(InnovationCommittee.name)
        )
    )
    status = 422 if form is not None and form.errors else 200
    return render_template("opportunities/committees.html", committees=listed, form=form), status
