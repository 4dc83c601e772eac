"""Register queries: the filtered, sorted lists behind the register pages and their exports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Select, String, case, cast, func, or_, select
from sqlalchemy.orm import selectinload

from ..models import CorrectiveAction, Nonconformity

NC_SORTS = {
    "reference": Nonconformity.id,
    "detected_on": Nonconformity.detected_on,
    "title": Nonconformity.title,
    "state": Nonconformity.state,
    "severity": case({"major": 0, "minor": 1, "observation": 2}, value=Nonconformity.severity, else_=3),
    "process": Nonconformity.process,
}
NC_FILTERS = ("q", "state", "severity", "source", "process", "clause", "owner", "open")


@dataclass(frozen=True)
class NcFilters:
    q: str = ""
    state: str = ""
    severity: str = ""
    source: str = ""
    process: str = ""
    clause: str = ""
    owner: int | None = None
    open: bool = False
    sort: str = "-reference"

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> NcFilters:
        owner = args.get("owner", "")
        sort = args.get("sort", "-reference")
        if sort.lstrip("-") not in NC_SORTS:
            sort = "-reference"
        return cls(
            q=args.get("q", "").strip()[:200],
            state=args.get("state", "").strip()[:40],
            severity=args.get("severity", "").strip()[:20],
            source=args.get("source", "").strip()[:30],
            process=args.get("process", "").strip()[:120],
            clause=args.get("clause", "").strip()[:40],
            owner=int(owner) if owner.isdigit() else None,
            open=args.get("open") in ("1", "true", "on"),
            sort=sort,
        )

    def as_args(self) -> dict[str, str]:
        """Non-empty filters as query-string arguments (for links and exports)."""
        args = {name: str(getattr(self, name)) for name in NC_FILTERS if getattr(self, name) not in ("", None, False)}
        if self.open:
            args["open"] = "1"
        if self.sort != "-reference":
            args["sort"] = self.sort
        return args

    def describe(self) -> str:
        parts = [f"{name}: {value}" for name, value in self.as_args().items() if name != "sort"]
        return "; ".join(parts) or "all nonconformities"


def nonconformity_register(filters: NcFilters) -> Select:
    """SELECT of the NCs matching ``filters``, sorted, with owner, raiser and actions eager-loaded."""
    query = select(Nonconformity).options(
        selectinload(Nonconformity.owner),
        selectinload(Nonconformity.raised_by),
        selectinload(Nonconformity.actions),
    )
    if filters.q:
        like = f"%{filters.q.lower()}%"
        query = query.where(
            or_(
                func.lower(Nonconformity.reference).like(like),
                func.lower(Nonconformity.title).like(like),
                func.lower(Nonconformity.description).like(like),
            )
        )
    if filters.state:
        query = query.where(Nonconformity.state == filters.state)
    if filters.open:
        query = query.where(Nonconformity.state.not_in(("closed", "rejected")))
    if filters.severity:
        query = query.where(Nonconformity.severity == filters.severity)
    if filters.source:
        query = query.where(Nonconformity.source == filters.source)
    if filters.process:
        query = query.where(Nonconformity.process == filters.process)
    if filters.clause:
        # clause_refs is a JSON list; match the quoted clause number in its text form
        query = query.where(cast(Nonconformity.clause_refs, String).like(f'%"{filters.clause}"%'))
    if filters.owner:
        query = query.where(Nonconformity.owner_id == filters.owner)
    column = NC_SORTS[filters.sort.lstrip("-")]
    query = query.order_by(column.desc() if filters.sort.startswith("-") else column.asc(), Nonconformity.id.desc())
    return query


def overdue_actions_query(today: dt.date) -> Select:
    return (
        select(CorrectiveAction)
        .where(CorrectiveAction.state.in_(CorrectiveAction.OPEN_STATES), CorrectiveAction.due_date < today)
        .order_by(CorrectiveAction.due_date)
    )
