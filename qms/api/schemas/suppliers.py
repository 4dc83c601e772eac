"""marshmallow schemas of the suppliers API: the register, evaluations, deliveries, the approved
supplier list and supplier corrective action requests (SCAR). Strict input, bounded ids, storable text."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from workflows import get_lifecycle

from ...models import CRITERIA, CRITICALITY_LABELS
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

SUPPLIER_STATES = tuple(s.name for s in get_lifecycle("supplier").states)
SCAR_STATES = tuple(s.name for s in get_lifecycle("scar").states)
SUPPLIER_SORTS = sort_choices("name", "reference", "score", "next_evaluation_due", "state")
DATE_RANGE = validate.Range(min=EARLIEST_DATE)


class SupplierLinksSchema(Schema):
    self = fields.String(required=True)
    history = fields.String(required=True)
    events = fields.String(required=True)
    evaluations = fields.String(required=True)
    deliveries = fields.String(required=True)
    attachments = fields.String(required=True, metadata={"description": "Certificates and other files"})


class SupplierSchema(WorkflowRecordSchema):
    name = fields.String(required=True)
    supplies = fields.String(required=True)
    criticality = fields.String(required=True, metadata={"description": ", ".join(CRITICALITY_LABELS)})
    contact_name = fields.String(required=True)
    contact_email = fields.String(required=True)
    contact_phone = fields.String(required=True)
    address = fields.String(required=True)
    iso9001_certificate = fields.String(required=True)
    iso9001_expires_on = fields.Date(allow_none=True, required=True)
    certificate_valid = fields.Boolean(required=True, metadata={"description": "An ISO 9001 certificate not expired"})
    notes = fields.String(required=True)
    owner = fields.Nested(UserRefSchema, allow_none=True, required=True)
    approved_list = fields.Boolean(required=True, metadata={"description": "On the approved supplier list"})
    approval_scope = fields.String(required=True)
    conditions = fields.String(required=True)
    conditions_review_by = fields.Date(allow_none=True, required=True)
    status_reason = fields.String(required=True)
    score = fields.Float(allow_none=True, required=True, metadata={"description": "Current score 0–100"})
    evaluation_count = fields.Integer(required=True)
    last_evaluated_on = fields.Date(allow_none=True, required=True)
    next_evaluation_due = fields.Date(allow_none=True, required=True)
    evaluation_overdue = fields.Boolean(required=True)
    proposed_state = fields.String(
        allow_none=True, required=True, metadata={"description": "A status change the falling score proposes"}
    )
    proposal_reason = fields.String(required=True)
    links = fields.Nested(SupplierLinksSchema, required=True)


class SupplierCreateSchema(Schema):
    name = Text(required=True, validate=validate.Length(max=200))
    supplies = Text(required=True, validate=validate.Length(max=5000))
    criticality = fields.String(required=True, validate=validate.OneOf(list(CRITICALITY_LABELS)))
    contact_name = Text(load_default="", validate=validate.Length(max=200))
    contact_email = Text(load_default="", validate=validate.Length(max=254))
    contact_phone = Text(load_default="", validate=validate.Length(max=60))
    address = Text(load_default="", validate=validate.Length(max=2000))
    iso9001_certificate = Text(load_default="", validate=validate.Length(max=120))
    iso9001_expires_on = fields.Date(allow_none=True, load_default=None, validate=DATE_RANGE)
    notes = Text(load_default="", validate=validate.Length(max=10_000))
    owner_id = fields.Integer(strict=True, validate=ID_RANGE, allow_none=True, load_default=None)


class SupplierUpdateSchema(Schema):
    name = Text(validate=validate.Length(max=200))
    supplies = Text(validate=validate.Length(max=5000))
    criticality = fields.String(validate=validate.OneOf(list(CRITICALITY_LABELS)))
    contact_name = Text(validate=validate.Length(max=200))
    contact_email = Text(validate=validate.Length(max=254))
    contact_phone = Text(validate=validate.Length(max=60))
    address = Text(validate=validate.Length(max=2000))
    iso9001_certificate = Text(validate=validate.Length(max=120))
    iso9001_expires_on = fields.Date(allow_none=True, validate=DATE_RANGE)
    notes = Text(validate=validate.Length(max=10_000))
    owner_id = fields.Integer(strict=True, validate=ID_RANGE, allow_none=True)


class SupplierQuerySchema(PageArgsSchema):
    state = fields.String(
        validate=validate.OneOf([*SUPPLIER_STATES, "listed"]), metadata={"description": "listed: on the approved list"}
    )
    criticality = fields.String(validate=validate.OneOf(list(CRITICALITY_LABELS)))
    q = Text(validate=validate.Length(max=100), metadata={"description": "In the name or what they supply"})
    evaluation_due = fields.Boolean(metadata={"description": "true: to be evaluated within 30 days or overdue"})
    proposed = fields.Boolean(metadata={"description": "true: with a status proposal"})
    sort = fields.String(load_default="name", validate=validate.OneOf(SUPPLIER_SORTS))


class ApprovedQuerySchema(PageArgsSchema):
    q = Text(validate=validate.Length(max=100), metadata={"description": "In the name or what they supply"})


class EvaluationSchema(Schema):
    id = fields.Integer(required=True)
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    scores = fields.Dict(
        keys=fields.String(),
        values=fields.Float(allow_none=True),
        required=True,
        metadata={"description": "Per criterion (" + ", ".join(CRITERIA) + "), 0–100 or null"},
    )
    weights = fields.Dict(
        keys=fields.String(), values=fields.Float(), required=True, metadata={"description": "The weights it used"}
    )
    weights_change = fields.String(
        allow_none=True,
        dump_default=None,
        metadata={"description": "In the trend: what changed in the weights since the evaluation before"},
    )
    basis = fields.Dict(keys=fields.String(), required=True, metadata={"description": "What computed scores came from"})
    total = fields.Float(required=True)
    previous_total = fields.Float(allow_none=True, required=True)
    proposed_state = fields.String(allow_none=True, required=True)
    proposal_reason = fields.String(required=True)
    comment = fields.String(required=True)
    evaluated_by = fields.Nested(UserRefSchema, required=True)
    evaluated_at = fields.DateTime(required=True)


class CriteriaWeightsChangeSchema(Schema):
    weights = fields.Dict(keys=fields.String(), values=fields.Float(), required=True)
    reason = fields.String(required=True)
    set_by = fields.Nested(UserRefSchema, required=True)
    set_at = fields.DateTime(required=True)


class CriteriaWeightsSchema(Schema):
    weights = fields.Dict(
        keys=fields.String(),
        values=fields.Float(),
        required=True,
        metadata={"description": "Criterion → weight in percent, used by the next evaluations"},
    )
    default = fields.Dict(keys=fields.String(), values=fields.Float(), required=True)
    history = fields.List(fields.Nested(CriteriaWeightsChangeSchema), required=True)


class CriteriaWeightsSetSchema(Schema):
    weights = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(),
        required=True,
        metadata={"description": "A weight (0 or more) for each criterion: " + ", ".join(CRITERIA)},
    )
    normalise = fields.Boolean(
        load_default=False, metadata={"description": "Scale the weights to add up to 100 instead of requiring it"}
    )
    reason = Text(load_default="", validate=validate.Length(max=2000))


class SupplierEvaluationCreateSchema(Schema):
    period_start = fields.Date(required=True, validate=DATE_RANGE)
    period_end = fields.Date(required=True, validate=DATE_RANGE)
    price = fields.Float(required=True, validate=validate.Range(min=0, max=100))
    service = fields.Float(required=True, validate=validate.Range(min=0, max=100))
    delivery = fields.Float(
        allow_none=True,
        load_default=None,
        validate=validate.Range(min=0, max=100),
        metadata={"description": "On-time %, used only when no delivery of the period is recorded"},
    )
    comment = Text(load_default="", validate=validate.Length(max=5000))


class DeliverySchema(Schema):
    id = fields.Integer(required=True)
    order_reference = fields.String(required=True)
    due_on = fields.Date(required=True)
    delivered_on = fields.Date(required=True)
    on_time = fields.Boolean(required=True)


class DeliveryCreateSchema(Schema):
    order_reference = Text(required=True, validate=validate.Length(min=1, max=60))
    due_on = fields.Date(required=True, validate=DATE_RANGE)
    delivered_on = fields.Date(required=True, validate=DATE_RANGE)


class DeliveryImportSchema(Schema):
    csv = Text(
        required=True,
        validate=validate.Length(min=1, max=1024 * 1024),
        metadata={"description": "CSV text with the header order_reference,due_on,delivered_on"},
    )


class DeliveryImportResultSchema(Schema):
    imported = fields.Integer(required=True)


class SupplierNcCreateSchema(Schema):
    title = Text(required=True, validate=validate.Length(max=200))
    description = Text(required=True, validate=validate.Length(max=10_000))
    detected_on = fields.Date(allow_none=True, load_default=None, validate=DATE_RANGE)
    process = Text(load_default="", validate=validate.Length(max=120))


class CreatedNcSchema(Schema):
    id = fields.Integer(required=True)
    reference = fields.String(required=True)
    links = fields.Dict(keys=fields.String(), values=fields.String(), required=True)


class DismissSchema(Schema):
    reason = Text(required=True, validate=validate.Length(min=1, max=2000))


class ScarLinksSchema(Schema):
    self = fields.String(required=True)
    history = fields.String(required=True)
    events = fields.String(required=True)
    supplier = fields.String(required=True)
    nonconformity = fields.String(required=True)


class ScarSchema(WorkflowRecordSchema):
    supplier_id = fields.Integer(required=True)
    supplier_name = fields.String(required=True)
    nonconformity_id = fields.Integer(required=True)
    nonconformity_reference = fields.String(required=True)
    request = fields.String(required=True)
    respond_by = fields.Date(required=True)
    response_overdue = fields.Boolean(required=True)
    link_issued_at = fields.DateTime(allow_none=True, required=True)
    link_used_at = fields.DateTime(allow_none=True, required=True)
    containment = fields.String(required=True)
    root_cause = fields.String(required=True)
    actions = fields.String(required=True)
    responder = fields.String(required=True)
    answered_at = fields.DateTime(allow_none=True, required=True)
    answered_through_link = fields.Boolean(required=True)
    rounds = fields.Integer(required=True, metadata={"description": "Answers received so far"})
    review_comment = fields.String(required=True)
    returned_reason = fields.String(required=True)
    verification_due = fields.Date(allow_none=True, required=True)
    verification_evidence = fields.String(required=True)
    verified_at = fields.DateTime(allow_none=True, required=True)
    cancel_reason = fields.String(required=True)
    links = fields.Nested(ScarLinksSchema, required=True)


class ScarCreateSchema(Schema):
    nonconformity_id = fields.Integer(required=True, strict=True, validate=ID_RANGE)
    request = Text(required=True, validate=validate.Length(min=1, max=10_000))
    respond_by = fields.Date(allow_none=True, load_default=None, validate=DATE_RANGE)


class ScarWithLinkSchema(ScarSchema):
    answer_url = fields.String(
        required=True, metadata={"description": "The supplier's single-use answer link; shown only in this answer"}
    )


class ScarQuerySchema(PageArgsSchema):
    state = fields.String(validate=validate.OneOf([*SCAR_STATES, "open"]))
    supplier_id = fields.Integer(strict=False, validate=ID_RANGE)
    sort = fields.String(load_default="-id", validate=validate.OneOf(sort_choices("id", "respond_by", "state")))


SupplierPageSchema = page_schema(SupplierSchema, "SupplierPage")
ScarPageSchema = page_schema(ScarSchema, "ScarPage")
