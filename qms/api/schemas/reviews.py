"""marshmallow schemas of the reviews API (ISO-change, organisational-change and management reviews, their actions).

Built on ``common``'s fields and conventions: strict input (unknown fields rejected), bounded ids,
storable text, ISO 8601 dates.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import Schema, fields, validate

from workflows import get_lifecycle

from ...models import ACTION_STATES, CHANGE_KINDS, GAP_STATUSES, IMPACT_AREAS, OUTPUT_CATEGORIES
from .audits import RefSchema
from .common import (
    EARLIEST_DATE,
    ID_RANGE,
    OffsetPageArgsSchema,
    Text,
    UserRefSchema,
    WorkflowRecordSchema,
    page_schema,
    sort_choices,
)

#: the review kinds as they appear in URLs and in the ``kind`` of a review
REVIEW_SLUGS = {"iso_change": "iso-change", "org_change": "org-change", "management": "management"}


REVIEW_LIFECYCLES = {
    "iso_change": "iso_change_review",
    "org_change": "org_change_review",
    "management": "management_review",
}


REVIEW_STATES = tuple(dict.fromkeys(s.name for name in REVIEW_LIFECYCLES.values() for s in get_lifecycle(name).states))


REVIEW_SORTS = sort_choices("created_at", "reference", "title")


MAX_TEXT = 20_000


DEFAULT_STANDARD = "iso-9001-2015"


#: dates beyond this are refused: the services add days and years to them (periods, deadlines, cycles)
LATEST_DATE = dt.date(2999, 12, 31)


def _id(**kwargs: Any) -> fields.Integer:
    return fields.Integer(strict=True, validate=ID_RANGE, **kwargs)


def _optional_id(description: str) -> fields.Integer:
    return fields.Integer(
        strict=True, validate=ID_RANGE, allow_none=True, load_default=None, metadata={"description": description}
    )


def _date(**kwargs: Any) -> fields.Date:
    return fields.Date(validate=validate.Range(min=EARLIEST_DATE, max=LATEST_DATE), **kwargs)


def _standard(**kwargs: Any) -> Text:
    return Text(
        validate=validate.Length(min=1, max=60),
        metadata={"description": "A standard's identifier (GET /standards)"},
        **kwargs,
    )


class CodedRefSchema(RefSchema):
    code = fields.String(required=True)


class SelfLinkSchema(Schema):
    self = fields.String(required=True)


class NoQuerySchema(Schema):
    """No query parameters (any one given answers 422)."""


def _kind_field() -> fields.String:
    return fields.String(required=True, metadata={"description": "iso-change, org-change or management"})


class ReviewLinksSchema(Schema):
    self = fields.String(required=True)
    history = fields.String(required=True)
    events = fields.String(required=True, metadata={"description": "GET: available events; POST {events}/{event}"})
    actions = fields.String(required=True, metadata={"description": "POST: add an action"})


class ReviewBriefSchema(WorkflowRecordSchema):
    """A review of any kind, as listed."""

    kind = _kind_field()
    title = fields.String(required=True)
    owner = fields.Nested(
        UserRefSchema, required=True, metadata={"description": "Its owner (a management review's chair)"}
    )
    links = fields.Nested(ReviewLinksSchema, required=True)


ReviewPageSchema = page_schema(ReviewBriefSchema, "ReviewPage")


class ReviewQuerySchema(OffsetPageArgsSchema):
    kind = fields.String(validate=validate.OneOf(list(REVIEW_SLUGS.values())))
    state = fields.String(validate=validate.OneOf(REVIEW_STATES))
    sort = fields.String(load_default="-created_at", validate=validate.OneOf(REVIEW_SORTS))


class ActionLinksSchema(Schema):
    complete = fields.String(required=True)
    cancel = fields.String(required=True)
    review = fields.String(required=True)


class ReviewActionSchema(Schema):
    id = fields.Integer(required=True)
    review_kind = _kind_field()
    review_id = fields.Integer(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    category = fields.String(
        required=True, metadata={"description": "Management-review outputs: " + ", ".join(OUTPUT_CATEGORIES)}
    )
    owner = fields.Nested(UserRefSchema, required=True)
    due_date = fields.Date(required=True)
    status = fields.String(required=True, metadata={"description": ", ".join(ACTION_STATES)})
    overdue = fields.Boolean(required=True)
    outcome = fields.String(required=True, metadata={"description": "What was done, or why it was cancelled"})
    done_at = fields.DateTime(allow_none=True, required=True)
    created_at = fields.DateTime(required=True)
    change_item_id = fields.Integer(
        allow_none=True, required=True, metadata={"description": "ISO-change review: the clause change it answers"}
    )
    links = fields.Nested(ActionLinksSchema, required=True)


class ActionCreateSchema(Schema):
    title = Text(required=True, validate=validate.Length(max=200))
    description = Text(load_default="", validate=validate.Length(max=MAX_TEXT))
    owner_id = _id(required=True, metadata={"description": "An active process owner, quality officer or manager"})
    due_date = _date(required=True, metadata={"description": "Not in the past"})
    category = fields.String(
        load_default="",
        validate=validate.OneOf(["", *OUTPUT_CATEGORIES]),
        metadata={"description": "Required for a management review's output; none otherwise"},
    )
    change_item_id = _optional_id("ISO-change review only: the clause change (item id) the action answers")


class ActionCompleteSchema(Schema):
    outcome = Text(required=True, validate=validate.Length(max=MAX_TEXT), metadata={"description": "What was done"})


class ActionCancelSchema(Schema):
    reason = Text(required=True, validate=validate.Length(max=MAX_TEXT))


class DocumentRefSchema(Schema):
    id = fields.Integer(required=True)
    number = fields.String(required=True)
    title = fields.String(required=True)


class CitationSchema(Schema):
    id = fields.Integer(required=True)
    label = fields.String(required=True)
    url = fields.String(required=True, metadata={"description": "The record's page"})
    cites = fields.String(required=True, metadata={"description": "The clause (or sub-clause) it cites"})


class CitationGroupSchema(Schema):
    kind = fields.String(
        required=True, metadata={"description": "documents, processes, questions, nonconformities, or a module's own"}
    )
    label = fields.String(required=True)
    count = fields.Integer(required=True)
    items = fields.List(fields.Nested(CitationSchema), required=True, metadata={"description": "At most 50"})


class ReferencesSchema(Schema):
    """What in the QMS referred to the old clause when the review opened."""

    documents = fields.List(fields.Nested(DocumentRefSchema), required=True)
    processes = fields.List(fields.Nested(CodedRefSchema), required=True)
    questions = fields.Integer(required=True, metadata={"description": "Checklist questions"})
    question_ids = fields.List(fields.Integer(), required=True)
    cited_by = fields.List(
        fields.Nested(CitationGroupSchema),
        required=True,
        metadata={"description": "Every register that cites the old clause (the citation registry)"},
    )


class TransitionAuditSchema(Schema):
    planned_start = _date(required=True, metadata={"description": "Not in the past"})
    planned_end = _date(allow_none=True, load_default=None)


class IsoChangeItemSchema(Schema):
    id = fields.Integer(required=True)
    change = fields.String(required=True, metadata={"description": "added, removed, renamed, moved or changed"})
    old_clause = fields.String(required=True)
    new_clause = fields.String(required=True)
    old_title = fields.String(required=True)
    new_title = fields.String(required=True)
    description = fields.String(required=True)
    references = fields.Nested(ReferencesSchema, required=True)
    status = fields.String(required=True, metadata={"description": ", ".join(GAP_STATUSES)})
    assessment = fields.String(required=True)
    links = fields.Nested(SelfLinkSchema, required=True, metadata={"description": "PATCH: assess it"})


class IsoChangeLinksSchema(ReviewLinksSchema):
    verification = fields.String(required=True, metadata={"description": "PUT: link the verifying audits"})


class IsoChangeReviewSchema(ReviewBriefSchema):
    old_standard = fields.String(required=True)
    new_standard = fields.String(required=True)
    transition_deadline = fields.Date(allow_none=True, required=True)
    gap_summary = fields.String(required=True)
    verification = fields.String(required=True)
    verification_audit_id = fields.Integer(allow_none=True, required=True)
    transition_audit_id = fields.Integer(allow_none=True, required=True)
    closed_at = fields.DateTime(allow_none=True, required=True)
    status_counts = fields.Dict(
        keys=fields.String(), values=fields.Integer(), required=True, metadata={"description": "Items per status"}
    )
    items = fields.List(fields.Nested(IsoChangeItemSchema), required=True)
    actions = fields.List(fields.Nested(ReviewActionSchema), required=True)
    links = fields.Nested(IsoChangeLinksSchema, required=True)


class IsoChangeCreateSchema(Schema):
    old_standard = _standard(required=True)
    new_standard = _standard(required=True)
    title = Text(
        load_default="", validate=validate.Length(max=200), metadata={"description": "Default: Transition to …"}
    )
    transition_deadline = _date(allow_none=True, load_default=None)


class AssessSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(["gap", "no_gap"]))
    assessment = Text(
        load_default="", validate=validate.Length(max=MAX_TEXT), metadata={"description": "Required for a gap"}
    )


class VerificationSchema(Schema):
    audit_id = _optional_id("The internal audit that verified the transition")
    external_audit_id = _optional_id("The certification body's transition audit")


class ImpactSchema(Schema):
    id = fields.Integer(required=True)
    area = fields.String(required=True, metadata={"description": ", ".join(IMPACT_AREAS)})
    subject = fields.String(required=True)
    link = fields.String(required=True, metadata={"description": "The record touched: document:<id>, process:<id>…"})
    assessment = fields.String(required=True)
    links = fields.Nested(SelfLinkSchema, required=True, metadata={"description": "DELETE: remove it"})


class SuggestedImpactSchema(Schema):
    area = fields.String(required=True)
    subject = fields.String(required=True)
    link = fields.String(required=True)


class OrgChangeLinksSchema(ReviewLinksSchema):
    impacts = fields.String(required=True, metadata={"description": "POST: record an impact"})
    suggested_impacts = fields.String(required=True)


class OrgChangeReviewSchema(ReviewBriefSchema):
    change_kind = fields.String(required=True, metadata={"description": ", ".join(CHANGE_KINDS)})
    description = fields.String(required=True)
    site = fields.Nested(RefSchema, allow_none=True, required=True)
    process = fields.Nested(RefSchema, allow_none=True, required=True)
    consequences = fields.String(required=True)
    qms_integrity = fields.String(required=True)
    resources = fields.String(required=True)
    responsibilities = fields.String(required=True)
    target_date = fields.Date(allow_none=True, required=True)
    effectiveness_review_due = fields.Date(allow_none=True, required=True)
    evidence = fields.String(required=True)
    closed_at = fields.DateTime(allow_none=True, required=True)
    impacts = fields.List(fields.Nested(ImpactSchema), required=True)
    actions = fields.List(fields.Nested(ReviewActionSchema), required=True)
    links = fields.Nested(OrgChangeLinksSchema, required=True)


class OrgChangeCreateSchema(Schema):
    title = Text(required=True, validate=validate.Length(max=200))
    change_kind = fields.String(required=True, validate=validate.OneOf(list(CHANGE_KINDS)))
    description = Text(required=True, validate=validate.Length(max=MAX_TEXT))
    site_id = _optional_id("The site the change concerns")
    process_id = _optional_id("The process the change concerns")


class ImpactCreateSchema(Schema):
    area = fields.String(required=True, validate=validate.OneOf(list(IMPACT_AREAS)))
    subject = Text(required=True, validate=validate.Length(max=200))
    link = Text(
        load_default="",
        validate=validate.Length(max=40),
        metadata={"description": "document:<id>, process:<id>, audit:<id> or nonconformity:<id>"},
    )
    assessment = Text(load_default="", validate=validate.Length(max=MAX_TEXT))


class InputSchema(Schema):
    """One ISO 9001 9.3.2 input: the figures compiled from the records, and notes."""

    key = fields.String(required=True)
    label = fields.String(required=True)
    compiled = fields.Dict(
        keys=fields.String(), allow_none=True, required=True, metadata={"description": "null: not compiled"}
    )
    compiled_at = fields.String(allow_none=True, required=True, metadata={"description": "UTC, ISO 8601"})
    notes = fields.String(required=True)
    missing = fields.Boolean(required=True, metadata={"description": "Neither figures nor notes yet"})
    links = fields.Nested(SelfLinkSchema, required=True, metadata={"description": "PUT: write its notes"})


class ManagementLinksSchema(ReviewLinksSchema):
    compile = fields.String(required=True, metadata={"description": "POST: compile the inputs from the records"})
    minutes = fields.String(required=True, metadata={"description": "GET: the minutes (PDF)"})


class ManagementReviewSchema(ReviewBriefSchema):
    planned_for = fields.Date(required=True)
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    chair = fields.Nested(UserRefSchema, required=True)
    inputs_due = fields.Date(allow_none=True, required=True)
    inputs = fields.List(fields.Nested(InputSchema), required=True)
    missing_inputs = fields.List(fields.String(), required=True)
    held_on = fields.Date(allow_none=True, required=True)
    attendees = fields.List(fields.String(), required=True)
    minutes = fields.String(required=True)
    minutes_approved_at = fields.DateTime(allow_none=True, required=True)
    closed_at = fields.DateTime(allow_none=True, required=True)
    actions = fields.List(fields.Nested(ReviewActionSchema), required=True)
    links = fields.Nested(ManagementLinksSchema, required=True)


class ManagementCreateSchema(Schema):
    title = Text(required=True, validate=validate.Length(max=200))
    planned_for = _date(required=True)
    period_start = _date(required=True, metadata={"description": "The period the review looks back on"})
    period_end = _date(required=True)
    chair_id = _optional_id("A manager or quality officer; default: you")


class InputNotesSchema(Schema):
    notes = Text(required=True, validate=validate.Length(max=MAX_TEXT), metadata={"description": "Empty: clear them"})
