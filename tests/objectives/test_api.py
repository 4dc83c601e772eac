"""The quality objectives API: create, approve (signed), measure (one value, CSV), computed KPIs, status."""

from __future__ import annotations

import datetime as dt

from qms.models import ObjectiveMeasurement

from ..conftest import PASSWORD
from ..helpers import UNNAMED_PART_BODY, UNNAMED_PART_TYPE, error, new_nc, ok, row_count
from .helpers import PLAN, months_ago

BASE = "/api/v1/objectives"


def _create(api, who: str = "quality", **overrides):
    body = {
        "title": "Fewer nonconformities",
        "kpi_name": "NCs raised per month",
        "measure": "nc_raised",
        "direction": "down",
        "target": 1,
        "starts_on": months_ago(5).isoformat(),
        "deadline": (dt.date.today() + dt.timedelta(days=200)).isoformat(),
        **PLAN,
        **overrides,
    }
    return api.post(who, BASE, json=body)


def test_objective_computed_from_the_nc_records_through_the_api(api, org):
    for months in (4, 4, 3, 2):
        new_nc(org, detected_on=months_ago(months) + dt.timedelta(days=1))
    created = ok(_create(api), 201)
    assert created["state"] == "draft" and created["unit"] == "NCs" and created["status"]["status"] == "not_started"
    url = created["links"]["self"]
    refused = error(api.fire("manager", url, "approve", signature_password="wrong"), 422)
    assert "signature_password" in refused["errors"]
    ok(api.fire("manager", url, "approve", signature_password=PASSWORD))
    active = ok(api.fire("quality", url, "activate"))
    assert active["state"] == "active" and active["status"]["points"] == 6
    values = ok(api.get("viewer", f"{url}/measurements"))
    assert [v["value"] for v in values] == [0, 2, 1, 1, 0, 0] and {v["source"] for v in values} == {"computed"}
    assert error(api.post("quality", f"{url}/measurements", json={"measured_on": "2026-01-31", "value": 1}), 409)
    new_nc(org)
    assert ok(api.post("quality", f"{url}/recompute"))["changed"] == 1
    listed = ok(api.get("viewer", f"{BASE}?measure=nc_raised&state=active"))
    assert listed["total"] == 1 and listed["items"][0]["status"]["slope"] is not None
    measures = ok(api.get("viewer", "/api/v1/objective-measures"))
    assert {m["key"] for m in measures} >= {"nc_raised", "capa_on_time_rate", "nps", "csi"}


def test_values_by_hand_and_csv(api, org):
    created = ok(_create(api, measure="manual", direction="up", target=95, unit="%", kpi_name="On time"), 201)
    url = created["links"]["self"]
    assert error(api.post("quality", f"{url}/measurements", json={"measured_on": "2026-01-31", "value": 1}), 409)
    ok(api.fire("manager", url, "approve", signature_password=PASSWORD))
    ok(api.fire("owner", url, "activate"))
    bad = error(api.post("quality", f"{url}/measurements", json={"measured_on": "2999-01-01", "value": "x"}), 422)
    assert set(bad["errors"]) == {"value"}
    bad = error(api.post("quality", f"{url}/measurements", json={"measured_on": "2999-01-01", "value": 1}), 422)
    assert set(bad["errors"]) == {"measured_on"}
    assert error(api.post("viewer", f"{url}/measurements", json={"measured_on": "2026-01-01", "value": 1}), 403)
    ok(api.post("quality", f"{url}/measurements", json={"measured_on": months_ago(3).isoformat(), "value": 88}), 201)
    csv_text = f"date,value,note\n{months_ago(2)},90,\n{months_ago(1)},9x,\n"
    bad = error(
        api.post("quality", f"{url}/measurements/import", data=csv_text, content_type="text/csv"),
        422,
    )
    assert bad["errors"] == {"line 3, column 'value'": "must be a number"} and row_count(ObjectiveMeasurement) == 1
    csv_text = f"date,value\n{months_ago(2)},90\n{months_ago(1)},93\n"
    counts = ok(api.post("quality", f"{url}/measurements/import", data=csv_text, content_type="text/csv"), 201)
    assert counts == {"added": 2, "replaced": 0}
    assert error(api.post("quality", f"{url}/measurements/import", data="x", content_type="application/xml"), 415)
    unnamed = api.post("quality", f"{url}/measurements/import", data=UNNAMED_PART_BODY, content_type=UNNAMED_PART_TYPE)
    assert error(unnamed, 422)["errors"] == {"(a part without a name)": "is not a field of this upload (only file)"}
    status = ok(api.get("viewer", url))["status"]
    assert status["latest"] == 93 and status["status"] in ("on_track", "at_risk") and status["forecast"] > 93
    blocked = ok(api.get("quality", f"{url}/events"))
    achieve = next(e for e in blocked if e["event"] == "mark_achieved")
    assert not achieve["allowed"] and "does not meet" in achieve["reason"]
    missed = ok(api.fire("quality", url, "mark_missed", data={"reason": "Late supplier", "follow_up": "opportunity"}))
    assert missed["links"]["opportunity"] and missed["opportunity_id"]


def test_hostile_input_is_refused_naming_the_field(api, org):
    bad = error(_create(api, target="NaN", direction="left", measure="guess", owner_id=0), 422)
    assert {"target", "direction", "measure", "owner_id"} <= set(bad["errors"])
    bad = error(_create(api, deadline=months_ago(12).isoformat()), 422)
    assert set(bad["errors"]) == {"deadline"}
    assert error(_create(api, who="viewer"), 403)
    assert error(api.get("viewer", f"{BASE}/999999"), 404)
    assert error(api.get("viewer", f"{BASE}?state=sideways"), 422)
    created = ok(_create(api), 201)
    changed = ok(api.patch("quality", created["links"]["self"], json={"target": 2, "title": "Fewer NCs"}))
    assert (changed["target"], changed["title"]) == (2, "Fewer NCs")
    assert error(api.patch("quality", created["links"]["self"], json={"state": "active"}), 422)


def test_report_pdf(api, org):
    ok(_create(api), 201)
    response = api.get("viewer", f"{BASE}/report.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
