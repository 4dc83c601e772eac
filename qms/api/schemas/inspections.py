"""Schemas of the inspections API: strict input (unknown fields rejected), bounded ids and texts."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from workflows import get_lifecycle

from ...models import INSPECTION_KINDS, INSPECTION_RESULTS
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

INSPECTION_STATES = tuple(s.name for s in get_lifecycle("inspection").states)


class InspectionLinksSchema(Schema):
    self = fields.String(required=True)
    history = fields.String(required=True)
    events = fields.String(required=True)
    supplier = fields.String(allow_none=True, required=True)
    equipment = fields.String(allow_none=True, required=True)
    nonconformity = fields.String(allow_none=True, required=True)


class InspectionSchema(WorkflowRecordSchema):
    kind = fields.String(required=True, metadata={"description": ", ".join(INSPECTION_KINDS)})
    kind_label = fields.String(required=True)
    inspected_on = fields.Date(required=True)
    item = fields.String(required=True, metadata={"description": "What was inspected"})
    lot = fields.String(required=True)
    quantity = fields.String(required=True)
    criteria = fields.String(required=True)
    findings = fields.String(required=True)
    result = fields.String(required=True, metadata={"description": ", ".join(INSPECTION_RESULTS)})
    result_label = fields.String(required=True)
    concession = fields.String(required=True)
    process = fields.String(required=True)
    supplier_id = fields.Integer(allow_none=True, required=True)
    delivery_id = fields.Integer(allow_none=True, required=True)
    order_reference = fields.String(required=True)
    equipment_id = fields.Integer(allow_none=True, required=True, metadata={"description": "The instrument used"})
    nonconformity_id = fields.Integer(
        allow_none=True, required=True, metadata={"description": "Raised when an incoming inspection is rejected"}
    )
    inspected_by = fields.Nested(UserRefSchema, required=True)
    review_comment = fields.String(required=True)
    void_reason = fields.String(required=True)
    links = fields.Nested(InspectionLinksSchema, required=True)


class InspectionCreateSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(list(INSPECTION_KINDS)))
    inspected_on = fields.Date(required=True, validate=validate.Range(min=EARLIEST_DATE))
    item = Text(required=True, validate=validate.Length(min=1, max=200))
    lot = Text(load_default="", validate=validate.Length(max=120))
    quantity = Text(load_default="", validate=validate.Length(max=60))
    criteria = Text(load_default="", validate=validate.Length(max=5000))
    findings = Text(
        load_default="", validate=validate.Length(max=10_000), metadata={"description": "Required unless accepted"}
    )
    result = fields.String(required=True, validate=validate.OneOf(list(INSPECTION_RESULTS)))
    concession = Text(
        load_default="",
        validate=validate.Length(max=5000),
        metadata={"description": "Who authorised it and on what terms; required for a concession"},
    )
    process = Text(load_default="", validate=validate.Length(max=200))
    supplier_id = fields.Integer(
        strict=True,
        allow_none=True,
        load_default=None,
        validate=ID_RANGE,
        metadata={"description": "Required for an incoming inspection"},
    )
    delivery_id = fields.Integer(strict=True, allow_none=True, load_default=None, validate=ID_RANGE)
    order_reference = Text(load_default="", validate=validate.Length(max=60))
    equipment_id = fields.Integer(
        strict=True,
        allow_none=True,
        load_default=None,
        validate=ID_RANGE,
        metadata={"description": "The measuring instrument used (not a quarantined or retired one)"},
    )


class InspectionQuerySchema(PageArgsSchema):
    kind = fields.String(validate=validate.OneOf(list(INSPECTION_KINDS)))
    result = fields.String(validate=validate.OneOf(list(INSPECTION_RESULTS)))
    state = fields.String(validate=validate.OneOf(INSPECTION_STATES))
    supplier_id = fields.Integer(validate=ID_RANGE)
    equipment_id = fields.Integer(validate=ID_RANGE)
    q = Text(validate=validate.Length(max=100), metadata={"description": "In the reference, the item or the lot"})
    sort = fields.String(
        load_default="-inspected_on",
        validate=validate.OneOf(sort_choices("inspected_on", "reference", "result", "state")),
    )


InspectionPageSchema = page_schema(InspectionSchema, "InspectionPage")
