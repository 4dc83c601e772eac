"""Organisational-change reviews (6.3): the proposal, its impacts recorded or suggested; lifecycle effects and facts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows import FireResult
from workflows.errors import InvalidData, InvalidTransition

from ...database import db, utcnow
from ...models import (
    CHANGE_KINDS,
    IMPACT_AREAS,
    Actor,
    Audit,
    AuditProgramme,
    ChangeImpact,
    Document,
    Nonconformity,
    OrgChangeReview,
    Process,
    Site,
    User,
)
from ..audit_trail import recorded_change
from ..references import next_reference
from ..validation import clean_text, require_roles, row_by_id
from ..workflow import as_actor, effect, facts_provider
from .actions import _open_action_counts
from .common import MAX_TEXT, NC_CLOSED_STATES

#: who may propose an organisational change and record its impacts
CHANGE_ROLES = frozenset({"manager", "quality_officer", "process_owner"})
IMPACT_STATES = ("proposed", "impact_assessment", "planning")
#: what an impact may link to: "<kind>:<id>"
LINK_KINDS: dict[str, type] = {
    "document": Document,
    "process": Process,
    "audit": Audit,
    "nonconformity": Nonconformity,
}
#: audits of a process not yet held (what a change to the process may move)
UPCOMING_AUDIT_STATES = ("planned", "scheduled", "prepared", "postponed")


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


def suggest_impacts(review: OrgChangeReview, reader: Any = None) -> list[dict[str, str]]:
    """Impacts the records suggest, not yet recorded (never writes).

    For a change to a process: the process, its documents, its audits still to come, its open
    nonconformities. For a site: its processes and its audit programmes. With ``reader``, only the
    documents they may see (a restricted document's number and title reach only its readers).
    """
    from ..documents import visible_to

    suggestions: list[dict[str, str]] = []
    process, site = review.process, review.site
    if process is not None:
        suggestions.append({"area": "process", "subject": process.name, "link": f"process:{process.id}"})
        documents = (
            select(Document)
            .where(Document.obsolete.is_(False), func.lower(Document.process) == process.name.lower())
            .order_by(Document.number)
        )
        for doc in db.session.scalars(documents if reader is None else documents.where(visible_to(reader))):
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


# --------------------------------------------------------------------------- lifecycle effects and facts


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


@facts_provider("org_change_review", provides=("open_change_action_count",))
def _org_facts(session: Session, reviews: Sequence[OrgChangeReview]) -> dict[int, dict[str, Any]]:
    ids = [r.id for r in reviews]
    actions = _open_action_counts(session, "org_change", ids)
    return {i: {"open_change_action_count": actions.get(i, 0)} for i in ids}
