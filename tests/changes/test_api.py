"""Planning of changes through the API: a request, its signed approval, tasks and the post-change review."""

from __future__ import annotations

import datetime as dt

from qms.services.reviews import open_org_change_review

from ..conftest import PASSWORD
from ..helpers import error, new_process, ok

BASE = "/api/v1/change-requests"
PLAN = {
    "purpose": "Move dispatch to the new warehouse",
    "consequences": "Two days of reduced capacity",
    "resources": "Forklift hire, overtime",
    "responsibilities": "Logistics manager leads; QA checks",
}


def test_a_change_from_request_to_post_change_review(api, org):
    process = new_process(org)
    created = ok(api.post("owner", BASE, json={"title": "New warehouse", "process_ids": [process.id]}), 201)
    url = created["links"]["self"]
    blocked = next(e for e in created["available_events"] if e["event"] == "submit")
    assert not blocked["allowed"] and "purpose" in blocked["reason"]
    ok(api.patch("owner", url, json=PLAN))
    ok(api.fire("owner", url, "submit"))
    assert error(api.patch("owner", url, json={"risks": "x"}), 409)
    ok(api.fire("manager", url, "approve", data={"planned_for": "2099-01-01"}, signature_password=PASSWORD))
    start = next(e for e in ok(api.get("owner", f"{url}/events")) if e["event"] == "start_implementation")
    assert not start["allowed"]
    body = {"title": "Move racks", "owner_id": org.owner.id, "due_date": "2099-01-01"}
    task = ok(api.post("owner", f"{url}/tasks", json=body), 201)
    ok(api.fire("owner", url, "start_implementation"))
    guard = error(api.fire("owner", url, "complete_implementation", data={"review_due": "2099-02-01"}), 409)
    assert "still open" in guard["message"]
    assert error(api.post("auditor", f"{url}/tasks/{task['id']}/complete", json={"outcome": "Done"}), 403)
    done = ok(api.post("owner", f"{url}/tasks/{task['id']}/complete", json={"outcome": "Racks moved"}))
    assert done["status"] == "done"
    assert error(api.post("owner", f"{url}/tasks/999999/complete", json={"outcome": "x"}), 404)
    review_due = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    ok(api.fire("owner", url, "complete_implementation", data={"review_due": review_due}))
    closed = ok(
        api.fire("manager", url, "close", data={"review_findings": "Dispatch on time"}, signature_password=PASSWORD)
    )
    assert closed["state"] == "closed" and closed["tasks"][0]["outcome"] == "Racks moved"


def test_an_org_change_review_opens_a_change_request(api, org):
    review = open_org_change_review(org.owner, title="Night shift", change_kind="process", description="From March")
    created = ok(api.post("quality", BASE, json={"org_change_review_id": review.id}), 201)
    assert created["title"] == "Night shift" and created["purpose"] == "From March"
    assert created["links"]["org_change_review"]
    again = error(api.post("quality", BASE, json={"org_change_review_id": review.id}), 422)
    assert "already has a change request" in again["errors"]["org_change_review_id"]


def test_hostile_input(api, org):
    assert error(api.post("viewer", BASE, json={"title": "x"}), 403)
    bad = error(api.post("quality", BASE, json={"title": "", "process_ids": [999999], "document_ids": "x"}), 422)
    assert {"title", "document_ids"} <= set(bad["errors"])
    bad = error(api.post("quality", BASE, json={"title": "T", "process_ids": [999999]}), 422)
    assert "process_ids.0" in bad["errors"]
    assert error(api.post("quality", BASE, json={"org_change_review_id": 999999}), 422)
