"""Audits and their teams: planning, independence, double bookings, rescheduling; lifecycle effects and facts."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from workflows import FireResult
from workflows.errors import InvalidData, InvalidTransition

from ...database import db, id_in
from ...models import (
    AUDIT_KINDS,
    NC_ENDED_STATES,
    TEAM_ROLES,
    Actor,
    Audit,
    AuditProgramme,
    AuditTeamMember,
    ChecklistItem,
    Nonconformity,
    Process,
    Site,
    User,
)
from ..audit_trail import recorded_change
from ..references import next_reference
from ..standards import find_standard as _find_standard  # bundled or imported
from ..validation import clean_date, clean_text, require_roles, row_by_id
from ..workflow import as_actor, effect, facts_provider
from .checklists import checklist_questions
from .common import NOT_HAPPENING, PLANNER_ROLES, _check_clauses, _check_standard, _process_clauses

AUDITOR_ROLES = frozenset({"internal_auditor", "quality_officer", "manager"})
#: states in which the team may still change
TEAM_STATES = ("planned", "scheduled", "prepared", "postponed")
OPEN_NC_EXCLUDED = NC_ENDED_STATES


# --------------------------------------------------------------------------- audits and teams


def create_audit(
    actor: User | Actor,
    *,
    title: str,
    standard_identifier: str = "iso-9001-2015",
    kind: str = "internal",
    clause_numbers: Sequence[str] | str = (),
    process_id: int | None = None,
    site_id: int | None = None,
    programme_id: int | None = None,
    scope: str = "",
    criteria: str = "",
    objectives: str = "",
    planned_start: dt.date | str | None = None,
    planned_end: dt.date | str | None = None,
) -> Audit:
    """An audit outside (or added to) a programme, in state *planned*."""
    actor = as_actor(actor)
    require_roles(actor, PLANNER_ROLES, "plan audits")
    errors: dict[str, str] = {}
    title = clean_text(errors, "title", title, limit=200)
    scope = clean_text(errors, "scope", scope, required=False, limit=5000)
    criteria = clean_text(errors, "criteria", criteria, required=False, limit=2000)
    objectives = clean_text(errors, "objectives", objectives, required=False, limit=5000)
    if kind not in AUDIT_KINDS:
        errors["kind"] = "must be one of: " + ", ".join(AUDIT_KINDS)
    standard = _check_standard(errors, "standard_identifier", standard_identifier)
    clauses = _check_clauses(errors, "clause_numbers", standard, clause_numbers)
    process = site = programme = None
    if process_id not in (None, ""):
        process = row_by_id(Process, process_id)
        if process is None:
            errors["process_id"] = "no such process"
    if site_id not in (None, ""):
        site = row_by_id(Site, site_id)
        if site is None:
            errors["site_id"] = "no such site"
    if programme_id not in (None, ""):
        programme = row_by_id(AuditProgramme, programme_id)
        if programme is None:
            errors["programme_id"] = "no such programme"
    start = clean_date(errors, "planned_start", planned_start, required=False)
    end = clean_date(errors, "planned_end", planned_end, required=False)
    if start and end and end < start:
        errors["planned_end"] = "cannot be before the planned start"
    if errors:
        raise InvalidData(errors)
    year = (start or dt.date.today()).year
    with recorded_change(actor, "audit planned") as session:
        audit = Audit(
            reference=next_reference(session, "AUD", year),
            kind=kind,
            title=title,
            programme_id=programme.id if programme else None,
            site_id=site.id if site else (process.site_id if process else None),
            process_id=process.id if process else None,
            standard_identifier=standard.identifier if standard else standard_identifier,
            clause_numbers=clauses or _process_clauses(process, standard.identifier if standard else ""),
            scope=scope or (f"The {process.name} process" if process else ""),
            criteria=criteria or (standard.title if standard else ""),
            objectives=objectives,
            planned_start=start,
            planned_end=end or start,
            created_by_id=actor.id,
        )
        session.add(audit)
    return audit


def independence_problem(process: Process | None, user_ids: Iterable[int]) -> str | None:
    """Why these auditors may not audit this process (ISO 9001 9.2.2 c), or None."""
    if process is None or process.owner_id is None:
        return None
    if process.owner_id in set(user_ids):
        owner = process.owner.name if process.owner else "its owner"
        return f"{owner} owns the {process.name} process and cannot audit it"
    return None


def double_bookings(audit: Audit, user_ids: Iterable[int] | None = None) -> list[str]:
    """Warnings for auditors already on another audit whose dates overlap this one's."""
    ids = set(audit.member_ids if user_ids is None else user_ids)
    if not ids or audit.planned_start is None:
        return []
    start, end = audit.planned_start, audit.planned_end or audit.planned_start
    others = db.session.scalars(
        select(Audit)
        .options(selectinload(Audit.team))
        .where(
            Audit.id != (audit.id or -1),
            Audit.state.not_in((*NOT_HAPPENING, "closed", "postponed")),
            Audit.planned_start <= end,
            func.coalesce(Audit.planned_end, Audit.planned_start) >= start,
        )
    ).all()
    names = {u.id: u.name for u in db.session.scalars(select(User).where(id_in(User.id, list(ids))))}
    warnings = []
    for other in others:
        for user_id in sorted(ids & other.member_ids):
            warnings.append(
                f"{names.get(user_id, user_id)} is also on {other.reference} "
                f"({other.planned_start.isoformat()} – {(other.planned_end or other.planned_start).isoformat()})"
            )
    return warnings


def assign_team(
    audit: Audit,
    actor: User | Actor,
    *,
    lead_auditor_id: int | None,
    members: Iterable[tuple[int, str]] = (),
) -> list[str]:
    """Set the lead auditor and team; refuse anyone owning the process; return double-booking warnings."""
    actor = as_actor(actor)
    require_roles(actor, PLANNER_ROLES, "assign audit teams")
    if audit.state not in TEAM_STATES:
        raise InvalidTransition(f"The team cannot change once the audit is {audit.state_label.lower()}")
    errors: dict[str, str] = {}
    lead = row_by_id(User, lead_auditor_id)
    if lead is None or not lead.active:
        errors["lead_auditor_id"] = "must be an active user"
    elif not lead.has_role(*AUDITOR_ROLES):
        errors["lead_auditor_id"] = "must be an internal auditor, quality officer or manager"
    team: dict[int, str] = {}
    for index, member in enumerate(members):
        try:
            user_id, role = member
        except (TypeError, ValueError):
            errors[f"members[{index}]"] = "must be a user id and a role"
            continue
        user = row_by_id(User, user_id)
        if user is None or not user.active:
            errors[f"members[{index}].user_id"] = "must be an active user"
        elif role not in TEAM_ROLES:
            errors[f"members[{index}].role"] = "must be one of: " + ", ".join(TEAM_ROLES)
        elif lead is not None and user.id == lead.id:
            continue  # the lead is on the team already
        elif user.id in team:
            errors[f"members[{index}].user_id"] = f"{user.name} is listed twice"
        else:
            team[user.id] = role
    if (
        lead is not None
        and "lead_auditor_id" not in errors
        and (problem := independence_problem(audit.process, [lead.id]))
    ):
        errors["lead_auditor_id"] = problem
    auditors = [user_id for user_id, role in team.items() if role != "observer"]
    if problem := independence_problem(audit.process, auditors):
        errors["members"] = problem
    if errors:
        raise InvalidData(errors)
    assert lead is not None
    with recorded_change(actor, f"audit team of {audit.reference} assigned") as session:
        audit.lead_auditor_id = lead.id
        current = {member.user_id: member for member in audit.team}
        for user_id, member in current.items():
            if user_id not in team:
                session.delete(member)
                audit.team.remove(member)
        for user_id, role in team.items():
            if user_id in current:
                current[user_id].role = role
            else:
                audit.team.append(AuditTeamMember(user_id=user_id, role=role))
    return double_bookings(audit)


def reschedule(
    audit: Audit, actor: User | Actor, *, planned_start: dt.date | str, planned_end: dt.date | str | None = None
) -> list[str]:
    """Move a planned audit's dates (the ``schedule`` event fixes them later); returns double-bookings."""
    actor = as_actor(actor)
    require_roles(actor, PLANNER_ROLES, "reschedule audits")
    if audit.state not in ("planned", "postponed"):
        raise InvalidTransition("Only a planned or postponed audit is moved this way; postpone it first")
    errors: dict[str, str] = {}
    start = clean_date(errors, "planned_start", planned_start)
    end = clean_date(errors, "planned_end", planned_end, required=False) or start
    if start and end and end < start:
        errors["planned_end"] = "cannot be before the planned start"
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, f"audit {audit.reference} rescheduled"):
        audit.planned_start, audit.planned_end = start, end
    return double_bookings(audit)


# --------------------------------------------------------------------------- lifecycle effects and facts


@effect("internal_audit", "schedule", "resume")
def _scheduled(audit: Audit, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    data = result.data
    audit.planned_start = data.get("planned_start") or audit.planned_start
    audit.planned_end = data.get("planned_end") or audit.planned_end or audit.planned_start
    if audit.planned_start is None:
        raise InvalidData({"planned_start": "is required: the audit has no planned date yet"})
    if audit.planned_end < audit.planned_start:
        raise InvalidData({"planned_end": "cannot be before the planned start"})
    audit.postpone_reason = ""
    if not audit.items:
        standard = _find_standard(audit.standard_identifier)
        for position, (number, urn, question) in enumerate(
            checklist_questions(standard, audit.clause_numbers or []), start=1
        ):
            audit.items.append(
                ChecklistItem(
                    position=position,
                    standard_identifier=standard.identifier,
                    clause_number=number,
                    clause_urn=urn,
                    question=question,
                )
            )


@effect("internal_audit", "start")
def _started(audit: Audit, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    audit.actual_start = now.date()


@effect("internal_audit", "draft_report")
def _drafted(audit: Audit, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    audit.summary = result.data["summary"]
    audit.actual_end = audit.actual_end or now.date()


@effect("internal_audit", "approve_report")
def _approved(audit: Audit, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    audit.report_approved_at = now


@effect("internal_audit", "postpone")
def _postponed(audit: Audit, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    audit.postpone_reason = result.data["reason"]
    if result.data.get("new_date"):
        audit.planned_start = audit.planned_end = result.data["new_date"]


@effect("internal_audit", "cancel")
def _cancelled(audit: Audit, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    audit.cancel_reason = result.data["reason"]


@effect("internal_audit", "close")
def _closed(audit: Audit, result: FireResult, actor: Actor, now: dt.datetime) -> None:
    audit.closed_at = now


@facts_provider(
    "internal_audit",
    provides=("auditor_owns_process", "question_count", "unanswered_question_count", "open_finding_nc_count"),
)
def _audit_facts(session: Session, audits: Sequence[Audit]) -> dict[int, dict[str, Any]]:
    """Checklist counts, open finding NCs and independence per audit, in three queries."""
    ids = [a.id for a in audits]
    facts: dict[int, dict[str, Any]] = {
        a.id: {
            "question_count": 0,
            "unanswered_question_count": 0,
            "open_finding_nc_count": 0,
            "auditor_owns_process": False,
        }
        for a in audits
    }
    item = ChecklistItem
    for audit_id, total, unanswered in session.execute(
        select(item.audit_id, func.count(), func.count().filter(item.result.is_(None)))
        .where(id_in(item.audit_id, ids))
        .group_by(item.audit_id)
    ):
        facts[audit_id]["question_count"] = total
        facts[audit_id]["unanswered_question_count"] = unanswered
    for audit_id, count in session.execute(
        select(item.audit_id, func.count())
        .join(Nonconformity, Nonconformity.id == item.nonconformity_id)
        .where(id_in(item.audit_id, ids), Nonconformity.state.not_in(OPEN_NC_EXCLUDED))
        .group_by(item.audit_id)
    ):
        facts[audit_id]["open_finding_nc_count"] = count
    owners = dict(
        session.execute(
            select(Audit.id, Process.owner_id).join(Process, Process.id == Audit.process_id).where(id_in(Audit.id, ids))
        ).all()
    )
    members: dict[int, set[int]] = defaultdict(set)
    for audit_id, user_id in session.execute(
        select(AuditTeamMember.audit_id, AuditTeamMember.user_id).where(
            id_in(AuditTeamMember.audit_id, ids), AuditTeamMember.role != "observer"
        )
    ):
        members[audit_id].add(user_id)
    for audit in audits:
        owner = owners.get(audit.id)
        auditors = members[audit.id] | ({audit.lead_auditor_id} if audit.lead_auditor_id else set())
        facts[audit.id]["auditor_owns_process"] = owner is not None and owner in auditors
    return facts
