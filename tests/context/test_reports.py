"""The context summary and the risk register as PDFs: what a reader needs, hostile text escaped."""

from __future__ import annotations

import datetime as dt

from qms.reports.context import context_summary_pdf
from qms.reports.risks import risk_register_pdf
from qms.services import fire
from qms.services.context import plan_context_review, save_issue, save_party
from qms.services.risks import RiskFilters

from ..conftest import PASSWORD
from ..risks.helpers import risk_in_state
from ..surveys.test_reports import GENERATED, HOSTILE, ORG, assert_numbered, read

REVIEW_ON = dt.date.today() + dt.timedelta(days=100)


def test_context_summary(org):
    save_issue(org.quality, {"title": HOSTILE, "swot": "weakness", "owner_id": org.owner.id, "review_on": REVIEW_ON})
    save_issue(
        org.quality,
        {
            "title": "Water rationing",
            "swot": "threat",
            "pestle": "environmental",
            "owner_id": org.owner.id,
            "review_on": REVIEW_ON,
            "climate_related": True,
        },
    )
    save_party(
        org.quality,
        {
            "name": "Schools",
            "category": "customer",
            "requirements": "Allergen labels",
            "monitoring": "Term survey",
            "owner_id": org.owner.id,
            "review_on": REVIEW_ON,
        },
    )
    review = plan_context_review(org.quality, title="Context", planned_for=dt.date.today())
    fire(review, "start", org.quality)
    fire(
        review,
        "complete",
        org.manager,
        {
            "changes": "Rationing added",
            "climate_change_relevant": "yes",
            "climate_change_notes": "Water supply",
            "next_review_on": REVIEW_ON,
        },
        signature_password=PASSWORD,
    )
    pages, text = read(context_summary_pdf(ORG, generated_at=GENERATED))
    assert_numbered(pages, "Context of the organisation")
    assert HOSTILE in text and "Water rationing" in text and "Environmental" in text
    assert "Climate change a relevant issue? Yes — Water supply" in text
    assert "Allergen labels" in text and "Term survey" in text and "Strengths (internal issues) None recorded." in text
    assert "Weaknesses (internal issues)" in text and "Opportunities (external issues)" in text


def test_risk_register_pdf(org):
    risk_in_state(org, "monitored", title=HOSTILE)
    pages, text = read(risk_register_pdf(RiskFilters(), ORG, generated_at=GENERATED))
    assert_numbered(pages, "Risk register")
    assert HOSTILE in text and "4 × 5 = 20" in text and "Medium 10" in text and "Reduce" in text
