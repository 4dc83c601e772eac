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
from collections.abc import Callable, Mapping
from typing import Any, Literal

from flask import g, has_request_context
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from standards import (
    MappingSet,
    Standard,
    StandardDiff,
    StandardError,
    UnknownStandardError,
    bundled_mappings,
    bundled_standards,
    diff_standards,
    dump_standard_yaml,
    find_mapping,
    parse_mapping,
    parse_standard,
    parse_standard_csv,
)
from standards.editions import Edition, bundled_editions, edition_from_dict, edition_to_dict, validate_edition_dict
from standards.mappings import dump_mapping_yaml, parse_mapping_csv
from workflows.errors import InvalidData, NotPermitted

from ..database import db, utcnow
from ..models import Actor, ImportedMapping, ImportedStandard, StandardEditionStatus, User
from .audit_trail import recorded_change, register_audited
from .validation import require_roles
from .workflow import as_actor

__all__ = [
    "SYSTEM_ACTOR",
    "all_editions",
    "all_mappings",
    "all_standards",
    "diff_editions",
    "edition_of",
    "find_mapping_for",
    "find_standard",
    "import_mapping",
    "import_standard",
    "imported_mappings",
    "imported_standards",
    "is_bundled",
    "remove_imported_mapping",
    "standard_choices",
    "successor_of",
    "update_edition",
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
    """The mapping set relating two editions; None if none.

    An imported set replaces the bundled one of the same pair; a set stored the other way round
    is read backwards; failing both, two sets are chained (2015 → 2015/Amd 1:2024 → 2026).
    """
    lookup = _mapping_lookup()
    pivots = tuple(sorted({s.identifier for s in all_standards()} - {old_identifier, new_identifier}))
    return find_mapping(old_identifier, new_identifier, lookup=lookup, pivots=pivots)


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


# --------------------------------------------------------------------------- mapping sets

#: the largest mapping file accepted (the 2008 → 2015 correlation is 8 kB)
MAX_MAPPING_BYTES = 1_000_000
register_audited(ImportedMapping, StandardEditionStatus)
_mapping_cache: dict[str, MappingSet] = {}


def imported_mappings() -> list[ImportedMapping]:
    """The rows of every imported mapping set, by source then target."""
    return list(
        db.session.scalars(
            select(ImportedMapping).order_by(ImportedMapping.source_identifier, ImportedMapping.target_identifier)
        )
    )


def _parsed_mapping(row: ImportedMapping) -> MappingSet | None:
    """The set stored in ``row`` (parsed once per content); None if its standards no longer fit it."""
    with _cache_lock:
        found = _mapping_cache.get(row.sha256)
    if found is None:
        try:
            found = parse_mapping(row.content, source=f"imported mapping {row.id}", resolve=find_standard)
        except StandardError:
            return None
        with _cache_lock:
            _mapping_cache[row.sha256] = found
    return found


def _mapping_lookup() -> Callable[[str, str], MappingSet | None]:
    """Imported sets first (they replace the bundled set between the same standards), then bundled ones."""
    rows = {(row.source_identifier, row.target_identifier): row for row in imported_mappings()}

    def lookup(source_identifier: str, target_identifier: str) -> MappingSet | None:
        row = rows.get((source_identifier, target_identifier))
        if row is not None:
            parsed = _parsed_mapping(row)
            if parsed is not None:
                return parsed
        return find_mapping(source_identifier, target_identifier, pivots=())

    return lookup


def mapping_origin(old_identifier: str, new_identifier: str) -> str:
    """``imported``, ``bundled``, ``chained`` or ``none``: where the set relating two standards comes from."""
    pair = {(old_identifier, new_identifier), (new_identifier, old_identifier)}
    if any((row.source_identifier, row.target_identifier) in pair for row in imported_mappings()):
        return "imported"
    if find_mapping(old_identifier, new_identifier, pivots=()) is not None:
        return "bundled"
    return "chained" if find_mapping_for(old_identifier, new_identifier) is not None else "none"


def all_mappings() -> list[tuple[MappingSet, str, ImportedMapping | None]]:
    """Every mapping set with its origin: bundled ones, each replaced by an import of the same pair."""
    rows = {(row.source_identifier, row.target_identifier): row for row in imported_mappings()}
    found: list[tuple[MappingSet, str, ImportedMapping | None]] = []
    for mapping in bundled_mappings():
        row = rows.pop((mapping.source_identifier, mapping.target_identifier), None)
        parsed = _parsed_mapping(row) if row is not None else None
        found.append((parsed, "imported", row) if parsed is not None else (mapping, "bundled", None))
    for row in rows.values():
        parsed = _parsed_mapping(row)
        if parsed is not None:
            found.append((parsed, "imported", row))
    return found


def _parse_mapping_upload(
    text: str,
    fmt: str,
    *,
    source_identifier: str | None,
    target_identifier: str | None,
    description: str,
    source: str | None,
) -> MappingSet:
    if fmt not in FORMATS:
        raise StandardError([f"format {fmt!r} must be one of: {', '.join(FORMATS)}"], source)
    if len(text.encode("utf-8")) > MAX_MAPPING_BYTES:
        raise StandardError([f"the file is larger than {MAX_MAPPING_BYTES // 1_000_000} MB"], source)
    if fmt == "yaml":
        mapping = parse_mapping(text, source=source, resolve=find_standard)
        given = {"source": source_identifier, "target": target_identifier}
        mismatches = [
            f"--{side} {value!r} does not match the file's {side} {getattr(mapping, side + '_identifier')!r}"
            for side, value in given.items()
            if value and value != getattr(mapping, side + "_identifier")
        ]
        if mismatches:
            raise StandardError(mismatches, source)
        return mapping
    missing = [
        f"--{side} is required to import CSV"
        for side, value in (("source", source_identifier), ("target", target_identifier))
        if not value
    ]
    if missing:
        raise StandardError(missing, source)
    return parse_mapping_csv(
        text,
        source_identifier=str(source_identifier),
        target_identifier=str(target_identifier),
        description=description,
        source=source,
        resolve=find_standard,
    )


def import_mapping(
    text: str,
    fmt: Literal["yaml", "csv"],
    actor: Actor | User | None,
    *,
    source_identifier: str | None = None,
    target_identifier: str | None = None,
    description: str = "",
    replace: bool = False,
    source: str | None = None,
) -> ImportedMapping:
    """Validate a mapping set (YAML, or CSV ``source,target,relationship,changed,note``) in full, then store it.

    It replaces the bundled set between the same two standards from then on. CSV needs the two
    standards' identifiers; YAML names them and any given must agree. An imported set of the same
    pair is replaced only with ``replace``. StandardError lists every problem (with its line);
    nothing is written then.
    """
    if actor is not None and not as_actor(actor).roles & IMPORT_ROLES:
        raise NotPermitted("Requires the role admin, manager or quality officer to import mapping sets")
    if not isinstance(description, str) or len(description) > 2000 or "\x00" in description:
        raise StandardError(["description must be text of at most 2000 characters"], source)
    mapping = _parse_mapping_upload(
        text,
        fmt,
        source_identifier=source_identifier,
        target_identifier=target_identifier,
        description=description,
        source=source,
    )
    content = dump_mapping_yaml(mapping)
    digest = hashlib.sha256(content.encode("utf-8")).hexdigest()
    who = SYSTEM_ACTOR if actor is None else as_actor(actor)
    pair = f"{mapping.source_identifier} → {mapping.target_identifier}"
    try:
        with recorded_change(who, f"mapping set {pair} {'replaced' if replace else 'imported'}") as session:
            row = session.scalar(
                select(ImportedMapping).where(
                    ImportedMapping.source_identifier == mapping.source_identifier,
                    ImportedMapping.target_identifier == mapping.target_identifier,
                )
            )
            if row is not None and not replace:
                raise StandardClash([f"a mapping set {pair} is already imported (replace it with --replace)"], source)
            if row is None:
                row = ImportedMapping(
                    source_identifier=mapping.source_identifier, target_identifier=mapping.target_identifier
                )
                session.add(row)
            row.description = mapping.description
            row.source_format = fmt
            row.content = content
            row.sha256 = digest
            row.entry_count = len(mapping.entries)
            row.imported_by_id = who.id
            row.imported_at = utcnow()
            session.flush()
    except IntegrityError as exc:
        raise StandardClash([f"a mapping set {pair} exists already"]) from exc
    with _cache_lock:
        _mapping_cache[digest] = mapping
    return row


def remove_imported_mapping(row: ImportedMapping, actor: Actor | User) -> None:
    """Drop an imported set: the bundled set between the same standards (if any) applies again."""
    if not as_actor(actor).roles & IMPORT_ROLES:
        raise NotPermitted("Requires the role admin, manager or quality officer to remove mapping sets")
    with recorded_change(
        as_actor(actor), f"mapping set {row.source_identifier} → {row.target_identifier} removed"
    ) as session:
        session.delete(row)


# --------------------------------------------------------------------------- editions


def edition_of(identifier: str) -> Edition | None:
    """The status and transition dates of an edition: the admin's record, else the bundled facts; None if neither."""
    return all_editions().get(identifier)


def _edition(row: StandardEditionStatus) -> Edition:
    return Edition(
        identifier=row.identifier,
        status=row.status,
        published_on=row.published_on,
        replaces=row.replaces,
        transition_ends_on=row.transition_ends_on,
        cutover_on=row.cutover_on,
        warn_months=row.warn_months,
        source=row.source,
    )


def all_editions() -> dict[str, Edition]:
    """Every known edition's status by identifier (admin records over bundled facts).

    Read once per request (a register of certifications asks for each row).
    """
    cached = g.get("_qms_editions") if has_request_context() else None
    if cached is not None:
        return dict(cached)
    found = dict(bundled_editions())
    for row in db.session.scalars(select(StandardEditionStatus)):
        found[row.identifier] = _edition(row)
    if has_request_context():
        g._qms_editions = dict(found)
    return found


def base_edition(identifier: str) -> str:
    """The edition a standard is, for transitions: an amendment counts as the edition it amends."""
    try:
        standard = find_standard(identifier)
    except KeyError:
        return identifier
    if standard.amends:
        amended = next((s for s in all_standards() if s.urn == standard.amends), None)
        if amended is not None:
            return amended.identifier
    return identifier


def successor_of(identifier: str) -> Edition | None:
    """The edition that replaces ``identifier`` (or the edition it amends), with its transition dates."""
    base = base_edition(identifier)
    candidates = [e for e in all_editions().values() if e.replaces in (identifier, base) and e.has_transition]
    return min(candidates, key=lambda e: e.transition_ends_on or dt.date.max) if candidates else None


def update_edition(identifier: str, actor: Actor | User, data: Mapping[str, Any]) -> Edition:
    """An admin records an edition's status and transition dates (when ISO and the IAF publish them).

    Every field is validated first; the messages name the field. Fields not given keep their value.
    """
    actor = as_actor(actor)
    require_roles(actor, frozenset({"admin"}), "edit edition dates")
    try:
        find_standard(identifier)
    except KeyError:
        raise InvalidData({"identifier": f"no standard {identifier!r}"}) from None
    current = edition_of(identifier) or Edition(identifier=identifier)
    merged = {**edition_to_dict(current), **dict(data), "identifier": identifier}
    problems = validate_edition_dict(merged)
    if not problems and merged.get("replaces"):
        try:
            find_standard(str(merged["replaces"]))
        except KeyError:
            problems.append(f"replaces: no standard {merged['replaces']!r}")
    if problems:
        errors: dict[str, str] = {}
        for problem in problems:
            name, _, message = problem.partition(": ")
            errors[name] = f"{errors[name]}; {message}" if name in errors else message
        raise InvalidData(errors)
    edition = edition_from_dict(merged)
    if has_request_context():
        g.pop("_qms_editions", None)
    with recorded_change(actor, f"edition {identifier} status and dates edited") as session:
        row = session.scalar(select(StandardEditionStatus).where(StandardEditionStatus.identifier == identifier))
        if row is None:
            row = StandardEditionStatus(identifier=identifier)
            session.add(row)
        row.status = edition.status
        row.published_on = edition.published_on
        row.replaces = edition.replaces
        row.transition_ends_on = edition.transition_ends_on
        row.cutover_on = edition.cutover_on
        row.warn_months = edition.warn_months
        row.source = edition.source
        row.edited_by_id, row.edited_at = actor.id, utcnow()
    return edition
