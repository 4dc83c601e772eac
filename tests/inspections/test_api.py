"""/api/v1/inspections: list with filters, record (a rejected incoming one raises the supplier NC),
one, events and history; hostile input answers 422 naming the field, never a 500."""

from __future__ import annotations

import datetime as dt

from qms.models import Inspection

from ..equipment.builders import new_instrument
from ..helpers import error, ok, row_count
from ..suppliers.builders import approved_supplier

TODAY = dt.date.today()
URL = "/api/v1/inspections"


def test_record_list_and_review_over_the_api(app, org, api):
    supplier = approved_supplier(org)
    gauge = new_instrument(org)
    body = {
        "kind": "incoming",
        "inspected_on": TODAY.isoformat(),
        "item": "Cold-rolled sheet",
        "result": "rejected",
        "findings": "Oversize",
        "supplier_id": supplier.id,
        "equipment_id": gauge.id,
    }
    created = api.post("quality", URL, json=body)
    assert created.status_code == 201
    record = created.get_json()
    assert record["state"] == "recorded" and record["result_label"] == "Rejected"
    assert record["nonconformity_id"] is not None and record["links"]["nonconformity"].endswith(
        f"/nonconformities/{record['nonconformity_id']}"
    )
    assert created.headers["Location"].endswith(f"{URL}/{record['id']}")
    review = next(e for e in record["available_events"] if e["event"] == "review")
    assert review["allowed"] is False and "someone else" in review["reason"]

    listed = ok(api.get("viewer", f"{URL}?result=rejected&supplier_id={supplier.id}"))
    assert [i["id"] for i in listed["items"]] == [record["id"]]
    assert ok(api.get("viewer", f"{URL}?equipment_id={gauge.id}&kind=final"))["items"] == []
    reviewed = ok(api.post("manager", f"{URL}/{record['id']}/events/review", json={"data": {"review_comment": "Fine"}}))
    assert reviewed["state"] == "reviewed" and reviewed["review_comment"] == "Fine"
    history = ok(api.get("viewer", f"{URL}/{record['id']}/history"))
    assert [h["event"] for h in history][-1] == "review"


def test_hostile_input_is_refused_by_field(app, org, api):
    problem = error(api.post("owner", URL, json={"kind": "incoming", "item": "x" * 300, "result": "ok"}), 422)
    assert {"inspected_on", "item", "result"} <= set(problem["errors"])
    problem = error(
        api.post(
            "owner",
            URL,
            json={"kind": "incoming", "inspected_on": TODAY.isoformat(), "item": "Sheet", "result": "accepted"},
        ),
        422,
    )
    assert problem["errors"] == {"supplier_id": "is required for an incoming inspection (whose delivery was inspected)"}
    problem = error(
        api.post(
            "owner",
            URL,
            json={
                "kind": "final",
                "inspected_on": TODAY.isoformat(),
                "item": "Sheet",
                "result": "accepted",
                "equipment_id": "1",
                "colour": "red",
            },
        ),
        422,
    )
    assert {"equipment_id", "colour"} <= set(problem["errors"])
    assert error(api.post("viewer", URL, json={}), 403)
    assert error(api.get("viewer", f"{URL}?sort=colour"), 422)
    assert error(api.get("viewer", f"{URL}/999999"), 404)
    assert row_count(Inspection) == 0


def test_text_search_takes_wildcards_literally(app, org, api):
    """``q`` is text to find, not a LIKE pattern: ``%`` and ``_`` match themselves only."""
    found = []
    for item in ("Cold-rolled sheet", "Sheet 100% checked"):
        body = {"kind": "final", "inspected_on": TODAY.isoformat(), "item": item, "result": "accepted"}
        found.append(ok(api.post("quality", URL, json=body), 201)["id"])
    assert [i["id"] for i in ok(api.get("viewer", f"{URL}?q=%25"))["items"]] == [found[1]]
    assert ok(api.get("viewer", f"{URL}?q=d_s"))["items"] == []
    assert [i["id"] for i in ok(api.get("viewer", f"{URL}?q=COLD"))["items"]] == [found[0]]
