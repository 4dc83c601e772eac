"""marshmallow schemas of the complaints API (the register and the virtual platforms figures).

Built on ``common``'s fields and conventions: strict input (unknown fields rejected), bounded ids,
storable text, ISO 8601 dates.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from workflows import get_lifecycle

from ...models import CHANNELS
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
from .surveys import MAX_REPORT_DAYS

COMPLAINT_STATES = tuple(s.name for s in get_lifecycle("complaint").states)


COMPLAINT_SORTS = sort_choices("reference", "received_at", "acknowledge_due", "resolve_due", "state")


class ComplaintLinksSchema(Schema):
    self = fields.String(required=True)
    history = fields.String(required=True)
    events = fields.String(required=True, metadata={"description": "GET: available events; POST {events}/{event}"})
    nonconformity = fields.String(allow_none=True, required=True)


class ComplaintSchema(WorkflowRecordSchema):
    channel = fields.String(required=True, metadata={"description": ", ".join(CHANNELS)})
    channel_label = fields.String(required=True)
    virtual_platform = fields.Boolean(required=True, metadata={"description": "A social platform"})
    summary = fields.String(required=True)
    description = fields.String(required=True)
    remedy_sought = fields.String(required=True)
    service = fields.String(required=True)
    customer_name = fields.String(required=True)
    customer_handle = fields.String(required=True)
    customer_contact = fields.String(required=True)
    post_url = fields.String(required=True)
    origin = fields.String(required=True, metadata={"description": "staff, public_form, survey_rule or api"})
    received_at = fields.DateTime(required=True)
    acknowledge_due = fields.Date(required=True, metadata={"description": "Target: acknowledged by"})
    resolve_due = fields.Date(required=True, metadata={"description": "Target: resolved by"})
    acknowledgement_overdue = fields.Boolean(required=True)
    resolution_overdue = fields.Boolean(required=True)
    overdue = fields.Boolean(required=True, metadata={"description": "Either target missed"})
    acknowledged_on = fields.Date(allow_none=True, required=True)
    severity = fields.String(allow_none=True, required=True)
    resolution = fields.String(required=True)
    resolved_at = fields.DateTime(allow_none=True, required=True)
    customer_satisfied = fields.String(allow_none=True, required=True)
    communicated_on = fields.Date(allow_none=True, required=True)
    closed_at = fields.DateTime(allow_none=True, required=True)
    rejection_reason = fields.String(required=True)
    logged_by = fields.Nested(UserRefSchema, allow_none=True, required=True)
    owner = fields.Nested(UserRefSchema, allow_none=True, required=True)
    nonconformity_id = fields.Integer(allow_none=True, required=True)
    nonconformity_reference = fields.String(allow_none=True, required=True)
    links = fields.Nested(ComplaintLinksSchema, required=True)


def _plausible_receipt(value: dt.datetime) -> None:
    """After 1900 and not in the future (the service says so too; this keeps odd offsets away from it)."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    if aware.year < EARLIEST_DATE.year:
        raise ValidationError(f"must be after {EARLIEST_DATE.isoformat()}")
    if aware - dt.datetime.now(dt.UTC) > dt.timedelta(minutes=5):
        raise ValidationError("cannot be in the future")


class ComplaintCreateSchema(Schema):
    channel = fields.String(required=True, validate=validate.OneOf(list(CHANNELS)))
    summary = Text(required=True, validate=validate.Length(max=200))
    description = Text(required=True, validate=validate.Length(max=10_000))
    remedy_sought = Text(load_default="", validate=validate.Length(max=5000))
    service = Text(load_default="", validate=validate.Length(max=120))
    customer_name = Text(load_default="", validate=validate.Length(max=200))
    customer_handle = Text(
        load_default="",
        validate=validate.Length(max=200),
        metadata={"description": "On a social platform, the handle or the post's link is required"},
    )
    customer_contact = Text(load_default="", validate=validate.Length(max=254))
    post_url = Text(load_default="", validate=validate.Length(max=500), metadata={"description": "https://…"})
    received_at = fields.DateTime(
        allow_none=True,
        load_default=None,
        validate=_plausible_receipt,
        metadata={"description": "Default: now; UTC when no offset is given; not in the future"},
    )
    owner_id = fields.Integer(
        strict=True,
        validate=ID_RANGE,
        allow_none=True,
        load_default=None,
        metadata={"description": "An active quality officer, manager or process owner; default: you"},
    )


class ComplaintQuerySchema(PageArgsSchema):
    state = fields.String(validate=validate.OneOf([*COMPLAINT_STATES, "open"]), metadata={"description": "open: any"})
    channel = fields.String(
        validate=validate.OneOf([*CHANNELS, "virtual"]), metadata={"description": "virtual: the social platforms"}
    )
    service = Text(validate=validate.Length(max=120))
    overdue = fields.Boolean(metadata={"description": "true: open complaints past a target"})
    sort = fields.String(load_default="-received_at", validate=validate.OneOf(COMPLAINT_SORTS))


class PeriodQuerySchema(Schema):
    start = fields.Date(
        validate=validate.Range(min=EARLIEST_DATE), metadata={"description": "Received from; default: 90 days ago"}
    )
    end = fields.Date(
        validate=validate.Range(min=EARLIEST_DATE), metadata={"description": "Received to; default: today"}
    )

    @validates_schema
    def _period(self, data: dict[str, Any], **kwargs: Any) -> None:
        start, end = data.get("start"), data.get("end")
        if start is not None and end is not None:
            if end < start:
                raise ValidationError("must not be before start", "end")
            if (end - start).days > MAX_REPORT_DAYS:
                raise ValidationError("the period can be at most three years", "end")


class PlatformFiguresSchema(Schema):
    channel = fields.String(required=True)
    channel_label = fields.String(required=True)
    total = fields.Integer(required=True)
    open = fields.Integer(required=True)
    overdue = fields.Integer(required=True)
    escalated = fields.Integer(required=True, metadata={"description": "Escalated to a nonconformity"})
    median_ack_days = fields.Float(allow_none=True, required=True)
    median_resolve_days = fields.Float(allow_none=True, required=True)
    outcomes = fields.Dict(
        keys=fields.String(), values=fields.Integer(), required=True, metadata={"description": "Complaints per state"}
    )
    satisfied = fields.Integer(required=True)
    not_satisfied = fields.Integer(required=True)


class PlatformReportSchema(Schema):
    start = fields.Date(required=True)
    end = fields.Date(required=True)
    platforms = fields.List(
        fields.Nested(PlatformFiguresSchema), required=True, metadata={"description": "The social platforms"}
    )
    other_channels = fields.List(fields.Nested(PlatformFiguresSchema), required=True)


ComplaintPageSchema = page_schema(ComplaintSchema, "ComplaintPage")
