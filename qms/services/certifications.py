"""Certification by external bodies (ISO/IEC 17021-1): bodies, certifications, external audits,
findings on the body's own scale, the cycle's dates and reminders, and readiness for the next audit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import g, has_request_context
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

import standards
from standards import cycle as cycles
from workflows import FireResult
from workflows.errors import InvalidData, InvalidTransition

from ..database import db, id_in, utcnow
from ..models import (
    EXTERNAL_AUDIT_KINDS,
    NC_ENDED_STATES,
    Actor,
    Audit,
    Certification,
    CertificationBody,
    Document,
    ExternalAudit,
    ExternalFinding,
    ManagementReview,
    Nonconformity,
    Site,
    User,
)
from .audit_trail import recorded_change, register_audited
from .references import next_reference
from .risks import planning_evidence
from .standards import find_standard, successor_of
from .validation import clean_date, clean_text, require_roles, row_by_id
from .workflow import as_actor, effect, facts_provider

register_audited(CertificationBody, ExternalAudit, ExternalFinding)

MANAGE_ROLES = frozenset({"manager", "quality_officer"})
NC_CLOSED = NC_ENDED_STATES
#: certification states in which the certificate is in force (surveillance keeps it)
IN_FORCE = ("certified", "surveillance", "recertification")
ACTIVE = (*IN_FORCE, "applied", "contracted", "stage1", "stage2", "findings_response", "decision_pending", "suspended")


def _require(actor: Actor, roles: frozenset[str] = MANAGE_ROLES, what: str = "manage certifications") -> None:
    require_roles(actor, roles, what)


# --------------------------------------------------------------------------- bodies


def ensure_bodies(session: Session | None = None) -> int:
    """Add every bundled body profile missing from the database (edited ones are kept); returns how many."""
    session = session or db.session()
    known = set(session.scalars(select(CertificationBody.code)))
    added = 0
    for body in standards.bundled_bodies():
        if body.code not in known:
            session.add(
                CertificationBody(
                    code=body.code, name=body.name, country=body.country or "", profile=standards.body_to_dict(body)
                )
            )
            added += 1
    return added


def profile(body: CertificationBody) -> standards.CertificationBody:
    """The body's profile as the standards package models it (programme rules, severity scale)."""
    return standards.body_from_dict(body.profile)


def bodies(*, active_only: bool = True) -> list[CertificationBody]:
    query = select(CertificationBody).order_by(CertificationBody.name)
    if active_only:
        query = query.where(CertificationBody.active.is_(True))
    return list(db.session.scalars(query))


def update_body(body: CertificationBody, actor: User | Actor, data: Mapping[str, Any]) -> CertificationBody:
    """An admin edits a body's profile; every field is validated (messages name the field) before saving."""
    actor = as_actor(actor)
    _require(actor, frozenset({"admin"}), "edit certification bodies")
    data = dict(data)
    if isinstance(data.get("programme"), Mapping):  # a partial programme changes only the keys given
        data["programme"] = {**body.profile.get("programme", {}), **data["programme"]}
    merged = {**body.profile, **data, "code": body.code}
    problems = standards.validate_body_dict(merged)
    if problems:
        errors: dict[str, str] = {}
        for problem in problems:
            name, _, message = problem.partition(": ")
            errors[name] = f"{errors[name]}; {message}" if name in errors else message
        raise InvalidData(errors)
    parsed = standards.body_from_dict(merged)
    with recorded_change(actor, f"certification body {body.code} edited"):
        body.profile = standards.body_to_dict(parsed)
        body.name = parsed.name
        body.country = parsed.country or ""
        body.edited_by_id, body.edited_at = actor.id, utcnow()
    return body


def set_body_active(body: CertificationBody, actor: User | Actor, active: bool) -> None:
    actor = as_actor(actor)
    _require(actor, frozenset({"admin"}), "edit certification bodies")
    with recorded_change(actor, f"certification body {body.code} {'enabled' if active else 'disabled'}"):
        body.active = bool(active)


# --------------------------------------------------------------------------- certifications


def create_certification(
    actor: User | Actor,
    *,
    body_id: int,
    scope: str,
    standard_identifier: str = "iso-9001-2015",
    site_id: int | None = None,
    applied_on: dt.date | str | None = None,
) -> Certification:
    """An application to a certification body, in state *applied*."""
    actor = as_actor(actor)
    _require(actor)
    errors: dict[str, str] = {}
    body = row_by_id(CertificationBody, body_id)
    if body is None or not body.active:
        errors["body_id"] = "choose an active certification body"
    scope = clean_text(errors, "scope", scope, limit=5000)
    try:
        find_standard(str(standard_identifier))
    except KeyError:
        errors["standard_identifier"] = f"no standard {standard_identifier!r}"
    else:
        if problem := cutover_problem(str(standard_identifier), dt.date.today(), "certification"):
            errors["standard_identifier"] = problem
    site = None
    if site_id not in (None, ""):
        site = row_by_id(Site, site_id)
        if site is None:
            errors["site_id"] = "no such site"
    applied = clean_date(errors, "applied_on", applied_on or dt.date.today())
    if applied and applied > dt.date.today():
        errors["applied_on"] = "cannot be in the future"
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, "certification applied for") as session:
        certification = Certification(
            reference=next_reference(session, "CERT", applied.year),
            body_id=body.id,
            standard_identifier=standard_identifier,
            scope=scope,
            site_id=site.id if site else None,
            owner_id=actor.id,
            applied_on=applied,
        )
        session.add(certification)
    return certification


def rules_of(certification: Certification) -> standards.AuditProgrammeRules:
    return profile(certification.body).programme


def cycle_of(certification: Certification) -> cycles.CycleDates | None:
    """The current cycle's dates (None before the first certification decision)."""
    if certification.cycle_start is None:
        return None
    return cycles.cycle_dates(certification.cycle_start, rules_of(certification))


@dataclass(frozen=True)
class Milestone:
    """One step on a certification's timeline."""

    what: str
    due: dt.date | None
    done_on: dt.date | None = None
    #: remind from this day on (the earliest reminder before the due date)
    remind_on: dt.date | None = None

    def status(self, today: dt.date) -> str:
        if self.done_on is not None:
            return "done"
        if self.due is None:
            return "pending"
        if self.due < today:
            return "overdue"
        if self.remind_on is not None and self.remind_on <= today:
            return "due_soon"
        return "upcoming"


def timeline(certification: Certification, today: dt.date | None = None) -> list[Milestone]:
    """Application to expiry: what happened, and the cycle's deadlines with their reminders."""
    today = today or dt.date.today()
    rules = rules_of(certification)
    reminder = max(rules.reminder_days) if rules.reminder_days else 0
    done = {kind: [] for kind in EXTERNAL_AUDIT_KINDS}
    for audit in certification.audits:
        done[audit.kind].append(audit.end_date)
    state = certification.state
    past_stage1 = state not in ("applied", "contracted", "stage1", "cancelled")
    past_stage2 = past_stage1 and state not in ("stage2",)
    steps = [
        Milestone("Application", certification.applied_on, certification.applied_on),
        Milestone("Contract", None, certification.contracted_on),
        Milestone(
            "Stage 1 audit",
            certification.stage1_date,
            (done["stage1"] or [certification.stage1_date if past_stage1 else None])[-1],
        ),
    ]
    stage2_due = None
    if certification.stage1_date is not None:
        stage2_due = certification.stage1_date + dt.timedelta(days=rules.stage2_max_days_after_stage1)
    steps.append(
        Milestone(
            "Stage 2 audit",
            certification.stage2_date or stage2_due,
            (done["stage2"] or [certification.stage2_date if past_stage2 else None])[-1],
        )
    )
    if certification.response_due is not None:
        answered = state not in ("findings_response",)
        steps.append(
            Milestone(
                "Response to stage 2 findings",
                certification.response_due,
                certification.decided_on if answered else None,
                certification.response_due - dt.timedelta(days=min(rules.reminder_days or (0,))),
            )
        )
    steps.append(Milestone("Certification decision", None, certification.decided_on))
    dates = cycle_of(certification)
    if dates is not None:
        held = sorted(d for d in done["surveillance"] if d >= dates.cycle_start)
        for number, due in enumerate(dates.surveillance_due, start=1):
            steps.append(
                Milestone(
                    f"Surveillance audit {number}",
                    due,
                    held[number - 1] if len(held) >= number else None,
                    due - dt.timedelta(days=reminder),
                )
            )
        recert = [d for d in done["recertification"] if d >= dates.cycle_start]
        steps.append(
            Milestone(
                "Recertification audit",
                dates.recertification_due,
                recert[-1] if recert else None,
                dates.recertification_due - dt.timedelta(days=reminder),
            )
        )
        steps.append(
            Milestone("Certificate expiry", dates.expires_on, None, dates.expires_on - dt.timedelta(days=reminder))
        )
    return steps + transition_milestones(certification)


def _edition_label(identifier: str) -> str:
    """A short name for an edition: "ISO 9001:2026" for an ISO standard, else its label."""
    try:
        standard = find_standard(identifier)
    except KeyError:
        return identifier
    words = standard.title.split()
    if len(words) >= 2 and words[0] == "ISO":
        return f"ISO {words[1]}:{standard.edition}" + ("/Amd" if standard.amends else "")
    return standard.label


def transition_milestones(certification: Certification) -> list[Milestone]:
    """The transition to a new edition on the timeline: the body's transition audit, the cut-over, the deadline."""
    steps: list[Milestone] = []
    if certification.edition_changed_on is not None and certification.previous_standard_identifier:
        steps.append(
            Milestone(
                f"Transition to {_edition_label(certification.standard_identifier)}",
                None,
                certification.edition_changed_on,
            )
        )
    successor = successor_of(certification.standard_identifier)
    if successor is None or successor.transition_ends_on is None or certification.is_terminal:
        return steps
    new = _edition_label(successor.identifier)
    if certification.transition_audit_planned_on is not None:
        combined = certification.transition_audit_combined_with
        with_what = f" (with the {EXTERNAL_AUDIT_KINDS[combined].lower()} audit)" if combined else ""
        steps.append(Milestone(f"Transition audit to {new}{with_what}", certification.transition_audit_planned_on))
    if successor.cutover_on is not None:
        steps.append(
            Milestone(
                f"Cut-over: every audit to {new} from this day",
                successor.cutover_on,
                None,
                cycles.add_months(successor.cutover_on, -successor.warn_months),
            )
        )
    steps.append(
        Milestone(
            f"Transition deadline: certificates to {_edition_label(certification.standard_identifier)} end",
            successor.transition_ends_on,
            None,
            cycles.add_months(successor.transition_ends_on, -successor.warn_months),
        )
    )
    return steps


def next_audit(certification: Certification, today: dt.date | None = None) -> Milestone | None:
    """The body's next audit of the cycle not yet held (a surveillance or the recertification), from the
    timeline, so the page, the pack and the reminders agree (``next_audit_due`` only says when it was set)."""
    for step in timeline(certification, today):
        if step.what.startswith(("Surveillance audit", "Recertification audit")) and step.done_on is None:
            return step
    return None


def cutover_problem(standard_identifier: str, day: dt.date, what: str) -> str | None:
    """Why an audit to ``standard_identifier`` on ``day`` is refused (its successor's cut-over passed); None if not."""
    successor = successor_of(standard_identifier)
    if successor is None or not successor.cutover_passed(day):
        return None
    new, old = _edition_label(successor.identifier), _edition_label(standard_identifier)
    head = f"From {successor.cutover_on.isoformat()} every {what} audit is to {new}"
    if what == "recertification":
        return f"{head}, not {old}: record the body's transition decision to the new edition first"
    return f"{head}; apply for {successor.identifier} instead"


@dataclass(frozen=True)
class Reminder:
    certification: Certification
    what: str
    due: dt.date
    days_left: int


def reminders(today: dt.date | None = None, *, owner_id: int | None = None) -> list[Reminder]:
    """Deadlines whose reminder day has come (or that are overdue) for certifications still active."""
    today = today or dt.date.today()
    query = (
        select(Certification)
        .options(selectinload(Certification.audits), selectinload(Certification.body))
        .where(Certification.state.in_(ACTIVE))
    )
    if owner_id is not None:
        query = query.where(Certification.owner_id == owner_id)
    found = []
    for certification in db.session.scalars(query):
        rules = rules_of(certification)
        for step in timeline(certification, today):
            if step.done_on is not None or step.due is None or step.remind_on is None:
                continue  # only the deadlines the body sets are reminded of
            days_left = (step.due - today).days
            if days_left < 0 or any(days_left <= days for days in rules.reminder_days):
                found.append(Reminder(certification, step.what, step.due, days_left))
    return sorted(found, key=lambda r: r.due)


# --------------------------------------------------------------------------- external audits and findings


def record_external_audit(
    certification: Certification,
    actor: User | Actor,
    *,
    kind: str,
    start_date: dt.date | str,
    end_date: dt.date | str | None = None,
    lead_auditor: str = "",
    body_reference: str = "",
    outcome: str = "",
    findings: Iterable[Mapping[str, Any]] = (),
) -> ExternalAudit:
    """The body's audit and its findings; each finding that is a nonconformity raises one NC, all together."""
    actor = as_actor(actor)
    _require(actor)
    if certification.is_terminal:
        raise InvalidTransition(f"The certification is {certification.state_label.lower()}")
    errors: dict[str, str] = {}
    if kind not in EXTERNAL_AUDIT_KINDS:
        errors["kind"] = "must be one of: " + ", ".join(EXTERNAL_AUDIT_KINDS)
    start = clean_date(errors, "start_date", start_date)
    end = clean_date(errors, "end_date", end_date, required=False) or start
    if start and end and end < start:
        errors["end_date"] = "cannot be before the start date"
    if start and start > dt.date.today():
        errors["start_date"] = "cannot be in the future (record an audit once it has taken place)"
    lead_auditor = clean_text(errors, "lead_auditor", lead_auditor, required=False, limit=200)
    body_reference = clean_text(errors, "body_reference", body_reference, required=False, limit=60)
    outcome = clean_text(errors, "outcome", outcome, required=False, limit=10_000)
    body = profile(certification.body)
    rows = [
        _finding_fields(errors, f"findings[{index}].", body, certification.standard_identifier, data, end)
        for index, data in enumerate(findings)
    ]
    references = [row["body_reference"] for row in rows if row]
    if len(set(references)) != len(references):
        errors["findings"] = "each finding needs its own body reference"
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, f"external audit recorded for {certification.reference}") as session:
        audit = ExternalAudit(
            certification_id=certification.id,
            kind=kind,
            start_date=start,
            end_date=end,
            lead_auditor=lead_auditor,
            body_reference=body_reference,
            outcome=outcome,
            recorded_by_id=actor.id,
        )
        session.add(audit)
        for row in rows:
            finding = ExternalFinding(**row)
            audit.findings.append(finding)
            _raise_nc(session, certification, audit, finding, body, actor)
    return audit


def _finding_fields(
    errors: dict[str, str],
    prefix: str,
    body: standards.CertificationBody,
    standard_identifier: str,
    data: Mapping[str, Any],
    raised_on: dt.date | None,
) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        errors[prefix.rstrip(".")] = "must be an object"
        return {}
    reference = clean_text(errors, prefix + "body_reference", data.get("body_reference"), limit=60)
    description = clean_text(errors, prefix + "description", data.get("description"), limit=10_000)
    grade_code = str(data.get("grade") or "")
    grade = None
    try:
        grade = body.grade(grade_code)
    except KeyError:
        codes = ", ".join(g.code for g in body.severity_scale)
        errors[prefix + "grade"] = f"must be one of {body.name}'s grades: {codes}"
    clause = str(data.get("clause_number") or "").strip()
    urn = ""
    if clause:
        standard = find_standard(standard_identifier)
        if standard.has_clause(clause):
            urn = standard.clause(clause).urn
        else:
            errors[prefix + "clause_number"] = f"{standard.identifier} has no clause {clause!r}"
    due = None
    if grade is not None and raised_on is not None and grade.response_days is not None:
        due = raised_on + dt.timedelta(days=grade.response_days)
    return {
        "body_reference": reference,
        "grade": grade_code,
        "grade_label": grade.label if grade else "",
        "clause_number": clause,
        "clause_urn": urn,
        "description": description,
        "response_due": due,
    }


def _raise_nc(
    session: Session,
    certification: Certification,
    audit: ExternalAudit,
    finding: ExternalFinding,
    body: standards.CertificationBody,
    actor: Actor,
) -> None:
    grade = body.grade(finding.grade)
    if not grade.raises_nonconformity:
        return
    due = f" Response due to {body.name} by {finding.response_due.isoformat()}." if finding.response_due else ""
    nc = Nonconformity(
        reference=next_reference(session, "NC", audit.end_date.year),
        title=f"{body.name} {finding.body_reference}: {finding.description.splitlines()[0]}"[:200],
        description=(
            f"Finding {finding.body_reference} of the {EXTERNAL_AUDIT_KINDS[audit.kind].lower()} audit by {body.name} "
            f"for {certification.reference}, graded {grade.label}.{due}\n\n{finding.description}"
        ),
        source="external_audit",
        severity=grade.nc_severity,
        clause_refs=[finding.clause_number] if finding.clause_number else [],
        detected_on=audit.end_date,
        raised_by_id=actor.id,
        owner_id=certification.owner_id,
        containment_due=finding.response_due,
    )
    session.add(nc)
    finding.nonconformity = nc


def group_findings(audit: ExternalAudit, actor: User | Actor, finding_ids: Sequence[int], label: str) -> None:
    """Group findings as the body did (for example several minors grouped into one)."""
    actor = as_actor(actor)
    _require(actor)
    errors: dict[str, str] = {}
    label = clean_text(errors, "label", label, limit=40)
    wanted = set()
    for value in finding_ids:
        try:
            wanted.add(int(value))
        except (TypeError, ValueError):
            errors["finding_ids"] = "must be finding ids"
    chosen = [f for f in audit.findings if f.id in wanted]
    if len(chosen) < 2 or len(chosen) != len(wanted):
        errors["finding_ids"] = "choose at least two findings of this audit"
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, f"findings grouped as {label}"):
        for finding in chosen:
            finding.group_label = label


def regrade_finding(finding: ExternalFinding, actor: User | Actor, *, grade: str, reason: str) -> ExternalFinding:
    """The body re-grades a finding: the grade, its response deadline and the NC's severity follow."""
    actor = as_actor(actor)
    _require(actor)
    audit = finding.audit
    body = profile(audit.certification.body)
    errors: dict[str, str] = {}
    reason = clean_text(errors, "reason", reason, limit=5000)
    new = None
    try:
        new = body.grade(grade)
    except KeyError:
        errors["grade"] = f"must be one of {body.name}'s grades: " + ", ".join(g.code for g in body.severity_scale)
    if new is not None and new.code == finding.grade:
        errors["grade"] = "is the finding's grade already"
    if errors:
        raise InvalidData(errors)
    assert new is not None
    with recorded_change(actor, f"finding {finding.body_reference} re-graded") as session:
        finding.regraded_from, finding.regrade_reason = finding.grade, reason
        finding.grade, finding.grade_label = new.code, new.label
        finding.response_due = (
            audit.end_date + dt.timedelta(days=new.response_days) if new.response_days is not None else None
        )
        nc = finding.nonconformity
        if nc is not None and nc.state not in NC_CLOSED:
            nc.severity = new.nc_severity
            nc.containment_due = finding.response_due
        elif nc is None and new.raises_nonconformity:
            _raise_nc(session, audit.certification, audit, finding, body, actor)
    return finding


def open_findings(certification: Certification) -> list[ExternalFinding]:
    """Findings of the certification's latest external audit whose NC is still open."""
    if not certification.audits:
        return []
    latest = certification.audits[-1]
    return [f for f in latest.findings if f.nonconformity is not None and f.nonconformity.state not in NC_CLOSED]


# --------------------------------------------------------------------------- transition to a new edition

#: the audits a body's transition audit is often combined with ("" for an audit of its own)
TRANSITION_COMBINED_WITH = {
    "": "On its own",
    "surveillance": "Surveillance audit",
    "recertification": "Recertification audit",
}


def plan_body_transition_audit(
    certification: Certification,
    actor: User | Actor,
    *,
    planned_on: dt.date | str | None,
    combined_with: str = "",
) -> Certification:
    """Plan the body's transition audit to the new edition (often combined with a surveillance or recertification).

    ``planned_on`` None clears the plan. The audit must fall before the transition deadline.
    """
    actor = as_actor(actor)
    _require(actor)
    if certification.state not in IN_FORCE and certification.state != "suspended":
        raise InvalidTransition(
            f"A transition audit is planned for a certificate in force (it is {certification.state_label.lower()})"
        )
    successor = successor_of(certification.standard_identifier)
    errors: dict[str, str] = {}
    if successor is None:
        errors["planned_on"] = f"no newer edition replaces {certification.standard_identifier}"
    day = clean_date(errors, "planned_on", planned_on, required=False)
    if combined_with not in TRANSITION_COMBINED_WITH:
        errors["combined_with"] = "must be one of: surveillance, recertification, or empty for an audit of its own"
    if (
        day is not None
        and successor is not None
        and successor.transition_ends_on
        and day > successor.transition_ends_on
    ):
        errors["planned_on"] = f"must be on or before the end of the transition ({successor.transition_ends_on})"
    if day is not None and day < dt.date.today():
        errors["planned_on"] = "cannot be in the past"
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, f"transition audit planned for {certification.reference}"):
        certification.transition_audit_planned_on = day
        certification.transition_audit_combined_with = combined_with if day is not None else ""
    return certification


def record_edition_transition(
    certification: Certification,
    actor: User | Actor,
    *,
    decided_on: dt.date | str,
    new_standard: str | None = None,
    certificate_number: str = "",
) -> Certification:
    """The body decided the certificate moves to the new edition (after its transition audit).

    The certificate keeps its cycle and expiry; its edition, and its number if the body issued
    a new one, change.
    """
    actor = as_actor(actor)
    _require(actor)
    if certification.state not in IN_FORCE:
        raise InvalidTransition(
            f"Only a certificate in force moves to a new edition (it is {certification.state_label.lower()})"
        )
    errors: dict[str, str] = {}
    successor = successor_of(certification.standard_identifier)
    target = (new_standard or (successor.identifier if successor else "")).strip()
    if not target:
        errors["new_standard"] = f"no newer edition replaces {certification.standard_identifier}"
    elif successor is None or target != successor.identifier:
        errors["new_standard"] = (
            f"must be {successor.identifier}, the edition that replaces {certification.standard_identifier}"
            if successor
            else f"no newer edition replaces {certification.standard_identifier}"
        )
    decided = clean_date(errors, "decided_on", decided_on)
    if decided and decided > dt.date.today():
        errors["decided_on"] = "cannot be in the future"
    number = clean_text(errors, "certificate_number", certificate_number, required=False, limit=60)
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, f"{certification.reference} moved to {target}"):
        certification.previous_standard_identifier = certification.standard_identifier
        certification.standard_identifier = target
        certification.edition_changed_on = decided
        certification.transition_audit_planned_on = None
        certification.transition_audit_combined_with = ""
        if number:
            certification.certificate_number = number
    return certification


def _latest_transition_review(new_standard: str) -> Any:
    """The latest ISO-change review to ``new_standard`` (not cancelled); read once per request."""
    from ..models import IsoChangeReview

    cache = g.setdefault("_qms_transition_reviews", {}) if has_request_context() else {}
    if new_standard not in cache:
        cache[new_standard] = db.session.scalar(
            select(IsoChangeReview)
            .where(IsoChangeReview.new_standard == new_standard, IsoChangeReview.state != "cancelled")
            .order_by(IsoChangeReview.id.desc())
            .limit(1)
        )
    return cache[new_standard]


@dataclass(frozen=True)
class TransitionStatus:
    """Where a certificate stands in the transition to the edition that replaces its own."""

    old: str
    new: str
    ends_on: dt.date
    cutover_on: dt.date | None
    warn_months: int
    months_left: int
    review_reference: str = ""
    review_state: str = ""

    @property
    def warning(self) -> bool:
        return self.months_left <= self.warn_months


def transition_status(certification: Certification, today: dt.date | None = None) -> TransitionStatus | None:
    """The transition still to do for this certificate; None when its edition is current."""
    today = today or dt.date.today()
    successor = successor_of(certification.standard_identifier)
    if successor is None or successor.transition_ends_on is None:
        return None
    ends = successor.transition_ends_on
    months = (ends.year - today.year) * 12 + (ends.month - today.month) - (1 if ends.day < today.day else 0)
    review = _latest_transition_review(successor.identifier)
    return TransitionStatus(
        old=certification.standard_identifier,
        new=successor.identifier,
        ends_on=ends,
        cutover_on=successor.cutover_on,
        warn_months=successor.warn_months,
        months_left=months,
        review_reference=review.reference if review else "",
        review_state=review.state_label.lower() if review else "",
    )


# --------------------------------------------------------------------------- readiness


@dataclass(frozen=True)
class Reason:
    """One thing that lowers readiness: points lost, what it is, and where to look."""

    points: int
    message: str
    link: str = ""
    #: this issue alone stops the audit from passing (an open major NC or major finding)
    blocking: bool = False


@dataclass
class Readiness:
    score: int
    reasons: list[Reason] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    blocking: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        if self.blocking:
            return "not ready"
        if self.score >= 85:
            return "ready"
        return "at risk" if self.score >= 60 else "not ready"


#: points lost per item, and the most an item kind may cost
WEIGHTS = {
    "major_nc": (25, 50),
    "minor_nc": (4, 20),
    "old_nc": (2, 10),
    "overdue_action": (5, 20),
    "uncovered_clause": (2, 20),
    "overdue_document": (3, 15),
    "no_management_review": (15, 15),
    "late_management_review": (10, 10),
    "open_finding_major": (15, 30),
    "open_finding_minor": (3, 12),
    "edition_transition": (10, 20),
    "competence_gap": (1, 15),
    "planning_evidence": (3, 3),  # per gap of 4.1, 4.2 or 6.1 evidence
    "no_quality_objectives": (10, 10),
    "unmeasured_objective": (2, 10),
    "no_planned_change": (2, 2),
    "overdue_change_review": (3, 9),
    "overdue_calibration": (4, 20),
    "open_oot_assessment": (5, 15),
    "overdue_supplier_evaluation": (2, 10),
    "supplier_nc_without_scar": (2, 10),
}


NC_LINK = "/nonconformities?severity="


def _n(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else plural or singular + 's'}"


def _cost(kind: str, count: int) -> int:
    each, cap = WEIGHTS[kind]
    return min(each * count, cap)


@dataclass(frozen=True)
class OrganisationFacts:
    majors: int
    minors: int
    old: int
    overdue_actions: int
    overdue_documents: int
    coverage_percent: float | None
    uncovered: list[str]
    last_review: dt.date | None
    #: ISO 9001 7.2 evidence: required competences missing or expired, of how many required
    competence_gaps: int = 0
    competences_required: int = 0
    #: evidence of 4.1, 4.2 and 6.1 in the context and risk registers (services.risks.planning_evidence)
    planning: Any = None
    #: planning evidence (6.2, 6.3): objectives in force, active ones without a recent value,
    #: changes planned through change requests or organisational-change reviews, post-change reviews overdue
    objectives_in_force: int = 0
    objectives_unmeasured: int = 0
    planned_changes: int = 0
    overdue_change_reviews: int = 0
    #: 7.1.5 and 8.4 evidence (services/equipment.py and services/suppliers.py)
    supplier_evidence: dict[str, int] = field(default_factory=dict)


def _coverage_summary(today: dt.date, standard: str) -> tuple[list[str], float | None]:
    """The clauses no internal audit of the year examined, and the percent audited."""
    from .audits import coverage

    if standard != "iso-9001-2015":
        return [], None
    matrix = coverage(today.year, standard_identifier=standard)
    return (matrix.uncovered_clauses() if matrix.processes else [], matrix.percent_audited)


def organisation_facts(today: dt.date, standard: str = "iso-9001-2015") -> OrganisationFacts:
    """The organisation-wide half of readiness, counted in SQL.

    Every certification of a list shares these figures: compute them once and pass them to
    ``readiness(..., facts=...)`` instead of querying them once per row.
    """
    from .dashboard_counts import read_counts

    # open NCs and overdue actions from the dashboard's running counts: the same cost at any size
    counted = read_counts(db.session.connection(), today)
    counts = counted.of("nc.severity")
    old = counted.old_graded
    overdue_actions = counted.overdue_actions
    overdue_documents = db.session.scalar(
        select(func.count()).where(
            Document.obsolete.is_(False), Document.next_review_due.is_not(None), Document.next_review_due < today
        )
    )
    uncovered, coverage_percent = _coverage_summary(today, standard)
    last_review = db.session.scalar(
        select(func.max(ManagementReview.held_on)).where(ManagementReview.held_on.is_not(None))
    )
    facts = OrganisationFacts(
        counts.get("major", 0),
        counts.get("minor", 0),
        old or 0,
        overdue_actions or 0,
        overdue_documents or 0,
        coverage_percent,
        uncovered,
        last_review,
        *_competence_facts(today),
        planning_evidence(today),
        **_objective_and_change_evidence(today),
        supplier_evidence=_support_evidence(today),
    )
    return facts


def _competence_facts(today: dt.date) -> tuple[int, int]:
    """(required competences missing or expired, required competences) of every active person."""
    from .competence import coverage

    met, required = coverage(today)
    return required - met, required


#: an active objective with no value for this long is not being monitored (9.1.3)
UNMEASURED_DAYS = 93


def _objective_and_change_evidence(today: dt.date) -> dict[str, int]:
    """Evidence of ISO 9001 6.2 (quality objectives set and measured) and 6.3 (changes planned), counted in SQL."""
    from ..models import ChangeRequest, ObjectiveMeasurement, OrgChangeReview, QualityObjective

    objective = QualityObjective
    a_year_ago = dt.datetime.combine(today - dt.timedelta(days=365), dt.time.min, tzinfo=dt.UTC)
    in_force = db.session.scalar(
        select(func.count()).where(
            objective.state.not_in(("draft", "withdrawn")),
            (objective.closed_at.is_(None)) | (objective.closed_at >= a_year_ago),
        )
    )
    recent = select(ObjectiveMeasurement.objective_id).where(
        ObjectiveMeasurement.measured_on >= today - dt.timedelta(days=UNMEASURED_DAYS)
    )
    unmeasured = db.session.scalar(
        select(func.count()).where(
            objective.state == "active",
            objective.starts_on <= today - dt.timedelta(days=UNMEASURED_DAYS),
            objective.id.not_in(recent),
        )
    )
    change = ChangeRequest
    planned = (
        db.session.scalar(select(func.count()).where(change.state.not_in(("draft", "rejected", "cancelled")))) or 0
    )
    planned += (
        db.session.scalar(
            select(func.count()).where(OrgChangeReview.state.not_in(("proposed", "rejected", "cancelled")))
        )
        or 0
    )
    overdue = db.session.scalar(select(func.count()).where(change.state == "post_review", change.review_due < today))
    return {
        "objectives_in_force": in_force or 0,
        "objectives_unmeasured": unmeasured or 0,
        "planned_changes": planned,
        "overdue_change_reviews": overdue or 0,
    }


def _support_evidence(today: dt.date) -> dict[str, int]:
    """The 7.1.5 (calibration) and 8.4 (external providers) figures readiness counts."""
    from .equipment import readiness_figures as equipment_figures
    from .suppliers import readiness_figures as supplier_figures

    return {**equipment_figures(today), **supplier_figures(today)}


def readiness(
    certification: Certification | None = None,
    today: dt.date | None = None,
    *,
    facts: OrganisationFacts | None = None,
) -> Readiness:
    """How ready the organisation is for the next external audit: 100 less points per open issue.

    Major NCs block stage 2 (the lifecycle's guard) and any audit outcome; the score is a guide
    for the manager, each deduction shown with its reason.
    """
    today = today or dt.date.today()
    standard = certification.standard_identifier if certification else "iso-9001-2015"
    if facts is None:
        facts = organisation_facts(today, standard)
    majors, minors, old = facts.majors, facts.minors, facts.old
    overdue_actions, overdue_documents = facts.overdue_actions, facts.overdue_documents
    uncovered, last_review = facts.uncovered, facts.last_review
    findings = open_findings(certification) if certification else []
    body = profile(certification.body) if certification else None
    major_findings = [f for f in findings if body and f.grade in body.major_codes]
    other_findings = [f for f in findings if f not in major_findings]

    reasons: list[Reason] = []
    blocking: list[str] = []

    def add(kind: str, count: int, message: str, link: str = "", *, blocks: bool = False) -> None:
        if count:
            reasons.append(Reason(_cost(kind, count), message, link, blocks))
            if blocks:
                blocking.append(message)

    add(
        "major_nc",
        majors,
        f"{_n(majors, 'major nonconformity', 'major nonconformities')} open",
        NC_LINK + "major",
        blocks=True,
    )
    add("minor_nc", minors, f"{_n(minors, 'minor nonconformity', 'minor nonconformities')} open", NC_LINK + "minor")
    add(
        "old_nc", old, f"{_n(old, 'open nonconformity', 'open nonconformities')} older than 90 days", "/nonconformities"
    )
    add("overdue_action", overdue_actions, f"{_n(overdue_actions, 'corrective action')} overdue", "/my-work")
    shown = ", ".join(uncovered[:8]) + ("…" if len(uncovered) > 8 else "")
    add(
        "uncovered_clause",
        len(uncovered),
        f"{_n(len(uncovered), 'clause')} not internally audited this cycle: {shown}",
        "/audits/coverage",
    )
    add("overdue_document", overdue_documents, f"{_n(overdue_documents, 'document')} overdue for review", "/documents")
    if last_review is None:
        add("no_management_review", 1, "No management review has been held", "/reviews/management")
    elif (today - last_review).days > 365:
        days = (today - last_review).days
        add("late_management_review", 1, f"The last management review was {days} days ago", "/reviews/management")
    add(
        "open_finding_major",
        len(major_findings),
        f"{_n(len(major_findings), 'major finding')} of the last external audit still open",
        blocks=True,
    )
    add(
        "open_finding_minor",
        len(other_findings),
        f"{_n(len(other_findings), 'other finding')} of the last external audit still open",
    )
    transition = transition_status(certification, today) if certification and not certification.is_terminal else None
    if transition is not None:
        _transition_reason(transition, today, reasons, blocking, add)
    add(
        "competence_gap",
        facts.competence_gaps,
        f"{_n(facts.competence_gaps, 'required competence')} missing or expired (ISO 9001 7.2)",
        "/competence?gaps=1",
    )
    planning = facts.planning
    for clause, message, link in planning.gaps if planning else ():
        add("planning_evidence", 1, f"{clause}: {message}", link)
    if not facts.objectives_in_force:
        add(
            "no_quality_objectives",
            1,
            "No quality objectives are set and approved (ISO 9001 6.2)",
            "/objectives",
        )
    add(
        "unmeasured_objective",
        facts.objectives_unmeasured,
        f"{_n(facts.objectives_unmeasured, 'active quality objective')} without a value in the last "
        f"{UNMEASURED_DAYS} days (ISO 9001 9.1.3)",
        "/objectives?state=active",
    )
    if not facts.planned_changes:
        add(
            "no_planned_change",
            1,
            "No change to the QMS has been planned through a change request or change review (ISO 9001 6.3)",
            "/changes",
        )
    add(
        "overdue_change_review",
        facts.overdue_change_reviews,
        f"{_n(facts.overdue_change_reviews, 'post-change review')} overdue (ISO 9001 6.3)",
        "/changes?state=post_review",
    )
    evidence = facts.supplier_evidence
    add(
        "overdue_calibration",
        evidence.get("overdue_calibrations", 0),
        f"{_n(evidence.get('overdue_calibrations', 0), 'instrument')} in service overdue for calibration (7.1.5)",
        "/equipment?status=overdue",
    )
    add(
        "open_oot_assessment",
        evidence.get("open_oot_assessments", 0),
        f"{_n(evidence.get('open_oot_assessments', 0), 'out-of-tolerance assessment')} not concluded (7.1.5.2)",
        "/equipment/assessments?state=open",
    )
    add(
        "overdue_supplier_evaluation",
        evidence.get("overdue_supplier_evaluations", 0),
        f"{_n(evidence.get('overdue_supplier_evaluations', 0), 'approved supplier')} overdue for re-evaluation (8.4)",
        "/suppliers?due=1",
    )
    unrequested = evidence.get("supplier_ncs_without_scar", 0)
    add(
        "supplier_nc_without_scar",
        unrequested,
        f"{_n(unrequested, 'open supplier nonconformity', 'open supplier nonconformities')} "
        "without a corrective action request (8.4)",
        "/nonconformities?source=supplier",
    )
    score = max(0, 100 - sum(r.points for r in reasons))
    figures = {
        "open_major_ncs": majors,
        "open_minor_ncs": minors,
        "ncs_older_than_90_days": old,
        "overdue_corrective_actions": overdue_actions,
        "clauses_not_audited": uncovered,
        "coverage_percent": facts.coverage_percent,
        "documents_overdue_for_review": overdue_documents,
        "days_since_management_review": (today - last_review).days if last_review else None,
        "open_external_findings": len(findings),
        "transition_deadline": transition.ends_on.isoformat() if transition else None,
        "transition_months_left": transition.months_left if transition else None,
        "competence_gaps": facts.competence_gaps,
        "competences_required": facts.competences_required,
        "planning_evidence": dict(planning.counts) if planning else {},
        "quality_objectives_in_force": facts.objectives_in_force,
        "quality_objectives_not_measured": facts.objectives_unmeasured,
        "planned_changes": facts.planned_changes,
        "post_change_reviews_overdue": facts.overdue_change_reviews,
        **facts.supplier_evidence,
    }
    return Readiness(score, sorted(reasons, key=lambda r: (not r.blocking, -r.points)), figures, blocking)


def _transition_reason(
    transition: TransitionStatus,
    today: dt.date,
    reasons: list[Reason],
    blocking: list[str],
    add: Any,
) -> None:
    """The transition in readiness: a notice while it is far, points once the deadline is within the
    edition's warning months (more after the cut-over), blocking once the transition has ended."""
    new_label, old_label = _edition_label(transition.new), _edition_label(transition.old)
    where = (
        f"transition review {transition.review_reference}: {transition.review_state}"
        if transition.review_reference
        else "no transition review is open yet"
    )
    if transition.months_left < 0:
        ended = f"The transition to {new_label} ended on {transition.ends_on}"
        message = f"{ended}: the certificate to {old_label} is no longer valid"
        add("edition_transition", 2, message, "/reviews", blocks=True)
        return
    cutover_passed = transition.cutover_on is not None and today >= transition.cutover_on
    cutover = (
        f"; from {transition.cutover_on} every audit is to the new edition"
        if transition.cutover_on and not cutover_passed
        else "; the cut-over has passed: every audit is to the new edition"
        if cutover_passed
        else ""
    )
    message = (
        f"Transition to {new_label} not done: the certificate to {old_label} must move by {transition.ends_on} "
        f"({_n(transition.months_left, 'month')} left{cutover}); {where}"
    )
    if transition.warning or cutover_passed:
        add("edition_transition", 2 if cutover_passed else 1, message, "/reviews")
    else:  # a notice: it costs nothing until the deadline approaches
        reasons.append(Reason(0, message, "/reviews"))


# --------------------------------------------------------------------------- lifecycle effects and facts


@effect("certification", "record_contract")
def _contracted(c: Certification, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    c.contracted_on = result.data["signed_on"]
    c.contract_reference = result.data.get("contract_reference") or ""


@effect("certification", "start_stage1")
def _stage1(c: Certification, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    c.stage1_date = result.data["audit_date"]


@effect("certification", "ready_for_stage2")
def _stage2(c: Certification, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    c.stage2_date = result.data.get("audit_date") or c.stage2_date


@effect("certification", "complete_stage2")
def _stage2_done(c: Certification, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    last_day = result.data["last_day"]
    c.stage2_date = c.stage2_date or last_day
    c.response_due = result.data.get("response_due") or last_day + dt.timedelta(days=rules_of(c).findings_response_days)


def _decision(c: Certification, result: FireResult, *, recertification: bool) -> None:
    decided = result.data["decided_on"]
    if decided > dt.date.today():
        raise InvalidData({"decided_on": "cannot be in the future"})
    rules = rules_of(c)
    if recertification and c.expires_on is not None:
        dates = cycles.recertified_cycle(c.expires_on, decided, rules)
    else:
        dates = cycles.cycle_dates(decided, rules)
    expires = result.data.get("expires_on") or dates.expires_on
    if expires <= decided:
        raise InvalidData({"expires_on": "must be after the decision date"})
    c.decided_on = decided
    c.certificate_number = result.data["certificate_number"]
    c.cycle_start = dates.cycle_start
    c.expires_on = expires
    c.next_audit_due = dates.surveillance_due[0] if dates.surveillance_due else dates.recertification_due


@effect("certification", "certify")
def _certified(c: Certification, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    _decision(c, result, recertification=False)


@effect("certification", "recertify")
def _recertified(c: Certification, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    _decision(c, result, recertification=True)


@effect("certification", "complete_surveillance")
def _surveilled(c: Certification, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    given = result.data.get("next_audit_due")
    if given is not None:
        c.next_audit_due = given
        return
    dates = cycle_of(c)
    if dates is not None:
        later = [d for d in (*dates.surveillance_due, dates.recertification_due) if d > now.date()]
        c.next_audit_due = later[0] if later else dates.recertification_due


@effect("certification", "suspend")
def _suspended(c: Certification, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    c.status_reason = result.data["reason"]
    c.suspended_until = result.data.get("suspended_until")


@effect("certification", "reinstate")
def _reinstated(c: Certification, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    c.suspended_until = None
    c.status_reason = ""


@effect("certification", "withdraw", "cancel")
def _ended(c: Certification, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    c.status_reason = result.data["reason"]


@facts_provider("certification", provides=("open_major_nc_count", "stage2_repeat_reason", "edition_cutover_reason"))
def _certification_facts(session: Session, certifications: Sequence[Certification]) -> dict[int, dict[str, Any]]:
    """Open major NCs of the organisation (any one blocks stage 2, the response and reinstatement: our
    policy), the six-month rule on stage 2's major findings and the edition cut-over (the standard's)."""
    count = session.scalar(
        select(func.count()).where(Nonconformity.severity == "major", Nonconformity.state.not_in(NC_CLOSED))
    )
    today = dt.date.today()
    cutover = {
        identifier: cutover_problem(identifier, today, "recertification")
        for identifier in {c.standard_identifier for c in certifications}
    }
    return {
        c.id: {
            "open_major_nc_count": count or 0,
            "stage2_repeat_reason": stage2_repeat_reason(c, today),
            "edition_cutover_reason": cutover[c.standard_identifier],
        }
        for c in certifications
    }


def stage2_repeat_reason(certification: Certification, today: dt.date) -> str | None:
    """Why stage 2 must be repeated: a major finding of stage 2 not verified within six months of its last day.

    ISO/IEC 17021-1: the corrections and corrective actions of a major nonconformity found at
    initial certification are verified within six months of the last day of stage 2, else
    stage 2 is repeated. "Verified" here means its NC is closed (effectiveness verified).
    """
    if certification.state not in ("findings_response", "decision_pending"):
        return None
    stage2 = [a for a in certification.audits if a.kind == "stage2"]
    last_day = stage2[-1].end_date if stage2 else certification.stage2_date
    if last_day is None:
        return None
    deadline = cycles.add_months(last_day, cycles.STAGE2_MAJOR_VERIFY_MONTHS)
    if today <= deadline:
        return None
    body = profile(certification.body)
    late = [
        f.body_reference
        for audit in stage2
        if audit.end_date == last_day
        for f in audit.findings
        if f.grade in body.major_codes
        and (
            f.nonconformity is None or f.nonconformity.closed_at is None or f.nonconformity.closed_at.date() > deadline
        )
    ]
    if not late:
        return None
    return (
        f"Major finding {', '.join(late)} of stage 2 was not verified within six months of its last day "
        f"({last_day.isoformat()}, so by {deadline.isoformat()}): stage 2 must be repeated (ISO/IEC 17021-1)"
    )


def certifications_for(ids: Sequence[int]) -> list[Certification]:
    return list(db.session.scalars(select(Certification).where(id_in(Certification.id, list(ids)))))


def audits_of_cycle(certification: Certification) -> list[Audit]:
    """Internal audits held since the cycle began (for the certification pack)."""
    start = certification.cycle_start or certification.applied_on
    return list(
        db.session.scalars(
            select(Audit)
            .where(Audit.state.in_(Audit.CONDUCTED_STATES), Audit.planned_start >= start)
            .order_by(Audit.planned_start)
        )
    )
