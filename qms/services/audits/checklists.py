"""Checklists: their questions, the answers on site with their finding NCs, and the evidence files."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from standards import Standard
from workflows.errors import Conflict, InvalidData, InvalidTransition, NotPermitted

from ...database import db, id_in, utcnow
from ...models import (
    FINDING_SEVERITY,
    NC_ENDED_STATES,
    RESULTS,
    Actor,
    Attachment,
    Audit,
    ChecklistItem,
    Nonconformity,
    User,
)
from ..attachments import attach
from ..audit_trail import recorded_change
from ..references import next_reference
from ..standards import find_standard as _find_standard  # bundled or imported
from ..validation import clean_text
from ..workflow import apply_event, as_actor, history_of
from .common import _clause_and_descendants

MAX_QUESTIONS = 500
ATTACHMENT_LIFECYCLE = "checklist_item"


# --------------------------------------------------------------------------- checklists


def can_answer(audit: Audit, actor: User | Actor) -> bool:
    actor = as_actor(actor)
    return actor.id in audit.auditor_ids


def can_edit_checklist(audit: Audit, actor: User | Actor) -> bool:
    actor = as_actor(actor)
    return actor.id in audit.auditor_ids or bool(actor.roles & {"quality_officer"})


def checklist_questions(standard: Standard, numbers: Sequence[str]) -> list[tuple[str, str, str]]:
    """(clause number, clause URN, question) for the chosen clauses and their sub-clauses.

    A clause without its own questions gets one general question, unless a sub-clause
    has questions (the sub-clauses are then asked instead).
    """
    chosen = _clause_and_descendants(standard, numbers)
    rows: list[tuple[str, str, str]] = []
    for number in chosen:
        clause = standard.clause(number)
        questions = tuple(getattr(clause, "questions", ()) or ())
        if questions:
            rows += [(clause.number, clause.urn, q) for q in questions]
            continue
        children = [c for c in chosen if c.startswith(number + ".")]
        if children or not clause.title:
            continue
        rows.append(
            (
                clause.number,
                clause.urn,
                f"What evidence shows that {clause.number} {clause.title} is planned, implemented and effective?",
            )
        )
    return rows


def generate_checklist(audit: Audit, actor: User | Actor, *, replace: bool = False) -> int:
    """Fill the checklist from the audit's clauses and the standard's questions; returns items added.

    Answered items are never thrown away: ``replace`` removes only unanswered ones.
    """
    actor = as_actor(actor)
    _check_editable(audit, actor)
    standard = _find_standard(audit.standard_identifier)
    rows = checklist_questions(standard, audit.clause_numbers or [])
    with recorded_change(actor, f"checklist of {audit.reference} generated") as session:
        if replace:
            for item in list(audit.items):
                if item.result is None and item.nonconformity_id is None:
                    audit.items.remove(item)
                    session.delete(item)
        existing = {(item.clause_urn, item.question) for item in audit.items}
        position = max((item.position for item in audit.items), default=0)
        added = 0
        for number, urn, question in rows:
            if (urn, question) in existing or len(audit.items) >= MAX_QUESTIONS:
                continue
            position += 1
            audit.items.append(
                ChecklistItem(
                    position=position,
                    standard_identifier=standard.identifier,
                    clause_number=number,
                    clause_urn=urn,
                    question=question,
                )
            )
            added += 1
    return added


def _check_editable(audit: Audit, actor: Actor) -> None:
    if not can_edit_checklist(audit, actor):
        raise NotPermitted("Only the audit's auditors or a quality officer can edit its checklist")
    if audit.state not in Audit.EDITABLE_STATES:
        raise InvalidTransition(f"The checklist is fixed once the audit is {audit.state_label.lower()}")


def add_question(audit: Audit, actor: User | Actor, *, question: str, clause_number: str = "") -> ChecklistItem:
    actor = as_actor(actor)
    _check_editable(audit, actor)
    errors: dict[str, str] = {}
    question = clean_text(errors, "question", question, limit=2000)
    clause_number = (clause_number or "").strip()
    urn = ""
    try:
        standard = _find_standard(audit.standard_identifier)
        if clause_number:
            if standard.has_clause(clause_number):
                urn = standard.clause(clause_number).urn
            else:
                errors["clause_number"] = f"{standard.identifier} has no clause {clause_number!r}"
    except KeyError:
        errors["standard"] = f"no standard {audit.standard_identifier!r}"
    if len(audit.items) >= MAX_QUESTIONS:
        errors["question"] = f"a checklist holds at most {MAX_QUESTIONS} questions"
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, f"question added to {audit.reference}"):
        item = ChecklistItem(
            position=max((i.position for i in audit.items), default=0) + 1,
            standard_identifier=audit.standard_identifier,
            clause_number=clause_number,
            clause_urn=urn,
            question=question,
        )
        audit.items.append(item)
    return item


def edit_question(item: ChecklistItem, actor: User | Actor, *, question: str) -> ChecklistItem:
    actor = as_actor(actor)
    _check_editable(item.audit, actor)
    errors: dict[str, str] = {}
    question = clean_text(errors, "question", question, limit=2000)
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, f"question changed on {item.audit.reference}"):
        item.question = question
    return item


def remove_question(item: ChecklistItem, actor: User | Actor) -> None:
    actor = as_actor(actor)
    audit = item.audit
    _check_editable(audit, actor)
    with recorded_change(actor, f"question removed from {audit.reference}") as session:
        audit.items.remove(item)
        session.delete(item)


def answer(
    item: ChecklistItem,
    actor: User | Actor,
    *,
    result: str | None,
    notes: str = "",
    expected_revision: int | None = None,
    today: dt.date | None = None,
) -> ChecklistItem:
    """Save an answer on site; a major or minor finding raises its nonconformity (once) in the same commit.

    Saving the same answer again changes nothing and raises no second NC. ``expected_revision``
    (the revision the tablet last saw) turns a save from a stale copy into a Conflict.
    """
    actor = as_actor(actor)
    audit = item.audit
    if not can_answer(audit, actor):
        raise NotPermitted("Only the auditors of this audit can answer its checklist")
    if audit.state not in Audit.ANSWERING_STATES:
        raise InvalidTransition(
            f"Answers are recorded only while the audit is in progress (it is {audit.state_label.lower()})"
        )
    errors: dict[str, str] = {}
    if result in ("", None):
        result = None
    elif result not in RESULTS:
        errors["result"] = "must be one of: " + ", ".join(RESULTS)
    notes = clean_text(errors, "notes", notes, required=False, limit=20_000)
    if result in FINDING_SEVERITY and not notes:
        errors["notes"] = "describe the evidence of the nonconformity"
    if errors:
        raise InvalidData(errors)
    try:
        with recorded_change(actor, f"checklist answer on {audit.reference}") as session:
            # checked again inside the write transaction (on SQLite the rows are re-read under the lock)
            if audit.state not in Audit.ANSWERING_STATES:
                raise InvalidTransition(f"The audit is now {audit.state_label.lower()}; answers are closed")
            if item.result == result and item.notes == notes:
                return item  # the same answer again (a retried save): nothing to write
            if expected_revision is not None and expected_revision != item.revision:
                raise Conflict(
                    f"Someone else saved this answer meanwhile (revision {item.revision}, you had "
                    f"{expected_revision}); reload to see it"
                )
            with session.no_autoflush:
                if item.nonconformity_id is not None:
                    _follow_the_corrected_answer(item, actor, result, notes, today)
                if result in FINDING_SEVERITY and item.nonconformity_id is None:
                    item.nonconformity = _finding_nc(session, audit, item, actor, result, notes, today)
                item.result, item.notes = result, notes
                item.answered_by_id, item.answered_at = (actor.id, utcnow()) if result else (None, None)
    except (StaleDataError, IntegrityError):
        # another auditor's save of this question committed first (the UPDATE matched no row,
        # or both raised its NC): theirs stands, nothing of this one was written
        db.session.refresh(item)
        raise Conflict("Someone else saved this answer at the same moment; reload to see it") from None
    return item


def _follow_the_corrected_answer(
    item: ChecklistItem, actor: Actor, result: str | None, notes: str, today: dt.date | None
) -> None:
    """An answer that raised an NC was changed: while nobody has triaged the NC it follows the answer
    (withdrawn if no longer a finding, regraded if the grade changed); after triage it stands, and the
    auditor is told who can reject it."""
    nc = item.nonconformity
    if nc.state in NC_ENDED_STATES or (result in FINDING_SEVERITY and FINDING_SEVERITY[result] == nc.severity):
        return
    if nc.state != "reported":
        triaged_by = next((h.actor_name for h in history_of(nc) if h.event == "triage"), "someone")
        raise InvalidTransition(
            f"{nc.reference}, raised by this answer, was already triaged by {triaged_by}: ask a quality officer or "
            "a manager to reject it (or grade it again) before you change the answer"
        )
    if result in FINDING_SEVERITY:
        nc.severity = FINDING_SEVERITY[result]
        return
    now_reads = RESULTS.get(result or "", "not answered").lower()
    apply_event(nc, "withdraw", actor, {"reason": f"The checklist answer was corrected to “{now_reads}”."}, today=today)
    item.nonconformity = None


def _finding_nc(
    session: Session, audit: Audit, item: ChecklistItem, actor: Actor, result: str, notes: str, today: dt.date | None
) -> Nonconformity:
    today = today or dt.date.today()
    label = f"{item.clause_number} " if item.clause_number else ""
    first_line = notes.strip().splitlines()[0] if notes.strip() else item.question
    title = f"{audit.reference} {label}finding: {first_line}"[:200]
    nc = Nonconformity(
        reference=next_reference(session, "NC", today.year),
        title=title,
        description=(
            f"Raised by internal audit {audit.reference} ({audit.title}).\n\n"
            f"Question: {item.question}\n\nEvidence: {notes}"
        ),
        source="internal_audit",
        severity=FINDING_SEVERITY[result],
        process=audit.process.name if audit.process else "",
        clause_refs=[item.clause_number] if item.clause_number else [],
        detected_on=today,
        raised_by_id=actor.id,
        owner_id=audit.process.owner_id if audit.process else None,
    )
    session.add(nc)
    return nc


def attach_evidence(item: ChecklistItem, actor: User | Actor, stream: BinaryIO, filename: str) -> Attachment:
    """A photo or file as evidence for one answer (same rules as answering)."""
    actor = as_actor(actor)
    audit = item.audit
    if not can_answer(audit, actor):
        raise NotPermitted("Only the auditors of this audit can add evidence to its checklist")
    if audit.state not in Audit.ANSWERING_STATES:
        raise InvalidTransition("Evidence is added only while the audit is in progress")
    return attach(item, actor, stream, filename, lifecycle=ATTACHMENT_LIFECYCLE)


def evidence_of(items: Sequence[ChecklistItem]) -> dict[int, list[Attachment]]:
    """Evidence files per checklist item, in one query."""
    found: dict[int, list[Attachment]] = defaultdict(list)
    ids = [item.id for item in items]
    if ids:
        rows = db.session.scalars(
            select(Attachment)
            .where(Attachment.lifecycle == ATTACHMENT_LIFECYCLE, id_in(Attachment.record_id, ids))
            .order_by(Attachment.id)
        )
        for attachment in rows:
            found[attachment.record_id].append(attachment)
    return found
