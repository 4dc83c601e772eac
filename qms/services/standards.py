"""Standards the organisation works with: the bundled catalogues plus those it imported.

An import is validated in full before anything is written (``StandardError`` lists every
problem with its line and field), then stored as canonical YAML with its sha256 in one audited
transaction, so a malformed file never leaves half an import behind. Parsed imported standards
are cached by sha256: a replaced standard is parsed again, an unchanged one never.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from standards import (
    MappingSet,
    Standard,
    StandardDiff,
    StandardError,
    UnknownStandardError,
    bundled_standards,
    diff_standards,
    dump_standard_yaml,
    find_mapping,
    parse_standard,
    parse_standard_csv,
)
from workflows.errors import NotPermitted

from ..database import db, utcnow
from ..models import Actor, ImportedStandard, User
from .audit_trail import recorded_change, register_audited
from .workflow import as_actor

__all__ = [
    "SYSTEM_ACTOR",
    "all_standards",
    "diff_editions",
    "find_mapping_for",
    "find_standard",
    "import_standard",
    "imported_standards",
    "is_bundled",
    "standard_choices",
]

SYSTEM_ACTOR = Actor(None, "system", frozenset())
FORMATS = ("yaml", "csv")
MAX_IMPORT_BYTES = 2_000_000

register_audited(ImportedStandard)

_cache: dict[str, Standard] = {}
_cache_lock = threading.Lock()


def _parsed(row: ImportedStandard) -> Standard:
    """The Standard stored in ``row``, parsed once per content hash."""
    with _cache_lock:
        found = _cache.get(row.sha256)
    if found is None:
        found = parse_standard(row.content, source=f"imported standard {row.identifier}")
        with _cache_lock:
            _cache[row.sha256] = found
    return found


def _bundled() -> dict[str, Standard]:
    return {standard.identifier: standard for standard in bundled_standards()}


def is_bundled(identifier: str) -> bool:
    """Whether ``identifier`` names a standard shipped with qmsflow."""
    return identifier in _bundled()


def imported_standards() -> list[ImportedStandard]:
    """The rows of every imported standard, by identifier."""
    return list(db.session.scalars(select(ImportedStandard).order_by(ImportedStandard.identifier)))


def all_standards() -> list[Standard]:
    """Bundled standards, then imported ones, each group sorted by identifier."""
    return bundled_standards() + [_parsed(row) for row in imported_standards()]


def find_standard(identifier: str) -> Standard:
    """The bundled or imported standard with this identifier; UnknownStandardError (a KeyError) if none."""
    bundled = _bundled()
    if identifier in bundled:
        return bundled[identifier]
    row = db.session.scalar(select(ImportedStandard).where(ImportedStandard.identifier == identifier))
    if row is None:
        known = ", ".join(sorted(bundled) + [r.identifier for r in imported_standards()])
        raise UnknownStandardError(f"no standard {identifier!r} (known: {known})")
    return _parsed(row)


def standard_choices() -> list[tuple[str, str]]:
    """(identifier, label) of every standard, for a form's select field."""
    return [(standard.identifier, standard.label) for standard in all_standards()]


def find_mapping_for(old_identifier: str, new_identifier: str) -> MappingSet | None:
    """The mapping set relating two editions (read backwards if only the reverse ships); None if none."""
    return find_mapping(old_identifier, new_identifier)


def diff_editions(old_identifier: str, new_identifier: str) -> StandardDiff:
    """Compare two standards by identifier, using their mapping set when there is one."""
    old, new = find_standard(old_identifier), find_standard(new_identifier)
    return diff_standards(old, new, find_mapping_for(old.identifier, new.identifier))


def _parse(
    text: str,
    fmt: str,
    *,
    identifier: str | None,
    title: str | None,
    edition: int | None,
    urn: str | None,
    source: str | None,
) -> Standard:
    if fmt not in FORMATS:
        raise StandardError([f"format {fmt!r} must be one of: {', '.join(FORMATS)}"], source)
    if len(text.encode("utf-8")) > MAX_IMPORT_BYTES:
        raise StandardError([f"the file is larger than {MAX_IMPORT_BYTES // 1_000_000} MB"], source)
    if fmt == "yaml":
        standard = parse_standard(text, source=source)
        given = {"identifier": identifier, "title": title, "edition": edition, "urn": urn}
        mismatches = [
            f"--{name} {value!r} does not match the file's {name} {getattr(standard, name)!r}"
            for name, value in given.items()
            if value is not None and value != getattr(standard, name)
        ]
        if mismatches:
            raise StandardError(mismatches, source)
        return standard
    missing = [
        f"--{name} is required to import CSV"
        for name, value in (("identifier", identifier), ("title", title))
        if not value
    ]
    if missing:
        raise StandardError(missing, source)
    edition = edition or dt.date.today().year
    urn = urn or f"urn:qmsflow:org:{identifier}:{edition}"
    return parse_standard_csv(text, identifier=identifier, title=title, edition=edition, urn=urn, source=source)


#: who may import standards (the command line runs as the system and may always)
IMPORT_ROLES = frozenset({"admin", "manager", "quality_officer"})


class StandardClash(StandardError):
    """The identifier or URN is taken (by a bundled standard, or an import unless replacing)."""


def import_standard(
    text: str,
    fmt: Literal["yaml", "csv"],
    actor: Actor | User | None,
    *,
    identifier: str | None = None,
    title: str | None = None,
    edition: int | None = None,
    urn: str | None = None,
    replace: bool = False,
    source: str | None = None,
) -> ImportedStandard:
    """Validate a standard or checklist (YAML or CSV) in full, then store it in one transaction.

    CSV needs ``identifier`` and ``title`` (``edition`` defaults to this year, ``urn`` to
    ``urn:qmsflow:org:<identifier>:<edition>``); for YAML the file carries them and any given
    here must agree. Refuses identifiers and URNs of bundled standards, and an identifier
    already imported unless ``replace``. Raises StandardError listing every problem; nothing
    is written then.
    """
    if actor is not None and not as_actor(actor).roles & IMPORT_ROLES:
        raise NotPermitted("Requires the role admin, manager or quality officer to import standards")
    standard = _parse(text, fmt, identifier=identifier, title=title, edition=edition, urn=urn, source=source)
    bundled = _bundled()
    errors: list[str] = []
    if standard.identifier in bundled:
        errors.append(f"identifier {standard.identifier!r} belongs to a bundled standard; choose another")
    clash = next((b for b in bundled.values() if b.urn == standard.urn), None)
    if clash is not None:
        errors.append(f"urn {standard.urn!r} belongs to the bundled standard {clash.identifier}; choose another")
    if errors:
        raise StandardClash(errors, source)

    content = dump_standard_yaml(standard)
    digest = hashlib.sha256(content.encode("utf-8")).hexdigest()
    who = SYSTEM_ACTOR if actor is None else as_actor(actor)
    verb = "replaced" if replace else "imported"
    try:
        with recorded_change(who, f"standard {standard.identifier} {verb}") as session:
            row = session.scalar(select(ImportedStandard).where(ImportedStandard.identifier == standard.identifier))
            same_urn = session.scalar(select(ImportedStandard).where(ImportedStandard.urn == standard.urn))
            if row is not None and not replace:
                raise StandardClash(
                    [f"a standard {standard.identifier!r} is already imported (replace it with --replace)"], source
                )
            if same_urn is not None and same_urn is not row:
                raise StandardClash(
                    [f"urn {standard.urn!r} is already used by the imported standard {same_urn.identifier}"], source
                )
            if row is None:
                row = ImportedStandard(identifier=standard.identifier)
                session.add(row)
            row.title = standard.title
            row.edition = standard.edition
            row.urn = standard.urn
            row.source_format = fmt
            row.content = content
            row.sha256 = digest
            row.imported_by_id = who.id
            row.imported_at = utcnow()
            session.flush()
    except IntegrityError as exc:  # a concurrent import of the same identifier or urn won the race
        raise StandardClash([f"a standard {standard.identifier!r} or urn {standard.urn!r} exists already"]) from exc
    with _cache_lock:
        _cache[digest] = standard
    return row
