"""ISO-change reviews: a new edition's clause changes, their assessment, verification; lifecycle effects and facts."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from standards import ClauseRef, Standard, StandardDiff
from workflows import FireResult
from workflows.errors import InvalidData, InvalidTransition

from ...database import db, id_in, utcnow
from ...models import (
    GAP_STATUSES,
    Actor,
    Audit,
    ChecklistItem,
    Document,
    ExternalAudit,
    IsoChangeItem,
    IsoChangeReview,
    Process,
    User,
)
from ..audit_trail import recorded_change
from ..references import next_reference
from ..standards import diff_editions, find_standard
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


def _within(number: str, clause: str) -> bool:
    """Whether ``number`` is ``clause`` or one of its sub-clauses (also for URNs)."""
    return number == clause or number.startswith(clause + ".")


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
