"""/api/v1/standards: the standards and checklists audits are planned against.

Bundled standards ship with qmsflow; an organisation imports its own (SOP
checklists, customer standards) as YAML or CSV. An import is validated in full
first: a bad file answers 422 with every problem by line (``errors`` keys
``content.0``, ``content.1``…), an identifier or URN already taken 409, and
nothing is stored either way. ``…/{old}/diff/{new}`` compares two editions.
"""

from __future__ import annotations

import re
from typing import Any

from flask import abort, url_for
from marshmallow import RAISE, Schema, fields, validate

from standards import Standard, StandardError

from ..services.standards import (
    StandardClash,
    all_standards,
    diff_editions,
    find_standard,
    import_standard,
    is_bundled,
)
from .auth import api_user, require_roles
from .blueprint import ApiBlueprint
from .errors import describe, error_response
from .schemas.common import PageArgsSchema, Text, page_schema
from .workflow import Presented

blp = ApiBlueprint(
    "api_standards",
    __name__,
    tag="Standards",
    description="Standards and checklists as data: list, read by clause, import (YAML or CSV), compare editions.",
)

IMPORT_ROLES = frozenset({"admin", "manager", "quality_officer"})
KINDS = ("standard", "checklist", "service-standards")
IDENTIFIER = "string(maxlength=60):identifier"
#: the service speaks to the command line (``--identifier``); the API's fields have no dashes
FLAG = re.compile(r"--(identifier|title|edition|urn|replace)\b")
OVERRIDES = ("identifier", "title", "edition", "urn", "format")


# --- schemas ------------------------------------------------------------------------------------


class StandardLinksSchema(Schema):
    self = fields.String(required=True)


class StandardBriefSchema(Schema):
    identifier = fields.String(required=True)
    title = fields.String(required=True)
    edition = fields.Integer(required=True)
    urn = fields.String(required=True)
    kind = fields.String(required=True, metadata={"description": ", ".join(KINDS)})
    description = fields.String(required=True)
    amends = fields.String(allow_none=True, required=True, metadata={"description": "URN of the edition it amends"})
    published = fields.String(allow_none=True, required=True)
    source = fields.String(required=True, metadata={"description": "bundled (ships with qmsflow) or imported"})
    clause_count = fields.Integer(required=True)
    links = fields.Nested(StandardLinksSchema, required=True)


class ClauseSchema(Schema):
    number = fields.String(required=True)
    title = fields.String(required=True, metadata={"description": "Empty for an untitled sub-clause"})
    parent = fields.String(allow_none=True, required=True)
    urn = fields.String(required=True)
    questions = fields.List(fields.String(), required=True, metadata={"description": "Checklist questions"})


class StandardSchema(StandardBriefSchema):
    clauses = fields.List(fields.Nested(ClauseSchema), required=True)


StandardPageSchema = page_schema(StandardBriefSchema, "StandardPage")


class StandardQuerySchema(PageArgsSchema):
    kind = fields.String(validate=validate.OneOf(KINDS))
    source = fields.String(validate=validate.OneOf(["bundled", "imported"]))


class StandardImportSchema(Schema):
    """A standard or checklist to import; CSV columns are ``number,title,parent,question``."""

    format = fields.String(required=True, validate=validate.OneOf(["yaml", "csv"]))
    content = Text(required=True, validate=validate.Length(min=1, max=2_000_000), metadata={"description": "The file"})
    identifier = Text(
        validate=validate.Length(min=1, max=60), metadata={"description": "Required for CSV; YAML: must match"}
    )
    title = Text(validate=validate.Length(min=1, max=200), metadata={"description": "Required for CSV"})
    edition = fields.Integer(strict=True, validate=validate.Range(min=1, max=9999))
    urn = Text(validate=validate.Length(min=1, max=200))
    replace = fields.Boolean(
        load_default=False, metadata={"description": "Replace an imported standard of this identifier"}
    )


class ClauseRefSchema(Schema):
    urn = fields.String(required=True)
    number = fields.String(required=True)
    title = fields.String(required=True)


class ClauseChangeSchema(Schema):
    kind = fields.String(required=True, metadata={"description": "added, removed, renamed, moved or changed"})
    old = fields.Nested(ClauseRefSchema, allow_none=True, required=True)
    new = fields.Nested(ClauseRefSchema, allow_none=True, required=True)
    description = fields.String(required=True)
    relationship = fields.String(allow_none=True, required=True, metadata={"description": "From the mapping set"})
    note = fields.String(required=True)


class StandardDiffSchema(Schema):
    old_identifier = fields.String(required=True)
    new_identifier = fields.String(required=True)
    mapped = fields.Boolean(required=True, metadata={"description": "A mapping set between them decided matches"})
    added = fields.List(fields.Nested(ClauseChangeSchema), required=True)
    removed = fields.List(fields.Nested(ClauseChangeSchema), required=True)
    renamed = fields.List(fields.Nested(ClauseChangeSchema), required=True)
    moved = fields.List(fields.Nested(ClauseChangeSchema), required=True)
    changed = fields.List(fields.Nested(ClauseChangeSchema), required=True)
    unchanged = fields.Integer(required=True)


# --- presenting ---------------------------------------------------------------------------------


def present_standard(standard: Standard) -> Presented:
    return Presented(
        standard,
        source="bundled" if is_bundled(standard.identifier) else "imported",
        clause_count=len(standard.clauses),
        links={"self": url_for("api_standards.get_standard", identifier=standard.identifier)},
    )


def load_standard(identifier: str) -> Standard:
    try:
        return find_standard(identifier)
    except KeyError:
        abort(404, description=f"There is no standard {identifier!r}")


def import_errors(exc: StandardError) -> tuple[int, dict[str, str]]:
    """A failed import as (status, errors by field): clashes 409, anything else 422 with line numbers."""
    errors: dict[str, str] = {}
    content = 0
    clash = isinstance(exc, StandardClash)
    for raw in exc.errors:
        message = FLAG.sub(r"\1", raw.replace("with --replace", 'with "replace": true'))
        if clash:
            name = "urn" if message.startswith("urn ") else "identifier"
        elif name := next((n for n in OVERRIDES if message.startswith(f"{n} ")), ""):
            pass
        else:
            name, content = f"content.{content}", content + 1
        errors[name] = f"{errors[name]} {message}" if name in errors else message
    return (409 if clash else 422), errors


# --- routes -------------------------------------------------------------------------------------


@blp.route("/standards", methods=["GET"])
@blp.arguments(StandardQuerySchema, location="query", unknown=RAISE)
@blp.response(200, StandardPageSchema)
def list_standards(args: dict[str, Any]) -> dict[str, Any]:
    """The standards and checklists: bundled first, then imported, each by identifier"""
    found = [present_standard(s) for s in all_standards()]
    if "kind" in args:
        found = [s for s in found if s.kind == args["kind"]]
    if "source" in args:
        found = [s for s in found if s.source == args["source"]]
    page, per_page = args["page"], args["per_page"]
    total = len(found)
    return {
        "items": found[(page - 1) * per_page : page * per_page],
        "page": page,
        "per_page": per_page,
        "total": total,
        "pages": -(-total // per_page),
    }


@blp.route("/standards", methods=["POST"])
@require_roles(IMPORT_ROLES, "Requires the role admin, manager or quality officer to import standards")
@blp.arguments(StandardImportSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, StandardSchema)
def import_one(body: dict[str, Any]) -> Any:
    """Import a standard or checklist (YAML, or CSV with columns number,title,parent,question)

    CSV needs `identifier` and `title` (`edition` defaults to this year, `urn`
    to one of the organisation's); YAML carries them, and any given must
    agree. The file is validated in full first: 422 lists every problem with
    its line (`errors` keys `content.0`, `content.1`…), 409 when the
    identifier or URN is taken (a bundled standard's, or an imported one
    without `replace`). Nothing is stored unless all is well.
    """
    fmt = body.pop("format")
    content = body.pop("content")
    try:
        row = import_standard(content, fmt, api_user(), **body)
    except StandardError as exc:
        status, errors = import_errors(exc)
        if status == 409:
            return error_response(409, "; ".join(errors.values()), errors)
        return error_response(422, describe(errors), errors)
    standard = load_standard(row.identifier)
    location = url_for("api_standards.get_standard", identifier=standard.identifier)
    return present_standard(standard), 201, {"Location": location}


@blp.route(f"/standards/<{IDENTIFIER}>", methods=["GET"])
@blp.response(200, StandardSchema)
def get_standard(identifier: str) -> Any:
    """One standard with its clauses in document order (number, title, parent, URN, checklist questions)"""
    return present_standard(load_standard(identifier))


@blp.route("/standards/<string(maxlength=60):old>/diff/<string(maxlength=60):new>", methods=["GET"])
@blp.response(200, StandardDiffSchema)
def diff(old: str, new: str) -> Any:
    """What changed from one standard to another: clauses added, removed, renamed, moved, changed

    A mapping set between the two editions, when one ships, decides which
    clauses correspond; otherwise they are matched by number and title.
    """
    load_standard(old)
    load_standard(new)
    return diff_editions(old, new)
