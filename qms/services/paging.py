"""Keyset paging: one page of a register after (or before) a cursor, at the same cost however deep.

Every large register (web and API) pages through :func:`keyset_page`. Its sort keys are the
statement's own ORDER BY: the register's sort column(s), ended by the id as the tiebreaker (a
repeated key, e.g. ``ORDER BY id DESC, id DESC``, counts once). A page asks for the rows strictly
after the last row shown, ``WHERE (keys) > (last row's keys)``, so an index on those keys finds
page 10,000 as quickly as page 1, and rows inserted or deleted between two requests neither repeat
nor skip a row.

NULLs: a nullable sort key sorts its NULLs as if they were larger than every value (``NULLS LAST``
ascending, ``NULLS FIRST`` descending, PostgreSQL's own order) unless the ORDER BY says
``NULLS FIRST``/``NULLS LAST`` itself; the page's ORDER BY always spells it out, so SQLite and
PostgreSQL page the same.

**The cursor format is a contract** (benchmarks and API clients build and read it):
``urlsafe_b64encode(json.dumps([k1, k2, ..., id], separators=(",", ":")))`` without the ``=``
padding — the compact JSON list of the last row's sort-key values in ORDER BY order, ending with
its id; dates and datetimes as ISO 8601 strings, numbers as JSON numbers, NULL as ``null``. For
the nonconformity register's default order (newest reference first, ``ORDER BY id DESC``) the
cursor after the NC with id 500 is ``encode_cursor([500])``; sorted by detection date it is
``encode_cursor(["2026-03-01", 500])``.

A cursor that does not decode, or whose values do not fit the register's keys (count, types), is
refused with :class:`BadCursor`: a 422 naming ``after`` (or ``before``) in the API, the first page
with a message in the web — never a 500.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, false, func, literal, or_, select, tuple_
from sqlalchemy.orm.interfaces import ORMOption
from sqlalchemy.sql.elements import ColumnElement, UnaryExpression
from sqlalchemy.sql.operators import asc_op, desc_op, nulls_first_op, nulls_last_op
from sqlalchemy.types import BigInteger, TypeDecorator

from ..database import db

#: the wrappers an ORDER BY term may carry around its expression
MODIFIERS = (asc_op, desc_op, nulls_first_op, nulls_last_op)

#: registers count their matching rows up to this many, and say "more than …" beyond it
COUNT_CAP = 10_000
#: the longest cursor accepted (a few sort keys and an id are far shorter)
MAX_CURSOR_LENGTH = 2_000


class BadCursor(ValueError):
    """A cursor that cannot be read or does not fit the register's sort keys."""


# --- the cursor ---------------------------------------------------------------------------


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def encode_cursor(values: Sequence[Any]) -> str:
    """The cursor for a row whose sort-key values (ending with its id) are ``values``."""
    text = json.dumps([_json_value(v) for v in values], separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode()).decode("ascii").rstrip("=")


def decode_cursor(text: str) -> list[Any]:
    """The JSON values a cursor carries (not yet checked against a register's keys)."""
    if not isinstance(text, str) or not text or len(text) > MAX_CURSOR_LENGTH:
        raise BadCursor("is not a cursor this list gave")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        values = json.loads(raw.decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadCursor("is not a cursor this list gave") from None
    if not isinstance(values, list) or not values:
        raise BadCursor("is not a cursor this list gave")
    return values


# --- sort keys ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SortKey:
    """One ORDER BY term: the expression, its direction, whether it can be NULL and where NULLs go."""

    expression: ColumnElement[Any]
    descending: bool = False
    nullable: bool = False
    #: NULL compares as larger than every value (PostgreSQL's default), else as smaller
    nulls_largest: bool = True

    @property
    def nulls_come_first(self) -> bool:
        """NULLs are met before the values when walking in this key's direction."""
        return self.descending == self.nulls_largest

    def reversed(self) -> SortKey:
        return SortKey(self.expression, not self.descending, self.nullable, self.nulls_largest)

    def ordered(self) -> ColumnElement[Any]:
        term = self.expression.desc() if self.descending else self.expression.asc()
        if self.nullable:  # explicit, so that SQLite and PostgreSQL agree
            term = term.nulls_first() if self.nulls_come_first else term.nulls_last()
        return term

    def python_type(self) -> type | None:
        kind = self.expression.type
        while isinstance(kind, TypeDecorator):
            kind = kind.impl_instance
        try:
            return kind.python_type
        except NotImplementedError:
            return None

    def coerce(self, value: Any) -> Any:
        """The cursor's JSON ``value`` as this key's Python value, or BadCursor."""
        if value is None:
            if not self.nullable:
                raise BadCursor("does not fit this list's order")
            return None
        kind = self.python_type()
        try:
            if kind is dt.datetime:
                moment = dt.datetime.fromisoformat(value)
                # in UTC here: an offset that moves it past year 1 or 9999 is refused, not a 500 in the driver
                return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
            if kind is dt.date:
                return dt.date.fromisoformat(value)
            if kind is bool:
                if isinstance(value, bool):
                    return value
            elif kind is int:
                # an INTEGER column (every id and count here; PostgreSQL's is 32 bits) cannot be
                # compared with a larger number: the driver refuses it
                bits = 63 if isinstance(self.expression.type, BigInteger) else 31
                if isinstance(value, int) and not isinstance(value, bool) and -(2**bits) <= value < 2**bits:
                    return value
            elif kind in (float, decimal.Decimal):
                if isinstance(value, int | float) and not isinstance(value, bool):
                    return kind(value)
            elif kind is str:
                if isinstance(value, str) and "\x00" not in value:
                    value.encode()  # a lone surrogate ("\\ud800" in the JSON) cannot be sent to the database
                    return value
            elif isinstance(value, str | int | float) and not isinstance(value, bool):
                if isinstance(value, str):
                    value.encode()
                return value
        except (TypeError, ValueError, OverflowError):  # UnicodeEncodeError is a ValueError
            pass
        raise BadCursor("does not fit this list's order")


def _nullable(expression: ColumnElement[Any]) -> bool:
    column = getattr(expression, "nullable", None)
    if isinstance(column, bool) and hasattr(expression, "table"):
        return column
    return True  # an expression (CASE…): handled as if it could be NULL, which is always correct


def sort_keys(stmt: Select[Any]) -> list[SortKey]:
    """The statement's ORDER BY as sort keys, repeated expressions dropped (the last one must be unique)."""
    keys: list[SortKey] = []
    for term in stmt._order_by_clauses:
        descending = False
        nulls: Any = None
        expression = term
        while isinstance(expression, UnaryExpression) and expression.modifier in MODIFIERS:
            if expression.modifier is desc_op:
                descending = True
            elif expression.modifier in (nulls_first_op, nulls_last_op) and nulls is None:
                nulls = expression.modifier
            expression = expression.element
        if any(key.expression.compare(expression) for key in keys):
            continue
        # NULLS FIRST ascending (or LAST descending) makes NULL the smallest value
        largest = nulls is None or (nulls is nulls_first_op) == descending
        keys.append(SortKey(expression, descending, _nullable(expression), largest))
    if not keys or not getattr(keys[-1].expression, "primary_key", False):
        # a programming error, not bad input: without the id last, rows could repeat or go missing
        raise ValueError("keyset paging needs an ORDER BY ending with the primary key")
    return keys


# --- the page -------------------------------------------------------------------------------


def _literal(key: SortKey, value: Any) -> ColumnElement[Any]:
    return literal(value, type_=key.expression.type)


def _beyond(keys: Sequence[SortKey], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in the order ``keys`` give."""
    if not any(k.nullable for k in keys) and len({k.descending for k in keys}) == 1:
        # one row comparison: PostgreSQL walks the (keys) index from the cursor
        left = tuple_(*[k.expression for k in keys])
        right = tuple_(*[_literal(k, v) for k, v in zip(keys, values, strict=True)])
        return left < right if keys[0].descending else left > right
    return _beyond_expanded(keys, values)


def _beyond_expanded(keys: Sequence[SortKey], values: Sequence[Any]) -> ColumnElement[bool]:
    key, value, rest = keys[0], values[0], keys[1:]
    column = key.expression
    after_rest = _beyond_expanded(rest, values[1:]) if rest else false()
    if value is None:
        if key.nulls_come_first:  # every value comes after the NULLs
            return or_(column.is_not(None), and_(column.is_(None), after_rest))
        return and_(column.is_(None), after_rest)
    bound = _literal(key, value)
    strictly = column < bound if key.descending else column > bound
    near = column <= bound if key.descending else column >= bound
    if key.nullable and not key.nulls_come_first:  # the NULLs come after every value
        strictly = or_(strictly, column.is_(None))
        near = or_(near, column.is_(None))
    # ``near`` repeats the first key's bound so that an index range can start at the cursor
    return and_(near, or_(strictly, and_(column == bound, after_rest)))


@dataclass
class KeysetPage:
    """One page of a register, and the cursors around it."""

    items: list[Any]
    per_page: int
    #: cursor of the last row shown when a further page exists
    next_cursor: str | None = None
    #: cursor of the first row shown when an earlier page exists
    prev_cursor: str | None = None
    #: rows matching the filters, counted up to ``COUNT_CAP + 1`` (None when not counted)
    count: int | None = None
    #: what was asked: the first page, or after/before a cursor
    after: str | None = None
    before: str | None = None
    #: the count stops after this many rows
    cap: int = COUNT_CAP

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_prev(self) -> bool:
        return self.prev_cursor is not None

    @property
    def is_first(self) -> bool:
        return not self.has_prev

    @property
    def count_capped(self) -> bool:
        """True when more rows match than were counted (show "more than ``cap``")."""
        return self.count is not None and self.count > self.cap

    @property
    def total(self) -> int | None:
        """The exact number of matching rows, or None when there are more than ``COUNT_CAP``."""
        return None if self.count is None or self.count_capped else self.count


def capped_count(stmt: Select[Any], cap: int) -> int:
    """Rows ``stmt`` selects, counted up to ``cap + 1``: the same cost however large the table."""
    inner = stmt.order_by(None).limit(cap + 1)
    first = next(iter(stmt.selected_columns), None)
    if first is not None and not stmt._distinct:
        inner = inner.with_only_columns(literal(1).label("one"), maintain_column_froms=True)
    return db.session.scalar(select(func.count()).select_from(inner.subquery())) or 0


def keyset_page(
    stmt: Select[Any],
    *,
    per_page: int,
    after: str | None = None,
    before: str | None = None,
    options: Sequence[ORMOption] = (),
    count: bool = True,
    cap: int | None = None,
    offset: int = 0,
) -> KeysetPage:
    """The page of ``stmt`` (sorted by its ORDER BY, which ends with the id) after or before a cursor.

    ``after`` wins when both are given. Raises :class:`BadCursor` for a cursor that does not fit.
    ``offset`` (without a cursor) skips that many rows: the API's ``page`` numbers, kept for
    compatibility, which cost more the deeper they go.
    Costs one query for the rows (plus ``options``' loads) and, with ``count``, one capped count.
    """
    keys = sort_keys(stmt)
    cursor_text = after or before
    backwards = bool(before) and not after
    values: list[Any] | None = None
    if cursor_text:
        raw = decode_cursor(cursor_text)
        if len(raw) != len(keys):
            raise BadCursor("does not fit this list's order")
        values = [key.coerce(v) for key, v in zip(keys, raw, strict=True)]

    walk = [k.reversed() for k in keys] if backwards else keys
    labelled = [k.expression.label(f"_keyset_{i}") for i, k in enumerate(keys)]
    query = stmt.order_by(None).order_by(*[k.ordered() for k in walk]).add_columns(*labelled)
    if values is not None:
        query = query.where(_beyond(walk, values))
    if values is None and offset:
        query = query.offset(offset)
    query = query.options(*options).limit(per_page + 1)
    width = len(stmt.column_descriptions)
    rows = list(db.session.execute(query))
    more = len(rows) > per_page
    rows = rows[:per_page]
    if backwards:
        rows.reverse()
    items = [row[0] if width == 1 else tuple(row[:width]) for row in rows]
    key_values = [list(row[width:]) for row in rows]

    page = KeysetPage(items=items, per_page=per_page, after=after or None, before=None if after else before or None)
    if rows:
        if backwards:
            page.next_cursor = encode_cursor(key_values[-1])
            page.prev_cursor = encode_cursor(key_values[0]) if more else None
        else:
            page.next_cursor = encode_cursor(key_values[-1]) if more else None
            page.prev_cursor = encode_cursor(key_values[0]) if values is not None or offset else None
    elif values is not None and not backwards:
        # nothing after the cursor (the rows were deleted): offer the way back
        page.prev_cursor = cursor_text
    if count:
        page.cap = COUNT_CAP if cap is None else cap
        page.count = capped_count(stmt, page.cap)
    return page


def cursor_args(args: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """``after`` and ``before`` of a request's arguments (empty ones as None)."""
    after = (args.get("after") or "").strip() or None
    before = (args.get("before") or "").strip() or None
    return after, before


__all__ = [
    "COUNT_CAP",
    "BadCursor",
    "KeysetPage",
    "SortKey",
    "capped_count",
    "cursor_args",
    "decode_cursor",
    "encode_cursor",
    "keyset_page",
    "sort_keys",
]
