"""The context pages: the SWOT board, recording and editing issues and parties, the context review with
its climate question, the summary PDF, and raising a risk from an issue."""

from __future__ import annotations

import datetime as dt

from qms.database import db
from qms.models import ContextIssue, ContextReview, InterestedParty, Risk

from ..conftest import PASSWORD
from ..surveys.test_web import signed_in, text

REVIEW_ON = (dt.date.today() + dt.timedelta(days=200)).isoformat()


def test_swot_board_issues_and_parties_through_the_pages(app, org):
    client = signed_in(app, org.quality)
    empty = text(client.get("/context"))
    assert "Record an issue" in empty
    # the quadrants' headings in plain plurals (not "Weaknesss", "Opportunitys"), and "an opportunity"
    for key, heading in (("strength", "Strengths"), ("weakness", "Weaknesses"), ("opportunity", "Opportunities")):
        assert f'id="q-{key}-h">{heading} <span' in empty, heading
    assert "Add an opportunity" in empty and "Add a threat" in empty
    bad = client.post("/context/issues/new", data={"title": "", "swot": "luck", "owner_id": org.owner.id})
    assert bad.status_code == 422
    ok = client.post(
        "/context/issues/new",
        data={
            "title": "Drought hits wheat",
            "swot": "threat",
            "pestle": "environmental",
            "owner_id": org.owner.id,
            "review_on": REVIEW_ON,
            "climate_related": "y",
        },
    )
    assert ok.status_code == 302
    issue = db.session.scalar(db.select(ContextIssue))
    assert issue.climate_related and issue.pestle == "environmental"
    board = text(client.get("/context"))
    assert "Drought hits wheat" in board and "Environmental" in board and "climate" in board
    assert "Drought hits wheat" in text(client.get("/context/issues?swot=threat&pestle=environmental"))
    assert "Drought hits wheat" not in text(client.get("/context/issues?swot=strength"))
    # its owner edits it; a viewer only reads it
    owner = signed_in(app, org.owner)
    saved = owner.post(
        f"/context/issues/{issue.id}",
        data={
            "title": "Drought",
            "swot": "threat",
            "pestle": "environmental",
            "owner_id": org.owner.id,
            "review_on": REVIEW_ON,
            "active": "y",
        },
    )
    assert saved.status_code == 302 and issue.title == "Drought" and not issue.climate_related
    viewer = signed_in(app, org.viewer)
    assert "Record issue" not in text(viewer.get(f"/context/issues/{issue.id}"))
    assert viewer.post(f"/context/issues/{issue.id}", data={}).status_code == 403
    # a risk raised from the issue, prefilled and linked back
    form = text(client.get(f"/risks/new?source=context_issue&source_id={issue.id}"))
    assert "Raised from A context issue" in form
    client.post(
        "/risks/new",
        data={
            "source": "context_issue",
            "source_id": issue.id,
            "title": "Flour shortage",
            "cause": "Drought",
            "effect": "Bread not baked",
        },
    )
    risk = db.session.scalar(db.select(Risk))
    assert risk.source_issue_id == issue.id and "Flour shortage" in text(client.get(f"/context/issues/{issue.id}"))
    # interested parties
    assert client.post("/context/parties/new", data={"name": "Bakers union"}).status_code == 422
    done = client.post(
        "/context/parties/new",
        data={
            "name": "Bakers union",
            "category": "employee",
            "requirements": "Fair shifts",
            "monitoring": "Quarterly meeting",
            "owner_id": org.owner.id,
            "review_on": REVIEW_ON,
        },
    )
    assert done.status_code == 302
    party = db.session.scalar(db.select(InterestedParty))
    assert "Fair shifts" in text(client.get("/context/parties")) and party.category == "employee"
    pdf = client.get("/context/summary.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_context_review_through_the_pages(app, org):
    client = signed_in(app, org.quality)
    assert client.post("/context/reviews/new", data={"title": ""}).status_code == 422
    client.post("/context/reviews/new", data={"title": "Context 2026", "planned_for": dt.date.today().isoformat()})
    review = db.session.scalar(db.select(ContextReview))
    url = f"/context/reviews/{review.id}"
    assert client.post(f"{url}/events/start", data={"version": review.version}).status_code == 302
    manager = signed_in(app, org.manager)
    page = text(manager.get(url))
    assert "Is climate change a relevant issue? (ISO 9001 Amd 1:2024)" in page
    missing = manager.post(
        f"{url}/events/complete",
        data={"changes": "x", "signature_email": org.manager.email, "signature_password": PASSWORD},
    )
    assert missing.status_code == 422 and review.state == "in_progress"
    done = manager.post(
        f"{url}/events/complete",
        data={
            "changes": "New competitor opened",
            "climate_change_relevant": "no",
            "climate_change_notes": "Our ovens and supply are not exposed",
            "next_review_on": REVIEW_ON,
            "signature_email": org.manager.email,
            "signature_password": PASSWORD,
        },
    )
    assert done.status_code == 302
    page = text(manager.get(url))
    assert "New competitor opened" in page and "context reviewed" in page
    assert "climate change is not a relevant issue" in text(manager.get("/context"))
