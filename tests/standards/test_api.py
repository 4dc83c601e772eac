"""The standards API (/api/v1/standards): listing, reading clause by clause, importing YAML and CSV
(line-numbered errors, nothing stored on failure, clashes 409) and comparing editions."""

from __future__ import annotations

from sqlalchemy import func, select

from qms.database import db
from qms.models import ImportedStandard

from ..helpers import error, ok

URL = "/api/v1/standards"
CHECKLIST_YAML = """\
identifier: goods-in
title: Goods-in inspection checklist
edition: 2026
urn: urn:qmsflow:org:goods-in:2026
kind: checklist
clauses:
  - number: "1"
    title: Receiving
    parent: null
    questions:
      - "Is every delivery checked against its purchase order?"
  - number: "1.1"
    title: Damage
    parent: "1"
"""
CHECKLIST_CSV = """\
number,title,parent,question
1,Receiving,,Is every delivery checked against its purchase order?
1,,,Are rejected goods labelled?
2,Storage,,
"""


def _stored() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(ImportedStandard))


def test_bundled_standards_are_listed_and_read_clause_by_clause(api, org):
    page = ok(api.get("viewer", URL))
    by_id = {s["identifier"]: s for s in page["items"]}
    assert {"iso-9001-2015", "iso-9001-2008", "customer-service-standards"} <= set(by_id)
    iso = by_id["iso-9001-2015"]
    assert (iso["edition"], iso["urn"], iso["kind"], iso["source"]) == (
        2015,
        "urn:iso:std:9001:2015",
        "standard",
        "bundled",
    )
    assert iso["clause_count"] > 50 and iso["links"]["self"] == f"{URL}/iso-9001-2015"
    assert by_id["customer-service-standards"]["kind"] == "service-standards"
    assert page["total"] == len(page["items"]) and page["pages"] == 1

    standard = ok(api.get("viewer", f"{URL}/iso-9001-2015"))
    assert len(standard["clauses"]) == standard["clause_count"]
    clause = next(c for c in standard["clauses"] if c["number"] == "8.5.1")
    assert clause["parent"] == "8.5" and clause["urn"] == "urn:iso:std:9001:2015:clause:8.5.1"
    assert clause["questions"] and all(isinstance(q, str) for q in clause["questions"])
    assert next(c for c in standard["clauses"] if c["number"] == "4")["parent"] is None

    service = ok(api.get("viewer", f"{URL}?kind=service-standards"))
    assert [s["identifier"] for s in service["items"]] == ["customer-service-standards"]
    assert ok(api.get("viewer", f"{URL}?source=imported"))["items"] == []
    paged = ok(api.get("viewer", f"{URL}?per_page=1&page=2"))
    assert len(paged["items"]) == 1 and paged["pages"] == paged["total"] >= 3
    for query, field in (("kind=law", "kind"), ("colour=red", "colour"), ("per_page=0", "per_page")):
        assert set(error(api.get("viewer", f"{URL}?{query}"), 422)["errors"]) == {field}
    error(api.get("viewer", f"{URL}/iso-27001"), 404)
    error(api.get("viewer", f"{URL}/{'x' * 61}"), 404)


def test_importing_a_yaml_checklist_makes_it_usable_for_audits(api, org):
    response = api.post("quality", URL, json={"format": "yaml", "content": CHECKLIST_YAML})
    imported = ok(response, 201)
    assert response.headers["Location"].endswith(f"{URL}/goods-in")
    assert (imported["identifier"], imported["source"], imported["kind"], imported["clause_count"]) == (
        "goods-in",
        "imported",
        "checklist",
        2,
    )
    assert imported["clauses"][0]["questions"] == ["Is every delivery checked against its purchase order?"]
    assert imported["clauses"][1]["urn"] == "urn:qmsflow:org:goods-in:2026:clause:1.1"
    assert _stored() == 1
    listed = ok(api.get("viewer", f"{URL}?source=imported"))
    assert [s["identifier"] for s in listed["items"]] == ["goods-in"]

    audit = ok(
        api.post(
            "quality",
            "/api/v1/audits",
            json={"title": "Goods-in check", "standard_identifier": "goods-in", "clause_numbers": ["1"]},
        ),
        201,
    )
    assert audit["criteria"] == "Goods-in inspection checklist"
    generated = ok(api.post("quality", f"/api/v1/audits/{audit['id']}/checklist/generate"))
    assert generated["items"][0]["question"] == "Is every delivery checked against its purchase order?"


def test_importing_a_csv_checklist(api, org):
    body = {"format": "csv", "content": CHECKLIST_CSV, "identifier": "goods-in", "title": "Goods-in", "edition": 3}
    imported = ok(api.post("manager", URL, json=body), 201)
    assert (imported["edition"], imported["urn"], imported["kind"]) == (3, "urn:qmsflow:org:goods-in:3", "checklist")
    assert imported["clauses"][0]["questions"] == [
        "Is every delivery checked against its purchase order?",
        "Are rejected goods labelled?",
    ]
    missing = error(api.post("admin", URL, json={"format": "csv", "content": CHECKLIST_CSV}), 422)
    assert set(missing["errors"]) == {"identifier", "title"}
    assert "identifier is required" in missing["errors"]["identifier"] and "--" not in missing["message"]
    assert _stored() == 1


def test_a_bad_file_answers_every_problem_by_line_and_stores_nothing(api, org):
    broken = CHECKLIST_YAML.replace('number: "1.1"', "number: 1.1").replace("title: Damage", "title: ''")
    body = error(api.post("quality", URL, json={"format": "yaml", "content": broken}), 422)
    assert list(body["errors"]) == ["content.0", "content.1"]
    assert all(message.startswith("line 12: clause 1.1:") for message in body["errors"].values())
    assert "number" in body["errors"]["content.0"] and "title" in body["errors"]["content.1"]

    bad_csv = "number,title,parent,question\n1,Receiving,,\n1.1,,7,\n"
    body = error(
        api.post("quality", URL, json={"format": "csv", "content": bad_csv, "identifier": "x", "title": "X"}), 422
    )
    assert body["errors"] and all(m.startswith("line 3, column") for m in body["errors"].values())

    for content in ("clauses: [unclosed", "\x1f", "[" * 5000, "just text", "identifier: 3\n"):
        body = error(api.post("quality", URL, json={"format": "yaml", "content": content}), 422)
        assert set(body["errors"]) >= {"content.0"}, content
    body = error(api.post("quality", URL, json={"format": "yaml", "content": "a: 1\n\x1f"}), 422)
    assert body["errors"]["content.0"].startswith("line 2: invalid YAML")

    mismatch = error(
        api.post("quality", URL, json={"format": "yaml", "content": CHECKLIST_YAML, "identifier": "other"}), 422
    )
    assert set(mismatch["errors"]) == {"identifier"} and "goods-in" in mismatch["errors"]["identifier"]
    assert _stored() == 0


def test_invalid_import_bodies_are_422_naming_each_field(api, org):
    cases = [
        ({}, {"format", "content"}),
        ({"format": "xml", "content": "x"}, {"format"}),
        ({"format": "yaml", "content": ""}, {"content"}),
        ({"format": "yaml", "content": "a\x00"}, {"content"}),
        ({"format": "yaml", "content": 7}, {"content"}),
        ({"format": "yaml", "content": "x", "edition": 0}, {"edition"}),
        ({"format": "yaml", "content": "x", "edition": "2026"}, {"edition"}),
        ({"format": "yaml", "content": "x", "identifier": "i" * 61}, {"identifier"}),
        ({"format": "yaml", "content": "x", "replace": "yes please"}, {"replace"}),
        ({"format": "yaml", "content": "x", "author": "me"}, {"author"}),
    ]
    for body, fields in cases:
        assert set(error(api.post("quality", URL, json=body), 422)["errors"]) == fields, body
    assert _stored() == 0


def test_identifier_clashes_are_409_unless_replacing(api, org):
    ok(api.post("quality", URL, json={"format": "yaml", "content": CHECKLIST_YAML}), 201)
    again = error(api.post("quality", URL, json={"format": "yaml", "content": CHECKLIST_YAML}), 409)
    assert set(again["errors"]) == {"identifier"} and "already imported" in again["message"]
    changed = CHECKLIST_YAML.replace("title: Damage", "title: Damaged goods")
    replaced = ok(api.post("quality", URL, json={"format": "yaml", "content": changed, "replace": True}), 201)
    assert replaced["clauses"][1]["title"] == "Damaged goods"
    assert _stored() == 1

    bundled = CHECKLIST_YAML.replace("identifier: goods-in", "identifier: iso-9001-2015")
    clash = error(api.post("quality", URL, json={"format": "yaml", "content": bundled}), 409)
    assert set(clash["errors"]) == {"identifier"} and "bundled" in clash["errors"]["identifier"]
    other_urn = CHECKLIST_YAML.replace("identifier: goods-in", "identifier: goods-out")
    clash = error(api.post("quality", URL, json={"format": "yaml", "content": other_urn}), 409)
    assert set(clash["errors"]) == {"urn"}
    assert _stored() == 1


def test_only_admins_managers_and_quality_officers_import(api, org):
    for who in ("auditor", "owner", "viewer"):
        error(api.post(who, URL, json={"format": "yaml", "content": CHECKLIST_YAML}), 403)
    error(api.post(None, URL, json={"format": "yaml", "content": CHECKLIST_YAML}), 401)
    assert _stored() == 0


def test_comparing_editions(api, org):
    diff = ok(api.get("viewer", f"{URL}/iso-9001-2008/diff/iso-9001-2015"))
    assert (diff["old_identifier"], diff["new_identifier"], diff["mapped"]) == ("iso-9001-2008", "iso-9001-2015", True)
    assert diff["added"] and isinstance(diff["unchanged"], int)
    assert all(c["kind"] == "moved" and c["old"]["number"] != c["new"]["number"] for c in diff["moved"])
    change = diff["added"][0]
    assert change["kind"] == "added" and change["old"] is None and change["new"]["urn"].startswith("urn:iso:std:9001")
    same = ok(api.get("viewer", f"{URL}/iso-9001-2015/diff/iso-9001-2015"))
    assert not (same["added"] or same["removed"] or same["renamed"] or same["moved"] or same["changed"])
    error(api.get("viewer", f"{URL}/iso-9001-2015/diff/nope"), 404)
    error(api.get("viewer", f"{URL}/nope/diff/iso-9001-2015"), 404)
