"""marshmallow schemas of the managers' API: certification bodies, certifications, reviews, implementation.

Kept apart from ``schemas.py``; built on its fields and conventions: strict
input (unknown fields rejected), bounded ids, storable text, ISO 8601 dates.
What only the services can judge (a body's whole profile, a standard's
clauses, an owner's roles) they judge, naming the field; these schemas keep
out what is malformed or could not be stored.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import Schema, fields, validate

from standards.bodies import DAYS_RANGE, MAX_ITEM_LENGTH, MAX_NAME_LENGTH, MAX_NOTES_LENGTH, NC_SEVERITIES
from standards.bodies import PROGRAMME_RANGES as BODY_PROGRAMME_RANGES
from workflows import get_lifecycle

from ..models import (
    ACTION_STATES,
    CHANGE_KINDS,
    EXTERNAL_AUDIT_KINDS,
    GAP_STATUSES,
    IMPACT_AREAS,
    OUTPUT_CATEGORIES,
)
from ..services.implementation import EVIDENCE_KINDS
from .audit_schemas import RefSchema
from .schemas import (
    EARLIEST_DATE,
    ID_RANGE,
    PageArgsSchema,
    Text,
    UserRefSchema,
    WorkflowRecordSchema,
    page_schema,
    sort_choices,
)

CERTIFICATION_STATES = tuple(s.name for s in get_lifecycle("certification").states)
CERTIFICATION_SORTS = sort_choices("reference", "applied_on", "expires_on", "next_audit_due", "created_at", "state")
#: the review kinds as they appear in URLs and in the ``kind`` of a review
REVIEW_SLUGS = {"iso_change": "iso-change", "org_change": "org-change", "management": "management"}
REVIEW_LIFECYCLES = {
    "iso_change": "iso_change_review",
    "org_change": "org_change_review",
    "management": "management_review",
}
REVIEW_STATES = tuple(dict.fromkeys(s.name for name in REVIEW_LIFECYCLES.values() for s in get_lifecycle(name).states))
REVIEW_SORTS = sort_choices("created_at", "reference", "title")
#: the longest grade code a finding can store (external_findings.grade)
MAX_GRADE_CODE = 40
MAX_FINDINGS = 200
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


# --- certification bodies -----------------------------------------------------------------------


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
    edited_by_id = fields.Integer(allow_none=True, required=True)
    edited_at = fields.DateTime(allow_none=True, required=True)
    links = fields.Nested(BodyLinksSchema, required=True)


CertificationBodyPageSchema = page_schema(CertificationBodySchema, "CertificationBodyPage")


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


# --- certifications -----------------------------------------------------------------------------


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
    cycle = fields.Nested(CycleSchema, allow_none=True, required=True, metadata={"description": "null until certified"})
    next_deadline = fields.Nested(
        MilestoneSchema, allow_none=True, required=True, metadata={"description": "The soonest step not yet done"}
    )
    external_audit_count = fields.Integer(required=True)
    links = fields.Nested(CertificationLinksSchema, required=True)


CertificationPageSchema = page_schema(CertificationSchema, "CertificationPage")


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


class NoQuerySchema(Schema):
    """No query parameters (any one given answers 422)."""


# --- reviews ------------------------------------------------------------------------------------


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


class ReviewQuerySchema(PageArgsSchema):
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


class ActionCompleteSchema(Schema):
    outcome = Text(required=True, validate=validate.Length(max=MAX_TEXT), metadata={"description": "What was done"})


class ActionCancelSchema(Schema):
    reason = Text(required=True, validate=validate.Length(max=MAX_TEXT))


class DocumentRefSchema(Schema):
    id = fields.Integer(required=True)
    number = fields.String(required=True)
    title = fields.String(required=True)


class ReferencesSchema(Schema):
    """What in the QMS referred to the old clause when the review opened."""

    documents = fields.List(fields.Nested(DocumentRefSchema), required=True)
    processes = fields.List(fields.Nested(CodedRefSchema), required=True)
    questions = fields.Integer(required=True, metadata={"description": "Checklist questions"})
    question_ids = fields.List(fields.Integer(), required=True)


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


# --- implementation board -------------------------------------------------------------------------


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
