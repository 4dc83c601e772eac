"""marshmallow schemas of the audits API (audit programmes, audits, teams, checklists, coverage).

Built on ``common``'s fields and conventions: strict input (unknown fields rejected), bounded ids,
storable text, ISO 8601 dates.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from workflows import get_lifecycle

from ...models import AUDIT_KINDS, RESULTS, RISK_LEVELS, TEAM_ROLES
from .common import (
    EARLIEST_DATE,
    ID_RANGE,
    MAX_ID,
    PageArgsSchema,
    Text,
    UserRefSchema,
    WorkflowRecordSchema,
    page_schema,
    sort_choices,
)

AUDIT_STATES = tuple(s.name for s in get_lifecycle("internal_audit").states)
AUDIT_SORTS = sort_choices("reference", "planned_start", "created_at", "title", "state")
PROGRAMME_SORTS = sort_choices("year", "title", "created_at")
YEAR_RANGE = validate.Range(min=2000, max=2100)
DEFAULT_STANDARD = "iso-9001-2015"
MAX_CLAUSES = 200
MAX_TEAM = 50
MAX_ENTRIES = 500


def _id(**kwargs) -> fields.Integer:
    return fields.Integer(strict=True, validate=ID_RANGE, **kwargs)


def _optional_id(description: str) -> fields.Integer:
    return fields.Integer(
        strict=True, validate=ID_RANGE, allow_none=True, load_default=None, metadata={"description": description}
    )


def _standard_identifier() -> Text:
    return Text(
        load_default=DEFAULT_STANDARD,
        validate=validate.Length(min=1, max=60),
        metadata={"description": "A standard's identifier (GET /standards)"},
    )


def _clause_numbers() -> fields.List:
    return fields.List(
        Text(validate=validate.Length(min=1, max=30)),
        load_default=list,
        validate=validate.Length(max=MAX_CLAUSES),
        metadata={"description": "Clause numbers of the standard; each also covers its sub-clauses"},
    )


# --- shared pieces ------------------------------------------------------------------------------


class RefSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class AuditBriefSchema(Schema):
    """An audit as listed on its programme."""

    id = fields.Integer(required=True)
    reference = fields.String(required=True)
    title = fields.String(required=True)
    state = fields.String(required=True)
    process_id = fields.Integer(allow_none=True, required=True)
    planned_start = fields.Date(allow_none=True, required=True)
    planned_end = fields.Date(allow_none=True, required=True)
    links = fields.Nested(Schema.from_dict({"self": fields.String(required=True)}, name="AuditBriefLinks"))


# --- audit programmes ---------------------------------------------------------------------------


class ProgrammeEntrySchema(Schema):
    id = fields.Integer(required=True)
    process_id = fields.Integer(required=True)
    process_name = fields.String(attribute="process.name", required=True)
    process_code = fields.String(attribute="process.code", required=True)
    risk = fields.String(required=True)
    audits_per_year = fields.Integer(required=True)
    duration_days = fields.Integer(required=True)


class ProgrammeLinksSchema(Schema):
    self = fields.String(required=True)
    generate = fields.String(required=True, metadata={"description": "POST: create the programme's audits"})
    audits = fields.String(required=True, metadata={"description": "GET: the programme's audits (of its year)"})


class ProgrammeSchema(Schema):
    id = fields.Integer(required=True)
    year = fields.Integer(required=True)
    title = fields.String(required=True)
    site = fields.Nested(RefSchema, allow_none=True, required=True, metadata={"description": "null: every site"})
    standard_identifier = fields.String(required=True)
    objectives = fields.String(required=True)
    created_by = fields.Nested(UserRefSchema, required=True)
    created_at = fields.DateTime(required=True)
    entries = fields.List(fields.Nested(ProgrammeEntrySchema), required=True)
    audits = fields.List(fields.Nested(AuditBriefSchema), required=True)
    links = fields.Nested(ProgrammeLinksSchema, required=True)


ProgrammePageSchema = page_schema(ProgrammeSchema, "AuditProgrammePage")


class ProgrammeEntryCreateSchema(Schema):
    """One process in the programme; without risk, the process's own rating; without a frequency, the risk's."""

    process_id = _id(required=True)
    risk = fields.String(validate=validate.OneOf(list(RISK_LEVELS)), allow_none=True, load_default=None)
    audits_per_year = fields.Integer(
        strict=True, validate=validate.Range(min=1, max=12), allow_none=True, load_default=None
    )
    duration_days = fields.Integer(strict=True, validate=validate.Range(min=1, max=20), load_default=1)


class ProgrammeCreateSchema(Schema):
    year = fields.Integer(required=True, strict=True, validate=YEAR_RANGE)
    title = Text(required=True, validate=validate.Length(max=200))
    standard_identifier = _standard_identifier()
    site_id = _optional_id("The site; null or left out: the whole organisation")
    objectives = Text(load_default="", validate=validate.Length(max=5000))
    entries = fields.List(
        fields.Nested(ProgrammeEntryCreateSchema), load_default=list, validate=validate.Length(max=MAX_ENTRIES)
    )


class ProgrammeQuerySchema(PageArgsSchema):
    year = fields.Integer(validate=YEAR_RANGE)
    site_id = fields.Integer(validate=ID_RANGE)
    sort = fields.String(load_default="-year", validate=validate.OneOf(PROGRAMME_SORTS))


# --- audits -------------------------------------------------------------------------------------


class TeamMemberSchema(Schema):
    user = fields.Nested(UserRefSchema, required=True)
    role = fields.String(required=True, metadata={"description": ", ".join(TEAM_ROLES)})


class ScoreSchema(Schema):
    """Conforming answers as a share of the applicable answered ones, per standard on the checklist."""

    standard_identifier = fields.String(required=True)
    conforming = fields.Integer(required=True)
    applicable = fields.Integer(required=True)
    percent = fields.Float(allow_none=True, required=True, metadata={"description": "null: nothing applicable yet"})
    findings = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class AuditLinksSchema(Schema):
    self = fields.String(required=True)
    history = fields.String(required=True)
    events = fields.String(required=True, metadata={"description": "GET: available events; POST {events}/{event}"})
    checklist = fields.String(required=True)
    team = fields.String(required=True, metadata={"description": "PUT: the lead auditor and the team"})
    programme = fields.String(allow_none=True, required=True)


class AuditSchema(WorkflowRecordSchema):
    kind = fields.String(required=True, metadata={"description": ", ".join(AUDIT_KINDS)})
    title = fields.String(required=True)
    programme_id = fields.Integer(allow_none=True, required=True)
    site = fields.Nested(RefSchema, allow_none=True, required=True)
    process = fields.Nested(RefSchema, allow_none=True, required=True)
    standard_identifier = fields.String(required=True)
    clause_numbers = fields.List(fields.String(), required=True)
    objectives = fields.String(required=True)
    scope = fields.String(required=True)
    criteria = fields.String(required=True)
    planned_start = fields.Date(allow_none=True, required=True)
    planned_end = fields.Date(allow_none=True, required=True)
    actual_start = fields.Date(allow_none=True, required=True)
    actual_end = fields.Date(allow_none=True, required=True)
    lead_auditor = fields.Nested(UserRefSchema, allow_none=True, required=True)
    team = fields.List(fields.Nested(TeamMemberSchema), required=True, metadata={"description": "Lead not included"})
    summary = fields.String(required=True)
    report_approved_at = fields.DateTime(allow_none=True, required=True)
    postpone_reason = fields.String(required=True)
    cancel_reason = fields.String(required=True)
    closed_at = fields.DateTime(allow_none=True, required=True)
    result_counts = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        required=True,
        metadata={"description": "Checklist items per result (" + ", ".join(RESULTS) + ") and unanswered"},
    )
    scores = fields.List(fields.Nested(ScoreSchema), required=True)
    links = fields.Nested(AuditLinksSchema, required=True)


class AuditTeamResultSchema(AuditSchema):
    warnings = fields.List(
        fields.String(), required=True, metadata={"description": "Auditors already on an overlapping audit"}
    )


AuditPageSchema = page_schema(AuditSchema, "AuditPage")


class AuditCreateSchema(Schema):
    title = Text(required=True, validate=validate.Length(max=200))
    kind = fields.String(load_default="internal", validate=validate.OneOf(list(AUDIT_KINDS)))
    standard_identifier = _standard_identifier()
    clause_numbers = _clause_numbers()
    process_id = _optional_id("The audited process (its owner cannot audit it)")
    site_id = _optional_id("The site; defaults to the process's")
    programme_id = _optional_id("The programme it belongs to")
    scope = Text(load_default="", validate=validate.Length(max=5000))
    criteria = Text(load_default="", validate=validate.Length(max=2000))
    objectives = Text(load_default="", validate=validate.Length(max=5000))
    planned_start = fields.Date(allow_none=True, load_default=None, validate=validate.Range(min=EARLIEST_DATE))
    planned_end = fields.Date(allow_none=True, load_default=None, validate=validate.Range(min=EARLIEST_DATE))


class AuditQuerySchema(PageArgsSchema):
    state = fields.String(validate=validate.OneOf(AUDIT_STATES))
    process_id = fields.Integer(validate=ID_RANGE)
    year = fields.Integer(validate=YEAR_RANGE, metadata={"description": "Planned to start in this year"})
    kind = fields.String(validate=validate.OneOf(list(AUDIT_KINDS)))
    lead_auditor_id = fields.Integer(validate=ID_RANGE)
    programme_id = fields.Integer(validate=ID_RANGE)
    sort = fields.String(load_default="-planned_start", validate=validate.OneOf(AUDIT_SORTS))


class TeamMemberInputSchema(Schema):
    user_id = _id(required=True)
    role = fields.String(load_default="auditor", validate=validate.OneOf(list(TEAM_ROLES)))


class TeamInputSchema(Schema):
    """The whole team: members left out are removed. The lead auditor need not be listed."""

    lead_auditor_id = _id(required=True)
    members = fields.List(
        fields.Nested(TeamMemberInputSchema), load_default=list, validate=validate.Length(max=MAX_TEAM)
    )


# --- checklists ---------------------------------------------------------------------------------


class EvidenceSchema(Schema):
    id = fields.Integer(required=True)
    filename = fields.String(required=True)
    content_type = fields.String(required=True)
    size = fields.Integer(required=True)
    links = fields.Nested(Schema.from_dict({"content": fields.String(required=True)}, name="EvidenceLinks"))


class ChecklistItemLinksSchema(Schema):
    self = fields.String(required=True, metadata={"description": "PATCH: the question; DELETE: remove it"})
    answer = fields.String(required=True, metadata={"description": "PUT: the answer"})
    nonconformity = fields.String(allow_none=True, required=True)


class ChecklistItemSchema(Schema):
    id = fields.Integer(required=True)
    audit_id = fields.Integer(required=True)
    position = fields.Integer(required=True)
    standard_identifier = fields.String(required=True)
    clause_number = fields.String(required=True)
    clause_urn = fields.String(required=True)
    question = fields.String(required=True)
    result = fields.String(allow_none=True, required=True, metadata={"description": ", ".join(RESULTS)})
    result_label = fields.String(required=True)
    notes = fields.String(required=True)
    revision = fields.Integer(
        required=True, metadata={"description": "Send it back as expected_revision when answering"}
    )
    answered_by = fields.Nested(UserRefSchema, allow_none=True, required=True)
    answered_at = fields.DateTime(allow_none=True, required=True)
    nonconformity_id = fields.Integer(allow_none=True, required=True)
    nonconformity_reference = fields.String(allow_none=True, required=True)
    evidence = fields.List(fields.Nested(EvidenceSchema), required=True)
    links = fields.Nested(ChecklistItemLinksSchema, required=True)


class ChecklistSchema(Schema):
    audit_id = fields.Integer(required=True)
    state = fields.String(required=True, metadata={"description": "The audit's state"})
    editable = fields.Boolean(required=True, metadata={"description": "Questions may still be added or changed"})
    answering = fields.Boolean(required=True, metadata={"description": "Answers are being recorded"})
    items = fields.List(fields.Nested(ChecklistItemSchema), required=True)


class ChecklistGeneratedSchema(ChecklistSchema):
    added = fields.Integer(required=True, metadata={"description": "Questions added"})


class QuestionCreateSchema(Schema):
    question = Text(required=True, validate=validate.Length(max=2000))
    clause_number = Text(load_default="", validate=validate.Length(max=30))


class QuestionEditSchema(Schema):
    question = Text(required=True, validate=validate.Length(max=2000))


class ChecklistGenerateSchema(Schema):
    replace = fields.Boolean(
        load_default=False, metadata={"description": "Remove unanswered questions first (answered ones are kept)"}
    )


class AnswerSchema(Schema):
    """An answer on site; a major or minor finding raises one nonconformity (and needs notes)."""

    result = fields.String(
        required=True,
        allow_none=True,
        validate=validate.OneOf(list(RESULTS)),
        metadata={"description": "null: clear the answer"},
    )
    notes = Text(load_default="", validate=validate.Length(max=20_000))
    expected_revision = fields.Integer(
        strict=True,
        allow_none=True,
        load_default=None,
        validate=validate.Range(min=0, max=MAX_ID),
        metadata={"description": "The item's revision you last read; a stale one answers 409"},
    )


# --- coverage -----------------------------------------------------------------------------------


class CoverageQuerySchema(Schema):
    year = fields.Integer(required=True, validate=YEAR_RANGE)
    site_id = fields.Integer(validate=ID_RANGE)
    standard = Text(load_default=DEFAULT_STANDARD, validate=validate.Length(min=1, max=60))
    depth = fields.Integer(
        load_default=2, validate=validate.Range(min=1, max=4), metadata={"description": "Clause levels shown"}
    )


class CoverageClauseSchema(Schema):
    number = fields.String(required=True)
    title = fields.String(required=True)


class CoverageProcessSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    code = fields.String(required=True)


class CoverageCellSchema(Schema):
    process_id = fields.Integer(required=True)
    clause = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "audited, planned or uncovered"})
    planned = fields.Integer(required=True, metadata={"description": "Audits planned, not yet held"})
    audited = fields.Integer(required=True, metadata={"description": "Audits held"})
    results = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    worst = fields.String(allow_none=True, required=True, metadata={"description": "The worst result found"})


class CoverageSchema(Schema):
    year = fields.Integer(required=True)
    site_id = fields.Integer(allow_none=True, required=True)
    standard = fields.Nested(
        Schema.from_dict(
            {"identifier": fields.String(required=True), "title": fields.String(required=True)},
            name="CoverageStandard",
        ),
        required=True,
    )
    clauses = fields.List(fields.Nested(CoverageClauseSchema), required=True)
    processes = fields.List(fields.Nested(CoverageProcessSchema), required=True)
    cells = fields.List(fields.Nested(CoverageCellSchema), required=True, metadata={"description": "Relevant cells"})
    relevant = fields.Integer(required=True, metadata={"description": "Cells where a process meets a clause"})
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    percent_audited = fields.Float(required=True)
    uncovered_clauses = fields.List(fields.String(), required=True)
