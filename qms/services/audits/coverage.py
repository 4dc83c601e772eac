"""Audit coverage: the clause × process matrix of a year's cycle (planned, audited, results)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy import case, func, select

from standards import Standard

from ...database import db
from ...models import Audit, ChecklistItem, Process
from ..standards import find_standard as _find_standard  # bundled or imported
from .common import NOT_HAPPENING, _clause_and_descendants

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
