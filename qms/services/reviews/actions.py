"""Review actions: what a review decided, with its owner and due date, for every kind of review."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from workflows import FireResult
from workflows.errors import InvalidData, InvalidTransition, NotPermitted

from ...database import db, event_date, id_in, utcnow
from ...models import OUTPUT_CATEGORIES, Actor, IsoChangeReview, ManagementReview, OrgChangeReview, ReviewAction, User
from ..audit_trail import recorded_change
from ..validation import clean_date, clean_text, require_roles, row_by_id
from ..workflow import as_actor, effect
from .common import MAX_TEXT, REVIEW_ROLES, Review

#: who may own a review action (someone who can carry it out)
ACTION_OWNER_ROLES = ("process_owner", "quality_officer", "manager")
#: review kind → the states in which actions may be added to the review
ACTION_STATES = {
    "iso_change": ("gap_analysis", "transition_planning", "implementing", "verification"),
    "org_change": ("impact_assessment", "planning", "implementing"),
    "management": ("held", "minutes_drafted", "minutes_approved", "tracking_actions"),
}
_KINDS: dict[type, str] = {IsoChangeReview: "iso_change", OrgChangeReview: "org_change", ManagementReview: "management"}
_MODELS: dict[str, type] = {kind: model for model, kind in _KINDS.items()}


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
    if due and due < (today or event_date()):
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


@effect("iso_change_review", "cancel")
@effect("org_change_review", "reject", "cancel")
@effect("management_review", "cancel")
def _review_ended(review: Review, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    _cancel_open_actions(review, result.data.get("reason", ""), now)


def _open_action_counts(session: Session, kind: str, ids: list[int]) -> dict[int, int]:
    return dict(
        session.execute(
            select(ReviewAction.review_id, func.count())
            .where(ReviewAction.review_kind == kind, ReviewAction.status == "open", id_in(ReviewAction.review_id, ids))
            .group_by(ReviewAction.review_id)
        ).all()
    )
