"""marshmallow schemas of the equipment API: the register, calibrations and out-of-tolerance
assessments. Strict input, bounded ids, storable text."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from workflows import get_lifecycle

from ...models import CALIBRATION_KINDS, CALIBRATION_STATUS_LABELS
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

ASSESSMENT_STATES = tuple(s.name for s in get_lifecycle("oot_assessment").states)
DATE_RANGE = validate.Range(min=EARLIEST_DATE)


class EquipmentLinksSchema(Schema):
    self = fields.String(required=True)
    history = fields.String(required=True)
    events = fields.String(required=True)
    calibrations = fields.String(required=True)
    attachments = fields.String(required=True, metadata={"description": "Calibration certificates and other files"})
    label = fields.String(required=True, metadata={"description": "The calibration label (PDF)"})


class EquipmentSchema(WorkflowRecordSchema):
    identifier = fields.String(required=True)
    name = fields.String(required=True)
    serial_number = fields.String(required=True)
    location = fields.String(required=True)
    measuring_range = fields.String(required=True)
    accuracy = fields.String(required=True)
    owner = fields.Nested(UserRefSchema, allow_none=True, required=True)
    interval_days = fields.Integer(required=True)
    calibration_kind = fields.String(required=True, metadata={"description": ", ".join(CALIBRATION_KINDS)})
    last_calibrated_on = fields.Date(allow_none=True, required=True)
    next_calibration_due = fields.Date(allow_none=True, required=True)
    calibrated_in_tolerance = fields.Boolean(allow_none=True, required=True)
    last_good_calibration_on = fields.Date(allow_none=True, required=True)
    calibration_status = fields.String(required=True, metadata={"description": ", ".join(CALIBRATION_STATUS_LABELS)})
    calibration_status_label = fields.String(required=True)
    status_reason = fields.String(required=True)
    notes = fields.String(required=True)
    links = fields.Nested(EquipmentLinksSchema, required=True)


class EquipmentCreateSchema(Schema):
    identifier = Text(required=True, validate=validate.Length(min=1, max=60))
    name = Text(required=True, validate=validate.Length(min=1, max=200))
    serial_number = Text(load_default="", validate=validate.Length(max=120))
    location = Text(load_default="", validate=validate.Length(max=200))
    measuring_range = Text(load_default="", validate=validate.Length(max=200))
    accuracy = Text(load_default="", validate=validate.Length(max=200))
    owner_id = fields.Integer(strict=True, validate=ID_RANGE, allow_none=True, load_default=None)
    interval_days = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=3660))
    calibration_kind = fields.String(load_default="external", validate=validate.OneOf(list(CALIBRATION_KINDS)))
    next_calibration_due = fields.Date(allow_none=True, load_default=None, validate=DATE_RANGE)
    notes = Text(load_default="", validate=validate.Length(max=10_000))


class EquipmentUpdateSchema(Schema):
    identifier = Text(validate=validate.Length(min=1, max=60))
    name = Text(validate=validate.Length(min=1, max=200))
    serial_number = Text(validate=validate.Length(max=120))
    location = Text(validate=validate.Length(max=200))
    measuring_range = Text(validate=validate.Length(max=200))
    accuracy = Text(validate=validate.Length(max=200))
    owner_id = fields.Integer(strict=True, validate=ID_RANGE, allow_none=True)
    interval_days = fields.Integer(strict=True, validate=validate.Range(min=1, max=3660))
    calibration_kind = fields.String(validate=validate.OneOf(list(CALIBRATION_KINDS)))
    next_calibration_due = fields.Date(allow_none=True, validate=DATE_RANGE)
    notes = Text(validate=validate.Length(max=10_000))


class EquipmentQuerySchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(list(CALIBRATION_STATUS_LABELS)))
    location = Text(validate=validate.Length(max=200))
    q = Text(validate=validate.Length(max=100), metadata={"description": "In the identifier or the name"})
    sort = fields.String(
        load_default="next_calibration_due",
        validate=validate.OneOf(sort_choices("identifier", "name", "next_calibration_due", "state")),
    )


class CalibrationSchema(Schema):
    id = fields.Integer(required=True)
    calibrated_on = fields.Date(required=True)
    kind = fields.String(required=True)
    performed_by = fields.String(required=True)
    certificate_number = fields.String(required=True)
    as_found = fields.String(required=True)
    as_found_in_tolerance = fields.Boolean(required=True)
    as_left = fields.String(required=True)
    as_left_in_tolerance = fields.Boolean(required=True)
    traceability = fields.String(required=True)
    next_due = fields.Date(required=True)
    certificate_id = fields.Integer(allow_none=True, required=True, metadata={"description": "Its attachment"})
    recorded_by = fields.Nested(UserRefSchema, required=True)
    recorded_at = fields.DateTime(required=True)


class CalibrationCreateSchema(Schema):
    calibrated_on = fields.Date(required=True, validate=DATE_RANGE)
    kind = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(list(CALIBRATION_KINDS)))
    performed_by = Text(required=True, validate=validate.Length(min=1, max=200))
    certificate_number = Text(load_default="", validate=validate.Length(max=120))
    as_found = Text(load_default="", validate=validate.Length(max=5000))
    as_found_in_tolerance = fields.Boolean(required=True)
    as_left = Text(load_default="", validate=validate.Length(max=5000))
    as_left_in_tolerance = fields.Boolean(required=True)
    traceability = Text(required=True, validate=validate.Length(min=1, max=2000))
    next_due = fields.Date(allow_none=True, load_default=None, validate=DATE_RANGE)
    certificate_attachment_id = fields.Integer(
        strict=True,
        validate=ID_RANGE,
        allow_none=True,
        load_default=None,
        metadata={"description": "A file uploaded to the instrument's attachments: the certificate"},
    )


class _StoredDate(fields.Date):
    """A date kept as ISO text in a JSON column (the assessment's affected records): answered as it is."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value if isinstance(value, str) else super()._serialize(value, attr, obj, **kwargs)


class AffectedRecordSchema(Schema):
    kind = fields.String(required=True, metadata={"description": "checklist_item, inspection or nonconformity"})
    id = fields.Integer(required=True)
    record_id = fields.Integer(
        required=True, metadata={"description": "The audit, the inspection or the nonconformity"}
    )
    reference = fields.String(required=True)
    title = fields.String(required=True)
    date = _StoredDate(required=True)


class AssessmentLinksSchema(Schema):
    self = fields.String(required=True)
    history = fields.String(required=True)
    events = fields.String(required=True)
    equipment = fields.String(required=True)
    nonconformity = fields.String(allow_none=True, required=True)


class AssessmentSchema(WorkflowRecordSchema):
    equipment_id = fields.Integer(required=True)
    equipment_identifier = fields.String(required=True)
    calibration_id = fields.Integer(required=True)
    window_start = fields.Date(required=True, metadata={"description": "Its last good calibration"})
    window_end = fields.Date(required=True, metadata={"description": "The calibration that found it out of tolerance"})
    affected = fields.List(fields.Nested(AffectedRecordSchema), required=True)
    impact = fields.String(required=True)
    rationale = fields.String(required=True)
    nonconformity_id = fields.Integer(allow_none=True, required=True)
    closed_at = fields.DateTime(allow_none=True, required=True)
    links = fields.Nested(AssessmentLinksSchema, required=True)


class CalibrationResultSchema(Schema):
    calibration = fields.Nested(CalibrationSchema, required=True)
    assessment = fields.Nested(
        AssessmentSchema,
        allow_none=True,
        required=True,
        metadata={"description": "Opened when out of tolerance as found"},
    )


class AssessmentQuerySchema(PageArgsSchema):
    state = fields.String(validate=validate.OneOf(ASSESSMENT_STATES))
    equipment_id = fields.Integer(validate=ID_RANGE)


class CiteSchema(Schema):
    equipment_id = fields.Integer(
        strict=True, validate=ID_RANGE, allow_none=True, required=True, metadata={"description": "null clears it"}
    )


class CitedItemSchema(Schema):
    id = fields.Integer(required=True)
    audit_id = fields.Integer(required=True)
    equipment_id = fields.Integer(allow_none=True, required=True)


EquipmentPageSchema = page_schema(EquipmentSchema, "EquipmentPage")
AssessmentPageSchema = page_schema(AssessmentSchema, "OotAssessmentPage")
