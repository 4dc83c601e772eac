"""The risk register (ISO 9001 6.1): raising and rating risks, their treatment actions, the NCs and
audit findings that show a risk happened, the register's query, the heat map, and what the rest of
the system reads from it (the audit programme's process ratings, My work, readiness, the review input).

Ratings: likelihood and impact run from 1 to the organisation's scale (``QMS_RISK_SCALE``, default
5); their product is the score and its share of the largest score the level: low up to 20 %,
medium up to 50 %, high above (on 5 × 5: 1–5 low, 6–12 medium, 15–25 high).  A monitored risk is
reviewed every ``QMS_RISK_REVIEW_DAYS[level]`` days (default high 90, medium 180, low 365).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from workflows import FireResult
from workflows.errors import InvalidData, InvalidTransition, NotPermitted

from ..database import db, id_in, utcnow
from ..models import (
    LEVEL_LABELS,
    SOURCE_LABELS,
    Actor,
    ChecklistItem,
    Complaint,
    ContextIssue,
    Nonconformity,
    Process,
    Risk,
    RiskRealisation,
    RiskTreatmentAction,
    Survey,
    User,
)
from .audit_trail import recorded_change, register_audited
from .filters import clause_filter_on, contains
from .references import next_reference
from .validation import clean_date, clean_text, require_roles, row_by_id
from .workflow import as_actor, effect, facts_provider

register_audited(RiskRealisation)

#: who may raise, edit and plan the treatment of risks
RISK_ROLES = frozenset({"manager", "quality_officer", "process_owner"})
#: who may cite the risk an NC or audit finding realised (auditors cite their findings)
CITE_ROLES = frozenset({"manager", "quality_officer", "process_owner", "internal_auditor"})
OWNER_ROLES = ("process_owner", "quality_officer", "manager")
DEFAULT_REVIEW_DAYS = {"high": 90, "medium": 180, "low": 365}
#: risks on the register that still count (rated or not)
OPEN_STATES = Risk.OPEN_STATES
RATED_STATES = ("assessed", "treatment_planned", "monitored")


# --------------------------------------------------------------------------- the scale


def risk_scale() -> int:
    """The organisation's scale of likelihood and impact (3 to 10; default 5)."""
    config = current_app.config if has_app_context() else {}
    try:
        scale = int(config.get("QMS_RISK_SCALE", 5))
    except (TypeError, ValueError):
        scale = 5
    return min(max(scale, 3), 10)


def review_days(level: str) -> int:
    config = current_app.config if has_app_context() else {}
    days = {**DEFAULT_REVIEW_DAYS, **(config.get("QMS_RISK_REVIEW_DAYS") or {})}
    return int(days.get(level, DEFAULT_REVIEW_DAYS["medium"]))


def level_of(score: int | None, scale: int) -> str | None:
    """low, medium or high for a score on a ``scale`` × ``scale`` grid."""
    if not score:
        return None
    share = score / (scale * scale)
    if share <= 0.2:
        return "low"
    return "medium" if share <= 0.5 else "high"


def _check_rating(errors: dict[str, str], names: tuple[str, str], values: tuple[Any, Any], scale: int) -> None:
    for name, value in zip(names, values, strict=True):
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= scale:
            errors[name] = f"must be a whole number from 1 to {scale}"


def _set_current(risk: Risk) -> None:
    """The rating shown on the heat map (residual when recorded, else inherent) and its level."""
    if risk.residual_likelihood and risk.residual_impact:
        likelihood, impact = risk.residual_likelihood, risk.residual_impact
    else:
        likelihood, impact = risk.likelihood, risk.impact
    risk.current_likelihood, risk.current_impact = likelihood, impact
    risk.current_score = likelihood * impact if likelihood and impact else None
    risk.level = level_of(risk.current_score, risk.scale)


def _schedule_review(risk: Risk, today: dt.date) -> None:
    risk.next_review_on = today + dt.timedelta(days=review_days(risk.level or "medium"))


# --------------------------------------------------------------------------- raising and editing


def _owner(errors: dict[str, str], value: Any, default: int | None) -> User | None:
    if value in (None, "", 0):
        value = default
    owner = row_by_id(User, value)
    if owner is None or not owner.active or not owner.has_role(*OWNER_ROLES):
        errors["owner_id"] = "must be an active process owner, quality officer or manager"
        return None
    return owner


def _clauses(errors: dict[str, str], value: Any) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = [part for part in value.replace(";", ",").split(",")]
    if not isinstance(value, (list, tuple)) or not all(isinstance(c, str) for c in value):
        errors["clause_refs"] = "must be a list of clause numbers"
        return []
    clauses = [c.strip() for c in value if c.strip()]
    if len(clauses) > 20 or any(len(c) > 20 or "\x00" in c or not c[0].isdigit() for c in clauses):
        errors["clause_refs"] = "must be at most 20 clause numbers such as 6.1 or 8.5.1"
    return list(dict.fromkeys(clauses))


def _process(errors: dict[str, str], value: Any) -> Process | None:
    if value in (None, "", 0):
        return None
    process = row_by_id(Process, value)
    if process is None:
        errors["process_id"] = "no such process"
    return process


def _details(errors: dict[str, str], data: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    """The descriptive fields of a risk in ``data`` (all of them unless ``partial``), checked."""
    values: dict[str, Any] = {}
    limits = {"title": 200, "cause": 5000, "effect": 5000, "description": 10_000}
    for name, limit in limits.items():
        if partial and name not in data:
            continue
        values[name] = clean_text(errors, name, data.get(name), required=name != "description", limit=limit)
    if not partial or "process_id" in data:
        process = _process(errors, data.get("process_id"))
        values["process_id"] = process.id if process else None
    if not partial or "clause_refs" in data:
        values["clause_refs"] = _clauses(errors, data.get("clause_refs"))
    return values


@dataclass(frozen=True)
class RiskSource:
    """Where a new risk comes from: the record it was raised from (prefills the form and links both ways)."""

    kind: str = "manual"
    record: Any = None
    #: a survey trend's key and words (``qms.services.surveys.trends``) when raised from one
    trend: str = ""
    detail: str = ""

    @property
    def label(self) -> str:
        if self.record is None:
            return SOURCE_LABELS["manual"]
        title = getattr(self.record, "title", None) or getattr(self.record, "summary", "")
        return f"{SOURCE_LABELS[self.kind]}: {self.record.reference} — {title}"


SOURCE_MODELS = {
    "nonconformity": (Nonconformity, "source_nonconformity_id"),
    "complaint": (Complaint, "source_complaint_id"),
    "survey": (Survey, "source_survey_id"),
    "context_issue": (ContextIssue, "source_issue_id"),
}


def find_source(kind: str | None, record_id: Any, trend: Any = None) -> RiskSource:
    """The source record, or InvalidData naming ``source`` when it is not there; for a survey, optionally
    one of the trends it shows now (``trend``: its key), or InvalidData naming ``trend``."""
    if kind in (None, "", "manual"):
        if trend not in (None, ""):
            raise InvalidData({"trend": "give a survey as the source of a trend"})
        return RiskSource()
    if kind not in SOURCE_MODELS:
        raise InvalidData({"source": "must be one of: " + ", ".join(SOURCE_LABELS)})
    record = row_by_id(SOURCE_MODELS[kind][0], record_id)
    if record is None:
        raise InvalidData({"source_id": f"no such {kind.replace('_', ' ')}"})
    if trend not in (None, ""):
        from .surveys.trends import find_trend

        found = find_trend(record, str(trend)[:120]) if kind == "survey" else None
        if found is None:
            raise InvalidData({"trend": "is not a trend this survey shows now"})
        return RiskSource(kind, record, found.key, found.words)
    return RiskSource(kind, record)


def prefill(source: RiskSource) -> dict[str, Any]:
    """Suggested fields of a risk raised from ``source`` (the person edits them before saving)."""
    record = source.record
    if record is None:
        return {}
    if source.kind == "nonconformity":
        process = (
            db.session.scalar(select(Process.id).where(Process.name == record.process)) if record.process else None
        )
        return {
            "title": f"Recurrence: {record.title}"[:200],
            "cause": record.root_cause or record.description,
            "effect": f"{record.title} happens again ({record.reference}).",
            "process_id": process,
            "clause_refs": list(record.clause_refs or []),
        }
    if source.kind == "complaint":
        process = (
            db.session.scalar(select(Process.id).where(Process.name == record.service)) if record.service else None
        )
        return {
            "title": f"Customer dissatisfaction: {record.summary}"[:200],
            "cause": record.description,
            "effect": f"More complaints like {record.reference}; customers lost.",
            "process_id": process,
            "clause_refs": ["8.2.1", "9.1.2"],
        }
    if source.kind == "survey":
        cause = source.detail or f"The trend of survey {record.reference}"
        return {
            "title": f"Falling satisfaction: {record.title}"[:200],
            "cause": f"{cause} ({record.reference}, {record.service or 'all services'}).",
            "effect": "Customers less satisfied; complaints and lost business.",
            "clause_refs": ["9.1.2"],
        }
    return {
        "title": record.title,
        "cause": record.description or record.title,
        "effect": "",
        "clause_refs": ["4.1", "6.1"],
    }


def raise_risk(actor: User | Actor, *, source: RiskSource | None = None, for_change: Any = None, **data: Any) -> Risk:
    """Record a new risk (state *identified*), optionally raised from a record it stays linked to, or for
    a change request (``for_change``: linked to it in the same transaction)."""
    actor = as_actor(actor)
    require_roles(actor, RISK_ROLES, "raise risks")
    source = source or RiskSource()
    errors: dict[str, str] = {}
    unknown = set(data) - {"title", "cause", "effect", "description", "process_id", "clause_refs", "owner_id"}
    for name in sorted(unknown):
        errors[name] = "is not a field of a risk"
    values = _details(errors, data, partial=False)
    owner = _owner(errors, data.get("owner_id"), actor.id)
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, "risk raised") as session:
        risk = Risk(
            reference=next_reference(session, "RSK", utcnow().year),
            owner_id=owner.id,
            raised_by_id=actor.id,
            scale=risk_scale(),
            source=source.kind,
            source_detail=source.detail,
            **values,
        )
        if source.record is not None:
            setattr(risk, SOURCE_MODELS[source.kind][1], source.record.id)
        session.add(risk)
        if for_change is not None:
            from ..models import ChangeRisk

            session.flush()
            note = f"Raised for {for_change.reference}"
            session.add(ChangeRisk(change_id=for_change.id, risk_id=risk.id, note=note, linked_by_id=actor.id))
    return risk


def can_edit(risk: Risk, actor: User | Actor) -> bool:
    actor = as_actor(actor)
    return bool(actor.roles & {"manager", "quality_officer"}) or (
        risk.owner_id == actor.id and "process_owner" in actor.roles
    )


def update_risk(risk: Risk, actor: User | Actor, data: Mapping[str, Any]) -> Risk:
    """Change a risk's description, cause, effect, process, clauses or owner (not its rating or state)."""
    actor = as_actor(actor)
    if not can_edit(risk, actor):
        raise NotPermitted("Only the risk's owner, a quality officer or a manager can edit it")
    if risk.is_terminal:
        raise InvalidTransition(f"The risk is {risk.state_label.lower()}; it can no longer be edited")
    errors: dict[str, str] = {}
    unknown = set(data) - {"title", "cause", "effect", "description", "process_id", "clause_refs", "owner_id"}
    for name in sorted(unknown):
        errors[name] = "is not a field of a risk"
    values = _details(errors, data, partial=True)
    if "owner_id" in data:
        owner = _owner(errors, data.get("owner_id"), None)
        if owner is not None:
            values["owner_id"] = owner.id
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, f"{risk.reference} edited"):
        for name, value in values.items():
            setattr(risk, name, value)
    return risk


# --------------------------------------------------------------------------- treatment actions


def add_treatment_action(
    risk: Risk,
    actor: User | Actor,
    *,
    title: Any,
    owner_id: Any,
    due_date: Any,
    description: Any = "",
    today: dt.date | None = None,
) -> RiskTreatmentAction:
    """Add a planned action to the risk's treatment (while its treatment is planned)."""
    actor = as_actor(actor)
    require_roles(actor, RISK_ROLES, "plan risk treatment actions")
    if risk.state != "treatment_planned":
        raise InvalidTransition(
            f"Treatment actions can be added once the treatment is planned (now: {risk.state_label})"
        )
    errors: dict[str, str] = {}
    title = clean_text(errors, "title", title, limit=200)
    description = clean_text(errors, "description", description, required=False, limit=5000)
    due = clean_date(errors, "due_date", due_date)
    if due and due < (today or dt.date.today()):
        errors["due_date"] = "cannot be in the past"
    owner = _owner(errors, owner_id, None)
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, f"treatment action planned for {risk.reference}") as session:
        action = RiskTreatmentAction(
            reference=next_reference(session, "RTA", utcnow().year),
            risk_id=risk.id,
            title=title,
            description=description,
            owner_id=owner.id,
            due_date=due,
        )
        session.add(action)
    return action


# --------------------------------------------------------------------------- realisations (NC → risk)


def cite_realised_risk(
    nc: Nonconformity, actor: User | Actor, *, risk_id: Any, note: Any = "", checklist_item_id: Any = None
) -> RiskRealisation:
    """Record that ``nc`` (or the audit finding behind it) is the risk happening; asks for a re-rating."""
    actor = as_actor(actor)
    require_roles(actor, CITE_ROLES, "cite the risk a nonconformity realised")
    errors: dict[str, str] = {}
    risk = row_by_id(Risk, risk_id)
    if risk is None:
        errors["risk_id"] = "no such risk"
    elif risk.is_terminal:
        errors["risk_id"] = f"{risk.reference} is {risk.state_label.lower()}"
    note = clean_text(errors, "note", note, required=False, limit=2000)
    item = None
    if checklist_item_id not in (None, "", 0):
        item = row_by_id(ChecklistItem, checklist_item_id)
        if item is None or item.nonconformity_id != nc.id:
            errors["checklist_item_id"] = "must be the audit finding that raised this nonconformity"
    else:
        item = db.session.scalar(select(ChecklistItem).where(ChecklistItem.nonconformity_id == nc.id))
    if risk is not None and "risk_id" not in errors:
        cited = db.session.scalar(
            select(RiskRealisation.id).where(
                RiskRealisation.risk_id == risk.id, RiskRealisation.nonconformity_id == nc.id
            )
        )
        if cited:
            errors["risk_id"] = f"{nc.reference} already cites {risk.reference}"
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, f"{nc.reference} cites {risk.reference} as realised") as session:
        realisation = RiskRealisation(
            risk_id=risk.id,
            nonconformity_id=nc.id,
            checklist_item_id=item.id if item else None,
            note=note,
            cited_by_id=actor.id,
        )
        session.add(realisation)
        if risk.state in RATED_STATES:
            risk.rerating_requested = True
            finding = " (audit finding)" if item else ""
            risk.rerating_reason = f"{nc.reference}{finding} shows the risk happened: {nc.title}"[:2000]
    return realisation


#: checklist results that are findings (a nonconformity, an observation or an opportunity for improvement)
FINDING_RESULTS = ("major", "minor", "observation", "ofi")


def cite_risk_from_finding(
    item: ChecklistItem, actor: User | Actor, *, risk_id: Any, note: Any = ""
) -> RiskRealisation:
    """Record that an audit finding that raised no NC (an observation, an opportunity for improvement, or a
    nonconformity whose NC was withdrawn) shows the risk happened; asks its owner for a re-rating.

    A finding that raised an NC cites the risk through the NC (:func:`cite_realised_risk`)."""
    from ..models import RESULTS

    actor = as_actor(actor)
    require_roles(actor, CITE_ROLES, "cite the risk an audit finding realised")
    errors: dict[str, str] = {}
    nc = item.nonconformity
    if item.result not in FINDING_RESULTS:
        label = RESULTS.get(item.result or "", "not answered").lower()
        errors["checklist_item_id"] = f"the answer is {label}: only a finding can show a risk happened"
    elif nc is not None and nc.state != "withdrawn":
        errors["checklist_item_id"] = f"the finding raised {nc.reference}: cite the risk on that nonconformity"
    risk = row_by_id(Risk, risk_id)
    if risk is None:
        errors["risk_id"] = "no such risk"
    elif risk.is_terminal:
        errors["risk_id"] = f"{risk.reference} is {risk.state_label.lower()}"
    note = clean_text(errors, "note", note, required=False, limit=2000)
    if risk is not None and "risk_id" not in errors:
        cited = db.session.scalar(
            select(RiskRealisation.id).where(
                RiskRealisation.risk_id == risk.id, RiskRealisation.checklist_item_id == item.id
            )
        )
        if cited:
            errors["risk_id"] = f"this finding already cites {risk.reference}"
    if errors:
        raise InvalidData(errors)
    audit = item.audit
    where = f"{audit.reference} Q{item.position}"
    with recorded_change(actor, f"audit finding {where} cites {risk.reference} as realised") as session:
        realisation = RiskRealisation(risk_id=risk.id, checklist_item_id=item.id, note=note, cited_by_id=actor.id)
        session.add(realisation)
        if risk.state in RATED_STATES:
            risk.rerating_requested = True
            finding = RESULTS.get(item.result or "", "finding").lower()
            risk.rerating_reason = f"Audit finding {where} ({finding}) shows the risk happened: {item.question}"[:2000]
    return realisation


def realised_risks_of_finding(item: ChecklistItem) -> list[RiskRealisation]:
    return list(
        db.session.scalars(
            select(RiskRealisation)
            .where(RiskRealisation.checklist_item_id == item.id, RiskRealisation.nonconformity_id.is_(None))
            .options(selectinload(RiskRealisation.risk), selectinload(RiskRealisation.cited_by))
            .order_by(RiskRealisation.id)
        )
    )


def finding_citations(audit_id: int) -> dict[int, list[tuple[int, str, str]]]:
    """item id → [(risk id, reference, title)] the audit's findings without an NC cite, in one query."""
    rows = db.session.execute(
        select(RiskRealisation.checklist_item_id, Risk.id, Risk.reference, Risk.title)
        .join(Risk, Risk.id == RiskRealisation.risk_id)
        .join(ChecklistItem, ChecklistItem.id == RiskRealisation.checklist_item_id)
        .where(ChecklistItem.audit_id == audit_id, RiskRealisation.nonconformity_id.is_(None))
        .order_by(RiskRealisation.id)
    ).all()
    cited: dict[int, list[tuple[int, str, str]]] = {}
    for item_id, rid, ref, title in rows:
        cited.setdefault(item_id, []).append((rid, ref, title))
    return cited


def realised_risks_of(nc: Nonconformity) -> list[RiskRealisation]:
    return list(
        db.session.scalars(
            select(RiskRealisation)
            .where(RiskRealisation.nonconformity_id == nc.id)
            .options(selectinload(RiskRealisation.risk))
            .order_by(RiskRealisation.id)
        )
    )


def risks_raised_from(kind: str, record_id: int) -> list[Risk]:
    """Risks raised from a record (an NC, a complaint, a survey or a context issue): the link back."""
    column = getattr(Risk, SOURCE_MODELS[kind][1])
    return list(db.session.scalars(select(Risk).where(column == record_id).order_by(Risk.id)))


def citable_risks(process_name: str = "", limit: int = 50) -> list[tuple[int, str]]:
    """(id, "RSK-… title") of open risks for the NC page's choice: those of the NC's process first, then
    the highest rated; at most ``limit`` (others are cited by their reference)."""
    query = select(Risk.id, Risk.reference, Risk.title).where(Risk.state.in_(OPEN_STATES))
    rows: list[Any] = []
    if process_name:
        same = select(Process.id).where(Process.name == process_name).scalar_subquery()
        rows = list(db.session.execute(query.where(Risk.process_id == same).order_by(Risk.id.desc()).limit(limit)))
    if len(rows) < limit:
        seen = [row[0] for row in rows]
        others = query.order_by(Risk.current_score.desc().nulls_last(), Risk.id.desc()).limit(limit - len(rows))
        if seen:
            others = others.where(Risk.id.not_in(seen))
        rows += list(db.session.execute(others))
    return [(rid, f"{ref} — {title}") for rid, ref, title in rows]


# --------------------------------------------------------------------------- lifecycle effects and facts


def _rate(result: FireResult, names: tuple[str, str], risk: Risk) -> tuple[int, int]:
    errors: dict[str, str] = {}
    values = (result.data.get(names[0]), result.data.get(names[1]))
    _check_rating(errors, names, values, risk.scale)
    if errors:
        raise InvalidData(errors)
    return values  # type: ignore[return-value]


@effect("risk", "assess", "reassess")
def _assessed(risk: Risk, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    risk.likelihood, risk.impact = _rate(result, ("likelihood", "impact"), risk)
    risk.residual_likelihood = risk.residual_impact = None
    risk.rerating_requested = False
    risk.rerating_reason = ""
    risk.next_review_on = None
    _set_current(risk)


@effect("risk", "plan_treatment")
def _treatment_planned(risk: Risk, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    risk.treatment = result.data["treatment"]
    risk.treatment_plan = result.data["treatment_plan"]


@effect("risk", "accept")
def _accepted(risk: Risk, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    risk.treatment = "accept"
    risk.acceptance_rationale = result.data["rationale"]
    risk.residual_likelihood, risk.residual_impact = risk.likelihood, risk.impact
    _set_current(risk)
    _schedule_review(risk, now.date())


@effect("risk", "record_treated")
def _treated(risk: Risk, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    risk.residual_likelihood, risk.residual_impact = _rate(result, ("residual_likelihood", "residual_impact"), risk)
    risk.effectiveness = result.data["effectiveness"]
    _set_current(risk)
    _schedule_review(risk, now.date())


@effect("risk", "review")
def _reviewed(risk: Risk, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    given = [result.data.get("residual_likelihood"), result.data.get("residual_impact")]
    if any(v is not None for v in given):
        if None in given:
            missing = "residual_impact" if given[1] is None else "residual_likelihood"
            raise InvalidData({missing: "give both residual likelihood and impact, or neither"})
        risk.residual_likelihood, risk.residual_impact = _rate(result, ("residual_likelihood", "residual_impact"), risk)
        risk.rerating_requested = False
        risk.rerating_reason = ""
        _set_current(risk)
    risk.last_reviewed_on = now.date()
    _schedule_review(risk, now.date())


@effect("risk", "close", "withdraw")
def _closed(risk: Risk, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    risk.closure_reason = result.data["reason"]
    risk.closed_at = now
    risk.next_review_on = None
    risk.rerating_requested = False


@facts_provider("risk", provides=("open_treatment_count", "verified_treatment_count"))
def _risk_facts(session: Session, risks: Sequence[Risk]) -> dict[int, dict[str, Any]]:
    """Treatment actions per risk for the guard of *record the residual rating*, in one query."""
    ids = [r.id for r in risks]
    facts = {i: {"open_treatment_count": 0, "verified_treatment_count": 0} for i in ids}
    rta = RiskTreatmentAction
    rows = session.execute(
        select(rta.risk_id, rta.state, func.count()).where(id_in(rta.risk_id, ids)).group_by(rta.risk_id, rta.state)
    ).all()
    for risk_id, state, count in rows:
        if state == "verified":
            facts[risk_id]["verified_treatment_count"] += count
        elif state != "cancelled":
            facts[risk_id]["open_treatment_count"] += count
    return facts


@effect("risk_treatment", "implement")
def _implemented(action: RiskTreatmentAction, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    action.implementation = result.data["implementation"]
    action.implemented_by_id = actor.id
    action.implemented_at = now


@effect("risk_treatment", "verify")
def _verified(action: RiskTreatmentAction, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    action.verification = result.data["verification"]
    action.verified_by_id = actor.id
    action.verified_at = now


@effect("risk_treatment", "cancel")
def _cancelled(action: RiskTreatmentAction, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    action.cancel_reason = result.data["reason"]


@facts_provider("risk_treatment", provides=("risk_state",))
def _action_facts(session: Session, actions: Sequence[RiskTreatmentAction]) -> dict[int, dict[str, Any]]:
    rta = RiskTreatmentAction
    rows = session.execute(
        select(rta.id, Risk.state).join(Risk, Risk.id == rta.risk_id).where(id_in(rta.id, [a.id for a in actions]))
    ).all()
    return {action_id: {"risk_state": state} for action_id, state in rows}


# --------------------------------------------------------------------------- the register


RISK_FILTERS = ("q", "state", "level", "process", "owner", "treatment", "likelihood", "impact", "rating", "due", "open")


@dataclass(frozen=True)
class RiskFilters:
    q: str = ""
    state: str = ""
    level: str = ""
    process: int | None = None
    owner: int | None = None
    treatment: str = ""
    #: a heat map cell: the likelihood and impact of the ``rating`` (current or inherent)
    likelihood: int | None = None
    impact: int | None = None
    rating: str = "current"
    #: monitored risks whose review is due (today or earlier)
    due: bool = False
    open: bool = False
    clause: str = ""
    sort: str = "-score"

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> RiskFilters:
        """The page's query string, made safe (anything unknown is dropped, not an error)."""

        def number(name: str, top: int = 2**31 - 1) -> int | None:
            value = str(args.get(name, "") or "")
            return int(value) if value.isdigit() and len(value) < 10 and 0 < int(value) <= top else None

        state = str(args.get("state", ""))
        level = str(args.get("level", ""))
        treatment = str(args.get("treatment", ""))
        sort = str(args.get("sort", "-score"))
        return cls(
            q=str(args.get("q", "")).replace("\x00", "").strip()[:200],
            state=state if state in {s for s in (*OPEN_STATES, "closed", "withdrawn")} else "",
            level=level if level in LEVEL_LABELS else "",
            process=number("process"),
            owner=number("owner"),
            treatment=treatment if treatment in ("avoid", "reduce", "transfer", "accept") else "",
            likelihood=number("likelihood", 10),
            impact=number("impact", 10),
            rating="inherent" if args.get("rating") == "inherent" else "current",
            due=str(args.get("due", "")) in ("1", "true", "on"),
            open=str(args.get("open", "")) in ("1", "true", "on"),
            clause=str(args.get("clause", "")).replace("\x00", "").strip()[:20],
            sort=sort if sort.lstrip("-") in RISK_SORTS else "-score",
        )

    def as_args(self) -> dict[str, str]:
        args: dict[str, str] = {}
        for name in (*RISK_FILTERS, "clause"):
            value = getattr(self, name)
            if name == "rating":
                if value != "current":
                    args[name] = value
            elif isinstance(value, bool):
                if value:
                    args[name] = "1"
            elif value not in ("", None):
                args[name] = str(value)
        if self.sort != "-score":
            args["sort"] = self.sort
        return args


RISK_SORTS = {
    "reference": Risk.id,
    "title": Risk.title,
    "state": Risk.state,
    "score": Risk.current_score,
    "next_review_on": Risk.next_review_on,
}


def risk_register(filters: RiskFilters, today: dt.date | None = None) -> Select:
    """SELECT of the risks matching ``filters``, owner and process eager-loaded (the page's and the API's)."""
    today = today or dt.date.today()
    query = select(Risk).options(selectinload(Risk.owner), selectinload(Risk.process))
    if filters.q:
        query = query.where(
            or_(
                contains(Risk.reference, filters.q),
                contains(Risk.title, filters.q),
                contains(Risk.cause, filters.q),
                contains(Risk.effect, filters.q),
            )
        )
    if filters.state:
        query = query.where(Risk.state == filters.state)
    if filters.open:
        query = query.where(Risk.state.in_(OPEN_STATES))
    if filters.level:
        query = query.where(Risk.level == filters.level)
    if filters.process:
        query = query.where(Risk.process_id == filters.process)
    if filters.owner:
        query = query.where(Risk.owner_id == filters.owner)
    if filters.treatment:
        query = query.where(Risk.treatment == filters.treatment)
    if filters.clause:
        query = query.where(clause_filter_on(Risk.clause_refs, filters.clause))
    inherent = filters.rating == "inherent"
    if filters.likelihood:
        column = Risk.likelihood if inherent else Risk.current_likelihood
        query = query.where(column == filters.likelihood, Risk.state.in_(OPEN_STATES))
    if filters.impact:
        column = Risk.impact if inherent else Risk.current_impact
        query = query.where(column == filters.impact, Risk.state.in_(OPEN_STATES))
    if filters.due:
        query = query.where(Risk.state == "monitored", Risk.next_review_on <= today)
    column = RISK_SORTS[filters.sort.lstrip("-")]
    if filters.sort.startswith("-"):
        return query.order_by(column.desc().nulls_last(), Risk.id.desc())
    return query.order_by(column.asc().nulls_last(), Risk.id.asc())


# --------------------------------------------------------------------------- the heat map


@dataclass(frozen=True)
class HeatMap:
    """Open rated risks per (likelihood, impact) cell of one rating (current or inherent)."""

    scale: int
    rating: str
    counts: dict[tuple[int, int], int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def level(self, likelihood: int, impact: int) -> str:
        return level_of(likelihood * impact, self.scale) or "low"

    def count(self, likelihood: int, impact: int) -> int:
        return self.counts.get((likelihood, impact), 0)


def heat_map(rating: str = "current", *, process_id: int | None = None) -> HeatMap:
    """The heat map of the open risks on the organisation's scale, counted in one query.

    Risks rated on another scale (before the scale changed) are placed by the share of their scale.
    """
    scale = risk_scale()
    inherent = rating == "inherent"
    lik = Risk.likelihood if inherent else Risk.current_likelihood
    imp = Risk.impact if inherent else Risk.current_impact
    query = (
        select(Risk.scale, lik, imp, func.count())
        .where(Risk.state.in_(OPEN_STATES), lik.is_not(None), imp.is_not(None))
        .group_by(Risk.scale, lik, imp)
    )
    if process_id:
        query = query.where(Risk.process_id == process_id)
    counts: Counter[tuple[int, int]] = Counter()
    for risk_scale_, likelihood, impact, count in db.session.execute(query):
        if risk_scale_ != scale:
            likelihood = max(1, min(scale, round(likelihood * scale / risk_scale_)))
            impact = max(1, min(scale, round(impact * scale / risk_scale_)))
        counts[(likelihood, impact)] += count
    return HeatMap(scale, "inherent" if inherent else "current", dict(counts))


# --------------------------------------------------------------------------- the rest of the system


LEVEL_ORDER = {"low": 0, "medium": 1, "high": 2}


def process_risk_levels(process_ids: Iterable[int] | None = None) -> dict[int, str]:
    """Per process, the highest level of its open rated risks (the processes without one are absent).

    The audit programme rates a process by this when the register has rated risks for it.
    """
    query = (
        select(Risk.process_id, Risk.level)
        .where(Risk.state.in_(RATED_STATES), Risk.level.is_not(None), Risk.process_id.is_not(None))
        .group_by(Risk.process_id, Risk.level)
    )
    ids = list(process_ids) if process_ids is not None else None
    if ids is not None:
        if not ids:
            return {}
        query = query.where(id_in(Risk.process_id, ids))
    levels: dict[int, str] = {}
    for process_id, level in db.session.execute(query):
        if LEVEL_ORDER[level] >= LEVEL_ORDER.get(levels.get(process_id, ""), -1):
            levels[process_id] = level
    return levels


def process_risk(process: Process) -> str:
    """The risk rating of ``process`` for the audit programme: the register's when it has rated risks."""
    return process_risk_levels([process.id]).get(process.id, process.risk)


def review_input(start: dt.date, end: dt.date, today: dt.date) -> dict[str, Any]:
    """Management review input e) from the register: how the actions on risks worked in the period."""
    since = dt.datetime.combine(start, dt.time.min, tzinfo=dt.UTC)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
    states = Counter(dict(db.session.execute(select(Risk.state, func.count()).group_by(Risk.state)).all()))
    levels = Counter(
        dict(
            db.session.execute(
                select(Risk.level, func.count())
                .where(Risk.state.in_(OPEN_STATES), Risk.level.is_not(None))
                .group_by(Risk.level)
            ).all()
        )
    )
    rta = RiskTreatmentAction
    verified = list(
        db.session.scalars(
            select(rta)
            .where(rta.state == "verified", rta.verified_at >= since, rta.verified_at < until)
            .options(selectinload(rta.risk))
            .order_by(rta.verified_at)
        )
    )
    overdue_actions = db.session.scalar(
        select(func.count()).where(rta.state.in_(rta.OPEN_STATES), rta.due_date < today)
    )
    treated = list(
        db.session.scalars(
            select(Risk)
            .where(Risk.residual_likelihood.is_not(None), Risk.likelihood.is_not(None), Risk.treatment != "accept")
            .where(Risk.id.in_(select(rta.risk_id).where(rta.verified_at >= since, rta.verified_at < until)))
            .order_by(Risk.id)
        )
    )
    realised = list(
        db.session.scalars(
            select(RiskRealisation)
            .where(RiskRealisation.cited_at >= since, RiskRealisation.cited_at < until)
            .options(
                selectinload(RiskRealisation.risk),
                selectinload(RiskRealisation.nonconformity),
                selectinload(RiskRealisation.checklist_item).selectinload(ChecklistItem.audit),
            )
            .order_by(RiskRealisation.id)
        )
    )
    reviews_due = db.session.scalar(select(func.count()).where(Risk.state == "monitored", Risk.next_review_on < today))
    return {
        "open_risks": sum(states[s] for s in OPEN_STATES),
        "by_level": {LEVEL_LABELS[k]: levels.get(k, 0) for k in ("high", "medium", "low")},
        "accepted": db.session.scalar(select(func.count()).where(Risk.state == "monitored", Risk.treatment == "accept"))
        or 0,
        "treatment_actions_verified": len(verified),
        "treatment_actions_overdue": overdue_actions or 0,
        "reviews_overdue": reviews_due or 0,
        "realised_risks": len(realised),
        "treatments": [
            {
                "risk": risk.reference,
                "title": risk.title,
                "inherent": risk.inherent_score,
                "residual": risk.residual_score,
                "effective": bool(
                    risk.residual_score and risk.inherent_score and risk.residual_score < risk.inherent_score
                ),
            }
            for risk in treated
        ],
        "realisations": [
            {"risk": r.risk.reference, "nonconformity": r.nonconformity.reference, "title": r.nonconformity.title}
            if r.nonconformity is not None
            else {
                "risk": r.risk.reference,
                "nonconformity": f"{r.checklist_item.audit.reference} Q{r.checklist_item.position}",
                "title": r.checklist_item.question,
            }
            for r in realised
        ],
    }


def clause_evidence(clauses: Iterable[str], limit: int = 8) -> dict[str, dict[str, Any]]:
    """Per clause, the register entries that evidence it: risks citing it (or a sub-clause), and for
    4.1 the context issues, for 4.2 the interested parties, for 6.1 the rated risks."""
    from ..models import InterestedParty

    result: dict[str, dict[str, Any]] = {}
    for clause in dict.fromkeys(c for c in clauses if c):
        entries: list[dict[str, str]] = []
        risks = db.session.execute(
            select(Risk.id, Risk.reference, Risk.title, Risk.state)
            .where(Risk.state.in_(OPEN_STATES), clause_filter_on(Risk.clause_refs, clause))
            .order_by(Risk.current_score.desc().nulls_last(), Risk.id)
            .limit(limit)
        ).all()
        entries += [{"kind": "risk", "id": i, "reference": ref, "title": title} for i, ref, title, _ in risks]
        count = len(risks)
        if clause in ("4", "4.1"):
            issues = db.session.execute(
                select(ContextIssue.id, ContextIssue.reference, ContextIssue.title)
                .where(ContextIssue.active.is_(True))
                .order_by(ContextIssue.id)
                .limit(limit)
            ).all()
            entries += [{"kind": "context_issue", "id": i, "reference": r, "title": t} for i, r, t in issues]
            count += len(issues)
        if clause in ("4", "4.2"):
            parties = db.session.execute(
                select(InterestedParty.id, InterestedParty.reference, InterestedParty.name)
                .where(InterestedParty.active.is_(True))
                .order_by(InterestedParty.id)
                .limit(limit)
            ).all()
            entries += [{"kind": "interested_party", "id": i, "reference": r, "title": t} for i, r, t in parties]
            count += len(parties)
        if clause in ("6", "6.1", "6.1.1", "6.1.2") and not risks:
            rated = db.session.execute(
                select(Risk.id, Risk.reference, Risk.title)
                .where(Risk.state.in_(RATED_STATES))
                .order_by(Risk.current_score.desc().nulls_last(), Risk.id)
                .limit(limit)
            ).all()
            entries += [{"kind": "risk", "id": i, "reference": r, "title": t} for i, r, t in rated]
            count += len(rated)
        if entries:
            result[clause] = {"count": count, "entries": entries}
    return result


# --------------------------------------------------------------------------- My work and the digest

#: a risk or context item whose review is this close shows on My work (the digest keeps its own horizon)
WORK_HORIZON = dt.timedelta(days=30)


def work_condition(actor: Actor, today: dt.date) -> Any:
    """The risks that may be work for ``actor``: theirs, to rate or treat, or monitored and due a review."""
    horizon = today + WORK_HORIZON
    return (Risk.owner_id == actor.id) & or_(
        Risk.state.in_(("identified", "assessed", "treatment_planned")),
        (Risk.state == "monitored") & (Risk.rerating_requested.is_(True) | (Risk.next_review_on <= horizon)),
    )


def work_items(actor: Actor, today: dt.date, *, actions: bool = True) -> list[Any]:
    """The risks the user owns that need them (rating, treatment, a review due or a re-rating asked) and
    the risk treatment actions they can move (their own, or to verify); without ``actions``, the risks
    only (My work finds the actions in SQL: ``my_work.SQL_SOURCES``)."""
    from .my_work import WorkItem
    from .workflow import available_events_many

    items: list[Any] = []
    risks = list(db.session.scalars(select(Risk).where(work_condition(actor, today))))
    by_id = {risk.id: risk for risk in risks}
    for risk_id, events in available_events_many(risks, actor, today).items():
        risk = by_id[risk_id]
        allowed = [a.event.label for a in events if a.allowed]
        due = risk.next_review_on if risk.state == "monitored" else None
        if risk.state == "monitored":
            allowed = (["Re-rate: it happened"] if risk.rerating_requested else []) + ["Risk review due"]
        elif risk.rerating_requested:
            allowed.insert(0, "Re-rate: it happened")
        if not allowed:
            continue  # e.g. a treatment whose actions are still running: the actions are the work
        items.append(
            WorkItem(
                "risk", risk.id, risk.reference, risk.title, risk.state_label, allowed, due, bool(due and due < today)
            )
        )
    if not actions:
        return items
    rta = RiskTreatmentAction
    records = list(db.session.scalars(select(rta).where(rta.state.in_(("planned", "in_progress", "implemented")))))
    actions_by_id = {action.id: action for action in records}
    for action_id, events in available_events_many(records, actor, today).items():
        allowed = [a.event.label for a in events if a.allowed]
        if allowed:
            action = actions_by_id[action_id]
            items.append(
                WorkItem(
                    "risk_action",
                    action.id,
                    action.reference,
                    action.title,
                    action.state_label,
                    allowed,
                    action.due_date,
                    action.is_overdue(today),
                )
            )
    return items


# --------------------------------------------------------------------------- certification readiness


@dataclass(frozen=True)
class PlanningEvidence:
    """Evidence of ISO 9001 4.1, 4.2 and 6.1 in the registers: counts per clause, and each gap with its reason."""

    counts: dict[str, int]
    gaps: tuple[tuple[str, str, str], ...]  # (clause, reason, link)


def planning_evidence(today: dt.date) -> PlanningEvidence:
    """What an auditor samples for 4.1, 4.2 and 6.1, counted in a few queries."""
    from ..models import ContextReview, InterestedParty

    issues = dict(
        db.session.execute(
            select(ContextIssue.swot, func.count()).where(ContextIssue.active.is_(True)).group_by(ContextIssue.swot)
        ).all()
    )
    internal = issues.get("strength", 0) + issues.get("weakness", 0)
    external = issues.get("opportunity", 0) + issues.get("threat", 0)
    parties = db.session.scalar(select(func.count()).where(InterestedParty.active.is_(True))) or 0
    last_review = db.session.scalar(
        select(func.max(ContextReview.completed_at)).where(ContextReview.state == "completed")
    )
    rated = db.session.scalar(select(func.count()).where(Risk.state.in_(RATED_STATES))) or 0
    overdue = db.session.scalar(select(func.count()).where(Risk.state == "monitored", Risk.next_review_on < today)) or 0
    gaps: list[tuple[str, str, str]] = []
    if not internal:
        gaps.append(("4.1", "No internal issue (strength or weakness) is recorded", "/context"))
    if not external:
        gaps.append(("4.1", "No external issue (opportunity or threat) is recorded", "/context"))
    if last_review is None:
        gaps.append(
            ("4.1", "No context review (with the climate-change question) has been completed", "/context/reviews")
        )
    elif (today - last_review.date()).days > 365:
        days = (today - last_review.date()).days
        gaps.append(("4.1", f"The last context review was completed {days} days ago", "/context/reviews"))
    if not parties:
        gaps.append(("4.2", "No interested party is recorded with its relevant requirements", "/context/parties"))
    if not rated:
        gaps.append(("6.1", "No risk on the register has been rated", "/risks"))
    if overdue:
        noun = "risk is" if overdue == 1 else "risks are"
        gaps.append(("6.1", f"{overdue} {noun} overdue for review", "/risks?due=1"))
    return PlanningEvidence({"4.1": internal + external, "4.2": parties, "6.1": rated}, tuple(gaps))


# --------------------------------------------------------------------------- the register's spreadsheets

EXPORT_COLUMNS = (
    "Reference",
    "Title",
    "State",
    "Process",
    "ISO clauses",
    "Owner",
    "Cause",
    "Effect",
    "Inherent likelihood",
    "Inherent impact",
    "Inherent score",
    "Residual likelihood",
    "Residual impact",
    "Residual score",
    "Level",
    "Treatment",
    "Next review",
    "Re-rating asked",
    "Raised from",
)


def export_rows(filters: RiskFilters, today: dt.date | None = None) -> list[list[Any]]:
    """The register as filtered (and sorted) on the page, one row per risk in the order of EXPORT_COLUMNS."""
    from ..models import TREATMENT_LABELS

    rows: list[list[Any]] = []
    for risk in db.session.scalars(risk_register(filters, today)):
        rows.append(
            [
                risk.reference,
                risk.title,
                risk.state_label,
                risk.process.name if risk.process else "",
                ", ".join(risk.clause_refs or []),
                risk.owner.name,
                risk.cause,
                risk.effect,
                risk.likelihood,
                risk.impact,
                risk.inherent_score,
                risk.residual_likelihood,
                risk.residual_impact,
                risk.residual_score,
                LEVEL_LABELS.get(risk.level or "", ""),
                TREATMENT_LABELS.get(risk.treatment or "", ""),
                risk.next_review_on,
                "Yes" if risk.rerating_requested else "No",
                SOURCE_LABELS.get(risk.source, risk.source),
            ]
        )
    return rows


def register_csv(filters: RiskFilters) -> str:
    """The filtered register as CSV (every cell formula-safe)."""
    from .spreadsheets import csv_text

    return csv_text(EXPORT_COLUMNS, export_rows(filters))


def register_xlsx(filters: RiskFilters) -> bytes:
    """The filtered register as an XLSX workbook (every cell formula-safe)."""
    from .spreadsheets import xlsx_bytes

    return xlsx_bytes("Risk register", EXPORT_COLUMNS, export_rows(filters))
