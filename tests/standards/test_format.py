"""Standards file format: the bundled files, optional keys, questions, CSV and canonical YAML."""

from __future__ import annotations

import textwrap

import pytest
import yaml

from standards import (
    Clause,
    Standard,
    StandardError,
    bundled_mappings,
    bundled_standards,
    dump_standard_yaml,
    get_standard,
    parse_mapping,
    parse_standard,
    parse_standard_csv,
    validate_standard,
)

BUNDLED = [
    "customer-service-standards",
    "iso-9001-2008",
    "iso-9001-2015",
    "iso-9001-2015-amd1-2024",
    "iso-9001-2026",
]


def errors_of(text: str) -> list[str]:
    with pytest.raises(StandardError) as raised:
        parse_standard(textwrap.dedent(text), source="test.yaml")
    assert raised.value.source == "test.yaml"
    return raised.value.errors


# --------------------------------------------------------------------------- bundled files


def test_every_bundled_file_is_valid_and_round_trips():
    found = bundled_standards()
    assert [s.identifier for s in found] == BUNDLED
    for standard in found:
        assert parse_standard(dump_standard_yaml(standard)) == standard
        assert len({c.urn for c in standard.clauses}) == len(standard.clauses)
        for clause in standard.clauses:
            assert clause.urn == f"{standard.urn}:clause:{clause.number}"
            assert len(clause.title) <= 120 and not clause.title.endswith(".")


def test_bundled_identities():
    amd = get_standard("iso-9001-2015-amd1-2024")
    assert amd.urn == "urn:iso:std:9001:2015:amd:1:2024"
    assert amd.amends == "urn:iso:std:9001:2015" and amd.edition == 2015 and amd.published == "2024-02"
    assert get_standard("iso-9001-2008").urn == "urn:iso:std:9001:2008"
    service = get_standard("customer-service-standards")
    assert service.kind == "service-standards" and service.urn == "urn:qmsflow:std:customer-service:2026"
    assert [c.title for c in service.children()][:3] == [
        "Accessibility",
        "Responsiveness and timeliness",
        "Courtesy and professionalism",
    ]
    assert get_standard("iso-9001-2015").kind == "standard"


def test_iso_9001_has_questions_for_every_audited_leaf_clause():
    iso = get_standard("iso-9001-2015")
    leaves = [c for c in iso.clauses if c.depth > 1 and not iso.children(c.number)]
    assert leaves and all(1 <= len(c.questions) <= 3 for c in leaves), [c.number for c in leaves if not c.questions]
    assert any("audit programme" in q for q in iso.clause("9.2.2").questions)
    assert all(q.endswith("?") for _, q in iso.questions())


def test_amendment_adds_climate_questions_to_4_1_and_4_2_only():
    iso, amd = get_standard("iso-9001-2015"), get_standard("iso-9001-2015-amd1-2024")
    assert [(c.number, c.title) for c in amd.clauses] == [(c.number, c.title) for c in iso.clauses]
    differing = [c.number for c in amd.clauses if c.questions != iso.clause(c.number).questions]
    assert differing == ["4.1", "4.2"]
    for number in differing:
        assert "climate" in amd.clause(number).questions[-1]


def test_iso_9001_2008_structure():
    old = get_standard("iso-9001-2008")
    assert [c.title for c in old.children()] == [
        "Quality management system",
        "Management responsibility",
        "Resource management",
        "Product realization",
        "Measurement, analysis and improvement",
    ]
    assert old.clause("7.5.1").title == "Control of production and service provision"
    assert [c.number for c in old.children("6.2")] == ["6.2.1", "6.2.2"]
    assert len(old.clauses) == 67


def test_every_bundled_mapping_is_valid():
    found = {(m.source_identifier, m.target_identifier) for m in bundled_mappings()}
    assert found == {
        ("iso-9001-2008", "iso-9001-2015"),
        ("iso-9001-2015", "iso-9001-2015-amd1-2024"),
        ("iso-9001-2015-amd1-2024", "iso-9001-2026"),
    }


def test_positional_construction_still_works():
    clause = Clause("1", "One", None, "urn:x:y:clause:1")
    assert clause.questions == ()
    standard = Standard("x", "X", 1, "urn:x:y", (clause,))
    assert standard.kind == "standard" and standard.description == "" and standard.amends is None


# --------------------------------------------------------------------------- bad YAML files

HEADER = """\
identifier: test-standard
title: Test standard
edition: 2020
urn: urn:test:std:1
"""


def test_optional_keys_and_questions_load():
    standard = parse_standard(
        HEADER
        + textwrap.dedent(
            """\
            kind: checklist
            description: Our own SOP checklist.
            published: 2020-05-01
            clauses:
              - number: "1"
                parent: null
                title: One
                questions:
                  - "  Is it done?  "
                  - Is it recorded?
            """
        )
    )
    assert standard.kind == "checklist" and standard.published == "2020-05-01"
    assert standard.clause("1").questions == ("Is it done?", "Is it recorded?")
    assert standard.questions() == [(standard.clause("1"), "Is it done?"), (standard.clause("1"), "Is it recorded?")]


def test_bad_top_level_keys_name_line_and_field():
    errors = errors_of(
        HEADER
        + """\
kind: policy
amends: not a urn
published: May 2020
description: [a, list]
clauses:
  - {number: "1", parent: null, title: One}
"""
    )
    assert errors == [
        "line 5: kind 'policy' must be one of: standard, checklist, service-standards",
        "line 6: amends 'not a urn' must look like 'urn:iso:std:9001:2015'",
        "line 7: published 'May 2020' must be a year or a date such as 2024 or 2024-02-23",
        "line 8: description must be a string, not list",
    ]


def test_several_errors_are_reported_at_once_with_line_and_field():
    errors = errors_of(
        HEADER
        + """\
clauses:
  - {number: "1", parent: null, title: One}
  - {number: "1.1", parent: "2", title: Sub}
  - {number: 1.2, parent: "1", title: Float}
  - number: "1.3"
    parent: "1"
    title: With bad questions
    questions:
      - Fine?
      - ""
      - "two\\nlines"
      - Fine?
  - {number: "1.4", parent: "1", title: Q, questions: not a list}
  - {number: "1.5", parent: "1", title: Long, questions: ["%s"]}
"""
        % ("x" * 501)
    )
    assert errors == [
        "line 7: clause 1.1: parent '2' does not exist",
        "line 7: clause 1.1: parent '2' is not a prefix of the clause number (expected '1')",
        "line 8: clause 1.2: number must be a quoted string such as '7.1.5', not float "
        "(write it quoted: YAML reads 10.10 as the float 10.1)",
        "line 14: clause 1.3: questions[2] must be a non-empty string, not str",
        "line 15: clause 1.3: questions[3] must be a single line",
        "line 16: clause 1.3: questions[4] repeats an earlier question of this clause",
        "line 17: clause 1.4: questions must be a list of strings, not str",
        "line 18: clause 1.5: questions[1] is longer than 500 characters (our own words, never requirement text)",
    ]


def test_unknown_keys_name_the_allowed_ones():
    errors = errors_of(HEADER + "owner: me\nclauses:\n  - {number: '1', parent: null, title: One, text: x}\n")
    assert errors == [
        "line 5: unknown key 'owner' (allowed: identifier, title, edition, urn, clauses, kind, description, "
        "amends, published)",
        "line 7: clause 1: unknown key 'text' (allowed: number, title, parent, untitled, questions)",
    ]


def test_validate_standard_on_plain_data_with_questions():
    data = {
        "identifier": "plain",
        "title": "Plain",
        "edition": 1,
        "urn": "urn:x:plain",
        "amends": "urn:x:plain",
        "clauses": [{"number": "1", "parent": None, "title": "One", "questions": [None]}],
    }
    assert validate_standard(data) == [
        "amends must name another edition, not this standard's own urn",
        "clause 1: questions[1] must be a non-empty string, not null",
    ]


# --------------------------------------------------------------------------- CSV

CSV_IDENTITY = {"identifier": "sop-12", "title": "SOP 12 Goods receiving", "edition": 2025, "urn": "urn:acme:sop:12"}


def test_csv_good_file():
    text = (
        "\ufeffNumber,Title,Parent,Question\n"
        "1,Receiving,,Is every delivery checked against its order?\n"
        "1,,,Are damaged goods set apart and labelled?\n"
        '1.1,Records,1,"Is the delivery note signed, dated and filed?"\n'
        "\n"
        "2,Storage,,\n"
    )
    standard = parse_standard_csv(text, **CSV_IDENTITY)
    assert standard.kind == "checklist"
    assert [(c.number, c.title, c.parent) for c in standard.clauses] == [
        ("1", "Receiving", None),
        ("1.1", "Records", "1"),
        ("2", "Storage", None),
    ]
    assert standard.clause("1").questions == (
        "Is every delivery checked against its order?",
        "Are damaged goods set apart and labelled?",
    )
    assert standard.clause("1.1").urn == "urn:acme:sop:12:clause:1.1"
    assert parse_standard(dump_standard_yaml(standard)) == standard


def test_csv_errors_name_line_and_column():
    text = (
        "number,title,parent,question\n"  # 1
        "1,Receiving,,Checked?\n"  # 2
        "1.a,Bad,,\n"  # 3
        ",No number,,\n"  # 4
        "1.2,,1,Untitled first row?\n"  # 5
        "1.3,Wrong parent,2,\n"  # 6
        "1,Other title,,\n"  # 7
        '1.4,Multi,,"two\nlines"\n'  # 8-9
        "3.1,Orphan,,\n"  # 10
        "1,,,Checked?\n"  # 11
    )
    with pytest.raises(StandardError) as raised:
        parse_standard_csv(text, **CSV_IDENTITY, source="sop.csv")
    assert raised.value.errors == [
        "line 3, column 'number': '1.a' is not a dotted numeric clause number such as '7.1.5'",
        "line 4, column 'number': a clause number is required",
        "line 5, column 'title': clause 1.2 needs a title on its first row",
        "line 6, column 'parent': '2' is not the parent of clause 1.3 (expected '1' or blank)",
        "line 7, column 'title': clause 1 already has the title 'Receiving' (line 2); "
        "leave the title blank on its further rows",
        "line 8, column 'question': question must be a single line",
        "line 10, column 'parent': clause 3.1: parent '3' has no row (add a row for it)",
        "line 11, column 'question': clause 1 already has this question",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ["line 1: missing header row (expected: number,title,parent,question)"]),
        (
            "number,name\n1,x\n",
            [
                "line 1, column 'name': unknown column (allowed: number, title, parent, question)",
                "line 1: missing required column 'title'",
            ],
        ),
        ("number,question\n", ["line 1: missing required column 'title'"]),
        ("number,title\n", ["line 2: no clause rows after the header"]),
        ("number,title\n1,One,extra\n", ["line 2: 3 cells but the header names 2 columns"]),
    ],
)
def test_csv_structural_errors(text, expected):
    with pytest.raises(StandardError) as raised:
        parse_standard_csv(text, **CSV_IDENTITY)
    assert raised.value.errors == expected


def test_csv_identity_is_validated_too():
    with pytest.raises(StandardError) as raised:
        parse_standard_csv("number,title\n1,One\n", identifier="Bad Id", title="T", edition=0, urn="x")
    assert raised.value.errors == [
        "identifier 'Bad Id' must be lowercase letters and digits joined by '-'",
        "edition must be a positive integer such as 2015, not 0",
        "urn 'x' must look like 'urn:iso:std:9001:2015'",
    ]


# --------------------------------------------------------------------------- mapping files

MAPPING_HEAD = """\
source: {identifier: iso-9001-2008, urn: "urn:iso:std:9001:2008"}
target: {identifier: iso-9001-2015, urn: "urn:iso:std:9001:2015"}
entries:
"""


def test_a_small_mapping_parses():
    mapping = parse_mapping(MAPPING_HEAD + '  - {source: "7.5.1", target: "8.5.1", relationship: intersect}\n')
    assert [(e.source, e.target, e.relationship, e.matches) for e in mapping.entries] == [
        ("7.5.1", "8.5.1", "intersect", True)
    ]
    back = mapping.reversed()
    assert back.source_identifier == "iso-9001-2015" and back.entries[0].source == "8.5.1"


def test_bad_mapping_entries_name_their_lines():
    text = MAPPING_HEAD + textwrap.dedent(
        """\
          - {source: "7.5.9", target: "8.5.1", relationship: equal}
          - {source: "7.5.1", target: "11", relationship: same}
          - {source: 7.5, target: "8.5", relationship: equal, changed: maybe}
          - {source: "7.5.1", target: "8.5.1", relationship: equal, extra: 1}
          - {source: "7.5.3", target: "8.5.2", relationship: equal}
          - {source: "7.5.3", target: "8.5.2", relationship: subset}
        """
    )
    with pytest.raises(StandardError) as raised:
        parse_mapping(text, source="m.yaml")
    assert raised.value.errors == [
        "line 4: entry #1: source clause '7.5.9' is not in iso-9001-2008",
        "line 5: entry #2: target clause '11' is not in iso-9001-2015",
        "line 5: entry #2: relationship 'same' must be one of: equal, subset, superset, intersect, not_related",
        "line 6: entry #3: source must be a quoted clause number such as '7.5.1', not 7.5",
        "line 6: entry #3: changed must be true or false, not 'maybe'",
        "line 7: entry #4: unknown key 'extra' (allowed: source, target, relationship, note, changed)",
        "line 9: entry #6: 7.5.3 → 8.5.2 is already mapped (line 8)",
    ]


def test_mapping_sides_are_checked():
    text = (
        "source: {identifier: iso-9001-2008, urn: 'urn:iso:std:9001:2009'}\n"
        "target: {identifier: iso-9999-2015, urn: 'urn:x:y'}\n"
        "entries: []\n"
    )
    with pytest.raises(StandardError) as raised:
        parse_mapping(text)
    assert raised.value.errors[0] == (
        "line 1: source urn 'urn:iso:std:9001:2009' is not the urn of iso-9001-2008 ('urn:iso:std:9001:2008')"
    )
    assert raised.value.errors[1].startswith("line 2: target identifier 'iso-9999-2015': no bundled standard")


def test_bundled_yaml_uses_only_the_safe_loader_types():
    for standard in bundled_standards():
        assert yaml.safe_load(dump_standard_yaml(standard))["identifier"] == standard.identifier


def _laughs(levels: int) -> str:
    """Aliases of aliases: ``levels`` lines of YAML that read as a list of 10**levels items."""
    anchors = ['&a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    anchors += [f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return "[" + ", ".join(anchors) + "]"


@pytest.mark.parametrize("parse", [parse_standard, parse_mapping])
def test_aliases_are_refused_by_line_so_a_billion_laughs_stays_small(parse):
    """A few hundred bytes of aliases are a list of 10**7 items here (68 MB in the validation's message,
    which reprs the value; ten times more per line added); no standard or mapping needs one."""
    text = f"identifier: x\ntitle: t\nedition: {_laughs(7)}\n"
    assert len(text) < 600
    with pytest.raises(StandardError) as raised:
        parse(text, source="test.yaml")
    assert raised.value.errors == ["line 3: invalid YAML: aliases (*a0) are not allowed: write the value out"]
    assert len(str(raised.value)) < 300
