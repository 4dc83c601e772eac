"""marshmallow schemas of the certification bodies and certifications API (cycle, external audits,
findings, readiness, reminders).

Built on ``common``'s fields and conventions: strict input (unknown fields rejected), bounded ids,
storable text, ISO 8601 dates.
What only the services can judge (a body's whole profile, a standard's clauses, an owner's roles)
they judge, naming the field; these schemas keep out what is malformed or could not be stored.
"""

from __future__ import annotations

import datetime as dt

from marshmallow import Schema, fields, validate

from standards.bodies import DAYS_RANGE, MAX_ITEM_LENGTH, MAX_NAME_LENGTH, MAX_NOTES_LENGTH, NC_SEVERITIES
from standards.bodies import PROGRAMME_RANGES as BODY_PROGRAMME_RANGES
from workflows import get_lifecycle

from ...models import EXTERNAL_AUDIT_KINDS
from .audits import RefSchema
from .common import ID_RANGE, PageArgsSchema, Text, UserRefSchema, WorkflowRecordSchema, page_schema, sort_choices
from .reviews import DEFAULT_STANDARD, CodedRefSchema, _date, _id, _optional_id, _standard

CERTIFICATION_STATES = tuple(s.name for s in get_lifecycle("certification").states)


CERTIFICATION_SORTS = sort_choices("reference", "applied_on", "expires_on", "next_audit_due", "created_at", "state")


#: the longest grade code a finding can store (external_findings.grade)
MAX_GRADE_CODE = 40


MAX_FINDINGS = 200


class GradeSchema(Schema):
    """One grade of the body's own severity scale."""

    code = fields.String(required=True)
    label = fields.String(required=True)
    nc_severity = fields.String(required=True, metadata={"description": "Our NC severity: major, minor or observation"})
    response_days = fields.Integer(
        allow_none=True, required=True, metadata={"description": "Days to answer a finding; null: no answer needed"}
    )
    blocks_certification = fields.Boolean(required=True)


class ProgrammeRulesSchema(Schema):
    """The body's audit programme: the certification cycle and its deadlines."""

    certificate_years = fields.Integer(required=True)
    surveillance_interval_months = fields.Integer(required=True)
    first_surveillance_max_months = fields.Integer(required=True)
    recertification_lead_days = fields.Integer(required=True)
    stage2_max_days_after_stage1 = fields.Integer(required=True)
    findings_response_days = fields.Integer(required=True)
    reminder_days = fields.List(fields.Integer(), required=True, metadata={"description": "Largest first"})


class BodyLinksSchema(Schema):
    self = fields.String(required=True, metadata={"description": "GET; PATCH (administrators)"})
    certifications = fields.String(required=True)


class CertificationBodySchema(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    country = fields.String(allow_none=True, required=True, metadata={"description": "ISO 3166 alpha-2"})
    active = fields.Boolean(required=True, metadata={"description": "Only active bodies take new applications"})
    accreditation = fields.List(fields.String(), required=True)
    marks = fields.List(fields.String(), required=True)
    website = fields.String(allow_none=True, required=True)
    notes = fields.String(required=True)
    programme = fields.Nested(ProgrammeRulesSchema, required=True)
    severity_scale = fields.List(fields.Nested(GradeSchema), required=True)
    rule_sources = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={
            "description": "Where each programme rule comes from (standard, body, programme_setting); "
            "a key not listed is a programme setting, except the cycle keys the standard sets"
        },
    )
    edited_by_id = fields.Integer(allow_none=True, required=True)
    edited_at = fields.DateTime(allow_none=True, required=True)
    links = fields.Nested(BodyLinksSchema, required=True)


class BodyQuerySchema(PageArgsSchema):
    active = fields.Boolean(metadata={"description": "true: only the bodies taking applications"})


def _range(key: str) -> validate.Range:
    low, high = BODY_PROGRAMME_RANGES[key]
    return validate.Range(min=low, max=high)


class ProgrammeUpdateSchema(Schema):
    """The programme rules to change; a rule left out keeps its value."""

    certificate_years = fields.Integer(strict=True, validate=_range("certificate_years"))
    surveillance_interval_months = fields.Integer(strict=True, validate=_range("surveillance_interval_months"))
    first_surveillance_max_months = fields.Integer(strict=True, validate=_range("first_surveillance_max_months"))
    recertification_lead_days = fields.Integer(strict=True, validate=_range("recertification_lead_days"))
    stage2_max_days_after_stage1 = fields.Integer(strict=True, validate=_range("stage2_max_days_after_stage1"))
    findings_response_days = fields.Integer(strict=True, validate=_range("findings_response_days"))
    reminder_days = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=DAYS_RANGE[0], max=DAYS_RANGE[1])),
        validate=validate.Length(min=1, max=20),
        metadata={"description": "Remind this many days before each deadline (all of them, replacing the list)"},
    )


class GradeInputSchema(Schema):
    code = Text(
        required=True,
        validate=validate.Length(min=1, max=MAX_GRADE_CODE),
        metadata={"description": "Lowercase letters and digits joined by '-'"},
    )
    label = Text(required=True, validate=validate.Length(min=1, max=MAX_ITEM_LENGTH))
    nc_severity = fields.String(required=True, validate=validate.OneOf(NC_SEVERITIES))
    response_days = fields.Integer(
        strict=True,
        allow_none=True,
        validate=validate.Range(min=DAYS_RANGE[0], max=DAYS_RANGE[1]),
        metadata={"description": "Left out: the programme's findings_response_days; null: no answer (observations)"},
    )
    blocks_certification = fields.Boolean(required=True)


def _names(description: str) -> fields.List:
    return fields.List(
        Text(validate=validate.Length(min=1, max=MAX_ITEM_LENGTH)),
        validate=validate.Length(max=50),
        metadata={"description": description},
    )


class BodyUpdateSchema(Schema):
    """What an administrator may change of a body's profile; a field left out keeps its value.

    The whole profile is checked as it would be saved: errors name each field by its path
    (``programme.findings_response_days``, ``severity_scale.1.code``).
    """

    name = Text(validate=validate.Length(min=1, max=MAX_NAME_LENGTH))
    country = Text(allow_none=True, validate=validate.Length(max=2), metadata={"description": "e.g. KE, GB"})
    accreditation = _names("Accreditation bodies (replacing the list)")
    marks = _names("Certification marks (replacing the list)")
    website = Text(allow_none=True, validate=validate.Length(max=500), metadata={"description": "https://…"})
    notes = Text(validate=validate.Length(max=MAX_NOTES_LENGTH))
    programme = fields.Nested(ProgrammeUpdateSchema)
    severity_scale = fields.List(
        fields.Nested(GradeInputSchema),
        validate=validate.Length(min=1, max=20),
        metadata={"description": "The whole scale (replacing it); findings already graded keep their grade"},
    )
    active = fields.Boolean(metadata={"description": "false: the body takes no new applications"})


class CycleSchema(Schema):
    """The current three-year cycle's dates, from the body's programme."""

    cycle_start = fields.Date(required=True)
    surveillance_due = fields.List(fields.Date(), required=True)
    recertification_due = fields.Date(required=True)
    expires_on = fields.Date(required=True)


class MilestoneSchema(Schema):
    what = fields.String(required=True)
    due = fields.Date(allow_none=True, required=True)
    done_on = fields.Date(allow_none=True, required=True)
    remind_on = fields.Date(allow_none=True, required=True, metadata={"description": "Reminders start on this day"})
    status = fields.String(required=True, metadata={"description": "done, pending, upcoming, due_soon or overdue"})
    days_left = fields.Integer(allow_none=True, required=True, metadata={"description": "Negative: overdue"})


class CertificationLinksSchema(Schema):
    self = fields.String(required=True)
    history = fields.String(required=True)
    events = fields.String(required=True, metadata={"description": "GET: available events; POST {events}/{event}"})
    timeline = fields.String(required=True)
    readiness = fields.String(required=True)
    pack = fields.String(required=True, metadata={"description": "GET: the certification pack (PDF)"})
    external_audits = fields.String(required=True, metadata={"description": "GET: the body's audits; POST: record one"})
    body = fields.String(required=True)


class CertificationSchema(WorkflowRecordSchema):
    body = fields.Nested(CodedRefSchema, required=True)
    standard_identifier = fields.String(required=True)
    scope = fields.String(required=True)
    site = fields.Nested(RefSchema, allow_none=True, required=True)
    owner = fields.Nested(UserRefSchema, required=True)
    applied_on = fields.Date(required=True)
    contract_reference = fields.String(required=True)
    contracted_on = fields.Date(allow_none=True, required=True)
    stage1_date = fields.Date(allow_none=True, required=True)
    stage2_date = fields.Date(allow_none=True, required=True)
    response_due = fields.Date(allow_none=True, required=True, metadata={"description": "Answer to stage 2 findings"})
    certificate_number = fields.String(required=True)
    decided_on = fields.Date(allow_none=True, required=True)
    cycle_start = fields.Date(allow_none=True, required=True)
    expires_on = fields.Date(allow_none=True, required=True)
    next_audit_due = fields.Date(allow_none=True, required=True)
    suspended_until = fields.Date(allow_none=True, required=True)
    status_reason = fields.String(required=True)
    transition_audit_planned_on = fields.Date(
        allow_none=True, required=True, metadata={"description": "The body's transition audit to the new edition"}
    )
    transition_audit_combined_with = fields.String(
        required=True, metadata={"description": "surveillance, recertification, or empty for an audit of its own"}
    )
    previous_standard_identifier = fields.String(
        required=True, metadata={"description": "The edition before the body's transition decision (empty if none)"}
    )
    edition_changed_on = fields.Date(allow_none=True, required=True)
    cycle = fields.Nested(CycleSchema, allow_none=True, required=True, metadata={"description": "null until certified"})
    next_deadline = fields.Nested(
        MilestoneSchema, allow_none=True, required=True, metadata={"description": "The soonest step not yet done"}
    )
    external_audit_count = fields.Integer(required=True)
    links = fields.Nested(CertificationLinksSchema, required=True)


class CertificationQuerySchema(PageArgsSchema):
    state = fields.String(validate=validate.OneOf(CERTIFICATION_STATES))
    body = Text(validate=validate.Length(max=40), metadata={"description": "A certification body's code"})
    standard = Text(validate=validate.Length(max=60), metadata={"description": "A standard's identifier"})
    sort = fields.String(load_default="-created_at", validate=validate.OneOf(CERTIFICATION_SORTS))


class CertificationCreateSchema(Schema):
    body_id = _id(required=True, metadata={"description": "An active certification body (GET /certification-bodies)"})
    scope = Text(required=True, validate=validate.Length(max=5000), metadata={"description": "As on the certificate"})
    standard_identifier = _standard(load_default=DEFAULT_STANDARD)
    site_id = _optional_id("The site certified; null: the organisation")
    applied_on = _date(
        allow_none=True, load_default=None, metadata={"description": "Default: today; not in the future"}
    )


class TimelineSchema(Schema):
    certification_id = fields.Integer(required=True)
    today = fields.Date(required=True)
    milestones = fields.List(fields.Nested(MilestoneSchema), required=True)


class ReasonSchema(Schema):
    points = fields.Integer(required=True, metadata={"description": "Points this issue costs"})
    message = fields.String(required=True)
    link = fields.String(required=True, metadata={"description": "Where to look (a page of the web UI); may be empty"})
    blocking = fields.Boolean(required=True, metadata={"description": "This issue alone stops the audit passing"})


class ReadinessFiguresSchema(Schema):
    open_major_ncs = fields.Integer(required=True)
    open_minor_ncs = fields.Integer(required=True)
    ncs_older_than_90_days = fields.Integer(required=True)
    overdue_corrective_actions = fields.Integer(required=True)
    clauses_not_audited = fields.List(fields.String(), required=True)
    coverage_percent = fields.Float(allow_none=True, required=True)
    documents_overdue_for_review = fields.Integer(required=True)
    days_since_management_review = fields.Integer(allow_none=True, required=True)
    open_external_findings = fields.Integer(required=True)
    transition_deadline = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "ISO date when certificates to this edition end (a newer one replaces it)"},
    )
    transition_months_left = fields.Integer(allow_none=True, required=True)
    competence_gaps = fields.Integer(
        required=True, metadata={"description": "Required competences missing or expired (ISO 9001 7.2)"}
    )
    competences_required = fields.Integer(required=True, metadata={"description": "Required competences in all"})
    planning_evidence = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        required=True,
        metadata={
            "description": "Register entries evidencing 4.1 (issues), 4.2 (interested parties), 6.1 (rated risks)"
        },
    )
    quality_objectives_in_force = fields.Integer(
        required=True,
        metadata={"description": "ISO 9001 6.2: objectives approved and not withdrawn (closed within a year)"},
    )
    quality_objectives_not_measured = fields.Integer(
        required=True, metadata={"description": "Active objectives without a value in the last 93 days"}
    )
    planned_changes = fields.Integer(
        required=True, metadata={"description": "ISO 9001 6.3: changes planned (change requests, change reviews)"}
    )
    post_change_reviews_overdue = fields.Integer(required=True)
    # 7.1.5 monitoring and measuring resources
    instruments = fields.Integer(required=True, metadata={"description": "Measuring instruments not retired"})
    overdue_calibrations = fields.Integer(required=True)
    quarantined_instruments = fields.Integer(required=True)
    open_oot_assessments = fields.Integer(required=True, metadata={"description": "Out-of-tolerance, not concluded"})
    # 8.4 external providers
    approved_suppliers = fields.Integer(required=True)
    overdue_supplier_evaluations = fields.Integer(required=True)
    supplier_ncs_without_scar = fields.Integer(required=True)


class ReadinessSchema(Schema):
    """How ready the organisation is for the next external audit: 100 less the points of each issue."""

    certification_id = fields.Integer(allow_none=True, required=True, metadata={"description": "null: organisation"})
    score = fields.Integer(required=True, metadata={"description": "0 to 100"})
    verdict = fields.String(required=True, metadata={"description": "ready, at risk or not ready"})
    blocking = fields.List(fields.String(), required=True, metadata={"description": "What alone stops the audit"})
    reasons = fields.List(fields.Nested(ReasonSchema), required=True)
    figures = fields.Nested(ReadinessFiguresSchema, required=True)


class NonconformityRefSchema(Schema):
    id = fields.Integer(required=True)
    reference = fields.String(required=True)
    state = fields.String(required=True)
    severity = fields.String(allow_none=True, required=True)


class FindingLinksSchema(Schema):
    regrade = fields.String(required=True, metadata={"description": "POST: the body re-graded it"})
    nonconformity = fields.String(allow_none=True, required=True)


class FindingSchema(Schema):
    id = fields.Integer(required=True)
    body_reference = fields.String(required=True)
    grade = fields.String(required=True, metadata={"description": "A code of the body's severity scale"})
    grade_label = fields.String(required=True)
    clause_number = fields.String(required=True)
    clause_urn = fields.String(required=True)
    description = fields.String(required=True)
    response_due = fields.Date(allow_none=True, required=True, metadata={"description": "null: no answer needed"})
    group_label = fields.String(required=True, metadata={"description": "Findings the body grouped share it"})
    regraded_from = fields.String(required=True)
    regrade_reason = fields.String(required=True)
    nonconformity = fields.Nested(
        NonconformityRefSchema, allow_none=True, required=True, metadata={"description": "The NC the finding raised"}
    )
    links = fields.Nested(FindingLinksSchema, required=True)


class ExternalAuditLinksSchema(Schema):
    groups = fields.String(required=True, metadata={"description": "POST: group findings as the body did"})
    certification = fields.String(required=True)


class ExternalAuditSchema(Schema):
    id = fields.Integer(required=True)
    certification_id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"description": ", ".join(EXTERNAL_AUDIT_KINDS)})
    kind_label = fields.String(required=True)
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)
    lead_auditor = fields.String(required=True)
    body_reference = fields.String(required=True)
    outcome = fields.String(required=True)
    recorded_by_id = fields.Integer(required=True)
    recorded_at = fields.DateTime(required=True)
    findings = fields.List(fields.Nested(FindingSchema), required=True)
    links = fields.Nested(ExternalAuditLinksSchema, required=True)


class FindingInputSchema(Schema):
    body_reference = Text(required=True, validate=validate.Length(max=60), metadata={"description": "e.g. F1"})
    grade = Text(
        required=True,
        validate=validate.Length(max=MAX_GRADE_CODE),
        metadata={"description": "A code of the body's severity scale"},
    )
    clause_number = Text(load_default="", validate=validate.Length(max=30))
    description = Text(required=True, validate=validate.Length(max=10_000))


class ExternalAuditCreateSchema(Schema):
    """The body's audit once it has taken place; its findings raise nonconformities, all or nothing."""

    kind = fields.String(required=True, validate=validate.OneOf(list(EXTERNAL_AUDIT_KINDS)))
    start_date = _date(required=True, metadata={"description": "Not in the future"})
    end_date = _date(allow_none=True, load_default=None, metadata={"description": "Default: the start date"})
    lead_auditor = Text(load_default="", validate=validate.Length(max=200))
    body_reference = Text(load_default="", validate=validate.Length(max=60), metadata={"description": "The body's"})
    outcome = Text(load_default="", validate=validate.Length(max=10_000))
    findings = fields.List(
        fields.Nested(FindingInputSchema), load_default=list, validate=validate.Length(max=MAX_FINDINGS)
    )


class FindingGroupSchema(Schema):
    finding_ids = fields.List(
        _id(),
        required=True,
        validate=validate.Length(min=2, max=MAX_FINDINGS),
        metadata={"description": "At least two findings of this audit"},
    )
    label = Text(required=True, validate=validate.Length(max=40), metadata={"description": "e.g. G1"})


class RegradeSchema(Schema):
    grade = Text(required=True, validate=validate.Length(max=MAX_GRADE_CODE))
    reason = Text(required=True, validate=validate.Length(max=5000))


class ReminderSchema(Schema):
    certification_id = fields.Integer(required=True)
    reference = fields.String(required=True)
    body = fields.String(required=True, metadata={"description": "The body's name"})
    what = fields.String(required=True)
    due = fields.Date(required=True)
    days_left = fields.Integer(required=True, metadata={"description": "Negative: overdue"})
    link = fields.String(required=True)


class RemindersQuerySchema(Schema):
    owner_id = fields.Integer(validate=ID_RANGE, metadata={"description": "Only the certifications this user owns"})


CertificationBodyPageSchema = page_schema(CertificationBodySchema, "CertificationBodyPage")
CertificationPageSchema = page_schema(CertificationSchema, "CertificationPage")


class TransitionAuditPlanSchema(Schema):
    planned_on = fields.Date(
        required=True,
        allow_none=True,
        validate=validate.Range(min=dt.date(1900, 1, 1), max=dt.date(9998, 12, 31)),
        metadata={"description": "Not in the past, not after the end of the transition; null clears the plan"},
    )
    combined_with = fields.String(
        load_default="",
        validate=validate.OneOf(["", "surveillance", "recertification"]),
        metadata={"description": "The audit it is combined with, or empty for an audit of its own"},
    )


class EditionTransitionSchema(Schema):
    decided_on = fields.Date(
        required=True,
        validate=validate.Range(min=dt.date(1900, 1, 1), max=dt.date(9998, 12, 31)),
        metadata={"description": "The body's decision; not in the future"},
    )
    new_standard = Text(
        validate=validate.Length(min=1, max=60),
        metadata={"description": "Default: the edition that replaces the certificate's"},
    )
    certificate_number = Text(load_default="", validate=validate.Length(max=60))
