"""Competence (ISO 9001 7.2, 7.3): the catalogue, requirements, each person's records, the matrix,
and the preconditions that make an assignment depend on competence.

Who needs what is computed, never stored per person: a person needs the competences required of
their job role, their process, the virtual platforms they handle, the documents distributed to them
(reading the revision in force counts as awareness), their audit roles (internal auditors) and the
signed events their roles may fire. What they hold is their best record that has not expired.
``matrix`` computes both for a page of people in a fixed number of queries.

Preconditions are off until an administrator turns one on: then the assignment (lead auditor of an
audit, auditor on a team, owner of a virtual platform's complaints, verifier of a corrective action,
approver of a document type) is refused to someone who lacks a competence its requirements name, and
the refusal says which.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import Integer, and_, case, cast, exists, func, literal, null, or_, select, true, union_all
from sqlalchemy import String as SqlString
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from workflows import get_lifecycle
from workflows.errors import InvalidData

from ..database import db, id_in
from ..lifecycles import LIFECYCLE_NAMES
from ..models import (
    ASSIGNMENTS,
    AUDIT_ROLES,
    CHANNELS,
    COMPETENCE_LEVELS,
    DOCUMENT_TYPES,
    IN_FORCE_STATES,
    LEVEL_RANK,
    REQUIREMENT_SCOPES,
    VIRTUAL_PLATFORMS,
    Acknowledgement,
    Actor,
    Competence,
    CompetencePrecondition,
    CompetenceRecord,
    CompetenceRequirement,
    Complaint,
    CorrectiveAction,
    Document,
    DocumentRevision,
    JobRole,
    PersonProfile,
    Process,
    Site,
    TrainingAttendance,
    TrainingNeed,
    TrainingSession,
    User,
    UserRole,
)
from .audit_trail import recorded_change, register_audited
from .paging import COUNT_CAP, KeysetPage, keyset_page
from .validation import clean_date, clean_text, require_roles, row_by_id
from .workflow import actor_precondition, as_actor

#: who keeps the catalogue, the requirements and people's records
MANAGE_ROLES = frozenset({"admin", "manager", "quality_officer"})
#: who may see everyone's records and the matrix (auditors sample 7.2 evidence); everyone sees their own
VIEW_ROLES = frozenset({"admin", "manager", "quality_officer", "internal_auditor"})
#: the role whose holders the audit-role requirements apply to
AUDITOR_ROLE = "internal_auditor"
MAX_VALIDITY_MONTHS = 240
MAX_PLATFORMS = 20

register_audited(
    JobRole,
    Competence,
    CompetenceRequirement,
    PersonProfile,
    CompetenceRecord,
    TrainingNeed,
    TrainingAttendance,
    CompetencePrecondition,
)


def expiry_warning_days() -> int:
    config = current_app.config if has_app_context() else {}
    return int(config.get("QMS_COMPETENCE_EXPIRY_WARNING_DAYS", 60))


@functools.cache
def signed_events() -> dict[str, str]:
    """The events that carry an electronic signature, as ``lifecycle.event`` → label."""
    found = {}
    for name in LIFECYCLE_NAMES:
        lifecycle = get_lifecycle(name)
        for event in lifecycle.events:
            if event.signature:
                found[f"{name}.{event.name}"] = f"{lifecycle.label}: {event.label}"
    return found


def platform_labels() -> dict[str, str]:
    """The virtual platforms: the complaint channels' four and any the organisation named in requirements."""
    labels = {key: CHANNELS[key] for key in VIRTUAL_PLATFORMS}
    added = db.session.scalars(
        select(CompetenceRequirement.target_key).where(CompetenceRequirement.scope == "platform").distinct()
    )
    for key in added:
        labels.setdefault(key, key)
    profiles = db.session.scalars(select(PersonProfile.platforms))
    for chosen in profiles:
        for key in chosen or ():
            labels.setdefault(key, key)
    return labels


def can_manage(actor: User | Actor) -> bool:
    return bool(as_actor(actor).roles & MANAGE_ROLES)


def can_view_person(actor: User | Actor, user_id: int) -> bool:
    actor = as_actor(actor)
    return bool(actor.roles & VIEW_ROLES) or actor.id == user_id


def level_label(level: str | None) -> str:
    return COMPETENCE_LEVELS.get(level or "", "—")


def _clean_level(errors: dict[str, str], name: str, value: Any, *, required: bool = True) -> str | None:
    if value in (None, "") and not required:
        return None
    if value not in COMPETENCE_LEVELS:
        errors[name] = "must be one of: " + ", ".join(COMPETENCE_LEVELS)
        return None
    return str(value)


def _clean_int(
    errors: dict[str, str], name: str, value: Any, low: int, high: int, *, required: bool = False
) -> int | None:
    if value in (None, ""):
        if required:
            errors[name] = "is required"
        return None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value.strip()) < 10:
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        errors[name] = f"must be a whole number from {low} to {high}"
        return None
    return value


def add_months(day: dt.date, months: int) -> dt.date:
    import calendar

    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def expiry_for(competence: Competence | None, achieved_on: dt.date) -> dt.date | None:
    if competence is None or not competence.validity_months:
        return None
    return add_months(achieved_on, competence.validity_months)


# --------------------------------------------------------------------------- the catalogue


def _competence_values(data: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "name" in data:
        values["name"] = clean_text(errors, "name", data["name"], limit=120)
    if "description" in data:
        values["description"] = clean_text(errors, "description", data["description"], required=False, limit=5000)
    for level in COMPETENCE_LEVELS:
        key = f"evidence_{level}"
        if key in data:
            values[key] = clean_text(errors, key, data[key], required=False, limit=5000)
    if "validity_months" in data:
        values["validity_months"] = _clean_int(
            errors, "validity_months", data["validity_months"], 1, MAX_VALIDITY_MONTHS
        )
    if "active" in data:
        if not isinstance(data["active"], bool):
            errors["active"] = "must be true or false"
        else:
            values["active"] = data["active"]
    unknown = set(data) - {
        "name",
        "description",
        "validity_months",
        "active",
        *(f"evidence_{lv}" for lv in COMPETENCE_LEVELS),
    }
    for name in sorted(unknown):
        errors[name] = "is not a field of a competence"
    return values


def _name_taken(name: str, competence_id: int | None = None) -> bool:
    from sqlalchemy import func, or_

    # exact, or the same but for case (SQLite's lower() folds ASCII only: the exact test catches the rest)
    query = select(Competence.id).where(or_(Competence.name == name, func.lower(Competence.name) == name.lower()))
    if competence_id is not None:
        query = query.where(Competence.id != competence_id)
    return db.session.scalar(query) is not None


def create_competence(actor: User | Actor, **data: Any) -> Competence:
    """A new entry of the catalogue (name, description, evidence per level, validity in months)."""
    actor = as_actor(actor)
    require_roles(actor, MANAGE_ROLES, "keep the competence catalogue")
    errors: dict[str, str] = {}
    data.setdefault("name", "")
    values = _competence_values(data, errors)
    if values.get("name") and _name_taken(values["name"]):
        errors["name"] = "a competence with this name exists already"
    if errors:
        raise InvalidData(errors)
    try:
        with recorded_change(actor, "competence added to the catalogue") as session:
            competence = Competence(**values)
            session.add(competence)
    except IntegrityError:  # added at the same moment by someone else
        raise InvalidData({"name": "a competence with this name exists already"}) from None
    return competence


def update_competence(competence: Competence, actor: User | Actor, **data: Any) -> Competence:
    actor = as_actor(actor)
    require_roles(actor, MANAGE_ROLES, "keep the competence catalogue")
    errors: dict[str, str] = {}
    values = _competence_values(data, errors)
    if values.get("name") and _name_taken(values["name"], competence.id):
        errors["name"] = "a competence with this name exists already"
    if errors:
        raise InvalidData(errors)
    try:
        with recorded_change(actor, f"competence {competence.name} changed"):
            for key, value in values.items():
                setattr(competence, key, value)
    except IntegrityError:
        raise InvalidData({"name": "a competence with this name exists already"}) from None
    return competence


def create_job_role(actor: User | Actor, *, name: Any, description: Any = "") -> JobRole:
    actor = as_actor(actor)
    require_roles(actor, MANAGE_ROLES, "keep the job roles")
    errors: dict[str, str] = {}
    name = clean_text(errors, "name", name, limit=120)
    description = clean_text(errors, "description", description, required=False, limit=5000)
    if name and db.session.scalar(select(JobRole.id).where(JobRole.name == name)) is not None:
        errors["name"] = "a job role with this name exists already"
    if errors:
        raise InvalidData(errors)
    try:
        with recorded_change(actor, "job role added") as session:
            role = JobRole(name=name, description=description)
            session.add(role)
    except IntegrityError:
        raise InvalidData({"name": "a job role with this name exists already"}) from None
    return role


def requirement_target_label(
    requirement: CompetenceRequirement, names: dict[tuple[str, int], str] | None = None
) -> str:
    """What a requirement is attached to, in words (``names`` maps (scope, id) → name, to save queries)."""
    scope, target_id, key = requirement.scope, requirement.target_id, requirement.target_key
    if scope == "audit_role":
        return AUDIT_ROLES.get(key, key)
    if scope == "platform":
        return CHANNELS.get(key, key) if key in VIRTUAL_PLATFORMS else key
    if scope == "event":
        return signed_events().get(key, key)
    if names is not None and (scope, target_id or 0) in names:
        return names[(scope, target_id or 0)]
    model = {"job_role": JobRole, "process": Process, "document": Document}[scope]
    row = db.session.get(model, target_id) if target_id else None
    if row is None:
        return "—"
    return f"{row.number} {row.title}" if isinstance(row, Document) else row.name


def target_names(requirements: Iterable[CompetenceRequirement], reader: Any = None) -> dict[tuple[str, int], str]:
    """(scope, id) → name of every job role, process and document the requirements name, in three queries;
    with ``reader``, a document they may not see is not named (its number and title reach only its readers)."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for r in requirements:
        if r.target_id:
            wanted[r.scope].add(r.target_id)
    names: dict[tuple[str, int], str] = {}
    if wanted["job_role"]:
        for row in db.session.scalars(select(JobRole).where(id_in(JobRole.id, list(wanted["job_role"])))):
            names[("job_role", row.id)] = row.name
    if wanted["process"]:
        for row in db.session.scalars(select(Process).where(id_in(Process.id, list(wanted["process"])))):
            names[("process", row.id)] = row.name
    if wanted["document"]:
        from .documents import can_view

        for row in db.session.scalars(select(Document).where(id_in(Document.id, list(wanted["document"])))):
            seen = reader is None or can_view(row, reader)
            names[("document", row.id)] = f"{row.number} {row.title}" if seen else "a document you may not see"
    return names


def add_requirement(
    competence: Competence,
    actor: User | Actor,
    *,
    scope: Any,
    level: Any,
    target_id: Any = None,
    target_key: Any = "",
) -> CompetenceRequirement:
    """Attach the competence, at a level, to a job role, process, document, platform, audit role or signed event."""
    actor = as_actor(actor)
    require_roles(actor, MANAGE_ROLES, "set competence requirements")
    errors: dict[str, str] = {}
    if scope not in REQUIREMENT_SCOPES:
        errors["scope"] = "must be one of: " + ", ".join(REQUIREMENT_SCOPES)
    level = _clean_level(errors, "level", level)
    key = ""
    row_id: int | None = None
    if scope in ("job_role", "process", "document"):
        model = {"job_role": JobRole, "process": Process, "document": Document}[scope]
        row = row_by_id(model, target_id)
        if row is None:
            errors["target_id"] = f"must be the id of a {REQUIREMENT_SCOPES[scope].split(' (')[0].lower()}"
        else:
            row_id = row.id
    elif scope == "platform":
        key = clean_text(errors, "target_key", target_key, limit=60)
        if key and not all(ch.isalnum() or ch in " _-/.+" for ch in key):
            errors["target_key"] = "must be a platform name (letters, digits, spaces, - _ / . +)"
    elif scope == "audit_role":
        if target_key not in AUDIT_ROLES:
            errors["target_key"] = "must be one of: " + ", ".join(AUDIT_ROLES)
        key = str(target_key or "")
    elif scope == "event":
        if target_key not in signed_events():
            errors["target_key"] = "must be a signed event: " + ", ".join(signed_events())
        key = str(target_key or "")
    if not errors:
        exists = db.session.scalar(
            select(CompetenceRequirement.id).where(
                CompetenceRequirement.competence_id == competence.id,
                CompetenceRequirement.scope == scope,
                CompetenceRequirement.target_id.is_(None)
                if row_id is None
                else CompetenceRequirement.target_id == row_id,
                CompetenceRequirement.target_key == key,
            )
        )
        if exists is not None:
            errors["scope"] = "this competence is required there already; remove that requirement to change its level"
    if errors:
        raise InvalidData(errors)
    try:
        with recorded_change(actor, f"requirement of {competence.name} added") as session:
            requirement = CompetenceRequirement(
                competence_id=competence.id,
                scope=scope,
                target_id=row_id,
                target_key=key,
                level=level,
                created_by_id=actor.id,
            )
            session.add(requirement)
    except IntegrityError:  # the same requirement added at the same moment
        raise InvalidData({"scope": "this competence is required there already"}) from None
    return requirement


def remove_requirement(requirement: CompetenceRequirement, actor: User | Actor) -> None:
    actor = as_actor(actor)
    require_roles(actor, MANAGE_ROLES, "set competence requirements")
    with recorded_change(actor, "competence requirement removed") as session:
        session.delete(requirement)


# --------------------------------------------------------------------------- people


def set_profile(user: User, actor: User | Actor, **data: Any) -> PersonProfile:
    """Where a person works: job role, site, process (ids or None) and the virtual platforms they handle."""
    actor = as_actor(actor)
    require_roles(actor, MANAGE_ROLES, "set where people work")
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name, model in (("job_role_id", JobRole), ("site_id", Site), ("process_id", Process)):
        if name not in data:
            continue
        value = data[name]
        if value in (None, "", 0):
            values[name] = None
            continue
        row = row_by_id(model, value)
        if row is None:
            errors[name] = f"must be the id of a {name[:-3].replace('_', ' ')}"
        else:
            values[name] = row.id
    if "platforms" in data:
        chosen = data["platforms"]
        if isinstance(chosen, str):
            chosen = [p.strip() for p in chosen.split(",") if p.strip()]
        if not isinstance(chosen, list) or not all(isinstance(p, str) for p in chosen):
            errors["platforms"] = "must be a list of platform names"
        elif len(chosen) > MAX_PLATFORMS:
            errors["platforms"] = f"at most {MAX_PLATFORMS} platforms"
        else:
            cleaned = []
            for p in chosen:
                text = clean_text(errors, "platforms", p, limit=60)
                if text and text not in cleaned:
                    cleaned.append(text)
            values["platforms"] = cleaned
    unknown = set(data) - {"job_role_id", "site_id", "process_id", "platforms"}
    for name in sorted(unknown):
        errors[name] = "is not a field of a person's profile"
    if errors:
        raise InvalidData(errors)
    with recorded_change(actor, f"profile of {user.name} set") as session:
        profile = session.get(PersonProfile, user.id)
        if profile is None:
            profile = PersonProfile(user_id=user.id, platforms=[])
            session.add(profile)
        for key, value in values.items():
            setattr(profile, key, value)
    return profile


def record_competence(user: User, actor: User | Actor, **data: Any) -> CompetenceRecord:
    """A competence (or external qualification) a person holds, with its evidence and expiry.

    ``competence_id`` may be left out for a qualification outside the catalogue (then ``title`` is
    required). The expiry defaults to the competence's validity after ``achieved_on``.
    """
    actor = as_actor(actor)
    require_roles(actor, MANAGE_ROLES, "record people's competence")
    errors: dict[str, str] = {}
    allowed = {"competence_id", "level", "source", "title", "provider", "evidence", "achieved_on", "expires_on"}
    for name in sorted(set(data) - allowed):
        errors[name] = "is not a field of a competence record"
    competence = None
    if data.get("competence_id") not in (None, "", 0):
        competence = row_by_id(Competence, data.get("competence_id"))
        if competence is None:
            errors["competence_id"] = "must be the id of a competence"
    level = _clean_level(errors, "level", data.get("level"), required=competence is not None)
    source = data.get("source") or "external"
    if source not in ("external", "assessment"):
        errors["source"] = "must be external or assessment (training records come from evaluated sessions)"
    title = clean_text(errors, "title", data.get("title"), required=competence is None, limit=200)
    provider = clean_text(errors, "provider", data.get("provider"), required=False, limit=200)
    evidence = clean_text(errors, "evidence", data.get("evidence"), required=True, limit=5000)
    achieved = clean_date(errors, "achieved_on", data.get("achieved_on"))
    expires = clean_date(errors, "expires_on", data.get("expires_on"), required=False)
    if achieved and achieved > dt.date.today():
        errors["achieved_on"] = "cannot be in the future"
    if achieved and expires and expires < achieved:
        errors["expires_on"] = "cannot be before it was achieved"
    if errors:
        raise InvalidData(errors)
    assert achieved is not None
    with recorded_change(actor, f"competence of {user.name} recorded") as session:
        record = CompetenceRecord(
            user_id=user.id,
            competence_id=competence.id if competence else None,
            level=level,
            source=source,
            title=title,
            provider=provider,
            evidence=evidence,
            achieved_on=achieved,
            expires_on=expires or expiry_for(competence, achieved),
            recorded_by_id=actor.id,
        )
        session.add(record)
        if competence is not None and level is not None:
            meet_needs(session, user.id, competence.id, level, now_closed=True)
    return record


def meet_needs(session: Any, user_id: int, competence_id: int, level: str, *, now_closed: bool) -> int:
    """Mark the person's open or planned needs of this competence, at or below ``level``, as met."""
    from ..database import utcnow

    count = 0
    needs = session.scalars(
        select(TrainingNeed).where(
            TrainingNeed.user_id == user_id,
            TrainingNeed.competence_id == competence_id,
            TrainingNeed.status.in_(("open", "planned")),
        )
    )
    for need in needs:
        if LEVEL_RANK[need.level] <= LEVEL_RANK[level]:
            need.status = "met"
            need.closed_at = utcnow() if now_closed else None
            count += 1
    return count


# --------------------------------------------------------------------------- who needs what, who holds what


@dataclass
class Need:
    """A competence a person needs, at a level, and why (each requirement that applies)."""

    competence_id: int
    level: str
    reasons: list[str] = field(default_factory=list)
    #: documents whose read receipt (of the revision in force) counts as awareness
    documents: list[int] = field(default_factory=list)


@dataclass
class Holding:
    level: str
    expires_on: dt.date | None
    source: str


@dataclass
class Cell:
    """One person × one competence of the matrix."""

    required: str | None
    held: str | None
    expires_on: dt.date | None
    status: str  # met, gap, expired, expiring, held, none
    reasons: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        labels = {
            "met": "Met",
            "gap": "Gap",
            "expired": "Expired",
            "expiring": "Expiring",
            "held": "Held",
            "none": "",
        }
        return labels[self.status]


#: the cell of a competence a person neither needs nor ever held (shared: most cells are this)
NO_CELL = Cell(None, None, None, "none")


@dataclass(frozen=True)
class Ref:
    id: int
    name: str


@dataclass
class PersonRef:
    """A person as the matrix shows them (read as plain columns: the matrix holds hundreds)."""

    id: int
    name: str
    email: str
    roles: frozenset[str]


@dataclass
class ProfileView:
    """Where a person works, with the names (read as plain columns)."""

    job_role_id: int | None
    site_id: int | None
    process_id: int | None
    platforms: list[str]
    job_role: Ref | None
    site: Ref | None
    process: Ref | None


@dataclass
class Person:
    user: PersonRef
    profile: ProfileView | None
    cells: dict[int, Cell]

    @property
    def gaps(self) -> int:
        return sum(1 for c in self.cells.values() if c.status in ("gap", "expired"))


@dataclass
class Matrix:
    people: list[Person]
    competences: list[Competence]
    today: dt.date

    @property
    def required_cells(self) -> int:
        return sum(1 for p in self.people for c in p.cells.values() if c.required)

    @property
    def met_cells(self) -> int:
        return sum(1 for p in self.people for c in p.cells.values() if c.required and c.status in ("met", "expiring"))

    @property
    def coverage(self) -> float | None:
        return self.met_cells / self.required_cells if self.required_cells else None


def _event_roles() -> dict[str, frozenset[str]]:
    roles = {}
    for key in signed_events():
        lifecycle_name, event_name = key.split(".", 1)
        roles[key] = frozenset(get_lifecycle(lifecycle_name).event(event_name).roles)
    return roles


def needs_of(
    users: Sequence[PersonRef],
    profiles: dict[int, ProfileView],
    requirements: Sequence[CompetenceRequirement],
    distributions: dict[int, set[int]],
) -> dict[int, dict[int, Need]]:
    """user id → competence id → Need, from the requirements that apply to each person."""
    event_roles = _event_roles()
    names = target_names(requirements)
    reasons = {
        r.id: f"{REQUIREMENT_SCOPES[r.scope].split(' (')[0]}: {requirement_target_label(r, names)}"
        for r in requirements
    }
    # (scope, key) → the requirements there, as plain tuples: each person looks up only their own
    index: dict[tuple[str, Any], list[tuple[int, str, str, int | None]]] = defaultdict(list)
    for r in requirements:
        key: Any = r.target_id if r.scope in ("job_role", "process", "document") else r.target_key
        if r.scope == "audit_role":
            key = ""
        index[(r.scope, key)].append((r.competence_id, r.level, reasons[r.id], r.target_id))
    documents = [
        (document_id, people)
        for (scope, document_id), _ in index.items()
        if scope == "document"
        for people in [distributions.get(document_id or 0, set())]
    ]
    events = [key for scope, key in index if scope == "event"]
    auditing = index.get(("audit_role", ""), [])
    result: dict[int, dict[int, Need]] = {}
    for user in users:
        profile = profiles.get(user.id)
        roles = user.roles
        found: list[tuple[int, str, str, int | None]] = []
        if profile is not None:
            found += index.get(("job_role", profile.job_role_id), ())
            found += index.get(("process", profile.process_id), ())
            for platform in profile.platforms:
                found += index.get(("platform", platform), ())
        for document_id, people in documents:
            if user.id in people:
                found += index[("document", document_id)]
        if AUDITOR_ROLE in roles:
            found += auditing
        for key in events:
            if roles & event_roles.get(key, frozenset()):
                found += index[("event", key)]
        needs: dict[int, Need] = {}
        for competence_id, level, reason, _target_id in found:
            need = needs.get(competence_id)
            if need is None:
                need = needs[competence_id] = Need(competence_id, level)
            elif LEVEL_RANK[level] > LEVEL_RANK[need.level]:
                need.level = level
            need.reasons.append(reason)
        for document_id, people in documents:
            if user.id in people:
                for competence_id, *_rest in index[("document", document_id)]:
                    needs[competence_id].documents.append(document_id or 0)
        result[user.id] = needs
    return result


def holdings_of(records: Iterable[Any], today: dt.date) -> dict[tuple[int, int], tuple[Holding | None, Holding | None]]:
    """(user, competence) → (best valid holding, latest expired holding), from records or rows of their columns."""
    # (level rank, expiry or date.max) as the sort key of a valid record: higher level, then longer validity
    best: dict[tuple[int, int], tuple[tuple[int, dt.date], Any]] = {}
    lapsed: dict[tuple[int, int], Any] = {}
    for record in records:
        level, expires = record.level, record.expires_on
        if record.competence_id is None or level is None:
            continue
        key = (record.user_id, record.competence_id)
        if expires is None or expires >= today:
            rank = (LEVEL_RANK[level], expires or dt.date.max)
            current = best.get(key)
            if current is None or rank > current[0]:
                best[key] = (rank, record)
        else:
            current = lapsed.get(key)
            if current is None or expires > current.expires_on:
                lapsed[key] = record

    def holding(record: Any) -> Holding | None:
        return None if record is None else Holding(record.level, record.expires_on, record.source)

    return {
        key: (holding(best[key][1]) if key in best else None, holding(lapsed.get(key)))
        for key in best.keys() | lapsed.keys()
    }


def _distributions(document_ids: set[int], user_ids: Sequence[int] | None = None) -> dict[int, set[int]]:
    """document id → ids of the users on its distribution, in a few queries for all the documents.

    With ``user_ids``, only those people are looked up (a page of the matrix reads its own people, not
    everyone holding a distributed role).
    """
    if not document_ids:
        return {}
    from ..models import DistributionEntry

    entries = db.session.scalars(
        select(DistributionEntry).where(id_in(DistributionEntry.document_id, list(document_ids)))
    ).all()
    role_names = {e.value for e in entries if e.kind == "role"}
    process_names = {e.value for e in entries if e.kind not in ("user", "role")}
    by_role: dict[str, set[int]] = defaultdict(set)
    if role_names:
        holders = select(UserRole.user_id, UserRole.role).where(UserRole.role.in_(role_names))
        if user_ids is not None:
            holders = holders.where(id_in(UserRole.user_id, list(user_ids)))
        for user_id, role in db.session.execute(holders):
            by_role[role].add(user_id)
    by_process: dict[str, set[int]] = defaultdict(set)
    if process_names:
        owners = select(Document.owner_id, Document.process).where(Document.process.in_(process_names))
        if user_ids is not None:
            owners = owners.where(id_in(Document.owner_id, list(user_ids)))
        for owner_id, process in db.session.execute(owners):
            by_process[process].add(owner_id)
    result: dict[int, set[int]] = defaultdict(set)
    for e in entries:
        if e.kind == "user":
            if e.value.isdigit():
                result[e.document_id].add(int(e.value))
        elif e.kind == "role":
            result[e.document_id] |= by_role[e.value]
        else:
            result[e.document_id] |= by_process[e.value]
    return result


def _read_receipts(document_ids: set[int], user_ids: Sequence[int] | None) -> set[tuple[int, int]]:
    """(user, document) pairs where the user acknowledged the revision in force of the document."""
    if not document_ids:
        return set()
    query = (
        select(Acknowledgement.user_id, DocumentRevision.document_id)
        .join(DocumentRevision, Acknowledgement.revision_id == DocumentRevision.id)
        .where(
            id_in(DocumentRevision.document_id, list(document_ids)),
            DocumentRevision.state.in_(IN_FORCE_STATES),
            Acknowledgement.acknowledged_at.is_not(None),
        )
    )
    if user_ids is not None:
        query = query.where(id_in(Acknowledgement.user_id, list(user_ids)))
    return {(user_id, document_id) for user_id, document_id in db.session.execute(query)}


def _cell(
    need: Need | None, held: Holding | None, lapsed: Holding | None, read: bool, today: dt.date, warn: int
) -> Cell:
    if read and (held is None):
        held = Holding("aware", None, "document")
    if need is None:
        if held is not None:
            return Cell(None, held.level, held.expires_on, "held")
        return Cell(None, None, lapsed.expires_on if lapsed else None, "expired" if lapsed else "none")
    if held is not None and LEVEL_RANK[held.level] >= LEVEL_RANK[need.level]:
        expiring = held.expires_on is not None and held.expires_on <= today + dt.timedelta(days=warn)
        return Cell(need.level, held.level, held.expires_on, "expiring" if expiring else "met", need.reasons)
    if held is None and lapsed is not None and LEVEL_RANK[lapsed.level] >= LEVEL_RANK[need.level]:
        return Cell(need.level, None, lapsed.expires_on, "expired", need.reasons)
    return Cell(need.level, held.level if held else None, held.expires_on if held else None, "gap", need.reasons)


def all_requirements() -> list[CompetenceRequirement]:
    return list(db.session.scalars(select(CompetenceRequirement).order_by(CompetenceRequirement.id)))


def matrix(
    *,
    site_id: int | None = None,
    process_id: int | None = None,
    job_role_id: int | None = None,
    user_ids: Sequence[int] | None = None,
    today: dt.date | None = None,
    gaps_only: bool = False,
    requirements: list[CompetenceRequirement] | None = None,
) -> Matrix:
    """People × competences: what each needs and holds; in a fixed number of queries for any number of people.

    ``requirements`` (every requirement, as :func:`all_requirements` reads them) saves reading them again.
    """
    today = today or dt.date.today()
    query = select(User.id, User.name, User.email).order_by(User.name, User.id)
    if user_ids is None:  # the matrix shows the active; a person's own record shows them anyway
        query = query.where(User.active.is_(True))
    query = _profile_filters(query, site_id, process_id, job_role_id)
    if user_ids is not None:
        query = query.where(id_in(User.id, list(user_ids)))
    rows = db.session.execute(query).all()
    ids = [row.id for row in rows]
    # a short list of people is read by id; the whole organisation without the (long) id list
    filtered = user_ids is not None or len(ids) < 900

    def of_people(column: Any) -> Any:
        return id_in(column, ids) if filtered else column.is_not(None)

    roles: dict[int, set[str]] = defaultdict(set)
    for user_id, role in db.session.execute(select(UserRole.user_id, UserRole.role).where(of_people(UserRole.user_id))):
        roles[user_id].add(role)
    users = [PersonRef(row.id, row.name, row.email, frozenset(roles.get(row.id, ()))) for row in rows]

    def ref(row_id: int | None, name: str | None) -> Ref | None:
        return Ref(row_id, name) if row_id is not None and name is not None else None

    profiles = {  # with the names of the job role, site and process, joined in the same query
        row.user_id: ProfileView(
            row.job_role_id,
            row.site_id,
            row.process_id,
            list(row.platforms or ()),
            ref(row.job_role_id, row.job_role_name),
            ref(row.site_id, row.site_name),
            ref(row.process_id, row.process_name),
        )
        for row in db.session.execute(
            select(
                PersonProfile.user_id,
                PersonProfile.job_role_id,
                PersonProfile.site_id,
                PersonProfile.process_id,
                PersonProfile.platforms,
                JobRole.name.label("job_role_name"),
                Site.name.label("site_name"),
                Process.name.label("process_name"),
            )
            .outerjoin(JobRole, JobRole.id == PersonProfile.job_role_id)
            .outerjoin(Site, Site.id == PersonProfile.site_id)
            .outerjoin(Process, Process.id == PersonProfile.process_id)
            .where(of_people(PersonProfile.user_id))
        )
    }
    if requirements is None:
        requirements = all_requirements()
    document_ids = {r.target_id for r in requirements if r.scope == "document" and r.target_id}
    distributions = _distributions(document_ids, ids if filtered else None)
    needs = needs_of(users, profiles, requirements, distributions)
    records = db.session.execute(
        select(
            CompetenceRecord.user_id,
            CompetenceRecord.competence_id,
            CompetenceRecord.level,
            CompetenceRecord.expires_on,
            CompetenceRecord.source,
        ).where(CompetenceRecord.competence_id.is_not(None), of_people(CompetenceRecord.user_id))
    )
    holdings = holdings_of(records, today)
    receipts = _read_receipts(document_ids, ids if filtered else None)
    competences = list(
        db.session.scalars(select(Competence).where(Competence.active.is_(True)).order_by(Competence.name))
    )
    warn = expiry_warning_days()
    people = []
    for user in users:
        cells = {}
        mine = needs[user.id]
        for competence in competences:
            need = mine.get(competence.id)
            held, lapsed = holdings.get((user.id, competence.id), (None, None))
            if need is None and held is None and lapsed is None:
                cells[competence.id] = NO_CELL
                continue
            read = need is not None and any((user.id, d) in receipts for d in need.documents)
            cells[competence.id] = _cell(need, held, lapsed, read, today, warn)
        person = Person(user, profiles.get(user.id), cells)
        if not gaps_only or any(c.status in ("gap", "expired", "expiring") for c in cells.values()):
            people.append(person)
    return Matrix(people, competences, today)


def person_status(user: User, today: dt.date | None = None) -> Person:
    """One person's row of the matrix (what they need and hold)."""
    return matrix(user_ids=[user.id], today=today).people[0]


# --------------------------------------------------------------------------- the matrix in SQL
# The page and the coverage figure must not build every person's cells: what each person needs and
# holds is reduced in SQL to one row per (person, competence) with the few ranks that decide a
# cell's status, and only the people shown get their cells built by ``matrix`` (the same code that
# builds the exports' cells, so the page and the exports cannot disagree).


def _rank(level: Any) -> Any:
    """A level's rank (aware 1, practitioner 2, expert 3) as SQL; NULL for no level."""
    return case(LEVEL_RANK, value=level, else_=null())


def _no_rank() -> Any:
    return cast(null(), Integer)


def _profile_filters(query: Any, site_id: int | None, process_id: int | None, job_role_id: int | None) -> Any:
    """``query`` over users narrowed to those whose profile has the site, process and job role given."""
    if site_id or process_id or job_role_id:
        query = query.join(PersonProfile, PersonProfile.user_id == User.id)
        if site_id:
            query = query.where(PersonProfile.site_id == site_id)
        if process_id:
            query = query.where(PersonProfile.process_id == process_id)
        if job_role_id:
            query = query.where(PersonProfile.job_role_id == job_role_id)
    return query


def people_query(*, site_id: int | None = None, process_id: int | None = None, job_role_id: int | None = None) -> Any:
    """The active people the matrix's filters select, as ``SELECT users.id, users.name`` (not yet ordered)."""
    query = select(User.id, User.name).where(User.active.is_(True))
    query = _profile_filters(query, site_id, process_id, job_role_id)
    return query


def _platform_values() -> Any:
    """Each profile's platforms as rows (``value``): JSON array elements, per dialect."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.json_array_elements_text(PersonProfile.platforms).table_valued("value").alias("platform")
    return func.json_each(PersonProfile.platforms).table_valued("value").alias("platform")


def _distributed() -> Any:
    """(document id, user id) of every distribution entry resolved to people: by id, role or process owned."""
    from ..models import DistributionEntry

    entry = DistributionEntry
    by_user = (
        select(entry.document_id, User.id.label("user_id"))
        .join(User, cast(User.id, SqlString) == entry.value)
        .where(entry.kind == "user")
    )
    by_role = (
        select(entry.document_id, UserRole.user_id)
        .join(UserRole, UserRole.role == entry.value)
        .where(entry.kind == "role")
    )
    by_process = (
        select(entry.document_id, Document.owner_id.label("user_id"))
        .join(Document, Document.process == entry.value)
        .where(entry.kind.not_in(("user", "role")))
    )
    return union_all(by_user, by_role, by_process).subquery("distributed")


def requirement_kinds() -> set[tuple[str, str]]:
    """(scope, target key) of every requirement: which parts :func:`pair_rows` needs."""
    req = CompetenceRequirement
    return {(scope, key) for scope, key in db.session.execute(select(req.scope, req.target_key).distinct())}


def pair_rows(people: Any, today: dt.date, warn: int, kinds: set[tuple[str, str]] | None = None) -> Any:
    """One row per (person, active competence) a person needs or has a record of, among ``people`` (a
    query of user ids), with what decides the cell's status:

    ``need`` the highest rank required; ``valid`` the highest rank of a record not expired;
    ``far`` the highest rank of a valid record not expiring within ``warn`` days (or never);
    ``lapsed`` 1 when an expired record exists; ``read`` 1 when a distributed document requiring the
    competence was read in its revision in force (awareness).

    Only the kinds of requirement that exist (``kinds``, from :func:`requirement_kinds` when not given)
    become part of the query: a statement PostgreSQL plans quickly.
    """
    req = CompetenceRequirement
    present = requirement_kinds() if kinds is None else kinds
    scopes = {scope for scope, _key in present}
    need = _rank(req.level).label("need")
    blank = [_no_rank().label("valid"), _no_rank().label("far"), _no_rank().label("lapsed")]
    unread = literal(0, Integer).label("read")

    def needed(user_id: Any, *, read: Any = unread) -> Any:
        return select(user_id.label("user_id"), req.competence_id, need, *blank, read)

    branches = []
    for scope, column in (("job_role", PersonProfile.job_role_id), ("process", PersonProfile.process_id)):
        if scope in scopes:
            branches.append(needed(PersonProfile.user_id).join(req, and_(req.scope == scope, req.target_id == column)))
    if "platform" in scopes:
        platform = _platform_values()
        branches.append(
            needed(PersonProfile.user_id)
            .select_from(PersonProfile)
            .join(platform, true())
            .join(req, and_(req.scope == "platform", req.target_key == platform.c.value))
        )
    if "document" in scopes:
        distributed = _distributed()
        in_force = (
            select(Acknowledgement.id)
            .join(DocumentRevision, Acknowledgement.revision_id == DocumentRevision.id)
            .where(
                DocumentRevision.document_id == distributed.c.document_id,
                DocumentRevision.state.in_(IN_FORCE_STATES),
                Acknowledgement.user_id == distributed.c.user_id,
                Acknowledgement.acknowledged_at.is_not(None),
            )
        )
        branches.append(
            needed(distributed.c.user_id, read=case((exists(in_force), 1), else_=0).label("read")).join(
                req, and_(req.scope == "document", req.target_id == distributed.c.document_id)
            )
        )
    if "audit_role" in scopes:
        branches.append(
            needed(UserRole.user_id).join(req, and_(req.scope == "audit_role", UserRole.role == AUDITOR_ROLE))
        )
    event_roles = _event_roles()
    fired = [
        and_(req.target_key == key, UserRole.role.in_(sorted(event_roles[key])))
        for scope, key in sorted(present)
        if scope == "event" and event_roles.get(key)
    ]
    if fired:
        branches.append(needed(UserRole.user_id).join(req, and_(req.scope == "event", or_(*fired))))
    record = CompetenceRecord
    valid = or_(record.expires_on.is_(None), record.expires_on >= today)
    lasting = or_(record.expires_on.is_(None), record.expires_on > today + dt.timedelta(days=warn))
    branches.append(
        select(
            record.user_id.label("user_id"),
            record.competence_id,
            _no_rank().label("need"),
            case((valid, _rank(record.level)), else_=null()).label("valid"),
            case((lasting, _rank(record.level)), else_=null()).label("far"),
            case((record.expires_on < today, 1), else_=null()).label("lapsed"),
            unread,
        ).where(record.competence_id.is_not(None), record.level.is_not(None))
    )
    people_ids = people.with_only_columns(User.id)
    rows = union_all(*[b.where(b.selected_columns.user_id.in_(people_ids)) for b in branches]).subquery("pair_rows")
    return (
        select(
            rows.c.user_id,
            rows.c.competence_id,
            func.coalesce(func.max(rows.c.need), 0).label("need"),
            func.coalesce(func.max(rows.c.valid), 0).label("valid"),
            func.coalesce(func.max(rows.c.far), 0).label("far"),
            func.coalesce(func.max(rows.c.lapsed), 0).label("lapsed"),
            func.coalesce(func.max(rows.c.read), 0).label("read"),
        )
        .join(Competence, and_(Competence.id == rows.c.competence_id, Competence.active.is_(True)))
        .group_by(rows.c.user_id, rows.c.competence_id)
        .subquery("pairs")
    )


def _met(pairs: Any) -> Any:
    """A required cell that is met (or expiring): a valid record at the level, or a read receipt for awareness."""
    c = pairs.c
    return and_(
        c.need > 0,
        or_(and_(c.valid > 0, c.valid >= c.need), and_(c.valid == 0, c.read == 1, c.need <= LEVEL_RANK["aware"])),
    )


def _attention(pairs: Any) -> Any:
    """A cell the gaps-only filter shows: a gap, an expiry, an expiring record the need rests on, or a lapsed
    record of a competence no longer required and not held."""
    c = pairs.c
    expiring = and_(c.need > 0, c.valid > 0, c.valid >= c.need, c.far < c.valid)
    return or_(and_(c.need > 0, ~_met(pairs)), expiring, and_(c.need == 0, c.valid == 0, c.lapsed == 1))


def per_person(people: Any, today: dt.date, warn: int, kinds: set[tuple[str, str]] | None = None) -> Any:
    """Per person of ``people`` with a cell: ``met`` and ``required`` cells, ``attention`` 1 when a cell is a
    gap, an expiry or expiring (what the gaps-only filter keeps)."""
    pairs = pair_rows(people, today, warn, kinds)
    return (
        select(
            pairs.c.user_id,
            func.sum(case((_met(pairs), 1), else_=0)).label("met"),
            func.sum(case((pairs.c.need > 0, 1), else_=0)).label("required"),
            func.max(case((_attention(pairs), 1), else_=0)).label("attention"),
        )
        .group_by(pairs.c.user_id)
        .subquery("per_person")
    )


def coverage_of(
    people: Any, today: dt.date, warn: int | None = None, *, kinds: set[tuple[str, str]] | None = None
) -> tuple[int, int]:
    """(required cells met, required cells) of ``people`` (a query of user ids), summed in SQL."""
    rows = per_person(people, today, expiry_warning_days() if warn is None else warn, kinds)
    met, required = db.session.execute(
        select(func.coalesce(func.sum(rows.c.met), 0), func.coalesce(func.sum(rows.c.required), 0))
    ).one()
    return int(met), int(required)


@dataclass
class MatrixPage:
    """One page of the matrix: the cells of the people shown, and the coverage of everyone matching."""

    people: list[Person]
    competences: list[Competence]
    today: dt.date
    met_cells: int
    required_cells: int
    #: the page of people (its items are user ids), with the cursors and the capped count
    page: KeysetPage

    @property
    def coverage(self) -> float | None:
        return self.met_cells / self.required_cells if self.required_cells else None


def paged_matrix(
    *,
    site_id: int | None = None,
    process_id: int | None = None,
    job_role_id: int | None = None,
    gaps_only: bool = False,
    per_page: int = 50,
    after: str | None = None,
    before: str | None = None,
    offset: int = 0,
    today: dt.date | None = None,
) -> MatrixPage:
    """A page of the matrix, by name, at a cost that does not grow with the organisation: the people
    are chosen, counted and their coverage summed in SQL; only the page's people get cells.

    Shows the same people, cells and figure as :func:`matrix` with the same filters. Raises
    :class:`~qms.services.paging.BadCursor` for a cursor that does not fit.
    """
    today = today or dt.date.today()
    warn = expiry_warning_days()
    people = people_query(site_id=site_id, process_id=process_id, job_role_id=job_role_id)
    requirements = all_requirements()
    kinds = {(r.scope, r.target_key) for r in requirements}
    if gaps_only:
        # one pass finds who needs attention with their figures (a few integers a person); the page
        # and its count then read those ids, rather than working the pairs out twice more
        rows = per_person(people, today, warn, kinds)
        found = db.session.execute(select(rows.c.user_id, rows.c.met, rows.c.required).where(rows.c.attention == 1))
        ids, met, required = [], 0, 0
        for user_id, person_met, person_required in found:
            ids.append(user_id)
            met, required = met + person_met, required + person_required
        people = people.where(id_in(User.id, ids))
        count = len(ids)
    else:
        rows = per_person(people, today, warn, kinds)
        everyone = select(func.count()).select_from(people.with_only_columns(User.id).subquery()).scalar_subquery()
        met, required, count = db.session.execute(
            select(func.coalesce(func.sum(rows.c.met), 0), func.coalesce(func.sum(rows.c.required), 0), everyone)
        ).one()
    page = keyset_page(
        people.with_only_columns(User.id).order_by(User.name, User.id),
        per_page=per_page,
        after=after,
        before=before,
        offset=offset,
        count=False,  # counted above, with the figures
    )
    page.cap = COUNT_CAP
    page.count = min(int(count), COUNT_CAP + 1)
    if page.items:
        shown = matrix(user_ids=page.items, today=today, requirements=requirements)
        people_shown, competences = shown.people, shown.competences
    else:
        people_shown = []
        competences = list(
            db.session.scalars(select(Competence).where(Competence.active.is_(True)).order_by(Competence.name))
        )
    return MatrixPage(people_shown, competences, today, int(met), int(required), page)


def coverage(today: dt.date | None = None) -> tuple[int, int]:
    """(required competences met, required competences) over every active person: the dashboard's figure."""
    return coverage_of(people_query(), today or dt.date.today())


# --------------------------------------------------------------------------- preconditions


def set_precondition(actor: User | Actor, *, assignment: Any, target_key: Any = "", enabled: bool = True) -> None:
    """Turn on (or off) the rule that an assignment needs the competences its requirements name."""
    actor = as_actor(actor)
    require_roles(actor, frozenset({"admin"}), "make competence a precondition of an assignment")
    errors: dict[str, str] = {}
    if assignment not in ASSIGNMENTS:
        errors["assignment"] = "must be one of: " + ", ".join(ASSIGNMENTS)
    key = target_key or ""
    if not isinstance(key, str):
        errors["target_key"] = "must be text"
        key = ""
    elif assignment == "complaint_owner" and key and key not in VIRTUAL_PLATFORMS:
        errors["target_key"] = "must be one of the virtual platforms: " + ", ".join(VIRTUAL_PLATFORMS)
    elif assignment == "document_approver" and key and key not in DOCUMENT_TYPES:
        errors["target_key"] = "must be a document type: " + ", ".join(DOCUMENT_TYPES)
    elif assignment in ("audit_lead", "audit_team", "action_verifier") and key:
        errors["target_key"] = "must be empty for this assignment"
    if errors:
        raise InvalidData(errors)
    existing = db.session.scalar(
        select(CompetencePrecondition).where(
            CompetencePrecondition.assignment == assignment, CompetencePrecondition.target_key == key
        )
    )
    reason = f"competence precondition of {ASSIGNMENTS[assignment].lower()} {'on' if enabled else 'off'}"
    try:
        with recorded_change(actor, reason) as session:
            if enabled and existing is None:
                session.add(CompetencePrecondition(assignment=assignment, target_key=key, enabled_by_id=actor.id))
            elif not enabled and existing is not None:
                session.delete(existing)
    except IntegrityError:  # turned on at the same moment by another administrator: it is on
        return


def preconditions() -> list[CompetencePrecondition]:
    return list(
        db.session.scalars(
            select(CompetencePrecondition)
            .options(selectinload(CompetencePrecondition.enabled_by))
            .order_by(CompetencePrecondition.assignment, CompetencePrecondition.target_key)
        )
    )


def assignment_requirements(assignment: str, target_key: str = "") -> list[CompetenceRequirement]:
    """The requirements an assignment draws on (whether or not its precondition is on)."""
    if assignment == "audit_lead":
        condition = (CompetenceRequirement.scope == "audit_role") & (CompetenceRequirement.target_key == "lead_auditor")
    elif assignment == "audit_team":
        condition = (CompetenceRequirement.scope == "audit_role") & (CompetenceRequirement.target_key == "auditor")
    elif assignment == "complaint_owner":
        condition = (CompetenceRequirement.scope == "platform") & (CompetenceRequirement.target_key == target_key)
    elif assignment == "action_verifier":
        condition = (CompetenceRequirement.scope == "event") & (
            CompetenceRequirement.target_key == "corrective_action.verify"
        )
    else:
        condition = (CompetenceRequirement.scope == "event") & (CompetenceRequirement.target_key == "document.approve")
    return list(
        db.session.scalars(
            select(CompetenceRequirement)
            .options(selectinload(CompetenceRequirement.competence))
            .where(condition)
            .order_by(CompetenceRequirement.id)
        )
    )


def precondition_on(assignment: str, target_key: str = "") -> bool:
    return (
        db.session.scalar(
            select(CompetencePrecondition.id).where(
                CompetencePrecondition.assignment == assignment,
                CompetencePrecondition.target_key.in_(("", target_key)),
            )
        )
        is not None
    )


def missing_competences(user: User, assignment: str, target_key: str = "", today: dt.date | None = None) -> list[str]:
    """What ``user`` lacks for the assignment, in words (empty: nothing, whether or not the precondition is on)."""
    today = today or dt.date.today()
    requirements = assignment_requirements(assignment, target_key)
    if not requirements:
        return []
    records = db.session.scalars(
        select(CompetenceRecord).where(
            CompetenceRecord.user_id == user.id,
            id_in(CompetenceRecord.competence_id, [r.competence_id for r in requirements]),
        )
    )
    holdings = holdings_of(records, today)
    missing = []
    for r in requirements:
        held, lapsed = holdings.get((user.id, r.competence_id), (None, None))
        name = r.competence.name
        wanted = level_label(r.level).lower()
        if held is not None and LEVEL_RANK[held.level] >= LEVEL_RANK[r.level]:
            continue
        if held is not None:
            missing.append(f"{name} at {wanted} level (holds it at {level_label(held.level).lower()} level)")
        elif lapsed is not None and lapsed.expires_on is not None:
            missing.append(f"{name} at {wanted} level (expired on {lapsed.expires_on.isoformat()})")
        else:
            missing.append(f"{name} at {wanted} level")
    return missing


def assignment_problem(user: User, assignment: str, target_key: str = "", today: dt.date | None = None) -> str | None:
    """Why ``user`` cannot take the assignment, or None (always None while its precondition is off)."""
    if not precondition_on(assignment, target_key):
        return None
    missing = missing_competences(user, assignment, target_key, today)
    if not missing:
        return None
    what = ASSIGNMENTS[assignment].lower()
    if target_key:
        what += f" ({CHANNELS.get(target_key) or DOCUMENT_TYPES.get(target_key) or target_key})"
    return f"{user.name} lacks the competence needed as {what}: " + "; ".join(missing)


# --------------------------------------------------------------------------- preconditions on signed events


# Actor preconditions (qms/services/workflow.py): checked when the event is fired and shown blocked,
# with the reason, wherever the available events are listed. They read without flushing.


def _acting_user(actor: Actor) -> User | None:
    return db.session.get(User, actor.id) if actor.id is not None else None


@actor_precondition("corrective_action", "verify", name="verifier_is_competent")
def _verifier_competent(actions: Sequence[CorrectiveAction], actor: Actor, today: dt.date) -> dict[int, str]:
    user = _acting_user(actor)
    problem = user is not None and assignment_problem(user, "action_verifier", today=today)
    return {action.id: problem for action in actions} if problem else {}


@actor_precondition("document", "approve", name="approver_is_competent")
def _approver_competent(revisions: Sequence[DocumentRevision], actor: Actor, today: dt.date) -> dict[int, str]:
    user = _acting_user(actor)
    if user is None:
        return {}
    problems: dict[str, str | None] = {}
    refused = {}
    for revision in revisions:
        doc_type = revision.document.doc_type
        if doc_type not in problems:
            problems[doc_type] = assignment_problem(user, "document_approver", doc_type, today=today)
        if problems[doc_type]:
            refused[revision.id] = problems[doc_type]
    return refused


@actor_precondition("complaint", "acknowledge", name="owner_is_competent")
def _acknowledger_competent(complaints: Sequence[Complaint], actor: Actor, today: dt.date) -> dict[int, str]:
    """Acknowledging a complaint nobody owns makes the acknowledger its owner (``complaints._acknowledged``)."""
    unowned = [c for c in complaints if c.owner_id is None]
    user = _acting_user(actor) if unowned else None
    if user is None:
        return {}
    problems: dict[str, str | None] = {}
    refused = {}
    for complaint in unowned:
        if complaint.channel not in problems:
            problems[complaint.channel] = assignment_problem(user, "complaint_owner", complaint.channel, today=today)
        if problems[complaint.channel]:
            refused[complaint.id] = problems[complaint.channel] + " (acknowledging makes you its owner)"
    return refused


# --------------------------------------------------------------------------- a person's record


@dataclass
class TrainingRecord:
    """Everything an auditor asks about one person's competence (the training record PDF)."""

    user: User
    profile: PersonProfile | None
    status: Person
    competences: dict[int, Competence]
    records: list[CompetenceRecord]
    attendance: list[TrainingAttendance]
    needs: list[TrainingNeed]


def training_record(user: User, today: dt.date | None = None) -> TrainingRecord:
    today = today or dt.date.today()
    status = person_status(user, today)
    records = list(
        db.session.scalars(
            select(CompetenceRecord)
            .options(selectinload(CompetenceRecord.competence), selectinload(CompetenceRecord.training_session))
            .where(CompetenceRecord.user_id == user.id)
            .order_by(CompetenceRecord.achieved_on.desc(), CompetenceRecord.id.desc())
        )
    )
    attendance = list(
        db.session.scalars(
            select(TrainingAttendance)
            .join(TrainingSession)
            .options(
                selectinload(TrainingAttendance.session).selectinload(TrainingSession.competence),
                selectinload(TrainingAttendance.session)
                .selectinload(TrainingSession.material_revision)
                .selectinload(DocumentRevision.document),
                selectinload(TrainingAttendance.session).selectinload(TrainingSession.material),
            )
            .where(TrainingAttendance.user_id == user.id)
            .order_by(TrainingSession.planned_on.desc(), TrainingSession.id.desc())
        )
    )
    needs = list(
        db.session.scalars(
            select(TrainingNeed)
            .options(selectinload(TrainingNeed.competence))
            .where(TrainingNeed.user_id == user.id)
            .order_by(TrainingNeed.created_at.desc(), TrainingNeed.id.desc())
        )
    )
    competences = {c.id: c for c in db.session.scalars(select(Competence))}
    return TrainingRecord(user, status.profile, status, competences, records, attendance, needs)
