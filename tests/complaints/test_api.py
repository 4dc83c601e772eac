"""The complaints API (/api/v1/complaints): logging, the lifecycle through events (escalation to an
NC included), the register's filters, the virtual platforms figures and report."""

from __future__ import annotations

import datetime as dt

from qms.database import db
from qms.models import Complaint, Nonconformity
from qms.services import fire
from qms.services.complaints import log_complaint

from ..helpers import error, ok, row_count

COMPLAINTS = "/api/v1/complaints"
TODAY = dt.date.today()
TWEET = {
    "channel": "twitter",
    "summary": "Order arrived damaged",
    "description": "Customer posted a photo of a crushed box.",
    "customer_handle": "@wanjiku",
    "post_url": "https://x.com/wanjiku/status/1",
    "service": "Deliveries",
}


def _days_ago(days: int) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).isoformat()


def test_a_complaint_from_a_social_platform_to_closure(api, org):
    created = api.post("owner", COMPLAINTS, json=TWEET)
    complaint = ok(created, 201)
    url = f"{COMPLAINTS}/{complaint['id']}"
    assert created.headers["Location"].endswith(url) and created.headers["ETag"] == '"1"'
    assert complaint["reference"].startswith("CMP-") and complaint["state"] == "received"
    assert (complaint["channel"], complaint["channel_label"], complaint["virtual_platform"]) == (
        "twitter",
        "Twitter / X",
        True,
    )
    assert (complaint["customer_handle"], complaint["post_url"]) == ("@wanjiku", "https://x.com/wanjiku/status/1")
    assert complaint["owner"]["id"] == org.owner.id and complaint["logged_by"]["id"] == org.owner.id
    received = dt.datetime.fromisoformat(complaint["received_at"]).date()
    assert dt.date.fromisoformat(complaint["acknowledge_due"]) == received + dt.timedelta(days=2)
    assert dt.date.fromisoformat(complaint["resolve_due"]) == received + dt.timedelta(days=20)
    assert not complaint["overdue"] and complaint["nonconformity_id"] is None
    assert complaint["links"] == {
        "self": url,
        "history": f"{url}/history",
        "events": f"{url}/events",
        "nonconformity": None,
    }

    today = TODAY.isoformat()
    error(api.fire("owner", url, "acknowledge", data={"acknowledged_on": today, "severity": "low"}), 403)
    error(api.fire("quality", url, "investigate"), 409)
    body = error(api.fire("quality", url, "acknowledge", data={"acknowledged_on": "2999-01-01", "severity": "x"}), 422)
    assert set(body["errors"]) == {"data.severity"} or "data.acknowledged_on" in body["errors"]
    complaint = ok(api.fire("quality", url, "acknowledge", data={"acknowledged_on": today, "severity": "medium"}))
    assert (complaint["state"], complaint["severity"], complaint["acknowledged_on"]) == (
        "acknowledged",
        "medium",
        today,
    )
    ok(api.fire("owner", url, "investigate"))
    complaint = ok(
        api.fire("owner", url, "resolve", data={"resolution": "Replacement sent", "customer_satisfied": "yes"})
    )
    assert complaint["state"] == "resolved" and complaint["customer_satisfied"] == "yes"
    complaint = ok(api.fire("quality", url, "close", data={"communicated_on": today}, version=complaint["version"]))
    assert complaint["state"] == "closed" and complaint["communicated_on"] == today and complaint["closed_at"]
    history = ok(api.get("viewer", f"{url}/history"))
    assert [h["event"] for h in history] == ["acknowledge", "investigate", "resolve", "close"]

    figures = ok(api.get("viewer", f"{COMPLAINTS}/platforms"))
    twitter = next(f for f in figures["platforms"] if f["channel"] == "twitter")
    assert (twitter["total"], twitter["satisfied"], twitter["median_ack_days"]) == (1, 1, 0.0)
    assert twitter["outcomes"] == {"closed": 1} and twitter["channel_label"] == "Twitter / X"


def test_escalation_creates_the_nc_and_resolution_waits_for_it(api, org):
    complaint = ok(
        api.post(
            "quality",
            COMPLAINTS,
            json={"channel": "phone", "summary": "Wrong invoice", "description": "Billed twice", "customer_name": "O"},
        ),
        201,
    )
    url = f"{COMPLAINTS}/{complaint['id']}"
    ok(api.fire("quality", url, "acknowledge", data={"acknowledged_on": TODAY.isoformat(), "severity": "high"}))
    assert set(error(api.fire("quality", url, "escalate"), 422)["errors"]) == {"data.reason"}
    error(api.fire("owner", url, "escalate", data={"reason": "Systematic"}), 403)
    complaint = ok(api.fire("manager", url, "escalate", data={"reason": "Billing process fails systematically"}))
    assert complaint["state"] == "escalated" and complaint["nonconformity_reference"].startswith("NC-")
    nc = ok(api.get("viewer", complaint["links"]["nonconformity"]))
    assert nc["source"] == "customer_complaint" and complaint["reference"] in nc["title"]
    assert row_count(Nonconformity) == 1
    resolve = next(e for e in complaint["available_events"] if e["event"] == "resolve")
    assert not resolve["allowed"] and "still open" in resolve["reason"]
    body = error(api.fire("quality", url, "resolve", data={"resolution": "Refund"}), 409)
    assert "still open" in body["message"]
    fire(db.session.get(Nonconformity, nc["id"]), "reject", org.quality, {"reason": "A billing correction"})
    complaint = ok(api.fire("quality", url, "resolve", data={"resolution": "Refund issued"}))
    assert complaint["customer_satisfied"] == "unknown"
    complaint = ok(api.fire("quality", url, "reopen", data={"reason": "Still charged"}))
    assert complaint["state"] == "investigating" and complaint["nonconformity_id"] == nc["id"]
    assert row_count(Nonconformity) == 1


def test_invalid_complaints_are_422_naming_each_field_and_store_nothing(api, org):
    cases = [
        ({}, {"channel", "summary", "description"}),
        ({**TWEET, "channel": "pigeon"}, {"channel"}),
        ({**TWEET, "summary": " "}, {"summary"}),
        ({**TWEET, "summary": "x" * 201}, {"summary"}),
        ({**TWEET, "description": "a\x00b"}, {"description"}),
        ({**TWEET, "post_url": "javascript:alert(1)"}, {"post_url"}),
        ({**TWEET, "customer_handle": "", "post_url": ""}, {"customer_handle"}),
        ({**TWEET, "received_at": "yesterday"}, {"received_at"}),
        ({**TWEET, "received_at": "2999-01-01T00:00:00Z"}, {"received_at"}),
        ({**TWEET, "received_at": "0001-01-01T00:00:00+01:00"}, {"received_at"}),
        ({**TWEET, "owner_id": org.viewer.id}, {"owner_id"}),
        ({**TWEET, "owner_id": 999_999}, {"owner_id"}),
        ({**TWEET, "owner_id": 2**31}, {"owner_id"}),
        ({**TWEET, "owner_id": "3"}, {"owner_id"}),
        ({**TWEET, "state": "closed"}, {"state"}),
        ({**TWEET, "origin": "public_form"}, {"origin"}),
    ]
    for body, fields in cases:
        assert set(error(api.post("quality", COMPLAINTS, json=body), 422)["errors"]) == fields, body
    error(api.post("quality", COMPLAINTS, json=[TWEET]), 422)
    for who in ("auditor", "viewer"):
        error(api.post(who, COMPLAINTS, json=TWEET), 403)
    error(api.post(None, COMPLAINTS, json=TWEET), 401)
    assert row_count(Complaint) == 0
    # an owner and a date of receipt of the past
    complaint = ok(
        api.post("admin", COMPLAINTS, json={**TWEET, "owner_id": org.quality.id, "received_at": _days_ago(30)}), 201
    )
    assert complaint["owner"]["id"] == org.quality.id and complaint["overdue"]
    assert complaint["acknowledgement_overdue"] and complaint["resolution_overdue"]


def test_the_register_filters_sorts_and_pages(api, org):
    late = log_complaint(org.quality, **{**TWEET, "received_at": _days_ago(5)})
    phone = log_complaint(org.quality, channel="phone", summary="Rude", description="Rude agent", service="Shop")
    fresh = log_complaint(org.quality, channel="facebook", summary="Slow", description="D", customer_handle="@x")
    fire(phone, "acknowledge", org.quality, {"acknowledged_on": TODAY, "severity": "low"})

    def ids(query: str) -> list[int]:
        return [c["id"] for c in ok(api.get("viewer", f"{COMPLAINTS}?{query}"))["items"]]

    assert ids("") == [fresh.id, phone.id, late.id]
    assert ids("sort=received_at") == [late.id, phone.id, fresh.id]
    assert ids("sort=reference") == [late.id, phone.id, fresh.id]
    assert ids("sort=-state")[0] == phone.id
    assert ids("state=acknowledged") == [phone.id]
    assert ids("state=open") == [fresh.id, phone.id, late.id]
    assert ids("channel=virtual") == [fresh.id, late.id]
    assert ids("channel=phone") == [phone.id]
    assert ids("service=Shop") == [phone.id]
    assert ids("overdue=true") == [late.id]
    assert ids("overdue=false") == [fresh.id, phone.id]
    page = ok(api.get("viewer", f"{COMPLAINTS}?per_page=2&page=2"))
    assert (page["total"], page["pages"], len(page["items"])) == (3, 2, 1)
    for query, field in (
        ("colour=red", "colour"),
        ("state=lost", "state"),
        ("channel=pigeon", "channel"),
        ("overdue=perhaps", "overdue"),
        ("sort=colour", "sort"),
        ("page=0", "page"),
    ):
        assert set(error(api.get("viewer", f"{COMPLAINTS}?{query}"), 422)["errors"]) == {field}, query


def test_platform_figures_and_report(api, org):
    log_complaint(org.quality, **{**TWEET, "received_at": _days_ago(10)})
    log_complaint(org.quality, **{**TWEET, "channel": "facebook", "received_at": _days_ago(200)})
    log_complaint(org.quality, channel="phone", summary="S", description="D")
    figures = ok(api.get("viewer", f"{COMPLAINTS}/platforms"))
    assert figures["end"] == TODAY.isoformat() and figures["start"] == (TODAY - dt.timedelta(days=90)).isoformat()
    totals = {f["channel"]: f["total"] for f in figures["platforms"]}
    assert totals == {"facebook": 0, "twitter": 1, "whatsapp": 0, "instagram": 0}
    assert {f["channel"]: f["total"] for f in figures["other_channels"]}["phone"] == 1
    start = (TODAY - dt.timedelta(days=365)).isoformat()
    longer = ok(api.get("viewer", f"{COMPLAINTS}/platforms?start={start}&end={TODAY.isoformat()}"))
    assert {f["channel"]: f["total"] for f in longer["platforms"]}["facebook"] == 1
    overdue = next(f for f in longer["platforms"] if f["channel"] == "twitter")["overdue"]
    assert overdue == 1
    report = api.get("viewer", f"{COMPLAINTS}/platforms.pdf?start={start}")
    assert report.status_code == 200 and report.mimetype == "application/pdf" and report.data.startswith(b"%PDF")
    for query, field in (
        ("start=2026-02-30", "start"),
        ("start=2026-03-01&end=2026-02-01", "end"),
        ("start=2020-01-01&end=2026-01-01", "end"),
        ("start=2010-01-01", "start"),
        ("end=1899-12-31", "end"),
        ("channel=facebook", "channel"),
    ):
        for path in ("platforms", "platforms.pdf"):
            body = error(api.get("viewer", f"{COMPLAINTS}/{path}?{query}"), 422)
            assert set(body["errors"]) == {field}, (path, query)
    error(api.get(None, f"{COMPLAINTS}/platforms"), 401)


def test_unknown_complaints_and_ids_out_of_range_are_404(api, org):
    complaint = log_complaint(org.quality, channel="phone", summary="S", description="D")
    for url in (
        f"{COMPLAINTS}/0",
        f"{COMPLAINTS}/2147483648",
        f"{COMPLAINTS}/999999",
        f"{COMPLAINTS}/999999/history",
        f"{COMPLAINTS}/999999/events",
        f"{COMPLAINTS}/{complaint.id}/events/fly",
    ):
        for method in ("GET", "POST"):
            response = api.request("quality", method, url, json={})
            assert response.status_code in (404, 405), (method, url)
            assert response.mimetype == "application/json"
    error(api.fire("quality", f"{COMPLAINTS}/999999", "acknowledge"), 404)
    error(api.get("viewer", f"{COMPLAINTS}/999999"), 404)
