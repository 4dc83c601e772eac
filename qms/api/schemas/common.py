"""marshmallow schemas and fields that every part of the API shares: errors, pages, users as
references, workflow records, their history and event requests.

Input schemas are strict: unknown fields are rejected (marshmallow's RAISE,
also for query strings), ids are bounded to what the database stores, and
text must be storable (valid Unicode without NUL characters), so bad input
always gets a 422 naming the field, never a database error.  Dates are ISO
8601 (``YYYY-MM-DD``); datetimes are UTC with their offset.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

MAX_ID = 2**31 - 1


MAX_PAGE = 100_000


MAX_PER_PAGE = 100


MAX_JSON_DEPTH = 32


EARLIEST_DATE = dt.date(1900, 1, 1)


ID_RANGE = validate.Range(min=1, max=MAX_ID)


IF_MATCH_RE = re.compile(r'^\s*(\*|(W/)?"?[0-9]{1,10}"?)\s*$')


def sort_choices(*names: str) -> list[str]:
    """Each sortable name, ascending and (with a leading ``-``) descending."""
    return [*names, *(f"-{name}" for name in names)]


def text_problem(value: str) -> str | None:
    """Why a string cannot be stored, or None."""
    if "\x00" in value:
        return "must not contain NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text"
    return None


def json_problems(value: Any, path: str = "", depth: int = 0) -> dict[str, str]:
    """Problems of a free-form JSON value that a database would refuse, by dotted path."""
    here = path or "value"
    if depth > MAX_JSON_DEPTH:
        return {here: f"is nested more than {MAX_JSON_DEPTH} levels deep"}
    if isinstance(value, str):
        problem = text_problem(value)
        return {here: problem} if problem else {}
    if isinstance(value, float) and not math.isfinite(value):
        return {here: "must be a finite number"}
    problems: dict[str, str] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            problem = text_problem(str(key))
            if problem:
                problems[name] = f"name {problem}"
                continue
            problems.update(json_problems(item, name, depth + 1))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            problems.update(json_problems(item, f"{path}.{index}" if path else str(index), depth + 1))
    return problems


class Text(fields.String):
    """A string the database can store: valid Unicode, no NUL characters."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        problem = text_problem(text)
        if problem:
            raise ValidationError(problem)
        return text


class JsonObject(fields.Dict):
    """A free-form JSON object (event data), checked to be storable."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dict[str, Any]:
        result = super()._deserialize(value, attr, data, **kwargs)
        problems = json_problems(result)
        if problems:
            raise ValidationError(problems)
        return result


class SortedList(fields.List):
    """A list dumped in sorted order (roles are a set)."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> list[Any] | None:
        if value is None:
            return None
        return super()._serialize(sorted(value), attr, obj, **kwargs)


class Negated(fields.Boolean):
    """The opposite of a boolean attribute (``revoked`` from a token's ``active``)."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> bool:
        return not value


def _id(**kwargs: Any) -> fields.Integer:
    return fields.Integer(validate=ID_RANGE, **kwargs)


class ErrorSchema(Schema):
    """Every error of the API."""

    code = fields.Integer(required=True, metadata={"description": "The HTTP status code"})
    status = fields.String(required=True, metadata={"description": "The HTTP status name"})
    message = fields.String(required=True, metadata={"description": "What went wrong, for people"})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={"description": "Each bad field (dotted path for nested ones) and what is wrong with it"},
    )


class UserRefSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class ProcessRefSchema(Schema):
    """A process named by its code and name (risks, objectives, opportunities)."""

    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)


class EventFieldSchema(Schema):
    """A piece of data an event asks for, sent in the request's ``data`` object."""

    name = fields.String(required=True)
    label = fields.String(required=True)
    kind = fields.String(
        required=True,
        metadata={"description": "text, string, date, integer, choice, multichoice, boolean, list or json"},
    )
    required = fields.Boolean(required=True)
    choices = fields.List(fields.String(), required=True)


class AvailableEventSchema(Schema):
    """An event leaving the record's current state: allowed for the caller, or why not."""

    event = fields.String(required=True)
    label = fields.String(required=True)
    allowed = fields.Boolean(required=True)
    reason = fields.String(allow_none=True, required=True, metadata={"description": "Why it is blocked"})
    signature_required = fields.Boolean(
        required=True,
        metadata={"description": "Send signature_email and signature_password (the caller's) to sign"},
    )
    event_fields = fields.List(fields.Nested(EventFieldSchema), data_key="fields", attribute="fields", required=True)


class WorkflowRecordSchema(Schema):
    """What every workflow resource answers."""

    id = fields.Integer(required=True)
    reference = fields.String(required=True)
    state = fields.String(required=True)
    state_label = fields.String(required=True)
    version = fields.Integer(
        required=True, metadata={"description": "Send it back as If-Match or body 'version' when firing events"}
    )
    lifecycle_version = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    available_events = fields.List(fields.Nested(AvailableEventSchema), required=True)


class HistoryRowSchema(Schema):
    """One fired event, with its electronic signature when it was an approval."""

    id = fields.Integer(required=True)
    event = fields.String(required=True)
    from_state = fields.String(required=True)
    to_state = fields.String(required=True)
    actor_id = fields.Integer(allow_none=True, required=True)
    actor_name = fields.String(required=True)
    at = fields.DateTime(required=True)
    comment = fields.String(required=True)
    data = fields.Dict(keys=fields.String(), required=True)
    lifecycle_version = fields.Integer(required=True)
    signature_meaning = fields.String(allow_none=True, required=True)
    signed_by_name = fields.String(allow_none=True, required=True)
    signed_by_email = fields.String(
        allow_none=True, required=True, metadata={"description": "The signer's e-mail address (unique to them)"}
    )
    signed_at = fields.DateTime(allow_none=True, required=True)
    signature_manifest = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "Printed name <e-mail address> — meaning — UTC date and time"},
    )


class EventRequestSchema(Schema):
    """Fire an event: its fields go in ``data``; approvals need ``signature_email`` and ``signature_password``.

    The expected version may be sent as ``version`` or as the ``If-Match``
    header (the ETag of the record); a stale one answers 409.
    """

    comment = Text(load_default="", validate=validate.Length(max=10_000))
    data = JsonObject(
        keys=Text(),
        load_default=dict,
        metadata={"description": "The event's fields, by name (see available_events[].fields)"},
    )
    signature_password = Text(
        allow_none=True,
        load_default=None,
        validate=validate.Length(max=1024),
        metadata={"format": "password", "description": "The caller's password, for events that are signed"},
    )
    signature_email = Text(
        allow_none=True,
        load_default=None,
        validate=validate.Length(max=254),
        metadata={
            "format": "email",
            "description": (
                "The caller's e-mail address, for events that are signed: every API signature carries both "
                "components (21 CFR 11.200). Five wrong attempts lock signing for the period an administrator set."
            ),
        },
    )
    version = fields.Integer(strict=True, validate=ID_RANGE, metadata={"description": "The version you last read"})


def _valid_if_match(value: str) -> None:
    if not IF_MATCH_RE.match(value):
        raise ValidationError('must be the record\'s ETag (its version, e.g. "3")')


class IfMatchSchema(Schema):
    if_match = Text(
        data_key="If-Match",
        validate=_valid_if_match,
        metadata={"description": "The ETag (version) you last read; a stale one answers 409"},
    )


def _valid_cursor(value: str) -> None:
    from ...services.paging import BadCursor, decode_cursor

    try:
        decode_cursor(value)
    except BadCursor as exc:
        raise ValidationError(str(exc)) from None


CURSOR_DESCRIPTION = (
    "A cursor from a page's `next` (or `prev` for `before`): the page after (before) that row, in the same "
    "filters and sort. The cursor is the URL-safe base64 (no padding) of the compact JSON list of the row's "
    "sort-key values ending with its id. Costs the same however deep the page; prefer it to `page`."
)


class OffsetPageArgsSchema(Schema):
    """Page numbers only: the short lists worked out in Python (standards, reviews)."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=MAX_PER_PAGE))


class PageArgsSchema(Schema):
    page = fields.Integer(
        load_default=1,
        validate=validate.Range(min=1, max=MAX_PAGE),
        metadata={
            "description": "Page number (offset paging, kept for compatibility: deep pages cost more; use `after`)"
        },
    )
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=MAX_PER_PAGE))
    after = fields.String(
        validate=[validate.Length(min=1, max=2_000), _valid_cursor], metadata={"description": CURSOR_DESCRIPTION}
    )
    before = fields.String(
        validate=[validate.Length(min=1, max=2_000), _valid_cursor],
        metadata={"description": "A page's `prev` cursor: the page before that row."},
    )


def page_schema(item: type[Schema], name: str) -> type[Schema]:
    """The envelope of a paginated list of ``item``."""
    schema = Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item), required=True),
            "page": fields.Integer(
                required=True,
                allow_none=True,
                metadata={"description": "The page number asked for (null with a cursor)"},
            ),
            "per_page": fields.Integer(required=True),
            "total": fields.Integer(
                required=True,
                allow_none=True,
                metadata={"description": "Items matching the filters; null when more than 10,000 (counted no further)"},
            ),
            "pages": fields.Integer(required=True, allow_none=True, metadata={"description": "null when total is"}),
            "next": fields.String(
                required=True,
                allow_none=True,
                metadata={"description": "Cursor of the following page (pass it as `after`); null on the last page"},
            ),
            "prev": fields.String(
                required=True,
                allow_none=True,
                metadata={"description": "Cursor of the preceding page (pass it as `before`); null on the first page"},
            ),
        },
        name=name,
    )
    schema.paged = True  # the blueprint documents its Link header
    return schema
