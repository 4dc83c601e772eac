"""Human-readable, gap-free references (NC-2026-0001) allocated inside the caller's transaction."""

from __future__ import annotations

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import ReferenceCounter


def next_number(session: Session, key: str) -> int:
    """Increment and return the counter ``key``; the row lock serialises concurrent callers."""
    conn = session.connection()
    value = conn.execute(
        update(ReferenceCounter)
        .where(ReferenceCounter.key == key)
        .values(value=ReferenceCounter.value + 1)
        .returning(ReferenceCounter.value)
    ).scalar_one_or_none()
    if value is not None:
        return value
    try:
        with conn.begin_nested():
            conn.execute(insert(ReferenceCounter).values(key=key, value=1))
        return 1
    except IntegrityError:  # another transaction created the counter first
        return next_number(session, key)


def next_reference(session: Session, prefix: str, year: int) -> str:
    return f"{prefix}-{year}-{next_number(session, f'{prefix}-{year}'):04d}"
