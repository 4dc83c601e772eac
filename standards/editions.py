"""Editions as data: whether an edition is a draft or published, and the dates of the transition to it.

The bundled facts live in ``standards/data/editions/editions.yaml``; an admin's edits are stored by the
application (``qms.models.StandardEditionStatus``) and checked with ``validate_edition_dict``,
whose messages name the field. The dates decide two rules of the certification programme: from
``cutover_on`` every initial and recertification audit is to the new edition, and after
``transition_ends_on`` certificates to the replaced edition are no longer valid.

Only the safe YAML loader is used. Nothing here imports Flask or SQLAlchemy.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from .catalogue import IDENTIFIER_RE, StandardError, _compose, _data_dir

__all__ = [
    "EDITION_STATUSES",
    "Edition",
    "bundled_editions",
    "edition_from_dict",
    "edition_to_dict",
    "validate_edition_dict",
]

EDITION_STATUSES = {"draft": "Draft (announced, not yet published)", "published": "Published", "withdrawn": "Withdrawn"}
EDITION_KEYS = (
    "identifier",
    "status",
    "published_on",
    "replaces",
    "transition_ends_on",
    "cutover_on",
    "warn_months",
    "source",
)
DATE_KEYS = ("published_on", "transition_ends_on", "cutover_on")
MAX_SOURCE_LENGTH = 500


@dataclass(frozen=True)
class Edition:
    """An edition's status and the transition to it from the edition it ``replaces``."""

    identifier: str
    status: str = "published"
    published_on: dt.date | None = None
    replaces: str | None = None
    transition_ends_on: dt.date | None = None
    cutover_on: dt.date | None = None
    #: readiness warns this many months before the transition ends
    warn_months: int = 12
    source: str = ""

    @property
    def has_transition(self) -> bool:
        return self.replaces is not None and self.transition_ends_on is not None

    def cutover_passed(self, today: dt.date) -> bool:
        """Whether audits to the replaced edition are over (on or after the cut-over day)."""
        return self.cutover_on is not None and today >= self.cutover_on


def _date(value: Any) -> dt.date | str | None:
    """A date from a date or ISO text; the string "invalid" when it is neither (None stays None)."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return "invalid"
    return "invalid"


def validate_edition_dict(data: Any) -> list[str]:
    """Every problem of an edition's data as ``field: message``; empty when it is valid."""
    if not isinstance(data, Mapping):
        return ["an edition must be a mapping with the keys " + ", ".join(EDITION_KEYS)]
    problems = [f"{key}: unknown key (allowed: {', '.join(EDITION_KEYS)})" for key in data if key not in EDITION_KEYS]
    identifier = data.get("identifier")
    if not isinstance(identifier, str) or not IDENTIFIER_RE.fullmatch(identifier) or len(identifier) > 60:
        problems.append("identifier: must be lowercase letters and digits joined by '-'")
    if data.get("status", "published") not in EDITION_STATUSES:
        problems.append("status: must be one of: " + ", ".join(EDITION_STATUSES))
    replaces = data.get("replaces")
    if replaces is not None and (not isinstance(replaces, str) or not IDENTIFIER_RE.fullmatch(replaces)):
        problems.append("replaces: must be the identifier of another standard, or empty")
    elif replaces is not None and replaces == identifier:
        problems.append("replaces: an edition cannot replace itself")
    dates = {}
    for key in DATE_KEYS:
        value = _date(data.get(key))
        if value == "invalid":
            problems.append(f"{key}: must be a date (YYYY-MM-DD) or empty")
        else:
            dates[key] = value
    ends, cutover, published = dates.get("transition_ends_on"), dates.get("cutover_on"), dates.get("published_on")
    if cutover and ends and cutover > ends:
        problems.append("cutover_on: must be on or before the end of the transition")
    if ends and published and ends <= published:
        problems.append("transition_ends_on: must be after the publication date")
    if (ends or cutover) and replaces is None:
        problems.append("replaces: name the edition certificates move from, or leave the transition dates empty")
    warn = data.get("warn_months", 12)
    if not isinstance(warn, int) or isinstance(warn, bool) or not 1 <= warn <= 60:
        problems.append("warn_months: must be a whole number of months from 1 to 60")
    source = data.get("source", "")
    if not isinstance(source, str) or len(source) > MAX_SOURCE_LENGTH or "\x00" in source:
        problems.append(f"source: must be text of at most {MAX_SOURCE_LENGTH} characters")
    return problems


def edition_from_dict(data: Mapping[str, Any]) -> Edition:
    """An Edition from its dict form; StandardError listing every problem if it is invalid."""
    problems = validate_edition_dict(data)
    if problems:
        raise StandardError(problems)
    return Edition(
        identifier=data["identifier"],
        status=data.get("status", "published"),
        published_on=_date(data.get("published_on")),  # type: ignore[arg-type]
        replaces=data.get("replaces"),
        transition_ends_on=_date(data.get("transition_ends_on")),  # type: ignore[arg-type]
        cutover_on=_date(data.get("cutover_on")),  # type: ignore[arg-type]
        warn_months=data.get("warn_months", 12),
        source=(data.get("source") or "").strip(),
    )


def edition_to_dict(edition: Edition) -> dict[str, Any]:
    """The JSON-ready form of an edition (dates as ISO text)."""
    out: dict[str, Any] = {}
    for item in fields(edition):
        value = getattr(edition, item.name)
        out[item.name] = value.isoformat() if isinstance(value, dt.date) else value
    return out


@functools.cache
def _bundled() -> tuple[Edition, ...]:
    source = "standards/data/editions/editions.yaml"
    data, _ = _compose((_data_dir() / "editions" / "editions.yaml").read_text(encoding="utf-8"), source)
    entries = data.get("editions") if isinstance(data, Mapping) else None
    if not isinstance(entries, list):
        raise StandardError(["editions: must be a list"], source)
    errors: list[str] = []
    found: list[Edition] = []
    for index, entry in enumerate(entries):
        problems = validate_edition_dict(entry)
        errors += [f"editions[{index}].{problem}" for problem in problems]
        if not problems:
            found.append(edition_from_dict(entry))
    if errors:
        raise StandardError(errors, source)
    return tuple(found)


def bundled_editions() -> dict[str, Edition]:
    """The bundled editions by identifier (loaded once)."""
    return {edition.identifier: edition for edition in _bundled()}
