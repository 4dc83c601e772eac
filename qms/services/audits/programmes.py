"""Audit programmes: a year's processes, risks and frequencies, and the recurring audits they generate."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import func, select

from workflows.errors import InvalidData

from ...database import db
from ...models import RISK_FREQUENCY, RISK_LEVELS, Actor, Audit, AuditProgramme, Process, ProgrammeEntry, Site, User
from ..audit_trail import recorded_change
from ..references import next_reference
from ..standards import find_standard as _find_standard  # bundled or imported
from ..validation import clean_text, require_roles, row_by_id
from ..workflow import as_actor
from .common import NOT_HAPPENING, PLANNER_ROLES, _check_standard, _process_clauses

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
    (``RISK_FREQUENCY``); without a risk, the process's rating: the highest rating of its open risks
    on the risk register when it has rated ones, else the rating kept on the process.
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
    from ..risks import process_risk_levels

    rows: list[dict[str, Any]] = []
    seen: set[int] = set()
    #: a process with rated risks on the register is rated by them (its highest open rating)
    register_levels = process_risk_levels()
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
        risk = entry.get("risk") or register_levels.get(process.id, process.risk)
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
