"""marshmallow schemas of the risk register API: risks, their treatment actions, realisations and the heat map."""

from __future__ import annotations

import copy

from marshmallow import Schema, fields, validate

from workflows import get_lifecycle

from ...models import LEVEL_LABELS, SOURCE_LABELS, TREATMENT_LABELS
from .common import (
    ID_RANGE,
    PageArgsSchema,
    ProcessRefSchema,
    Text,
    UserRefSchema,
    WorkflowRecordSchema,
    page_schema,
    sort_choices,
)

RISK_STATES = tuple(s.name for s in get_lifecycle("risk").states)
ACTION_STATES = tuple(s.name for s in get_lifecycle("risk_treatment").states)
RISK_SORTS = sort_choices("reference", "title", "state", "score", "next_review_on")
SOURCE_KINDS = tuple(k for k in SOURCE_LABELS if k != "manual")


class RiskLinksSchema(Schema):
    self = fields.String(required=True)
    history = fields.String(required=True)
    events = fields.String(required=True, metadata={"description": "GET: available events; POST {events}/{event}"})
    treatment_actions = fields.String(required=True)
    source = fields.String(allow_none=True, required=True, metadata={"description": "The record it was raised from"})


class RealisationSchema(Schema):
    id = fields.Integer(required=True)
    risk_id = fields.Integer(required=True)
    risk_reference = fields.String(required=True, attribute="risk.reference")
    nonconformity_id = fields.Integer(
        allow_none=True, required=True, metadata={"description": "None when an audit finding without an NC cites it"}
    )
    nonconformity_reference = fields.Function(
        lambda r: r.nonconformity.reference if r.nonconformity else None, allow_none=True, required=True
    )
    checklist_item_id = fields.Integer(
        allow_none=True, required=True, metadata={"description": "The audit finding (behind the NC, if any)"}
    )
    audit_id = fields.Function(
        lambda r: r.checklist_item.audit_id if r.checklist_item else None, allow_none=True, required=True
    )
    note = fields.String(required=True)
    cited_by = fields.Nested(UserRefSchema, required=True)
    cited_at = fields.DateTime(required=True)


class RiskSchema(WorkflowRecordSchema):
    title = fields.String(required=True)
    description = fields.String(required=True)
    cause = fields.String(required=True)
    effect = fields.String(required=True)
    process = fields.Nested(ProcessRefSchema, allow_none=True, required=True)
    clause_refs = fields.List(fields.String(), required=True)
    owner = fields.Nested(UserRefSchema, required=True)
    raised_by = fields.Nested(UserRefSchema, required=True)
    scale = fields.Integer(required=True, metadata={"description": "Likelihood and impact run from 1 to this"})
    likelihood = fields.Integer(allow_none=True, required=True, metadata={"description": "Inherent"})
    impact = fields.Integer(allow_none=True, required=True, metadata={"description": "Inherent"})
    inherent_score = fields.Integer(allow_none=True, required=True)
    residual_likelihood = fields.Integer(allow_none=True, required=True)
    residual_impact = fields.Integer(allow_none=True, required=True)
    residual_score = fields.Integer(allow_none=True, required=True)
    current_likelihood = fields.Integer(allow_none=True, required=True)
    current_impact = fields.Integer(allow_none=True, required=True)
    current_score = fields.Integer(
        allow_none=True, required=True, metadata={"description": "Residual when recorded, else inherent"}
    )
    level = fields.String(allow_none=True, required=True, metadata={"description": ", ".join(LEVEL_LABELS)})
    treatment = fields.String(allow_none=True, required=True, metadata={"description": ", ".join(TREATMENT_LABELS)})
    treatment_plan = fields.String(required=True)
    acceptance_rationale = fields.String(required=True)
    effectiveness = fields.String(required=True)
    last_reviewed_on = fields.Date(allow_none=True, required=True)
    next_review_on = fields.Date(allow_none=True, required=True)
    review_overdue = fields.Boolean(required=True)
    rerating_requested = fields.Boolean(
        required=True, metadata={"description": "An NC or audit finding showed it happened: re-assess it"}
    )
    rerating_reason = fields.String(required=True)
    closure_reason = fields.String(required=True)
    closed_at = fields.DateTime(allow_none=True, required=True)
    source = fields.String(required=True, metadata={"description": ", ".join(SOURCE_LABELS)})
    source_id = fields.Integer(allow_none=True, required=True)
    source_reference = fields.String(allow_none=True, required=True)
    source_detail = fields.String(required=True, metadata={"description": "A survey trend in words, as detected"})
    realisations = fields.List(fields.Nested(RealisationSchema), required=True)
    links = fields.Nested(RiskLinksSchema, required=True)


def _clauses() -> fields.List:
    return fields.List(
        Text(validate=validate.Length(min=1, max=20)),
        validate=validate.Length(max=20),
        metadata={"description": "ISO 9001 clause numbers, such as 6.1 or 8.4"},
    )


class RiskCreateSchema(Schema):
    title = Text(required=True, validate=validate.Length(max=200))
    cause = Text(required=True, validate=validate.Length(max=5000))
    effect = Text(required=True, validate=validate.Length(max=5000))
    description = Text(load_default="", validate=validate.Length(max=10_000))
    process_id = fields.Integer(strict=True, validate=ID_RANGE, allow_none=True, load_default=None)
    clause_refs = _clauses()
    owner_id = fields.Integer(
        strict=True,
        validate=ID_RANGE,
        allow_none=True,
        load_default=None,
        metadata={"description": "An active process owner, quality officer or manager; default: you"},
    )
    source = fields.String(
        validate=validate.OneOf(SOURCE_KINDS),
        metadata={"description": "Raised from a record (linked both ways): " + ", ".join(SOURCE_KINDS)},
    )
    source_id = fields.Integer(strict=True, validate=ID_RANGE, metadata={"description": "The id of that record"})
    trend = Text(
        validate=validate.Length(max=120),
        metadata={"description": "With source survey: the key of a detected trend (GET /surveys/{id}/trends)"},
    )


class RiskUpdateSchema(Schema):
    title = Text(validate=validate.Length(max=200))
    cause = Text(validate=validate.Length(max=5000))
    effect = Text(validate=validate.Length(max=5000))
    description = Text(validate=validate.Length(max=10_000))
    process_id = fields.Integer(strict=True, validate=ID_RANGE, allow_none=True)
    clause_refs = _clauses()
    owner_id = fields.Integer(strict=True, validate=ID_RANGE)


class RiskQuerySchema(PageArgsSchema):
    q = Text(validate=validate.Length(max=200), metadata={"description": "In reference, title, cause and effect"})
    state = fields.String(validate=validate.OneOf(RISK_STATES))
    open = fields.Boolean(metadata={"description": "true: not closed or withdrawn"})
    level = fields.String(validate=validate.OneOf(list(LEVEL_LABELS)), metadata={"description": "Current rating"})
    process = fields.Integer(validate=ID_RANGE, metadata={"description": "Process id"})
    owner = fields.Integer(validate=ID_RANGE, metadata={"description": "Owner's user id"})
    treatment = fields.String(validate=validate.OneOf(list(TREATMENT_LABELS)))
    clause = Text(validate=validate.Length(max=20), metadata={"description": "Cites this clause or a sub-clause"})
    likelihood = fields.Integer(validate=validate.Range(min=1, max=10), metadata={"description": "A heat map cell"})
    impact = fields.Integer(validate=validate.Range(min=1, max=10), metadata={"description": "A heat map cell"})
    rating = fields.String(
        load_default="current",
        validate=validate.OneOf(("current", "inherent")),
        metadata={"description": "Which rating likelihood and impact filter"},
    )
    due = fields.Boolean(metadata={"description": "true: monitored risks whose review is due"})
    sort = fields.String(load_default="-score", validate=validate.OneOf(RISK_SORTS))


class HeatCellSchema(Schema):
    likelihood = fields.Integer(required=True)
    impact = fields.Integer(required=True)
    count = fields.Integer(required=True)
    level = fields.String(required=True)
    risks = fields.String(required=True, metadata={"description": "The register filtered to this cell"})


class HeatMapSchema(Schema):
    scale = fields.Integer(required=True)
    rating = fields.String(required=True, metadata={"description": "current or inherent"})
    total = fields.Integer(required=True, metadata={"description": "Open rated risks"})
    cells = fields.List(fields.Nested(HeatCellSchema), required=True, metadata={"description": "Every cell"})


class HeatMapQuerySchema(Schema):
    rating = fields.String(load_default="current", validate=validate.OneOf(("current", "inherent")))
    process = fields.Integer(validate=ID_RANGE)


class RiskRefSchema(Schema):
    id = fields.Integer(required=True)
    reference = fields.String(required=True)
    title = fields.String(required=True)
    state = fields.String(required=True)


class TreatmentActionLinksSchema(Schema):
    self = fields.String(required=True)
    history = fields.String(required=True)
    events = fields.String(required=True)
    risk = fields.String(required=True)


class TreatmentActionSchema(WorkflowRecordSchema):
    risk = fields.Nested(RiskRefSchema, required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    owner = fields.Nested(UserRefSchema, required=True)
    due_date = fields.Date(required=True)
    overdue = fields.Boolean(required=True)
    implementation = fields.String(required=True)
    implemented_by = fields.Nested(UserRefSchema, allow_none=True, required=True)
    implemented_at = fields.DateTime(allow_none=True, required=True)
    verification = fields.String(required=True)
    verified_by = fields.Nested(UserRefSchema, allow_none=True, required=True)
    verified_at = fields.DateTime(allow_none=True, required=True)
    cancel_reason = fields.String(required=True)
    links = fields.Nested(TreatmentActionLinksSchema, required=True)


class TreatmentActionCreateSchema(Schema):
    title = Text(required=True, validate=validate.Length(max=200))
    description = Text(load_default="", validate=validate.Length(max=5000))
    owner_id = fields.Integer(required=True, strict=True, validate=ID_RANGE)
    due_date = fields.Date(required=True, metadata={"description": "Not in the past"})


class TreatmentActionQuerySchema(PageArgsSchema):
    state = fields.String(validate=validate.OneOf(ACTION_STATES))
    owner = fields.Integer(validate=ID_RANGE)
    overdue = fields.Boolean()
    sort = fields.String(
        load_default="due_date", validate=validate.OneOf(sort_choices("reference", "due_date", "state"))
    )


class RealisationCreateSchema(Schema):
    risk_id = fields.Integer(required=True, strict=True, validate=ID_RANGE)
    note = Text(load_default="", validate=validate.Length(max=2000))
    checklist_item_id = fields.Integer(
        strict=True,
        validate=ID_RANGE,
        allow_none=True,
        load_default=None,
        metadata={"description": "The audit finding that raised the NC (found by itself when omitted)"},
    )


RiskPageSchema = page_schema(RiskSchema, "RiskPage")
TreatmentActionPageSchema = page_schema(TreatmentActionSchema, "RiskTreatmentActionPage")


class RealisationFindingCreateSchema(Schema):
    risk_id = fields.Integer(required=True, strict=True, validate=ID_RANGE)
    note = Text(load_default="", validate=validate.Length(max=2000))


#: the register's filters without paging: the spreadsheets hold every matching risk
RiskExportQuerySchema = Schema.from_dict(
    {
        name: copy.deepcopy(field)
        for name, field in RiskQuerySchema._declared_fields.items()
        if name not in PageArgsSchema._declared_fields
    },
    name="RiskExportQuerySchema",
)


class SurveyTrendSchema(Schema):
    key = fields.String(required=True, metadata={"description": "Names the trend: give it as `trend` when raising"})
    kind = fields.String(required=True, metadata={"description": "nps, csi or question"})
    title = fields.String(required=True)
    words = fields.String(required=True, metadata={"description": "What was detected, in words"})
    latest = fields.Float(required=True, metadata={"description": "The latest period's figure"})
    raise_risk = fields.String(required=True, metadata={"description": "POST here with source, source_id and trend"})
