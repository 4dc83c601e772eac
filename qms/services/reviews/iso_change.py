"""ISO-change reviews: a new edition's clause changes, their assessment, verification; lifecycle effects and facts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from standards import Standard, StandardDiff
from workflows import FireResult
from workflows.errors import InvalidData, InvalidTransition

from ...database import db, id_in, utcnow
from ...models import (
    GAP_STATUSES,
    Actor,
    Audit,
    AuditProgramme,
    ChecklistItem,
    ExternalAudit,
    IsoChangeItem,
    IsoChangeReview,
    User,
)
from ..audit_trail import recorded_change
from ..references import next_reference
from ..standards import diff_editions, find_standard
from ..standards_citations import citations_of
from ..validation import clean_date, clean_text, require_roles, row_by_id
from ..workflow import as_actor, effect, facts_provider
from .actions import _open_action_counts
from .common import MAX_TEXT, REVIEW_ROLES, _review_change

#: the numbering that documents' and processes' clause references use
DOCUMENT_STANDARD = "iso-9001-2015"
ISO_CLOSED_STATES = ("closed", "cancelled")
GAP_ANALYSIS_STATES = ("opened", "gap_analysis")
VERIFICATION_STATES = ("implementing", "verification")


def _standard(errors: dict[str, str], name: str, identifier: Any) -> Standard | None:
    if not isinstance(identifier, str) or not identifier.strip():
        errors[name] = "is required"
        return None
    try:
        return find_standard(identifier.strip())
    except KeyError:
        errors[name] = f"no standard {identifier.strip()!r}"
        return None


# --------------------------------------------------------------------------- ISO-change review


def _references(groups: list[dict[str, Any]]) -> dict[str, Any]:
    """An item's references: every group of citing records, and the documents, processes and
    question counts the API has always given."""
    by_kind = {group["kind"]: group for group in groups}
    documents = [
        {"id": c["id"], "number": c["label"].split(" ", 1)[0], "title": c["label"].partition(" ")[2]}
        for c in by_kind.get("documents", {}).get("items", [])
    ]
    processes = [
        {"id": c["id"], "code": c["label"].rpartition("(")[2].rstrip(")"), "name": c["label"].rpartition(" (")[0]}
        for c in by_kind.get("processes", {}).get("items", [])
    ]
    question_ids = sorted(c["id"] for c in by_kind.get("questions", {}).get("items", []))
    return {
        "documents": documents,
        "processes": processes,
        "questions": by_kind.get("questions", {}).get("count", 0),
        "question_ids": question_ids,
        "cited_by": groups,
    }


def visible_references(items: Sequence[IsoChangeItem], user: Any) -> dict[int, dict[str, Any]]:
    """Each item's references (by item id) as ``user`` may read them: the references were gathered
    when the review was opened, by someone who sees every document, so a confidential or restricted
    document's number and title are replaced here unless ``user`` may see it (one query)."""
    from ..documents import HIDDEN_DOCUMENT, visible_ids

    refs = {item.id: dict(item.references or {}) for item in items}
    ids: set[int] = set()
    for one in refs.values():
        ids.update(d["id"] for d in one.get("documents") or [])
        for group in one.get("cited_by") or []:
            if group.get("kind") == "documents":
                ids.update(c["id"] for c in group.get("items") or [])
    if not ids:
        return refs
    seen = visible_ids(ids, user)
    if ids <= seen:
        return refs
    for one in refs.values():
        if "documents" in one:
            one["documents"] = [
                d if d["id"] in seen else {"id": d["id"], "number": "", "title": HIDDEN_DOCUMENT}
                for d in one["documents"] or []
            ]
        if "cited_by" in one:
            one["cited_by"] = [
                {**group, "items": [c if c["id"] in seen else {**c, "label": HIDDEN_DOCUMENT} for c in group["items"]]}
                if group.get("kind") == "documents"
                else group
                for group in one["cited_by"] or []
            ]
    return refs


def _change_items(old: Standard, diff: StandardDiff) -> list[IsoChangeItem]:
    """One item per clause change, with what in the QMS cites the old clause (the citation registry)."""
    cited = citations_of(old, [change.old.number for change in diff.changes if change.old is not None])
    return [
        IsoChangeItem(
            change=change.kind,
            old_clause=change.old.number if change.old else "",
            new_clause=change.new.number if change.new else "",
            old_title=(change.old.title if change.old else "")[:200],
            new_title=(change.new.title if change.new else "")[:200],
            description=change.description,
            references=_references(cited.get(change.old.number, []) if change.old else []),
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


#: the states in which the transition's internal audit is planned into the audit programme
AUDIT_PLANNING_STATES = ("transition_planning", "implementing")
#: the kinds of change whose new clause the transition audit examines
_AUDITED_CHANGES = ("added", "changed", "moved", "renamed")


def transition_clauses(review: IsoChangeReview) -> list[str]:
    """The clauses of the new edition that are new or changed, in document order (what the transition audit asks)."""
    try:
        new = find_standard(review.new_standard)
    except KeyError:  # an imported standard no longer there: nothing to audit against
        return []
    wanted = {i.new_clause for i in review.items if i.change in _AUDITED_CHANGES and i.new_clause}
    return [c.number for c in new.clauses if c.number in wanted]


def plan_transition_audit(
    review: IsoChangeReview,
    actor: User | Actor,
    *,
    planned_start: dt.date | str,
    planned_end: dt.date | str | None = None,
    title: str = "",
) -> Audit:
    """Add an internal audit of the new and changed clauses to the audit programme, with their checklist.

    The audit is to the new edition; its checklist holds the new edition's questions for those
    clauses; it goes into the programme of its year when there is one, and becomes the internal
    audit that verifies the transition. Everything is written in one transaction.
    """
    from ..audits.checklists import checklist_questions

    actor = as_actor(actor)
    require_roles(actor, REVIEW_ROLES, "plan the transition audit")
    if review.state not in AUDIT_PLANNING_STATES:
        raise InvalidTransition(
            "The transition audit is planned during transition planning or implementation "
            f"(the review is {review.state_label.lower()})"
        )
    errors: dict[str, str] = {}
    start = clean_date(errors, "planned_start", planned_start)
    end = clean_date(errors, "planned_end", planned_end, required=False) or start
    if start and end and end < start:
        errors["planned_end"] = "cannot be before the planned start"
    if start and start < dt.date.today():
        errors["planned_start"] = "cannot be in the past"
    title = clean_text(errors, "title", title, required=False, limit=200)
    if review.verification_audit_id is not None and review.verification_audit.state != "cancelled":
        errors["planned_start"] = f"the transition audit {review.verification_audit.reference} is already planned"
    numbers = transition_clauses(review)
    if not numbers:
        errors["planned_start"] = "no new or changed clause to audit"
    if errors:
        raise InvalidData(errors)
    assert start is not None and end is not None
    new = find_standard(review.new_standard)
    rows = checklist_questions(new, numbers)
    programme = db.session.scalar(
        select(AuditProgramme).where(AuditProgramme.year == start.year, AuditProgramme.site_id.is_(None))
    )
    with recorded_change(actor, f"transition audit planned for {review.reference}") as session:
        audit = Audit(
            reference=next_reference(session, "AUD", start.year),
            kind="internal",
            title=title or f"Transition audit: {new.label}"[:200],
            programme_id=programme.id if programme else None,
            standard_identifier=new.identifier,
            clause_numbers=numbers,
            scope=f"The clauses new or changed in {new.label} ({review.reference})",
            criteria=new.title[:2000],
            objectives="Verify that the QMS meets the new and changed requirements before the certification body's "
            "transition audit.",
            planned_start=start,
            planned_end=end,
            created_by_id=actor.id,
        )
        for position, (number, urn, question) in enumerate(rows, start=1):
            audit.items.append(
                ChecklistItem(
                    position=position,
                    standard_identifier=new.identifier,
                    clause_number=number,
                    clause_urn=urn,
                    question=question,
                )
            )
        session.add(audit)
        session.flush()
        review.verification_audit_id = audit.id
    return audit


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
