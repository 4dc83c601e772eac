"""The audits API (/api/v1/audit-programmes, /audits, checklists, coverage): an audit end to end,
the answer rules, team checks, and every answer of the REST contract."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from qms.database import db
from qms.models import Audit, AuditProgramme, ChecklistItem, Nonconformity
from qms.services.audits import add_question, assign_team, create_audit, create_site
from qms.services.tokens import create_token
from qms.services.users import create_user

from ..conftest import PASSWORD
from ..helpers import PLAN_DAY, ApiClient, audit_in_state, error, new_process, ok, row_count

ROLES = ("admin", "manager", "quality", "quality2", "auditor", "owner", "viewer")
AUDITS = "/api/v1/audits"
PROGRAMMES = "/api/v1/audit-programmes"


@pytest.fixture
def auditor2(org):
    org.auditor2 = create_user("auditor2@example.test", "Auditor Two", PASSWORD, {"internal_auditor"})
    return org.auditor2


@pytest.fixture
def tokens(org, auditor2) -> dict[str, str]:
    return {who: create_token(getattr(org, who), "tests")[1] for who in (*ROLES, "auditor2")}


def _put(api: ApiClient, who: str, url: str, body: Any, **kw: Any):
    return api.request(who, "PUT", url, json=body, **kw)


def _event(resource: dict[str, Any], name: str) -> dict[str, Any]:
    return next(e for e in resource["available_events"] if e["event"] == name)


def _items(api: ApiClient, audit_id: int, who: str = "auditor") -> list[dict[str, Any]]:
    return ok(api.get(who, f"{AUDITS}/{audit_id}/checklist"))["items"]


# --- the whole path -----------------------------------------------------------------------------


def test_an_audit_from_planning_to_its_signed_report_through_the_api(api, org):
    process = new_process(org)
    created = api.post(
        "quality",
        AUDITS,
        json={
            "title": "Production audit",
            "process_id": process.id,
            "clause_numbers": ["8.5"],
            "planned_start": PLAN_DAY.isoformat(),
            "planned_end": PLAN_DAY.isoformat(),
        },
    )
    audit = ok(created, 201)
    url = f"{AUDITS}/{audit['id']}"
    assert created.headers["Location"].endswith(url) and created.headers["ETag"] == '"1"'
    assert (audit["state"], audit["version"], audit["kind"]) == ("planned", 1, "internal")
    assert audit["reference"].startswith("AUD-2026-")
    assert audit["process"] == {"id": process.id, "name": "Production"}
    assert audit["scope"] == "The Production process" and audit["criteria"].startswith("ISO 9001")
    assert audit["links"] == {
        "self": url,
        "history": f"{url}/history",
        "events": f"{url}/events",
        "checklist": f"{url}/checklist",
        "team": f"{url}/team",
        "programme": None,
    }
    assert _event(audit, "schedule")["reason"] == "Assign a lead auditor first"

    team = ok(_put(api, "quality", f"{url}/team", {"lead_auditor_id": org.auditor.id}))
    assert team["lead_auditor"] == {"id": org.auditor.id, "name": org.auditor.name} and team["warnings"] == []
    assert _event(team, "schedule")["allowed"]

    day = PLAN_DAY.isoformat()
    audit = ok(api.fire("quality", url, "schedule", data={"planned_start": day, "planned_end": day}))
    assert audit["state"] == "scheduled"
    checklist = ok(api.get("auditor", f"{url}/checklist"))
    assert checklist["editable"] and not checklist["answering"]
    assert len(checklist["items"]) == 8 and {i["clause_number"] for i in checklist["items"]} >= {"8.5.1", "8.5.6"}
    assert all(i["result"] is None and i["answered_by"] is None for i in checklist["items"])

    added = ok(api.post("auditor", f"{url}/checklist", json={"question": "Is the traveller signed?"}), 201)
    assert (added["clause_number"], added["question"], added["position"]) == ("", "Is the traveller signed?", 9)
    edited = ok(api.patch("auditor", f"{url}/checklist/{added['id']}", json={"question": "Is it signed?"}))
    assert edited["question"] == "Is it signed?"
    assert api.delete("quality", f"{url}/checklist/{added['id']}").status_code == 204
    assert len(_items(api, audit["id"])) == 8

    ok(api.fire("auditor", url, "prepare"))
    audit = ok(api.fire("auditor", url, "start"))
    assert audit["state"] == "in_progress" and audit["actual_start"] == dt.date.today().isoformat()
    items = _items(api, audit["id"])
    for item in items[1:]:
        answered = ok(_put(api, "auditor", f"{url}/checklist/{item['id']}/answer", {"result": "conforming"}))
        assert (answered["result"], answered["nonconformity_id"]) == ("conforming", None)
        assert answered["revision"] == item["revision"] + 1
        assert answered["answered_by"]["id"] == org.auditor.id
    finding = ok(
        _put(
            api,
            "auditor",
            f"{url}/checklist/{items[0]['id']}/answer",
            {"result": "major", "notes": "Traveller for lot 42 unsigned", "expected_revision": items[0]["revision"]},
        )
    )
    assert finding["result"] == "major" and finding["nonconformity_reference"].startswith("NC-")
    assert finding["links"]["nonconformity"] == f"/api/v1/nonconformities/{finding['nonconformity_id']}"
    nc = ok(api.get("quality", finding["links"]["nonconformity"]))
    assert (nc["source"], nc["severity"], nc["owner"]["id"]) == ("internal_audit", "major", org.owner.id)

    audit = ok(api.get("viewer", url))
    assert audit["result_counts"]["conforming"] == 7 and audit["result_counts"]["major"] == 1
    assert audit["result_counts"]["unanswered"] == 0
    assert audit["scores"] == [
        {
            "standard_identifier": "iso-9001-2015",
            "conforming": 7,
            "applicable": 8,
            "percent": 87.5,
            "findings": {"major": 1, "minor": 0, "observation": 0, "ofi": 0},
        }
    ]
    audit = ok(
        api.fire("auditor", url, "draft_report", data={"summary": "One major finding."}, signature_password=PASSWORD)
    )
    assert audit["state"] == "report_drafted" and audit["summary"] == "One major finding."
    history = ok(api.get("viewer", f"{url}/history"))
    assert [h["event"] for h in history] == ["schedule", "prepare", "start", "draft_report"]
    assert history[-1]["signature_meaning"] == "submitted as lead auditor"
    assert error(api.post("auditor", f"{url}/checklist", json={"question": "Late?"}), 409)


# --- answering ----------------------------------------------------------------------------------


def _running(org, process=None) -> Audit:
    return audit_in_state(org, "in_progress", process=process)


def _answer_url(audit: Audit, item: ChecklistItem) -> str:
    return f"{AUDITS}/{audit.id}/checklist/{item.id}/answer"


def test_only_the_audits_auditors_answer_its_checklist(api, org, auditor2):
    audit = _running(org)
    item = audit.items[0]
    for who in ("quality", "manager", "admin", "owner", "viewer", "auditor2"):
        body = error(_put(api, who, _answer_url(audit, item), {"result": "conforming"}), 403)
        assert "auditors of this audit" in body["message"] or who == "viewer"
    # an observer on the team is not an auditor either
    db.session.expire_all()
    audit_row = db.session.get(Audit, audit.id)
    assert audit_row.state == "in_progress"
    assert db.session.get(ChecklistItem, item.id).result is None


def test_a_team_member_answers_but_an_observer_does_not(api, org, auditor2):
    process = new_process(org)
    audit = create_audit(org.quality, title="A", process_id=process.id, clause_numbers=["8.5"], planned_start=PLAN_DAY)
    observer = create_user("obs@example.test", "Obs", PASSWORD, {"internal_auditor"})
    assign_team(
        audit,
        org.quality,
        lead_auditor_id=org.auditor.id,
        members=[(auditor2.id, "auditor"), (observer.id, "observer")],
    )
    from qms.services import fire

    fire(audit, "schedule", org.quality, {"planned_start": PLAN_DAY, "planned_end": PLAN_DAY})
    fire(audit, "prepare", org.auditor)
    fire(audit, "start", org.auditor)
    item = audit.items[0]
    assert ok(_put(api, "auditor2", _answer_url(audit, item), {"result": "ofi", "notes": "Label the racks"}))
    observer_token = create_token(observer, "t")[1]
    error(_put(api, observer_token, _answer_url(audit, item), {"result": "conforming"}), 403)


@pytest.mark.parametrize("state", ["prepared", "report_drafted", "closed"])
def test_answers_outside_an_audit_in_progress_are_refused(api, org, state):
    audit = audit_in_state(org, state)
    item = audit.items[0]
    before = (item.result, item.revision)
    body = error(_put(api, "auditor", _answer_url(audit, item), {"result": "minor", "notes": "x"}), 409)
    assert "in progress" in body["message"]
    db.session.expire_all()
    item = db.session.get(ChecklistItem, item.id)
    assert (item.result, item.revision) == before and item.nonconformity_id is None


def test_a_stale_revision_is_409_and_the_same_answer_twice_raises_one_nonconformity(api, org):
    audit = _running(org)
    item = audit.items[0]
    url = _answer_url(audit, item)
    read = item.revision
    finding = {"result": "minor", "notes": "Work instruction WI-7 out of date", "expected_revision": read}
    first = ok(_put(api, "auditor", url, finding))
    assert first["revision"] == read + 1 and first["nonconformity_id"]
    again = ok(_put(api, "auditor", url, finding))  # a retried save from the same copy
    assert (again["revision"], again["nonconformity_id"]) == (read + 1, first["nonconformity_id"])
    same = ok(_put(api, "auditor", url, {**finding, "expected_revision": read + 1}))
    assert same["nonconformity_id"] == first["nonconformity_id"]
    assert row_count(Nonconformity) == 1

    stale = error(_put(api, "auditor", url, {"result": "conforming", "expected_revision": read}), 409)
    assert f"revision {read + 1}" in stale["message"]
    db.session.expire_all()
    assert db.session.get(ChecklistItem, item.id).result == "minor"
    # a changed answer keeps its one nonconformity
    ok(_put(api, "auditor", url, {"result": "major", "notes": "Worse than thought", "expected_revision": read + 1}))
    assert row_count(Nonconformity) == 1


def test_invalid_answers_are_422_naming_the_field(api, org):
    audit = _running(org)
    url = _answer_url(audit, audit.items[0])
    read = audit.items[0].revision
    cases = [
        ({"result": "splendid"}, {"result"}),
        ({}, {"result"}),
        ({"result": 3}, {"result"}),
        ({"result": "major"}, {"notes"}),
        ({"result": "major", "notes": "   "}, {"notes"}),
        ({"result": "minor", "notes": "a\x00b"}, {"notes"}),
        ({"result": "conforming", "expected_revision": -1}, {"expected_revision"}),
        ({"result": "conforming", "expected_revision": "1"}, {"expected_revision"}),
        ({"result": "conforming", "colour": "red"}, {"colour"}),
    ]
    for body, fields in cases:
        assert set(error(_put(api, "auditor", url, body), 422)["errors"]) == fields, body
    assert error(api.request("auditor", "PUT", url, data="[", content_type="application/json"), 400)
    assert row_count(Nonconformity) == 0
    db.session.expire_all()
    assert db.session.get(ChecklistItem, audit.items[0].id).revision == read


def test_clearing_an_answer(api, org):
    audit = _running(org)
    url = _answer_url(audit, audit.items[0])
    answered = ok(_put(api, "auditor", url, {"result": "conforming"}))
    cleared = ok(_put(api, "auditor", url, {"result": None}))
    assert (cleared["result"], cleared["answered_by"], cleared["revision"]) == (None, None, answered["revision"] + 1)


def test_items_of_another_audit_and_ids_out_of_range_are_404(api, org):
    audit = _running(org)
    other = create_audit(org.quality, title="Other", clause_numbers=["7.1"])
    foreign = add_question(other, org.quality, question="Elsewhere?")
    base = f"{AUDITS}/{audit.id}/checklist/{foreign.id}"
    error(_put(api, "auditor", f"{base}/answer", {"result": "conforming"}), 404)
    error(api.patch("quality", base, json={"question": "Moved?"}), 404)
    error(api.delete("quality", base), 404)
    for url in (
        f"{AUDITS}/0",
        f"{AUDITS}/2147483648",
        f"{AUDITS}/999999",
        f"{AUDITS}/-1/checklist",
        f"{AUDITS}/{audit.id}/checklist/2147483648/answer",
        f"{AUDITS}/{audit.id}/checklist/999999",
        f"{PROGRAMMES}/0",
        f"{PROGRAMMES}/999999",
        f"{AUDITS}/{audit.id}/events/fly",
    ):
        for method in ("GET", "DELETE"):
            response = api.request("quality", method, url)
            assert response.status_code in (404, 405), (method, url)
            assert response.mimetype == "application/json"
    error(api.get("quality", f"{AUDITS}/999999"), 404)
    error(api.patch("quality", f"{AUDITS}/{audit.id}/checklist/999999", json={"question": "Q?"}), 404)
    error(_put(api, "auditor", f"{AUDITS}/{audit.id}/checklist/999999/answer", {"result": None}), 404)
    error(_put(api, "quality", f"{AUDITS}/999999/team", {"lead_auditor_id": org.auditor.id}), 404)
    error(api.post("quality", f"{AUDITS}/999999/checklist", json={"question": "Q?"}), 404)
    error(api.post("quality", f"{AUDITS}/999999/checklist/generate"), 404)
    error(api.post("quality", f"{PROGRAMMES}/999999/generate"), 404)
    db.session.expire_all()
    assert db.session.get(ChecklistItem, foreign.id).question == "Elsewhere?"


# --- checklists ---------------------------------------------------------------------------------


def test_checklist_edits_follow_the_audits_state_and_team(api, org, auditor2):
    process = new_process(org)
    audit = create_audit(org.quality, title="A", process_id=process.id, clause_numbers=["7.1"], planned_start=PLAN_DAY)
    assign_team(audit, org.quality, lead_auditor_id=org.auditor.id)
    url = f"{AUDITS}/{audit.id}/checklist"
    generated = ok(api.post("auditor", f"{url}/generate"))
    assert generated["added"] == len(generated["items"]) > 5
    assert ok(api.post("quality", f"{url}/generate", json={}))["added"] == 0  # nothing repeated
    again = ok(api.post("quality", f"{url}/generate", json={"replace": True}))
    assert again["added"] == generated["added"]
    for who in ("auditor2", "manager", "owner", "viewer"):
        error(api.post(who, url, json={"question": "Mine?"}), 403)
        error(api.post(who, f"{url}/generate"), 403)
    item = again["items"][0]["id"]
    error(api.patch("owner", f"{url}/{item}", json={"question": "Changed"}), 403)
    error(api.delete("viewer", f"{url}/{item}"), 403)

    bad = [
        ({"question": " "}, {"question"}),
        ({"question": "x" * 2001}, {"question"}),
        ({"question": "Ok?", "clause_number": "99.9"}, {"clause_number"}),
        ({"clause_number": "7.1"}, {"question"}),
        ({"question": "Ok?", "weight": 2}, {"weight"}),
    ]
    for body, fields in bad:
        assert set(error(api.post("auditor", url, json=body), 422)["errors"]) == fields, body
    assert set(error(api.patch("auditor", f"{url}/{item}", json={"question": ""}), 422)["errors"]) == {"question"}
    assert set(error(api.post("auditor", f"{url}/generate", json={"replace": "perhaps"}), 422)["errors"]) == {"replace"}
    with_clause = ok(api.post("auditor", url, json={"question": "Calibrated?", "clause_number": "7.1.5"}), 201)
    assert with_clause["clause_urn"] == "urn:iso:std:9001:2015:clause:7.1.5"

    running = _running(org, process)
    run_url = f"{AUDITS}/{running.id}/checklist"
    first = running.items[0].id
    error(api.post("auditor", run_url, json={"question": "Late?"}), 409)
    error(api.post("quality", f"{run_url}/generate"), 409)
    error(api.patch("auditor", f"{run_url}/{first}", json={"question": "Late?"}), 409)
    error(api.delete("auditor", f"{run_url}/{first}"), 409)
    assert len(_items(api, running.id)) == len(running.items)


# --- creating audits and teams ------------------------------------------------------------------


def test_invalid_audit_bodies_are_422_naming_each_field_and_store_nothing(api, org):
    process = new_process(org)
    cases = [
        ({}, {"title"}),
        ({"title": "  "}, {"title"}),
        ({"title": "A", "kind": "external"}, {"kind"}),
        ({"title": "A", "standard_identifier": "iso-27001"}, {"standard_identifier"}),
        ({"title": "A", "clause_numbers": ["99.1"]}, {"clause_numbers"}),
        ({"title": "A", "clause_numbers": "8.5"}, {"clause_numbers"}),
        ({"title": "A", "process_id": 999_999}, {"process_id"}),
        ({"title": "A", "process_id": 2**31}, {"process_id"}),
        ({"title": "A", "process_id": "1"}, {"process_id"}),
        ({"title": "A", "site_id": 5}, {"site_id"}),
        ({"title": "A", "programme_id": 5}, {"programme_id"}),
        ({"title": "A", "planned_start": "2026-02-30"}, {"planned_start"}),
        ({"title": "A", "planned_start": "2026-03-02", "planned_end": "2026-03-01"}, {"planned_end"}),
        ({"title": "A", "scope": "\x00"}, {"scope"}),
        ({"title": "A", "owner": 3}, {"owner"}),
        ({"title": "x" * 201, "process_id": process.id}, {"title"}),
    ]
    for body, fields in cases:
        assert set(error(api.post("quality", AUDITS, json=body), 422)["errors"]) == fields, body
    error(api.post("quality", AUDITS, json=[1, 2]), 422)
    for who in ("admin", "auditor", "owner", "viewer"):
        error(api.post(who, AUDITS, json={"title": "A"}), 403)
    assert row_count(Audit) == 0


def test_team_assignment_checks_people_and_warns_of_double_bookings(api, org, auditor2):
    process = new_process(org)
    first = audit_in_state(org, "scheduled", process=process)
    audit = create_audit(org.quality, title="B", process_id=process.id, clause_numbers=["8.5"], planned_start=PLAN_DAY)
    url = f"{AUDITS}/{audit.id}/team"
    body = {"lead_auditor_id": auditor2.id, "members": [{"user_id": org.auditor.id, "role": "technical_expert"}]}
    result = ok(_put(api, "manager", url, body))
    assert result["lead_auditor"]["id"] == auditor2.id
    assert result["team"] == [{"user": {"id": org.auditor.id, "name": org.auditor.name}, "role": "technical_expert"}]
    assert len(result["warnings"]) == 1 and first.reference in result["warnings"][0]
    assert org.auditor.name in result["warnings"][0]
    # the whole team is replaced: members left out go
    result = ok(_put(api, "quality", url, {"lead_auditor_id": auditor2.id}))
    assert result["team"] == [] and result["warnings"] == []

    cases = [
        ({}, {"lead_auditor_id"}),
        ({"lead_auditor_id": 999_999}, {"lead_auditor_id"}),
        ({"lead_auditor_id": org.owner.id}, {"lead_auditor_id"}),  # owns the process, and is no auditor
        ({"lead_auditor_id": org.viewer.id}, {"lead_auditor_id"}),
        ({"lead_auditor_id": org.auditor.id, "members": [{"user_id": 999_999}]}, {"members.0.user_id"}),
        (
            {"lead_auditor_id": org.auditor.id, "members": [{"user_id": org.quality.id, "role": "boss"}]},
            {"members.0.role"},
        ),
        ({"lead_auditor_id": org.auditor.id, "members": [{"role": "observer"}]}, {"members.0.user_id"}),
        (
            {"lead_auditor_id": org.auditor.id, "members": [{"user_id": org.owner.id, "role": "auditor"}]},
            {"members"},
        ),
        (
            {
                "lead_auditor_id": org.auditor.id,
                "members": [{"user_id": auditor2.id}, {"user_id": auditor2.id, "role": "observer"}],
            },
            {"members.1.user_id"},
        ),
        ({"lead_auditor_id": org.auditor.id, "members": {"user_id": 1}}, {"members"}),
    ]
    for body, fields in cases:
        assert set(error(_put(api, "quality", url, body), 422)["errors"]) == fields, body
    for who in ("admin", "auditor", "owner", "viewer"):
        error(_put(api, who, url, {"lead_auditor_id": org.auditor.id}), 403)
    db.session.expire_all()
    audit = db.session.get(Audit, audit.id)
    assert audit.lead_auditor_id == auditor2.id and audit.team == []
    # an observer who owns the process may watch
    watched = ok(
        _put(
            api,
            "quality",
            url,
            {"lead_auditor_id": auditor2.id, "members": [{"user_id": org.owner.id, "role": "observer"}]},
        )
    )
    assert watched["team"][0]["role"] == "observer"

    running = _running(org, process)
    error(_put(api, "quality", f"{AUDITS}/{running.id}/team", {"lead_auditor_id": auditor2.id}), 409)


def test_events_follow_the_lifecycle_contract(api, org):
    audit = audit_in_state(org, "planned")
    url = f"{AUDITS}/{audit.id}"
    error(api.fire("auditor", url, "start"), 409)
    error(api.fire("owner", url, "schedule"), 403)
    error(api.fire("quality", url, "fly"), 404)
    body = error(api.fire("quality", url, "schedule", data={"planned_start": "soon"}), 422)
    assert set(body["errors"]) == {"data.planned_start"}
    assign_team(audit, org.quality, lead_auditor_id=org.auditor.id)
    error(api.fire("quality", url, "schedule", headers={"If-Match": '"7"'}), 409)
    day = PLAN_DAY.isoformat()
    # assigning the team changed the audit: version 2
    assert ok(api.fire("quality", url, "schedule", version=2, data={"planned_start": day}))["state"] == "scheduled"
    events = ok(api.get("viewer", f"{url}/events"))
    assert {e["event"] for e in events} >= {"prepare", "postpone", "cancel"}
    assert not any(e["allowed"] for e in events)


# --- lists --------------------------------------------------------------------------------------


def test_audit_list_filters_sorts_and_pages(api, org):
    production = new_process(org)
    stores = new_process(org, code="STORES")
    running = audit_in_state(org, "in_progress", process=production)
    planned = create_audit(
        org.quality, title="Stores audit", process_id=stores.id, clause_numbers=["7.1"], planned_start="2027-05-03"
    )
    service = create_audit(
        org.quality,
        title="Counter service",
        kind="service_performance",
        standard_identifier="customer-service-standards",
        planned_start="2026-09-01",
    )
    undated = create_audit(org.quality, title="Undated", clause_numbers=["9.2"])

    def ids(query: str) -> list[int]:
        return [a["id"] for a in ok(api.get("viewer", f"{AUDITS}?{query}"))["items"]]

    assert ids("sort=planned_start") == [running.id, service.id, planned.id, undated.id]
    assert ids("sort=-planned_start") == [planned.id, service.id, running.id, undated.id]
    assert ids("") == ids("sort=-planned_start")
    assert ids("sort=title") == [service.id, running.id, planned.id, undated.id]
    assert ids("sort=state")[-1] == running.id
    assert ids("state=in_progress") == [running.id]
    assert ids(f"process_id={stores.id}") == [planned.id]
    assert sorted(ids("year=2026")) == sorted([running.id, service.id])
    assert ids("kind=service_performance") == [service.id]
    assert ids(f"lead_auditor_id={org.auditor.id}") == [running.id]
    assert ids("process_id=999999") == []

    page = ok(api.get("viewer", f"{AUDITS}?sort=reference&per_page=3&page=2"))
    assert (page["total"], page["pages"], page["page"], page["per_page"]) == (4, 2, 2, 3)
    assert len(page["items"]) == 1
    assert ok(api.get("viewer", f"{AUDITS}?page=9"))["items"] == []

    for query, field in (
        ("colour=red", "colour"),
        ("state=lost", "state"),
        ("year=99", "year"),
        ("year=abc", "year"),
        ("kind=x", "kind"),
        ("process_id=0", "process_id"),
        ("lead_auditor_id=2147483648", "lead_auditor_id"),
        ("sort=colour", "sort"),
        ("per_page=101", "per_page"),
        ("page=0", "page"),
    ):
        assert set(error(api.get("viewer", f"{AUDITS}?{query}"), 422)["errors"]) == {field}, query


# --- programmes ---------------------------------------------------------------------------------


def test_a_programme_generates_its_audits_once(api, org):
    production = new_process(org, risk="high")
    stores = new_process(org, code="STORES", risk="low")
    site = create_site(org.quality, name="Main works", code="MW")
    response = api.post(
        "quality",
        PROGRAMMES,
        json={
            "year": 2027,
            "title": "Audit programme 2027",
            "site_id": site.id,
            "objectives": "Cover every process",
            "entries": [{"process_id": production.id}, {"process_id": stores.id, "audits_per_year": 2}],
        },
    )
    programme = ok(response, 201)
    url = f"{PROGRAMMES}/{programme['id']}"
    assert response.headers["Location"].endswith(url)
    assert programme["site"] == {"id": site.id, "name": "Main works"} and programme["audits"] == []
    assert [(e["process_code"], e["risk"], e["audits_per_year"]) for e in programme["entries"]] == [
        ("PROD", "high", 4),
        ("STORES", "low", 2),
    ]
    assert programme["links"]["generate"] == f"{url}/generate"
    for who in ("admin", "auditor", "owner", "viewer"):
        error(api.post(who, f"{url}/generate"), 403)
    assert row_count(Audit) == 0

    created = ok(api.post("manager", f"{url}/generate"))
    assert len(created) == 6
    assert all(a["state"] == "planned" and a["links"]["programme"] == url for a in created)
    assert sorted(a["planned_start"][:7] for a in created if a["process"]["id"] == production.id) == [
        "2027-01",
        "2027-04",
        "2027-07",
        "2027-10",
    ]
    assert ok(api.post("quality", f"{url}/generate")) == []
    shown = ok(api.get("viewer", url))
    assert sorted(a["id"] for a in shown["audits"]) == sorted(a["id"] for a in created)
    assert {a["state"] for a in shown["audits"]} == {"planned"}
    listed = ok(api.get("viewer", f"{AUDITS}?programme_id={programme['id']}&per_page=100"))
    assert listed["total"] == 6

    page = ok(api.get("viewer", f"{PROGRAMMES}?year=2027"))
    assert [p["id"] for p in page["items"]] == [programme["id"]] and page["total"] == 1
    assert ok(api.get("viewer", f"{PROGRAMMES}?year=2026"))["items"] == []
    assert ok(api.get("viewer", f"{PROGRAMMES}?site_id={site.id}"))["total"] == 1
    assert set(error(api.get("viewer", f"{PROGRAMMES}?colour=1"), 422)["errors"]) == {"colour"}


def test_invalid_programmes_are_422_naming_each_field_and_store_nothing(api, org):
    process = new_process(org)
    api.post("quality", PROGRAMMES, json={"year": 2027, "title": "Existing"})
    assert row_count(AuditProgramme) == 1
    cases = [
        ({}, {"year", "title"}),
        ({"year": 1999, "title": "T"}, {"year"}),
        ({"year": "2027", "title": "T"}, {"year"}),
        ({"year": 2027, "title": "Again"}, {"year"}),  # one programme per year and site
        ({"year": 2028, "title": " "}, {"title"}),
        ({"year": 2028, "title": "T", "standard_identifier": "nope"}, {"standard_identifier"}),
        ({"year": 2028, "title": "T", "site_id": 999}, {"site_id"}),
        ({"year": 2028, "title": "T", "entries": [{"process_id": 999}]}, {"entries.0.process_id"}),
        ({"year": 2028, "title": "T", "entries": [{}]}, {"entries.0.process_id"}),
        ({"year": 2028, "title": "T", "entries": [{"process_id": process.id, "risk": "huge"}]}, {"entries.0.risk"}),
        (
            {"year": 2028, "title": "T", "entries": [{"process_id": process.id, "audits_per_year": 13}]},
            {"entries.0.audits_per_year"},
        ),
        (
            {"year": 2028, "title": "T", "entries": [{"process_id": process.id}, {"process_id": process.id}]},
            {"entries.1.process_id"},
        ),
        ({"year": 2028, "title": "T", "entries": "all"}, {"entries"}),
    ]
    for body, fields in cases:
        assert set(error(api.post("quality", PROGRAMMES, json=body), 422)["errors"]) == fields, body
    for who in ("admin", "auditor", "owner", "viewer"):
        error(api.post(who, PROGRAMMES, json={"year": 2029, "title": "T"}), 403)
    assert row_count(AuditProgramme) == 1


# --- coverage -----------------------------------------------------------------------------------


def test_the_coverage_matrix(api, org):
    process = new_process(org, clauses=("7.1", "8.5", "9.2"))
    audit_in_state(org, "report_drafted", process=process, clauses=("8.5",))
    create_audit(
        org.quality,
        title="Later",
        process_id=process.id,
        clause_numbers=["9.2"],
        planned_start=PLAN_DAY.replace(month=9),
    )
    matrix = ok(api.get("viewer", f"{AUDITS}/coverage?year={PLAN_DAY.year}"))
    assert matrix["standard"]["identifier"] == "iso-9001-2015" and matrix["site_id"] is None
    assert matrix["processes"] == [{"id": process.id, "name": "Production", "code": "PROD"}]
    assert {"number": "8.5", "title": "Production and service provision"} in matrix["clauses"]
    cells = {c["clause"]: c for c in matrix["cells"]}
    assert set(cells) == {"7.1", "8.5", "9.2"}
    assert (cells["8.5"]["status"], cells["8.5"]["audited"], cells["8.5"]["results"]) == (
        "audited",
        1,
        {"conforming": 8},
    )
    assert cells["8.5"]["worst"] == "conforming"
    assert (cells["9.2"]["status"], cells["9.2"]["planned"]) == ("planned", 1)
    assert cells["7.1"]["status"] == "uncovered"
    assert matrix["counts"] == {"audited": 1, "planned": 1, "uncovered": 1} and matrix["relevant"] == 3
    assert matrix["percent_audited"] == 33.3
    assert "8.5" not in matrix["uncovered_clauses"] and "7.1" in matrix["uncovered_clauses"]
    assert ok(api.get("viewer", f"{AUDITS}/coverage?year=2030"))["counts"]["audited"] == 0
    deep = ok(api.get("viewer", f"{AUDITS}/coverage?year={PLAN_DAY.year}&depth=1"))
    assert {c["clause"] for c in deep["cells"]} == {"7", "8", "9"}

    for query, field in (
        ("", "year"),
        ("year=1", "year"),
        ("year=2026&standard=nope", "standard"),
        ("year=2026&site_id=999", "site_id"),
        ("year=2026&site_id=0", "site_id"),
        ("year=2026&depth=9", "depth"),
        ("year=2026&colour=1", "colour"),
    ):
        assert set(error(api.get("viewer", f"{AUDITS}/coverage?{query}"), 422)["errors"]) == {field}, query


def test_requests_without_a_token_are_401(api, org):
    for method, url in (
        ("GET", AUDITS),
        ("POST", AUDITS),
        ("GET", f"{AUDITS}/coverage?year=2026"),
        ("GET", PROGRAMMES),
        ("PUT", f"{AUDITS}/1/checklist/1/answer"),
    ):
        assert error(api.request(None, method, url, json={}), 401)
