"""Mapping sets an organisation imports (YAML or CSV) to replace ours: service, command line, API, standards page."""

from __future__ import annotations

import io

import pytest

from qms.models import ImportedMapping
from qms.services.standards import (
    MAX_MAPPING_BYTES,
    StandardClash,
    diff_editions,
    find_mapping_for,
    import_mapping,
    mapping_origin,
    remove_imported_mapping,
)
from standards import StandardError
from workflows.errors import NotPermitted

from ..audits.test_web import signed_in, text
from ..helpers import error, ok, row_count

#: a replacement table: 5.1.1 changed, and (unlike ours) 8.5.1 changed too
REPLACEMENT = """source,target,relationship,changed,note
4.1,4.1,equal,yes,Climate and strategic direction
5.1.1,5.1.1,equal,yes,Quality culture and ethics
8.5.1,8.5.1,equal,yes,A consultant's reading: stronger release criteria
,3,,,Terms in clause 3
"""
BAD = """source,target,relationship,changed,note
4.1,4.1,equal,yes,ok
4.2,9.9,equal,no,
4.3,4.3,sideways,no,
"""


def kwargs(**kw):
    return {"source_identifier": "iso-9001-2015-amd1-2024", "target_identifier": "iso-9001-2026"} | kw


def test_an_imported_csv_replaces_the_bundled_mapping(app, org):
    assert mapping_origin("iso-9001-2015-amd1-2024", "iso-9001-2026") == "bundled"
    row = import_mapping(REPLACEMENT, "csv", org.quality, **kwargs(description="Consultant's table"))
    assert (row.entry_count, row.source_format, row.imported_by_id) == (4, "csv", org.quality.id)
    assert mapping_origin("iso-9001-2015-amd1-2024", "iso-9001-2026") == "imported"
    mapping = find_mapping_for("iso-9001-2015-amd1-2024", "iso-9001-2026")
    assert {e.target for e in mapping.entries if e.changed} == {"4.1", "5.1.1", "8.5.1"}
    diff = diff_editions("iso-9001-2015-amd1-2024", "iso-9001-2026")
    assert "8.5.1" in {c.new.number for c in diff.changed}
    # chained from 2015 through the amendment, the import is used too
    assert "8.5.1" in {c.new.number for c in diff_editions("iso-9001-2015", "iso-9001-2026").changed}
    # importing the same pair again needs "replace"; removing it brings ours back
    with pytest.raises(StandardClash):
        import_mapping(REPLACEMENT, "csv", org.quality, **kwargs())
    import_mapping(
        REPLACEMENT.replace("8.5.1,8.5.1,equal,yes", "8.5.1,8.5.1,equal,no"), "csv", org.manager, **kwargs(replace=True)
    )
    assert row_count(ImportedMapping) == 1
    assert "8.5.1" not in {c.new.number for c in diff_editions("iso-9001-2015-amd1-2024", "iso-9001-2026").changed}
    remove_imported_mapping(row, org.quality)
    assert row_count(ImportedMapping) == 0
    assert mapping_origin("iso-9001-2015-amd1-2024", "iso-9001-2026") == "bundled"


def test_import_errors_name_the_line_and_store_nothing(app, org):
    with pytest.raises(StandardError) as caught:
        import_mapping(BAD, "csv", org.quality, **kwargs())
    assert caught.value.errors == [
        "line 3, column 'target': clause '9.9' is not in iso-9001-2026",
        "line 4, column 'relationship': 'sideways' must be one of: equal, subset, superset, intersect, not_related",
    ]
    with pytest.raises(StandardError) as caught:
        import_mapping(REPLACEMENT, "csv", org.quality)
    assert caught.value.errors == ["--source is required to import CSV", "--target is required to import CSV"]
    with pytest.raises(StandardError) as caught:
        import_mapping("x" * (MAX_MAPPING_BYTES + 1), "csv", org.quality, **kwargs())
    assert caught.value.errors == ["the file is larger than 1 MB"]
    with pytest.raises(StandardError) as caught:
        import_mapping("source: [", "yaml", org.quality)
    assert caught.value.errors[0].startswith("line 1: invalid YAML")
    with pytest.raises(StandardError):
        import_mapping(REPLACEMENT, "xlsx", org.quality, **kwargs())  # type: ignore[arg-type]
    with pytest.raises(NotPermitted):
        import_mapping(REPLACEMENT, "csv", org.viewer, **kwargs())
    assert row_count(ImportedMapping) == 0


def test_yaml_import_must_agree_with_the_names_given(app, org):
    from standards import find_mapping
    from standards.mappings import dump_mapping_yaml

    text = dump_mapping_yaml(find_mapping("iso-9001-2015-amd1-2024", "iso-9001-2026"))
    with pytest.raises(StandardError) as caught:
        import_mapping(text, "yaml", org.quality, source_identifier="iso-9001-2015")
    assert "does not match the file's source 'iso-9001-2015-amd1-2024'" in caught.value.errors[0]
    row = import_mapping(text, "yaml", org.quality)
    assert row.entry_count == len(find_mapping("iso-9001-2015-amd1-2024", "iso-9001-2026").entries)


def test_cli_import_mapping(app, runner, tmp_path):
    good = tmp_path / "table.csv"
    good.write_text(REPLACEMENT, encoding="utf-8")
    result = runner.invoke(
        args=[
            "standards",
            "import-mapping",
            str(good),
            "--source",
            "iso-9001-2015-amd1-2024",
            "--target",
            "iso-9001-2026",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Imported the mapping set iso-9001-2015-amd1-2024 → iso-9001-2026 (4 entries)" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD, encoding="utf-8")
    result = runner.invoke(
        args=[
            "standards",
            "import-mapping",
            str(bad),
            "--source",
            "iso-9001-2015-amd1-2024",
            "--target",
            "iso-9001-2026",
        ]
    )
    assert result.exit_code == 1
    assert f"{bad}: line 3, column 'target': clause '9.9' is not in iso-9001-2026" in result.output
    again = runner.invoke(
        args=[
            "standards",
            "import-mapping",
            str(good),
            "--source",
            "iso-9001-2015-amd1-2024",
            "--target",
            "iso-9001-2026",
        ]
    )
    assert again.exit_code == 1 and "--replace" in again.output
    listed = runner.invoke(args=["standards", "editions"])
    assert "iso-9001-2026\tdraft" in listed.output


def test_api_import_mapping(app, org, api):
    url = "/api/v1/standards/mappings"
    listed = ok(api.get("viewer", url))
    assert {(m["source_identifier"], m["target_identifier"], m["origin"]) for m in listed} >= {
        ("iso-9001-2015-amd1-2024", "iso-9001-2026", "bundled")
    }
    body = {"format": "csv", "content": BAD, "source": "iso-9001-2015-amd1-2024", "target": "iso-9001-2026"}
    found = error(api.post("quality", url, json=body), 422)
    assert found["errors"] == {
        "content.0": "line 3, column 'target': clause '9.9' is not in iso-9001-2026",
        "content.1": "line 4, column 'relationship': 'sideways' must be one of: equal, subset, superset, "
        "intersect, not_related",
    }
    error(api.post("quality", url, json={"format": "csv", "content": REPLACEMENT}), 422)
    error(api.post("quality", url, json={**body, "content": "x" * (MAX_MAPPING_BYTES + 1)}), 422)
    error(api.post("viewer", url, json={**body, "content": REPLACEMENT}), 403)
    created = ok(api.post("quality", url, json={**body, "content": REPLACEMENT}), 201)
    assert (created["origin"], created["entry_count"], created["changed_count"]) == ("imported", 4, 3)
    assert {
        "source": None,
        "target": "3",
        "relationship": "not_related",
        "changed": False,
        "note": "Terms in clause 3",
    } in (created["entries"])
    clash = error(api.post("quality", url, json={**body, "content": REPLACEMENT}), 409)
    assert "replace" in clash["errors"]
    diff = ok(api.get("viewer", "/api/v1/standards/iso-9001-2015/diff/iso-9001-2026"))
    assert "8.5.1" in {c["new"]["number"] for c in diff["changed"]}
    error(api.delete("viewer", f"{url}/{created['id']}"), 403)
    assert api.delete("quality", f"{url}/{created['id']}").status_code == 204
    error(api.delete("quality", f"{url}/{created['id']}"), 404)


def test_the_standards_page_imports_a_replacement_from_csv(app, org):
    quality = signed_in(app, org.quality)
    page = text(quality.get("/standards"))
    assert 'id="mapping-iso-9001-2015-amd1-2024--iso-9001-2026"' in page and "Import a mapping set" in page
    bad = quality.post(
        "/standards/mappings/import",
        data={
            "file": (io.BytesIO(BAD.encode()), "table.csv"),
            "source": "iso-9001-2015-amd1-2024",
            "target": "iso-9001-2026",
        },
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422
    assert "line 3, column &#39;target&#39;: clause &#39;9.9&#39; is not in iso-9001-2026" in text(bad)
    missing = quality.post(
        "/standards/mappings/import",
        data={"file": (io.BytesIO(REPLACEMENT.encode()), "table.csv")},
        content_type="multipart/form-data",
    )
    assert missing.status_code == 422 and "the source standard is required to import CSV" in text(missing)
    response = quality.post(
        "/standards/mappings/import",
        data={
            "file": (io.BytesIO(REPLACEMENT.encode()), "table.csv"),
            "source": "iso-9001-2015-amd1-2024",
            "target": "iso-9001-2026",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    row = text(quality.get("/standards")).split('id="mapping-iso-9001-2015-amd1-2024--iso-9001-2026"')[1]
    assert "Imported" in row.split("</tr>")[0]
    viewer_page = text(signed_in(app, org.viewer).get("/standards"))
    assert "Import a mapping set" not in viewer_page
