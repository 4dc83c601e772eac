"""The suppliers API: the register, events with signatures, evaluations and their proposals,
deliveries and CSV import, the approved list (JSON, PDF, spreadsheet), raising an NC against a
supplier and the SCAR from request to verification (the supplier answering through its link)."""

from __future__ import annotations

import datetime as dt

from qms.database import db
from qms.models import Scar, Supplier, SupplierDelivery

from ..conftest import PASSWORD, login
from ..helpers import error, ok, row_count
from .builders import approved_supplier

SUPPLIERS = "/api/v1/suppliers"
SCARS = "/api/v1/scars"
TODAY = dt.date.today()
STEEL = {
    "name": "Kamau Steel Ltd",
    "supplies": "Cold-rolled steel sheet",
    "criticality": "high",
    "contact_email": "qa@kamau.example",
    "iso9001_certificate": "KEBS-1234",
    "iso9001_expires_on": (TODAY + dt.timedelta(days=300)).isoformat(),
}


def _approved(api) -> dict:
    supplier = ok(api.post("quality", SUPPLIERS, json=STEEL), 201)
    url = f"{SUPPLIERS}/{supplier['id']}"
    ok(api.fire("quality", url, "start_evaluation"))
    ok(
        api.post(
            "quality",
            f"{url}/evaluations",
            json={
                "period_start": (TODAY - dt.timedelta(days=90)).isoformat(),
                "period_end": TODAY.isoformat(),
                "price": 100,
                "service": 100,
                "delivery": 100,
            },
        ),
        201,
    )
    return ok(api.fire("manager", url, "approve", data={"scope": "Steel sheet"}, signature_password=PASSWORD))


def test_register_create_update_and_list(api, org):
    body = error(api.post("quality", SUPPLIERS, json={**STEEL, "criticality": "vital", "extra": 1}), 422)
    assert {"criticality", "extra"} <= set(body["errors"])
    body = error(api.post("quality", SUPPLIERS, json={**STEEL, "iso9001_expires_on": None}), 422)
    assert "iso9001_expires_on" in body["errors"]
    error(api.post("viewer", SUPPLIERS, json=STEEL), 403)
    error(api.post(None, SUPPLIERS, json=STEEL), 401)
    created = api.post("quality", SUPPLIERS, json=STEEL)
    supplier = ok(created, 201)
    assert created.headers["ETag"] == '"1"' and supplier["state"] == "prospective" and not supplier["approved_list"]
    assert supplier["reference"].startswith("SUP-") and supplier["certificate_valid"]
    url = f"{SUPPLIERS}/{supplier['id']}"
    assert supplier["links"]["evaluations"] == f"{url}/evaluations"
    updated = ok(api.patch("quality", url, json={"criticality": "low", "contact_phone": "+254 700 000000"}))
    assert (updated["criticality"], updated["contact_phone"]) == ("low", "+254 700 000000")
    error(api.patch("quality", url, json={"contact_email": "nope"}), 422)
    body = error(api.patch("quality", url, json={"iso9001_expires_on": None}), 422)
    assert body["errors"] == {"iso9001_expires_on": "is required with a certificate number"}
    cleared = ok(api.patch("quality", url, json={"iso9001_certificate": "", "iso9001_expires_on": None}))
    assert not cleared["certificate_valid"]
    listed = ok(api.get("viewer", f"{SUPPLIERS}?q=steel&state=prospective&sort=-name"))
    assert listed["total"] == 1 and listed["items"][0]["id"] == supplier["id"]
    assert ok(api.get("viewer", f"{SUPPLIERS}?state=listed"))["total"] == 0
    error(api.get("viewer", f"{SUPPLIERS}?state=nope"), 422)
    error(api.get("viewer", f"{SUPPLIERS}/999999"), 404)


def test_approval_evaluations_and_approved_list(api, org):
    supplier = _approved(api)
    assert supplier["state"] == "approved" and supplier["approved_list"] and supplier["score"] == 100.0
    url = f"{SUPPLIERS}/{supplier['id']}"
    history = ok(api.get("viewer", f"{url}/history"))
    assert history[-1]["signature_meaning"] == "approved"
    evaluations = ok(api.get("viewer", f"{url}/evaluations"))
    assert len(evaluations) == 1 and evaluations[0]["scores"]["certification"] == 100.0
    body = error(
        api.post(
            "quality",
            f"{url}/evaluations",
            json={"period_start": "2026-01-01", "period_end": "2025-01-01", "price": 101, "service": 5},
        ),
        422,
    )
    assert "price" in body["errors"]
    error(
        api.post(
            "owner",
            f"{url}/evaluations",
            json={"period_start": "2026-01-01", "period_end": "2026-01-02", "price": 1, "service": 5},
        ),
        403,
    )
    approved = ok(api.get("viewer", f"{SUPPLIERS}/approved?per_page=10"))
    assert [s["id"] for s in approved["items"]] == [supplier["id"]] and approved["total"] == 1
    assert ok(api.get("viewer", f"{SUPPLIERS}/approved?q=nothing-like-it"))["total"] == 0
    pdf = api.get("viewer", f"{SUPPLIERS}/approved.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    xlsx = api.get("viewer", f"{SUPPLIERS}/approved.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"


def test_deliveries_and_csv_import(api, org):
    supplier = ok(api.post("quality", SUPPLIERS, json=STEEL), 201)
    url = f"{SUPPLIERS}/{supplier['id']}"
    ok(
        api.post(
            "owner",
            f"{url}/deliveries",
            json={"order_reference": "PO-1", "due_on": "2026-01-10", "delivered_on": "2026-01-12"},
        ),
        201,
    )
    body = error(
        api.post(
            "owner",
            f"{url}/deliveries",
            json={"order_reference": "PO-1", "due_on": "2026-01-10", "delivered_on": "2026-01-12"},
        ),
        422,
    )
    assert "already recorded" in body["errors"]["order_reference"]
    body = error(
        api.post(
            "owner",
            f"{url}/deliveries/import",
            json={"csv": "order_reference,due_on,delivered_on\nPO-2,2026-01-10,tomorrow\n"},
        ),
        422,
    )
    assert body["errors"]["file"] == "line 2, column delivered_on: must be a date (YYYY-MM-DD)"
    result = ok(
        api.post(
            "owner",
            f"{url}/deliveries/import",
            json={"csv": "order_reference,due_on,delivered_on\nPO-2,2026-01-10,2026-01-09\n"},
        ),
        201,
    )
    assert result == {"imported": 1}
    deliveries = ok(api.get("viewer", f"{url}/deliveries"))
    assert {d["order_reference"]: d["on_time"] for d in deliveries} == {"PO-1": False, "PO-2": True}
    error(api.post("viewer", f"{url}/deliveries/import", json={"csv": "x"}), 403)
    assert row_count(SupplierDelivery) == 2


def test_nc_against_a_supplier_scar_answered_and_verified_and_the_score_drops(app, api, org, client):
    supplier = _approved(api)
    url = f"{SUPPLIERS}/{supplier['id']}"
    nc = ok(
        api.post("quality", f"{url}/nonconformities", json={"title": "Wrong grade", "description": "S235 not S355"}),
        201,
    )
    nc_url = nc["links"]["self"]
    assert ok(api.get("quality", url))["score"] == 96.0
    ok(api.fire("quality", nc_url, "triage", data={"severity": "major"}))
    body = error(api.post("quality", SCARS, json={"nonconformity_id": nc["id"], "request": ""}), 422)
    assert "request" in body["errors"]
    error(api.post("owner", SCARS, json={"nonconformity_id": nc["id"], "request": "Fix"}), 403)
    created = api.post("quality", SCARS, json={"nonconformity_id": nc["id"], "request": "Contain and correct"})
    scar = ok(created, 201)
    assert created.headers["Cache-Control"] == "no-store" and "/scar/" in scar["answer_url"]
    assert scar["state"] == "awaiting_response" and scar["supplier_name"] == "Kamau Steel Ltd"
    assert "answer_url" not in ok(api.get("quality", f"{SCARS}/{scar['id']}"))
    path = scar["answer_url"].removeprefix(app.config["QMS_BASE_URL"])
    assert path.startswith("/scar/")  # the link is on the public address, whatever Host the request named
    again = api.post("quality", f"{SCARS}/{scar['id']}/link", headers={"Host": "intranet.example.test"})
    assert ok(again)["answer_url"].startswith(app.config["QMS_BASE_URL"] + "/scar/")
    path = ok(again)["answer_url"].removeprefix(app.config["QMS_BASE_URL"])  # the new link (the first stops working)
    answered = client.post(
        path, data={"containment": "Held stock", "root_cause": "Mixed bins", "actions": "Labels", "responder": "QA"}
    )
    assert answered.status_code == 302
    scar_url = f"{SCARS}/{scar['id']}"
    scar = ok(api.get("quality", scar_url))
    assert scar["state"] == "answered" and scar["answered_through_link"] and scar["containment"] == "Held stock"
    error(api.fire("quality", scar_url, "verify", data={"evidence": "x"}, signature_password=PASSWORD), 409)
    ok(api.fire("quality", scar_url, "accept", data={"verification_due": TODAY.isoformat()}))
    error(api.fire("quality", scar_url, "verify", data={"evidence": "x"}, signature_password="wrong"), 422)
    scar = ok(
        api.fire("auditor", scar_url, "verify", data={"evidence": "Next lots correct"}, signature_password=PASSWORD)
    )
    assert scar["state"] == "verified"
    supplier = ok(api.get("quality", url))
    assert supplier["score"] == 90.0  # quality 75 after a major NC
    error(api.post("quality", f"{SCARS}/{scar['id']}/link"), 409)
    listed = ok(api.get("viewer", f"{SCARS}?state=verified&supplier_id={supplier['id']}"))
    assert listed["total"] == 1
    db.session.expire_all()
    assert db.session.query(Scar).count() == 1 and db.session.get(Supplier, supplier["id"]).score == 90.0


def test_text_search_takes_wildcards_literally(api, org, client):
    """``q`` is text to find, not a LIKE pattern: ``%`` and ``_`` match themselves only."""
    plain = approved_supplier(org, "Kamau Steel Ltd")
    marked = approved_supplier(org, "Otieno 100% Recycled Pallets", supplies="Pallets_EUR")
    for url in (SUPPLIERS, f"{SUPPLIERS}/approved"):
        assert [s["id"] for s in ok(api.get("viewer", f"{url}?q=%25"))["items"]] == [marked.id]
        assert [s["id"] for s in ok(api.get("viewer", f"{url}?q=s_E"))["items"]] == [marked.id]
        assert ok(api.get("viewer", f"{url}?q=Kamau%25Ltd"))["items"] == []
    assert ok(api.get("viewer", f"{SUPPLIERS}?q=kamau"))["items"][0]["id"] == plain.id
    login(client, org.viewer.email)
    for url in ("/suppliers", "/suppliers/approved"):
        page = client.get(f"{url}?q=%25").get_data(as_text=True)
        assert "Recycled Pallets" in page and "Kamau Steel" not in page
