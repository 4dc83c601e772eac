"""Customer complaints (ISO 10002): the register, logging a complaint from any channel, the complaint
page with its lifecycle, the virtual platforms report, and the public complaint form ``/feedback``.

``/feedback`` is one of the two unauthenticated write paths (with the survey page): it accepts only
its own fields, refuses oversize bodies, is rate limited, and silently discards submissions that
fill the honeypot field a person never sees.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload
from wtforms import DateTimeLocalField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from workflows import get_lifecycle
from workflows.errors import InvalidData, NotPermitted

from ..database import db
from ..downloads import content_disposition
from ..models import CHANNELS, VIRTUAL_PLATFORMS, Complaint
from ..security import limiter
from ..services import available_events, available_events_many, history_of
from ..services.complaints import LOG_ROLES, OWNER_ROLES, log_complaint, platform_figures, submit_public_complaint
from ..services.filters import distinct_values
from .events import EventFormState, add_record_routes, lifecycle_diagram
from .forms import apply_errors, user_choices
from .paging import register_page
from .surveys import PUBLIC_LIMIT, limited_form, too_large

bp = Blueprint("complaints", __name__)
PUBLIC_FIELDS = ("summary", "description", "customer_name", "customer_contact", "service", "remedy_sought")
#: a field people never see (hidden by the stylesheet, skipped by screen readers); bots fill it in
HONEYPOT = "website"
MAX_REPORT_DAYS = 3 * 366
LOGGED_FIELDS = (
    "channel",
    "customer_name",
    "customer_handle",
    "customer_contact",
    "post_url",
    "service",
    "summary",
    "description",
    "remedy_sought",
)


def can_log() -> bool:
    return current_user.has_role(*LOG_ROLES)


def _complaint_or_404(complaint_id: int) -> Complaint:
    return db.session.get(Complaint, complaint_id) or abort(404)


# --------------------------------------------------------------------------- the register


def _overdue_condition(today: dt.date) -> Any:
    return or_(
        and_(Complaint.state == "received", Complaint.acknowledge_due < today),
        and_(Complaint.state.in_(Complaint.OPEN_STATES), Complaint.resolve_due < today),
    )


@bp.route("/complaints")
@login_required
def register() -> str:
    lifecycle = get_lifecycle("complaint")
    today = dt.date.today()
    channel = request.args.get("channel", "")
    channel = channel if channel in CHANNELS or channel == "virtual" else ""
    state = request.args.get("state", "")
    state = state if state in {s.name for s in lifecycle.states} or state == "open" else ""
    service = request.args.get("service", "")[:120]
    overdue = request.args.get("overdue") == "1"
    query = select(Complaint).options(selectinload(Complaint.owner), selectinload(Complaint.nonconformity))
    if channel == "virtual":
        query = query.where(Complaint.channel.in_(VIRTUAL_PLATFORMS))
    elif channel:
        query = query.where(Complaint.channel == channel)
    if state == "open":
        query = query.where(Complaint.state.in_(Complaint.OPEN_STATES))
    elif state:
        query = query.where(Complaint.state == state)
    if service:
        query = query.where(Complaint.service == service)
    if overdue:
        query = query.where(_overdue_condition(today))
    query = query.order_by(Complaint.received_at.desc(), Complaint.id.desc())
    pagination = register_page(query)
    services = distinct_values(Complaint.service)
    args = {
        k: v
        for k, v in {"channel": channel, "state": state, "service": service, "overdue": "1" if overdue else ""}.items()
        if v
    }
    return render_template(
        "complaints/list.html",
        pagination=pagination,
        available=available_events_many(pagination.items, current_user),
        args=args,
        lifecycle=lifecycle,
        channels=CHANNELS,
        virtual=VIRTUAL_PLATFORMS,
        services=services,
        today=today,
        can_log=can_log(),
    )


# --------------------------------------------------------------------------- logging a complaint


class ComplaintForm(FlaskForm):
    channel = SelectField("Channel", choices=list(CHANNELS.items()), validators=[DataRequired()])
    customer_name = StringField("Customer name", validators=[Optional(), Length(max=200)])
    customer_handle = StringField(
        "Customer handle or number",
        validators=[Optional(), Length(max=200)],
        description="@handle, page name or phone number on the platform.",
    )
    customer_contact = StringField("Contact (e-mail or phone)", validators=[Optional(), Length(max=254)])
    post_url = StringField(
        "Link to the post or message",
        validators=[Optional(), Length(max=500)],
        description="A web address starting with https:// (for social platforms: the handle or this link).",
    )
    service = StringField("Service concerned", validators=[Optional(), Length(max=120)])
    summary = StringField("Summary", validators=[DataRequired(), Length(max=200)])
    description = TextAreaField("What the customer said", validators=[DataRequired(), Length(max=10_000)])
    remedy_sought = TextAreaField("Remedy the customer seeks", validators=[Optional(), Length(max=5000)])
    received_at = DateTimeLocalField(
        "Received at (UTC)",
        format="%Y-%m-%dT%H:%M",
        validators=[Optional()],
        description="Leave empty for now.",
    )
    owner_id = SelectField("Owner", coerce=int, validators=[Optional()], default=0)


@bp.route("/complaints/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    if not can_log():
        abort(403)
    form = ComplaintForm()
    form.owner_id.choices = user_choices(*OWNER_ROLES, blank="Me")
    if form.validate_on_submit():
        fields: dict[str, Any] = {name: getattr(form, name).data or "" for name in LOGGED_FIELDS}
        fields["received_at"] = form.received_at.data
        fields["owner_id"] = form.owner_id.data or None
        try:
            complaint = log_complaint(current_user, **fields)
        except InvalidData as exc:
            apply_errors(form, exc.errors)
        except NotPermitted:
            abort(403)
        else:
            flash(f"{complaint.reference} logged. Acknowledge it by {complaint.acknowledge_due}.")
            return redirect(url_for("complaints.detail", complaint_id=complaint.id))
    return render_template("complaints/new.html", form=form, virtual=VIRTUAL_PLATFORMS), (422 if form.errors else 200)


# --------------------------------------------------------------------------- the complaint page


def _render_detail(complaint: Complaint, failed: EventFormState | None = None, status: int = 200) -> Any:
    page = render_template(
        "complaints/detail.html",
        complaint=complaint,
        events=available_events(complaint, current_user),
        failed=failed,
        history=(history := history_of(complaint)),
        diagram=lifecycle_diagram(complaint, history),
        channels=CHANNELS,
        today=dt.date.today(),
    )
    return page, status


add_record_routes(
    bp,
    "/complaints/<id:complaint_id>",
    load=lambda complaint_id: _complaint_or_404(complaint_id),
    render=_render_detail,
    url=lambda complaint: url_for("complaints.detail", complaint_id=complaint.id),
)

# --------------------------------------------------------------------------- the virtual platforms report


def _report_period() -> tuple[dt.date, dt.date, str]:
    """(start, end, error) from ?start=&end=; the last 90 days by default."""
    today = dt.date.today()
    start, end = today - dt.timedelta(days=90), today
    error = ""
    try:
        if request.args.get("start"):
            start = dt.date.fromisoformat(request.args["start"][:10])
        if request.args.get("end"):
            end = dt.date.fromisoformat(request.args["end"][:10])
    except ValueError:
        return today - dt.timedelta(days=90), today, "Dates must be written YYYY-MM-DD."
    if start > end:
        error = "The start must not be after the end."
    elif (end - start).days > MAX_REPORT_DAYS:
        error = "The period can be at most three years."
    if error:
        return today - dt.timedelta(days=90), today, error
    return start, end, ""


@bp.route("/complaints/platforms")
@login_required
def platforms() -> Any:
    start, end, error = _report_period()
    figures = platform_figures(start, end)
    others = platform_figures(start, end, channels=[c for c in CHANNELS if c not in VIRTUAL_PLATFORMS])
    page = render_template(
        "complaints/platforms.html",
        start=start,
        end=end,
        error=error,
        figures=figures,
        others=others,
        channels=CHANNELS,
        states={s.name: s.label for s in get_lifecycle("complaint").states},
    )
    return page, (422 if error else 200)


@bp.route("/complaints/platforms.pdf")
@login_required
def platforms_pdf() -> Response:
    start, end, error = _report_period()
    if error:
        abort(422, description=error)
    from ..reports.complaints import virtual_platforms_report_pdf

    return Response(
        virtual_platforms_report_pdf(start, end, organisation=current_app.config["QMS_ORGANISATION"]),
        mimetype="application/pdf",
        headers={"Content-Disposition": content_disposition(f"virtual-platforms-{start}-{end}.pdf", inline=True)},
    )


# --------------------------------------------------------------------------- the public complaint form


class PublicComplaintForm(FlaskForm):
    summary = StringField("In a few words, what went wrong?", validators=[DataRequired(), Length(max=200)])
    description = TextAreaField("Tell us what happened", validators=[DataRequired(), Length(max=10_000)])
    service = StringField("Which service or branch? (optional)", validators=[Optional(), Length(max=120)])
    remedy_sought = TextAreaField(
        "What would put it right for you? (optional)", validators=[Optional(), Length(max=5000)]
    )
    customer_name = StringField("Your name (optional)", validators=[Optional(), Length(max=200)])
    customer_contact = StringField(
        "Your e-mail or phone number",
        validators=[DataRequired(), Length(max=254)],
        description="So that we can reply to you.",
    )


@bp.route("/feedback", methods=["GET", "POST"])
@limiter.limit(PUBLIC_LIMIT, methods=["POST"])
def feedback() -> Any:
    if request.method == "POST":
        posted = limited_form()
        if posted is None:
            return too_large()
        if posted.get(HONEYPOT):
            current_app.logger.info("public complaint form: honeypot filled, submission discarded")
            session.pop("feedback_reference", None)
            return redirect(url_for("complaints.feedback_thanks"))
        form = PublicComplaintForm(formdata=posted)
        unknown = sorted(name for name in posted if name not in {*PUBLIC_FIELDS, "csrf_token", HONEYPOT})
        if unknown:
            flash_error = "The form contained fields it does not ask for: " + ", ".join(n[:40] for n in unknown[:10])
            return render_template("complaints/public_form.html", form=form, form_error=flash_error), 422
        if form.validate():
            try:
                complaint = submit_public_complaint(**{name: getattr(form, name).data or "" for name in PUBLIC_FIELDS})
            except InvalidData as exc:
                apply_errors(form, exc.errors)
            else:
                session["feedback_reference"] = complaint.reference
                return redirect(url_for("complaints.feedback_thanks"))
        return render_template("complaints/public_form.html", form=form, form_error=""), 422
    return render_template("complaints/public_form.html", form=PublicComplaintForm(formdata=None), form_error="")


@bp.route("/feedback/thanks")
def feedback_thanks() -> str:
    return render_template("complaints/public_thanks.html", reference=session.pop("feedback_reference", None))
