"""Checks of free-text input shared by the services (each error names its field)."""

from __future__ import annotations

from typing import Any


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
