"""marshmallow schemas of the quality objectives API (objectives, their KPI values, the computed measures)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from workflows import get_lifecycle

from ...models import DIRECTIONS, FREQUENCIES, MEASUREMENT_SOURCES
from ...services.objectives import MEASURES, STATUS_LABELS
from .common import (
    EARLIEST_DATE,
    ID_RANGE,
    PageArgsSchema,
    ProcessRefSchema,
    Text,
    UserRefSchema,
    WorkflowRecordSchema,
    page_schema,
    sort_choices,
)

OBJECTIVE_STATES = tuple(s.name for s in get_lifecycle("quality_objective").states)
OBJECTIVE_SORTS = sort_choices("reference", "deadline", "starts_on", "state", "created_at")
MAX_NUMBER = 1e12


class Number(fields.Float):
    """A finite number within ±10¹²."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_nan", False)
        kwargs.setdefault("validate", validate.Range(min=-MAX_NUMBER, max=MAX_NUMBER))
        super().__init__(**kwargs)


class ObjectiveStatusSchema(Schema):
    status = fields.String(required=True, metadata={"description": ", ".join(STATUS_LABELS)})
    label = fields.String(required=True)
    latest = fields.Float(allow_none=True, required=True, metadata={"description": "The latest value"})
    latest_on = fields.Date(allow_none=True, required=True)
    forecast = fields.Float(
        allow_none=True,
        required=True,
        metadata={"description": "The value at the deadline on a straight line through the values (3 or more)"},
    )
    slope = fields.Float(allow_none=True, required=True, metadata={"description": "Change per 30 days"})
    points = fields.Integer(required=True, metadata={"description": "Values recorded"})


class ObjectiveLinksSchema(Schema):
    self = fields.String(required=True)
    history = fields.String(required=True)
    events = fields.String(required=True)
    measurements = fields.String(required=True)
    nonconformity = fields.String(allow_none=True, required=True)
    opportunity = fields.String(allow_none=True, required=True)


class ObjectiveSchema(WorkflowRecordSchema):
    title = fields.String(required=True)
    description = fields.String(required=True)
    owner = fields.Nested(UserRefSchema, required=True)
    process = fields.Nested(ProcessRefSchema, allow_none=True, required=True)
    kpi_name = fields.String(required=True)
    measure = fields.String(required=True, metadata={"description": "manual, or the key of a computed measure"})
    measure_label = fields.String(required=True)
    unit = fields.String(required=True)
    direction = fields.String(required=True, metadata={"description": "up: higher is better; down: lower"})
    baseline = fields.Float(allow_none=True, required=True)
    target = fields.Float(required=True)
    tolerance = fields.Float(allow_none=True, required=True)
    frequency = fields.String(required=True)
    starts_on = fields.Date(required=True)
    deadline = fields.Date(required=True)
    plan_what = fields.String(required=True)
    plan_resources = fields.String(required=True)
    plan_who = fields.String(required=True)
    plan_when = fields.String(required=True)
    plan_evaluation = fields.String(required=True)
    evaluation = fields.String(required=True)
    missed_reason = fields.String(required=True)
    missed_follow_up = fields.String(required=True)
    closing_note = fields.String(required=True)
    withdrawn_reason = fields.String(required=True)
    nonconformity_id = fields.Integer(allow_none=True, required=True)
    opportunity_id = fields.Integer(allow_none=True, required=True)
    status = fields.Nested(ObjectiveStatusSchema, required=True)
    links = fields.Nested(ObjectiveLinksSchema, required=True)


class ObjectiveFieldsSchema(Schema):
    title = Text(validate=validate.Length(min=1, max=200))
    description = Text(validate=validate.Length(max=10_000))
    owner_id = fields.Integer(strict=True, validate=ID_RANGE, metadata={"description": "Default: you"})
    process_id = fields.Integer(strict=True, validate=ID_RANGE, allow_none=True)
    kpi_name = Text(validate=validate.Length(min=1, max=200))
    measure = fields.String(validate=validate.OneOf(["manual", *MEASURES]))
    unit = Text(validate=validate.Length(max=30), metadata={"description": "Default for a computed measure: its unit"})
    direction = fields.String(validate=validate.OneOf(list(DIRECTIONS)))
    baseline = Number(allow_none=True)
    target = Number()
    tolerance = Number(allow_none=True, validate=validate.Range(min=0, max=MAX_NUMBER))
    frequency = fields.String(validate=validate.OneOf(list(FREQUENCIES)))
    starts_on = fields.Date(validate=validate.Range(min=EARLIEST_DATE), metadata={"description": "Default: today"})
    deadline = fields.Date(validate=validate.Range(min=EARLIEST_DATE))
    plan_what = Text(validate=validate.Length(max=5000))
    plan_resources = Text(validate=validate.Length(max=5000))
    plan_who = Text(validate=validate.Length(max=5000))
    plan_when = Text(validate=validate.Length(max=5000))
    plan_evaluation = Text(validate=validate.Length(max=5000))


class ObjectiveCreateSchema(ObjectiveFieldsSchema):
    title = Text(required=True, validate=validate.Length(min=1, max=200))
    kpi_name = Text(required=True, validate=validate.Length(min=1, max=200))
    direction = fields.String(required=True, validate=validate.OneOf(list(DIRECTIONS)))
    target = Number(required=True)
    deadline = fields.Date(required=True, validate=validate.Range(min=EARLIEST_DATE))


class ObjectiveQuerySchema(PageArgsSchema):
    state = fields.String(validate=validate.OneOf([*OBJECTIVE_STATES, "open"]), metadata={"description": "open: any"})
    process_id = fields.Integer(validate=ID_RANGE)
    owner_id = fields.Integer(validate=ID_RANGE)
    measure = fields.String(validate=validate.OneOf(["manual", *MEASURES]))
    sort = fields.String(load_default="deadline", validate=validate.OneOf(OBJECTIVE_SORTS))


class MeasurementSchema(Schema):
    id = fields.Integer(required=True)
    measured_on = fields.Date(required=True, metadata={"description": "The end of the period measured"})
    value = fields.Float(required=True)
    source = fields.String(required=True, metadata={"description": ", ".join(MEASUREMENT_SOURCES)})
    note = fields.String(required=True)
    meets_target = fields.Boolean(required=True)
    recorded_by = fields.Nested(UserRefSchema, allow_none=True, required=True)
    recorded_at = fields.DateTime(required=True)


class MeasurementCreateSchema(Schema):
    measured_on = fields.Date(required=True, validate=validate.Range(min=EARLIEST_DATE))
    value = Number(required=True)
    note = Text(load_default="", validate=validate.Length(max=500))


class ImportCountsSchema(Schema):
    added = fields.Integer(required=True)
    replaced = fields.Integer(required=True, metadata={"description": "Dates that had a value and got the file's"})


class RecomputedSchema(Schema):
    changed = fields.Integer(required=True, metadata={"description": "Values added or changed"})
    objective = fields.Nested(ObjectiveSchema, required=True)


class MeasureSchema(Schema):
    key = fields.String(required=True)
    label = fields.String(required=True)
    unit = fields.String(required=True)
    direction = fields.String(required=True)
    description = fields.String(required=True)
    snapshot = fields.Boolean(
        required=True, metadata={"description": "Describes the records as they are now: stored for the current period"}
    )


ObjectivePageSchema = page_schema(ObjectiveSchema, "ObjectivePage")
