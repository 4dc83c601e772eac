"""The context of the organisation through the services: issues on the SWOT board, interested parties,
the context review that records what changed and answers the climate question (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest

from qms.models import ContextIssue
from qms.services import fire
from qms.services.context import changes_since, plan_context_review, save_issue, save_party, swot_board
from qms.services.risks import clause_evidence, planning_evidence
from workflows.errors import InvalidData, NotPermitted

from ..helpers import row_count

REVIEW_ON = dt.date.today() + dt.timedelta(days=180)


def issue(org, **fields):
    values = {"title": "Skilled bakers", "swot": "strength", "owner_id": org.owner.id, "review_on": REVIEW_ON}
    return save_issue(org.quality, values | fields)


def party(org, **fields):
    values = {
        "name": "County health inspectors",
        "category": "regulator",
        "requirements": "Food hygiene licence; HACCP records",
        "monitoring": "Inspection reports, twice a year",
        "owner_id": org.owner.id,
        "review_on": REVIEW_ON,
    }
    return save_party(org.quality, values | fields)


def test_issues_sort_onto_the_swot_board_internal_and_external(org):
    strength = issue(org)
    threat = issue(org, title="Flour prices rise", swot="threat", pestle="economic", climate_related=True)
    assert strength.reference.startswith("CTX-") and strength.origin == "internal" and threat.origin == "external"
    board = swot_board()
    assert [i.title for i in board["strength"]] == ["Skilled bakers"] and board["threat"] == [threat]
    save_issue(org.owner, {"active": False}, threat)  # its owner archives it
    assert swot_board()["threat"] == []
    with pytest.raises(NotPermitted):
        save_issue(org.auditor, {"title": "x"}, strength)
    with pytest.raises(NotPermitted):
        save_issue(org.owner, {"title": "x", "swot": "strength"})  # recording needs a manager or quality officer


def test_every_field_is_checked(org):
    with pytest.raises(InvalidData) as bad:
        save_issue(
            org.quality,
            {
                "title": "",
                "swot": "luck",
                "pestle": "cosmic",
                "owner_id": org.viewer.id,
                "review_on": "soon",
                "site_id": 999,
                "climate_related": "maybe",
                "colour": "red",
            },
        )
    assert set(bad.value.errors) == {
        "title",
        "swot",
        "pestle",
        "owner_id",
        "review_on",
        "site_id",
        "climate_related",
        "colour",
    }
    assert row_count(ContextIssue) == 0
    with pytest.raises(InvalidData) as bad:
        party(org, name="x" * 201, category="aliens", requirements="", monitoring="")
    assert set(bad.value.errors) == {"name", "category", "requirements", "monitoring"}


def test_the_context_review_records_what_changed_and_the_climate_answer(org):
    issue(org)
    party(org)
    review = plan_context_review(org.quality, title="Context review 2026", planned_for=dt.date.today())
    assert review.reference.startswith("CRV-") and review.chair_id == org.quality.id
    fire(review, "start", org.quality)
    data = {
        "changes": "New hygiene regulation; a second supplier",
        "climate_change_relevant": "yes",
        "climate_change_notes": "Droughts raise wheat prices",
        "next_review_on": REVIEW_ON,
    }
    with pytest.raises(NotPermitted):
        fire(review, "complete", org.quality, data, signature_password="correct-horse-battery")
    with pytest.raises(InvalidData, match="next_review_on"):
        fire(
            review,
            "complete",
            org.manager,
            data | {"next_review_on": dt.date.today()},
            signature_password="correct-horse-battery",
        )
    history = fire(review, "complete", org.manager, data, signature_password="correct-horse-battery")
    assert history.signature_meaning == "context reviewed" and review.state == "completed"
    assert review.climate_change_relevant == "yes"
    assert review.snapshot["issues"]["Strength"] == 1 and review.snapshot["interested_parties"] == 1
    assert {c["change"] for c in review.snapshot["issues_changed"]} == {"added"}
    assert changes_since(review.completed_at)["issues_changed"] == []


def test_readiness_evidence_and_the_checklist_for_4_1_and_4_2(org):
    evidence = planning_evidence(dt.date.today())
    assert [clause for clause, _reason, _link in evidence.gaps] == ["4.1", "4.1", "4.1", "4.2", "6.1"]
    issue(org)
    issue(org, title="New competitor", swot="threat", pestle="economic")
    party(org)
    evidence = planning_evidence(dt.date.today())
    assert evidence.counts == {"4.1": 2, "4.2": 1, "6.1": 0}
    assert [reason for _c, reason, _l in evidence.gaps] == [
        "No context review (with the climate-change question) has been completed",
        "No risk on the register has been rated",
    ]
    found = clause_evidence(["4.1", "4.2", "9.2"])
    assert found["4.1"]["count"] == 2 and found["4.2"]["entries"][0]["kind"] == "interested_party"
    assert "9.2" not in found
