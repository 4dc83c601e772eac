"""The transition from ISO 9001:2015 to 2026 as a guided ISO-change review: what cites each changed clause,
actions per change, the signed gap assessment, the transition audit in the programme, the plan as PDF."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from qms.database import db
from qms.models import Audit, IsoChangeReview, Nonconformity
from qms.services import fire
from qms.services.audits import create_audit, create_programme, generate_checklist
from qms.services.documents import create_document
from qms.services.reviews import (
    add_action,
    assess_change,
    open_iso_change_review,
    plan_transition_audit,
    transition_clauses,
)
from qms.services.standards_citations import Citation, citation_sources, register_citation_source
from workflows.errors import InvalidData, InvalidTransition, NotPermitted

from ..audits.test_web import signed_in, text
from ..conftest import PASSWORD, login
from ..helpers import audit_in_state, error, new_nc, new_process, ok, restricted_document

TODAY = dt.date.today()
HEADLINE = ("5.1.1", "6.1.2", "6.1.3", "6.3", "7.3")


def transition_review(org) -> IsoChangeReview:
    return open_iso_change_review(org.quality, old_standard="iso-9001-2015", new_standard="iso-9001-2026")


def by_new_clause(review: IsoChangeReview) -> dict[str, list]:
    found: dict[str, list] = {}
    for item in review.items:
        found.setdefault(item.new_clause, []).append(item)
    return found


def cited(item) -> dict[str, list[str]]:
    return {g["kind"]: [c["label"] for c in g["items"]] for g in item.references.get("cited_by", [])}


def test_the_2015_to_2026_review_lists_the_changes_with_what_cites_them(app, org):
    create_document(
        org.quality, title="Quality policy", doc_type="policy", owner_id=org.quality.id, clause_refs=["5.1.1"]
    )
    create_document(
        org.quality, title="Change procedure", doc_type="procedure", owner_id=org.quality.id, clause_refs=["6.3"]
    )
    new_process(org, code="QM", clauses=("6.1", "7.3"))
    new_nc(org, title="Staff unaware of the code of conduct", clause_refs=["7.3"])
    audit_in_state(org, "in_progress", clauses=("6.1.2",))
    review = transition_review(org)
    changes = by_new_clause(review)
    assert set(HEADLINE) <= set(changes)
    assert "Quality policy" in " ".join(cited(changes["5.1.1"][0])["documents"])
    assert "Change procedure" in " ".join(cited(changes["6.3"][0])["documents"])
    seven_three = cited(changes["7.3"][0])
    assert seven_three["processes"] and "Staff unaware" in " ".join(seven_three["nonconformities"])
    # a process addressing 6.1 covers its sub-clauses; the audit question asked against 6.1.2 is listed
    risks = next(i for i in changes["6.1.2"] if i.change == "changed")
    assert cited(risks)["processes"] and cited(risks)["questions"]
    opportunities = next(i for i in changes["6.1.3"] if i.change == "changed")
    assert opportunities.old_clause == "6.1.2" and "own" in opportunities.description
    assert changes["3"][0].change == "added" and "clause 3" in changes["3"][0].description


def test_other_modules_add_what_cites_a_clause(app, org):
    """Risks and objectives are built elsewhere: they register a citation source and appear in the review."""

    def risks(standard, numbers):
        return (
            {"6.1.2": [Citation("risks", 7, "R-7 Supplier failure", "/risks/7", "6.1.2")]} if "6.1.2" in numbers else {}
        )

    register_citation_source("test_register", "A test register", risks)
    try:
        assert ("test_register", "A test register") in citation_sources()
        review = transition_review(org)
        item = next(i for i in review.items if i.new_clause == "6.1.2" and i.change == "changed")
        assert cited(item)["test_register"] == ["R-7 Supplier failure"]
    finally:
        from qms.services import standards_citations

        standards_citations._sources.pop("test_register", None)


def test_the_risk_register_and_the_objectives_cite_their_clauses(app, org):
    from qms.services.standards_citations import citations_of
    from standards import get_standard

    from ..objectives.helpers import active_objective
    from ..risks.helpers import new_risk

    risk = new_risk(org, title="Key supplier fails", clause_refs=["6.1.2", "8.4"])
    objective = active_objective(org)

    review = transition_review(org)
    item = next(i for i in review.items if i.new_clause == "6.1.2" and i.change == "changed")
    assert cited(item)["risks"] == [f"{risk.reference} Key supplier fails"]
    found = citations_of(get_standard("iso-9001-2015"), ["6.2.1", "8.4"])
    assert [c["label"] for g in found["6.2.1"] if g["kind"] == "objectives" for c in g["items"]] == [
        f"{objective.reference} {objective.title}"
    ]
    assert [g["kind"] for g in found["8.4"]] == ["risks"]


def test_actions_per_change_a_signed_gap_assessment_and_the_transition_audit(app, org):
    review = transition_review(org)
    programme = create_programme(org.quality, year=TODAY.year + 1, title="Next year")
    fire(review, "start_gap_analysis", org.quality)
    culture = next(i for i in review.items if i.new_clause == "5.1.1")
    action = add_action(
        review,
        org.quality,
        title="Culture statement",
        owner_id=org.manager.id,
        due_date=TODAY,
        change_item_id=culture.id,
    )
    assert action.change_item_id == culture.id
    other = open_iso_change_review(org.quality, old_standard="iso-9001-2015", new_standard="iso-9001-2015-amd1-2024")
    with pytest.raises(InvalidData) as bad:
        add_action(
            review, org.quality, title="x", owner_id=org.manager.id, due_date=TODAY, change_item_id=other.items[0].id
        )
    assert set(bad.value.errors) == {"change_item_id"}
    for item in review.items:
        assess_change(item, org.quality, status="gap" if item is culture else "no_gap", assessment="Policy to update")
    with pytest.raises(NotPermitted):  # a manager signs the gap assessment
        fire(review, "complete_gap_analysis", org.quality, {"summary": "One gap"}, signature_password=PASSWORD)
    with pytest.raises(InvalidTransition):
        plan_transition_audit(review, org.quality, planned_start=TODAY + dt.timedelta(days=30))
    history = fire(review, "complete_gap_analysis", org.manager, {"summary": "One gap"}, signature_password=PASSWORD)
    assert history.signature_meaning == "approved" and history.signed_by_name == org.manager.name
    with pytest.raises(InvalidData) as bad:
        plan_transition_audit(review, org.quality, planned_start=TODAY - dt.timedelta(days=1))
    assert set(bad.value.errors) == {"planned_start"}
    start = dt.date(TODAY.year + 1, 2, 1)
    audit = plan_transition_audit(review, org.quality, planned_start=start)
    assert audit.standard_identifier == "iso-9001-2026" and audit.programme_id == programme.id
    assert set(HEADLINE) <= set(audit.clause_numbers) and "3" in audit.clause_numbers
    asked = {(item.clause_number, item.question) for item in audit.items}
    assert any(number == "5.1.1" and "quality culture" in q for number, q in asked)
    assert any(number == "6.1.3" for number, _ in asked) and review.verification_audit_id == audit.id
    assert transition_clauses(review) == audit.clause_numbers
    with pytest.raises(InvalidData):  # once is enough
        plan_transition_audit(review, org.quality, planned_start=start)


def test_the_review_page_the_plan_pdf_and_the_api(app, org, api):
    new_process(org, code="QM", clauses=("7.3",))
    review = transition_review(org)
    fire(review, "start_gap_analysis", org.quality)
    quality = signed_in(app, org.quality)
    row = text(quality.get("/standards")).split('id="standard-iso-9001-2026"')[1].split("</tr>")[0]
    assert "Review the change from ISO 9001:2015<" in row  # the edition it replaces, as certificates are
    page = text(quality.get(f"/reviews/iso-change/{review.id}"))
    for number in HEADLINE:
        assert f"Save assessment of {number}" in page
    assert "Transition plan (PDF)" in page and "Add an action for 7.3" in page
    seven_three = next(i for i in review.items if i.new_clause == "7.3")
    response = quality.post(
        f"/reviews/iso-change/{review.id}/actions",
        data={
            "title": "Brief every team",
            "owner_id": org.owner.id,
            "due_date": TODAY.isoformat(),
            "change_item_id": seven_three.id,
        },
    )
    assert response.status_code == 302
    assert "For clause 7.3" in text(quality.get(f"/reviews/iso-change/{review.id}"))
    bad = quality.post(
        f"/reviews/iso-change/{review.id}/transition-audit",
        data={"planned_start": (TODAY + dt.timedelta(days=9)).isoformat()},
    )
    assert bad.status_code == 409  # not before the gap assessment is signed
    pdf = signed_in(app, org.viewer).get(f"/reviews/iso-change/{review.id}/transition-plan.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    plan = " ".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Transition plan" in plan and "Brief every team" in plan and "gap assessment not signed" in plan.lower()
    # the API: items carry what cites them; actions name their clause change
    url = f"/api/v1/reviews/iso-change/{review.id}"
    found = ok(api.get("viewer", url))
    item = next(i for i in found["items"] if i["new_clause"] == "7.3")
    assert any(g["kind"] == "processes" for g in item["references"]["cited_by"])
    assert any(a["change_item_id"] == seven_three.id for a in found["actions"])
    body = error(
        api.post(
            "quality",
            f"{url}/actions",
            json={"title": "x", "owner_id": org.owner.id, "due_date": TODAY.isoformat(), "change_item_id": 999_999},
        ),
        422,
    )
    assert set(body["errors"]) == {"change_item_id"}
    error(api.post("quality", f"{url}/transition-audit", json={"planned_start": TODAY.isoformat()}), 409)
    pdf = api.get("viewer", f"{url}/transition-plan.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_the_corrected_sub_clauses_are_citable_in_ncs_and_checklists(app, org, client):
    login(client, org.quality.email)
    response = client.post(
        "/nonconformities/new",
        data={
            "title": "Concession granted without a record",
            "description": "Lot 44 shipped under concession; nobody recorded who decided.",
            "source": "internal_audit",
            "process_name": "Assembly",
            "clauses": "8.7.2, 7.5.3.1",
            "detected_on": TODAY.isoformat(),
        },
    )
    assert response.status_code == 302
    nc = db.session.scalar(select(Nonconformity).order_by(Nonconformity.id.desc()))
    assert nc.clause_refs == ["8.7.2", "7.5.3.1"]
    audit = create_audit(org.quality, title="Order review and NC outputs", clause_numbers=["8.2.3", "8.7"])
    generate_checklist(audit, org.quality)
    numbers = {item.clause_number for item in db.session.get(Audit, audit.id).items}
    assert {"8.2.3.1", "8.2.3.2", "8.7.1", "8.7.2"} <= numbers


def test_a_restricted_document_citing_a_changed_clause_is_named_only_to_its_readers(app, org, api):
    """The references are gathered when a manager opens the review (they see every document); the
    page, the API and the transition plan name a restricted document only to those who may see it."""
    restricted_document(org, clause_refs=["5.2"])
    review = open_iso_change_review(org.manager, old_standard="iso-9001-2015", new_standard="iso-9001-2026")
    url = f"/api/v1/reviews/iso-change/{review.id}"

    def pdf_text(response) -> str:
        return "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)

    viewer = signed_in(app, org.viewer)
    for shown in (
        text(viewer.get(f"/reviews/iso-change/{review.id}")),
        api.get("viewer", url).get_data(as_text=True),
        pdf_text(viewer.get(f"/reviews/iso-change/{review.id}/transition-plan.pdf")),
        pdf_text(api.get("viewer", f"{url}/transition-plan.pdf")),
    ):
        assert "Salary bands" not in shown, shown[shown.find("Salary") - 300 :][:600]
        assert "A document you may not see" in " ".join(shown.split())
    assert "Salary bands" in text(signed_in(app, org.manager).get(f"/reviews/iso-change/{review.id}"))
    assert "Salary bands" in api.get("manager", url).get_data(as_text=True)
