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

from standards.bodies import (
    NC_SEVERITIES,
    RULE_SOURCES,
    AuditProgrammeRules,
    CertificationBody,
    CertificationBodyError,
    CycleRule,
    SeverityGrade,
    UnknownBodyError,
    UnknownGradeError,
    body_from_dict,
    body_to_dict,
    bundled_bodies,
    cycle_rules,
    get_body,
    parse_bodies,
    validate_body_dict,
)
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
from standards.cycle import (
    CycleDates,
    Reminder,
    add_months,
    cycle_dates,
    next_deadline,
    recertified_cycle,
    reminders,
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
    "NC_SEVERITIES",
    "RELATIONSHIPS",
    "RULE_SOURCES",
    "AuditProgrammeRules",
    "CertificationBody",
    "CertificationBodyError",
    "Clause",
    "ClauseChange",
    "ClauseRef",
    "CycleDates",
    "CycleRule",
    "MappingEntry",
    "MappingSet",
    "Reminder",
    "SeverityGrade",
    "Standard",
    "StandardDiff",
    "StandardError",
    "UnknownBodyError",
    "UnknownClauseError",
    "UnknownGradeError",
    "UnknownMappingError",
    "UnknownStandardError",
    "add_months",
    "body_from_dict",
    "body_to_dict",
    "bundled_bodies",
    "bundled_mappings",
    "bundled_standards",
    "cycle_dates",
    "cycle_rules",
    "diff_standards",
    "dump_standard_yaml",
    "find_mapping",
    "get_body",
    "get_standard",
    "load_mapping",
    "load_standard",
    "next_deadline",
    "normalise_title",
    "parse_bodies",
    "parse_mapping",
    "parse_standard",
    "parse_standard_csv",
    "recertified_cycle",
    "reminders",
    "validate_body_dict",
    "validate_standard",
]
