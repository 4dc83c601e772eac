"""Customer satisfaction surveys: the survey list, the editor, the survey page with its results,
invitations, CSV import and rules, and the public response page ``/s/<token>`` (no sign-in).

The public page is one of the two unauthenticated write paths (with ``/feedback``): it accepts
only the fields the survey defines, refuses oversize bodies, is rate limited, and reveals
nothing about other responses.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
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
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from workflows import get_lifecycle
from workflows.errors import InvalidData, InvalidTransition, NotPermitted

from ..database import db, id_in
from ..downloads import content_disposition
from ..models import (
    CHANNELS,
    QUESTION_KINDS,
    RULE_ACTIONS,
    SCALES,
    SERVQUAL_DIMENSIONS,
    Complaint,
    Nonconformity,
    Survey,
    SurveyAnswer,
    SurveyQuestion,
    SurveyResponse,
)
from ..security import DIAGRAM_CSP, limiter, talisman
from ..services import available_events, history_of
from ..services.notifications import public_url as public_address
from ..services.surveys import (
    MANAGE_ROLES,
    MAX_TEXT_ANSWER,
    PERIODS,
    TrendPoint,
    accepts_responses,
    add_question,
    apply_rules,
    create_invitations,
    create_survey,
    import_responses_csv,
    invitation_for,
    remove_question,
    renew_public_link,
    response_rate,
    segments,
    submit_response,
    survey_for_token,
    survey_measures,
    trend,
    triggers_of,
    update_question,
    update_survey,
    verbatims,
)
from .events import EventFormState, add_record_routes, lifecycle_diagram
from .forms import apply_errors
from .paging import register_page

bp = Blueprint("surveys", __name__)
#: the largest body the public pages accept (a survey of 60 questions with long answers fits)
PUBLIC_MAX_BYTES = 64 * 1024
PUBLIC_LIMIT = "20 per minute;200 per hour"
NEW_QUESTION_ROWS = 3
MAX_QUESTION_ROWS = 60
QUESTION_FIELDS = ("kind", "text", "choices", "dimension", "weight", "required")


def can_manage() -> bool:
    return current_user.is_authenticated and current_user.has_role(*MANAGE_ROLES)


def _survey_or_404(survey_id: int) -> Survey:
    return db.session.get(Survey, survey_id) or abort(404)


def _question_or_404(survey: Survey, question_id: int) -> SurveyQuestion:
    question = db.session.get(SurveyQuestion, question_id)
    if question is None or question.survey_id != survey.id:
        abort(404)
    return question


def public_url(survey: Survey) -> str:
    return public_address("surveys.public", token=survey.public_token)


# --------------------------------------------------------------------------- the survey list


@bp.route("/surveys")
@login_required
def index() -> str:
    lifecycle = get_lifecycle("survey")
    state = request.args.get("state", "")
    state = state if state in {s.name for s in lifecycle.states} else ""
    service = request.args.get("service", "")[:120]
    query = select(Survey)
    if state:
        query = query.where(Survey.state == state)
    if service:
        query = query.where(Survey.service == service)
    query = query.order_by(Survey.id.desc())
    pagination = register_page(query)
    ids = [s.id for s in pagination.items]
    counts = dict(
        db.session.execute(
            select(SurveyResponse.survey_id, func.count())
            .where(id_in(SurveyResponse.survey_id, ids))
            .group_by(SurveyResponse.survey_id)
        ).all()
    )
    services = db.session.scalars(
        select(Survey.service).where(Survey.service != "").distinct().order_by(Survey.service)
    ).all()
    args = {k: v for k, v in {"state": state, "service": service}.items() if v}
    return render_template(
        "surveys/list.html",
        pagination=pagination,
        counts=counts,
        args=args,
        lifecycle=lifecycle,
        services=services,
        can_manage=can_manage(),
    )


# --------------------------------------------------------------------------- creating and editing


class SurveyForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    introduction = TextAreaField(
        "Introduction",
        validators=[Optional(), Length(max=5000)],
        description="Shown to customers above the questions.",
    )
    service = StringField(
        "Service", validators=[Optional(), Length(max=120)], description="The service the survey is about."
    )
    invitation_only = BooleanField("Only customers with a personal invitation may respond")
    nps_threshold = StringField(
        "NPS threshold",
        validators=[Optional(), Length(max=20)],
        description="A month's NPS below this (−100 to 100) triggers the rule action; leave empty for no rule.",
    )
    csi_threshold = StringField(
        "CSI threshold",
        validators=[Optional(), Length(max=20)],
        description="A month's CSI below this (0 to 100) triggers the rule action.",
    )
    drop_threshold = StringField(
        "Drop threshold (points)",
        validators=[Optional(), Length(max=20)],
        description="A fall of NPS or CSI by more than this many points from the previous month, beyond noise.",
    )
    rule_action = SelectField("When a rule is broken", choices=list(RULE_ACTIONS.items()), default="nonconformity")


def _question_rows(values: MultiDict | None, count: int) -> list[dict[str, Any]]:
    rows = []
    for index in range(count):
        get = (lambda name, i=index: values.get(f"question-{i}-{name}", "")) if values is not None else None
        rows.append(
            {
                "kind": get("kind") if get else "rating",
                "text": get("text") if get else "",
                "choices": get("choices") if get else "",
                "dimension": get("dimension") if get else "",
                "weight": get("weight") if get else "1",
                "required": bool(values is not None and values.get(f"question-{index}-required")),
            }
        )
    return rows


def _question_data(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": row["kind"],
        "text": row["text"],
        "choices": row["choices"],
        "dimension": row["dimension"] or None,
        "weight": row["weight"] if str(row["weight"]).strip() else 1,
        "required": row["required"],
    }


def _editor_context() -> dict[str, Any]:
    return {
        "kinds": QUESTION_KINDS,
        "dimensions": SERVQUAL_DIMENSIONS,
        "scales": SCALES,
        "rule_actions": RULE_ACTIONS,
    }


@bp.route("/surveys/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    if not can_manage():
        abort(403)
    form = SurveyForm()
    if request.method == "POST":
        count = max(0, min(request.form.get("question_rows", type=int) or 0, MAX_QUESTION_ROWS))
        rows = _question_rows(request.form, count)
    else:
        rows = _question_rows(None, NEW_QUESTION_ROWS)
    row_errors: dict[int, dict[str, str]] = defaultdict(dict)
    if form.validate_on_submit():
        filled = [(i, row) for i, row in enumerate(rows) if str(row["text"]).strip()]
        try:
            survey = create_survey(
                current_user,
                title=form.title.data,
                introduction=form.introduction.data or "",
                service=form.service.data or "",
                invitation_only=form.invitation_only.data,
                nps_threshold=form.nps_threshold.data,
                csi_threshold=form.csi_threshold.data,
                drop_threshold=form.drop_threshold.data,
                rule_action=form.rule_action.data,
                questions=[_question_data(row) for _, row in filled],
            )
        except InvalidData as exc:
            other = {}
            for name, message in exc.errors.items():
                if name.startswith("questions[") and "]." in name:
                    index, field = name[len("questions[") :].split("].", 1)
                    if index.isdigit() and int(index) < len(filled):
                        row_errors[filled[int(index)][0]][field] = message
                        continue
                other[name] = message
            apply_errors(form, other)
        else:
            flash(f"{survey.reference} drafted. Add or change questions below, then open it for responses.")
            return redirect(url_for("surveys.detail", survey_id=survey.id))
    failed = bool(form.errors or row_errors)
    return render_template("surveys/new.html", form=form, rows=rows, row_errors=row_errors, **_editor_context()), (
        422 if failed else 200
    )


@bp.route("/surveys/<id:survey_id>/edit", methods=["GET", "POST"])
@login_required
def edit(survey_id: int) -> Any:
    survey = _survey_or_404(survey_id)
    if not can_manage():
        abort(403)
    form = SurveyForm(obj=survey if request.method == "GET" else None)
    if request.method == "GET":
        for name in ("nps_threshold", "csi_threshold", "drop_threshold"):
            value = getattr(survey, name)
            getattr(form, name).data = "" if value is None else f"{value:g}"
    status = 200
    if form.validate_on_submit():
        changes: dict[str, Any] = {
            "title": form.title.data,
            "introduction": form.introduction.data or "",
            "service": form.service.data or "",
            "nps_threshold": form.nps_threshold.data,
            "csi_threshold": form.csi_threshold.data,
            "drop_threshold": form.drop_threshold.data,
            "rule_action": form.rule_action.data,
        }
        if survey.state == "draft":
            changes["invitation_only"] = form.invitation_only.data
        try:
            update_survey(survey, current_user, **changes)
        except InvalidData as exc:
            apply_errors(form, exc.errors)
        except InvalidTransition as exc:
            flash(exc.message)
            status = 409
        else:
            flash("Survey saved.")
            return redirect(url_for("surveys.detail", survey_id=survey.id))
    if form.errors:
        status = 422
    return render_template("surveys/edit.html", form=form, survey=survey, **_editor_context()), status


# --------------------------------------------------------------------------- results


@dataclass
class Distribution:
    question: SurveyQuestion
    answered: int
    #: (label, count) in scale or option order
    counts: list[tuple[str, int]]
    mean: float | None

    @property
    def maximum(self) -> int:
        return max((n for _, n in self.counts), default=0)


def distributions(survey: Survey) -> list[Distribution]:
    """Per question, how many chose each value or option (free text: how many answered)."""
    questions = list(survey.questions)
    numbers: dict[int, Counter[int]] = defaultdict(Counter)
    chosen: dict[int, Counter[str]] = defaultdict(Counter)
    answered: Counter[int] = Counter()
    rows = db.session.execute(
        select(SurveyAnswer.question_id, SurveyAnswer.number, SurveyAnswer.choices)
        .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
        .where(SurveyResponse.survey_id == survey.id)
    )
    for question_id, number, choices in rows:
        answered[question_id] += 1
        if number is not None:
            numbers[question_id][int(number)] += 1
        for option in choices or []:
            chosen[question_id][option] += 1
    result = []
    for question in questions:
        counts: list[tuple[str, int]] = []
        mean = None
        if question.kind in SCALES:
            low, high = SCALES[question.kind]
            found = numbers[question.id]
            counts = [(str(v), found[v]) for v in range(low, high + 1)]
            total = sum(found.values())
            mean = round(sum(v * n for v, n in found.items()) / total, 2) if total else None
        elif question.kind in ("single", "multiple"):
            counts = [(option, chosen[question.id][option]) for option in question.choices]
        result.append(Distribution(question, answered[question.id], counts, mean))
    return result


@dataclass
class TrendChart:
    """A line chart of NPS and CSI per period, drawn as SVG by the template."""

    width: int
    height: int
    top: int
    bottom: int
    left: int
    step: float
    points: list[dict[str, Any]]

    def y(self, value: float, low: float, high: float) -> float:
        return round(self.bottom - (value - low) / (high - low) * (self.bottom - self.top), 1)


def trend_chart(points: list[TrendPoint]) -> TrendChart | None:
    if not points:
        return None
    width, left, right = 680, 100, 50
    step = (width - left - right) / max(len(points) - 1, 1)
    chart = TrendChart(width, 230, 20, 180, left, step, [])
    for index, point in enumerate(points):
        m = point.measures
        x = round(left + index * step if len(points) > 1 else left + (width - left - right) / 2, 1)
        chart.points.append(
            {
                "x": x,
                "label": m.label,
                "n": m.responses,
                "nps": m.nps.score,
                "nps_y": None if m.nps.score is None else chart.y(m.nps.score, -100, 100),
                "csi": m.csi.score,
                "csi_y": None if m.csi.score is None else chart.y(m.csi.score, 0, 100),
            }
        )
    return chart


def _polyline(chart: TrendChart, key: str) -> str:
    return " ".join(f"{p['x']},{p[key]}" for p in chart.points if p[key] is not None)


def _raised(triggers: list[Any]) -> dict[str, dict[int, str]]:
    """The references of the NCs and complaints the rules raised, by id."""
    nc_ids = [t.nonconformity_id for t in triggers if t.nonconformity_id]
    complaint_ids = [t.complaint_id for t in triggers if t.complaint_id]
    return {
        "nc": dict(
            db.session.execute(
                select(Nonconformity.id, Nonconformity.reference).where(id_in(Nonconformity.id, nc_ids))
            ).all()
        ),
        "complaint": dict(
            db.session.execute(
                select(Complaint.id, Complaint.reference).where(id_in(Complaint.id, complaint_ids))
            ).all()
        ),
    }


def _render_detail(
    survey: Survey,
    failed: EventFormState | None = None,
    *,
    status: int = 200,
    question_errors: dict[str, dict[str, str]] | None = None,
    question_values: MultiDict | None = None,
    invitation_errors: dict[str, str] | None = None,
    issued: list[tuple[str, str]] | None = None,
    import_errors: dict[str, str] | None = None,
) -> Any:
    period = request.args.get("period", "month")
    period = period if period in PERIODS else "month"
    overall = survey_measures(survey)
    points = trend(survey, period) if overall.responses else []
    chart = trend_chart(points)
    manage = can_manage()
    triggers = triggers_of(survey)
    page = render_template(
        "surveys/detail.html",
        survey=survey,
        events=available_events(survey, current_user),
        failed=failed,
        history=(history := history_of(survey)),
        diagram=lifecycle_diagram(survey, history),
        can_manage=manage,
        public_link=public_url(survey),
        overall=overall,
        period=period,
        periods=PERIODS,
        points=points,
        chart=chart,
        nps_line=_polyline(chart, "nps_y") if chart else "",
        csi_line=_polyline(chart, "csi_y") if chart else "",
        by_service=segments(survey, "service") if overall.responses else [],
        by_channel=segments(survey, "channel") if overall.responses else [],
        distributions=distributions(survey) if overall.responses else [],
        verbatims=verbatims(survey),
        rate=response_rate(survey),
        triggers=triggers,
        raised=_raised(triggers),
        question_errors=question_errors or {},
        question_values=question_values,
        invitation_errors=invitation_errors or {},
        issued=issued,
        import_errors=import_errors or {},
        sample_header=",".join(["responded_on", "service", "channel"] + [f"q{q.position}" for q in survey.questions]),
        channels=CHANNELS,
        **_editor_context(),
    )
    response = Response(page, status=status)
    if issued:
        response.headers["Cache-Control"] = "no-store"
    return response


add_record_routes(
    bp,
    "/surveys/<id:survey_id>",
    load=lambda survey_id: _survey_or_404(survey_id),
    render=lambda survey, failed, status: _render_detail(survey, failed, status=status),
    url=lambda survey: url_for("surveys.detail", survey_id=survey.id),
)

# --------------------------------------------------------------------------- the question editor


def _change(survey: Survey, change: Any, done: str, anchor: str, *, key: str = "new") -> Any:
    if not can_manage():
        abort(403)
    try:
        change()
    except NotPermitted:
        abort(403)
    except InvalidTransition as exc:
        flash(exc.message)
        return _render_detail(survey, status=409)
    except InvalidData as exc:
        return _render_detail(survey, question_errors={key: exc.errors}, question_values=request.form, status=422)
    flash(done)
    return redirect(url_for("surveys.detail", survey_id=survey.id) + anchor)


def _question_form_data(form: MultiDict, *, weight_only: bool = False) -> dict[str, Any]:
    if weight_only:
        return {"weight": form.get("weight", "")}
    return {
        "kind": form.get("kind", ""),
        "text": form.get("text", ""),
        "choices": form.get("choices", ""),
        "dimension": form.get("dimension") or None,
        "weight": form.get("weight", "").strip() or 1,
        "required": form.get("required") in ("on", "1", "true", "yes"),
    }


@bp.route("/surveys/<id:survey_id>/questions", methods=["POST"])
@login_required
@talisman(content_security_policy=DIAGRAM_CSP)
def new_question(survey_id: int) -> Any:
    survey = _survey_or_404(survey_id)
    data = _question_form_data(request.form)
    return _change(survey, lambda: add_question(survey, current_user, **data), "Question added.", "#questions")


@bp.route("/surveys/<id:survey_id>/questions/<id:question_id>", methods=["POST"])
@login_required
@talisman(content_security_policy=DIAGRAM_CSP)
def change_question(survey_id: int, question_id: int) -> Any:
    survey = _survey_or_404(survey_id)
    question = _question_or_404(survey, question_id)
    data = _question_form_data(request.form, weight_only=survey.state != "draft")
    return _change(
        survey,
        lambda: update_question(question, current_user, **data),
        "Question saved.",
        f"#question-{question.id}",
        key=str(question.id),
    )


@bp.route("/surveys/<id:survey_id>/questions/<id:question_id>/remove", methods=["POST"])
@login_required
@talisman(content_security_policy=DIAGRAM_CSP)
def delete_question(survey_id: int, question_id: int) -> Any:
    survey = _survey_or_404(survey_id)
    question = _question_or_404(survey, question_id)
    return _change(survey, lambda: remove_question(question, current_user), "Question removed.", "#questions")


# --------------------------------------------------------------------------- link, invitations, import, rules


@bp.route("/surveys/<id:survey_id>/link", methods=["POST"])
@login_required
def renew_link(survey_id: int) -> Any:
    survey = _survey_or_404(survey_id)
    if not can_manage():
        abort(403)
    renew_public_link(survey, current_user)
    flash("A new public link was made; the old one no longer works.")
    return redirect(url_for("surveys.detail", survey_id=survey.id) + "#link")


@bp.route("/surveys/<id:survey_id>/invitations", methods=["POST"])
@login_required
@talisman(content_security_policy=DIAGRAM_CSP)
def invitations(survey_id: int) -> Any:
    survey = _survey_or_404(survey_id)
    if not can_manage():
        abort(403)
    labels = request.form.get("labels", "").splitlines()
    try:
        issued = create_invitations(survey, current_user, labels)
    except InvalidData as exc:
        return _render_detail(survey, invitation_errors=exc.errors, status=422)
    except InvalidTransition as exc:
        return _render_detail(survey, invitation_errors={"labels": exc.message}, status=409)
    links = [(label, public_address("surveys.public", token=survey.public_token, i=token)) for label, token in issued]
    return _render_detail(survey, issued=links)


@bp.route("/surveys/<id:survey_id>/import", methods=["POST"])
@login_required
@talisman(content_security_policy=DIAGRAM_CSP)
def import_csv(survey_id: int) -> Any:
    survey = _survey_or_404(survey_id)
    if not can_manage():
        abort(403)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _render_detail(survey, import_errors={"file": "choose a CSV file to import"}, status=422)
    try:
        imported = import_responses_csv(survey, current_user, upload.read())
    except InvalidData as exc:
        return _render_detail(survey, import_errors=exc.errors, status=422)
    except InvalidTransition as exc:
        return _render_detail(survey, import_errors={"file": exc.message}, status=409)
    flash(f"{imported} responses imported.")
    return redirect(url_for("surveys.detail", survey_id=survey.id) + "#results")


@bp.route("/surveys/<id:survey_id>/rules", methods=["POST"])
@login_required
def check_rules(survey_id: int) -> Any:
    survey = _survey_or_404(survey_id)
    if not can_manage():
        abort(403)
    triggers = apply_rules(survey, current_user)
    if triggers:
        flash(f"The rules fired {len(triggers)} time(s): " + "; ".join(t.message for t in triggers))
    else:
        flash("No rule is broken that was not acted on before.")
    return redirect(url_for("surveys.detail", survey_id=survey.id) + "#rules")


@bp.route("/surveys/<id:survey_id>/report.pdf")
@login_required
def report(survey_id: int) -> Response:
    survey = _survey_or_404(survey_id)
    period = request.args.get("period", "month")
    if period not in PERIODS:
        abort(404, description="The period must be month, quarter or year.")
    from ..reports.surveys import satisfaction_report_pdf

    return Response(
        satisfaction_report_pdf(survey, period=period, organisation=current_app.config["QMS_ORGANISATION"]),
        mimetype="application/pdf",
        headers={"Content-Disposition": content_disposition(f"{survey.reference}-satisfaction.pdf", inline=True)},
    )


# --------------------------------------------------------------------------- the public response page


def public_message(title: str, message: str, status: int) -> tuple[str, int]:
    return render_template("surveys/public_message.html", title=title, message=message), status


def too_large() -> tuple[str, int]:
    return public_message(
        "Too much text",
        f"Your answers are larger than we can accept ({PUBLIC_MAX_BYTES // 1024} KB). "
        "Please shorten the longest answers and send again.",
        413,
    )


def limited_form() -> MultiDict | None:
    """The posted form, or None when the body is larger than the public pages accept."""
    if request.content_length is not None and request.content_length > PUBLIC_MAX_BYTES:
        return None
    request.max_content_length = PUBLIC_MAX_BYTES
    try:
        return request.form
    except RequestEntityTooLarge:
        return None


def _public_answers(survey: Survey, form: MultiDict) -> tuple[dict[str, Any], list[str]]:
    """The answers keyed q<id>, and the names of fields the survey does not define."""
    by_key = {f"q{q.id}": q for q in survey.questions}
    allowed = {"csrf_token", "i", "channel", *by_key}
    unknown = sorted({name for name in form if name not in allowed})
    answers: dict[str, Any] = {}
    for key, question in by_key.items():
        if question.kind == "multiple":
            values = form.getlist(key)
            if values:
                answers[key] = values
        elif key in form:
            values = form.getlist(key)
            answers[key] = values[0] if len(values) == 1 else values
    return answers, unknown


@bp.route("/s/<token>", methods=["GET", "POST"])
@limiter.limit(PUBLIC_LIMIT, methods=["POST"])
def public(token: str) -> Any:
    survey = survey_for_token(token)
    if survey is None or survey.state == "draft":
        return public_message(
            "Survey not found", "This survey link is not valid. Please check the link you were sent.", 404
        )
    if not accepts_responses(survey):
        return public_message(
            "This survey is closed", "Thank you for your interest: responses are no longer accepted.", 410
        )
    form: MultiDict | None = request.args if request.method == "GET" else limited_form()
    if form is None:
        return too_large()
    invitation_token = (form.get("i") or request.args.get("i") or "")[:64]
    channel = (form.get("channel") or request.args.get("c") or "")[:30]
    channel = channel if channel in CHANNELS else ""
    if survey.invitation_only or invitation_token:
        invitation = invitation_for(survey, invitation_token)
        if invitation is None:
            return public_message(
                "Personal link needed",
                "This survey is answered through the personal link in your invitation. Please use that link.",
                403,
            )
        if invitation.used_at is not None:
            return public_message(
                "Already answered",
                "This invitation has already been used to respond. Thank you — your answers were recorded.",
                409,
            )
    errors: dict[str, str] = {}
    values: MultiDict = MultiDict()
    status = 200
    if request.method == "POST":
        values = form
        answers, unknown = _public_answers(survey, form)
        if unknown:
            errors["form"] = "The form contained fields this survey does not ask: " + ", ".join(
                name[:40] for name in unknown[:10]
            )
            status = 422
        else:
            try:
                submit_response(survey, answers, invitation_token=invitation_token or None, channel=channel)
            except InvalidTransition:
                return public_message(
                    "This survey is closed", "Thank you for your interest: responses are no longer accepted.", 410
                )
            except InvalidData as exc:
                if "already been used" in exc.errors.get("invitation", ""):
                    return public_message(
                        "Already answered",
                        "This invitation has already been used to respond. Thank you — your answers were recorded.",
                        409,
                    )
                errors = dict(exc.errors)
                status = 422
            else:
                return redirect(url_for("surveys.thanks", token=survey.public_token))
    return render_template(
        "surveys/public.html",
        survey=survey,
        errors=errors,
        values=values,
        invitation=invitation_token,
        channel=channel,
        max_text=MAX_TEXT_ANSWER,
        scales=SCALES,
    ), status


@bp.route("/s/<token>/thanks")
def thanks(token: str) -> Any:
    survey = survey_for_token(token)
    if survey is None or survey.state == "draft":
        return public_message(
            "Survey not found", "This survey link is not valid. Please check the link you were sent.", 404
        )
    return render_template("surveys/public_thanks.html", title="Thank you", survey=survey)
