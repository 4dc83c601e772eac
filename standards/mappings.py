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
Clause numbers are checked against both standards; every error names its line.
"""

from __future__ import annotations

import functools
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
    "find_mapping",
    "load_mapping",
    "parse_mapping",
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


class UnknownMappingError(UnknownStandardError):
    """No mapping set relates these two standards."""


@dataclass(frozen=True)
class MappingEntry:
    """One relation between a clause of the source standard and a clause of the target."""

    source: str
    target: str
    relationship: str
    note: str = ""
    changed: bool = False

    @property
    def matches(self) -> bool:
        """Whether the source clause lives on in the target clause (anything but not_related)."""
        return self.relationship in MATCHING_RELATIONSHIPS


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
    elif isinstance(raw_entries, list) and isinstance(entries_node, yaml.SequenceNode):
        seen: dict[tuple[str, str], int] = {}
        for index, (item_node, raw) in enumerate(zip(entries_node.value, raw_entries, strict=True)):
            at = f"line {item_node.start_mark.line + 1}: entry #{index + 1}"
            entry_errors, entry = _entry(raw, at, standards)
            errors += entry_errors
            errors += [f"line {n}: entry #{index + 1}: duplicate key {k!r}" for n, k in _duplicate_keys(item_node)]
            if entry is not None:
                pair = (entry.source, entry.target)
                if pair in seen:
                    errors.append(f"{at}: {pair[0]} → {pair[1]} is already mapped (line {seen[pair]})")
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
    for side in ("source", "target"):
        if side not in raw:
            errors.append(f"{at}: missing required key {side!r}")
            numbers[side] = None
            continue
        number = _number(raw[side])
        standard = standards.get(side)
        if number is None:
            errors.append(f"{at}: {side} must be a quoted clause number such as '7.5.1', not {raw[side]!r}")
        elif standard is not None and not standard.has_clause(number):
            errors.append(f"{at}: {side} clause {number!r} is not in {standard.identifier}")
        numbers[side] = number
    relationship = raw.get("relationship")
    if relationship not in RELATIONSHIPS:
        errors.append(f"{at}: relationship {relationship!r} must be one of: {', '.join(RELATIONSHIPS)}")
    note = raw.get("note", "")
    if not isinstance(note, str) or "\n" in note or len(note) > MAX_NOTE_LENGTH:
        errors.append(f"{at}: note must be a single line of at most {MAX_NOTE_LENGTH} characters")
    changed = raw.get("changed", False)
    if not isinstance(changed, bool):
        errors.append(f"{at}: changed must be true or false, not {changed!r}")
    if errors:
        return errors, None
    return [], MappingEntry(numbers["source"], numbers["target"], relationship, note.strip(), changed)


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


def find_mapping(source_identifier: str, target_identifier: str) -> MappingSet | None:
    """The bundled mapping set from one standard to another (a reverse one read backwards); None if none."""
    found = _load_bundled(source_identifier, target_identifier)
    if found is None:
        backwards = _load_bundled(target_identifier, source_identifier)
        found = backwards.reversed() if backwards is not None else None
    return found


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
