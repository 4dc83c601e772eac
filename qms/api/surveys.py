"""/api/v1/surveys: customer satisfaction surveys (ISO 9001 9.1.2, ISO 10004).

A survey is a workflow resource (``survey`` lifecycle: draft → open → closed →
analysed → reported); its questions change while it is a draft (a question's
CSI weight at any time). Responses collected elsewhere are submitted one by
one (``source`` api) or imported as CSV, all or nothing; the measures (NPS and
CSI with their margins, segments, trends with noise flags) and the
satisfaction report are read here too. Managers and quality officers manage
surveys (the services' rule; NotPermitted → 403); the public link is shown to
them only, and no answer of the API reveals other customers' responses.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from http import HTTPStatus
from typing import Any

from flask import abort, current_app, request, url_for
from marshmallow import RAISE
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from workflows.errors import InvalidData

from ..database import db, id_in
from ..downloads import content_disposition
from ..models import SCALES, Complaint, Nonconformity, RuleTrigger, Survey, SurveyQuestion, SurveyResponse
from ..services.surveys import (
    MANAGE_ROLES,
    MAX_IMPORT_BYTES,
    Measures,
    add_question,
    apply_rules,
    create_invitations,
    create_survey,
    import_responses_csv,
    remove_question,
    response_count,
    response_rate,
    segments,
    submit_response,
    survey_measures,
    trend,
    triggers_of,
    update_question,
    update_survey,
)
from .auth import api_user, require_roles
from .blueprint import ID, ApiBlueprint
from .schemas.surveys import (
    ImportResultSchema,
    InvitationRequestSchema,
    InvitationsSchema,
    MeasuresQuerySchema,
    QuestionInputSchema,
    QuestionSchema,
    QuestionUpdateSchema,
    ReportQuerySchema,
    ResponseInputSchema,
    ResponseSchema,
    RulesAppliedSchema,
    SurveyCreateSchema,
    SurveyMeasuresSchema,
    SurveyPageSchema,
    SurveyQuerySchema,
    SurveySchema,
    SurveyUpdateSchema,
)
from .workflow import (
    ETAG_HEADER,
    Presented,
    add_workflow_routes,
    etag,
    get_or_404,
    ordering,
    paginate,
    present,
    state_order,
)

blp = ApiBlueprint(
    "api_surveys",
    __name__,
    tag="Surveys",
    description=(
        "Customer satisfaction surveys (ISO 9001 9.1.2, ISO 10004): questions, responses collected elsewhere "
        "(one by one or as CSV), personal invitations, NPS and CSI with margins, segments and trends, "
        "the rules that raise a complaint or a nonconformity, and the satisfaction report."
    ),
)

MANAGE_MESSAGE = "Requires the role manager or quality officer to manage surveys"
#: who may submit a response collected elsewhere: anyone but a viewer (the public page needs no account)
RESPONDER_ROLES = frozenset({"admin", "manager", "quality_officer", "internal_auditor", "process_owner"})
#: a response's JSON body: 60 questions of 5000 characters, escaped, fit with room to spare
MAX_RESPONSE_BYTES = 1024 * 1024
#: a CSV import's request: the file and the multipart envelope
MAX_IMPORT_REQUEST = MAX_IMPORT_BYTES + 64 * 1024
#: what a survey's representation reads, loaded for a whole page in a fixed number of queries
LOAD = (selectinload(Survey.owner), selectinload(Survey.questions))
INDEXED = re.compile(r"\[(\d+)\]")
PDF_RESPONSE = {
    "description": "The customer satisfaction report",
    "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
    "headers": {
        "Content-Disposition": {
            "description": "inline; filename=<reference>-satisfaction.pdf",
            "schema": {"type": "string"},
        }
    },
}
IMPORT_BODY = {
    "required": True,
    "description": (
        "The CSV file: columns `responded_on` (YYYY-MM-DD, required), `service` and `channel` (optional) and "
        "one per question, named by its `csv_column` (`q1`, `q2`…; the options of a multiple choice separated "
        "by `;`). UTF-8; comma, semicolon or tab separated."
    ),
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
                "additionalProperties": False,
            }
        },
        "text/csv": {"schema": {"type": "string"}},
    },
}


@contextmanager
def request_field_names() -> Iterator[None]:
    """The services name list items ``questions[0].kind``; the API's errors say ``questions.0.kind``."""
    try:
        yield
    except InvalidData as exc:
        raise InvalidData({INDEXED.sub(r".\1", name): text for name, text in exc.errors.items()}) from None


def limit_body(max_bytes: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Refuse (413) a request body over ``max_bytes`` before it is read (put it above ``@blp.arguments``)."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)  # keeps flask-smorest's _apidoc
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if request.content_length is not None and request.content_length > max_bytes:
                abort(413, description=f"The request body is larger than {max_bytes // 1024} KB")
            request.max_content_length = max_bytes  # also a body sent without a length
            return view(*args, **kwargs)

        return wrapper

    return decorator


def csv_upload() -> bytes:
    """The CSV file of an import: the ``file`` part of a multipart/form-data body, or a text/csv body.

    Any other part is refused by name (422), a part sent without a name as "(a part without a name)";
    another content type is 415.
    """
    if request.mimetype == "multipart/form-data":
        extra = sorted(
            "(a part without a name)" if name is None else str(name)
            for name in (set(request.form) | set(request.files)) - {"file"}
        )
        if extra:
            raise InvalidData(dict.fromkeys(extra, "is not a field of this upload (only file)"))
        upload = request.files.get("file")
        if upload is None:
            raise InvalidData({"file": "is required: the CSV file"})
        return upload.read()
    if request.mimetype in ("text/csv", "text/plain"):
        return request.get_data()
    abort(415, description="Send the CSV as multipart/form-data (field file) or as a text/csv body")


# --- loading and presenting ---------------------------------------------------------------------


def load(survey_id: int) -> Survey:
    return get_or_404(Survey, survey_id, options=LOAD, label="survey")


def load_question(survey_id: int, question_id: int) -> SurveyQuestion:
    """The question ``question_id`` of survey ``survey_id``: 404 when it is another survey's."""
    survey = load(survey_id)
    question = get_or_404(SurveyQuestion, question_id, label="survey question")
    if question.survey_id != survey.id:
        abort(404, description=f"Survey {survey.id} has no question with id {question_id}")
    return question


def present_question(question: SurveyQuestion) -> Presented:
    scale = SCALES.get(question.kind)
    return Presented(
        question,
        scale={"min": scale[0], "max": scale[1]} if scale else None,
        answer_key=f"q{question.id}",
        csv_column=f"q{question.position}",
        links={"self": url_for("api_surveys.edit_question", survey_id=question.survey_id, question_id=question.id)},
    )


def present_triggers(triggers: Sequence[RuleTrigger]) -> list[Presented]:
    """The rule triggers with the references of what they raised (two queries for all of them)."""
    complaint_ids = [t.complaint_id for t in triggers if t.complaint_id is not None]
    nc_ids = [t.nonconformity_id for t in triggers if t.nonconformity_id is not None]
    complaints: dict[int, str] = {}
    ncs: dict[int, str] = {}
    if complaint_ids:
        complaints = dict(
            db.session.execute(
                select(Complaint.id, Complaint.reference).where(id_in(Complaint.id, complaint_ids))
            ).all()
        )
    if nc_ids:
        ncs = dict(
            db.session.execute(
                select(Nonconformity.id, Nonconformity.reference).where(id_in(Nonconformity.id, nc_ids))
            ).all()
        )
    return [
        Presented(
            t,
            complaint_reference=complaints.get(t.complaint_id),
            nonconformity_reference=ncs.get(t.nonconformity_id),
            links={
                "complaint": (
                    url_for("api_complaints.get_complaint", complaint_id=t.complaint_id) if t.complaint_id else None
                ),
                "nonconformity": (
                    url_for("api_nonconformities.get_nonconformity", nc_id=t.nonconformity_id)
                    if t.nonconformity_id
                    else None
                ),
            },
        )
        for t in triggers
    ]


def _links(survey: Survey) -> dict[str, str]:
    base = "api_surveys."
    return {
        "self": url_for(base + "get_survey", survey_id=survey.id),
        "history": url_for(base + "survey_history", survey_id=survey.id),
        "events": url_for(base + "survey_events", survey_id=survey.id),
        "questions": url_for(base + "add_survey_question", survey_id=survey.id),
        "responses": url_for(base + "submit", survey_id=survey.id),
        "import_responses": url_for(base + "import_responses", survey_id=survey.id),
        "measures": url_for(base + "measures", survey_id=survey.id),
        "invitations": url_for(base + "invitations", survey_id=survey.id),
        "rules": url_for(base + "rules", survey_id=survey.id),
        "report": url_for(base + "report", survey_id=survey.id),
    }


def _brief(survey: Survey, responses: int) -> dict[str, Any]:
    manager = api_user().has_role(*MANAGE_ROLES)
    return {
        "public_link": f"/s/{survey.public_token}" if manager else None,
        "response_count": responses,
        "questions": [present_question(q) for q in survey.questions],
        "links": _links(survey),
    }


def _rate(survey: Survey) -> dict[str, Any]:
    responded, invited, rate = response_rate(survey)
    return {"responded": responded, "invited": invited, "rate": rate}


def extras(survey: Survey) -> dict[str, Any]:
    """A survey as shown on its own: with its measures and the rules that fired."""
    overall = survey_measures(survey)
    return {
        **_brief(survey, response_count(survey)),
        "measures": {
            "responses": overall.responses,
            "nps": overall.nps,
            "csi": overall.csi,
            "dimensions": dict(overall.dimensions),
            "response_rate": _rate(survey),
        },
        "triggers": present_triggers(triggers_of(survey)),
    }


def _measures(m: Measures) -> dict[str, Any]:
    return {"label": m.label, "responses": m.responses, "nps": m.nps, "csi": m.csi, "dimensions": dict(m.dimensions)}


def _new_triggers(survey: Survey, before: set[int]) -> list[Presented]:
    return present_triggers([t for t in triggers_of(survey) if t.id not in before])


# --- the collection -----------------------------------------------------------------------------


@blp.route("/surveys", methods=["GET"])
@blp.arguments(SurveyQuerySchema, location="query", unknown=RAISE)
@blp.response(200, SurveyPageSchema)
def list_surveys(args: dict[str, Any]) -> dict[str, Any]:
    """Surveys: filtered by state or service, sorted, one page at a time (measures: on each survey)"""
    stmt = select(Survey)
    if "state" in args:
        stmt = stmt.where(Survey.state == args["state"])
    if "service" in args:
        stmt = stmt.where(Survey.service == args["service"])
    columns = {
        "reference": Survey.reference,
        "title": Survey.title,
        "created_at": Survey.created_at,
        "state": state_order(Survey),
    }
    stmt = stmt.order_by(*ordering(args["sort"], columns, Survey.id))
    items, page = paginate(stmt, args, options=LOAD)
    counts: dict[int, int] = {}
    if items:
        counts = dict(
            db.session.execute(
                select(SurveyResponse.survey_id, func.count())
                .where(id_in(SurveyResponse.survey_id, [s.id for s in items]))
                .group_by(SurveyResponse.survey_id)
            ).all()
        )
    return {**page, "items": present(items, lambda s: _brief(s, counts.get(s.id, 0)))}


@blp.route("/surveys", methods=["POST"])
@require_roles(MANAGE_ROLES, MANAGE_MESSAGE)
@blp.arguments(SurveyCreateSchema)
@blp.response(201, SurveySchema, headers=ETAG_HEADER)
def create(body: dict[str, Any]) -> Any:
    """Draft a survey with its questions

    Managers and quality officers may. Everything is validated first
    (`questions.0.choices`… name a question's fields); open it with
    `POST …/events/open` once it has questions.
    """
    with request_field_names():
        survey = create_survey(api_user(), **body)
    survey = load(survey.id)
    location = url_for("api_surveys.get_survey", survey_id=survey.id)
    return present([survey], extras)[0], 201, {"Location": location, **etag(survey)}


add_workflow_routes(
    blp,
    model=Survey,
    collection="surveys",
    key="survey_id",
    name="survey",
    schema=SurveySchema,
    load=load,
    extras=extras,
)


@blp.route(f"/surveys/<{ID}:survey_id>", methods=["PATCH"])
@require_roles(MANAGE_ROLES, MANAGE_MESSAGE)
@blp.arguments(SurveyUpdateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, SurveySchema, headers=ETAG_HEADER)
def update(body: dict[str, Any], survey_id: int) -> Any:
    """Change a survey's text and rules (a field left out keeps its value)

    Until it is reported or cancelled (409 after); `invitation_only` only
    while it is a draft (422).
    """
    survey = update_survey(load(survey_id), api_user(), **body)
    db.session.expire_all()
    survey = load(survey.id)
    return present([survey], extras)[0], 200, etag(survey)


# --- questions ----------------------------------------------------------------------------------


@blp.route(f"/surveys/<{ID}:survey_id>/questions", methods=["POST"])
@require_roles(MANAGE_ROLES, MANAGE_MESSAGE)
@blp.arguments(QuestionInputSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, QuestionSchema)
def add_survey_question(body: dict[str, Any], survey_id: int) -> Any:
    """Add a question while the survey is a draft (409 after)

    Kinds: rating (1–5), nps (0–10), servqual (1–7, with a `dimension`),
    single and multiple (with at least two `choices`), text.
    """
    question = add_question(load(survey_id), api_user(), **body)
    location = url_for("api_surveys.edit_question", survey_id=survey_id, question_id=question.id)
    return present_question(question), 201, {"Location": location}


@blp.route(f"/surveys/<{ID}:survey_id>/questions/<{ID}:question_id>", methods=["PATCH"])
@require_roles(MANAGE_ROLES, MANAGE_MESSAGE)
@blp.arguments(QuestionUpdateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, QuestionSchema)
def edit_question(body: dict[str, Any], survey_id: int, question_id: int) -> Any:
    """Change a question (a field left out keeps its value)

    While the survey is a draft anything may change; once it is open only the
    CSI `weight` (409 for anything else), and nothing once it is reported or cancelled.
    """
    question = update_question(load_question(survey_id, question_id), api_user(), **body)
    return present_question(question)


@blp.route(f"/surveys/<{ID}:survey_id>/questions/<{ID}:question_id>", methods=["DELETE"])
@require_roles(MANAGE_ROLES, MANAGE_MESSAGE)
@blp.response(204)
def delete_question(survey_id: int, question_id: int) -> Response:
    """Remove a question while the survey is a draft (409 after)"""
    remove_question(load_question(survey_id, question_id), api_user())
    return Response(status=204)


# --- responses ----------------------------------------------------------------------------------


def _response_errors(errors: dict[str, str], keys: set[str]) -> dict[str, str]:
    """The service's errors named as the request's fields: answers go under ``answers.``."""
    named: dict[str, str] = {}
    for name, text in errors.items():
        if name in keys or (name not in ("answers", "invitation", "service", "channel") and name.startswith("q")):
            named[f"answers.{name}"] = text
        elif name == "invitation":
            named["invitation_token"] = text
        else:
            named[name] = text
    if "answers" in named and any(name.startswith("answers.") for name in named):
        del named["answers"]  # "answer at least one question": said better by what is wrong with each
    return named


@blp.route(f"/surveys/<{ID}:survey_id>/responses", methods=["POST"])
@require_roles(RESPONDER_ROLES, "Viewers cannot submit responses")
@limit_body(MAX_RESPONSE_BYTES)
@blp.arguments(ResponseInputSchema)
@blp.alt_response(413, response=HTTPStatus.REQUEST_ENTITY_TOO_LARGE.name)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, ResponseSchema)
def submit(body: dict[str, Any], survey_id: int) -> Any:
    """Submit one response collected elsewhere (by phone, on paper, by another system)

    Anyone but a viewer may; the response is recorded with source `api`. Only
    what the survey defines is accepted: 422 names each bad answer
    (`answers.q12`), a missing required one, an unknown question, and
    `invitation_token` when the survey needs a personal invitation or the
    invitation was used already (each admits one response). 409 when the
    survey is not open; 413 over 1 MB. Nothing is recorded unless all is well.
    """
    survey = load(survey_id)
    answers = body["answers"]
    try:
        response = submit_response(
            survey,
            answers,
            invitation_token=body["invitation_token"],
            service=body["service"],
            channel=body["channel"],
            source="api",
            actor=api_user(),
        )
    except InvalidData as exc:
        raise InvalidData(_response_errors(exc.errors, set(answers))) from None
    keys = {f"q{a.question_id}" for a in response.answers}
    return (
        Presented(
            response,
            invited=response.invitation_id is not None,
            answered=[f"q{q.id}" for q in survey.questions if f"q{q.id}" in keys],
        ),
        201,
    )


@blp.route(f"/surveys/<{ID}:survey_id>/responses/import", methods=["POST"])
@require_roles(MANAGE_ROLES, MANAGE_MESSAGE)
@limit_body(MAX_IMPORT_REQUEST)
@blp.doc(requestBody=IMPORT_BODY)
@blp.alt_response(413, response=HTTPStatus.REQUEST_ENTITY_TOO_LARGE.name)
@blp.alt_response(415, response=HTTPStatus.UNSUPPORTED_MEDIA_TYPE.name)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, ImportResultSchema)
def import_responses(survey_id: int) -> Any:
    """Import responses from a CSV file, all or nothing

    Send the file as `multipart/form-data` (field `file`) or as a `text/csv`
    body. Managers and quality officers may, while the survey is open or
    closed (409 otherwise). Every row is checked first: 422 lists each problem
    by line and column (`errors` keys such as `line 3, column 'q2'`) and nothing
    is imported. The survey's rules are applied to the new responses: `fired`
    lists what they raised.
    """
    survey = load(survey_id)
    data = csv_upload()
    before = {t.id for t in triggers_of(survey)}
    imported = import_responses_csv(survey, api_user(), data)
    return {"imported": imported, "fired": _new_triggers(survey, before)}, 201


# --- measures, invitations, rules, report -------------------------------------------------------


@blp.route(f"/surveys/<{ID}:survey_id>/measures", methods=["GET"])
@blp.arguments(MeasuresQuerySchema, location="query", unknown=RAISE)
@blp.response(200, SurveyMeasuresSchema)
def measures(args: dict[str, Any], survey_id: int) -> dict[str, Any]:
    """The survey's measures: NPS and CSI with their 95 % margins and SERVQUAL dimensions

    `by` adds them per service, channel or period (month, quarter, year);
    `trend` adds them per period with the change from the previous one,
    flagged as noise unless it is beyond what chance explains.
    """
    survey = load(survey_id)
    by, period = args.get("by"), args.get("trend")
    points = None
    if period is not None:
        points = [
            {
                **_measures(p.measures),
                "nps_change": p.nps_change,
                "nps_noise": p.nps_noise,
                "csi_change": p.csi_change,
                "csi_noise": p.csi_noise,
            }
            for p in trend(survey, period)
        ]
    return {
        "survey_id": survey.id,
        "overall": _measures(survey_measures(survey)),
        "response_rate": _rate(survey),
        "by": by,
        "segments": [_measures(m) for m in segments(survey, by)] if by is not None else None,
        "period": period,
        "trend": points,
    }


@blp.route(f"/surveys/<{ID}:survey_id>/invitations", methods=["POST"])
@require_roles(MANAGE_ROLES, MANAGE_MESSAGE)
@blp.arguments(InvitationRequestSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, InvitationsSchema)
def invitations(body: dict[str, Any], survey_id: int) -> Any:
    """Issue personal invitations: one single-use link per customer, shown this once

    Managers and quality officers may, while the survey is a draft or open
    (409 after). Each token admits exactly one response (on the public page,
    or as `invitation_token` here); only its hash is stored.
    """
    survey = load(survey_id)
    issued = create_invitations(survey, api_user(), body["labels"])
    return {
        "invitations": [
            {"label": label, "token": token, "link": f"/s/{survey.public_token}?i={token}"} for label, token in issued
        ]
    }, 201


@blp.route(f"/surveys/<{ID}:survey_id>/rules/apply", methods=["POST"])
@require_roles(MANAGE_ROLES, "Requires the role manager or quality officer to apply a survey's rules")
@blp.response(200, RulesAppliedSchema)
def rules(survey_id: int) -> Any:
    """Apply the survey's rules now: a complaint or a nonconformity per breach not acted on before

    A rule (NPS or CSI below its threshold, or a drop beyond noise) fires at
    most once per period, so applying them again raises nothing new. They are
    also applied on import and when the survey is closed.
    """
    survey = load(survey_id)
    fired = apply_rules(survey, api_user())
    return {"fired": present_triggers(fired), "triggers": present_triggers(triggers_of(survey))}


@blp.route(f"/surveys/<{ID}:survey_id>/report.pdf", methods=["GET"])
@blp.arguments(ReportQuerySchema, location="query", unknown=RAISE)
@blp.doc(responses={"200": PDF_RESPONSE})
def report(args: dict[str, Any], survey_id: int) -> Response:
    """The customer satisfaction report (PDF): figures with margins, trend, segments, verbatims, actions

    `period` groups the trend (month, quarter, year). Until the survey is
    reported the report says it is not final.
    """
    survey = load(survey_id)
    from ..reports.surveys import satisfaction_report_pdf

    data = satisfaction_report_pdf(survey, period=args["period"], organisation=current_app.config["QMS_ORGANISATION"])
    return Response(
        data,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": content_disposition(f"{survey.reference}-satisfaction.pdf", inline=True),
            "Cache-Control": "no-store",
        },
    )
