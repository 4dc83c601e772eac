"""marshmallow schemas of the customers API (surveys, their responses and measures, complaints).

Kept apart from ``schemas.py``; built on its fields and conventions: strict
input (unknown fields rejected), bounded ids, storable text, ISO 8601 dates.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from workflows import get_lifecycle

from ..models import CHANNELS, QUESTION_KINDS, RESPONSE_SOURCES, RULE_ACTIONS, SERVQUAL_DIMENSIONS
from ..services.surveys import MAX_CHOICES, MAX_QUESTIONS, MAX_TEXT_ANSWER, PERIODS
from .schemas import (
    EARLIEST_DATE,
    ID_RANGE,
    JsonObject,
    PageArgsSchema,
    Text,
    UserRefSchema,
    WorkflowRecordSchema,
    page_schema,
    sort_choices,
)

SURVEY_STATES = tuple(s.name for s in get_lifecycle("survey").states)
COMPLAINT_STATES = tuple(s.name for s in get_lifecycle("complaint").states)
SURVEY_SORTS = sort_choices("reference", "title", "created_at", "state")
COMPLAINT_SORTS = sort_choices("reference", "received_at", "acknowledge_due", "resolve_due", "state")
SEGMENTS = ("service", "channel", *PERIODS)
#: answers one response may carry (a survey has at most MAX_QUESTIONS questions)
MAX_ANSWERS = MAX_QUESTIONS
MAX_INVITATIONS = 10_000
#: the longest period the platform figures cover (as the web's report)
MAX_REPORT_DAYS = 3 * 366


def _threshold(low: float, high: float, description: str) -> fields.Float:
    return fields.Float(
        allow_none=True,
        validate=validate.Range(min=low, max=high),
        metadata={"description": f"{description}; null: no such rule"},
    )


# --- surveys: questions -------------------------------------------------------------------------


class ScaleSchema(Schema):
    min = fields.Integer(required=True)
    max = fields.Integer(required=True)


class QuestionLinksSchema(Schema):
    self = fields.String(required=True, metadata={"description": "PATCH: change it; DELETE: remove it"})


class QuestionSchema(Schema):
    id = fields.Integer(required=True)
    position = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"description": ", ".join(QUESTION_KINDS)})
    text = fields.String(required=True)
    required = fields.Boolean(required=True)
    choices = fields.List(fields.String(), required=True, metadata={"description": "Options of a choice question"})
    dimension = fields.String(
        allow_none=True, required=True, metadata={"description": "SERVQUAL dimension of a servqual statement"}
    )
    weight = fields.Float(required=True, metadata={"description": "Weight in the Customer Satisfaction Index"})
    scale = fields.Nested(ScaleSchema, allow_none=True, required=True, metadata={"description": "Numeric answers"})
    answer_key = fields.String(required=True, metadata={"description": "Its key in a response's `answers` (q<id>)"})
    csv_column = fields.String(required=True, metadata={"description": "Its column in a CSV import (q<position>)"})
    links = fields.Nested(QuestionLinksSchema, required=True)


class QuestionInputSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(list(QUESTION_KINDS)))
    text = Text(required=True, validate=validate.Length(max=1000))
    required = fields.Boolean(load_default=False, metadata={"description": "Every response must answer it"})
    choices = fields.List(
        Text(validate=validate.Length(max=200)),
        load_default=list,
        validate=validate.Length(max=MAX_CHOICES),
        metadata={"description": "The options of a single or multiple choice question (at least two)"},
    )
    dimension = fields.String(
        allow_none=True,
        load_default=None,
        validate=validate.OneOf(list(SERVQUAL_DIMENSIONS)),
        metadata={"description": "Required for a servqual statement"},
    )
    weight = fields.Float(
        load_default=1.0, validate=validate.Range(min=0, max=100), metadata={"description": "CSI weight; 0: left out"}
    )


class QuestionUpdateSchema(Schema):
    """A field left out keeps its value; once the survey is open only ``weight`` may change (409)."""

    kind = fields.String(validate=validate.OneOf(list(QUESTION_KINDS)))
    text = Text(validate=validate.Length(max=1000))
    required = fields.Boolean()
    choices = fields.List(Text(validate=validate.Length(max=200)), validate=validate.Length(max=MAX_CHOICES))
    dimension = fields.String(allow_none=True, validate=validate.OneOf(list(SERVQUAL_DIMENSIONS)))
    weight = fields.Float(validate=validate.Range(min=0, max=100))


# --- surveys: measures --------------------------------------------------------------------------


class NpsSchema(Schema):
    """Net Promoter Score on the 0–10 question: % promoters (9–10) minus % detractors (0–6)."""

    score = fields.Float(allow_none=True, required=True, metadata={"description": "-100 to +100; null: no answers"})
    margin = fields.Float(allow_none=True, required=True, metadata={"description": "± points, 95 % confidence"})
    n = fields.Integer(required=True, metadata={"description": "Answers counted"})
    standard_error = fields.Float(allow_none=True, required=True)
    promoters = fields.Integer(required=True)
    passives = fields.Integer(required=True)
    detractors = fields.Integer(required=True)


class CsiSchema(Schema):
    """Customer Satisfaction Index: the weighted mean of the rating questions, as 0–100."""

    score = fields.Float(allow_none=True, required=True, metadata={"description": "0 to 100; null: no answers"})
    margin = fields.Float(allow_none=True, required=True, metadata={"description": "± points, 95 % confidence"})
    n = fields.Integer(required=True, metadata={"description": "Responses counted"})
    standard_error = fields.Float(allow_none=True, required=True)


class MeasuresSchema(Schema):
    label = fields.String(required=True, metadata={"description": "The segment or period"})
    responses = fields.Integer(required=True)
    nps = fields.Nested(NpsSchema, required=True)
    csi = fields.Nested(CsiSchema, required=True)
    dimensions = fields.Dict(
        keys=fields.String(),
        values=fields.Float(),
        required=True,
        metadata={"description": "SERVQUAL dimension scores (0–100) of the dimensions answered"},
    )


class TrendPointSchema(MeasuresSchema):
    nps_change = fields.Float(allow_none=True, required=True, metadata={"description": "From the previous period"})
    nps_noise = fields.Boolean(required=True, metadata={"description": "The change is within what chance explains"})
    csi_change = fields.Float(allow_none=True, required=True)
    csi_noise = fields.Boolean(required=True)


class ResponseRateSchema(Schema):
    responded = fields.Integer(required=True, metadata={"description": "Invitations used to respond"})
    invited = fields.Integer(required=True, metadata={"description": "Invitations issued"})
    rate = fields.Float(allow_none=True, required=True, metadata={"description": "%; null without invitations"})


class MeasuresSummarySchema(Schema):
    responses = fields.Integer(required=True)
    nps = fields.Nested(NpsSchema, required=True)
    csi = fields.Nested(CsiSchema, required=True)
    dimensions = fields.Dict(keys=fields.String(), values=fields.Float(), required=True)
    response_rate = fields.Nested(ResponseRateSchema, required=True)


class MeasuresQuerySchema(Schema):
    by = fields.String(
        validate=validate.OneOf(SEGMENTS), metadata={"description": "Also the measures per segment or period"}
    )
    trend = fields.String(
        validate=validate.OneOf(PERIODS), metadata={"description": "Also the trend per period, with noise flags"}
    )


class SurveyMeasuresSchema(Schema):
    survey_id = fields.Integer(required=True)
    overall = fields.Nested(MeasuresSchema, required=True)
    response_rate = fields.Nested(ResponseRateSchema, required=True)
    by = fields.String(allow_none=True, required=True)
    segments = fields.List(fields.Nested(MeasuresSchema), allow_none=True, required=True)
    period = fields.String(allow_none=True, required=True, metadata={"description": "The trend's period"})
    trend = fields.List(fields.Nested(TrendPointSchema), allow_none=True, required=True)


# --- surveys: rules -----------------------------------------------------------------------------


class TriggerLinksSchema(Schema):
    complaint = fields.String(allow_none=True, required=True)
    nonconformity = fields.String(allow_none=True, required=True)


class TriggerSchema(Schema):
    """A rule that fired for a period; it raised one complaint or one nonconformity."""

    id = fields.Integer(required=True)
    rule = fields.String(required=True, metadata={"description": "nps_low, csi_low, nps_drop or csi_drop"})
    period = fields.String(required=True)
    value = fields.Float(required=True)
    message = fields.String(required=True)
    at = fields.DateTime(required=True)
    complaint_id = fields.Integer(allow_none=True, required=True)
    complaint_reference = fields.String(allow_none=True, required=True)
    nonconformity_id = fields.Integer(allow_none=True, required=True)
    nonconformity_reference = fields.String(allow_none=True, required=True)
    links = fields.Nested(TriggerLinksSchema, required=True)


class RulesAppliedSchema(Schema):
    fired = fields.List(
        fields.Nested(TriggerSchema), required=True, metadata={"description": "The rules that fired now"}
    )
    triggers = fields.List(
        fields.Nested(TriggerSchema), required=True, metadata={"description": "Every rule that ever fired"}
    )


# --- surveys ------------------------------------------------------------------------------------


class SurveyLinksSchema(Schema):
    self = fields.String(required=True)
    history = fields.String(required=True)
    events = fields.String(required=True, metadata={"description": "GET: available events; POST {events}/{event}"})
    questions = fields.String(required=True, metadata={"description": "POST: add a question"})
    responses = fields.String(required=True, metadata={"description": "POST: submit a response"})
    import_responses = fields.String(required=True, metadata={"description": "POST: import responses (CSV)"})
    measures = fields.String(required=True)
    invitations = fields.String(required=True, metadata={"description": "POST: issue personal links"})
    rules = fields.String(required=True, metadata={"description": "POST: apply the satisfaction rules"})
    report = fields.String(required=True, metadata={"description": "GET: the satisfaction report (PDF)"})


class SurveyBriefSchema(WorkflowRecordSchema):
    """A survey as listed."""

    title = fields.String(required=True)
    introduction = fields.String(required=True)
    service = fields.String(required=True)
    invitation_only = fields.Boolean(required=True, metadata={"description": "Only personal links admit responses"})
    closes_on = fields.Date(allow_none=True, required=True)
    owner = fields.Nested(UserRefSchema, required=True)
    nps_threshold = fields.Float(allow_none=True, required=True)
    csi_threshold = fields.Float(allow_none=True, required=True)
    drop_threshold = fields.Float(allow_none=True, required=True)
    rule_action = fields.String(required=True, metadata={"description": ", ".join(RULE_ACTIONS)})
    analysis_method = fields.String(required=True)
    analysis = fields.String(required=True)
    reported_at = fields.DateTime(allow_none=True, required=True)
    cancel_reason = fields.String(required=True)
    public_link = fields.String(
        allow_none=True,
        required=True,
        metadata={
            "description": "The public page's path (/s/<token>); null unless you are a manager or quality officer"
        },
    )
    response_count = fields.Integer(required=True)
    questions = fields.List(fields.Nested(QuestionSchema), required=True)
    links = fields.Nested(SurveyLinksSchema, required=True)


class SurveySchema(SurveyBriefSchema):
    measures = fields.Nested(MeasuresSummarySchema, required=True)
    triggers = fields.List(
        fields.Nested(TriggerSchema), required=True, metadata={"description": "The rules that fired"}
    )


SurveyPageSchema = page_schema(SurveyBriefSchema, "SurveyPage")


class SurveyQuerySchema(PageArgsSchema):
    state = fields.String(validate=validate.OneOf(SURVEY_STATES))
    service = Text(validate=validate.Length(max=120))
    sort = fields.String(load_default="-created_at", validate=validate.OneOf(SURVEY_SORTS))


class SurveyCreateSchema(Schema):
    title = Text(required=True, validate=validate.Length(max=200))
    introduction = Text(load_default="", validate=validate.Length(max=5000))
    service = Text(load_default="", validate=validate.Length(max=120))
    invitation_only = fields.Boolean(load_default=False)
    nps_threshold = _threshold(-100, 100, "Act when a month's NPS is below this")
    csi_threshold = _threshold(0, 100, "Act when a month's CSI is below this")
    drop_threshold = _threshold(0, 200, "Act when NPS or CSI falls more than this many points, beyond noise")
    rule_action = fields.String(load_default="nonconformity", validate=validate.OneOf(list(RULE_ACTIONS)))
    questions = fields.List(
        fields.Nested(QuestionInputSchema), load_default=list, validate=validate.Length(max=MAX_QUESTIONS)
    )


class SurveyUpdateSchema(Schema):
    """A field left out keeps its value; ``invitation_only`` changes only while a draft."""

    title = Text(validate=validate.Length(max=200))
    introduction = Text(validate=validate.Length(max=5000))
    service = Text(validate=validate.Length(max=120))
    invitation_only = fields.Boolean()
    nps_threshold = _threshold(-100, 100, "Act when a month's NPS is below this")
    csi_threshold = _threshold(0, 100, "Act when a month's CSI is below this")
    drop_threshold = _threshold(0, 200, "Act when NPS or CSI falls more than this many points, beyond noise")
    rule_action = fields.String(validate=validate.OneOf(list(RULE_ACTIONS)))


# --- surveys: responses and invitations ---------------------------------------------------------


class ResponseInputSchema(Schema):
    """One response collected elsewhere (by phone, on paper, by another system)."""

    answers = JsonObject(
        keys=Text(validate=validate.Length(max=20)),
        required=True,
        validate=validate.Length(max=MAX_ANSWERS),
        metadata={
            "description": (
                "Answers by question key (`q<id>`): a whole number on the question's scale, an option (a list "
                f"of options for a multiple choice) or text of at most {MAX_TEXT_ANSWER} characters"
            )
        },
    )
    service = Text(
        load_default="", validate=validate.Length(max=120), metadata={"description": "Default: the survey's"}
    )
    channel = fields.String(
        load_default="",
        validate=validate.OneOf(["", *CHANNELS]),
        metadata={"description": "How it was collected: " + ", ".join(CHANNELS)},
    )
    invitation_token = Text(
        allow_none=True,
        load_default=None,
        validate=validate.Length(max=64),
        metadata={"description": "The customer's personal invitation; it admits one response"},
    )


class ResponseSchema(Schema):
    """A response as recorded (answers are not echoed back)."""

    id = fields.Integer(required=True)
    survey_id = fields.Integer(required=True)
    responded_on = fields.Date(required=True)
    submitted_at = fields.DateTime(required=True)
    source = fields.String(required=True, metadata={"description": ", ".join(RESPONSE_SOURCES)})
    service = fields.String(required=True)
    channel = fields.String(required=True)
    invited = fields.Boolean(required=True, metadata={"description": "Through a personal invitation"})
    answered = fields.List(fields.String(), required=True, metadata={"description": "Keys of the questions answered"})


class ImportResultSchema(Schema):
    imported = fields.Integer(required=True, metadata={"description": "Responses imported"})
    fired = fields.List(
        fields.Nested(TriggerSchema), required=True, metadata={"description": "Rules the new responses fired"}
    )


class InvitationRequestSchema(Schema):
    labels = fields.List(
        Text(validate=validate.Length(min=1, max=200)),
        required=True,
        validate=validate.Length(min=1, max=MAX_INVITATIONS),
        metadata={"description": "One per customer (a name or an e-mail address), to tell the links apart"},
    )


class InvitationSchema(Schema):
    label = fields.String(required=True)
    token = fields.String(
        required=True, metadata={"description": "The invitation itself: shown this once, never again"}
    )
    link = fields.String(required=True, metadata={"description": "The path of the customer's personal link"})


class InvitationsSchema(Schema):
    invitations = fields.List(fields.Nested(InvitationSchema), required=True)


class ReportQuerySchema(Schema):
    period = fields.String(load_default="month", validate=validate.OneOf(PERIODS), metadata={"description": "Trend"})


# --- complaints ---------------------------------------------------------------------------------


class ComplaintLinksSchema(Schema):
    self = fields.String(required=True)
    history = fields.String(required=True)
    events = fields.String(required=True, metadata={"description": "GET: available events; POST {events}/{event}"})
    nonconformity = fields.String(allow_none=True, required=True)


class ComplaintSchema(WorkflowRecordSchema):
    channel = fields.String(required=True, metadata={"description": ", ".join(CHANNELS)})
    channel_label = fields.String(required=True)
    virtual_platform = fields.Boolean(required=True, metadata={"description": "A social platform"})
    summary = fields.String(required=True)
    description = fields.String(required=True)
    remedy_sought = fields.String(required=True)
    service = fields.String(required=True)
    customer_name = fields.String(required=True)
    customer_handle = fields.String(required=True)
    customer_contact = fields.String(required=True)
    post_url = fields.String(required=True)
    origin = fields.String(required=True, metadata={"description": "staff, public_form, survey_rule or api"})
    received_at = fields.DateTime(required=True)
    acknowledge_due = fields.Date(required=True, metadata={"description": "Target: acknowledged by"})
    resolve_due = fields.Date(required=True, metadata={"description": "Target: resolved by"})
    acknowledgement_overdue = fields.Boolean(required=True)
    resolution_overdue = fields.Boolean(required=True)
    overdue = fields.Boolean(required=True, metadata={"description": "Either target missed"})
    acknowledged_on = fields.Date(allow_none=True, required=True)
    severity = fields.String(allow_none=True, required=True)
    resolution = fields.String(required=True)
    resolved_at = fields.DateTime(allow_none=True, required=True)
    customer_satisfied = fields.String(allow_none=True, required=True)
    communicated_on = fields.Date(allow_none=True, required=True)
    closed_at = fields.DateTime(allow_none=True, required=True)
    rejection_reason = fields.String(required=True)
    logged_by = fields.Nested(UserRefSchema, allow_none=True, required=True)
    owner = fields.Nested(UserRefSchema, allow_none=True, required=True)
    nonconformity_id = fields.Integer(allow_none=True, required=True)
    nonconformity_reference = fields.String(allow_none=True, required=True)
    links = fields.Nested(ComplaintLinksSchema, required=True)


ComplaintPageSchema = page_schema(ComplaintSchema, "ComplaintPage")


def _plausible_receipt(value: dt.datetime) -> None:
    """After 1900 and not in the future (the service says so too; this keeps odd offsets away from it)."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    if aware.year < EARLIEST_DATE.year:
        raise ValidationError(f"must be after {EARLIEST_DATE.isoformat()}")
    if aware - dt.datetime.now(dt.UTC) > dt.timedelta(minutes=5):
        raise ValidationError("cannot be in the future")


class ComplaintCreateSchema(Schema):
    channel = fields.String(required=True, validate=validate.OneOf(list(CHANNELS)))
    summary = Text(required=True, validate=validate.Length(max=200))
    description = Text(required=True, validate=validate.Length(max=10_000))
    remedy_sought = Text(load_default="", validate=validate.Length(max=5000))
    service = Text(load_default="", validate=validate.Length(max=120))
    customer_name = Text(load_default="", validate=validate.Length(max=200))
    customer_handle = Text(
        load_default="",
        validate=validate.Length(max=200),
        metadata={"description": "On a social platform, the handle or the post's link is required"},
    )
    customer_contact = Text(load_default="", validate=validate.Length(max=254))
    post_url = Text(load_default="", validate=validate.Length(max=500), metadata={"description": "https://…"})
    received_at = fields.DateTime(
        allow_none=True,
        load_default=None,
        validate=_plausible_receipt,
        metadata={"description": "Default: now; UTC when no offset is given; not in the future"},
    )
    owner_id = fields.Integer(
        strict=True,
        validate=ID_RANGE,
        allow_none=True,
        load_default=None,
        metadata={"description": "An active quality officer, manager or process owner; default: you"},
    )


class ComplaintQuerySchema(PageArgsSchema):
    state = fields.String(validate=validate.OneOf([*COMPLAINT_STATES, "open"]), metadata={"description": "open: any"})
    channel = fields.String(
        validate=validate.OneOf([*CHANNELS, "virtual"]), metadata={"description": "virtual: the social platforms"}
    )
    service = Text(validate=validate.Length(max=120))
    overdue = fields.Boolean(metadata={"description": "true: open complaints past a target"})
    sort = fields.String(load_default="-received_at", validate=validate.OneOf(COMPLAINT_SORTS))


class PeriodQuerySchema(Schema):
    start = fields.Date(
        validate=validate.Range(min=EARLIEST_DATE), metadata={"description": "Received from; default: 90 days ago"}
    )
    end = fields.Date(
        validate=validate.Range(min=EARLIEST_DATE), metadata={"description": "Received to; default: today"}
    )

    @validates_schema
    def _period(self, data: dict[str, Any], **kwargs: Any) -> None:
        start, end = data.get("start"), data.get("end")
        if start is not None and end is not None:
            if end < start:
                raise ValidationError("must not be before start", "end")
            if (end - start).days > MAX_REPORT_DAYS:
                raise ValidationError("the period can be at most three years", "end")


class PlatformFiguresSchema(Schema):
    channel = fields.String(required=True)
    channel_label = fields.String(required=True)
    total = fields.Integer(required=True)
    open = fields.Integer(required=True)
    overdue = fields.Integer(required=True)
    escalated = fields.Integer(required=True, metadata={"description": "Escalated to a nonconformity"})
    median_ack_days = fields.Float(allow_none=True, required=True)
    median_resolve_days = fields.Float(allow_none=True, required=True)
    outcomes = fields.Dict(
        keys=fields.String(), values=fields.Integer(), required=True, metadata={"description": "Complaints per state"}
    )
    satisfied = fields.Integer(required=True)
    not_satisfied = fields.Integer(required=True)


class PlatformReportSchema(Schema):
    start = fields.Date(required=True)
    end = fields.Date(required=True)
    platforms = fields.List(
        fields.Nested(PlatformFiguresSchema), required=True, metadata={"description": "The social platforms"}
    )
    other_channels = fields.List(fields.Nested(PlatformFiguresSchema), required=True)
