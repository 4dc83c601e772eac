"""/api/v1/standards: the standards and checklists audits are planned against.

Bundled standards ship with qmsflow; an organisation imports its own (SOP
checklists, customer standards) as YAML or CSV. An import is validated in full
first: a bad file answers 422 with every problem by line (``errors`` keys
``content.0``, ``content.1``…), an identifier or URN already taken 409, and
nothing is stored either way. ``…/{old}/diff/{new}`` compares two editions.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import abort, url_for
from marshmallow import RAISE, Schema, fields, validate

from standards import Standard, StandardError
from standards.editions import EDITION_STATUSES, Edition

from ..database import db
from ..models import ImportedMapping
from ..services.standards import (
    MAX_MAPPING_BYTES,
    StandardClash,
    all_mappings,
    all_standards,
    diff_editions,
    edition_of,
    find_standard,
    import_mapping,
    import_standard,
    is_bundled,
    remove_imported_mapping,
    update_edition,
)
from .auth import api_user, require_roles
from .blueprint import ID, ApiBlueprint
from .errors import describe, error_response
from .schemas.common import OffsetPageArgsSchema, Text, page_schema
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


class StandardQuerySchema(OffsetPageArgsSchema):
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
        "next": None,
        "prev": None,
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


# --- mapping sets -------------------------------------------------------------------------------


class MappingEntrySchema(Schema):
    source = fields.String(allow_none=True, required=True, metadata={"description": "null: new in the target"})
    target = fields.String(allow_none=True, required=True, metadata={"description": "null: no counterpart"})
    relationship = fields.String(
        required=True, metadata={"description": "equal, subset, superset, intersect, not_related"}
    )
    changed = fields.Boolean(required=True, metadata={"description": "The clause's content changed"})
    note = fields.String(required=True, metadata={"description": "What changed, in our own words"})


class MappingSetSchema(Schema):
    id = fields.Integer(allow_none=True, required=True, metadata={"description": "The import's id; null if bundled"})
    source_identifier = fields.String(required=True)
    target_identifier = fields.String(required=True)
    description = fields.String(required=True)
    origin = fields.String(required=True, metadata={"description": "bundled, or imported (replacing the bundled set)"})
    entry_count = fields.Integer(required=True)
    changed_count = fields.Integer(required=True)
    entries = fields.List(fields.Nested(MappingEntrySchema), required=True)


class MappingImportSchema(Schema):
    """A mapping set to import; CSV columns are ``source,target,relationship,changed,note``."""

    format = fields.String(required=True, validate=validate.OneOf(["yaml", "csv"]))
    content = Text(
        required=True, validate=validate.Length(min=1, max=MAX_MAPPING_BYTES), metadata={"description": "The file"}
    )
    source = Text(
        validate=validate.Length(min=1, max=60), metadata={"description": "The source standard; required for CSV"}
    )
    target = Text(
        validate=validate.Length(min=1, max=60), metadata={"description": "The target standard; required for CSV"}
    )
    description = Text(load_default="", validate=validate.Length(max=2000))
    replace = fields.Boolean(load_default=False, metadata={"description": "Replace an imported set of this pair"})


def present_mapping(mapping: Any, origin: str, row: ImportedMapping | None) -> dict[str, Any]:
    return {
        "id": row.id if row is not None else None,
        "source_identifier": mapping.source_identifier,
        "target_identifier": mapping.target_identifier,
        "description": mapping.description,
        "origin": origin,
        "entry_count": len(mapping.entries),
        "changed_count": sum(1 for e in mapping.entries if e.changed),
        "entries": [
            {
                "source": e.source,
                "target": e.target,
                "relationship": e.relationship,
                "changed": e.changed,
                "note": e.note,
            }
            for e in mapping.entries
        ],
    }


MAPPING_FLAG = re.compile(r"--(source|target|replace)\b")


def mapping_errors(exc: StandardError) -> tuple[int, dict[str, str]]:
    """A failed mapping import as (status, errors by field): 409 for a pair imported already, else 422 by line."""
    errors: dict[str, str] = {}
    content = 0
    clash = isinstance(exc, StandardClash)
    for raw in exc.errors:
        message = MAPPING_FLAG.sub(r"\1", raw.replace("with --replace", 'with "replace": true'))
        if clash:
            name = "replace"
        elif name := next(
            (n for n in ("source", "target", "description", "format") if message.startswith(f"{n} ")), ""
        ):
            pass
        else:
            name, content = f"content.{content}", content + 1
        errors[name] = f"{errors[name]} {message}" if name in errors else message
    return (409 if clash else 422), errors


@blp.route("/standards/mappings", methods=["GET"])
@blp.response(200, MappingSetSchema(many=True))
def list_mappings() -> list[dict[str, Any]]:
    """Every mapping set between editions: bundled ones, each replaced by an import of the same pair"""
    return [present_mapping(m, origin, row) for m, origin, row in all_mappings()]


@blp.route("/standards/mappings", methods=["POST"])
@require_roles(IMPORT_ROLES, "Requires the role admin, manager or quality officer to import mapping sets")
@blp.arguments(MappingImportSchema)
@blp.alt_response(409, response="CONFLICT")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(201, MappingSetSchema)
def import_mapping_set(body: dict[str, Any]) -> Any:
    """Import a mapping set (YAML, or CSV with columns source,target,relationship,changed,note)

    It replaces the bundled set between the same two standards from then on (the differ and
    new ISO-change reviews use it). CSV needs `source` and `target` (the standards'
    identifiers); YAML names them and any given must agree. The file is validated in full
    first: 422 lists every problem with its line (`errors` keys `content.0`, `content.1`…),
    409 when this pair is imported already without `replace`. Nothing is stored unless all is well.
    """
    try:
        row = import_mapping(
            body["content"],
            body["format"],
            api_user(),
            source_identifier=body.get("source"),
            target_identifier=body.get("target"),
            description=body["description"],
            replace=body["replace"],
        )
    except StandardError as exc:
        status, errors = mapping_errors(exc)
        if status == 409:
            return error_response(409, "; ".join(errors.values()), errors)
        return error_response(422, describe(errors), errors)
    found = next(
        (m for m in all_mappings() if m[2] is not None and m[2].id == row.id),
        None,
    )
    assert found is not None
    return present_mapping(*found), 201


@blp.route(f"/standards/mappings/<{ID}:mapping_id>", methods=["DELETE"])
@require_roles(IMPORT_ROLES, "Requires the role admin, manager or quality officer to remove mapping sets")
@blp.response(204)
def remove_mapping(mapping_id: int) -> None:
    """Remove an imported mapping set: the bundled set of the same pair (if any) applies again"""
    row = db.session.get(ImportedMapping, mapping_id)
    if row is None:
        abort(404, description=f"There is no imported mapping set {mapping_id}")
    remove_imported_mapping(row, api_user())


# --- editions -----------------------------------------------------------------------------------


class EditionSchema(Schema):
    identifier = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": ", ".join(EDITION_STATUSES)})
    published_on = fields.Date(allow_none=True, required=True)
    replaces = fields.String(
        allow_none=True, required=True, metadata={"description": "The edition certificates move from"}
    )
    transition_ends_on = fields.Date(
        allow_none=True, required=True, metadata={"description": "Certificates to the replaced edition end"}
    )
    cutover_on = fields.Date(
        allow_none=True, required=True, metadata={"description": "From this day every audit is to this edition"}
    )
    warn_months = fields.Integer(required=True, metadata={"description": "Readiness warns this long before the end"})
    source = fields.String(required=True)


_DATE_RANGE = validate.Range(min=dt.date(1900, 1, 1), max=dt.date(9998, 12, 31))


class EditionUpdateSchema(Schema):
    """What an administrator records when ISO and the IAF publish dates; a field left out keeps its value."""

    status = fields.String(validate=validate.OneOf(list(EDITION_STATUSES)))
    published_on = fields.Date(allow_none=True, validate=_DATE_RANGE)
    replaces = Text(allow_none=True, validate=validate.Length(min=1, max=60))
    transition_ends_on = fields.Date(allow_none=True, validate=_DATE_RANGE)
    cutover_on = fields.Date(allow_none=True, validate=_DATE_RANGE)
    warn_months = fields.Integer(strict=True, validate=validate.Range(min=1, max=60))
    source = Text(validate=validate.Length(max=500))


def present_edition(identifier: str, edition: Edition | None) -> dict[str, Any]:
    if edition is None:
        return {
            "identifier": identifier,
            "status": "published",
            "published_on": None,
            "replaces": None,
            "transition_ends_on": None,
            "cutover_on": None,
            "warn_months": 12,
            "source": "",
        }
    return {
        "identifier": edition.identifier,
        "status": edition.status,
        "published_on": edition.published_on,
        "replaces": edition.replaces,
        "transition_ends_on": edition.transition_ends_on,
        "cutover_on": edition.cutover_on,
        "warn_months": edition.warn_months,
        "source": edition.source,
    }


@blp.route(f"/standards/<{IDENTIFIER}>/edition", methods=["GET"])
@blp.response(200, EditionSchema)
def get_edition(identifier: str) -> dict[str, Any]:
    """An edition's status (draft, published, withdrawn) and the dates of the transition to it"""
    load_standard(identifier)
    return present_edition(identifier, edition_of(identifier))


@blp.route(f"/standards/<{IDENTIFIER}>/edition", methods=["PATCH"])
@require_roles(frozenset({"admin"}), "Requires the role admin to edit edition dates")
@blp.arguments(EditionUpdateSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.response(200, EditionSchema)
def patch_edition(body: dict[str, Any], identifier: str) -> dict[str, Any]:
    """Record an edition's status and transition dates when ISO and the IAF publish them (administrators)

    The whole record is checked as it would be saved (the cut-over on or before the end, the end
    after publication, a transition names the edition it replaces); 422 names each field.
    """
    load_standard(identifier)
    data = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in body.items()}
    return present_edition(identifier, update_edition(identifier, api_user(), data))
