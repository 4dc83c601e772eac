"""marshmallow schemas of the context API: issues (SWOT, PESTLE), interested parties and context reviews."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from workflows import get_lifecycle

from ...models import PARTY_CATEGORIES, PESTLE, SWOT
from .common import ID_RANGE, PageArgsSchema, Text, UserRefSchema, WorkflowRecordSchema, page_schema

REVIEW_STATES = tuple(s.name for s in get_lifecycle("context_review").states)


class SiteRefSchema(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)


class IssueSchema(Schema):
    id = fields.Integer(required=True)
    reference = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    swot = fields.String(required=True, metadata={"description": ", ".join(SWOT)})
    origin = fields.String(required=True, metadata={"description": "internal (S, W) or external (O, T)"})
    pestle = fields.String(allow_none=True, required=True, metadata={"description": ", ".join(PESTLE)})
    site = fields.Nested(SiteRefSchema, allow_none=True, required=True, metadata={"description": "None: everywhere"})
    owner = fields.Nested(UserRefSchema, required=True)
    review_on = fields.Date(required=True)
    climate_related = fields.Boolean(required=True)
    active = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class IssueCreateSchema(Schema):
    title = Text(required=True, validate=validate.Length(max=200))
    description = Text(load_default="", validate=validate.Length(max=5000))
    swot = fields.String(required=True, validate=validate.OneOf(list(SWOT)))
    pestle = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(list(PESTLE)))
    site_id = fields.Integer(strict=True, allow_none=True, load_default=None, validate=ID_RANGE)
    owner_id = fields.Integer(required=True, strict=True, validate=ID_RANGE)
    review_on = fields.Date(required=True)
    climate_related = fields.Boolean(load_default=False)


class IssueUpdateSchema(Schema):
    title = Text(validate=validate.Length(max=200))
    description = Text(validate=validate.Length(max=5000))
    swot = fields.String(validate=validate.OneOf(list(SWOT)))
    pestle = fields.String(allow_none=True, validate=validate.OneOf(list(PESTLE)))
    site_id = fields.Integer(strict=True, allow_none=True, validate=ID_RANGE)
    owner_id = fields.Integer(strict=True, validate=ID_RANGE)
    review_on = fields.Date()
    climate_related = fields.Boolean()
    active = fields.Boolean(metadata={"description": "false: no longer relevant (kept for the record)"})


class IssueQuerySchema(PageArgsSchema):
    swot = fields.String(validate=validate.OneOf(list(SWOT)))
    pestle = fields.String(validate=validate.OneOf(list(PESTLE)))
    site = fields.Integer(validate=ID_RANGE, metadata={"description": "This site's and the organisation-wide"})
    q = Text(validate=validate.Length(max=200))
    archived = fields.Boolean(metadata={"description": "true: include issues no longer relevant"})


class PartySchema(Schema):
    id = fields.Integer(required=True)
    reference = fields.String(required=True)
    name = fields.String(required=True)
    category = fields.String(required=True, metadata={"description": ", ".join(PARTY_CATEGORIES)})
    needs = fields.String(required=True)
    requirements = fields.String(required=True, metadata={"description": "Relevant to the QMS"})
    monitoring = fields.String(required=True, metadata={"description": "How they are monitored"})
    climate_requirements = fields.String(required=True)
    site = fields.Nested(SiteRefSchema, allow_none=True, required=True)
    owner = fields.Nested(UserRefSchema, required=True)
    review_on = fields.Date(required=True)
    active = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class PartyCreateSchema(Schema):
    name = Text(required=True, validate=validate.Length(max=200))
    category = fields.String(required=True, validate=validate.OneOf(list(PARTY_CATEGORIES)))
    needs = Text(load_default="", validate=validate.Length(max=5000))
    requirements = Text(required=True, validate=validate.Length(max=5000))
    monitoring = Text(required=True, validate=validate.Length(max=5000))
    climate_requirements = Text(load_default="", validate=validate.Length(max=5000))
    site_id = fields.Integer(strict=True, allow_none=True, load_default=None, validate=ID_RANGE)
    owner_id = fields.Integer(required=True, strict=True, validate=ID_RANGE)
    review_on = fields.Date(required=True)


class PartyUpdateSchema(Schema):
    name = Text(validate=validate.Length(max=200))
    category = fields.String(validate=validate.OneOf(list(PARTY_CATEGORIES)))
    needs = Text(validate=validate.Length(max=5000))
    requirements = Text(validate=validate.Length(max=5000))
    monitoring = Text(validate=validate.Length(max=5000))
    climate_requirements = Text(validate=validate.Length(max=5000))
    site_id = fields.Integer(strict=True, allow_none=True, validate=ID_RANGE)
    owner_id = fields.Integer(strict=True, validate=ID_RANGE)
    review_on = fields.Date()
    active = fields.Boolean()


class PartyQuerySchema(PageArgsSchema):
    category = fields.String(validate=validate.OneOf(list(PARTY_CATEGORIES)))
    q = Text(validate=validate.Length(max=200))


class ContextReviewLinksSchema(Schema):
    self = fields.String(required=True)
    history = fields.String(required=True)
    events = fields.String(required=True)


class ContextReviewSchema(WorkflowRecordSchema):
    title = fields.String(required=True)
    planned_for = fields.Date(required=True)
    site = fields.Nested(SiteRefSchema, allow_none=True, required=True)
    chair = fields.Nested(UserRefSchema, required=True)
    scope = fields.String(required=True)
    changes = fields.String(required=True, metadata={"description": "What changed, as the chair recorded it"})
    climate_change_relevant = fields.String(
        allow_none=True, required=True, metadata={"description": "yes or no (ISO 9001 Amd 1:2024)"}
    )
    climate_change_notes = fields.String(required=True)
    next_review_on = fields.Date(allow_none=True, required=True)
    snapshot = fields.Dict(
        required=True, metadata={"description": "The registers when completed and what changed since the last review"}
    )
    completed_at = fields.DateTime(allow_none=True, required=True)
    cancel_reason = fields.String(required=True)
    overdue = fields.Boolean(required=True)
    links = fields.Nested(ContextReviewLinksSchema, required=True)


class ContextReviewCreateSchema(Schema):
    title = Text(required=True, validate=validate.Length(max=200))
    planned_for = fields.Date(required=True)
    scope = Text(load_default="", validate=validate.Length(max=5000))
    chair_id = fields.Integer(strict=True, allow_none=True, load_default=None, validate=ID_RANGE)
    site_id = fields.Integer(strict=True, allow_none=True, load_default=None, validate=ID_RANGE)


class ContextReviewQuerySchema(PageArgsSchema):
    state = fields.String(validate=validate.OneOf(REVIEW_STATES))


IssuePageSchema = page_schema(IssueSchema, "ContextIssuePage")
PartyPageSchema = page_schema(PartySchema, "InterestedPartyPage")
ContextReviewPageSchema = page_schema(ContextReviewSchema, "ContextReviewPage")


class SummaryQuerySchema(Schema):
    site = fields.Integer(validate=ID_RANGE, metadata={"description": "One site (with the organisation-wide items)"})
