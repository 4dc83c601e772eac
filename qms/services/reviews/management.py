"""Management reviews (9.3): planning, compiling the inputs and their notes; the lifecycle's effects and facts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from workflows import FireResult
from workflows.errors import InvalidData, InvalidTransition

from ...database import utcnow
from ...models import MANAGEMENT_REVIEW_INPUTS, Actor, ManagementReview, User
from ..audit_trail import recorded_change
from ..references import next_reference
from ..validation import clean_date, clean_text, require_roles, row_by_id
from ..workflow import as_actor, effect, facts_provider
from .actions import _open_action_counts
from .common import MAX_TEXT, REVIEW_ROLES, _review_change
from .inputs import compiled_inputs

INPUT_STATES = ("planned", "gathering_inputs", "ready")


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


def inputs_summary(review: ManagementReview, reader: Any = None) -> list[tuple[str, str, Mapping[str, Any]]]:
    """(key, label, stored entry) for every 9.3.2 input, in the standard's order (for pages and reports);
    with ``reader``, as they may read them (``inputs_for``)."""
    inputs = (review.inputs or {}) if reader is None else inputs_for(review, reader)
    return [(key, label, inputs.get(key) or {}) for key, label in MANAGEMENT_REVIEW_INPUTS.items()]


def inputs_for(review: ManagementReview, reader: Any) -> Mapping[str, Any]:
    """The review's stored inputs as ``reader`` may read them: the documents overdue for review were
    compiled by someone who sees every document, so a confidential or restricted one's number and
    title are replaced unless ``reader`` may see it (the count stays)."""
    from ..documents import HIDDEN_DOCUMENT, visible_ids

    inputs = review.inputs or {}
    entry = inputs.get("monitoring_results")
    compiled = entry.get("compiled") if isinstance(entry, Mapping) else None
    documents = compiled.get("documents") if isinstance(compiled, Mapping) else None
    if not isinstance(documents, list) or not documents:
        return inputs
    ids = sorted({d["id"] for d in documents if isinstance(d, Mapping) and isinstance(d.get("id"), int)})
    seen = visible_ids(ids, reader)
    shown = [
        d if not isinstance(d, Mapping) or d.get("id") in seen else {**d, "number": "", "title": HIDDEN_DOCUMENT}
        for d in documents
    ]
    return {**inputs, "monitoring_results": {**entry, "compiled": {**compiled, "documents": shown}}}


# --------------------------------------------------------------------------- lifecycle effects and facts


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


@facts_provider("management_review", provides=("missing_input_count", "open_action_count"))
def _management_facts(session: Session, reviews: Sequence[ManagementReview]) -> dict[int, dict[str, Any]]:
    actions = _open_action_counts(session, "management", [r.id for r in reviews])
    return {
        r.id: {"missing_input_count": len(missing_inputs(r)), "open_action_count": actions.get(r.id, 0)}
        for r in reviews
    }
