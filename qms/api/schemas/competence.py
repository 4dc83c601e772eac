"""marshmallow schemas of the competence API: the catalogue, requirements, job roles, people's records,
the matrix and the assignment preconditions. Strict input (unknown fields rejected), bounded ids."""

from __future__ import annotations

import datetime as dt

from marshmallow import Schema, fields, validate

from ...models import ASSIGNMENTS, COMPETENCE_LEVELS, REQUIREMENT_SCOPES
from .common import EARLIEST_DATE, ID_RANGE, PageArgsSchema, Text, UserRefSchema, page_schema

LEVELS = list(COMPETENCE_LEVELS)
LEVEL_DOC = {"description": "aware, practitioner or expert"}
CELL_STATUSES = "met, gap, expired, expiring (within the warning period), held (not required) or none"


class RequirementSchema(Schema):
    id = fields.Integer(required=True)
    competence_id = fields.Integer(required=True)
    scope = fields.String(required=True, metadata={"description": ", ".join(REQUIREMENT_SCOPES)})
    target_id = fields.Integer(
        allow_none=True, required=True, metadata={"description": "job role, process or document"}
    )
    target_key = fields.String(
        required=True, metadata={"description": "platform, audit role (lead_auditor, auditor) or lifecycle.event"}
    )
    target_label = fields.String(required=True)
    level = fields.String(required=True, metadata=LEVEL_DOC)


class CompetenceSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    validity_months = fields.Integer(allow_none=True, required=True, metadata={"description": "None: never expires"})
    evidence_aware = fields.String(required=True)
    evidence_practitioner = fields.String(required=True)
    evidence_expert = fields.String(required=True)
    active = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)
    requirements = fields.List(fields.Nested(RequirementSchema), required=True)


CompetencePageSchema = page_schema(CompetenceSchema, "CompetencePage")


class CompetenceCreateSchema(Schema):
    name = Text(required=True, validate=validate.Length(min=1, max=120))
    description = Text(load_default="", validate=validate.Length(max=5000))
    validity_months = fields.Integer(
        strict=True, allow_none=True, load_default=None, validate=validate.Range(min=1, max=240)
    )
    evidence_aware = Text(load_default="", validate=validate.Length(max=5000))
    evidence_practitioner = Text(load_default="", validate=validate.Length(max=5000))
    evidence_expert = Text(load_default="", validate=validate.Length(max=5000))


class CompetenceUpdateSchema(Schema):
    name = Text(validate=validate.Length(min=1, max=120))
    description = Text(validate=validate.Length(max=5000))
    validity_months = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=240))
    evidence_aware = Text(validate=validate.Length(max=5000))
    evidence_practitioner = Text(validate=validate.Length(max=5000))
    evidence_expert = Text(validate=validate.Length(max=5000))
    active = fields.Boolean()


class CompetenceQuerySchema(PageArgsSchema):
    active = fields.Boolean()


class RequirementCreateSchema(Schema):
    scope = fields.String(required=True, validate=validate.OneOf(list(REQUIREMENT_SCOPES)))
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    target_id = fields.Integer(
        strict=True,
        allow_none=True,
        load_default=None,
        validate=ID_RANGE,
        metadata={"description": "For job_role, process and document"},
    )
    target_key = Text(
        load_default="",
        validate=validate.Length(max=120),
        metadata={
            "description": "For platform (any name), audit_role (lead_auditor, auditor), event (lifecycle.event)"
        },
    )


class JobRoleSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    active = fields.Boolean(required=True)


class JobRoleCreateSchema(Schema):
    name = Text(required=True, validate=validate.Length(min=1, max=120))
    description = Text(load_default="", validate=validate.Length(max=5000))


class NamedRefSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class ProfileSchema(Schema):
    job_role = fields.Nested(NamedRefSchema, allow_none=True, required=True)
    site = fields.Nested(NamedRefSchema, allow_none=True, required=True)
    process = fields.Nested(NamedRefSchema, allow_none=True, required=True)
    platforms = fields.List(fields.String(), required=True)


class ProfileUpdateSchema(Schema):
    job_role_id = fields.Integer(strict=True, allow_none=True, validate=ID_RANGE)
    site_id = fields.Integer(strict=True, allow_none=True, validate=ID_RANGE)
    process_id = fields.Integer(strict=True, allow_none=True, validate=ID_RANGE)
    platforms = fields.List(Text(validate=validate.Length(min=1, max=60)), validate=validate.Length(max=20))


class CellSchema(Schema):
    competence_id = fields.Integer(required=True)
    required = fields.String(allow_none=True, required=True, metadata=LEVEL_DOC)
    held = fields.String(allow_none=True, required=True, metadata=LEVEL_DOC)
    expires_on = fields.Date(allow_none=True, required=True)
    status = fields.String(required=True, metadata={"description": CELL_STATUSES})
    reasons = fields.List(fields.String(), required=True, metadata={"description": "The requirements that apply"})


class MatrixRowSchema(Schema):
    user = fields.Nested(UserRefSchema, required=True)
    profile = fields.Nested(ProfileSchema, allow_none=True, required=True)
    gaps = fields.Integer(required=True, metadata={"description": "Required competences missing or expired"})
    cells = fields.List(fields.Nested(CellSchema), required=True)


class MatrixSchema(Schema):
    today = fields.Date(required=True)
    required = fields.Integer(
        required=True, metadata={"description": "Required competences of everyone matching the filters"}
    )
    met = fields.Integer(required=True)
    coverage = fields.Float(allow_none=True, required=True, metadata={"description": "met / required"})
    competences = fields.List(fields.Nested(NamedRefSchema), required=True)
    people = fields.List(fields.Nested(MatrixRowSchema), required=True, metadata={"description": "This page, by name"})
    page = fields.Integer(
        required=True, allow_none=True, metadata={"description": "The page number asked for (null with a cursor)"}
    )
    per_page = fields.Integer(required=True)
    total = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "People matching the filters; null when more than 10,000 (counted no further)"},
    )
    pages = fields.Integer(required=True, allow_none=True, metadata={"description": "null when total is"})
    next = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Cursor of the following page (pass it as `after`); null on the last page"},
    )
    prev = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Cursor of the preceding page (pass it as `before`); null on the first page"},
    )


MatrixSchema.paged = True  # the blueprint documents its Link header


class MatrixQuerySchema(PageArgsSchema):
    site_id = fields.Integer(validate=ID_RANGE)
    process_id = fields.Integer(validate=ID_RANGE)
    job_role_id = fields.Integer(validate=ID_RANGE)
    gaps_only = fields.Boolean(load_default=False, metadata={"description": "Only people with a gap or expiry"})
    #: a matrix row is one person: up to 500 of them a page, as before cursors came
    per_page = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class MatrixFileQuerySchema(Schema):
    site_id = fields.Integer(validate=ID_RANGE)
    process_id = fields.Integer(validate=ID_RANGE)
    job_role_id = fields.Integer(validate=ID_RANGE)
    gaps_only = fields.Boolean(load_default=False)


class RecordSchema(Schema):
    id = fields.Integer(required=True)
    user_id = fields.Integer(required=True)
    competence_id = fields.Integer(allow_none=True, required=True)
    competence_name = fields.String(allow_none=True, required=True)
    level = fields.String(allow_none=True, required=True, metadata=LEVEL_DOC)
    source = fields.String(required=True, metadata={"description": "training, external or assessment"})
    title = fields.String(required=True)
    provider = fields.String(required=True)
    evidence = fields.String(required=True)
    achieved_on = fields.Date(required=True)
    expires_on = fields.Date(allow_none=True, required=True)
    training_session_id = fields.Integer(allow_none=True, required=True)
    recorded_at = fields.DateTime(required=True)


class RecordCreateSchema(Schema):
    competence_id = fields.Integer(
        strict=True,
        allow_none=True,
        load_default=None,
        validate=ID_RANGE,
        metadata={"description": "None: a qualification outside the catalogue (then title is required)"},
    )
    level = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(LEVELS))
    source = fields.String(load_default="external", validate=validate.OneOf(["external", "assessment"]))
    title = Text(load_default="", validate=validate.Length(max=200))
    provider = Text(load_default="", validate=validate.Length(max=200))
    evidence = Text(required=True, validate=validate.Length(min=1, max=5000))
    achieved_on = fields.Date(required=True, validate=validate.Range(min=EARLIEST_DATE))
    expires_on = fields.Date(
        allow_none=True,
        load_default=None,
        validate=validate.Range(min=EARLIEST_DATE, max=dt.date(2999, 12, 31)),
        metadata={"description": "Default: the competence's validity after achieved_on"},
    )


class PersonNeedSchema(Schema):
    id = fields.Integer(required=True)
    competence_id = fields.Integer(required=True)
    level = fields.String(required=True)
    source = fields.String(required=True)
    status = fields.String(required=True)
    due_date = fields.Date(allow_none=True, required=True)


class PersonTrainingSchema(Schema):
    session_id = fields.Integer(required=True)
    reference = fields.String(required=True)
    title = fields.String(required=True)
    state = fields.String(required=True)
    attended = fields.Boolean(allow_none=True, required=True)
    effective = fields.Boolean(allow_none=True, required=True)
    score = fields.Integer(allow_none=True, required=True)


class PersonCompetenceSchema(Schema):
    user = fields.Nested(UserRefSchema, required=True)
    profile = fields.Nested(ProfileSchema, allow_none=True, required=True)
    cells = fields.List(fields.Nested(CellSchema), required=True)
    records = fields.List(fields.Nested(RecordSchema), required=True)
    needs = fields.List(fields.Nested(PersonNeedSchema), required=True)
    training = fields.List(fields.Nested(PersonTrainingSchema), required=True)


class PreconditionSchema(Schema):
    id = fields.Integer(required=True)
    assignment = fields.String(required=True, metadata={"description": ", ".join(ASSIGNMENTS)})
    assignment_label = fields.String(required=True)
    target_key = fields.String(required=True, metadata={"description": "A platform or document type; '' for all"})
    enabled_at = fields.DateTime(required=True)


class PreconditionSetSchema(Schema):
    assignment = fields.String(required=True, validate=validate.OneOf(list(ASSIGNMENTS)))
    target_key = Text(
        load_default="",
        validate=validate.Length(max=60),
        metadata={"description": "complaint_owner: a virtual platform; document_approver: a document type"},
    )
    enabled = fields.Boolean(load_default=True, metadata={"description": "false turns it off"})


class CheckQuerySchema(Schema):
    assignment = fields.String(required=True, validate=validate.OneOf(list(ASSIGNMENTS)))
    user_id = fields.Integer(required=True, validate=ID_RANGE)
    target_key = Text(load_default="", validate=validate.Length(max=60))


class CheckSchema(Schema):
    assignment = fields.String(required=True)
    user_id = fields.Integer(required=True)
    target_key = fields.String(required=True)
    precondition_on = fields.Boolean(required=True)
    missing = fields.List(fields.String(), required=True, metadata={"description": "What the person lacks"})
    allowed = fields.Boolean(required=True, metadata={"description": "Whether the assignment would be accepted"})
    reason = fields.String(allow_none=True, required=True)
