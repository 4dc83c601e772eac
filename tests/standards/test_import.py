"""Importing standards and SOP checklists (service and ``qms standards`` CLI), on every database."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select

from qms.database import db
from qms.models import AuditEntry, ImportedStandard
from qms.services.audit_trail import verify
from qms.services.standards import (
    all_standards,
    diff_editions,
    find_mapping_for,
    find_standard,
    import_standard,
    standard_choices,
)
from standards import StandardError, UnknownStandardError, parse_standard

GOOD_YAML = """\
identifier: acme-sop-7
title: ACME SOP 7 Goods receiving
edition: 2025
urn: urn:acme:sop:7:2025
kind: checklist
clauses:
  - number: "1"
    parent: null
    title: Receiving
    questions:
      - Is every delivery checked against its order?
  - {number: "1.1", parent: "1", title: Records}
"""

BAD_YAML = """\
identifier: acme-sop-7
title: ACME SOP 7 Goods receiving
edition: 2025
urn: urn:acme:sop:7:2025
kind: procedure
clauses:
  - {number: "1", parent: null, title: Receiving}
  - {number: "1.1", parent: "2", title: Records}
"""

GOOD_CSV = "number,title,parent,question\n1,Receiving,,Is every delivery checked?\n1,,,Is damage recorded?\n"


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(ImportedStandard))


def test_import_yaml_stores_canonical_yaml_and_hash(app, org):
    row = import_standard(GOOD_YAML, "yaml", org.quality)
    assert (row.identifier, row.title, row.edition, row.urn) == (
        "acme-sop-7",
        "ACME SOP 7 Goods receiving",
        2025,
        "urn:acme:sop:7:2025",
    )
    assert row.source_format == "yaml" and row.imported_by_id == org.quality.id
    assert row.sha256 == hashlib.sha256(row.content.encode()).hexdigest()
    assert parse_standard(row.content) == parse_standard(GOOD_YAML)
    standard = find_standard("acme-sop-7")
    assert standard.clause("1").questions == ("Is every delivery checked against its order?",)
    assert find_standard("acme-sop-7") is standard  # parsed once per content hash
    assert [s.identifier for s in all_standards()][-1] == "acme-sop-7"
    assert ("acme-sop-7", "ACME SOP 7 Goods receiving (2025)") in standard_choices()
    assert ("iso-9001-2015", "ISO 9001 Quality management systems — Requirements (2015)") in standard_choices()
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.record_type == "imported_standards")).one()
    assert entry.actor_name == org.quality.name
    assert verify(db.session).ok


def test_import_csv_with_identity_options(app):
    row = import_standard(GOOD_CSV, "csv", None, identifier="acme-sop-8", title="ACME SOP 8", edition=2024)
    assert row.urn == "urn:qmsflow:org:acme-sop-8:2024" and row.source_format == "csv" and row.imported_by_id is None
    standard = find_standard("acme-sop-8")
    assert standard.kind == "checklist"
    assert standard.clause("1").questions == ("Is every delivery checked?", "Is damage recorded?")
    with pytest.raises(StandardError) as raised:
        import_standard(GOOD_CSV, "csv", None)
    assert raised.value.errors == ["--identifier is required to import CSV", "--title is required to import CSV"]


def test_a_malformed_file_leaves_nothing_behind(app, org):
    before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    with pytest.raises(StandardError) as raised:
        import_standard(BAD_YAML, "yaml", org.quality)
    assert raised.value.errors == [
        "line 5: kind 'procedure' must be one of: standard, checklist, service-standards",
        "line 8: clause 1.1: parent '2' does not exist",
        "line 8: clause 1.1: parent '2' is not a prefix of the clause number (expected '1')",
    ]
    bad_csv = "number,title\n1,One\n1.x,Bad\n"
    with pytest.raises(StandardError, match=r"line 3, column 'number'"):
        import_standard(bad_csv, "csv", org.quality, identifier="x-1", title="X")
    assert count() == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == before
    with pytest.raises(UnknownStandardError):
        find_standard("acme-sop-7")


def test_replace_semantics(app, org):
    import_standard(GOOD_YAML, "yaml", org.quality)
    with pytest.raises(StandardError, match="already imported"):
        import_standard(GOOD_YAML, "yaml", org.quality)
    changed = GOOD_YAML.replace("title: Records", "title: Delivery records")
    row = import_standard(changed, "yaml", org.manager, replace=True)
    assert count() == 1 and row.imported_by_id == org.manager.id
    assert find_standard("acme-sop-7").clause("1.1").title == "Delivery records"
    # a replacement that fails validation keeps the old version
    with pytest.raises(StandardError):
        import_standard(BAD_YAML, "yaml", org.manager, replace=True)
    assert find_standard("acme-sop-7").clause("1.1").title == "Delivery records"
    # an imported urn cannot be taken by another identifier
    other = changed.replace("identifier: acme-sop-7", "identifier: acme-sop-9")
    with pytest.raises(StandardError, match="already used by the imported standard acme-sop-7"):
        import_standard(other, "yaml", org.manager)
    assert count() == 1


def test_clashes_with_bundled_standards_are_refused(app, org):
    taken_id = GOOD_YAML.replace("identifier: acme-sop-7", "identifier: iso-9001-2015")
    with pytest.raises(StandardError, match="belongs to a bundled standard"):
        import_standard(taken_id, "yaml", org.quality, replace=True)
    taken_urn = GOOD_YAML.replace("urn: urn:acme:sop:7:2025", "urn: urn:iso:std:9001:2015")
    with pytest.raises(StandardError, match="belongs to the bundled standard iso-9001-2015"):
        import_standard(taken_urn, "yaml", org.quality)
    with pytest.raises(StandardError, match="does not match the file's identifier"):
        import_standard(GOOD_YAML, "yaml", org.quality, identifier="other")
    assert count() == 0


def test_find_standard_and_mappings(app):
    assert find_standard("iso-9001-2015").urn == "urn:iso:std:9001:2015"
    with pytest.raises(KeyError, match="no standard 'nope'"):
        find_standard("nope")
    assert find_mapping_for("iso-9001-2008", "iso-9001-2015") is not None
    assert [c.new.number for c in diff_editions("iso-9001-2015", "iso-9001-2015-amd1-2024").changed] == ["4.1", "4.2"]


# --------------------------------------------------------------------------- CLI


def test_cli_list_and_show(runner):
    result = runner.invoke(args=["standards", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 5 and lines[2].startswith("iso-9001-2015\tstandard\t91 clauses\t94 questions\tbundled")
    shown = runner.invoke(args=["standards", "show", "iso-9001-2015-amd1-2024"])
    assert shown.exit_code == 0
    assert "amends: urn:iso:std:9001:2015" in shown.output and "  4.1 Understanding" in shown.output
    assert "climate change" in shown.output
    missing = runner.invoke(args=["standards", "show", "nope"])
    assert missing.exit_code == 1 and "no standard 'nope'" in missing.output


def test_cli_import_good_and_bad(runner, tmp_path):
    good = tmp_path / "sop.csv"
    good.write_text(GOOD_CSV, encoding="utf-8")
    result = runner.invoke(args=["standards", "import", str(good), "--identifier", "acme-sop-8", "--title", "SOP 8"])
    assert result.exit_code == 0, result.output
    assert "Imported acme-sop-8" in result.output
    again = runner.invoke(args=["standards", "import", str(good), "--identifier", "acme-sop-8", "--title", "SOP 8"])
    assert again.exit_code == 1 and "--replace" in again.output
    replaced = runner.invoke(
        args=["standards", "import", str(good), "--identifier", "acme-sop-8", "--title", "SOP 8b", "--replace"]
    )
    assert replaced.exit_code == 0 and find_standard("acme-sop-8").title == "SOP 8b"

    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_YAML, encoding="utf-8")
    result = runner.invoke(args=["standards", "import", str(bad)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines[0] == f"{bad}: not imported, 3 error(s):"
    assert lines[1] == f"{bad}: line 5: kind 'procedure' must be one of: standard, checklist, service-standards"
    assert lines[2].startswith(f"{bad}: line 8: clause 1.1: parent '2'")
    assert count() == 1
    listed = runner.invoke(args=["standards", "list"]).output
    assert "acme-sop-8\tchecklist\t1 clauses\t2 questions\timported\tSOP 8b" in listed


def test_cli_diff(runner):
    result = runner.invoke(args=["standards", "diff", "iso-9001-2015", "iso-9001-2015-amd1-2024"])
    assert result.exit_code == 0, result.output
    assert "added: 0" in result.output and "changed: 2" in result.output
    assert "4.1 Understanding the organization and its context changed: Amd 1:2024" in result.output
    old_new = runner.invoke(args=["standards", "diff", "iso-9001-2008", "iso-9001-2015"]).output
    assert "added: 3" in old_new and "7.5.1 Control of production and service provision moved to 8.5.1" in old_new
    assert runner.invoke(args=["standards", "diff", "iso-9001-2008", "nope"]).exit_code == 1


def test_only_quality_staff_import_and_clashes_are_their_own_error(app, org):
    from qms.services.standards import StandardClash
    from workflows.errors import NotPermitted

    for outsider in (org.auditor, org.owner, org.viewer):
        with pytest.raises(NotPermitted):
            import_standard(GOOD_YAML, "yaml", outsider)
    assert count() == 0
    import_standard(GOOD_YAML, "yaml", org.manager)
    with pytest.raises(StandardClash):
        import_standard(GOOD_YAML, "yaml", org.quality)
    with pytest.raises(StandardError) as caught:
        import_standard("identifier: x\ntitle: \x1f\n", "yaml", org.quality)
    assert not isinstance(caught.value, StandardClash)
    assert caught.value.errors == [
        "line 2: invalid YAML: unacceptable character #x001f: special characters are not allowed"
    ]
