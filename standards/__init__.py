"""Standards as data: clause catalogues shipped as YAML, with a loader and a validator.

>>> iso = get_standard("iso-9001-2015")
>>> iso.clause("9.2").title
'Internal audit'
>>> iso.clause("9.2.1").urn
'urn:iso:std:9001:2015:clause:9.2.1'

Clause titles only: requirement text of a standard never goes into these files.
"""

from standards.catalogue import (
    Clause,
    Standard,
    StandardError,
    UnknownClauseError,
    UnknownStandardError,
    bundled_standards,
    get_standard,
    load_standard,
    parse_standard,
    validate_standard,
)

__all__ = [
    "Clause",
    "Standard",
    "StandardError",
    "UnknownClauseError",
    "UnknownStandardError",
    "bundled_standards",
    "get_standard",
    "load_standard",
    "parse_standard",
    "validate_standard",
]
