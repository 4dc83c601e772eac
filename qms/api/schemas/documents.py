"""marshmallow schemas of the documents API (controlled documents, revisions, read receipts).

Built on ``common``'s fields and conventions: strict input (unknown fields rejected), bounded ids,
storable text, ISO 8601 dates.
"""

from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from workflows import get_lifecycle

from ...lifecycles.roles import ROLES
from ...models import CONFIDENTIALITY, DOCUMENT_TYPES
from .common import ID_RANGE, PageArgsSchema, Text, UserRefSchema, WorkflowRecordSchema, page_schema, sort_choices

DOCUMENT_SORTS = sort_choices("number", "title", "next_review_due")
REVISION_STATES = tuple(s.name for s in get_lifecycle("document").states)
DISTRIBUTION_KINDS = ("user", "role", "process")


# --- documents ----------------------------------------------------------------------------------


class DistributionEntrySchema(Schema):
    """Who must read the document: a user (``value`` is the user id), a role, or the owners of a process."""

    kind = fields.String(required=True, validate=validate.OneOf(DISTRIBUTION_KINDS))
    value = Text(
        required=True,
        validate=validate.Length(min=1, max=120),
        metadata={"description": f"A user id (as text), a role ({', '.join(sorted(ROLES))}) or a process name"},
    )


class RevisionLinksSchema(Schema):
    self = fields.String(required=True)
    history = fields.String(required=True)
    events = fields.String(required=True, metadata={"description": "GET: available events; POST {events}/{event}"})
    file = fields.String(required=True, metadata={"description": "GET: the file (a PDF comes stamped)"})
    acknowledge = fields.String(required=True, metadata={"description": "POST: record your read receipt"})
    document = fields.String(required=True)


class RevisionBriefSchema(Schema):
    """A revision as listed on its document."""

    id = fields.Integer(required=True)
    label = fields.String(required=True)
    state = fields.String(required=True)
    state_label = fields.String(required=True)
    effective_date = fields.Date(allow_none=True, required=True)
    filename = fields.String(allow_none=True, required=True)
    content_type = fields.String(allow_none=True, required=True)
    links = fields.Nested(Schema.from_dict({"self": fields.String(required=True)}, name="RevisionBriefLinks"))


class DocumentLinksSchema(Schema):
    self = fields.String(required=True)
    revisions = fields.String(required=True, metadata={"description": "GET: every revision; POST: upload a new one"})
    current_revision = fields.String(allow_none=True, required=True, metadata={"description": "The one in force"})


class DocumentSchema(Schema):
    id = fields.Integer(required=True)
    number = fields.String(required=True)
    title = fields.String(required=True)
    doc_type = fields.String(required=True, metadata={"description": ", ".join(DOCUMENT_TYPES)})
    owner = fields.Nested(UserRefSchema, required=True)
    process = fields.String(required=True)
    clause_refs = fields.List(fields.String(), required=True)
    review_period_months = fields.Integer(required=True)
    confidentiality = fields.String(required=True, metadata={"description": ", ".join(CONFIDENTIALITY)})
    next_review_due = fields.Date(allow_none=True, required=True)
    review_overdue = fields.Boolean(required=True, metadata={"description": "The periodic review date has come"})
    obsolete = fields.Boolean(required=True)
    status = fields.String(required=True, metadata={"description": "current or obsolete"})
    created_at = fields.DateTime(required=True)
    distribution = fields.List(fields.Nested(DistributionEntrySchema), required=True)
    current_revision_id = fields.Integer(
        allow_none=True, required=True, metadata={"description": "The revision in force (effective or review due)"}
    )
    revision_in_work_id = fields.Integer(
        allow_none=True, required=True, metadata={"description": "The draft, in-review or approved revision"}
    )
    revisions = fields.List(fields.Nested(RevisionBriefSchema), required=True)
    links = fields.Nested(DocumentLinksSchema, required=True)


DocumentPageSchema = page_schema(DocumentSchema, "DocumentPage")


class DocumentCreateSchema(Schema):
    title = Text(required=True, validate=validate.Length(max=200))
    doc_type = fields.String(required=True, validate=validate.OneOf(list(DOCUMENT_TYPES)))
    owner_id = fields.Integer(required=True, strict=True, validate=ID_RANGE, metadata={"description": "User id"})
    process = Text(load_default="", validate=validate.Length(max=120))
    clause_refs = fields.List(
        Text(validate=validate.Length(max=80)), load_default=list, validate=validate.Length(max=50)
    )
    review_period_months = fields.Integer(
        load_default=24,
        strict=True,
        validate=validate.Range(min=0, max=120),
        metadata={"description": "Months between periodic reviews; 0: none"},
    )
    confidentiality = fields.String(load_default="internal", validate=validate.OneOf(list(CONFIDENTIALITY)))
    distribution = fields.List(
        fields.Nested(DistributionEntrySchema), load_default=list, validate=validate.Length(max=200)
    )


class DocumentQuerySchema(PageArgsSchema):
    doc_type = fields.String(validate=validate.OneOf(list(DOCUMENT_TYPES)))
    process = Text(validate=validate.Length(max=120), metadata={"description": "Text in the process name"})
    clause = Text(
        validate=validate.Length(max=80),
        metadata={"description": "A clause reference; '7.5' also finds its sub-clauses such as '7.5.3'"},
    )
    q = Text(validate=validate.Length(max=200), metadata={"description": "Text in the number or title"})
    status = fields.String(validate=validate.OneOf(["current", "obsolete"]))
    review_due = fields.Boolean(metadata={"description": "true: the periodic review date has come"})
    sort = fields.String(load_default="number", validate=validate.OneOf(DOCUMENT_SORTS))


# --- revisions ----------------------------------------------------------------------------------


class ReviewCommentSchema(Schema):
    by = fields.String(required=True)
    at = fields.String(required=True)
    comments = fields.String(required=True)


class RevisionSchema(WorkflowRecordSchema):
    document_id = fields.Integer(required=True)
    document_number = fields.String(attribute="document.number", required=True)
    document_title = fields.String(attribute="document.title", required=True)
    label = fields.String(required=True)
    change_summary = fields.String(required=True)
    author = fields.Nested(UserRefSchema, required=True)
    filename = fields.String(allow_none=True, required=True)
    content_type = fields.String(allow_none=True, required=True)
    size = fields.Integer(allow_none=True, required=True)
    sha256 = fields.String(allow_none=True, required=True)
    approved_by = fields.Nested(UserRefSchema, allow_none=True, required=True)
    approved_at = fields.DateTime(allow_none=True, required=True)
    effective_date = fields.Date(allow_none=True, required=True)
    superseded_at = fields.DateTime(allow_none=True, required=True)
    retired_reason = fields.String(required=True)
    review_comments = fields.List(fields.Nested(ReviewCommentSchema), required=True)
    links = fields.Nested(RevisionLinksSchema, required=True)


class RevisionUploadSchema(Schema):
    """A new revision: its file and what changed (multipart/form-data)."""

    file = Upload(required=True, metadata={"description": "PDF, DOCX, XLSX, PNG, JPEG, GIF or plain text, by content"})
    change_summary = Text(load_default="", validate=validate.Length(max=5000))


# --- read receipts ------------------------------------------------------------------------------


class AcknowledgementLinksSchema(Schema):
    revision = fields.String(required=True)
    file = fields.String(required=True)
    acknowledge = fields.String(required=True)
    document = fields.String(required=True)


class AcknowledgementSchema(Schema):
    """A read-and-understood receipt owed (or given) for a revision in force."""

    id = fields.Integer(required=True)
    revision_id = fields.Integer(required=True)
    revision_label = fields.String(attribute="revision.label", required=True)
    document_id = fields.Integer(attribute="revision.document_id", required=True)
    document_number = fields.String(attribute="revision.document.number", required=True)
    document_title = fields.String(attribute="revision.document.title", required=True)
    user_id = fields.Integer(required=True)
    requested_at = fields.DateTime(required=True)
    due_date = fields.Date(required=True)
    acknowledged_at = fields.DateTime(allow_none=True, required=True)
    overdue = fields.Boolean(required=True)
    links = fields.Nested(AcknowledgementLinksSchema, required=True)
