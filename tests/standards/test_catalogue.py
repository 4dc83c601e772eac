"""standards/: the bundled ISO 9001:2015 catalogue, the loader and the validator (no app needed)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

import standards
from standards import (
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

ROOT = Path(__file__).resolve().parents[2]
ISO_9001_FILE = ROOT / "standards" / "data" / "iso-9001-2015.yaml"

# Every clause number listed in QMS-REFERENCE.md section 1.
ISO_9001_NUMBERS = [
    number
    for line in (
        "4 4.1 4.2 4.3 4.4 4.4.1 4.4.2",
        "5 5.1 5.1.1 5.1.2 5.2 5.2.1 5.2.2 5.3",
        "6 6.1 6.1.1 6.1.2 6.2 6.2.1 6.2.2 6.3",
        "7 7.1 7.1.1 7.1.2 7.1.3 7.1.4 7.1.5 7.1.5.1 7.1.5.2 7.1.6 7.2 7.3 7.4",
        "7.5 7.5.1 7.5.2 7.5.3 7.5.3.1 7.5.3.2",
        "8 8.1 8.2 8.2.1 8.2.2 8.2.3 8.2.3.1 8.2.3.2 8.2.4",
        "8.3 8.3.1 8.3.2 8.3.3 8.3.4 8.3.5 8.3.6 8.4 8.4.1 8.4.2 8.4.3",
        "8.5 8.5.1 8.5.2 8.5.3 8.5.4 8.5.5 8.5.6 8.6 8.7 8.7.1 8.7.2",
        "9 9.1 9.1.1 9.1.2 9.1.3 9.2 9.2.1 9.2.2 9.3 9.3.1 9.3.2 9.3.3",
        "10 10.1 10.2 10.2.1 10.2.2 10.3",
    )
    for number in line.split()
]
UNTITLED = [
    "4.4.1",
    "4.4.2",
    "6.1.1",
    "6.1.2",
    "6.2.1",
    "6.2.2",
    "7.5.3.1",
    "7.5.3.2",
    "8.2.3.1",
    "8.2.3.2",
    "8.7.1",
    "8.7.2",
    "9.2.1",
    "9.2.2",
    "10.2.1",
    "10.2.2",
]


@pytest.fixture(scope="module")
def iso() -> Standard:
    return get_standard("iso-9001-2015")


# --------------------------------------------------------------------------- bundled catalogue


def test_bundled_standards_finds_iso_9001(iso):
    found = bundled_standards()
    identifiers = [s.identifier for s in found]
    assert identifiers == sorted(identifiers) and "iso-9001-2015" in identifiers
    assert found[identifiers.index("iso-9001-2015")] is iso


def test_iso_9001_identity(iso):
    assert iso.identifier == "iso-9001-2015"
    assert iso.title == "ISO 9001 Quality management systems — Requirements"
    assert iso.edition == 2015
    assert iso.urn == "urn:iso:std:9001:2015"


def test_every_reference_clause_is_present_in_document_order(iso):
    assert [c.number for c in iso.clauses] == ISO_9001_NUMBERS
    assert len(iso.clauses) == 91


def test_main_clauses_and_first_level_counts(iso):
    assert [(c.number, c.title) for c in iso.children()] == [
        ("4", "Context of the organization"),
        ("5", "Leadership"),
        ("6", "Planning"),
        ("7", "Support"),
        ("8", "Operation"),
        ("9", "Performance evaluation"),
        ("10", "Improvement"),
    ]
    assert [len(iso.children(str(n))) for n in range(4, 11)] == [4, 3, 3, 5, 7, 3, 3]


@pytest.mark.parametrize(
    ("number", "title"),
    [
        ("4.1", "Understanding the organization and its context"),
        ("5.3", "Organizational roles, responsibilities and authorities"),
        ("6.3", "Planning of changes"),
        ("7.1.5", "Monitoring and measuring resources"),
        ("7.1.5.1", "General"),
        ("7.1.5.2", "Measurement traceability"),
        ("7.5.3", "Control of documented information"),
        ("8.4", "Control of externally provided processes, products and services"),
        ("8.5.3", "Property belonging to customers or external providers"),
        ("8.7", "Control of nonconforming outputs"),
        ("9.1", "Monitoring, measurement, analysis and evaluation"),
        ("9.2", "Internal audit"),
        ("9.3.2", "Management review inputs"),
        ("10.2", "Nonconformity and corrective action"),
        ("10.3", "Continual improvement"),
    ],
)
def test_clause_titles(iso, number, title):
    assert iso.clause(number).title == title


def test_untitled_sub_clauses(iso):
    assert [c.number for c in iso.clauses if c.untitled] == UNTITLED
    clause = iso.clause("9.2.1")
    assert clause.title == "" and clause.untitled and clause.label == "9.2.1"
    assert iso.clause("9.2").label == "9.2 Internal audit"


def test_titles_only_never_requirement_text(iso):
    for clause in iso.clauses:
        assert "\n" not in clause.title and len(clause.title) <= 80, clause.number
        assert not clause.title.endswith("."), clause.number


def test_parents_and_children(iso):
    assert iso.clause("4").parent is None
    assert iso.clause("7.1.5.1").parent == "7.1.5"
    assert iso.clause("10.2.2").parent == "10.2"
    assert [c.number for c in iso.children("7.1.5")] == ["7.1.5.1", "7.1.5.2"]
    assert [c.number for c in iso.children("7.1")] == ["7.1.1", "7.1.2", "7.1.3", "7.1.4", "7.1.5", "7.1.6"]
    assert [c.number for c in iso.children("8.7")] == ["8.7.1", "8.7.2"]
    assert iso.clause("7.1.5.2").depth == 4
    for clause in iso.clauses:
        if clause.parent is not None:
            assert clause.number.startswith(clause.parent + ".")
            assert clause in iso.children(clause.parent)


def test_clause_urns(iso):
    assert iso.clause("9.2.1").urn == "urn:iso:std:9001:2015:clause:9.2.1"
    assert iso.clause("10").urn == "urn:iso:std:9001:2015:clause:10"
    assert all(c.urn == f"urn:iso:std:9001:2015:clause:{c.number}" for c in iso.clauses)
    assert len({c.urn for c in iso.clauses}) == len(iso.clauses)
    assert "urn" not in ISO_9001_FILE.read_text(encoding="utf-8").split("clauses:")[1]


def test_unknown_clause_is_a_clear_key_error(iso):
    with pytest.raises(KeyError) as raised:
        iso.clause("11.1")
    assert isinstance(raised.value, UnknownClauseError)
    assert str(raised.value) == "iso-9001-2015 has no clause '11.1'"
    with pytest.raises(UnknownClauseError, match=r"no clause '4\.9'"):
        iso.children("4.9")
    assert iso.has_clause("7.1.5.2") and iso.has_clause(4)
    assert not iso.has_clause("7.1.5.3") and not iso.has_clause("")


def test_models_are_frozen(iso):
    with pytest.raises(dataclasses.FrozenInstanceError):
        iso.title = "changed"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        iso.clause("9.2").title = "changed"  # type: ignore[misc]
    assert isinstance(iso.clauses, tuple) and hash(iso) == hash(get_standard("iso-9001-2015"))


def test_standard_rejects_inconsistent_clauses():
    clause = Clause("1", "One", None, "urn:x:y:clause:1")
    with pytest.raises(ValueError, match="not unique"):
        Standard("x", "X", 1, "urn:x:y", (clause, clause))
    with pytest.raises(ValueError, match="parent clauses missing: 2"):
        Standard("x", "X", 1, "urn:x:y", (Clause("2.1", "A", "2", "urn:x:y:clause:2.1"),))


# --------------------------------------------------------------------------- loading


def test_get_standard_is_cached_and_unknown_is_a_key_error():
    assert get_standard("iso-9001-2015") is get_standard("iso-9001-2015")
    with pytest.raises(KeyError) as raised:
        get_standard("iso-9999-2015")
    assert isinstance(raised.value, UnknownStandardError)
    assert "iso-9999-2015" in str(raised.value) and "bundled: " in str(raised.value)
    assert "iso-9001-2015" in str(raised.value).partition("bundled: ")[2]


def test_load_by_identifier_and_from_a_path(iso, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # bundled data is found through the package, not the working directory
    assert load_standard("iso-9001-2015") == iso
    assert load_standard(ISO_9001_FILE) == iso
    assert load_standard(str(ISO_9001_FILE)) == iso
    copy = tmp_path / "my-copy.yaml"
    copy.write_text(ISO_9001_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    assert load_standard("my-copy.yaml") == iso  # a name with a dot is a path
    with pytest.raises(UnknownStandardError):
        load_standard("my-copy")  # a bare identifier names a bundled standard
    with pytest.raises(FileNotFoundError):
        load_standard(tmp_path / "missing.yaml")


def test_bundled_data_ships_as_package_data():
    from importlib import resources

    data = resources.files("standards") / "data"
    names = sorted(entry.name for entry in data.iterdir() if entry.name.endswith(".yaml"))
    assert "iso-9001-2015.yaml" in names
    assert (data / "mappings" / "iso-9001-2008--iso-9001-2015.yaml").is_file()
    assert "standards = data/*.yaml" in (ROOT / "setup.cfg").read_text(encoding="utf-8")


def test_standards_imports_neither_flask_nor_sqlalchemy():
    code = (
        "import sys, standards; standards.bundled_standards(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy')))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- validation

HEADER = """\
identifier: test-standard
title: Test standard
edition: 2020
urn: urn:test:std:1
clauses:
"""


def write(tmp_path: Path, clauses: str, header: str = HEADER) -> Path:
    path = tmp_path / "test-standard.yaml"
    path.write_text(header + textwrap.dedent(clauses), encoding="utf-8")
    return path


def errors_of(path: Path) -> list[str]:
    with pytest.raises(StandardError) as raised:
        load_standard(path)
    assert isinstance(raised.value, ValueError)
    assert raised.value.source == str(path)
    for message in raised.value.errors:
        assert message in str(raised.value)
    return raised.value.errors


def test_a_small_valid_file_loads(tmp_path):
    path = write(
        tmp_path,
        """\
          - {number: "1", parent: null, title: One}
          - {number: "1.1", parent: "1", untitled: true}
          - number: "1.2"
            parent: "1"
            title: Two
          - {number: 2, parent: null, title: Two}
        """,
    )
    standard = load_standard(path)
    assert [(c.number, c.title, c.parent) for c in standard.clauses] == [
        ("1", "One", None),
        ("1.1", "", "1"),
        ("1.2", "Two", "1"),
        ("2", "Two", None),
    ]
    assert standard.clause("1.2").urn == "urn:test:std:1:clause:1.2"


def test_duplicate_numbers_are_reported_with_line_numbers(tmp_path):
    path = write(
        tmp_path,
        """\
          - {number: "1", parent: null, title: One}
          - {number: "1.1", parent: "1", title: A}
          - {number: "1.1", parent: "1", title: B}
        """,
    )
    assert errors_of(path) == ["line 8: clause 1.1: duplicate clause number (first defined at line 7)"]


def test_bad_parents_are_reported_with_line_numbers(tmp_path):
    path = write(
        tmp_path,
        """\
          - {number: "1", parent: null, title: One}
          - {number: "2", parent: null, title: Two}
          - {number: "1.1", parent: "9", title: Missing parent}
          - {number: "1.2", parent: "2", title: Not a prefix}
          - {number: "1.3", parent: null, title: Sub-clause without parent}
          - {number: "3", parent: "1", title: Main clause with a parent}
          - {number: "1.1.1.1", parent: "1.1", title: Skips a level}
        """,
    )
    assert errors_of(path) == [
        "line 8: clause 1.1: parent '9' does not exist",
        "line 8: clause 1.1: parent '9' is not a prefix of the clause number (expected '1')",
        "line 9: clause 1.2: parent '2' is not a prefix of the clause number (expected '1')",
        "line 10: clause 1.3: parent is null but 1.3 is a sub-clause (expected parent '1')",
        "line 11: clause 3: a main clause must have parent null, not '1'",
        "line 12: clause 1.1.1.1: parent '1.1' is not the immediate parent (expected '1.1.1')",
    ]


def test_bad_number_format_is_reported_with_line_numbers(tmp_path):
    path = write(
        tmp_path,
        """\
          - {number: "1", parent: null, title: One}
          - {number: "1.a", parent: "1", title: Letter}
          - {number: "1..2", parent: "1", title: Empty part}
          - {number: "01.2", parent: "1", title: Leading zero}
          - {number: 1.3, parent: "1", title: Float}
          - {number: "1.4", parent: "1.x", title: Bad parent format}
          - {parent: "1", title: No number}
        """,
    )
    assert errors_of(path) == [
        "line 7: clause 1.a: number '1.a' is not a dotted numeric clause number such as '7.1.5'",
        "line 8: clause 1..2: number '1..2' is not a dotted numeric clause number such as '7.1.5'",
        "line 9: clause 01.2: number '01.2' is not a dotted numeric clause number such as '7.1.5'",
        "line 10: clause 1.3: number must be a quoted string such as '7.1.5', not float "
        "(write it quoted: YAML reads 10.10 as the float 10.1)",
        "line 11: clause 1.4: parent '1.x' is not a dotted numeric clause number",
        "line 12: clause entry #7: missing required key 'number'",
    ]


def test_parent_cycles_are_reported(tmp_path):
    path = write(
        tmp_path,
        """\
          - {number: "1", parent: null, title: One}
          - {number: "1.1", parent: "1.2", title: A}
          - {number: "1.2", parent: "1.1", title: B}
          - {number: "1.3", parent: "1.3", title: Self}
        """,
    )
    errors = errors_of(path)
    assert "line 7: clause 1.1: parent links form a cycle: 1.1 → 1.2 → 1.1" in errors
    assert "line 9: clause 1.3: is its own parent (expected '1')" in errors
    assert sum("cycle" in e for e in errors) == 1


def test_titles_keys_and_duplicate_yaml_keys_are_checked(tmp_path):
    path = write(
        tmp_path,
        """\
          - {number: "1", parent: null}
          - {number: "1.1", parent: "1", untitled: true, title: Both}
          - {number: "1.2", parent: "1", title: A, title: B}
          - number: "1.3"
            parent: "1"
            titel: Typo
          - {number: "1.4", title: No parent key}
          - {number: "1.5", parent: "1", title: "two\\nlines"}
        """,
    )
    assert errors_of(path) == [
        "line 6: clause 1: missing title (write 'untitled: true' for a sub-clause without one)",
        "line 7: clause 1.1: marked untitled but has a title",
        "line 8: clause 1.2: duplicate key 'title'",
        "line 9: clause 1.3: unknown key 'titel' (allowed: number, title, parent, untitled, questions)",
        "line 9: clause 1.3: missing title (write 'untitled: true' for a sub-clause without one)",
        "line 12: clause 1.4: missing required key 'parent' (null for a main clause)",
        "line 13: clause 1.5: title must be a single line (titles only, never requirement text)",
    ]


def test_top_level_keys_are_checked(tmp_path):
    header = "identifier: Not An Id\ntitle: ''\nedition: 20.15\nurn: iso 9001\nextra: 1\nclauses:\n"
    path = write(tmp_path, '  - {number: "1", parent: null, title: One}\n', header=header)
    assert errors_of(path) == [
        "line 1: identifier 'Not An Id' must be lowercase letters and digits joined by '-'",
        "line 2: title must be a non-empty string, not str",
        "line 3: edition must be a positive integer such as 2015, not 20.15",
        "line 4: urn 'iso 9001' must look like 'urn:iso:std:9001:2015'",
        "line 5: unknown key 'extra' (allowed: identifier, title, edition, urn, clauses, kind, description, "
        "amends, published)",
    ]


def test_invalid_yaml_is_a_standard_error_with_its_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("identifier: x\nclauses:\n  - {number: '1', parent: null\n  - {}\n", encoding="utf-8")
    errors = errors_of(path)
    assert len(errors) == 1 and errors[0].startswith("line 4: invalid YAML:")


def test_unsafe_yaml_tags_are_refused(tmp_path):
    path = write(tmp_path, '  - {number: "1", parent: null, title: !!python/object/apply:os.getcwd []}\n')
    errors = errors_of(path)
    assert len(errors) == 1 and "invalid YAML" in errors[0] and "python/object/apply" in errors[0]


def test_validate_standard_on_plain_data():
    data = {
        "identifier": "plain",
        "title": "Plain",
        "edition": 1,
        "urn": "urn:x:plain",
        "clauses": [
            {"number": "1", "parent": None, "title": "One"},
            {"number": "1", "parent": None, "title": "Again"},
            {"number": "1.1", "parent": "2", "title": "A"},
        ],
    }
    assert validate_standard(data) == [
        "clause 1: duplicate clause number (first defined at entry #1)",
        "clause 1.1: parent '2' does not exist",
        "clause 1.1: parent '2' is not a prefix of the clause number (expected '1')",
    ]
    assert validate_standard(data, clause_lines=[10, 11, 12])[0] == (
        "line 11: clause 1: duplicate clause number (first defined at line 10)"
    )
    assert validate_standard({}) == [
        f"missing required key {k!r}" for k in ("identifier", "title", "edition", "urn")
    ] + ["missing required key 'clauses'"]
    assert validate_standard([]) == [
        "a standard must be a mapping with the keys identifier, title, edition, urn, clauses, not list"
    ]
    assert validate_standard({**data, "clauses": []}) == ["clauses must be a non-empty list, not empty"]
    assert validate_standard({**data, "clauses": ["4.1"]}) == [
        "clause entry #1: must be a mapping with 'number', 'title' and 'parent'"
    ]


def test_bundled_data_is_valid_and_parse_standard_matches(iso):
    text = ISO_9001_FILE.read_text(encoding="utf-8")
    assert parse_standard(text) == iso
    assert standards.validate_standard(yaml.safe_load(text)) == []
