"""Reviews of the QMS: ISO change (a new edition), organisational change (6.3), management review (9.3).

One function per user intention; each validates everything before writing and writes in one
transaction (``recorded_change``), so bad input never leaves half a change behind.

- *ISO change*: ``open_iso_change_review`` runs the edition differ and records one item per
  clause change with what in the QMS refers to the old clause (documents, processes, checklist
  questions); every item is assessed (gap or no gap) before the gap analysis completes, and the
  transition actions must be done before the review closes.
- *Organisational change*: the impacts on documents, processes, risks and the audit programme
  (``suggest_impacts`` proposes them from the records), then the change actions.
- *Management review*: ``compile_inputs`` computes the 9.3.2 inputs from the records of the
  review period; the inputs the system cannot know (quality objectives, resources, risks and
  opportunities) get notes; the outputs (9.3.3) become tracked actions.

The lifecycles' guards get their counts from the facts providers at the end of this module and
the events' fields are stored on the records by its effects.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from standards import ClauseRef, Standard, StandardDiff
from workflows import FireResult
from workflows.errors import Conflict, InvalidData, InvalidTransition, NotPermitted

from ..database import db, id_in, utcnow
from ..models import (
    CHANGE_KINDS,
    GAP_STATUSES,
    IMPACT_AREAS,
    MANAGEMENT_REVIEW_INPUTS,
    OUTPUT_CATEGORIES,
    RESULTS,
    SEVERITY_LABELS,
    Actor,
    Audit,
    AuditProgramme,
    ChangeImpact,
    ChecklistItem,
    Complaint,
    CorrectiveAction,
    Document,
    ExternalAudit,
    IsoChangeItem,
    IsoChangeReview,
    ManagementReview,
    Nonconformity,
    OrgChangeReview,
    Process,
    ReviewAction,
    Site,
    Survey,
    SurveyResponse,
    User,
)
from .audit_trail import recorded_change, register_audited
from .audits import coverage
from .references import next_reference
from .standards import diff_editions, find_standard
from .surveys import survey_measures
from .validation import clean_date, clean_text, require_roles, row_by_id
from .workflow import as_actor, effect, facts_provider

register_audited(IsoChangeItem, ChangeImpact, ReviewAction)

Review = IsoChangeReview | OrgChangeReview | ManagementReview

#: who runs reviews: opens them, assesses, compiles inputs, plans and cancels actions
REVIEW_ROLES = frozenset({"manager", "quality_officer"})
#: who may propose an organisational change and record its impacts
CHANGE_ROLES = frozenset({"manager", "quality_officer", "process_owner"})
#: who may own a review action (someone who can carry it out)
ACTION_OWNER_ROLES = ("process_owner", "quality_officer", "manager")
#: the numbering that documents' and processes' clause references use
DOCUMENT_STANDARD = "iso-9001-2015"
ISO_CLOSED_STATES = ("closed", "cancelled")
GAP_ANALYSIS_STATES = ("opened", "gap_analysis")
VERIFICATION_STATES = ("implementing", "verification")
IMPACT_STATES = ("proposed", "impact_assessment", "planning")
INPUT_STATES = ("planned", "gathering_inputs", "ready")
#: review kind → the states in which actions may be added to the review
ACTION_STATES = {
    "iso_change": ("gap_analysis", "transition_planning", "implementing", "verification"),
    "org_change": ("impact_assessment", "planning", "implementing"),
    "management": ("held", "minutes_drafted", "minutes_approved", "tracking_actions"),
}
#: the 9.3.2 inputs compile_inputs computes from the records; the others need notes
COMPILED_INPUTS = (
    "previous_actions",
    "context_changes",
    "customer_satisfaction",
    "process_performance",
    "nonconformities",
    "monitoring_results",
    "audit_results",
    "external_providers",
    "improvement_opportunities",
)
#: what an impact may link to: "<kind>:<id>"
LINK_KINDS: dict[str, type] = {
    "document": Document,
    "process": Process,
    "audit": Audit,
    "nonconformity": Nonconformity,
}
NC_CLOSED_STATES = ("closed", "rejected")
#: audits of a process not yet held (what a change to the process may move)
UPCOMING_AUDIT_STATES = ("planned", "scheduled", "prepared", "postponed")
MAX_TEXT = 20_000

_KINDS: dict[type, str] = {IsoChangeReview: "iso_change", OrgChangeReview: "org_change", ManagementReview: "management"}
_MODELS: dict[str, type] = {kind: model for model, kind in _KINDS.items()}


# --------------------------------------------------------------------------- helpers


def _standard(errors: dict[str, str], name: str, identifier: Any) -> Standard | None:
    if not isinstance(identifier, str) or not identifier.strip():
        errors[name] = "is required"
        return None
    try:
        return find_standard(identifier.strip())
    except KeyError:
        errors[name] = f"no standard {identifier.strip()!r}"
        return None


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The UTC instants [start 00:00, the day after end 00:00) of a period of whole days."""
    return (
        dt.datetime.combine(start, dt.time.min, tzinfo=dt.UTC),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC),
    )


def _within(number: str, clause: str) -> bool:
    """Whether ``number`` is ``clause`` or one of its sub-clauses (also for URNs)."""
    return number == clause or number.startswith(clause + ".")


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@contextlib.contextmanager
def _review_change(actor: Actor, reason: str) -> Iterator[Session]:
    """``recorded_change`` on a review record: a concurrent change to it first is a Conflict, not lost."""
    try:
        with recorded_change(actor, reason) as session:
            yield session
    except StaleDataError:
        raise Conflict("Someone else changed this review meanwhile; reload it and try again") from None


# --------------------------------------------------------------------------- ISO-change review


@dataclass
class _QmsReferences:
    """What in the QMS refers to clauses of one standard, loaded once for every clause change."""

    documents: list[tuple[int, str, str, list[str]]]
    processes: list[tuple[int, str, str, list[str]]]
    questions: dict[str, list[int]]  # clause URN → checklist item ids

    @classmethod
    def load(cls, standard: Standard) -> _QmsReferences:
        documents: list[tuple[int, str, str, list[str]]] = []
        processes: list[tuple[int, str, str, list[str]]] = []
        if standard.identifier == DOCUMENT_STANDARD:
            documents = [
                (id_, number, title, list(refs or []))
                for id_, number, title, refs in db.session.execute(
                    select(Document.id, Document.number, Document.title, Document.clause_refs)
                    .where(Document.obsolete.is_(False))
                    .order_by(Document.number)
                )
            ]
            processes = [
                (id_, code, name, list(clauses or []))
                for id_, code, name, clauses in db.session.execute(
                    select(Process.id, Process.code, Process.name, Process.clause_numbers)
                    .where(Process.active.is_(True))
                    .order_by(Process.name)
                )
            ]
        questions: dict[str, list[int]] = defaultdict(list)
        for item_id, urn in db.session.execute(
            select(ChecklistItem.id, ChecklistItem.clause_urn)
            .where(ChecklistItem.clause_urn.startswith(standard.urn + ":", autoescape=True))
            .order_by(ChecklistItem.id)
        ):
            questions[urn].append(item_id)
        return cls(documents, processes, questions)

    def of(self, clause: ClauseRef | None) -> dict[str, Any]:
        if clause is None:  # an added clause: nothing can refer to it yet
            return {"documents": [], "processes": [], "questions": 0, "question_ids": []}
        number = clause.number
        documents = [
            {"id": id_, "number": doc_number, "title": title}
            for id_, doc_number, title, refs in self.documents
            if any(_within(str(ref), number) for ref in refs)
        ]
        processes = [
            {"id": id_, "code": code, "name": name}
            for id_, code, name, clauses in self.processes
            if any(_within(str(c), number) or _within(number, str(c)) for c in clauses)
        ]
        ids = sorted(i for urn, found in self.questions.items() if _within(urn, clause.urn) for i in found)
        return {"documents": documents, "processes": processes, "questions": len(ids), "question_ids": ids}


def _change_items(old: Standard, diff: StandardDiff) -> list[IsoChangeItem]:
    references = _QmsReferences.load(old)
    return [
        IsoChangeItem(
            change=change.kind,
            old_clause=change.old.number if change.old else "",
            new_clause=change.new.number if change.new else "",
            old_title=(change.old.title if change.old else "")[:200],
            new_title=(change.new.title if change.new else "")[:200],
            description=change.description,
            references=references.of(change.old),
        )
        for change in diff.changes
    ]


def open_iso_change_review(
    actor: User | Actor,
    *,
    old_standard: str,
    new_standard: str,
    title: str | None = None,
    transition_deadline: dt.date | str | None = None,
) -> IsoChangeReview:
    """Open the review of a new edition or amendment, pre-filled from the edition differ.

    One item per clause change (added, removed, renamed, moved, changed), each with the
    documents, processes and checklist questions that referred to the old clause.
    """
    actor = as_actor(actor)
    require_roles(actor, REVIEW_ROLES, "open ISO-change reviews")
    errors: dict[str, str] = {}
    old = _standard(errors, "old_standard", old_standard)
    new = _standard(errors, "new_standard", new_standard)
    title = clean_text(errors, "title", title or "", required=False, limit=200)
    deadline = clean_date(errors, "transition_deadline", transition_deadline, required=False)
    diff: StandardDiff | None = None
    if old is not None and new is not None:
        if old.identifier == new.identifier:
            errors["new_standard"] = "must be another standard than the old one"
        elif clash := db.session.scalar(
            select(IsoChangeReview.reference).where(
                IsoChangeReview.old_standard == old.identifier,
                IsoChangeReview.new_standard == new.identifier,
                IsoChangeReview.state.not_in(ISO_CLOSED_STATES),
            )
        ):
            errors["new_standard"] = f"the review {clash} of this change is still open"
        else:
            diff = diff_editions(old.identifier, new.identifier)
            if diff.is_empty:
                errors["new_standard"] = f"has no clause changes from {old.identifier}"
    if errors:
        raise InvalidData(errors)
    assert old is not None and new is not None and diff is not None
    items = _change_items(old, diff)
    with recorded_change(actor, f"ISO-change review {old.identifier} → {new.identifier} opened") as session:
        review = IsoChangeReview(
            reference=next_reference(session, "ICR", utcnow().year),
            title=title or f"Transition to {new.label}"[:200],
            old_standard=old.identifier,
            new_standard=new.identifier,
            transition_deadline=deadline,
            owner_id=actor.id,
        )
        review.items = items
        session.add(review)
    return review


def assess_change(item: IsoChangeItem, actor: User | Actor, *, status: str, assessment: str = "") -> IsoChangeItem:
    """Record whether the QMS needs to change for one clause change (a gap needs its description)."""
    actor = as_actor(actor)
    require_roles(actor, REVIEW_ROLES, "assess clause changes")
    review = item.review
    if review.state not in GAP_ANALYSIS_STATES:
        raise InvalidTransition(
            f"Clause changes are assessed until the gap analysis completes (the review is {review.state_label.lower()})"
        )
    errors: dict[str, str] = {}
    if status not in GAP_STATUSES or status == "not_assessed":
        errors["status"] = "must be one of: " + ", ".join(s for s in GAP_STATUSES if s != "not_assessed")
    assessment = clean_text(errors, "assessment", assessment, required=False, limit=MAX_TEXT)
    if status == "gap" and not assessment and "assessment" not in errors:
        errors["assessment"] = "is required for a gap: describe what in the QMS must change"
    if errors:
        raise InvalidData(errors)
    label = item.new_clause or item.old_clause
    with recorded_change(actor, f"clause change {label} assessed on {review.reference}"):
        item.status, item.assessment = status, assessment
    return item


def link_verification(
    review: IsoChangeReview,
    actor: User | Actor,
    *,
    audit_id: int | None = None,
    external_audit_id: int | None = None,
) -> IsoChangeReview:
    """Link the internal audit that verified the transition and/or the body's transition audit."""
    actor = as_actor(actor)
    require_roles(actor, REVIEW_ROLES, "link verification audits")
    if review.state not in VERIFICATION_STATES:
        raise InvalidTransition(
            f"Verification audits are linked during implementation or verification (now {review.state_label.lower()})"
        )
    errors: dict[str, str] = {}
    audit = external = None
    if audit_id in (None, "") and external_audit_id in (None, ""):
        errors["audit_id"] = "give the internal audit, the body's transition audit or both"
    if audit_id not in (None, ""):
        audit = row_by_id(Audit, audit_id)
        if audit is None:
            errors["audit_id"] = "no such audit"
        elif audit.state == "cancelled":
            errors["audit_id"] = f"the audit {audit.reference} was cancelled"
    if external_audit_id not in (None, ""):
        external = row_by_id(ExternalAudit, external_audit_id)
        if external is None:
            errors["external_audit_id"] = "no such external audit"
    if errors:
        raise InvalidData(errors)
    with _review_change(actor, f"verification linked to {review.reference}"):
        if audit is not None:
            review.verification_audit_id = audit.id
        if external is not None:
            review.transition_audit_id = external.id
    return review


# --------------------------------------------------------------------------- organisational change


def open_org_change_review(
    actor: User | Actor,
    *,
    title: str,
    change_kind: str,
    description: str,
    site_id: int | None = None,
    process_id: int | None = None,
) -> OrgChangeReview:
    """Propose a change to the organisation (a new site, process, product, restructuring, key people)."""
    actor = as_actor(actor)
    require_roles(actor, CHANGE_ROLES, "propose organisational changes")
    errors: dict[str, str] = {}
    title = clean_text(errors, "title", title, limit=200)
    description = clean_text(errors, "description", description, limit=MAX_TEXT)
    if change_kind not in CHANGE_KINDS:
        errors["change_kind"] = "must be one of: " + ", ".join(CHANGE_KINDS)
    site = process = None
    if site_id not in (None, ""):
        site = row_by_id(Site, site_id)
        if site is None:
            errors["site_id"] = "no such site"
    if process_id not in (None, ""):
        process = row_by_id(Process, process_id)
        if process is None:
            errors["process_id"] = "no such process"
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, "organisational change proposed") as session:
        review = OrgChangeReview(
            reference=next_reference(session, "OCR", utcnow().year),
            title=title,
            change_kind=change_kind,
            description=description,
            owner_id=actor.id,
            site_id=site.id if site else None,
            process_id=process.id if process else None,
        )
        session.add(review)
    return review


def _check_impact_state(review: OrgChangeReview) -> None:
    if review.state not in IMPACT_STATES:
        raise InvalidTransition(
            f"Impacts are recorded until the change is planned (the change is {review.state_label.lower()})"
        )


def _link(errors: dict[str, str], value: Any) -> str:
    link = clean_text(errors, "link", value or "", required=False, limit=40)
    if not link or "link" in errors:
        return ""
    kind, _, ident = link.partition(":")
    model = LINK_KINDS.get(kind.strip())
    ident = ident.strip()
    if model is None or not ident.isdigit():
        errors["link"] = "must be " + ", ".join(f"{k}:<id>" for k in LINK_KINDS)
        return ""
    if row_by_id(model, int(ident)) is None:
        errors["link"] = f"no {kind.strip()} with id {ident}"
        return ""
    return f"{kind.strip()}:{int(ident)}"


def add_impact(
    review: OrgChangeReview,
    actor: User | Actor,
    *,
    area: str,
    subject: str,
    link: str = "",
    assessment: str = "",
) -> ChangeImpact:
    """Record what the change touches (a document, a process, a risk, the audit programme…)."""
    actor = as_actor(actor)
    require_roles(actor, CHANGE_ROLES, "assess organisational changes")
    _check_impact_state(review)
    errors: dict[str, str] = {}
    if area not in IMPACT_AREAS:
        errors["area"] = "must be one of: " + ", ".join(IMPACT_AREAS)
    subject = clean_text(errors, "subject", subject, limit=200)
    link = _link(errors, link)
    assessment = clean_text(errors, "assessment", assessment, required=False, limit=MAX_TEXT)
    if link and any(impact.link == link for impact in review.impacts):
        errors["link"] = "this record is already an impact of the change"
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, f"impact recorded on {review.reference}"):
        impact = ChangeImpact(area=area, subject=subject, link=link, assessment=assessment)
        review.impacts.append(impact)
    return impact


def remove_impact(impact: ChangeImpact, actor: User | Actor) -> None:
    actor = as_actor(actor)
    require_roles(actor, CHANGE_ROLES, "assess organisational changes")
    review = impact.review
    _check_impact_state(review)
    with recorded_change(actor, f"impact removed from {review.reference}") as session:
        review.impacts.remove(impact)
        session.delete(impact)


def suggest_impacts(review: OrgChangeReview) -> list[dict[str, str]]:
    """Impacts the records suggest, not yet recorded (never writes).

    For a change to a process: the process, its documents, its audits still to come, its open
    nonconformities. For a site: its processes and its audit programmes.
    """
    suggestions: list[dict[str, str]] = []
    process, site = review.process, review.site
    if process is not None:
        suggestions.append({"area": "process", "subject": process.name, "link": f"process:{process.id}"})
        for doc in db.session.scalars(
            select(Document)
            .where(Document.obsolete.is_(False), func.lower(Document.process) == process.name.lower())
            .order_by(Document.number)
        ):
            suggestions.append(
                {"area": "document", "subject": f"{doc.number} {doc.title}", "link": f"document:{doc.id}"}
            )
        for audit in db.session.scalars(
            select(Audit)
            .where(Audit.process_id == process.id, Audit.state.in_(UPCOMING_AUDIT_STATES))
            .order_by(Audit.planned_start, Audit.id)
        ):
            when = f" ({audit.planned_start.isoformat()})" if audit.planned_start else ""
            suggestions.append(
                {
                    "area": "audit_programme",
                    "subject": f"{audit.reference} {audit.title}{when}"[:200],
                    "link": f"audit:{audit.id}",
                }
            )
        for nc in db.session.scalars(
            select(Nonconformity)
            .where(
                func.lower(Nonconformity.process) == process.name.lower(),
                Nonconformity.state.not_in(NC_CLOSED_STATES),
            )
            .order_by(Nonconformity.id)
        ):
            suggestions.append(
                {"area": "risk", "subject": f"Open {nc.reference}: {nc.title}"[:200], "link": f"nonconformity:{nc.id}"}
            )
    if site is not None:
        for other in db.session.scalars(
            select(Process).where(Process.site_id == site.id, Process.active.is_(True)).order_by(Process.name)
        ):
            if process is None or other.id != process.id:
                suggestions.append({"area": "process", "subject": other.name, "link": f"process:{other.id}"})
        for programme in db.session.scalars(
            select(AuditProgramme).where(AuditProgramme.site_id == site.id).order_by(AuditProgramme.year.desc())
        ):
            suggestions.append(
                {
                    "area": "audit_programme",
                    "subject": f"Audit programme {programme.year}: {programme.title}"[:200],
                    "link": "",
                }
            )
    linked = {i.link for i in review.impacts if i.link}
    subjects = {i.subject for i in review.impacts if not i.link}
    return [s for s in suggestions if (s["link"] not in linked if s["link"] else s["subject"] not in subjects)]


# --------------------------------------------------------------------------- management review


def plan_management_review(
    actor: User | Actor,
    *,
    title: str,
    planned_for: dt.date | str,
    period_start: dt.date | str,
    period_end: dt.date | str,
    chair_id: int | None = None,
) -> ManagementReview:
    """Plan a management review of the period [period_start, period_end]; chaired by the actor by default."""
    actor = as_actor(actor)
    require_roles(actor, REVIEW_ROLES, "plan management reviews")
    errors: dict[str, str] = {}
    title = clean_text(errors, "title", title, limit=200)
    planned = clean_date(errors, "planned_for", planned_for)
    start = clean_date(errors, "period_start", period_start)
    end = clean_date(errors, "period_end", period_end)
    if start and end and end < start:
        errors["period_end"] = "cannot be before the start of the period"
    chair = row_by_id(User, actor.id if chair_id in (None, "") else chair_id)
    if chair is None or not chair.active:
        errors["chair_id"] = "must be an active user"
    elif not chair.has_role(*REVIEW_ROLES):
        errors["chair_id"] = "must be a manager or quality officer"
    if errors:
        raise InvalidData(errors)
    assert planned is not None and chair is not None
    with recorded_change(actor, "management review planned") as session:
        review = ManagementReview(
            reference=next_reference(session, "MR", planned.year),
            title=title,
            planned_for=planned,
            period_start=start,
            period_end=end,
            chair_id=chair.id,
            inputs={},
        )
        session.add(review)
    return review


def _check_inputs_open(review: ManagementReview) -> None:
    if review.state not in INPUT_STATES:
        raise InvalidTransition(
            f"The inputs are fixed once the meeting is held (the review is {review.state_label.lower()})"
        )


def compile_inputs(review: ManagementReview, actor: User | Actor, *, today: dt.date | None = None) -> ManagementReview:
    """Compute every input the records can give for the review period; notes already written are kept."""
    actor = as_actor(actor)
    require_roles(actor, REVIEW_ROLES, "compile management review inputs")
    _check_inputs_open(review)
    today = today or dt.date.today()
    compiled = compiled_inputs(review, today)
    at = utcnow().isoformat()
    inputs = {key: dict(value) for key, value in (review.inputs or {}).items()}
    for key, figures in compiled.items():
        inputs[key] = {"compiled": figures, "compiled_at": at, "notes": inputs.get(key, {}).get("notes", "")}
    with _review_change(actor, f"inputs of {review.reference} compiled"):
        review.inputs = inputs
    return review


def set_input_notes(review: ManagementReview, actor: User | Actor, key: str, notes: str) -> ManagementReview:
    """Write (or clear) the notes of one 9.3.2 input; compiled figures are kept."""
    actor = as_actor(actor)
    require_roles(actor, REVIEW_ROLES, "write management review inputs")
    _check_inputs_open(review)
    errors: dict[str, str] = {}
    if key not in MANAGEMENT_REVIEW_INPUTS:
        errors["key"] = "must be one of: " + ", ".join(MANAGEMENT_REVIEW_INPUTS)
    notes = clean_text(errors, "notes", notes, required=False, limit=MAX_TEXT)
    if errors:
        raise InvalidData(errors)
    inputs = {k: dict(v) for k, v in (review.inputs or {}).items()}
    inputs[key] = {**inputs.get(key, {}), "notes": notes}
    with _review_change(actor, f"input {key} of {review.reference} noted"):
        review.inputs = inputs
    return review


def missing_inputs(review: ManagementReview) -> list[str]:
    """The 9.3.2 inputs with neither compiled figures nor notes."""
    inputs = review.inputs or {}
    return [
        key
        for key in MANAGEMENT_REVIEW_INPUTS
        if not (inputs.get(key) or {}).get("compiled") and not str((inputs.get(key) or {}).get("notes") or "").strip()
    ]


def compiled_inputs(review: ManagementReview, today: dt.date) -> dict[str, dict[str, Any]]:
    """The figures of every compiled input for the review period (reads only)."""
    start, end = review.period_start, review.period_end
    held = _audits_held(start, end)
    return {
        "previous_actions": _previous_actions(review, start, end, today),
        "context_changes": _context_changes(start, end),
        "customer_satisfaction": _customer_satisfaction(start, end, today),
        "process_performance": _process_performance(start, end),
        "nonconformities": _nonconformities(start, end, today),
        "monitoring_results": _monitoring_results(end, today),
        "audit_results": _audit_results(start, end, held),
        "external_providers": _external_providers(start, end),
        "improvement_opportunities": _improvement_opportunities(held),
    }


def _previous_actions(review: ManagementReview, start: dt.date, end: dt.date, today: dt.date) -> dict[str, Any]:
    """Actions of earlier management reviews still open, or completed or cancelled since the period began."""
    mr = ManagementReview
    earlier = dict(
        db.session.execute(
            select(mr.id, mr.reference).where(
                mr.id != review.id,
                or_(mr.planned_for < review.planned_for, and_(mr.planned_for == review.planned_for, mr.id < review.id)),
            )
        ).all()
    )
    since, _ = _bounds(start, end)
    actions = (
        list(
            db.session.scalars(
                select(ReviewAction)
                .options(selectinload(ReviewAction.owner))
                .where(
                    ReviewAction.review_kind == "management",
                    id_in(ReviewAction.review_id, list(earlier)),
                    or_(ReviewAction.status == "open", ReviewAction.done_at >= since),
                )
                .order_by(ReviewAction.due_date, ReviewAction.id)
            )
        )
        if earlier
        else []
    )
    status = Counter(a.status for a in actions)
    return {
        "open": status["open"],
        "done": status["done"],
        "cancelled": status["cancelled"],
        "overdue": sum(1 for a in actions if a.is_overdue(today)),
        "actions": [
            {
                "id": a.id,
                "review": earlier[a.review_id],
                "title": a.title,
                "category": a.category,
                "owner": a.owner.name,
                "due_date": a.due_date.isoformat(),
                "status": a.status,
                "overdue": a.is_overdue(today),
                "outcome": a.outcome,
            }
            for a in actions
        ],
    }


def _context_changes(start: dt.date, end: dt.date) -> dict[str, Any]:
    """Organisational-change and ISO-change reviews opened or closed in the period."""
    since, until = _bounds(start, end)
    reviews: list[dict[str, Any]] = []
    for model, kind in ((OrgChangeReview, "org_change"), (IsoChangeReview, "iso_change")):
        query = (
            select(model)
            .where(
                or_(
                    and_(model.created_at >= since, model.created_at < until),
                    and_(model.closed_at >= since, model.closed_at < until),
                )
            )
            .order_by(model.created_at, model.id)
        )
        for r in db.session.scalars(query):
            reviews.append(
                {
                    "kind": kind,
                    "id": r.id,
                    "reference": r.reference,
                    "title": r.title,
                    "state": r.state,
                    "opened_on": r.created_at.date().isoformat(),
                    "closed_on": r.closed_at.date().isoformat() if r.closed_at else None,
                    "opened_in_period": since <= r.created_at < until,
                    "closed_in_period": r.closed_at is not None and since <= r.closed_at < until,
                }
            )
    return {
        "opened": sum(1 for r in reviews if r["opened_in_period"]),
        "closed": sum(1 for r in reviews if r["closed_in_period"]),
        "org_changes": sum(1 for r in reviews if r["kind"] == "org_change"),
        "iso_changes": sum(1 for r in reviews if r["kind"] == "iso_change"),
        "reviews": reviews,
    }


def _customer_satisfaction(start: dt.date, end: dt.date, today: dt.date) -> dict[str, Any]:
    """Survey measures of the responses in the period, and the complaints received in it."""
    answered = select(SurveyResponse.survey_id).where(SurveyResponse.responded_on.between(start, end)).distinct()
    surveys = []
    for survey in db.session.scalars(select(Survey).where(Survey.id.in_(answered)).order_by(Survey.reference)):
        m = survey_measures(survey, start=start, end=end)
        surveys.append(
            {
                "id": survey.id,
                "reference": survey.reference,
                "title": survey.title,
                "service": survey.service,
                "responses": m.responses,
                "nps": m.nps.score,
                "nps_n": m.nps.n,
                "csi": m.csi.score,
                "csi_n": m.csi.n,
            }
        )
    since, until = _bounds(start, end)
    complaints = list(
        db.session.scalars(select(Complaint).where(Complaint.received_at >= since, Complaint.received_at < until))
    )
    return {
        "surveys": surveys,
        "responses": sum(s["responses"] for s in surveys),
        "complaints": {
            "received": len(complaints),
            "by_channel": dict(sorted(Counter(c.channel for c in complaints).items())),
            "by_state": dict(sorted(Counter(c.state for c in complaints).items())),
            "open": sum(1 for c in complaints if c.state in Complaint.OPEN_STATES),
            "overdue": sum(1 for c in complaints if c.resolution_overdue(today)),
        },
    }


def _by_severity(severities: Iterable[str | None]) -> dict[str, int]:
    counts = {key: 0 for key in SEVERITY_LABELS} | {"ungraded": 0}
    for severity in severities:
        counts[severity if severity in SEVERITY_LABELS else "ungraded"] += 1
    return counts


def _raised(start: dt.date, end: dt.date, *conditions: Any) -> list[Nonconformity]:
    """NCs detected in the period and not rejected (a rejected report was not a nonconformity)."""
    return list(
        db.session.scalars(
            select(Nonconformity)
            .where(Nonconformity.detected_on.between(start, end), Nonconformity.state != "rejected", *conditions)
            .order_by(Nonconformity.detected_on, Nonconformity.id)
        )
    )


def _process_performance(start: dt.date, end: dt.date) -> dict[str, Any]:
    """Nonconformities raised in the period, per process."""
    groups: dict[str, list[Nonconformity]] = defaultdict(list)
    for nc in _raised(start, end):
        groups[nc.process or ""].append(nc)
    rows = [
        {
            "process": name or "(no process)",
            "raised": len(ncs),
            "open": sum(1 for nc in ncs if nc.state not in NC_CLOSED_STATES),
            "by_severity": _by_severity(nc.severity for nc in ncs),
        }
        for name, ncs in groups.items()
    ]
    rows.sort(key=lambda row: (-row["raised"], row["process"]))
    return {"raised": sum(row["raised"] for row in rows), "processes": rows}


def _nonconformities(start: dt.date, end: dt.date, today: dt.date) -> dict[str, Any]:
    """NCs raised, rejected, closed and open; corrective actions open, overdue and completed on time."""
    since, until = _bounds(start, end)
    nc = Nonconformity
    raised = _raised(start, end)
    rejected = db.session.scalar(select(func.count()).where(nc.detected_on.between(start, end), nc.state == "rejected"))
    closed = db.session.scalars(
        select(nc.severity).where(nc.state == "closed", nc.closed_at >= since, nc.closed_at < until)
    ).all()
    still_open = db.session.scalars(
        select(nc.severity).where(nc.detected_on <= end, nc.state.not_in(NC_CLOSED_STATES))
    ).all()
    ca = CorrectiveAction
    open_actions = db.session.execute(
        select(ca.due_date).where(ca.state.in_(ca.OPEN_STATES), ca.created_at < until)
    ).all()
    completed = db.session.execute(
        select(ca.implemented_at, ca.due_date).where(ca.implemented_at >= since, ca.implemented_at < until)
    ).all()
    on_time = sum(1 for done_at, due in completed if done_at.date() <= due)
    return {
        "raised": len(raised),
        "raised_by_severity": _by_severity(n.severity for n in raised),
        "rejected": rejected or 0,
        "closed": len(closed),
        "closed_by_severity": _by_severity(closed),
        "open": len(still_open),
        "open_by_severity": _by_severity(still_open),
        "corrective_actions": {
            "open": len(open_actions),
            "overdue": sum(1 for (due,) in open_actions if due < today),
            "completed": len(completed),
            "completed_on_time": on_time,
            "on_time_percent": round(100 * on_time / len(completed), 1) if completed else None,
        },
    }


def _monitoring_results(end: dt.date, today: dt.date) -> dict[str, Any]:
    """Documents overdue for review, and the internal audit coverage of the period's year."""
    overdue = list(
        db.session.scalars(
            select(Document)
            .where(Document.obsolete.is_(False), Document.next_review_due < today)
            .order_by(Document.next_review_due, Document.number)
        )
    )
    audit_coverage = None
    if db.session.scalar(select(func.count()).where(Process.active.is_(True))):
        matrix = coverage(end.year)
        audit_coverage = {
            "year": end.year,
            "percent_audited": matrix.percent_audited,
            "relevant": matrix.relevant,
            "audited": matrix.count("audited"),
            "planned": matrix.count("planned"),
            "uncovered_clauses": matrix.uncovered_clauses(),
        }
    return {
        "documents_overdue_for_review": len(overdue),
        "documents": [
            {"id": d.id, "number": d.number, "title": d.title, "next_review_due": _iso(d.next_review_due)}
            for d in overdue
        ],
        "audit_coverage": audit_coverage,
    }


def _audits_held(start: dt.date, end: dt.date) -> list[Audit]:
    """Internal audits that took place (started) in the period."""
    held_on = func.coalesce(Audit.actual_start, Audit.planned_start)
    return list(
        db.session.scalars(
            select(Audit)
            .options(selectinload(Audit.items))
            .where(Audit.state.in_(Audit.CONDUCTED_STATES), held_on.between(start, end))
            .order_by(held_on, Audit.id)
        )
    )


def _audit_results(start: dt.date, end: dt.date, held: Sequence[Audit]) -> dict[str, Any]:
    """Internal audits held in the period with their checklist results; external audits and findings."""
    results = {key: 0 for key in RESULTS} | {"unanswered": 0}
    for audit in held:
        for item in audit.items:
            results[item.result or "unanswered"] += 1
    external = list(
        db.session.scalars(
            select(ExternalAudit)
            .options(selectinload(ExternalAudit.findings))
            .where(ExternalAudit.start_date.between(start, end))
            .order_by(ExternalAudit.start_date, ExternalAudit.id)
        )
    )
    grades: dict[str, dict[str, Any]] = {}
    for audit in external:
        for finding in audit.findings:
            row = grades.setdefault(finding.grade, {"grade": finding.grade, "label": finding.grade_label, "count": 0})
            row["count"] += 1
    return {
        "internal_audits": len(held),
        "by_state": dict(sorted(Counter(a.state for a in held).items())),
        "checklist_results": results,
        "audits": [
            {
                "id": a.id,
                "reference": a.reference,
                "title": a.title,
                "state": a.state,
                "held_on": _iso(a.actual_start or a.planned_start),
            }
            for a in held
        ],
        "external_audits": len(external),
        "external_by_kind": dict(sorted(Counter(a.kind for a in external).items())),
        "external_findings": sum(row["count"] for row in grades.values()),
        "findings_by_grade": sorted(grades.values(), key=lambda row: row["grade"]),
    }


def _external_providers(start: dt.date, end: dt.date) -> dict[str, Any]:
    """Nonconformities of external providers (source "supplier") raised in the period."""
    ncs = _raised(start, end, Nonconformity.source == "supplier")
    return {
        "raised": len(ncs),
        "open": sum(1 for nc in ncs if nc.state not in NC_CLOSED_STATES),
        "by_severity": _by_severity(nc.severity for nc in ncs),
        "nonconformities": [
            {
                "id": nc.id,
                "reference": nc.reference,
                "title": nc.title,
                "state": nc.state,
                "severity": nc.severity,
                "detected_on": nc.detected_on.isoformat(),
            }
            for nc in ncs
        ],
    }


def _improvement_opportunities(held: Sequence[Audit]) -> dict[str, Any]:
    """Opportunities for improvement found by the internal audits held in the period."""
    found = [
        {
            "audit_id": audit.id,
            "audit": audit.reference,
            "clause": item.clause_number,
            "question": item.question,
            "notes": item.notes,
        }
        for audit in held
        for item in audit.items
        if item.result == "ofi"
    ]
    return {"count": len(found), "opportunities": found}


# --------------------------------------------------------------------------- actions


def review_kind(review: Review) -> str:
    """``iso_change``, ``org_change`` or ``management``."""
    try:
        return _KINDS[type(review)]
    except KeyError:
        raise TypeError(f"{type(review).__name__} is not a review") from None


def review_of(action: ReviewAction) -> Review:
    """The review that decided ``action``."""
    return db.session.get(_MODELS[action.review_kind], action.review_id)


def reviews_of(actions: Sequence[ReviewAction]) -> dict[tuple[str, int], Review]:
    """The reviews that decided ``actions``, keyed by (kind, id): one query per kind, not per action."""
    wanted: dict[str, set[int]] = {}
    for action in actions:
        wanted.setdefault(action.review_kind, set()).add(action.review_id)
    found: dict[tuple[str, int], Review] = {}
    for kind, ids in wanted.items():
        model = _MODELS[kind]
        for review in db.session.scalars(select(model).where(model.id.in_(ids))):
            found[(kind, review.id)] = review
    return found


def add_action(
    review: Review,
    actor: User | Actor,
    *,
    title: str,
    owner_id: int,
    due_date: dt.date | str,
    description: str = "",
    category: str = "",
    today: dt.date | None = None,
) -> ReviewAction:
    """An action the review decided (a transition, change or management-review output), with owner and date."""
    actor = as_actor(actor)
    kind = review_kind(review)
    require_roles(actor, REVIEW_ROLES, "plan review actions")
    if review.state not in ACTION_STATES[kind]:
        states = ", ".join(review.lifecycle.state(s).label.lower() for s in ACTION_STATES[kind])
        raise InvalidTransition(f"Actions are added while the review is {states} (it is {review.state_label.lower()})")
    errors: dict[str, str] = {}
    title = clean_text(errors, "title", title, limit=200)
    description = clean_text(errors, "description", description, required=False, limit=MAX_TEXT)
    due = clean_date(errors, "due_date", due_date)
    if due and due < (today or dt.date.today()):
        errors["due_date"] = "cannot be in the past"
    owner = row_by_id(User, owner_id)
    if owner is None or not owner.active:
        errors["owner_id"] = "must be an active user"
    elif not owner.has_role(*ACTION_OWNER_ROLES):
        errors["owner_id"] = "must be a process owner, quality officer or manager (someone who can carry it out)"
    category = (category or "").strip() if isinstance(category, str) else category
    if kind == "management":
        if category not in OUTPUT_CATEGORIES:
            errors["category"] = "must be one of: " + ", ".join(OUTPUT_CATEGORIES)
    elif category:
        errors["category"] = "applies only to the outputs of a management review"
    if errors:
        raise InvalidData(errors)
    assert owner is not None
    with recorded_change(actor, f"action added to {review.reference}") as session:
        action = ReviewAction(
            review_kind=kind,
            review_id=review.id,
            title=title,
            description=description,
            category=category,
            owner_id=owner.id,
            due_date=due,
            status="open",
        )
        session.add(action)
    return action


def _check_open(action: ReviewAction) -> None:
    if action.status != "open":
        raise InvalidTransition(f"The action is already {action.status}")


def complete_action(action: ReviewAction, actor: User | Actor, *, outcome: str) -> ReviewAction:
    """Mark an action done with what was done (its owner, a quality officer or a manager)."""
    actor = as_actor(actor)
    if actor.id != action.owner_id and not actor.roles & REVIEW_ROLES:
        raise NotPermitted("Only the action's owner, a quality officer or a manager can complete it")
    _check_open(action)
    errors: dict[str, str] = {}
    outcome = clean_text(errors, "outcome", outcome, limit=MAX_TEXT)
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, f"review action {action.id} completed"):
        action.status, action.outcome, action.done_at = "done", outcome, utcnow()
    return action


def cancel_action(action: ReviewAction, actor: User | Actor, *, reason: str) -> ReviewAction:
    """Drop an action that is no longer needed (a quality officer or a manager), with the reason."""
    actor = as_actor(actor)
    require_roles(actor, REVIEW_ROLES, "cancel review actions")
    _check_open(action)
    errors: dict[str, str] = {}
    reason = clean_text(errors, "reason", reason, limit=MAX_TEXT)
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, f"review action {action.id} cancelled"):
        action.status, action.outcome, action.done_at = "cancelled", reason, utcnow()
    return action


def actions_of(review: Review) -> list[ReviewAction]:
    return list(
        db.session.scalars(
            select(ReviewAction)
            .options(selectinload(ReviewAction.owner))
            .where(ReviewAction.review_kind == review_kind(review), ReviewAction.review_id == review.id)
            .order_by(ReviewAction.id)
        )
    )


def open_actions_for(user: User | Actor) -> list[ReviewAction]:
    """The open review actions ``user`` owns, soonest due first."""
    return list(
        db.session.scalars(
            select(ReviewAction)
            .where(ReviewAction.owner_id == user.id, ReviewAction.status == "open")
            .order_by(ReviewAction.due_date, ReviewAction.id)
        )
    )


def _cancel_open_actions(review: Review, reason: str, now: dt.datetime) -> None:
    """A review that ends without closing leaves no action open."""
    for action in db.session.scalars(
        select(ReviewAction).where(
            ReviewAction.review_kind == review_kind(review),
            ReviewAction.review_id == review.id,
            ReviewAction.status == "open",
        )
    ):
        action.status, action.done_at = "cancelled", now
        action.outcome = f"The review was {review.state_label.lower()}: {reason}"


# --------------------------------------------------------------------------- lifecycle effects and facts


@effect("iso_change_review", "complete_gap_analysis")
def _gap_analysed(review: IsoChangeReview, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    review.gap_summary = result.data["summary"]


@effect("iso_change_review", "approve_plan")
def _transition_planned(review: IsoChangeReview, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    review.transition_deadline = result.data["target_date"]


@effect("iso_change_review", "close")
def _iso_closed(review: IsoChangeReview, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    review.verification = result.data["verification"]
    review.closed_at = now


@effect("iso_change_review", "cancel")
@effect("org_change_review", "reject", "cancel")
@effect("management_review", "cancel")
def _review_ended(review: Review, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    _cancel_open_actions(review, result.data.get("reason", ""), now)


@effect("org_change_review", "complete_assessment")
def _assessed(review: OrgChangeReview, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    data = result.data
    review.consequences = data["consequences"]
    review.qms_integrity = data["qms_integrity"]
    review.resources = data["resources"]
    review.responsibilities = data["responsibilities"]


@effect("org_change_review", "approve_plan")
def _change_planned(review: OrgChangeReview, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    review.target_date = result.data["target_date"]


@effect("org_change_review", "complete_implementation")
def _change_implemented(review: OrgChangeReview, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    review.effectiveness_review_due = result.data.get("effectiveness_review_due")


@effect("org_change_review", "close")
def _change_closed(review: OrgChangeReview, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    review.evidence = result.data["evidence"]
    review.closed_at = now


@effect("management_review", "start_gathering")
def _gathering(review: ManagementReview, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    review.inputs_due = result.data.get("inputs_due")


@effect("management_review", "record_meeting")
def _meeting_held(review: ManagementReview, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    held_on = result.data["held_on"]
    if held_on > now.date():
        raise InvalidData({"held_on": "cannot be in the future"})
    review.held_on = held_on
    review.attendees = list(result.data["attendees"])


@effect("management_review", "draft_minutes")
def _minutes_drafted(review: ManagementReview, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    review.minutes = result.data["minutes"]


@effect("management_review", "approve_minutes")
def _minutes_approved(review: ManagementReview, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    review.minutes_approved_at = now


@effect("management_review", "close")
def _management_closed(review: ManagementReview, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    review.closed_at = now


def _open_action_counts(session: Session, kind: str, ids: list[int]) -> dict[int, int]:
    return dict(
        session.execute(
            select(ReviewAction.review_id, func.count())
            .where(ReviewAction.review_kind == kind, ReviewAction.status == "open", id_in(ReviewAction.review_id, ids))
            .group_by(ReviewAction.review_id)
        ).all()
    )


@facts_provider("iso_change_review", provides=("unassessed_change_count", "open_transition_action_count"))
def _iso_facts(session: Session, reviews: Sequence[IsoChangeReview]) -> dict[int, dict[str, Any]]:
    ids = [r.id for r in reviews]
    unassessed = dict(
        session.execute(
            select(IsoChangeItem.review_id, func.count())
            .where(IsoChangeItem.status == "not_assessed", id_in(IsoChangeItem.review_id, ids))
            .group_by(IsoChangeItem.review_id)
        ).all()
    )
    actions = _open_action_counts(session, "iso_change", ids)
    return {
        i: {"unassessed_change_count": unassessed.get(i, 0), "open_transition_action_count": actions.get(i, 0)}
        for i in ids
    }


@facts_provider("org_change_review", provides=("open_change_action_count",))
def _org_facts(session: Session, reviews: Sequence[OrgChangeReview]) -> dict[int, dict[str, Any]]:
    ids = [r.id for r in reviews]
    actions = _open_action_counts(session, "org_change", ids)
    return {i: {"open_change_action_count": actions.get(i, 0)} for i in ids}


@facts_provider("management_review", provides=("missing_input_count", "open_action_count"))
def _management_facts(session: Session, reviews: Sequence[ManagementReview]) -> dict[int, dict[str, Any]]:
    actions = _open_action_counts(session, "management", [r.id for r in reviews])
    return {
        r.id: {"missing_input_count": len(missing_inputs(r)), "open_action_count": actions.get(r.id, 0)}
        for r in reviews
    }


def inputs_summary(review: ManagementReview) -> list[tuple[str, str, Mapping[str, Any]]]:
    """(key, label, stored entry) for every 9.3.2 input, in the standard's order (for pages and reports)."""
    inputs = review.inputs or {}
    return [(key, label, inputs.get(key) or {}) for key, label in MANAGEMENT_REVIEW_INPUTS.items()]
