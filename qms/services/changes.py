"""Planning of changes (ISO 9001 6.3): change requests, their implementation tasks and the review after.

A request records what 6.3 asks to consider — the purpose of the change and its potential
consequences, the integrity of the QMS (the processes and documents it affects, its risks), the
resources and the responsibilities — and is submitted only when they are written. An
organisational-change review can open one with what it has already assessed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows import FireResult
from workflows.errors import InvalidData, InvalidTransition, NotPermitted

from ..database import db, id_in, utcnow
from ..models import Actor, ChangeRequest, ChangeRisk, ChangeTask, Document, OrgChangeReview, Process, Risk, User
from .audit_trail import recorded_change, register_audited
from .references import next_reference
from .validation import clean_date, clean_text, require_roles, row_by_id
from .workflow import as_actor, effect, facts_provider

register_audited(ChangeRisk)

REQUEST_ROLES = frozenset({"manager", "quality_officer", "process_owner"})
MANAGE_ROLES = frozenset({"manager", "quality_officer"})
OWNER_ROLES = ("manager", "quality_officer", "process_owner")
PLAN_FIELDS = {
    "purpose": "purpose",
    "consequences": "potential consequences",
    "resources": "resources",
    "responsibilities": "responsibilities",
}
FIELDS = ("title", *PLAN_FIELDS, "risks", "process_ids", "document_ids", "owner_id")
#: states in which the request's plan and tasks may still change
EDIT_STATES = ("draft",)
TASK_STATES = ("draft", "submitted", "approved", "implementing")


def _ids(errors: dict[str, str], name: str, value: Any, model: type, label: str) -> list[int]:
    if value in (None, ""):
        return []
    if not isinstance(value, (list, tuple)) or len(value) > 100:
        errors[name] = "must be a list of at most 100 ids"
        return []
    ids: list[int] = []
    for index, raw in enumerate(value):
        row = row_by_id(model, raw)
        if row is None:
            errors[f"{name}.{index}"] = f"is not a {label}"
        elif row.id not in ids:
            ids.append(row.id)
    return ids


def _validated(data: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}

    def given(name: str) -> bool:
        return not partial or name in data

    if given("title"):
        values["title"] = clean_text(errors, "title", data.get("title"), limit=200)
    for name in (*PLAN_FIELDS, "risks"):
        if given(name):
            values[name] = clean_text(errors, name, data.get(name), required=False, limit=10_000)
    if given("process_ids"):
        values["process_ids"] = _ids(errors, "process_ids", data.get("process_ids"), Process, "process")
    if given("document_ids"):
        values["document_ids"] = _ids(errors, "document_ids", data.get("document_ids"), Document, "document")
    if given("owner_id") and data.get("owner_id") not in (None, "", 0):
        owner = row_by_id(User, data.get("owner_id"))
        if owner is None or not owner.active or not owner.has_role(*OWNER_ROLES):
            errors["owner_id"] = "must be an active manager, quality officer or process owner"
        else:
            values["owner_id"] = owner.id
    if errors:
        raise InvalidData(errors)
    return values


def request_change(actor: User | Actor, *, org_change_review_id: Any = None, **data: Any) -> ChangeRequest:
    """A draft change request; from an organisational-change review, it starts with what the review assessed."""
    actor = as_actor(actor)
    require_roles(actor, REQUEST_ROLES, "request changes")
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise InvalidData({name: "is not a field of a change request" for name in sorted(unknown)})
    review = None
    if org_change_review_id not in (None, ""):
        review = row_by_id(OrgChangeReview, org_change_review_id)
        if review is None:
            raise InvalidData({"org_change_review_id": "is not an organisational-change review"})
        if review.state in ("rejected", "cancelled"):
            raise InvalidData({"org_change_review_id": "the review was rejected or cancelled"})
        if db.session.scalar(select(ChangeRequest.reference).where(ChangeRequest.org_change_review_id == review.id)):
            raise InvalidData({"org_change_review_id": "already has a change request"})
        data = {
            "title": review.title,
            "purpose": review.description,
            "consequences": "\n\n".join(t for t in (review.consequences, review.qms_integrity) if t),
            "resources": review.resources,
            "responsibilities": review.responsibilities,
            "process_ids": [review.process_id] if review.process_id else [],
            "owner_id": review.owner_id,
            **{k: v for k, v in data.items() if v not in (None, "", [])},
        }
    values = _validated(dict(data))
    values.setdefault("owner_id", actor.id)
    with recorded_change(actor, "change requested") as session:
        change = ChangeRequest(
            reference=next_reference(session, "CHG", dt.date.today().year),
            requested_by_id=actor.id,
            org_change_review_id=review.id if review else None,
            **values,
        )
        session.add(change)
    return change


def _may_edit(change: ChangeRequest, actor: Actor) -> None:
    if change.owner_id != actor.id and change.requested_by_id != actor.id and not actor.roles & MANAGE_ROLES:
        raise NotPermitted("Only the change's owner or requester, a quality officer or a manager changes it")


def update_change(change: ChangeRequest, actor: User | Actor, **changes: Any) -> ChangeRequest:
    """Change a draft request's plan."""
    actor = as_actor(actor)
    require_roles(actor, REQUEST_ROLES, "change change requests")
    _may_edit(change, actor)
    if change.state not in EDIT_STATES:
        raise InvalidTransition("Only a draft change request is changed; one sent for approval is returned first")
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise InvalidData({name: "is not a field of a change request" for name in sorted(unknown)})
    values = _validated(dict(changes), partial=True)
    with recorded_change(actor, f"{change.reference} changed"):
        for name, value in values.items():
            setattr(change, name, value)
    return change


def add_task(change: ChangeRequest, actor: User | Actor, *, title: Any, owner_id: Any, due_date: Any) -> ChangeTask:
    """An implementation task of a change, with its owner and due date."""
    actor = as_actor(actor)
    require_roles(actor, REQUEST_ROLES, "plan change tasks")
    _may_edit(change, actor)
    if change.state not in TASK_STATES:
        raise InvalidTransition("Tasks are added until the change's implementation is complete")
    errors: dict[str, str] = {}
    title = clean_text(errors, "title", title, limit=200)
    owner = row_by_id(User, owner_id)
    if owner is None or not owner.active or (owner.has_role("viewer") and len(owner.roles) == 1):
        errors["owner_id"] = "must be an active user who is not only a viewer"
    due = clean_date(errors, "due_date", due_date)
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, f"task added to {change.reference}") as session:
        task = ChangeTask(change_id=change.id, title=title, owner_id=owner.id, due_date=due)
        session.add(task)
    db.session.expire(change, ["tasks"])
    return task


def complete_task(task: ChangeTask, actor: User | Actor, *, outcome: Any) -> ChangeTask:
    """Mark a task done with what was done; its owner, a quality officer or a manager may."""
    actor = as_actor(actor)
    if task.owner_id != actor.id and not actor.roles & MANAGE_ROLES:
        raise NotPermitted("Only the task's owner, a quality officer or a manager completes it")
    if task.status != "open":
        raise InvalidTransition("The task is already done or cancelled")
    if task.change.state not in TASK_STATES:
        raise InvalidTransition("The change is no longer being implemented")
    errors: dict[str, str] = {}
    outcome = clean_text(errors, "outcome", outcome, limit=5000)
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, f"task of {task.change.reference} done"):
        task.status, task.outcome, task.done_at = "done", outcome, utcnow()
    return task


# --- risks on the register (6.3 with 6.1) ---------------------------------------------------------


def check_risk_linkable(change: ChangeRequest, actor: User | Actor) -> None:
    """NotPermitted or InvalidTransition when ``actor`` may not link risks to ``change`` now."""
    actor = as_actor(actor)
    require_roles(actor, REQUEST_ROLES, "link risks to change requests")
    _may_edit(change, actor)
    if change.state not in TASK_STATES:
        raise InvalidTransition("Risks are linked until the change's implementation is complete")


def link_risk(change: ChangeRequest, actor: User | Actor, *, risk_id: Any, note: Any = "") -> ChangeRisk:
    """Link a risk on the register that the change brings or affects, with an optional note."""
    actor = as_actor(actor)
    check_risk_linkable(change, actor)
    errors: dict[str, str] = {}
    risk = row_by_id(Risk, risk_id)
    if risk is None:
        errors["risk_id"] = "no such risk"
    elif risk.is_terminal:
        errors["risk_id"] = f"{risk.reference} is {risk.state_label.lower()}"
    elif db.session.scalar(
        select(ChangeRisk.id).where(ChangeRisk.change_id == change.id, ChangeRisk.risk_id == risk.id)
    ):
        errors["risk_id"] = f"{risk.reference} is already linked"
    note = clean_text(errors, "note", note, required=False, limit=2000)
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, f"{risk.reference} linked to {change.reference}") as session:
        link = ChangeRisk(change_id=change.id, risk_id=risk.id, note=note, linked_by_id=actor.id)
        session.add(link)
    db.session.expire(change, ["risk_links"])
    return link


def unlink_risk(change: ChangeRequest, actor: User | Actor, link_id: Any) -> None:
    """Remove a risk's link from the change (the risk stays on the register)."""
    actor = as_actor(actor)
    check_risk_linkable(change, actor)
    link = row_by_id(ChangeRisk, link_id)
    if link is None or link.change_id != change.id:
        raise InvalidData({"link_id": "is not a risk linked to this change"})
    with recorded_change(actor, f"{link.risk.reference} unlinked from {change.reference}") as session:
        session.delete(link)
    db.session.expire(change, ["risk_links"])


def raise_change_risk(change: ChangeRequest, actor: User | Actor, **data: Any) -> Risk:
    """Raise a new risk on the register for the change, linked to it in the same transaction."""
    from .risks import raise_risk

    check_risk_linkable(change, actor)
    risk = raise_risk(actor, for_change=change, **data)
    db.session.expire(change, ["risk_links"])
    return risk


def changes_citing(risk: Risk) -> list[ChangeRisk]:
    """The change requests that link ``risk`` (the link back, for the risk's page)."""
    from sqlalchemy.orm import selectinload

    return list(
        db.session.scalars(
            select(ChangeRisk)
            .where(ChangeRisk.risk_id == risk.id)
            .options(selectinload(ChangeRisk.change))
            .order_by(ChangeRisk.id)
        )
    )


def processes_of(changes: Sequence[ChangeRequest]) -> dict[int, Process]:
    ids = sorted({i for c in changes for i in (c.process_ids or [])})
    return {p.id: p for p in db.session.scalars(select(Process).where(id_in(Process.id, ids)))} if ids else {}


def documents_of(changes: Sequence[ChangeRequest]) -> dict[int, Document]:
    ids = sorted({i for c in changes for i in (c.document_ids or [])})
    return {d.id: d for d in db.session.scalars(select(Document).where(id_in(Document.id, ids)))} if ids else {}


def open_tasks_for(actor: Actor) -> list[ChangeTask]:
    return list(
        db.session.scalars(
            select(ChangeTask)
            .join(ChangeRequest)
            .where(
                ChangeTask.owner_id == actor.id,
                ChangeTask.status == "open",
                ChangeRequest.state.in_(TASK_STATES),
            )
            .order_by(ChangeTask.due_date, ChangeTask.id)
        )
    )


# --- lifecycle effects and facts ----------------------------------------------------------------


@effect("change_request", "approve")
def _approved(change: ChangeRequest, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    change.planned_for = result.data["planned_for"]


@effect("change_request", "complete_implementation")
def _implemented(change: ChangeRequest, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    due = result.data["review_due"]
    if due < now.date():
        raise InvalidData({"review_due": "cannot be in the past"})
    change.review_due = due


@effect("change_request", "close")
def _closed(change: ChangeRequest, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    change.review_findings = result.data["review_findings"]
    change.closed_at = now


@effect("change_request", "reopen", "return_to_draft")
def _sent_back(change: ChangeRequest, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    change.reason = result.data["reason"]
    change.review_due = None


@effect("change_request", "reject", "cancel")
def _ended(change: ChangeRequest, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    change.reason = result.data["reason"]
    change.closed_at = now
    for task in change.tasks:
        if task.status == "open":
            task.status = "cancelled"


@facts_provider("change_request", provides=("plan_missing", "task_count", "open_task_count"))
def _change_facts(session: Session, changes: Sequence[ChangeRequest]) -> dict[int, dict[str, Any]]:
    ids = [c.id for c in changes]
    counts: dict[int, dict[str, int]] = {i: {"all": 0, "open": 0} for i in ids}
    for change_id, status, count in session.execute(
        select(ChangeTask.change_id, ChangeTask.status, func.count())
        .where(id_in(ChangeTask.change_id, ids))
        .group_by(ChangeTask.change_id, ChangeTask.status)
    ):
        if status != "cancelled":
            counts[change_id]["all"] += count
        if status == "open":
            counts[change_id]["open"] += count
    return {
        c.id: {
            "plan_missing": [label for name, label in PLAN_FIELDS.items() if not (getattr(c, name) or "").strip()],
            "task_count": counts[c.id]["all"],
            "open_task_count": counts[c.id]["open"],
        }
        for c in changes
    }
