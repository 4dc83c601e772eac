"""The innovation pipeline through the API: from an idea through a committee-approved pilot to adoption."""

from __future__ import annotations

import datetime as dt

from ..conftest import PASSWORD
from ..helpers import error, ok

BASE = "/api/v1/opportunities"


def _committee(api, org) -> dict:
    return ok(
        api.post(
            "manager",
            "/api/v1/innovation-committees",
            json={
                "name": "Innovation committee",
                "remit": "Decides on pilots",
                "chair_id": org.manager.id,
                "member_ids": [org.quality.id],
            },
        ),
        201,
    )


def test_an_innovation_from_idea_through_a_pilot_to_adoption(api, org):
    committee = _committee(api, org)
    assert {m["id"] for m in committee["members"]} == {org.manager.id, org.quality.id}
    idea = ok(
        api.post(
            "owner",
            BASE,
            json={
                "title": "Deliver by e-bike in the city centre",
                "description": "Customers complain of late deliveries in the centre (survey comments).",
                "source": "customer_feedback",
                "ip_notes": "Route planner could be copyright; no patent.",
            },
        ),
        201,
    )
    url = idea["links"]["self"]
    assert idea["state"] == "proposed" and idea["owner"]["id"] == org.owner.id
    evaluated = ok(
        api.fire(
            "owner",
            url,
            "evaluate",
            data={
                "estimated_cost": 12000,
                "expected_benefit": "Deliveries on time in the centre",
                "edge_category": "differentiation",
                "cost_benefit": "Pays back in 8 months",
            },
        )
    )
    approve = next(e for e in evaluated["available_events"] if e["event"] == "approve")
    assert not approve["allowed"] and "No innovation committee" in approve["reason"]
    ok(api.patch("owner", url, json={"committee_id": committee["id"]}))
    decision = {"decision": "Pilot for three months", "decided_on": dt.date.today().isoformat()}
    assert (
        "member of the innovation committee"
        in error(api.fire("owner", url, "approve", data=decision, signature_password=PASSWORD), 409)["message"]
    )
    assert "signature_password" in error(api.fire("quality", url, "approve", data=decision), 422)["errors"]
    approved = ok(api.fire("quality", url, "approve", data=decision, signature_password=PASSWORD))
    assert approved["state"] == "approved" and approved["decision"] == "Pilot for three months"
    history = ok(api.get("viewer", f"{url}/history"))
    assert history[-1]["signature_meaning"] == "approved by the innovation committee"
    pilot = {
        "pilot_plan": "Two e-bikes, centre routes",
        "success_criteria": "95 % on time, cost per drop below the van's",
        "pilot_start": dt.date.today().isoformat(),
        "pilot_end": (dt.date.today() - dt.timedelta(days=1)).isoformat(),
    }
    assert "cannot end before it starts" in error(api.fire("owner", url, "start_pilot", data=pilot), 409)["message"]
    pilot["pilot_end"] = (dt.date.today() + dt.timedelta(days=90)).isoformat()
    assert ok(api.fire("owner", url, "start_pilot", data=pilot))["state"] == "piloting"
    adopted = ok(
        api.fire(
            "manager",
            url,
            "adopt",
            data={"pilot_results": "97 % on time; cost per drop 30 % lower"},
            signature_password=PASSWORD,
        )
    )
    assert adopted["state"] == "adopted" and adopted["adopted_at"]
    realised = ok(
        api.fire("owner", url, "realise", data={"benefit_measured": "Late deliveries halved", "benefit_value": 40000})
    )
    assert realised["state"] == "realised" and realised["benefit_value"] == 40000
    listed = ok(api.get("viewer", f"{BASE}?edge_category=differentiation"))
    assert listed["total"] == 1 and listed["items"][0]["source_label"] == "Customer feedback"


def test_hostile_input_and_permissions(api, org):
    assert error(api.post("viewer", BASE, json={"title": "T", "description": "D"}), 403)
    bad = error(api.post("auditor", BASE, json={"title": "", "description": "D", "source": "objective_missed"}), 422)
    assert {"title", "source"} <= set(bad["errors"])
    assert "owner_id" in error(api.post("auditor", BASE, json={"title": "T", "description": "D"}), 422)["errors"]
    idea = ok(api.post("auditor", BASE, json={"title": "T", "description": "D", "owner_id": org.owner.id}), 201)
    assert error(api.patch("auditor", idea["links"]["self"], json={"ip_notes": "x"}), 403)
    assert error(api.patch("owner", idea["links"]["self"], json={"committee_id": 424242}), 422)
    bad = error(
        api.fire(
            "owner",
            idea["links"]["self"],
            "evaluate",
            data={"estimated_cost": -5, "expected_benefit": "B", "edge_category": "price", "cost_benefit": "C"},
        ),
        422,
    )
    assert "data.estimated_cost" in bad["errors"]
    bad = error(
        api.post("manager", "/api/v1/innovation-committees", json={"name": "", "chair_id": 1, "member_ids": [99]}),
        422,
    )
    assert "name" in bad["errors"]
    assert error(api.post("owner", "/api/v1/innovation-committees", json={}), 403)
