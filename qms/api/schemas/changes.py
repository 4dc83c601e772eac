"""marshmallow schemas of the planning of changes API (change requests and their tasks)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from workflows import get_lifecycle

from ...models import TASK_STATUSES
from .common import (
    EARLIEST_DATE,
    ID_RANGE,
    PageArgsSchema,
    Text,
    UserRefSchema,
    WorkflowRecordSchema,
    page_schema,
    sort_choices,
)

CHANGE_STATES = tuple(s.name for s in get_lifecycle("change_request").states)
CHANGE_SORTS = sort_choices("reference", "created_at", "planned_for", "review_due", "state")
IDS = fields.List(fields.Integer(strict=True, validate=ID_RANGE), validate=validate.Length(max=100))


class TaskSchema(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    owner = fields.Nested(UserRefSchema, required=True)
    due_date = fields.Date(required=True)
    status = fields.String(required=True, metadata={"description": ", ".join(TASK_STATUSES)})
    outcome = fields.String(required=True)
    done_at = fields.DateTime(allow_none=True, required=True)


class TaskCreateSchema(Schema):
    title = Text(required=True, validate=validate.Length(min=1, max=200))
    owner_id = fields.Integer(strict=True, required=True, validate=ID_RANGE)
    due_date = fields.Date(required=True, validate=validate.Range(min=EARLIEST_DATE))


class TaskCompleteSchema(Schema):
    outcome = Text(required=True, validate=validate.Length(min=1, max=5000))


class ChangeLinksSchema(Schema):
    self = fields.String(required=True)
    history = fields.String(required=True)
    events = fields.String(required=True)
    org_change_review = fields.String(allow_none=True, required=True)


class ChangeRiskSchema(Schema):
    id = fields.Integer(required=True, metadata={"description": "The link's id"})
    risk_id = fields.Integer(required=True)
    risk_reference = fields.String(required=True, attribute="risk.reference")
    risk_title = fields.String(required=True, attribute="risk.title")
    risk_state = fields.String(required=True, attribute="risk.state")
    risk_level = fields.String(allow_none=True, required=True, attribute="risk.level")
    note = fields.String(required=True)
    linked_by = fields.Nested(UserRefSchema, required=True)
    linked_at = fields.DateTime(required=True)


class ChangeRiskCreateSchema(Schema):
    risk_id = fields.Integer(required=True, strict=True, validate=ID_RANGE)
    note = Text(load_default="", validate=validate.Length(max=2000))


class ChangeSchema(WorkflowRecordSchema):
    title = fields.String(required=True)
    purpose = fields.String(required=True)
    consequences = fields.String(required=True)
    resources = fields.String(required=True)
    responsibilities = fields.String(required=True)
    risks = fields.String(required=True, metadata={"description": "Free-text notes on risks"})
    risk_links = fields.List(
        fields.Nested(ChangeRiskSchema), required=True, metadata={"description": "The risks on the register it links"}
    )
    process_ids = fields.List(fields.Integer(), required=True)
    document_ids = fields.List(fields.Integer(), required=True)
    owner = fields.Nested(UserRefSchema, required=True)
    requested_by = fields.Nested(UserRefSchema, required=True)
    org_change_review_id = fields.Integer(allow_none=True, required=True)
    planned_for = fields.Date(allow_none=True, required=True)
    review_due = fields.Date(allow_none=True, required=True)
    review_overdue = fields.Boolean(required=True)
    review_findings = fields.String(required=True)
    reason = fields.String(required=True)
    closed_at = fields.DateTime(allow_none=True, required=True)
    tasks = fields.List(fields.Nested(TaskSchema), required=True)
    links = fields.Nested(ChangeLinksSchema, required=True)


class ChangeFieldsSchema(Schema):
    title = Text(validate=validate.Length(min=1, max=200))
    purpose = Text(validate=validate.Length(max=10_000))
    consequences = Text(validate=validate.Length(max=10_000))
    resources = Text(validate=validate.Length(max=10_000))
    responsibilities = Text(validate=validate.Length(max=10_000))
    risks = Text(validate=validate.Length(max=10_000))
    process_ids = IDS
    document_ids = IDS
    owner_id = fields.Integer(strict=True, validate=ID_RANGE)


class ChangeCreateSchema(ChangeFieldsSchema):
    title = Text(validate=validate.Length(min=1, max=200), metadata={"description": "Required unless from a review"})
    org_change_review_id = fields.Integer(
        strict=True,
        validate=ID_RANGE,
        metadata={"description": "Open it from an organisational-change review (its assessment is copied)"},
    )


class ChangeQuerySchema(PageArgsSchema):
    state = fields.String(validate=validate.OneOf([*CHANGE_STATES, "open"]))
    owner_id = fields.Integer(validate=ID_RANGE)
    sort = fields.String(load_default="-created_at", validate=validate.OneOf(CHANGE_SORTS))


ChangePageSchema = page_schema(ChangeSchema, "ChangePage")
