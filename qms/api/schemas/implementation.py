"""marshmallow schemas of the QMS implementation board API.

Built on ``common``'s fields and conventions: strict input (unknown fields rejected), bounded ids,
storable text, ISO 8601 dates.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from ...services.implementation import EVIDENCE_KINDS
from .certifications import CodedRefSchema
from .common import Text, UserRefSchema, WorkflowRecordSchema
from .reviews import DEFAULT_STANDARD, _standard


class EvidenceLinkSchema(Schema):
    index = fields.Integer(required=True, metadata={"description": "Its position: DELETE …/evidence/{index}"})
    kind = fields.String(required=True, metadata={"description": ", ".join(EVIDENCE_KINDS)})
    ref = fields.String(required=True, metadata={"description": "The record's id, or the web address"})
    label = fields.String(required=True)


class ImplementationLinksSchema(Schema):
    self = fields.String(required=True)
    history = fields.String(required=True)
    events = fields.String(required=True, metadata={"description": "GET: available events; POST {events}/{event}"})
    evidence = fields.String(required=True, metadata={"description": "POST: link evidence"})


class ImplementationItemSchema(WorkflowRecordSchema):
    """A process or a clause on the board (``reference``: the process's code or the clause's number)."""

    label = fields.String(required=True)
    item_kind = fields.String(required=True, metadata={"description": "process or clause"})
    process = fields.Nested(CodedRefSchema, allow_none=True, required=True)
    standard_identifier = fields.String(required=True)
    clause_number = fields.String(allow_none=True, required=True)
    owner = fields.Nested(UserRefSchema, allow_none=True, required=True)
    target_date = fields.Date(allow_none=True, required=True)
    notes = fields.String(required=True)
    evidence = fields.List(fields.Nested(EvidenceLinkSchema), required=True)
    links = fields.Nested(ImplementationLinksSchema, required=True)


class BoardColumnSchema(Schema):
    state = fields.String(required=True)
    label = fields.String(required=True)
    items = fields.List(fields.Nested(ImplementationItemSchema), required=True)


class BoardSummarySchema(Schema):
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    total = fields.Integer(required=True, metadata={"description": "Items, retired ones left out"})
    effective = fields.Integer(required=True)
    percent_effective = fields.Float(allow_none=True, required=True)


class BoardSchema(Schema):
    standard_identifier = fields.String(required=True)
    summary = fields.Nested(BoardSummarySchema, required=True)
    columns = fields.List(fields.Nested(BoardColumnSchema), required=True)


class BoardQuerySchema(Schema):
    standard = _standard(load_default=DEFAULT_STANDARD)


class BuildSchema(Schema):
    standard_identifier = _standard(load_default=DEFAULT_STANDARD)
    depth = fields.Integer(
        strict=True,
        load_default=2,
        validate=validate.Range(min=1, max=4),
        metadata={"description": "Clause levels: 2 gives 4.1 … 10.3"},
    )


class BuildResultSchema(Schema):
    added = fields.Integer(required=True, metadata={"description": "Items added (0 when the board was complete)"})
    summary = fields.Nested(BoardSummarySchema, required=True)


class IdOrText(Text):
    """A record's id (a number or digits) or a web address."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        return super()._deserialize(value, attr, data, **kwargs)


class EvidenceInputSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(list(EVIDENCE_KINDS)))
    ref = IdOrText(
        required=True,
        validate=validate.Length(max=500),
        metadata={"description": "The document's, audit's or nonconformity's id, or an https:// address"},
    )
    label = Text(load_default="", validate=validate.Length(max=200), metadata={"description": "Default: the record's"})
