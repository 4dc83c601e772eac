"""The innovation pipeline's pages: the register, proposing an idea, its page with the committee's
signed decisions and the intellectual-property notes, and the innovation committees."""

from __future__ import annotations

import datetime as dt

from qms.models import InnovationCommittee, Opportunity
from qms.services import fire
from qms.services.opportunities import create_committee, propose_opportunity

from ..conftest import PASSWORD
from ..surveys.test_web import signed_in, text


def test_propose_evaluate_and_decide_through_the_pages(app, org):
    committee = create_committee(org.manager, name="Innovation", chair_id=org.manager.id, member_ids=[org.quality.id])
    owner = signed_in(app, org.owner)
    assert owner.post("/opportunities/new", data={"title": "", "description": ""}).status_code == 422
    response = owner.post(
        "/opportunities/new",
        data={
            "title": "Cargo e-bikes",
            "description": "Faster city deliveries",
            "source": "customer_feedback",
            "committee_id": str(committee.id),
            "owner_id": "0",
            "process_id": "0",
            "ip_notes": "No patent; our route sheet is copyright",
        },
    )
    assert response.status_code == 302
    idea = Opportunity.query.one()
    page = text(owner.get(f"/opportunities/{idea.id}"))
    assert "Intellectual-property notes" in page and "our route sheet is copyright" in page and "Innovation" in page
    bad = owner.post(f"/opportunities/{idea.id}/events/evaluate", data={"estimated_cost": "lots"})
    assert bad.status_code == 422 and "must be an integer" in text(bad)
    done = owner.post(
        f"/opportunities/{idea.id}/events/evaluate",
        data={"estimated_cost": "1000", "expected_benefit": "B", "edge_category": "niche", "cost_benefit": "C"},
    )
    assert done.status_code == 302
    refused = owner.post(
        f"/opportunities/{idea.id}/events/approve",
        data={
            "decision": "Go",
            "decided_on": dt.date.today().isoformat(),
            "signature_email": org.owner.email,
            "signature_password": PASSWORD,
        },
    )
    assert refused.status_code == 409 and "member of the innovation committee" in text(refused)
    quality = signed_in(app, org.quality)
    approved = quality.post(
        f"/opportunities/{idea.id}/events/approve",
        data={
            "decision": "Go",
            "decided_on": dt.date.today().isoformat(),
            "signature_email": org.quality.email,
            "signature_password": PASSWORD,
        },
    )
    assert (approved.status_code == 302 and idea.state == "approved") or Opportunity.query.one().state == "approved"
    page = text(quality.get("/opportunities?edge=niche"))
    assert "Cargo e-bikes" in page and "Niche" in page
    assert "Cargo e-bikes" not in text(quality.get("/opportunities?state=declined"))
    edited = owner.post(f"/opportunities/{idea.id}/edit", data={"description": "Faster", "owner_id": org.owner.id})
    assert edited.status_code == 302
    assert signed_in(app, org.auditor).post(f"/opportunities/{idea.id}/edit", data={}).status_code == 403


def test_committees_page(app, org):
    manager = signed_in(app, org.manager)
    bad = manager.post("/opportunities/committees", data={"name": "Solo", "chair_id": org.manager.id})
    assert bad.status_code == 422 and "at least two members" in text(bad)
    ok = manager.post(
        "/opportunities/committees",
        data={"name": "Innovation", "chair_id": org.manager.id, "member_ids": [org.quality.id, org.owner.id]},
    )
    assert ok.status_code == 302
    committee = InnovationCommittee.query.one()
    assert {m.id for m in committee.members} == {org.manager.id, org.quality.id, org.owner.id}
    page = text(signed_in(app, org.viewer).get("/opportunities/committees"))
    assert "Innovation" in page and "Set up a committee" not in page
    assert signed_in(app, org.viewer).post("/opportunities/committees", data={}).status_code == 403


def test_a_missed_objective_links_to_its_opportunity(app, org):
    idea = propose_opportunity(org.owner, title="Idea", description="D")
    fire(idea, "decline", org.quality, {"reason": "Not now"})
    page = text(signed_in(app, org.viewer).get(f"/opportunities/{idea.id}"))
    assert "Declined because" in page and "Not now" in page
