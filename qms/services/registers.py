"""Register queries: the filtered, sorted lists behind the register pages and their exports."""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Select, String, case, cast, or_, select
from sqlalchemy.orm import selectinload

from workflows import get_lifecycle
from workflows.errors import UnknownLifecycle

from ..database import db
from ..models import NC_SOURCES, SEVERITY_LABELS, CorrectiveAction, Nonconformity

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
        args = {key: value.replace("\x00", "") for key, value in args.items()}  # NUL cannot be stored or searched
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
            owner=int(owner) if owner.isdigit() and len(owner) < 10 else None,
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


LIKE_ESCAPE = "/"


def escape_like(text: str) -> str:
    return text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")


def contains(column: Any, text: str) -> Any:
    """Case-insensitive ``column`` contains ``text`` (wildcards in ``text`` are literal)."""
    return column.ilike(f"%{escape_like(text)}%", escape=LIKE_ESCAPE)


def clause_filter(clause: str) -> Any:
    """NCs citing ``clause`` or one of its sub-clauses."""
    return clause_filter_on(Nonconformity.clause_refs, clause)


def clause_filter_on(column: Any, clause: str) -> Any:
    """Rows whose JSON list ``column`` cites ``clause`` or a sub-clause ('7.1' finds '7.1.5.2', not '7.10')."""
    as_stored = escape_like(json.dumps(clause)[1:-1])  # the list is JSON text: match its quoted elements
    text = cast(column, String)
    return or_(text.like(f'%"{as_stored}"%', escape=LIKE_ESCAPE), text.like(f'%"{as_stored}.%', escape=LIKE_ESCAPE))


@functools.cache
def open_nc_states() -> tuple[str, ...]:
    """Every state of every version of the NC lifecycle but closed and rejected.

    ``state IN (these)`` finds the few open NCs through the state index, where ``NOT IN (closed,
    rejected)`` reads all of them (most NCs of a mature register are closed).
    """
    latest = get_lifecycle("nonconformity")
    states: set[str] = set()
    for version in range(1, latest.version + 1):
        try:
            states |= {state.name for state in get_lifecycle("nonconformity", version).states}
        except UnknownLifecycle:
            continue
    return tuple(sorted(states - {"closed", "rejected"}))


def nc_is_open() -> Any:
    """The SQL condition of an open NC (see ``open_nc_states``)."""
    return Nonconformity.state.in_(open_nc_states())


def distinct_values(column: Any) -> list[str]:
    """The distinct non-empty values of an indexed text column, in order, by a loose index scan.

    ``SELECT DISTINCT`` reads every row (100,000 NCs for a list of 200 processes); this recursive
    query jumps from one value to the next through the column's index instead, on PostgreSQL and SQLite.
    """
    table = column.table
    inner = sa.alias(table)
    values = sa.select(sa.func.min(column).label("value")).where(column > "").cte("value_walk", recursive=True)
    walk = values.union_all(
        sa.select(
            sa.select(sa.func.min(inner.c[column.key])).where(inner.c[column.key] > values.c.value).scalar_subquery()
        ).where(values.c.value.is_not(None))
    )
    return [value for value in db.session.scalars(sa.select(walk.c.value).where(walk.c.value.is_not(None)))]


def nonconformity_register(filters: NcFilters) -> Select:
    """SELECT of the NCs matching ``filters``, sorted, with owner, raiser and actions eager-loaded."""
    query = select(Nonconformity).options(
        selectinload(Nonconformity.owner),
        selectinload(Nonconformity.raised_by),
        selectinload(Nonconformity.actions),
    )
    if filters.q:
        query = query.where(
            or_(
                contains(Nonconformity.reference, filters.q),
                contains(Nonconformity.title, filters.q),
                contains(Nonconformity.description, filters.q),
            )
        )
    if filters.state:
        query = query.where(Nonconformity.state == filters.state)
    if filters.open:
        query = query.where(nc_is_open())
    if filters.severity:
        query = query.where(Nonconformity.severity == filters.severity)
    if filters.source:
        query = query.where(Nonconformity.source == filters.source)
    if filters.process:
        query = query.where(Nonconformity.process == filters.process)
    if filters.clause:
        query = query.where(clause_filter(filters.clause))
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


# --- exports of the NC register: the web downloads and the background exports share these ---------

EXPORT_COLUMNS = (
    "Reference",
    "Title",
    "Source",
    "Severity",
    "Process",
    "ISO clauses",
    "State",
    "Detected on",
    "Raised by",
    "Owner",
    "Open actions",
    "Closed at (UTC)",
)


def export_rows(filters: NcFilters) -> list[list[Any]]:
    """The register as filtered, one row per NC in the order of EXPORT_COLUMNS."""
    query = nonconformity_register(filters).options(
        selectinload(Nonconformity.raised_by), selectinload(Nonconformity.owner), selectinload(Nonconformity.actions)
    )
    return [
        [
            nc.reference,
            nc.title,
            NC_SOURCES.get(nc.source, nc.source),
            SEVERITY_LABELS.get(nc.severity or "", ""),
            nc.process,
            ", ".join(nc.clause_refs),
            nc.state_label,
            nc.detected_on,
            nc.raised_by.name,
            nc.owner.name if nc.owner else "",
            sum(1 for a in nc.actions if a.state in CorrectiveAction.OPEN_STATES),
            nc.closed_at.strftime("%Y-%m-%d %H:%M") if nc.closed_at else "",
        ]
        for nc in db.session.scalars(query)
    ]


def spreadsheet_safe(value: Any) -> Any:
    """Neutralise formula injection: text starting with = + - @ is kept as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def register_xlsx(filters: NcFilters) -> tuple[bytes, int]:
    """The filtered register as an XLSX workbook, and its number of rows."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Nonconformities")
    sheet.append(list(EXPORT_COLUMNS))
    rows = export_rows(filters)
    for row in rows:
        sheet.append([spreadsheet_safe(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue(), len(rows)


def register_pdf(filters: NcFilters, organisation: str) -> tuple[bytes, int]:
    """The filtered register as the PDF report, and its number of rows."""
    from ..reports import register_load_options, register_report

    ncs = list(db.session.scalars(nonconformity_register(filters).options(*register_load_options())))
    return register_report(ncs, organisation, {"Showing": filters.describe()}), len(ncs)
