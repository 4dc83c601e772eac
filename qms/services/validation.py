"""Checks of free-text input shared by the services (each error names its field)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from workflows.definition import MAX_DATE, MIN_DATE
from workflows.errors import NotPermitted


def clean_text(errors: dict[str, str], name: str, value: Any, *, required: bool = True, limit: int = 10_000) -> str:
    """``value`` stripped; records in ``errors[name]`` why it is not acceptable text.

    NUL and unpaired surrogates are refused because PostgreSQL cannot store them.
    """
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[name] = "must be text"
        return ""
    value = value.strip()
    if "\x00" in value:
        errors[name] = "must not contain NUL characters"
    elif _has_surrogate(value):
        errors[name] = "must be valid Unicode text"
    elif required and not value:
        errors[name] = "is required"
    elif len(value) > limit:
        errors[name] = f"must be at most {limit} characters"
    return value


def _has_surrogate(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def require_roles(actor: Any, roles: frozenset[str], what: str) -> None:
    """NotPermitted naming the roles that may ``what``, unless the actor holds one of them."""
    if not actor.roles & roles:
        names = ", ".join(sorted(r.replace("_", " ") for r in roles))
        raise NotPermitted(f"Requires the role {names} to {what}")


def clean_date(errors: dict[str, str], name: str, value: Any, *, required: bool = True) -> dt.date | None:
    """A date from a date, a datetime or ISO text; records in ``errors[name]`` why not."""
    if value in (None, ""):
        if required:
            errors[name] = "is required"
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    elif not isinstance(value, dt.date):
        try:
            value = dt.date.fromisoformat(str(value))
        except ValueError:
            errors[name] = "must be a date (YYYY-MM-DD)"
            return None
    if not MIN_DATE <= value <= MAX_DATE:
        errors[name] = f"must be between {MIN_DATE.isoformat()} and {MAX_DATE.isoformat()}"
        return None
    return value


def row_by_id(model: type, value: Any) -> Any:
    """The row with this id, or None for anything that is not a valid id (text digits are accepted)."""
    from ..database import db

    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**31:
        return None
    return db.session.get(model, value)
