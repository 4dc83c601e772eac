"""Standards as data: clause catalogues shipped as YAML, with a loader, a validator and a differ.

>>> iso = get_standard("iso-9001-2015")
>>> iso.clause("9.2").title
'Internal audit'
>>> iso.clause("9.2.1").urn
'urn:iso:std:9001:2015:clause:9.2.1'
>>> diff = diff_standards(iso, get_standard("iso-9001-2015-amd1-2024"),
...                       load_mapping("iso-9001-2015", "iso-9001-2015-amd1-2024"))
>>> [change.new.number for change in diff.changed]
['4.1', '4.2']

Clause titles only: requirement text of a standard never goes into these files; checklist
questions are our own words.
"""

from standards.catalogue import (
    KINDS,
    Clause,
    Standard,
    StandardError,
    UnknownClauseError,
    UnknownStandardError,
    bundled_standards,
    dump_standard_yaml,
    get_standard,
    load_standard,
    parse_standard,
    parse_standard_csv,
    validate_standard,
)
from standards.differ import ClauseChange, ClauseRef, StandardDiff, diff_standards, normalise_title
from standards.mappings import (
    RELATIONSHIPS,
    MappingEntry,
    MappingSet,
    UnknownMappingError,
    bundled_mappings,
    find_mapping,
    load_mapping,
    parse_mapping,
)

__all__ = [
    "KINDS",
    "RELATIONSHIPS",
    "Clause",
    "ClauseChange",
    "ClauseRef",
    "MappingEntry",
    "MappingSet",
    "Standard",
    "StandardDiff",
    "StandardError",
    "UnknownClauseError",
    "UnknownMappingError",
    "UnknownStandardError",
    "bundled_mappings",
    "bundled_standards",
    "diff_standards",
    "dump_standard_yaml",
    "find_mapping",
    "get_standard",
    "load_mapping",
    "load_standard",
    "normalise_title",
    "parse_mapping",
    "parse_standard",
    "parse_standard_csv",
    "validate_standard",
]
