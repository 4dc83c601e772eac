"""ISO 9001:2026 as data, the curated mapping from 2015/Amd 1:2024, and the corrected 2015 and 2008 data.

Each correction of issue 18 has a test here that pins the corrected fact.
"""

from __future__ import annotations

import pytest

from standards import StandardError, diff_standards, find_mapping, get_standard
from standards.mappings import compose, dump_mapping_yaml, parse_mapping, parse_mapping_csv

SUB_CLAUSES = ("7.5.3.1", "7.5.3.2", "8.2.3.1", "8.2.3.2", "8.7.1", "8.7.2")


# --------------------------------------------------------------------------- corrections


@pytest.mark.parametrize("identifier", ["iso-9001-2015", "iso-9001-2015-amd1-2024", "iso-9001-2026"])
def test_the_untitled_sub_clauses_are_catalogued_with_questions(identifier):
    standard = get_standard(identifier)
    for number in SUB_CLAUSES:
        clause = standard.clause(number)
        assert clause.untitled and clause.parent == number.rpartition(".")[0]
        assert clause.questions, number  # auditors can ask against it
    assert [c.number for c in standard.children("7.5.3")] == ["7.5.3.1", "7.5.3.2"]


def test_the_amendment_mapping_maps_the_sub_clauses():
    mapping = find_mapping("iso-9001-2015", "iso-9001-2015-amd1-2024")
    for number in SUB_CLAUSES:
        assert [(e.target, e.relationship) for e in mapping.targets_of(number)] == [(number, "equal")]
    diff = diff_standards(get_standard("iso-9001-2015"), get_standard("iso-9001-2015-amd1-2024"), mapping)
    assert [c.new.number for c in diff.changed] == ["4.1", "4.2"] and not diff.added and not diff.removed


def test_the_2008_to_2015_mapping_follows_the_iso_matrix():
    mapping = find_mapping("iso-9001-2008", "iso-9001-2015")
    targets = {source: {e.target for e in mapping.targets_of(source)} for source in ("6.1", "6.2.1", "5.4.2", "4.2.2")}
    assert "7.1.2" in targets["6.1"]  # provision of resources → people
    assert targets["6.2.1"] == {"7.2"}  # human resources, general → competence (not 7.1.2)
    assert "7.1.2" not in {e.target for e in mapping.targets_of("6.2")}
    assert "5.3" in targets["5.4.2"]
    assert {"7.5.1", "4.4", "4.3"} <= targets["4.2.2"]
    diff = diff_standards(get_standard("iso-9001-2008"), get_standard("iso-9001-2015"), mapping)
    assert [c.new.number for c in diff.added] == ["4.1", "4.2", "7.1.6"]  # the new sub-clauses are mapped too


def test_the_amendment_asks_for_a_determination_not_a_record():
    questions = " ".join(get_standard("iso-9001-2015-amd1-2024").clause("4.1").questions)
    assert "determined whether climate change is a relevant issue" in questions
    assert "recorded" not in questions and "record" not in questions


# --------------------------------------------------------------------------- the 2026 edition


def test_the_2026_edition_has_the_announced_structure():
    iso = get_standard("iso-9001-2026")
    assert (iso.identifier, iso.edition, iso.urn) == ("iso-9001-2026", 2026, "urn:iso:std:9001:2026")
    assert iso.clause("3").title == "Terms and definitions"
    assert [c.label for c in iso.children("6.1")] == [
        "6.1.1 General",
        "6.1.2 Actions to address risks",
        "6.1.3 Actions to address opportunities",
    ]
    assert iso.clause("5.2").title == "Quality policy"
    culture = " ".join(iso.clause("5.1.1").questions + iso.clause("7.3").questions)
    assert "quality culture" in culture and "ethical behaviour" in culture
    assert "strategic direction" in " ".join(iso.clause("4.1").questions)
    assert "climate change" in " ".join(iso.clause("4.1").questions)
    assert all(q.endswith("?") for _, q in iso.questions())


def test_the_curated_mapping_marks_every_announced_change_with_a_note():
    mapping = find_mapping("iso-9001-2015-amd1-2024", "iso-9001-2026")
    changed = {e.target: e.note for e in mapping.entries if e.changed}
    for number in ("4.1", "4.2", "5.1.1", "6.1", "6.1.2", "6.1.3", "6.3", "7.1.4", "7.3"):
        assert changed.get(number), number
    assert "quality culture and ethical behaviour" in changed["5.1.1"]
    assert "strategic direction" in changed["4.1"] and "climate" in changed["4.1"]
    new = [e for e in mapping.entries if e.source is None]
    assert [(e.target, e.relationship) for e in new] == [("3", "not_related")] and "clause 3" in new[0].note


def test_the_differ_sees_what_matters_from_2015_through_the_amendment():
    """Without the mapping the differ sees titles only; with it (chained through the amendment) the real changes."""
    old, new = get_standard("iso-9001-2015"), get_standard("iso-9001-2026")
    blind = diff_standards(old, new)
    assert "5.1.1" not in {c.new.number for c in blind.changes if c.new}
    mapping = find_mapping("iso-9001-2015", "iso-9001-2026")
    assert mapping is not None and mapping.source_identifier == "iso-9001-2015"
    diff = diff_standards(old, new, mapping)
    changed = {c.new.number: c for c in diff.changed}
    assert {"5.1.1", "6.1.2", "6.1.3", "6.3", "7.3"} <= set(changed)
    assert "Amd 1:2024" in changed["4.1"].note and "strategic direction" in changed["4.1"].note
    assert [c.new.number for c in diff.added] == ["3"] and "clause 3" in diff.added[0].description
    assert ("6.1.2", "6.1.3") in {(c.old.number, c.new.number) for c in diff.moved}
    assert not diff.removed


def test_composing_keeps_both_legs_and_the_new_clauses():
    first = find_mapping("iso-9001-2015", "iso-9001-2015-amd1-2024")
    second = find_mapping("iso-9001-2015-amd1-2024", "iso-9001-2026")
    both = compose(first, second)
    assert (both.source_identifier, both.target_identifier) == ("iso-9001-2015", "iso-9001-2026")
    entry = next(e for e in both.entries if (e.source, e.target) == ("6.1.2", "6.1.3"))
    assert entry.relationship == "superset" and entry.changed
    with pytest.raises(ValueError):
        compose(second, first)
    assert find_mapping("iso-9001-2015", "iso-9001-2015") is None


# --------------------------------------------------------------------------- mapping sets from CSV


CSV = """source,target,relationship,changed,note
4.1,4.1,equal,yes,Climate and strategic direction
5.1.1,5.1.1,equal,yes,Quality culture
,3,,,Definitions now in clause 3
"""


def test_a_mapping_set_reads_from_csv_and_round_trips_as_yaml():
    mapping = parse_mapping_csv(CSV, source_identifier="iso-9001-2015", target_identifier="iso-9001-2026")
    assert [(e.source, e.target, e.relationship, e.changed) for e in mapping.entries] == [
        ("4.1", "4.1", "equal", True),
        ("5.1.1", "5.1.1", "equal", True),
        (None, "3", "not_related", False),
    ]
    again = parse_mapping(dump_mapping_yaml(mapping))
    assert again == mapping


def csv_errors(text: str, **kw) -> list[str]:
    kw = {"source_identifier": "iso-9001-2015", "target_identifier": "iso-9001-2026"} | kw
    with pytest.raises(StandardError) as caught:
        parse_mapping_csv(text, **kw)
    return caught.value.errors


def test_csv_errors_name_the_line_and_column():
    assert csv_errors("") == ["line 1: missing header row (expected: source,target,relationship,changed,note)"]
    assert csv_errors("source,target,colour\n4.1,4.1,red\n") == [
        "line 1, column 'colour': unknown column (allowed: source, target, relationship, changed, note)",
        "line 1: missing required column 'relationship'",
    ]
    errors = csv_errors(
        "source,target,relationship,changed\n"
        "4.1,4.1,equal,yes\n"
        "9.9,4.1,equal,no\n"
        "4.2,4.2,same,no\n"
        "4.3,4.3,equal,perhaps\n"
        ",,,\n"
        "4.1,4.1,equal,no\n"
        ",3,equal,no\n"
        "4.4,4.4,equal,no,extra\n"
    )
    assert errors == [
        "line 3, column 'source': clause '9.9' is not in iso-9001-2015",
        "line 4, column 'relationship': 'same' must be one of: equal, subset, superset, intersect, not_related",
        "line 5, column 'changed': 'perhaps' must be yes or no",
        "line 7: 4.1 → 4.1 is already mapped (line 2)",
        "line 8, column 'relationship': an entry with only a source or only a target clause is not_related",
        "line 9: 5 cells but the header names 4 columns",
    ]
    assert csv_errors("source,target,relationship\n", source_identifier="nope") == [
        "source standard 'nope': no bundled standard 'nope' (bundled: customer-service-standards, iso-9001-2008, "
        "iso-9001-2015, iso-9001-2015-amd1-2024, iso-9001-2026)"
    ]
    assert csv_errors("source,target,relationship\n") == ["line 2: no entries after the header"]
    assert csv_errors("a,b\n", target_identifier="iso-9001-2015") == [
        "the target standard must be another standard than the source"
    ]


def test_yaml_entries_may_name_one_side_only():
    text = """source: {identifier: iso-9001-2015, urn: "urn:iso:std:9001:2015"}
target: {identifier: iso-9001-2026, urn: "urn:iso:std:9001:2026"}
entries:
  - {target: "3", note: new}
  - {source: "4.1", relationship: equal}
  - {relationship: equal}
"""
    with pytest.raises(StandardError) as caught:
        parse_mapping(text)
    assert caught.value.errors == [
        "line 5: entry #2: an entry with only a source or only a target clause has the relationship not_related",
        "line 6: entry #3: give a source clause, a target clause or both",
    ]


def test_a_note_with_a_nul_character_is_refused():
    errors = csv_errors("source,target,relationship,note\n4.1,4.1,equal,bad\x00note\n")
    assert errors == ["line 2, column 'note': must be a single line of at most 500 characters"]
