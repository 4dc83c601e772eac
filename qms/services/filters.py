"""Query pieces that every register shares: escaped substring search, clause filters, the distinct
values of a column, and formula-safe spreadsheet cells.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy import String, cast, or_

from ..database import db

LIKE_ESCAPE = "/"


def escape_like(text: str) -> str:
    return text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")


def contains(column: Any, text: str) -> Any:
    """Case-insensitive ``column`` contains ``text`` (wildcards in ``text`` are literal)."""
    return column.ilike(f"%{escape_like(text)}%", escape=LIKE_ESCAPE)


def clause_filter_on(column: Any, clause: str) -> Any:
    """Rows whose JSON list ``column`` cites ``clause`` or a sub-clause ('7.1' finds '7.1.5.2', not '7.10')."""
    as_stored = escape_like(json.dumps(clause)[1:-1])  # the list is JSON text: match its quoted elements
    text = cast(column, String)
    return or_(text.like(f'%"{as_stored}"%', escape=LIKE_ESCAPE), text.like(f'%"{as_stored}.%', escape=LIKE_ESCAPE))


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


def spreadsheet_safe(value: Any) -> Any:
    """Neutralise formula injection (kept for callers of this name: the one rule is ``spreadsheets.safe_cell``)."""
    from .spreadsheets import safe_cell

    return safe_cell(value)
