"""marshmallow schemas of the training API: sessions (a workflow resource), attendance, evaluations, needs."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from workflows import get_lifecycle

from ...models import COMPETENCE_LEVELS, EVALUATION_METHODS, NEED_SOURCES, NEED_STATUSES
from .common import EARLIEST_DATE, ID_RANGE, PageArgsSchema, Text, UserRefSchema, WorkflowRecordSchema, page_schema

SESSION_STATES = tuple(s.name for s in get_lifecycle("training_session").states)
LEVELS = list(COMPETENCE_LEVELS)
MAX_PEOPLE = 500


class AttendanceSchema(Schema):
    user = fields.Nested(UserRefSchema, required=True)
    attended = fields.Boolean(allow_none=True, required=True, metadata={"description": "null: not recorded yet"})
    score = fields.Integer(allow_none=True, required=True)
    effective = fields.Boolean(allow_none=True, required=True, metadata={"description": "null: not evaluated yet"})
    evaluation_note = fields.String(required=True)
    evaluated_by = fields.Nested(UserRefSchema, allow_none=True, required=True)
    evaluated_at = fields.DateTime(allow_none=True, required=True)


class TrainingLinksSchema(Schema):
    self = fields.String(required=True)
    history = fields.String(required=True)
    events = fields.String(required=True)
    attachments = fields.String(required=True, metadata={"description": "Certificates and other evidence files"})


class TrainingSessionSchema(WorkflowRecordSchema):
    title = fields.String(required=True)
    competence_id = fields.Integer(required=True)
    competence_name = fields.String(required=True)
    level = fields.String(required=True, metadata={"description": "The level an effective attendee is recorded at"})
    planned_on = fields.Date(required=True)
    trainer = fields.Nested(UserRefSchema, allow_none=True, required=True)
    trainer_name = fields.String(required=True)
    external = fields.Boolean(required=True)
    location = fields.String(required=True)
    material_document_id = fields.Integer(allow_none=True, required=True)
    material_revision_id = fields.Integer(
        allow_none=True, required=True, metadata={"description": "The revision of the material used"}
    )
    material_reference = fields.String(
        allow_none=True, required=True, metadata={"description": 'The revision used, e.g. "QP-07 rev B"'}
    )
    evaluation_method = fields.String(required=True, metadata={"description": ", ".join(EVALUATION_METHODS)})
    evaluation_after_days = fields.Integer(required=True)
    pass_mark = fields.Integer(allow_none=True, required=True)
    held_on = fields.Date(allow_none=True, required=True)
    evaluation_due = fields.Date(allow_none=True, required=True, metadata={"description": "Evaluate from this day"})
    evaluated_on = fields.Date(allow_none=True, required=True)
    cancel_reason = fields.String(required=True)
    notes = fields.String(required=True)
    attendance = fields.List(fields.Nested(AttendanceSchema), required=True)
    links = fields.Nested(TrainingLinksSchema, required=True)


TrainingSessionPageSchema = page_schema(TrainingSessionSchema, "TrainingSessionPage")


class TrainingSessionCreateSchema(Schema):
    title = Text(required=True, validate=validate.Length(min=1, max=200))
    competence_id = fields.Integer(required=True, strict=True, validate=ID_RANGE)
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    planned_on = fields.Date(required=True, validate=validate.Range(min=EARLIEST_DATE))
    trainer_id = fields.Integer(strict=True, allow_none=True, load_default=None, validate=ID_RANGE)
    trainer_name = Text(load_default="", validate=validate.Length(max=200), metadata={"description": "External"})
    external = fields.Boolean(load_default=False)
    location = Text(load_default="", validate=validate.Length(max=200))
    material_document_id = fields.Integer(
        strict=True,
        allow_none=True,
        load_default=None,
        validate=ID_RANGE,
        metadata={"description": "A document: its revision in force is the material"},
    )
    material_revision_id = fields.Integer(
        strict=True,
        allow_none=True,
        load_default=None,
        validate=ID_RANGE,
        metadata={"description": "The revision used as material (approved or in force)"},
    )
    evaluation_method = fields.String(load_default="test", validate=validate.OneOf(list(EVALUATION_METHODS)))
    evaluation_after_days = fields.Integer(strict=True, load_default=30, validate=validate.Range(min=0, max=365))
    pass_mark = fields.Integer(
        strict=True,
        allow_none=True,
        load_default=None,
        validate=validate.Range(min=0, max=100),
        metadata={"description": "Required for a test"},
    )
    notes = Text(load_default="", validate=validate.Length(max=10_000))
    invitee_ids = fields.List(
        fields.Integer(strict=True, validate=ID_RANGE), load_default=list, validate=validate.Length(max=MAX_PEOPLE)
    )
    need_ids = fields.List(
        fields.Integer(strict=True, validate=ID_RANGE),
        load_default=list,
        validate=validate.Length(max=MAX_PEOPLE),
        metadata={"description": "Open needs this session meets (their people are invited)"},
    )


class TrainingSessionQuerySchema(PageArgsSchema):
    state = fields.String(validate=validate.OneOf([*SESSION_STATES, "open"]), metadata={"description": "open: any"})
    competence_id = fields.Integer(validate=ID_RANGE)


class PeopleSchema(Schema):
    user_ids = fields.List(
        fields.Integer(strict=True, validate=ID_RANGE), required=True, validate=validate.Length(max=MAX_PEOPLE)
    )


class AttendancePutSchema(Schema):
    attended = fields.List(
        fields.Integer(strict=True, validate=ID_RANGE),
        required=True,
        validate=validate.Length(max=MAX_PEOPLE),
        metadata={"description": "Ids of the invitees who attended; the others did not"},
    )


class TrainingEvaluationCreateSchema(Schema):
    user_id = fields.Integer(required=True, strict=True, validate=ID_RANGE)
    score = fields.Integer(
        strict=True, allow_none=True, validate=validate.Range(min=0, max=100), metadata={"description": "For a test"}
    )
    effective = fields.Boolean(allow_none=True, metadata={"description": "For an observation or a sign-off"})
    note = Text(load_default="", validate=validate.Length(max=5000))


class NeedSchema(Schema):
    id = fields.Integer(required=True)
    user = fields.Nested(UserRefSchema, required=True)
    competence_id = fields.Integer(required=True)
    competence_name = fields.String(required=True)
    level = fields.String(required=True)
    source = fields.String(required=True, metadata={"description": ", ".join(NEED_SOURCES)})
    status = fields.String(required=True, metadata={"description": ", ".join(NEED_STATUSES)})
    reason = fields.String(required=True)
    due_date = fields.Date(allow_none=True, required=True)
    overdue = fields.Boolean(required=True)
    document_revision_id = fields.Integer(allow_none=True, required=True)
    nonconformity_id = fields.Integer(allow_none=True, required=True)
    training_session_id = fields.Integer(allow_none=True, required=True)
    created_at = fields.DateTime(required=True)


NeedPageSchema = page_schema(NeedSchema, "TrainingNeedPage")


class NeedCreateSchema(Schema):
    user_id = fields.Integer(required=True, strict=True, validate=ID_RANGE)
    competence_id = fields.Integer(required=True, strict=True, validate=ID_RANGE)
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    reason = Text(load_default="", validate=validate.Length(max=5000))
    due_date = fields.Date(allow_none=True, load_default=None, validate=validate.Range(min=EARLIEST_DATE))
    nonconformity_id = fields.Integer(
        strict=True,
        allow_none=True,
        load_default=None,
        validate=ID_RANGE,
        metadata={"description": "An NC whose root cause (recorded) is competence"},
    )


class NeedQuerySchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf([*NEED_STATUSES, "open_or_planned"]))
    user_id = fields.Integer(validate=ID_RANGE)


class CancelSchema(Schema):
    reason = Text(required=True, validate=validate.Length(min=1, max=5000))
