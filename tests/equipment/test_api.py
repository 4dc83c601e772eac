"""The equipment API: register, calibrations (certificate as an attachment), the out-of-tolerance
assessment raising an NC, the label, and the lifecycle's guard on returning to service."""

from __future__ import annotations

import datetime as dt
import io

from ..helpers import error, new_nc, ok
from .builders import calibrate, new_instrument

EQUIPMENT = "/api/v1/equipment"
TODAY = dt.date.today()
GAUGE = {
    "identifier": "PG-7",
    "name": "Pressure gauge",
    "interval_days": 180,
    "accuracy": "±0.5 bar",
    "location": "Boiler",
}


def test_register_calibrate_out_of_tolerance_and_raise_an_nc(api, org):
    error(api.post("owner", EQUIPMENT, json=GAUGE), 403)
    body = error(api.post("quality", EQUIPMENT, json={**GAUGE, "interval_days": 0, "x": 1}), 422)
    assert {"interval_days", "x"} <= set(body["errors"])
    created = api.post("quality", EQUIPMENT, json=GAUGE)
    gauge = ok(created, 201)
    assert gauge["reference"] == "PG-7" and gauge["calibration_status"] == "overdue"
    error(api.post("quality", EQUIPMENT, json=GAUGE), 422)
    url = f"{EQUIPMENT}/{gauge['id']}"
    calibration = {
        "calibrated_on": (TODAY - dt.timedelta(days=30)).isoformat(),
        "performed_by": "KEBS",
        "as_found_in_tolerance": True,
        "as_left_in_tolerance": True,
        "traceability": "KEBS national standards",
    }
    result = ok(api.post("owner", f"{url}/calibrations", json=calibration), 201)
    assert (
        result["assessment"] is None
        and result["calibration"]["next_due"] == (TODAY + dt.timedelta(days=150)).isoformat()
    )
    assert ok(api.get("viewer", url))["calibration_status"] == "in_service"
    upload = api.post(
        "quality",
        f"{url}/attachments",
        data={"file": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "cert.pdf")},
        content_type="multipart/form-data",
    )
    attachment = ok(upload, 201)
    bad = {
        **calibration,
        "calibrated_on": TODAY.isoformat(),
        "as_found_in_tolerance": False,
        "certificate_attachment_id": 999999,
    }
    body = error(api.post("quality", f"{url}/calibrations", json=bad), 422)
    assert set(body["errors"]) == {"as_found", "certificate_attachment_id"}
    bad.update(as_found="+0.8 bar", certificate_attachment_id=attachment["id"], as_left_in_tolerance=False)
    result = ok(api.post("quality", f"{url}/calibrations", json=bad), 201)
    assessment = result["assessment"]
    assert assessment["state"] == "open" and assessment["window_start"] == calibration["calibrated_on"]
    assert result["calibration"]["certificate_id"] == attachment["id"]
    assert ok(api.get("viewer", url))["state"] == "quarantined"
    error(api.fire("quality", url, "return_to_service"), 409)
    assessment_url = assessment["links"]["self"]
    done = ok(api.fire("quality", assessment_url, "raise_nonconformity", data={"impact": "Boiler readings in doubt"}))
    assert done["state"] == "nc_raised" and done["links"]["nonconformity"]
    assert ok(api.get("viewer", "/api/v1/oot-assessments?state=nc_raised"))["total"] == 1
    label = api.get("viewer", f"{url}/label.pdf")
    assert label.status_code == 200 and label.data.startswith(b"%PDF")
    assert ok(api.get("viewer", f"{EQUIPMENT}?status=quarantined"))["total"] == 1


def test_text_search_takes_wildcards_literally(api, org):
    """``q`` is text to find, not a LIKE pattern: ``%`` and ``_`` match themselves only."""
    plain = new_instrument(org, "GA-012", name="Digital caliper")
    marked = new_instrument(org, "PG_7", name="Gauge 0-100% RH")
    assert [e["id"] for e in ok(api.get("viewer", f"{EQUIPMENT}?q=%25"))["items"]] == [marked.id]
    assert [e["id"] for e in ok(api.get("viewer", f"{EQUIPMENT}?q=G_7"))["items"]] == [marked.id]
    assert ok(api.get("viewer", f"{EQUIPMENT}?q=_A"))["items"] == []
    assert [e["id"] for e in ok(api.get("viewer", f"{EQUIPMENT}?q=ga-0"))["items"]] == [plain.id]


def test_an_assessment_lists_what_the_instrument_measured(api, org):
    """The affected records (kept as JSON, their dates as ISO text) are answered, not a 500."""
    gauge = new_instrument(org, "PG-8")
    calibrate(org, gauge, TODAY - dt.timedelta(days=30))
    nc = new_nc(org, equipment_id=gauge.id, detected_on=TODAY - dt.timedelta(days=10))
    calibrate(org, gauge, TODAY, found=False, left=False)
    listed = ok(api.get("viewer", "/api/v1/oot-assessments"))["items"]
    assert [(a["kind"], a["record_id"], a["date"]) for a in listed[0]["affected"]] == [
        ("nonconformity", nc.id, (TODAY - dt.timedelta(days=10)).isoformat())
    ]
    assert ok(api.get("viewer", listed[0]["links"]["self"]))["affected"] == listed[0]["affected"]
