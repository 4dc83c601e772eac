"""marshmallow schemas of the surveys API (questions, responses, measures, invitations, rules).

Built on ``common``'s fields and conventions: strict input (unknown fields rejected), bounded ids,
storable text, ISO 8601 dates.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from workflows import get_lifecycle

from ...models import CHANNELS, QUESTION_KINDS, RESPONSE_SOURCES, RULE_ACTIONS, SERVQUAL_DIMENSIONS
from ...services.surveys import MAX_CHOICES, MAX_QUESTIONS, MAX_TEXT_ANSWER, PERIODS
from .common import JsonObject, PageArgsSchema, Text, UserRefSchema, WorkflowRecordSchema, page_schema, sort_choices

SURVEY_STATES = tuple(s.name for s in get_lifecycle("survey").states)


SURVEY_SORTS = sort_choices("reference", "title", "created_at", "state")


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
