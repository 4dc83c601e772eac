"""marshmallow schemas of the nonconformities and corrective actions API (with progress notes).

Built on ``common``'s fields and conventions: strict input (unknown fields rejected), bounded ids,
storable text, ISO 8601 dates.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from workflows import get_lifecycle

from ...models import NC_SOURCES, SEVERITY_LABELS
from .common import (
    EARLIEST_DATE,
    ID_RANGE,
    PageArgsSchema,
    Text,
    UserRefSchema,
    WorkflowRecordSchema,
    _id,
    page_schema,
    sort_choices,
)

NC_STATES = tuple(s.name for s in get_lifecycle("nonconformity").states)


CA_STATES = tuple(s.name for s in get_lifecycle("corrective_action").states)


NC_SORTS = sort_choices("reference", "detected_on", "created_at", "severity", "state")


CA_SORTS = sort_choices("reference", "due_date", "created_at", "state")


class CorrectiveActionBriefSchema(Schema):
    id = fields.Integer(required=True)
    reference = fields.String(required=True)
    title = fields.String(required=True)
    state = fields.String(required=True)
    owner_id = fields.Integer(required=True)
    due_date = fields.Date(required=True)


class NonconformityLinksSchema(Schema):
    self = fields.String(required=True)
    history = fields.String(required=True)
    events = fields.String(required=True, metadata={"description": "GET: available events; POST {events}/{event}"})
    corrective_actions = fields.String(required=True)
    attachments = fields.String(required=True)


class NonconformitySchema(WorkflowRecordSchema):
    title = fields.String(required=True)
    description = fields.String(required=True)
    source = fields.String(required=True)
    severity = fields.String(allow_none=True, required=True)
    process = fields.String(required=True)
    clause_refs = fields.List(fields.String(), required=True)
    detected_on = fields.Date(required=True)
    supplier_id = fields.Integer(allow_none=True, required=True)
    equipment_id = fields.Integer(allow_none=True, required=True)
    raised_by = fields.Nested(UserRefSchema, required=True)
    owner = fields.Nested(UserRefSchema, allow_none=True, required=True)
    containment_due = fields.Date(allow_none=True, required=True)
    containment = fields.String(required=True)
    correction = fields.String(required=True)
    root_cause_method = fields.String(allow_none=True, required=True)
    root_cause = fields.String(required=True)
    root_cause_whys = fields.List(fields.String(), required=True)
    root_cause_fishbone = fields.Dict(keys=fields.String(), required=True)
    verification_due = fields.Date(allow_none=True, required=True)
    effectiveness_evidence = fields.String(required=True)
    closure_note = fields.String(required=True)
    rejection_reason = fields.String(required=True)
    closed_at = fields.DateTime(allow_none=True, required=True)
    corrective_actions = fields.List(fields.Nested(CorrectiveActionBriefSchema), attribute="actions", required=True)
    links = fields.Nested(NonconformityLinksSchema, required=True)


class NonconformityCreateSchema(Schema):
    title = Text(required=True, validate=validate.Length(max=200))
    description = Text(required=True, validate=validate.Length(max=10_000))
    source = fields.String(required=True, validate=validate.OneOf(list(NC_SOURCES)))
    detected_on = fields.Date(
        validate=validate.Range(min=EARLIEST_DATE), metadata={"description": "Defaults to today; not in the future"}
    )
    process = Text(load_default="", validate=validate.Length(max=120))
    clause_refs = fields.List(
        Text(validate=validate.Length(max=80)), load_default=list, validate=validate.Length(max=50)
    )
    supplier_id = _id(allow_none=True, metadata={"description": 'The supplier it is against (source "supplier")'})
    equipment_id = _id(allow_none=True, metadata={"description": "The measuring instrument it cites"})


class NonconformityQuerySchema(PageArgsSchema):
    state = fields.String(validate=validate.OneOf(NC_STATES))
    severity = fields.String(validate=validate.OneOf(list(SEVERITY_LABELS)))
    source = fields.String(validate=validate.OneOf(list(NC_SOURCES)))
    process = Text(validate=validate.Length(max=120))
    clause = Text(
        validate=validate.Length(max=80),
        metadata={"description": "A clause reference; '7.1' also finds its sub-clauses such as '7.1.5.2'"},
    )
    q = Text(validate=validate.Length(max=200), metadata={"description": "Text in the reference, title or description"})
    raised_by = _id(metadata={"description": "User id"})
    owner = _id(metadata={"description": "User id"})
    sort = fields.String(load_default="-created_at", validate=validate.OneOf(NC_SORTS))


class ProgressNoteSchema(Schema):
    id = fields.Integer(required=True)
    author = fields.Nested(UserRefSchema, required=True)
    at = fields.DateTime(required=True)
    text = fields.String(required=True)


class ProgressNoteCreateSchema(Schema):
    text = Text(required=True, validate=validate.Length(max=5000))


class CorrectiveActionLinksSchema(Schema):
    self = fields.String(required=True)
    history = fields.String(required=True)
    events = fields.String(required=True, metadata={"description": "GET: available events; POST {events}/{event}"})
    notes = fields.String(required=True)
    attachments = fields.String(required=True)
    nonconformity = fields.String(required=True)


class CorrectiveActionSchema(WorkflowRecordSchema):
    nonconformity_id = fields.Integer(required=True)
    nonconformity_reference = fields.String(attribute="nonconformity.reference", required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    owner = fields.Nested(UserRefSchema, required=True)
    due_date = fields.Date(required=True)
    overdue = fields.Boolean(required=True, metadata={"description": "Still open after its due date"})
    implementation = fields.String(required=True)
    implemented_by = fields.Nested(UserRefSchema, allow_none=True, required=True)
    implemented_at = fields.DateTime(allow_none=True, required=True)
    verification = fields.String(required=True)
    verified_by = fields.Nested(UserRefSchema, allow_none=True, required=True)
    verified_at = fields.DateTime(allow_none=True, required=True)
    cancel_reason = fields.String(required=True)
    notes = fields.List(fields.Nested(ProgressNoteSchema), required=True)
    links = fields.Nested(CorrectiveActionLinksSchema, required=True)


class CorrectiveActionCreateSchema(Schema):
    title = Text(required=True, validate=validate.Length(max=200))
    description = Text(load_default="", validate=validate.Length(max=10_000))
    owner_id = fields.Integer(required=True, strict=True, validate=ID_RANGE)
    due_date = fields.Date(required=True, metadata={"description": "Not in the past"})


class CorrectiveActionQuerySchema(PageArgsSchema):
    state = fields.String(validate=validate.OneOf(CA_STATES))
    owner = _id(metadata={"description": "User id"})
    overdue = fields.Boolean(metadata={"description": "true: open actions past their due date"})
    sort = fields.String(load_default="-created_at", validate=validate.OneOf(CA_SORTS))


NonconformityPageSchema = page_schema(NonconformitySchema, "NonconformityPage")
CorrectiveActionPageSchema = page_schema(CorrectiveActionSchema, "CorrectiveActionPage")
