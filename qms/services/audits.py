"""Internal audits: sites and processes, programmes, audits, checklists, findings, coverage, scores.

One function per user intention; each validates everything before writing and writes in one
transaction (``recorded_change``), so bad input never leaves half a change behind.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import secrets
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import sqlalchemy as sa
from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from standards import Standard
from workflows import FireResult
from workflows.errors import Conflict, InvalidData, InvalidTransition, NotPermitted

from ..database import db, id_in, utcnow
from ..models import (
    AUDIT_KINDS,
    FINDING_SEVERITY,
    RESULTS,
    RISK_FREQUENCY,
    RISK_LEVELS,
    TEAM_ROLES,
    Actor,
    Attachment,
    Audit,
    AuditProgramme,
    AuditTeamMember,
    ChecklistItem,
    Nonconformity,
    Process,
    ProgrammeEntry,
    Site,
    User,
)
from .attachments import attach
from .audit_trail import recorded_change, register_audited
from .references import next_reference
from .standards import find_standard as _find_standard  # bundled or imported
from .validation import clean_date, clean_text, require_roles, row_by_id
from .workflow import as_actor, effect, facts_provider

register_audited(Site, Process, AuditProgramme, ProgrammeEntry, AuditTeamMember, ChecklistItem)

#: who plans: sites, processes, programmes, audits and audit teams
PLANNER_ROLES = frozenset({"manager", "quality_officer"})
#: who may set up sites and processes
SETUP_ROLES = frozenset({"admin", "manager", "quality_officer"})
AUDITOR_ROLES = frozenset({"internal_auditor", "quality_officer", "manager"})
#: states in which the team may still change
TEAM_STATES = ("planned", "scheduled", "prepared", "postponed")
#: states of an audit that will not take place
NOT_HAPPENING = ("cancelled",)
OPEN_NC_EXCLUDED = ("closed", "rejected")
MAX_QUESTIONS = 500
ATTACHMENT_LIFECYCLE = "checklist_item"
#: the standard whose clause numbers a process lists (``Process.clause_numbers``)
PROCESS_STANDARD = "iso-9001-2015"


def _process_clauses(process: Process | None, standard_identifier: str) -> list[str]:
    """The process's clauses when the audit is against the standard they are numbered in."""
    if process is None or standard_identifier != PROCESS_STANDARD:
        return []
    return list(process.clause_numbers or [])


# --------------------------------------------------------------------------- helpers


def _code(errors: dict[str, str], value: Any) -> str:
    code = clean_text(errors, "code", value, limit=12)
    if code and not code.replace("-", "").isalnum():
        errors["code"] = "may contain only letters, digits and '-'"
    return code.upper()


def _check_standard(errors: dict[str, str], name: str, identifier: Any) -> Standard | None:
    if not isinstance(identifier, str) or not identifier.strip():
        errors[name] = "is required"
        return None
    try:
        return _find_standard(identifier.strip())
    except KeyError:
        errors[name] = f"no standard {identifier!r}"
        return None


def _check_clauses(errors: dict[str, str], name: str, standard: Standard | None, numbers: Any) -> list[str]:
    if numbers in (None, ""):
        return []
    if isinstance(numbers, str):
        numbers = [part.strip() for part in numbers.replace(";", ",").split(",")]
    if not isinstance(numbers, (list, tuple)):
        errors[name] = "must be a list of clause numbers"
        return []
    cleaned = list(dict.fromkeys(str(n).strip() for n in numbers if str(n).strip()))
    if standard is not None:
        unknown = [n for n in cleaned if not standard.has_clause(n)]
        if unknown:
            errors[name] = f"{standard.identifier} has no clause " + ", ".join(unknown[:5])
    return cleaned


# --------------------------------------------------------------------------- sites and processes


def create_site(actor: User | Actor, *, name: str, code: str, address: str = "") -> Site:
    actor = as_actor(actor)
    require_roles(actor, SETUP_ROLES, "set up sites")
    errors: dict[str, str] = {}
    name = clean_text(errors, "name", name, limit=120)
    code = _code(errors, code)
    address = clean_text(errors, "address", address, required=False, limit=2000)
    if name and db.session.scalar(select(Site.id).where(func.lower(Site.name) == name.lower())):
        errors["name"] = "another site has this name"
    if code and db.session.scalar(select(Site.id).where(Site.code == code)):
        errors["code"] = "another site has this code"
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, f"site {code} set up") as session:
        site = Site(name=name, code=code, address=address)
        session.add(site)
    return site


def save_process(
    actor: User | Actor,
    *,
    name: str,
    code: str,
    owner_id: int | None = None,
    site_id: int | None = None,
    risk: str = "medium",
    clause_numbers: Sequence[str] | str = (),
    description: str = "",
    active: bool = True,
    process: Process | None = None,
    standard_identifier: str = PROCESS_STANDARD,
) -> Process:
    """Create a process, or update ``process``; its owner can never audit it."""
    actor = as_actor(actor)
    require_roles(actor, SETUP_ROLES, "set up processes")
    errors: dict[str, str] = {}
    name = clean_text(errors, "name", name, limit=120)
    code = _code(errors, code)
    description = clean_text(errors, "description", description, required=False, limit=5000)
    if risk not in RISK_LEVELS:
        errors["risk"] = "must be one of: " + ", ".join(RISK_LEVELS)
    owner = None
    if owner_id not in (None, ""):
        owner = row_by_id(User, owner_id)
        if owner is None or not owner.active:
            errors["owner_id"] = "must be an active user"
    site = None
    if site_id not in (None, ""):
        site = row_by_id(Site, site_id)
        if site is None:
            errors["site_id"] = "no such site"
    standard = _check_standard(errors, "standard", standard_identifier)
    clauses = _check_clauses(errors, "clause_numbers", standard, clause_numbers)
    this_id = process.id if process is not None else -1
    if name and db.session.scalar(
        select(Process.id).where(func.lower(Process.name) == name.lower(), Process.id != this_id)
    ):
        errors["name"] = "another process has this name"
    if code and db.session.scalar(select(Process.id).where(Process.code == code, Process.id != this_id)):
        errors["code"] = "another process has this code"
    if errors:
        raise InvalidData(errors)
    reason = f"process {code} " + ("updated" if process else "set up")
    with recorded_change(actor, reason) as session:
        if process is None:
            process = Process()
            session.add(process)
        process.name, process.code, process.description = name, code, description
        process.owner_id = owner.id if owner else None
        process.site_id = site.id if site else None
        process.risk, process.clause_numbers, process.active = risk, clauses, bool(active)
    return process


# --------------------------------------------------------------------------- programmes


def planned_dates(year: int, count: int, duration_days: int = 1) -> list[tuple[dt.date, dt.date]]:
    """``count`` audit slots spread evenly over ``year``, each starting on a working day mid-month.

    Four audits fall in January, April, July and October; two in January and July; one in
    January... so the intervals between audits of one process are equal.
    """
    slots = []
    for index in range(count):
        month = 1 + (index * 12) // count
        start = dt.date(year, month, 15)
        while start.weekday() >= 5:  # Saturday, Sunday → next Monday
            start += dt.timedelta(days=1)
        end = start
        remaining = max(duration_days, 1) - 1
        while remaining:
            end += dt.timedelta(days=1)
            if end.weekday() < 5:
                remaining -= 1
        slots.append((start, end))
    return slots


def create_programme(
    actor: User | Actor,
    *,
    year: int | str,
    title: str,
    standard_identifier: str = "iso-9001-2015",
    site_id: int | None = None,
    objectives: str = "",
    entries: Iterable[Mapping[str, Any]] = (),
) -> AuditProgramme:
    """A year's programme; each entry names a process and optionally its risk and audits per year.

    Without an explicit frequency an entry is audited as often as its risk rating asks
    (``RISK_FREQUENCY``); without a risk, the process's own rating is used.
    """
    actor = as_actor(actor)
    require_roles(actor, PLANNER_ROLES, "plan audit programmes")
    errors: dict[str, str] = {}
    try:
        year = int(year)
        if not 2000 <= year <= 2100:
            raise ValueError
    except (TypeError, ValueError):
        errors["year"] = "must be a year between 2000 and 2100"
        year = 0
    title = clean_text(errors, "title", title, limit=200)
    objectives = clean_text(errors, "objectives", objectives, required=False, limit=5000)
    _check_standard(errors, "standard_identifier", standard_identifier)
    site = None
    if site_id not in (None, ""):
        site = row_by_id(Site, site_id)
        if site is None:
            errors["site_id"] = "no such site"
    if year and "site_id" not in errors:
        clash = select(AuditProgramme.id).where(AuditProgramme.year == year)
        clash = clash.where(
            AuditProgramme.site_id == site.id if site else AuditProgramme.site_id.is_(None)  # type: ignore[union-attr]
        )
        if db.session.scalar(clash):
            errors["year"] = f"a programme for {year} and this site already exists"
    rows = _programme_entries(errors, entries)
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, f"audit programme {year} planned") as session:
        programme = AuditProgramme(
            year=year,
            site_id=site.id if site else None,
            title=title,
            standard_identifier=standard_identifier.strip(),
            objectives=objectives,
            created_by_id=actor.id,
        )
        programme.entries = [ProgrammeEntry(**row) for row in rows]
        session.add(programme)
    return programme


def _programme_entries(errors: dict[str, str], entries: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    seen: set[int] = set()
    for index, entry in enumerate(entries):
        name = f"entries[{index}]"
        if not isinstance(entry, Mapping):
            errors[name] = "must be an object with process_id"
            continue
        process = row_by_id(Process, entry.get("process_id"))
        if process is None:
            errors[f"{name}.process_id"] = "no such process"
            continue
        if process.id in seen:
            errors[f"{name}.process_id"] = f"process {process.code} is listed twice"
            continue
        seen.add(process.id)
        risk = entry.get("risk") or process.risk
        if risk not in RISK_LEVELS:
            errors[f"{name}.risk"] = "must be one of: " + ", ".join(RISK_LEVELS)
            continue
        frequency = entry.get("audits_per_year")
        frequency = RISK_FREQUENCY[risk] if frequency in (None, "") else frequency
        duration = entry.get("duration_days")
        duration = 1 if duration in (None, "") else duration
        try:
            frequency, duration = int(frequency), int(duration)
        except (TypeError, ValueError):
            errors[f"{name}.audits_per_year"] = "must be a whole number"
            continue
        if not 1 <= frequency <= 12:
            errors[f"{name}.audits_per_year"] = "must be between 1 and 12"
        if not 1 <= duration <= 20:
            errors[f"{name}.duration_days"] = "must be between 1 and 20"
        rows.append({"process_id": process.id, "risk": risk, "audits_per_year": frequency, "duration_days": duration})
    return rows


def generate_audits(programme: AuditProgramme, actor: User | Actor) -> list[Audit]:
    """Create the programme's recurring audits that do not exist yet (running it twice adds none)."""
    actor = as_actor(actor)
    require_roles(actor, PLANNER_ROLES, "generate audits")
    existing: dict[int, int] = dict(
        db.session.execute(
            select(Audit.process_id, func.count())
            .where(Audit.programme_id == programme.id, Audit.state.not_in(NOT_HAPPENING))
            .group_by(Audit.process_id)
        ).all()
    )
    created: list[Audit] = []
    with recorded_change(actor, f"audits generated for programme {programme.year}") as session:
        for entry in programme.entries:
            process = entry.process
            slots = planned_dates(programme.year, entry.audits_per_year, entry.duration_days)
            for number, (start, end) in enumerate(slots, start=1):
                if number <= existing.get(process.id, 0):
                    continue
                audit = Audit(
                    reference=next_reference(session, "AUD", programme.year),
                    kind="internal",
                    title=f"{process.name} — audit {number} of {len(slots)} ({programme.year})",
                    programme_id=programme.id,
                    site_id=programme.site_id or process.site_id,
                    process_id=process.id,
                    standard_identifier=programme.standard_identifier,
                    clause_numbers=_process_clauses(process, programme.standard_identifier),
                    objectives=programme.objectives,
                    scope=f"The {process.name} process" + (f" at {programme.site.name}" if programme.site else ""),
                    criteria=_criteria(programme.standard_identifier),
                    planned_start=start,
                    planned_end=end,
                    created_by_id=actor.id,
                )
                session.add(audit)
                created.append(audit)
    return created


def _criteria(identifier: str) -> str:
    try:
        return _find_standard(identifier).title
    except KeyError:
        return identifier


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


def can_answer(audit: Audit, actor: User | Actor) -> bool:
    actor = as_actor(actor)
    return actor.id in audit.auditor_ids


def can_edit_checklist(audit: Audit, actor: User | Actor) -> bool:
    actor = as_actor(actor)
    return actor.id in audit.auditor_ids or bool(actor.roles & {"quality_officer"})


# --------------------------------------------------------------------------- checklists


def _clause_and_descendants(standard: Standard, numbers: Sequence[str]) -> list[str]:
    if not numbers:
        return [c.number for c in standard.clauses]
    chosen: list[str] = []
    for clause in standard.clauses:
        if any(clause.number == n or clause.number.startswith(n + ".") for n in numbers):
            chosen.append(clause.number)
    return chosen


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


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Score:
    """Conformity of a checklist: conforming answers as a share of applicable answered ones."""

    standard_identifier: str
    conforming: int
    applicable: int
    findings: Mapping[str, int]

    @property
    def percent(self) -> float | None:
        return round(100 * self.conforming / self.applicable, 1) if self.applicable else None


def result_counts(audit: Audit) -> dict[str, int]:
    counts = {key: 0 for key in RESULTS}
    counts["unanswered"] = 0
    for item in audit.items:
        counts[item.result or "unanswered"] += 1
    return counts


def scores(audit: Audit) -> list[Score]:
    """One score per standard on the checklist (service performance audits report it)."""
    grouped: dict[str, list[ChecklistItem]] = defaultdict(list)
    for item in audit.items:
        grouped[item.standard_identifier].append(item)
    found = []
    for identifier, items in grouped.items():
        applicable = [i for i in items if i.result and i.result != "not_applicable"]
        findings = {key: sum(1 for i in items if i.result == key) for key in ("major", "minor", "observation", "ofi")}
        conforming = sum(1 for i in applicable if i.result in ("conforming", "observation", "ofi"))
        found.append(Score(identifier, conforming, len(applicable), findings))
    return found


def score_trend(audit: Audit, limit: int = 8) -> list[tuple[Audit, list[Score]]]:
    """This audit and earlier ones of the same kind, standard and process, oldest first."""
    query = (
        select(Audit)
        .options(selectinload(Audit.items))
        .where(
            Audit.kind == audit.kind,
            Audit.standard_identifier == audit.standard_identifier,
            Audit.state.in_(Audit.CONDUCTED_STATES),
            Audit.id != audit.id,
        )
        .order_by(Audit.planned_start.desc(), Audit.id.desc())
        .limit(limit - 1)
    )
    if audit.process_id is not None:
        query = query.where(Audit.process_id == audit.process_id)
    if audit.planned_start is not None:
        query = query.where(Audit.planned_start <= audit.planned_start)
    earlier = list(db.session.scalars(query))[::-1]
    return [(a, scores(a)) for a in [*earlier, audit]]


def finding_ncs(audit: Audit) -> list[Nonconformity]:
    return [item.nonconformity for item in audit.items if item.nonconformity is not None]


# --------------------------------------------------------------------------- coverage


@dataclass
class CoverageCell:
    """What the cycle did for one process and one clause."""

    planned: int = 0
    audited: int = 0
    results: dict[str, int] = field(default_factory=dict)

    @property
    def worst(self) -> str | None:
        for key in ("major", "minor", "observation", "ofi", "conforming", "not_applicable"):
            if self.results.get(key):
                return key
        return None

    @property
    def status(self) -> str:
        if self.audited:
            return "audited"
        return "planned" if self.planned else "uncovered"


@dataclass
class Coverage:
    year: int
    standard: Standard
    clauses: list[str]
    processes: list[Process]
    cells: dict[tuple[int, str], CoverageCell]

    def cell(self, process_id: int, clause: str) -> CoverageCell:
        return self.cells.get((process_id, clause)) or CoverageCell()

    @property
    def relevant(self) -> int:
        return len(self.cells)

    def count(self, status: str) -> int:
        return sum(1 for cell in self.cells.values() if cell.status == status)

    @property
    def percent_audited(self) -> float:
        return round(100 * self.count("audited") / self.relevant, 1) if self.relevant else 0.0

    def uncovered_clauses(self) -> list[str]:
        """Clauses (columns) no audit of the cycle has examined for any process."""
        return [c for c in self.clauses if not any(self.cell(p.id, c).audited for p in self.processes)]


def _main_clause(number: str, depth: int) -> str:
    return ".".join(number.split(".")[:depth])


def coverage(
    year: int, *, site_id: int | None = None, standard_identifier: str = "iso-9001-2015", depth: int = 2
) -> Coverage:
    """The clause × process matrix of a cycle: per cell, audits planned, audits held and their results.

    A cell is *relevant* when the process addresses the clause (its ``clause_numbers``, or every
    clause when it lists none) or an audit of the year covers it. Clauses are shown ``depth``
    levels deep (9.2, not 9.2.1).
    """
    standard = _find_standard(standard_identifier)
    columns = [c.number for c in standard.clauses if c.depth == depth]
    processes_query = select(Process).where(Process.active.is_(True)).order_by(Process.name)
    if site_id is not None:
        processes_query = processes_query.where((Process.site_id == site_id) | Process.site_id.is_(None))
    processes = list(db.session.scalars(processes_query))
    cells: dict[tuple[int, str], CoverageCell] = {}
    for process in processes:
        own = process.clause_numbers or []
        for column in columns:
            if not own or any(_main_clause(n, depth) == column or column.startswith(n + ".") for n in own):
                cells[(process.id, column)] = CoverageCell()
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    of_the_cycle = [
        Audit.standard_identifier == standard.identifier,
        Audit.process_id.is_not(None),
        Audit.state.not_in(NOT_HAPPENING),
        Audit.planned_start.between(first, last),
    ]
    if site_id is not None:
        of_the_cycle.append((Audit.site_id == site_id) | Audit.site_id.is_(None))
    known = {p.id for p in processes}
    column_set = set(columns)
    item = ChecklistItem
    # counted in SQL, per process and clause column: a year of a large organisation has tens of
    # thousands of checklist items, and the dashboard's readiness panel asks for this matrix
    numbers = db.session.scalars(
        select(item.clause_number).join(Audit, Audit.id == item.audit_id).where(*of_the_cycle).distinct()
    ).all()
    to_column = {n: _main_clause(n, depth) for n in numbers if n and _main_clause(n, depth) in column_set}
    if to_column:
        column = case(to_column, value=item.clause_number, else_=None)
        conducted = Audit.state.in_(Audit.CONDUCTED_STATES)
        touched = db.session.execute(
            select(Audit.process_id, conducted, column, func.count(func.distinct(Audit.id)))
            .join(Audit, Audit.id == item.audit_id)
            .where(*of_the_cycle, item.clause_number.in_(list(to_column)))
            .group_by(Audit.process_id, conducted, column)
        )
        for process_id, was_conducted, clause, count in touched:
            if process_id not in known:
                continue
            cell = cells.setdefault((process_id, clause), CoverageCell())
            if was_conducted:
                cell.audited += count
            else:
                cell.planned += count
        results = db.session.execute(
            select(Audit.process_id, column, item.result, func.count())
            .join(Audit, Audit.id == item.audit_id)
            .where(*of_the_cycle, conducted, item.result.is_not(None), item.clause_number.in_(list(to_column)))
            .group_by(Audit.process_id, column, item.result)
        )
        for process_id, clause, result, count in results:
            if process_id in known and result:
                cell = cells.setdefault((process_id, clause), CoverageCell())
                cell.results[result] = cell.results.get(result, 0) + count
    # audits without a checklist yet count for the clauses they were planned from
    without_items = db.session.execute(
        select(Audit.process_id, Audit.state, Audit.clause_numbers).where(
            *of_the_cycle, ~sa.exists().where(item.audit_id == Audit.id)
        )
    )
    for process_id, state, clause_numbers in without_items:
        if process_id not in known:
            continue
        planned_columns = {
            _main_clause(number, depth) for number in _clause_and_descendants(standard, clause_numbers or [])
        }
        for clause in planned_columns & column_set:
            cell = cells.setdefault((process_id, clause), CoverageCell())
            if state in Audit.CONDUCTED_STATES:
                cell.audited += 1
            else:
                cell.planned += 1
    return Coverage(year, standard, columns, processes, cells)


# --------------------------------------------------------------------------- calendar


def audits_between(
    first: dt.date, last: dt.date, *, auditor_id: int | None = None, site_id: int | None = None
) -> list[Audit]:
    """Audits whose planned dates touch [first, last], for the calendar (cancelled ones left out)."""
    query = (
        select(Audit)
        .options(selectinload(Audit.team), selectinload(Audit.process))
        .where(
            Audit.state.not_in(NOT_HAPPENING),
            Audit.planned_start <= last,
            func.coalesce(Audit.planned_end, Audit.planned_start) >= first,
        )
        .order_by(Audit.planned_start, Audit.id)
    )
    if site_id is not None:
        query = query.where(Audit.site_id == site_id)
    audits = list(db.session.scalars(query))
    if auditor_id is not None:
        audits = [a for a in audits if auditor_id in a.member_ids]
    return audits


def month_grid(year: int, month: int) -> list[list[dt.date | None]]:
    """Weeks (Monday first) of a month; days outside it are None."""
    return [[day or None for day in week] for week in calendar.Calendar().monthdatescalendar(year, month)]


def _feed_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_calendar_feed(user: User, actor: User | Actor) -> str:
    """A new secret feed address token for ``user`` (the old one stops working); shown once."""
    actor = as_actor(actor)
    if actor.id != user.id and "admin" not in actor.roles:
        raise NotPermitted("Only the user or an administrator can create their calendar feed")
    secret = secrets.token_urlsafe(24)
    with recorded_change(actor, "calendar feed address issued"):
        user.calendar_feed_hash = _feed_hash(secret)
    return secret


def revoke_calendar_feed(user: User, actor: User | Actor) -> None:
    actor = as_actor(actor)
    if actor.id != user.id and "admin" not in actor.roles:
        raise NotPermitted("Only the user or an administrator can revoke their calendar feed")
    with recorded_change(actor, "calendar feed address revoked"):
        user.calendar_feed_hash = None


def user_for_feed(secret: str) -> User | None:
    if not secret or len(secret) > 100:
        return None
    user = db.session.scalar(select(User).where(User.calendar_feed_hash == _feed_hash(secret)))
    return user if user is not None and user.active else None


def ical_feed(user: User, *, base_url: str = "", today: dt.date | None = None) -> bytes:
    """The user's audits (from a year back) as an iCalendar document (RFC 5545)."""
    from icalendar import Calendar, Event

    today = today or dt.date.today()
    cal = Calendar()
    cal.add("prodid", "-//qmsflow//audit calendar//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"Audits — {user.name}")
    for audit in audits_between(today - dt.timedelta(days=366), today + dt.timedelta(days=3 * 366), auditor_id=user.id):
        event = Event()
        event.add("uid", f"audit-{audit.id}@qmsflow")
        event.add("summary", f"{audit.reference} {audit.title}")
        event.add("dtstart", audit.planned_start)
        event.add("dtend", (audit.planned_end or audit.planned_start) + dt.timedelta(days=1))
        event.add("dtstamp", utcnow())
        role = "Lead auditor" if audit.lead_auditor_id == user.id else "Audit team"
        description = f"{role}. State: {audit.state_label}. Scope: {audit.scope}"
        event.add("description", description)
        if audit.site is not None:
            event.add("location", audit.site.name)
        if base_url:
            event.add("url", f"{base_url.rstrip('/')}/audits/{audit.id}")
        event.add("status", "TENTATIVE" if audit.state in ("planned", "postponed") else "CONFIRMED")
        cal.add_component(event)
    return cal.to_ical()


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
