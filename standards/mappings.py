"""Mapping sets: how the clauses of one standard edition relate to those of another.

A mapping set is one YAML file ``standards/data/mappings/<source-id>--<target-id>.yaml``::

    source: {identifier: iso-9001-2008, urn: "urn:iso:std:9001:2008"}
    target: {identifier: iso-9001-2015, urn: "urn:iso:std:9001:2015"}
    description: optional text
    entries:
      - {source: "7.5.1", target: "8.5.1", relationship: equal}
      - {source: "8.5.3", target: "6.1", relationship: intersect, note: "preventive action → risk"}
      - {source: "4.1", target: "4.1", relationship: equal, changed: true}

``relationship`` says how the source clause relates to the target clause, as mature GRC
libraries do (e.g. CISO Assistant's requirement mapping sets): ``equal``, ``subset`` (the source
asks for part of what the target does), ``superset``, ``intersect`` or ``not_related``.
``changed: true`` says the clause's content changed although it maps one to one (an amendment).
An entry without ``source`` notes a clause that is new in the target, one without ``target`` a
clause with no counterpart; their ``note`` says why (the differ shows it with the change).
Clause numbers are checked against both standards; every error names its line.

``parse_mapping_csv`` reads the same entries from CSV (``source,target,relationship,changed,note``),
and ``compose`` chains two sets (2015 → 2015/Amd 1:2024 → 2026) so an edition with an amendment
between it and the next needs no mapping of its own.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from .catalogue import (
    IDENTIFIER_RE,
    Standard,
    StandardError,
    UnknownStandardError,
    _compose,
    _data_dir,
    _duplicate_keys,
    _kind,
    _line_of,
    _mapping_value,
    get_standard,
)

__all__ = [
    "MATCHING_RELATIONSHIPS",
    "RELATIONSHIPS",
    "MappingEntry",
    "MappingSet",
    "UnknownMappingError",
    "bundled_mappings",
    "compose",
    "dump_mapping_yaml",
    "find_mapping",
    "load_mapping",
    "parse_mapping",
    "parse_mapping_csv",
]

RELATIONSHIPS = ("equal", "subset", "superset", "intersect", "not_related")
#: relationships under which a source clause lives on in the target clause
MATCHING_RELATIONSHIPS = frozenset({"equal", "subset", "superset", "intersect"})
_INVERSE = {"equal": "equal", "subset": "superset", "superset": "subset", "intersect": "intersect"} | {
    "not_related": "not_related"
}
MAPPING_KEYS = ("source", "target", "description", "entries")
SIDE_KEYS = ("identifier", "urn")
ENTRY_KEYS = ("source", "target", "relationship", "note", "changed")
MAX_NOTE_LENGTH = 500
#: the most entries a mapping set may hold (the 2008 → 2015 correlation has about 120)
MAX_ENTRIES = 5000
CSV_COLUMNS = ("source", "target", "relationship", "changed", "note")


class UnknownMappingError(UnknownStandardError):
    """No mapping set relates these two standards."""


@dataclass(frozen=True)
class MappingEntry:
    """One relation between a clause of the source standard and a clause of the target."""

    #: None for a clause new in the target (``target`` is then the new clause)
    source: str | None
    #: None for a source clause with no counterpart in the target
    target: str | None
    relationship: str
    note: str = ""
    changed: bool = False

    @property
    def matches(self) -> bool:
        """Whether the source clause lives on in the target clause (anything but not_related)."""
        return self.relationship in MATCHING_RELATIONSHIPS and self.source is not None and self.target is not None


@dataclass(frozen=True)
class MappingSet:
    """The relations from the clauses of ``source`` to those of ``target``."""

    source_identifier: str
    source_urn: str
    target_identifier: str
    target_urn: str
    entries: tuple[MappingEntry, ...]
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "entries", tuple(self.entries))

    def targets_of(self, number: str) -> tuple[MappingEntry, ...]:
        """Entries whose source is clause ``number``."""
        return tuple(entry for entry in self.entries if entry.source == number)

    def sources_of(self, number: str) -> tuple[MappingEntry, ...]:
        """Entries whose target is clause ``number``."""
        return tuple(entry for entry in self.entries if entry.target == number)

    def reversed(self) -> MappingSet:
        """The same relations read from target to source (subset and superset swap)."""
        return MappingSet(
            source_identifier=self.target_identifier,
            source_urn=self.target_urn,
            target_identifier=self.source_identifier,
            target_urn=self.source_urn,
            entries=tuple(
                MappingEntry(e.target, e.source, _INVERSE[e.relationship], e.note, e.changed) for e in self.entries
            ),
            description=self.description,
        )


# --------------------------------------------------------------------------- parsing


def _number(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def parse_mapping(
    text: str,
    *,
    source: str | None = None,
    resolve: Callable[[str], Standard] | None = None,
) -> MappingSet:
    """Build a MappingSet from YAML text; StandardError lists every problem with its line.

    ``resolve`` finds a standard by identifier (bundled standards by default) so that clause
    numbers, identifiers and URNs can be checked against both standards.
    """
    resolve = resolve or get_standard
    data, node = _compose(text, source)
    if not isinstance(data, Mapping) or not isinstance(node, yaml.MappingNode):
        raise StandardError([f"a mapping set must be a mapping with the keys {', '.join(MAPPING_KEYS)}"], source)

    def line(key_node: yaml.Node | None) -> str:
        return f"line {key_node.start_mark.line + 1}: " if key_node is not None else ""

    key_lines = {k.value: k for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
    errors = [f"line {n}: duplicate key {k!r}" for n, k in _duplicate_keys(node)]
    errors += [f"missing required key {key!r}" for key in ("source", "target", "entries") if key not in data]
    errors += [
        f"{line(key_lines.get(key))}unknown key {key!r} (allowed: {', '.join(MAPPING_KEYS)})"
        for key in data
        if key not in MAPPING_KEYS
    ]
    if "description" in data and not isinstance(data["description"], str):
        errors.append(f"{line(key_lines.get('description'))}description must be a string")

    standards: dict[str, Standard | None] = {}
    for side in ("source", "target"):
        if side not in data:
            standards[side] = None
            continue
        at = line(key_lines.get(side))
        value = data[side]
        if not isinstance(value, Mapping) or set(value) != set(SIDE_KEYS):
            errors.append(f"{at}{side} must be a mapping with the keys identifier and urn, not {value!r}")
            standards[side] = None
            continue
        identifier = value["identifier"]
        if not isinstance(identifier, str) or not IDENTIFIER_RE.fullmatch(identifier):
            errors.append(f"{at}{side} identifier {identifier!r} must be lowercase letters and digits joined by '-'")
            standards[side] = None
            continue
        try:
            standard = resolve(identifier)
        except (UnknownStandardError, StandardError) as exc:
            errors.append(f"{at}{side} identifier {identifier!r}: {exc}")
            standards[side] = None
            continue
        if value["urn"] != standard.urn:
            errors.append(f"{at}{side} urn {value['urn']!r} is not the urn of {identifier} ({standard.urn!r})")
        standards[side] = standard
    if (
        standards.get("source") is not None
        and standards.get("target") is not None
        and standards["source"].identifier == standards["target"].identifier
    ):
        errors.append(f"{line(key_lines.get('target'))}target must be another standard than source")

    entries: list[MappingEntry] = []
    entries_node = _mapping_value(node, "entries")
    raw_entries = data.get("entries")
    if "entries" in data and not isinstance(raw_entries, list):
        errors.append(f"{line(key_lines.get('entries'))}entries must be a list, not {_kind(raw_entries)}")
    elif isinstance(raw_entries, list) and len(raw_entries) > MAX_ENTRIES:
        errors.append(f"{line(key_lines.get('entries'))}entries: more than {MAX_ENTRIES} entries")
    elif isinstance(raw_entries, list) and isinstance(entries_node, yaml.SequenceNode):
        seen: dict[tuple[str | None, str | None], int] = {}
        for index, (item_node, raw) in enumerate(zip(entries_node.value, raw_entries, strict=True)):
            at = f"line {item_node.start_mark.line + 1}: entry #{index + 1}"
            entry_errors, entry = _entry(raw, at, standards)
            errors += entry_errors
            errors += [f"line {n}: entry #{index + 1}: duplicate key {k!r}" for n, k in _duplicate_keys(item_node)]
            if entry is not None:
                pair = (entry.source, entry.target)
                if pair in seen:
                    errors.append(
                        f"{at}: {pair[0] or '(new)'} → {pair[1] or '(none)'} is already mapped (line {seen[pair]})"
                    )
                else:
                    seen[pair] = item_node.start_mark.line + 1
                    entries.append(entry)
    if errors:
        raise StandardError(sorted(errors, key=_line_of), source)
    return MappingSet(
        source_identifier=data["source"]["identifier"],
        source_urn=data["source"]["urn"],
        target_identifier=data["target"]["identifier"],
        target_urn=data["target"]["urn"],
        entries=tuple(entries),
        description=(data.get("description") or "").strip(),
    )


def _entry(raw: Any, at: str, standards: Mapping[str, Standard | None]) -> tuple[list[str], MappingEntry | None]:
    if not isinstance(raw, Mapping):
        return [f"{at}: must be a mapping with 'source', 'target' and 'relationship'"], None
    errors = [f"{at}: unknown key {key!r} (allowed: {', '.join(ENTRY_KEYS)})" for key in raw if key not in ENTRY_KEYS]
    numbers: dict[str, str | None] = {}
    if raw.get("source") is None and raw.get("target") is None:
        errors.append(f"{at}: give a source clause, a target clause or both")
    for side in ("source", "target"):
        if raw.get(side) is None:  # a clause new in the target, or one with no counterpart
            numbers[side] = None
            continue
        number = _number(raw[side])
        standard = standards.get(side)
        if number is None:
            errors.append(f"{at}: {side} must be a quoted clause number such as '7.5.1', not {raw[side]!r}")
        elif standard is not None and not standard.has_clause(number):
            errors.append(f"{at}: {side} clause {number!r} is not in {standard.identifier}")
        numbers[side] = number
    one_sided = raw.get("source") is None or raw.get("target") is None
    relationship = raw.get("relationship", "not_related" if one_sided else None)
    if relationship not in RELATIONSHIPS:
        errors.append(f"{at}: relationship {relationship!r} must be one of: {', '.join(RELATIONSHIPS)}")
    elif one_sided and relationship != "not_related" and (raw.get("source"), raw.get("target")) != (None, None):
        errors.append(f"{at}: an entry with only a source or only a target clause has the relationship not_related")
    note = raw.get("note", "")
    if not isinstance(note, str) or "\n" in note or "\x00" in note or len(note) > MAX_NOTE_LENGTH:
        errors.append(f"{at}: note must be a single line of at most {MAX_NOTE_LENGTH} characters")
    changed = raw.get("changed", False)
    if not isinstance(changed, bool):
        errors.append(f"{at}: changed must be true or false, not {changed!r}")
    if errors:
        return errors, None
    return [], MappingEntry(numbers["source"], numbers["target"], relationship, note.strip(), changed)


# --------------------------------------------------------------------------- CSV


def parse_mapping_csv(
    text: str,
    *,
    source_identifier: str,
    target_identifier: str,
    description: str = "",
    source: str | None = None,
    resolve: Callable[[str], Standard] | None = None,
) -> MappingSet:
    """A MappingSet from CSV with the header ``source,target,relationship,changed,note``.

    The two standards are named by the caller; ``changed`` is ``yes``/``no`` (or true/false,
    1/0, blank for no); a blank source or target is a clause new in the target or one with no
    counterpart. StandardError lists every problem as ``line N, column 'name': ...``.
    """
    resolve = resolve or get_standard
    errors: list[str] = []
    standards: dict[str, Standard | None] = {}
    for side, identifier in (("source", source_identifier), ("target", target_identifier)):
        if not isinstance(identifier, str) or not IDENTIFIER_RE.fullmatch(identifier):
            errors.append(f"{side} standard {identifier!r} must be lowercase letters and digits joined by '-'")
            standards[side] = None
            continue
        try:
            standards[side] = resolve(identifier)
        except (UnknownStandardError, StandardError) as exc:
            errors.append(f"{side} standard {identifier!r}: {exc}")
            standards[side] = None
    if source_identifier == target_identifier:
        errors.append("the target standard must be another standard than the source")
    if errors:
        raise StandardError(errors, source)
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise StandardError([f"line 1: invalid CSV: {exc}"], source) from exc
    if header is None or not any(cell.strip() for cell in header):
        raise StandardError(["line 1: missing header row (expected: " + ",".join(CSV_COLUMNS) + ")"], source)
    columns = [cell.strip().lower() for cell in header]
    errors += [
        f"line 1, column {name!r}: unknown column (allowed: {', '.join(CSV_COLUMNS)})"
        for name in columns
        if name not in CSV_COLUMNS
    ]
    errors += [f"line 1, column {name!r}: repeated column" for i, name in enumerate(columns) if name in columns[:i]]
    errors += [
        f"line 1: missing required column {name!r}"
        for name in ("source", "target", "relationship")
        if name not in columns
    ]
    if errors:
        raise StandardError(errors, source)
    entries: list[MappingEntry] = []
    seen: dict[tuple[str | None, str | None], int] = {}
    previous_end = reader.line_num
    try:
        for row in reader:
            line = previous_end + 1
            previous_end = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(entries) >= MAX_ENTRIES:
                errors.append(f"line {line}: more than {MAX_ENTRIES} entries")
                break
            if len(row) > len(columns):
                errors.append(f"line {line}: {len(row)} cells but the header names {len(columns)} columns")
                continue
            cells = dict(zip(columns, (cell.strip() for cell in row), strict=False))
            row_errors, entry = _csv_entry(cells, line, standards)
            errors += row_errors
            if entry is not None:
                pair = (entry.source, entry.target)
                if pair in seen:
                    shown = f"{pair[0] or '(new)'} → {pair[1] or '(none)'}"
                    errors.append(f"line {line}: {shown} is already mapped (line {seen[pair]})")
                else:
                    seen[pair] = line
                    entries.append(entry)
    except csv.Error as exc:
        errors.append(f"line {reader.line_num}: invalid CSV: {exc}")
    if not entries and not errors:
        errors.append("line 2: no entries after the header")
    if errors:
        raise StandardError(sorted(errors, key=_line_of), source)
    assert standards["source"] is not None and standards["target"] is not None
    return MappingSet(
        source_identifier=standards["source"].identifier,
        source_urn=standards["source"].urn,
        target_identifier=standards["target"].identifier,
        target_urn=standards["target"].urn,
        entries=tuple(entries),
        description=description.strip(),
    )


_TRUE = ("yes", "y", "true", "1", "x")
_FALSE = ("", "no", "n", "false", "0")


def _csv_entry(
    cells: Mapping[str, str], line: int, standards: Mapping[str, Standard | None]
) -> tuple[list[str], MappingEntry | None]:
    def at(column: str) -> str:
        return f"line {line}, column {column!r}"

    errors: list[str] = []
    numbers: dict[str, str | None] = {}
    for side in ("source", "target"):
        number = cells.get(side, "")
        standard = standards[side]
        if not number:
            numbers[side] = None
        elif standard is not None and not standard.has_clause(number):
            errors.append(f"{at(side)}: clause {number!r} is not in {standard.identifier}")
            numbers[side] = None
        else:
            numbers[side] = number
    if not cells.get("source") and not cells.get("target"):
        errors.append(f"{at('source')}: give a source clause, a target clause or both")
    one_sided = not cells.get("source") or not cells.get("target")
    relationship = cells.get("relationship", "") or ("not_related" if one_sided else "")
    if relationship not in RELATIONSHIPS:
        errors.append(f"{at('relationship')}: {relationship!r} must be one of: {', '.join(RELATIONSHIPS)}")
    elif one_sided and relationship != "not_related":
        errors.append(f"{at('relationship')}: an entry with only a source or only a target clause is not_related")
    changed_text = cells.get("changed", "").lower()
    if changed_text not in _TRUE + _FALSE:
        errors.append(f"{at('changed')}: {cells.get('changed')!r} must be yes or no")
    note = cells.get("note", "")
    if len(note) > MAX_NOTE_LENGTH or "\n" in note or "\r" in note or "\x00" in note:
        errors.append(f"{at('note')}: must be a single line of at most {MAX_NOTE_LENGTH} characters")
    if errors:
        return errors, None
    return [], MappingEntry(numbers["source"], numbers["target"], relationship, note, changed_text in _TRUE)


def dump_mapping_yaml(mapping: MappingSet) -> str:
    """The canonical YAML form of a mapping set; ``parse_mapping`` reads it back."""
    head: dict[str, Any] = {
        "source": {"identifier": mapping.source_identifier, "urn": mapping.source_urn},
        "target": {"identifier": mapping.target_identifier, "urn": mapping.target_urn},
    }
    if mapping.description:
        head["description"] = mapping.description
    entries = []
    for e in mapping.entries:
        entry: dict[str, Any] = {}
        if e.source is not None:
            entry["source"] = e.source
        if e.target is not None:
            entry["target"] = e.target
        entry["relationship"] = e.relationship
        if e.changed:
            entry["changed"] = True
        if e.note:
            entry["note"] = e.note
        entries.append(entry)
    dump = functools.partial(yaml.safe_dump, sort_keys=False, allow_unicode=True, width=1000)
    return dump(head) + dump({"entries": entries})


# --------------------------------------------------------------------------- loading


def _mappings_dir():  # -> Traversable
    return _data_dir() / "mappings"


@functools.cache
def _load_bundled(source_identifier: str, target_identifier: str) -> MappingSet | None:
    if not (IDENTIFIER_RE.fullmatch(source_identifier) and IDENTIFIER_RE.fullmatch(target_identifier)):
        return None
    name = f"{source_identifier}--{target_identifier}.yaml"
    resource = _mappings_dir() / name
    if not resource.is_file():
        return None
    mapping = parse_mapping(resource.read_text(encoding="utf-8"), source=f"standards/data/mappings/{name}")
    if (mapping.source_identifier, mapping.target_identifier) != (source_identifier, target_identifier):
        raise StandardError(["source and target do not match the file name"], f"standards/data/mappings/{name}")
    return mapping


def _compose_relationship(first: str, second: str) -> str:
    if first == "equal":
        return second
    if second == "equal" or first == second:
        return first
    return "intersect"


def compose(first: MappingSet, second: MappingSet) -> MappingSet:
    """``first`` (A → B) followed by ``second`` (B → C) as one set A → C.

    A clause of A reaches C through every clause of B it maps to; a content change on either
    leg counts, and both legs' notes are kept. Clauses new in C (entries of ``second`` without
    a source) and clauses of A with no counterpart in B (entries of ``first`` without a target)
    carry over with their notes.
    """
    if first.target_identifier != second.source_identifier:
        raise ValueError(f"cannot chain {first.target_identifier} → … with {second.source_identifier} → …")
    entries: dict[tuple[str | None, str | None], MappingEntry] = {}

    def add(entry: MappingEntry) -> None:
        key = (entry.source, entry.target)
        before = entries.get(key)
        if before is None:
            entries[key] = entry
            return
        notes = "; ".join(dict.fromkeys(n for n in (before.note, entry.note) if n))
        entries[key] = MappingEntry(
            entry.source,
            entry.target,
            _compose_relationship(before.relationship, entry.relationship)
            if before.relationship != entry.relationship
            else entry.relationship,
            notes[:MAX_NOTE_LENGTH],
            before.changed or entry.changed,
        )

    for a in first.entries:
        if a.target is None or not a.matches:
            if a.source is not None:
                add(MappingEntry(a.source, None, "not_related", a.note, a.changed))
            continue
        onward = [b for b in second.targets_of(a.target)]
        for b in onward:
            if not b.matches:
                add(MappingEntry(a.source, None, "not_related", b.note or a.note, True))
                continue
            notes = "; ".join(dict.fromkeys(n for n in (a.note, b.note) if n))
            add(
                MappingEntry(
                    a.source,
                    b.target,
                    _compose_relationship(a.relationship, b.relationship),
                    notes[:MAX_NOTE_LENGTH],
                    a.changed or b.changed,
                )
            )
    for b in second.entries:
        if b.source is None:
            add(b)
    return MappingSet(
        source_identifier=first.source_identifier,
        source_urn=first.source_urn,
        target_identifier=second.target_identifier,
        target_urn=second.target_urn,
        entries=tuple(entries.values()),
        description=f"{first.source_identifier} → {first.target_identifier} → {second.target_identifier}, composed",
    )


Lookup = Callable[[str, str], "MappingSet | None"]


def find_mapping(
    source_identifier: str,
    target_identifier: str,
    *,
    lookup: Lookup | None = None,
    pivots: tuple[str, ...] | None = None,
) -> MappingSet | None:
    """The mapping set from one standard to another; None if none.

    ``lookup`` finds a set stored one way (the bundled ones by default); a set stored the other
    way round is read backwards; failing both, two sets are chained through one of ``pivots``
    (by default every standard a bundled set starts or ends at; ``()`` chains nothing), e.g.
    2015 → 2015/Amd 1:2024 → 2026.
    """
    if source_identifier == target_identifier:
        return None
    lookup = lookup or _load_bundled

    def direct(a: str, b: str) -> MappingSet | None:
        found = lookup(a, b)
        if found is None:
            backwards = lookup(b, a)
            found = backwards.reversed() if backwards is not None else None
        return found

    found = direct(source_identifier, target_identifier)
    if found is not None:
        return found
    for pivot in _bundled_pivots() if pivots is None else pivots:
        if pivot in (source_identifier, target_identifier):
            continue
        first = direct(source_identifier, pivot)
        second = direct(pivot, target_identifier) if first is not None else None
        if first is not None and second is not None:
            return compose(first, second)
    return None


@functools.cache
def _bundled_pivots() -> tuple[str, ...]:
    directory = _mappings_dir()
    if not directory.is_dir():
        return ()
    names: set[str] = set()
    for entry in directory.iterdir():
        if entry.is_file() and entry.name.endswith(".yaml"):
            names.update(entry.name.removesuffix(".yaml").split("--"))
    return tuple(sorted(names))


def load_mapping(source_identifier: str, target_identifier: str) -> MappingSet:
    """Like ``find_mapping`` but UnknownMappingError (a KeyError) when there is none."""
    found = find_mapping(source_identifier, target_identifier)
    if found is None:
        raise UnknownMappingError(f"no mapping set from {source_identifier!r} to {target_identifier!r}")
    return found


def bundled_mappings() -> list[MappingSet]:
    """Every mapping set shipped in ``standards/data/mappings``, sorted by file name."""
    directory = _mappings_dir()
    if not directory.is_dir():
        return []
    names = sorted(e.name for e in directory.iterdir() if e.is_file() and e.name.endswith(".yaml"))
    found = []
    for name in names:
        source_identifier, _, target_identifier = name.removesuffix(".yaml").partition("--")
        mapping = _load_bundled(source_identifier, target_identifier)
        if mapping is None:
            raise StandardError([f"mapping file name {name!r} must be <source>--<target>.yaml"], name)
        found.append(mapping)
    return found
