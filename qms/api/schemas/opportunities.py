"""marshmallow schemas of the opportunities and innovation API (opportunities, innovation committees)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from workflows import get_lifecycle

from ...models import EDGE_LABELS, OPPORTUNITY_SOURCES
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

OPPORTUNITY_STATES = tuple(s.name for s in get_lifecycle("opportunity").states)
OPPORTUNITY_SORTS = sort_choices("reference", "created_at", "pilot_end", "state")
PROPOSED_SOURCES = [s for s in OPPORTUNITY_SOURCES if s != "objective_missed"]


class CommitteeSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    remit = fields.String(required=True)
    active = fields.Boolean(required=True)
    chair = fields.Nested(UserRefSchema, required=True)
    members = fields.List(fields.Nested(UserRefSchema), required=True)


class CommitteeRefSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class CommitteeCreateSchema(Schema):
    name = Text(required=True, validate=validate.Length(min=1, max=120))
    remit = Text(load_default="", validate=validate.Length(max=5000))
    chair_id = fields.Integer(strict=True, required=True, validate=ID_RANGE)
    member_ids = fields.List(
        fields.Integer(strict=True, validate=ID_RANGE),
        required=True,
        validate=validate.Length(max=50),
        metadata={"description": "Managers, quality officers or process owners; the chair is added"},
    )


class OpportunityLinksSchema(Schema):
    self = fields.String(required=True)
    history = fields.String(required=True)
    events = fields.String(required=True)


class OpportunitySchema(WorkflowRecordSchema):
    title = fields.String(required=True)
    description = fields.String(required=True)
    source = fields.String(required=True, metadata={"description": ", ".join(OPPORTUNITY_SOURCES)})
    source_label = fields.String(required=True)
    source_survey_id = fields.Integer(allow_none=True, required=True, metadata={"description": "Raised from it"})
    source_detail = fields.String(required=True, metadata={"description": "A survey trend in words, as detected"})
    process = fields.Nested(ProcessRefSchema, allow_none=True, required=True)
    owner = fields.Nested(UserRefSchema, required=True)
    proposed_by = fields.Nested(UserRefSchema, required=True)
    committee = fields.Nested(CommitteeRefSchema, allow_none=True, required=True)
    ip_notes = fields.String(
        required=True, metadata={"description": "Intellectual-property notes (patent, trademark, copyright)"}
    )
    estimated_cost = fields.Integer(allow_none=True, required=True)
    expected_benefit = fields.String(required=True)
    edge_category = fields.String(allow_none=True, required=True, metadata={"description": ", ".join(EDGE_LABELS)})
    cost_benefit = fields.String(required=True)
    decision = fields.String(required=True)
    decided_on = fields.Date(allow_none=True, required=True)
    pilot_plan = fields.String(required=True)
    success_criteria = fields.String(required=True)
    pilot_start = fields.Date(allow_none=True, required=True)
    pilot_end = fields.Date(allow_none=True, required=True)
    pilot_overdue = fields.Boolean(required=True)
    pilot_results = fields.String(required=True)
    benefit_measured = fields.String(required=True)
    benefit_value = fields.Integer(allow_none=True, required=True)
    declined_reason = fields.String(required=True)
    adopted_at = fields.DateTime(allow_none=True, required=True)
    closed_at = fields.DateTime(allow_none=True, required=True)
    links = fields.Nested(OpportunityLinksSchema, required=True)


class OpportunityCreateSchema(Schema):
    title = Text(required=True, validate=validate.Length(min=1, max=200))
    description = Text(required=True, validate=validate.Length(min=1, max=10_000))
    source = fields.String(load_default="staff", validate=validate.OneOf(PROPOSED_SOURCES))
    process_id = fields.Integer(strict=True, validate=ID_RANGE, allow_none=True)
    owner_id = fields.Integer(strict=True, validate=ID_RANGE, metadata={"description": "Default: you"})
    committee_id = fields.Integer(strict=True, validate=ID_RANGE, allow_none=True)
    ip_notes = Text(load_default="", validate=validate.Length(max=5000))
    survey_id = fields.Integer(
        strict=True, validate=ID_RANGE, metadata={"description": "Raised from this survey (source becomes survey)"}
    )
    trend = Text(
        validate=validate.Length(max=120),
        metadata={"description": "With survey_id: the key of a trend it shows now (GET /surveys/{id}/trends)"},
    )


class OpportunityChangeSchema(Schema):
    title = Text(validate=validate.Length(min=1, max=200))
    description = Text(validate=validate.Length(min=1, max=10_000))
    process_id = fields.Integer(strict=True, validate=ID_RANGE, allow_none=True)
    owner_id = fields.Integer(strict=True, validate=ID_RANGE)
    committee_id = fields.Integer(
        strict=True, validate=ID_RANGE, allow_none=True, metadata={"description": "Until the committee has decided"}
    )
    ip_notes = Text(validate=validate.Length(max=5000))


class OpportunityQuerySchema(PageArgsSchema):
    state = fields.String(validate=validate.OneOf([*OPPORTUNITY_STATES, "open"]))
    edge_category = fields.String(validate=validate.OneOf(list(EDGE_LABELS)))
    source = fields.String(validate=validate.OneOf(list(OPPORTUNITY_SOURCES)))
    sort = fields.String(load_default="-created_at", validate=validate.OneOf(OPPORTUNITY_SORTS))


OpportunityPageSchema = page_schema(OpportunitySchema, "OpportunityPage")
