"""The context API: issues, interested parties and the context review, with hostile input."""

from __future__ import annotations

import datetime as dt

from ..conftest import PASSWORD
from ..helpers import error, ok

BASE = "/api/v1/context"
REVIEW_ON = (dt.date.today() + dt.timedelta(days=200)).isoformat()


def test_issues_parties_and_a_review_through_the_api(api, org):
    issue = ok(
        api.post(
            "quality",
            f"{BASE}/issues",
            json={"title": "Strong brand", "swot": "strength", "owner_id": org.owner.id, "review_on": REVIEW_ON},
        ),
        201,
    )
    assert issue["origin"] == "internal" and issue["site"] is None and issue["active"]
    error(api.post("owner", f"{BASE}/issues", json={}), 403)
    bad = error(
        api.post("quality", f"{BASE}/issues", json={"title": "x", "swot": "luck", "owner_id": 0, "review_on": "soon"}),
        422,
    )
    assert set(bad["errors"]) == {"swot", "owner_id", "review_on"}
    changed = ok(api.patch("owner", f"{BASE}/issues/{issue['id']}", json={"active": False}))
    assert changed["active"] is False
    assert ok(api.get("viewer", f"{BASE}/issues"))["total"] == 0
    assert ok(api.get("viewer", f"{BASE}/issues?archived=true"))["total"] == 1
    error(api.patch("auditor", f"{BASE}/issues/{issue['id']}", json={"title": "x"}), 403)
    party = ok(
        api.post(
            "manager",
            f"{BASE}/parties",
            json={
                "name": "Supermarket chain",
                "category": "customer",
                "requirements": "Delivery by 6 am",
                "monitoring": "Monthly scorecard",
                "owner_id": org.owner.id,
                "review_on": REVIEW_ON,
                "climate_requirements": "Report delivery emissions",
            },
        ),
        201,
    )
    assert party["climate_requirements"] == "Report delivery emissions"
    assert ok(api.get("viewer", f"{BASE}/parties?category=customer"))["items"][0]["id"] == party["id"]
    review = ok(
        api.post(
            "manager", f"{BASE}/reviews", json={"title": "Context 2026", "planned_for": dt.date.today().isoformat()}
        ),
        201,
    )
    url = review["links"]["self"]
    ok(api.fire("manager", url, "start"))
    data = {
        "changes": "One issue archived",
        "climate_change_relevant": "maybe",
        "climate_change_notes": "x",
        "next_review_on": REVIEW_ON,
    }
    assert (
        "data.climate_change_relevant"
        in error(api.fire("manager", url, "complete", data=data, signature_password=PASSWORD), 422)["errors"]
    )
    done = ok(
        api.fire(
            "manager", url, "complete", data=data | {"climate_change_relevant": "yes"}, signature_password=PASSWORD
        )
    )
    assert done["state"] == "completed" and done["snapshot"]["interested_parties"] == 1
    pdf = api.get("viewer", f"{BASE}/summary.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
