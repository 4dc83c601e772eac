"""The risk register through the REST API: raise, rate, treat, verify and see the heat map move; hostile input."""

from __future__ import annotations

import datetime as dt

from qms.models import Risk

from ..conftest import PASSWORD
from ..helpers import error, new_nc, new_process, ok, row_count
from .helpers import risk_in_state

BASE = "/api/v1"


def test_a_risk_through_the_api_moves_on_the_heat_map(api, org):
    process = new_process(org)
    body = {
        "title": "Key baker leaves",
        "cause": "One person knows the sourdough process",
        "effect": "Product quality drops",
        "process_id": process.id,
        "clause_refs": ["7.1.6", "7.2"],
        "owner_id": org.owner.id,
    }
    risk = ok(api.post("quality", f"{BASE}/risks", json=body), 201)
    assert risk["state"] == "identified" and risk["process"]["code"] == "PROD" and risk["scale"] == 5
    url = risk["links"]["self"]
    bad = error(api.fire("quality", url, "assess", data={"likelihood": 6, "impact": 0}), 422)
    assert set(bad["errors"]) == {"data.likelihood", "data.impact"}
    risk = ok(api.fire("quality", url, "assess", data={"likelihood": 4, "impact": 4}))
    assert (risk["inherent_score"], risk["level"]) == (16, "high")
    cell = {(c["likelihood"], c["impact"]): c for c in ok(api.get("viewer", f"{BASE}/risks/heat-map"))["cells"]}
    assert cell[(4, 4)]["count"] == 1 and cell[(4, 4)]["level"] == "high" and len(cell) == 25
    drill = ok(api.get("viewer", cell[(4, 4)]["risks"]))
    assert [r["title"] for r in drill["items"]] == ["Key baker leaves"]
    ok(api.fire("owner", url, "plan_treatment", data={"treatment": "reduce", "treatment_plan": "Train a second"}))
    error(
        api.post(
            "owner",
            f"{url}/treatment-actions",
            json={"title": "Train", "owner_id": org.owner.id, "due_date": "1999-01-01"},
        ),
        422,
    )
    action = ok(
        api.post(
            "owner",
            f"{url}/treatment-actions",
            json={"title": "Train Achieng", "owner_id": org.owner.id, "due_date": dt.date.today().isoformat()},
        ),
        201,
    )
    aurl = action["links"]["self"]
    ok(api.fire("owner", aurl, "start"))
    ok(api.fire("owner", aurl, "implement", data={"implementation": "Three weeks of training"}))
    error(api.fire("owner", aurl, "verify", data={"verification": "x"}, signature_password=PASSWORD), 403)
    blocked = error(
        api.fire(
            "quality",
            url,
            "record_treated",
            data={"residual_likelihood": 2, "residual_impact": 4, "effectiveness": "x"},
        ),
        409,
    )
    assert "not verified yet" in blocked["message"]
    ok(api.fire("quality", aurl, "verify", data={"verification": "Baked alone"}, signature_password=PASSWORD))
    risk = ok(
        api.fire(
            "quality",
            url,
            "record_treated",
            data={"residual_likelihood": 2, "residual_impact": 4, "effectiveness": "Two bakers now"},
        )
    )
    assert (risk["state"], risk["residual_score"], risk["current_score"], risk["level"]) == (
        "monitored",
        8,
        8,
        "medium",
    )
    cell = {
        (c["likelihood"], c["impact"]): c["count"] for c in ok(api.get("viewer", f"{BASE}/risks/heat-map"))["cells"]
    }
    assert cell[(4, 4)] == 0 and cell[(2, 4)] == 1
    inherent = ok(api.get("viewer", f"{BASE}/risks/heat-map?rating=inherent"))
    assert {(c["likelihood"], c["impact"]): c["count"] for c in inherent["cells"]}[(4, 4)] == 1
    page = ok(api.get("viewer", f"{BASE}/risk-treatment-actions?state=verified"))
    assert page["total"] == 1 and page["items"][0]["verified_by"]["name"] == "Quality"


def test_hostile_input_and_permissions(api, org):
    error(api.post("viewer", f"{BASE}/risks", json={"title": "x", "cause": "y", "effect": "z"}), 403)
    bad = error(
        api.post(
            "quality", f"{BASE}/risks", json={"title": "x\x00", "cause": 5, "effect": "z", "process_id": 0, "extra": 1}
        ),
        422,
    )
    assert {"title", "cause", "process_id", "extra"} <= set(bad["errors"])
    bad = error(
        api.post("quality", f"{BASE}/risks", json={"title": "x", "cause": "y", "effect": "z", "source": "complaint"}),
        422,
    )
    assert "source_id" in bad["errors"]
    bad = error(
        api.post(
            "quality",
            f"{BASE}/risks",
            json={"title": "x", "cause": "y", "effect": "z", "source": "complaint", "source_id": 99},
        ),
        422,
    )
    assert bad["errors"] == {"source_id": "no such complaint"}
    assert row_count(Risk) == 0
    error(api.get("viewer", f"{BASE}/risks?likelihood=11"), 422)
    error(api.get("viewer", f"{BASE}/risks?sort=drop"), 422)
    error(api.get("viewer", f"{BASE}/risks/99999"), 404)
    error(api.get(None, f"{BASE}/risks"), 401)


def test_patch_and_cite_a_realised_risk(api, org):
    risk = risk_in_state(org, "monitored")
    url = f"{BASE}/risks/{risk.id}"
    error(api.patch("auditor", url, json={"title": "New"}), 403)
    error(api.patch("owner", url, json={"clause_refs": ["x" * 30]}), 422)
    changed = ok(api.patch("owner", url, json={"title": "Steel late", "clause_refs": ["8.4.1"]}))
    assert changed["title"] == "Steel late" and changed["clause_refs"] == ["8.4.1"]
    nc = new_nc(org)
    cited = ok(api.post("auditor", f"{BASE}/nonconformities/{nc.id}/realised-risks", json={"risk_id": risk.id}), 201)
    assert cited["risk_reference"] == risk.reference and cited["nonconformity_reference"] == nc.reference
    error(api.post("auditor", f"{BASE}/nonconformities/{nc.id}/realised-risks", json={"risk_id": risk.id}), 422)
    again = ok(api.get("viewer", url))
    assert again["rerating_requested"] and again["realisations"][0]["nonconformity_id"] == nc.id
    listed = ok(api.get("viewer", f"{BASE}/nonconformities/{nc.id}/realised-risks"))
    assert [r["risk_id"] for r in listed] == [risk.id]
    raised = ok(
        api.post(
            "quality",
            f"{BASE}/risks",
            json={"title": "Again", "cause": "c", "effect": "e", "source": "nonconformity", "source_id": nc.id},
        ),
        201,
    )
    assert raised["source"] == "nonconformity" and raised["source_reference"] == nc.reference
    assert raised["links"]["source"].endswith(f"/nonconformities/{nc.id}")
