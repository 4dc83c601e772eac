"""The context of the organisation (ISO 9001 4.1, 4.2): issues on the SWOT board (with their PESTLE
category), interested parties and their relevant requirements, and the periodic context review that
records what changed and answers the climate-change question of Amd 1:2024.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, func, or_, select, true
from sqlalchemy.orm import selectinload

from workflows import FireResult
from workflows.errors import InvalidData, NotPermitted

from ..database import db, utcnow
from ..models import (
    PARTY_CATEGORIES,
    PESTLE,
    SWOT,
    Actor,
    ContextIssue,
    ContextReview,
    InterestedParty,
    Site,
    User,
)
from .audit_trail import recorded_change, register_audited
from .filters import contains
from .references import next_reference
from .validation import clean_date, clean_text, require_roles, row_by_id
from .workflow import as_actor, effect

register_audited(ContextIssue, InterestedParty)

#: who keeps the context registers and plans their review
CONTEXT_ROLES = frozenset({"manager", "quality_officer"})
OWNER_ROLES = ("process_owner", "quality_officer", "manager")
ISSUE_FIELDS = (
    "title",
    "description",
    "swot",
    "pestle",
    "site_id",
    "owner_id",
    "review_on",
    "climate_related",
    "active",
)
PARTY_FIELDS = (
    "name",
    "category",
    "needs",
    "requirements",
    "monitoring",
    "climate_requirements",
    "site_id",
    "owner_id",
    "review_on",
    "active",
)
#: a context review is due this long after the last one (when no date was set)
REVIEW_INTERVAL = dt.timedelta(days=365)


def can_edit_item(item: ContextIssue | InterestedParty, actor: User | Actor) -> bool:
    actor = as_actor(actor)
    return bool(actor.roles & CONTEXT_ROLES) or item.owner_id == actor.id


def _common(errors: dict[str, str], data: Mapping[str, Any], partial: bool, values: dict[str, Any]) -> None:
    if not partial or "site_id" in data:
        site_id = data.get("site_id")
        if site_id in (None, "", 0):
            values["site_id"] = None
        else:
            site = row_by_id(Site, site_id)
            if site is None:
                errors["site_id"] = "no such site"
            else:
                values["site_id"] = site.id
    if not partial or "owner_id" in data:
        owner = row_by_id(User, data.get("owner_id"))
        if owner is None or not owner.active or not owner.has_role(*OWNER_ROLES):
            errors["owner_id"] = "must be an active process owner, quality officer or manager"
        else:
            values["owner_id"] = owner.id
    if not partial or "review_on" in data:
        values["review_on"] = clean_date(errors, "review_on", data.get("review_on"))


def _boolean(errors: dict[str, str], name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "on", "yes", "no", ""):
        return value.lower() in ("true", "1", "on", "yes")
    errors[name] = "must be true or false"
    return False


def _unknown(errors: dict[str, str], data: Mapping[str, Any], allowed: Sequence[str]) -> None:
    for name in sorted(set(data) - set(allowed)):
        errors[name] = "is not a field of this record"


def _issue_values(data: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    errors: dict[str, str] = {}
    _unknown(errors, data, ISSUE_FIELDS)
    values: dict[str, Any] = {}
    if not partial or "title" in data:
        values["title"] = clean_text(errors, "title", data.get("title"), limit=200)
    if not partial or "description" in data:
        values["description"] = clean_text(errors, "description", data.get("description"), required=False, limit=5000)
    if not partial or "swot" in data:
        if data.get("swot") not in SWOT:
            errors["swot"] = "must be one of: " + ", ".join(SWOT)
        else:
            values["swot"] = data["swot"]
    if not partial or "pestle" in data:
        pestle = data.get("pestle") or None
        if pestle is not None and pestle not in PESTLE:
            errors["pestle"] = "must be one of: " + ", ".join(PESTLE)
        else:
            values["pestle"] = pestle
    for name in ("climate_related", "active"):
        if name in data:
            values[name] = _boolean(errors, name, data[name])
    _common(errors, data, partial, values)
    if errors:
        raise InvalidData(errors)
    return values


def save_issue(actor: User | Actor, data: Mapping[str, Any], issue: ContextIssue | None = None) -> ContextIssue:
    """Record a new internal or external issue, or change one (all fields, or those given when editing)."""
    actor = as_actor(actor)
    if issue is None:
        require_roles(actor, CONTEXT_ROLES, "record context issues")
    elif not can_edit_item(issue, actor):
        raise NotPermitted("Only the issue's owner, a quality officer or a manager can edit it")
    values = _issue_values(data, partial=issue is not None)
    with recorded_change(actor, "context issue recorded" if issue is None else f"{issue.reference} edited") as session:
        if issue is None:
            issue = ContextIssue(reference=next_reference(session, "CTX", utcnow().year), **values)
            session.add(issue)
        else:
            for name, value in values.items():
                setattr(issue, name, value)
    return issue


def _party_values(data: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    errors: dict[str, str] = {}
    _unknown(errors, data, PARTY_FIELDS)
    values: dict[str, Any] = {}
    texts = {"name": (200, True), "requirements": (5000, True), "monitoring": (5000, True)}
    texts |= {"needs": (5000, False), "climate_requirements": (5000, False)}
    for name, (limit, required) in texts.items():
        if not partial or name in data:
            values[name] = clean_text(errors, name, data.get(name), required=required, limit=limit)
    if not partial or "category" in data:
        if data.get("category") not in PARTY_CATEGORIES:
            errors["category"] = "must be one of: " + ", ".join(PARTY_CATEGORIES)
        else:
            values["category"] = data["category"]
    if "active" in data:
        values["active"] = _boolean(errors, "active", data["active"])
    _common(errors, data, partial, values)
    if errors:
        raise InvalidData(errors)
    return values


def save_party(actor: User | Actor, data: Mapping[str, Any], party: InterestedParty | None = None) -> InterestedParty:
    """Record a new interested party, or change one."""
    actor = as_actor(actor)
    if party is None:
        require_roles(actor, CONTEXT_ROLES, "record interested parties")
    elif not can_edit_item(party, actor):
        raise NotPermitted("Only the party's owner, a quality officer or a manager can edit it")
    values = _party_values(data, partial=party is not None)
    with recorded_change(
        actor, "interested party recorded" if party is None else f"{party.reference} edited"
    ) as session:
        if party is None:
            party = InterestedParty(reference=next_reference(session, "IP", utcnow().year), **values)
            session.add(party)
        else:
            for name, value in values.items():
                setattr(party, name, value)
    return party


# --------------------------------------------------------------------------- queries


def issue_list(
    *, swot: str = "", pestle: str = "", site: int | None = None, q: str = "", active: bool = True
) -> Select:
    query = select(ContextIssue).options(selectinload(ContextIssue.owner), selectinload(ContextIssue.site))
    if active:
        query = query.where(ContextIssue.active.is_(True))
    if swot in SWOT:
        query = query.where(ContextIssue.swot == swot)
    if pestle in PESTLE:
        query = query.where(ContextIssue.pestle == pestle)
    if site:
        query = query.where(or_(ContextIssue.site_id == site, ContextIssue.site_id.is_(None)))
    if q:
        query = query.where(or_(contains(ContextIssue.title, q), contains(ContextIssue.description, q)))
    return query.order_by(ContextIssue.id)


def party_list(*, category: str = "", q: str = "", active: bool = True, site: int | None = None) -> Select:
    """The interested parties (of a site and the organisation-wide ones when ``site`` is given)."""
    query = select(InterestedParty).options(selectinload(InterestedParty.owner), selectinload(InterestedParty.site))
    if active:
        query = query.where(InterestedParty.active.is_(True))
    if site:
        query = query.where(or_(InterestedParty.site_id == site, InterestedParty.site_id.is_(None)))
    if category in PARTY_CATEGORIES:
        query = query.where(InterestedParty.category == category)
    if q:
        query = query.where(or_(contains(InterestedParty.name, q), contains(InterestedParty.requirements, q)))
    return query.order_by(InterestedParty.id)


def swot_board(site: int | None = None) -> dict[str, list[ContextIssue]]:
    """The active issues by SWOT quadrant (of a site and the organisation-wide ones, or all)."""
    board: dict[str, list[ContextIssue]] = {key: [] for key in SWOT}
    for issue in db.session.scalars(issue_list(site=site)):
        board[issue.swot].append(issue)
    return board


def last_completed_review(site: int | None = None, *, exact: bool = False) -> ContextReview | None:
    """The latest completed context review: of any scope; with ``site``, of that site or the whole
    organisation; with ``exact``, of exactly that scope (``site`` None: organisation-wide only)."""
    query = select(ContextReview).where(ContextReview.state == "completed")
    if exact:
        query = query.where(ContextReview.site_id == site if site else ContextReview.site_id.is_(None))
    elif site:
        query = query.where(or_(ContextReview.site_id == site, ContextReview.site_id.is_(None)))
    return db.session.scalar(query.order_by(ContextReview.completed_at.desc(), ContextReview.id.desc()).limit(1))


# --------------------------------------------------------------------------- the context review


def plan_context_review(
    actor: User | Actor,
    *,
    title: Any,
    planned_for: Any,
    scope: Any = "",
    chair_id: Any = None,
    site_id: Any = None,
) -> ContextReview:
    """Plan a review of the issues and interested parties."""
    actor = as_actor(actor)
    require_roles(actor, CONTEXT_ROLES, "plan context reviews")
    errors: dict[str, str] = {}
    title = clean_text(errors, "title", title, limit=200)
    scope = clean_text(errors, "scope", scope, required=False, limit=5000)
    planned = clean_date(errors, "planned_for", planned_for)
    chair = row_by_id(User, chair_id if chair_id not in (None, "", 0) else actor.id)
    if chair is None or not chair.active or not chair.has_role("manager", "quality_officer"):
        errors["chair_id"] = "must be an active manager or quality officer"
    site = None
    if site_id not in (None, "", 0):
        site = row_by_id(Site, site_id)
        if site is None:
            errors["site_id"] = "no such site"
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, "context review planned") as session:
        review = ContextReview(
            reference=next_reference(session, "CRV", planned.year),
            title=title,
            planned_for=planned,
            scope=scope,
            chair_id=chair.id,
            site_id=site.id if site else None,
        )
        session.add(review)
    return review


def changes_since(since: dt.datetime | None, site: int | None = None) -> dict[str, Any]:
    """The registers now, and the issues and parties added or changed since ``since`` (all when None);
    with ``site``, only that site's items and the organisation-wide ones."""

    def in_scope(model: Any) -> Any:
        return or_(model.site_id == site, model.site_id.is_(None)) if site else true()

    def changed(model: Any, label: Any) -> list[dict[str, Any]]:
        query = select(model.reference, label, model.active, model.created_at).where(in_scope(model))
        if since is not None:
            query = query.where(model.updated_at > since)
        rows = db.session.execute(query.order_by(model.id).limit(200)).all()
        return [
            {
                "reference": ref,
                "title": title,
                "change": "archived" if not active else ("added" if since is None or created > since else "changed"),
            }
            for ref, title, active, created in rows
        ]

    counts = dict(
        db.session.execute(
            select(ContextIssue.swot, func.count())
            .where(ContextIssue.active.is_(True), in_scope(ContextIssue))
            .group_by(ContextIssue.swot)
        ).all()
    )
    parties = (
        db.session.scalar(select(func.count()).where(InterestedParty.active.is_(True), in_scope(InterestedParty))) or 0
    )
    site_row = db.session.get(Site, site) if site else None
    return {
        "since": since.isoformat() if since else None,
        "site": site_row.name if site_row else None,
        "issues": {SWOT[k]: counts.get(k, 0) for k in SWOT},
        "interested_parties": parties,
        "issues_changed": changed(ContextIssue, ContextIssue.title),
        "parties_changed": changed(InterestedParty, InterestedParty.name),
    }


@effect("context_review", "complete")
def _completed(review: ContextReview, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    data = result.data
    if data["next_review_on"] <= now.date():
        raise InvalidData({"next_review_on": "must be in the future"})
    previous = last_completed_review(review.site_id, exact=True)  # the last review of the same scope
    review.changes = data["changes"]
    review.climate_change_relevant = data["climate_change_relevant"]
    review.climate_change_notes = data["climate_change_notes"]
    review.next_review_on = data["next_review_on"]
    review.snapshot = changes_since(previous.completed_at if previous else None, review.site_id)
    review.completed_at = now


@effect("context_review", "cancel")
def _cancelled(review: ContextReview, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    review.cancel_reason = result.data["reason"]


# --------------------------------------------------------------------------- My work and the digest


def work_conditions(actor: Actor, today: dt.date) -> tuple[Any, Any, Any]:
    """What is work for ``actor``: the open context reviews they chair, and their issues and parties due a review."""
    from .risks import WORK_HORIZON

    horizon = today + WORK_HORIZON
    reviews = (ContextReview.chair_id == actor.id) & ContextReview.state.in_(ContextReview.OPEN_STATES)
    issues = (ContextIssue.owner_id == actor.id) & ContextIssue.active.is_(True) & (ContextIssue.review_on <= horizon)
    parties = (
        (InterestedParty.owner_id == actor.id)
        & InterestedParty.active.is_(True)
        & (InterestedParty.review_on <= horizon)
    )
    return reviews, issues, parties


#: the kinds of context work, in the order My work lists them
WORK_KINDS = ("context_review", "context_issue", "interested_party")


def work_items(actor: Actor, today: dt.date, kinds: Sequence[str] = WORK_KINDS) -> list[Any]:
    """Context reviews the user chairs that are open, and the issues and parties they own whose review is
    near (of ``kinds`` only: one query each)."""
    from .my_work import WorkItem

    reviews_due, issues_due, parties_due = work_conditions(actor, today)
    items: list[Any] = []
    reviews = db.session.scalars(select(ContextReview).where(reviews_due)) if "context_review" in kinds else ()
    for review in reviews:
        what = "Start the context review" if review.state == "planned" else "Complete the context review"
        items.append(
            WorkItem(
                "context_review",
                review.id,
                review.reference,
                review.title,
                review.state_label,
                [what],
                review.planned_for,
                review.is_overdue(today),
            )
        )
    for model, kind, label, condition in (
        (ContextIssue, "context_issue", "title", issues_due),
        (InterestedParty, "interested_party", "name", parties_due),
    ):
        if kind not in kinds:
            continue
        rows = db.session.scalars(select(model).where(condition))
        for row in rows:
            items.append(
                WorkItem(
                    kind,
                    row.id,
                    row.reference,
                    getattr(row, label),
                    "Review due",
                    ["Review and update it"],
                    row.review_on,
                    row.review_on < today,
                )
            )
    return items
