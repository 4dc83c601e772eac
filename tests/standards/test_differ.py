"""The differ on known edition pairs: ISO 9001:2008 → 2015 and 2015 → 2015 + Amd 1:2024."""

from __future__ import annotations

import pytest

from standards import (
    Clause,
    MappingEntry,
    MappingSet,
    Standard,
    UnknownMappingError,
    diff_standards,
    find_mapping,
    get_standard,
    load_mapping,
    normalise_title,
)


@pytest.fixture(scope="module")
def iso2008() -> Standard:
    return get_standard("iso-9001-2008")


@pytest.fixture(scope="module")
def iso2015() -> Standard:
    return get_standard("iso-9001-2015")


@pytest.fixture(scope="module")
def amd() -> Standard:
    return get_standard("iso-9001-2015-amd1-2024")


def numbers(changes, side="new"):
    return [getattr(change, side).number for change in changes]


def test_amendment_changes_exactly_4_1_and_4_2(iso2015, amd):
    diff = diff_standards(iso2015, amd, load_mapping("iso-9001-2015", "iso-9001-2015-amd1-2024"))
    assert diff.mapped
    assert numbers(diff.changed) == ["4.1", "4.2"]
    assert not diff.added and not diff.removed and not diff.renamed and not diff.moved
    assert diff.unchanged == len(iso2015.clauses) - 2
    change = diff.changed[0]
    assert change.old.urn == "urn:iso:std:9001:2015:clause:4.1"
    assert change.new.urn == "urn:iso:std:9001:2015:amd:1:2024:clause:4.1"
    assert "climate change" in change.description and change.relationship == "equal"


def test_amendment_without_a_mapping_looks_unchanged(iso2015, amd):
    diff = diff_standards(iso2015, amd)
    assert diff.is_empty and diff.unchanged == len(iso2015.clauses) and not diff.mapped


def test_2008_to_2015_with_the_mapping(iso2008, iso2015):
    mapping = load_mapping("iso-9001-2008", "iso-9001-2015")
    diff = diff_standards(iso2008, iso2015, mapping)
    # the clauses whose subject is new in 2015
    assert numbers(diff.added) == ["4.1", "4.2", "7.1.6"]
    assert diff.removed == ()
    moved = {(c.old.number, c.new.number): c for c in diff.moved}
    assert ("7.5.1", "8.5.1") in moved  # production control
    assert ("8.2.2", "9.2") in moved  # internal audit
    assert ("5.6", "9.3") in moved  # management review
    assert ("8.5.3", "6.1") in moved  # preventive action → risks and opportunities
    assert ("4.2.3", "7.5.3") in moved and ("4.2.4", "7.5.3") in moved
    assert moved[("8.5.3", "6.1")].relationship == "intersect"
    assert "risks and opportunities" in moved[("8.5.3", "6.1")].note
    assert moved[("7.5.1", "8.5.1")].description == (
        "7.5.1 Control of production and service provision moved to 8.5.1 (intersect)"
    )
    assert "as Determining the scope" in moved[("4.2.2", "4.3")].description
    renamed = {c.old.number: c.new.title for c in diff.renamed}
    assert renamed["5"] == "Leadership" and renamed["4"] == "Context of the organization"
    assert diff.changed == () and diff.unchanged == 0


def test_2008_to_2015_without_a_mapping_matches_by_number_then_title(iso2008, iso2015):
    diff = diff_standards(iso2008, iso2015)
    moved = {c.old.number: c.new.number for c in diff.moved}
    assert moved["7.5.1"] == "8.5.1"
    assert moved["8.2.2"] == "9.2" and moved["6.3"] == "7.1.3" and moved["5.2"] == "5.1.2"
    assert "8.1" not in moved  # "General" is too generic to match by title
    assert "7.5.4" in numbers(diff.removed, "old")  # "Customer property" has no same-titled clause
    assert "7.1.6" in numbers(diff.added) and "6.1.1" in numbers(diff.added)
    # same number, another title: a rename (only a guess across a restructured edition)
    assert ("4.1", "Understanding the organization and its context") in [
        (c.new.number, c.new.title) for c in diff.renamed
    ]


def test_reverse_direction_uses_the_mapping_backwards(iso2008, iso2015):
    backwards = find_mapping("iso-9001-2015", "iso-9001-2008")
    assert backwards is not None and backwards.source_identifier == "iso-9001-2015"
    entry = next(e for e in backwards.entries if (e.source, e.target) == ("5.1.2", "5.2"))
    assert entry.relationship == "superset"
    diff = diff_standards(iso2015, iso2008, backwards)
    assert numbers(diff.removed, "old") == ["4.1", "4.2", "7.1.6"]
    # a mapping given the other way round is turned around by the differ
    flipped = diff_standards(iso2015, iso2008, load_mapping("iso-9001-2008", "iso-9001-2015"))
    assert flipped == diff


def test_unknown_mappings():
    assert find_mapping("iso-9001-2008", "customer-service-standards") is None
    with pytest.raises(KeyError) as raised:
        load_mapping("iso-9001-2008", "customer-service-standards")
    assert isinstance(raised.value, UnknownMappingError)
    with pytest.raises(ValueError, match="does not relate"):
        diff_standards(
            get_standard("iso-9001-2008"),
            get_standard("customer-service-standards"),
            load_mapping("iso-9001-2015", "iso-9001-2015-amd1-2024"),
        )


def _standard(identifier: str, *clauses: tuple[str, str]) -> Standard:
    urn = f"urn:test:{identifier}"
    return Standard(
        identifier,
        identifier,
        1,
        urn,
        tuple(Clause(n, t, n.rpartition(".")[0] or None, f"{urn}:clause:{n}") for n, t in clauses),
    )


def test_synthetic_pair_added_removed_renamed_moved_and_not_related():
    old = _standard("a", ("1", "Scope"), ("1.1", "Records"), ("1.2", "Training"), ("2", "Checks"))
    new = _standard("b", ("1", "Scope"), ("1.1", "Documented information"), ("2", "Checks"), ("2.1", "Training"))
    diff = diff_standards(old, new)
    assert [c.description for c in diff.moved] == ["1.2 Training moved to 2.1"]
    assert [c.description for c in diff.renamed] == ["1.1 Records renamed Documented information"]
    assert diff.added == diff.removed == () and diff.unchanged == 2

    mapping = MappingSet(
        "a",
        old.urn,
        "b",
        new.urn,
        (
            MappingEntry("1", "1", "equal"),
            MappingEntry("1.1", "1.1", "not_related"),
            MappingEntry("2", "2", "superset", changed=True, note="narrower"),
        ),
    )
    mapped = diff_standards(old, new, mapping)
    assert numbers(mapped.removed, "old") == ["1.1", "1.2"]
    assert numbers(mapped.added) == ["1.1", "2.1"]
    assert [c.description for c in mapped.changed] == ["2 Checks changed: narrower"]
    assert mapped.unchanged == 1


def test_normalise_title():
    assert normalise_title("Organisational  roles, responsibilities") == normalise_title(
        "organizational roles responsibilities"
    )
    assert normalise_title("Post-delivery activities") == "post delivery activities"
