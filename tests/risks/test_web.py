"""The risk register's web pages: the register and its filters, raising (also from an NC, prefilled),
rating through the lifecycle forms, treatment actions, the heat map's drill-down, the NC page's
citation of a realised risk, and the register PDF."""

from __future__ import annotations

import datetime as dt
import html
import re

from qms.database import db
from qms.models import Risk, RiskRealisation

from ..conftest import PASSWORD
from ..helpers import new_nc, new_process, row_count
from ..surveys.test_web import signed_in, text
from .helpers import new_risk, risk_in_state


def test_raise_rate_and_treat_a_risk_through_the_pages(app, org):
    process = new_process(org)
    client = signed_in(app, org.quality)
    page = text(client.get("/risks/new"))
    assert "Cause (what could make it happen)" in page and "Production" in page
    bad = client.post("/risks/new", data={"title": "", "cause": "", "effect": "x", "clause_refs": "abc"})
    assert bad.status_code == 422 and "This field is required" in text(bad)
    response = client.post(
        "/risks/new",
        data={
            "title": "Oven breaks down",
            "cause": "Old heating elements",
            "effect": "Orders late",
            "process_id": process.id,
            "clause_refs": "7.1.3, 8.5.1",
            "owner_id": org.owner.id,
        },
    )
    assert response.status_code == 302
    risk = db.session.scalar(db.select(Risk))
    url = f"/risks/{risk.id}"
    assert risk.clause_refs == ["7.1.3", "8.5.1"] and risk.owner_id == org.owner.id
    out_of_scale = client.post(f"{url}/events/assess", data={"likelihood": "7", "impact": "2", "version": risk.version})
    assert out_of_scale.status_code == 422 and "must be a whole number from 1 to 5" in text(out_of_scale)
    assert client.post(f"{url}/events/assess", data={"likelihood": "4", "impact": "4"}).status_code == 302
    page = text(client.get(url))
    assert "4 × 4 = 16" in page and "High (16)" in page
    assert (
        client.post(
            f"{url}/events/plan_treatment", data={"treatment": "reduce", "treatment_plan": "Replace the elements"}
        ).status_code
        == 302
    )
    bad = client.post(f"{url}/actions", data={"title": "", "owner_id": org.owner.id, "due_date": "2000-01-01"})
    assert bad.status_code == 422
    good = client.post(
        f"{url}/actions",
        data={"title": "Replace elements", "owner_id": org.owner.id, "due_date": dt.date.today().isoformat()},
    )
    assert good.status_code == 302
    action = risk.actions[0]
    page = text(client.get(f"/risk-actions/{action.id}"))
    assert action.reference in page and "Risk treatment action lifecycle" in page
    heat = text(client.get("/risks/heat-map"))
    assert 'aria-label="Likelihood 4 × impact 4: 1 risk (high)"' in heat
    drill = text(client.get("/risks?likelihood=4&impact=4"))
    assert "Oven breaks down" in drill and "likelihood 4 × impact 4" in drill
    assert "Oven breaks down" not in text(client.get("/risks?likelihood=2&impact=4"))


def test_register_filters_paging_and_pdf(app, org):
    process = new_process(org)
    for i in range(27):
        new_risk(org, process=process, title=f"Risk {i:02d}")
    risk_in_state(org, "assessed", title="Rated one", likelihood=5, impact=5)
    client = signed_in(app, org.viewer)
    first = text(client.get("/risks"))
    assert "25 shown (28 in all)" in first and "Rated one" in first  # highest score first
    following = re.search(r'href="([^"]+)" rel="next"', client.get("/risks").get_data(as_text=True)).group(1)
    assert "3 shown (28 in all)" in text(client.get(html.unescape(following)))
    only = text(client.get("/risks?level=high"))
    assert "Rated one" in only and "Risk 00" not in only
    assert "28 in all" in text(client.get("/risks?process=abc&likelihood=zz&sort=evil&state=bogus"))
    pdf = client.get("/risks/register.pdf?level=high")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert client.get("/risks/new").status_code == 403


def test_nc_page_cites_the_realised_risk_and_raises_one(app, org):
    risk = risk_in_state(org, "monitored")
    nc = new_nc(org)
    client = signed_in(app, org.auditor)
    page = text(client.get(f"/nonconformities/{nc.id}"))
    assert "Cite the risk it realised" in page and risk.reference in page
    bad = client.post(f"/nonconformities/{nc.id}/realised-risks", data={"risk_id": "999999"})
    assert bad.status_code == 422 and "Risk no such risk" in text(bad)
    assert row_count(RiskRealisation) == 0
    typo = client.post(f"/nonconformities/{nc.id}/realised-risks", data={"risk_reference": "RSK-1999-0001"})
    assert typo.status_code == 422
    done = client.post(
        f"/nonconformities/{nc.id}/realised-risks", data={"risk_reference": risk.reference.lower(), "note": "Again"}
    )
    assert done.status_code == 302
    page = text(client.get(f"/risks/{risk.id}"))
    assert "Re-rating asked" in page and nc.reference in page
    owner = signed_in(app, org.owner)
    form = text(owner.get(f"/risks/new?source=nonconformity&source_id={nc.id}"))
    assert f"Raised from A nonconformity: {nc.reference}" in form and "Recurrence:" in form
    assert owner.get("/risks/new?source=complaint&source_id=424242").status_code == 404
    response = owner.post(
        "/risks/new",
        data={"source": "nonconformity", "source_id": nc.id, "title": "Recurrence", "cause": "c", "effect": "e"},
    )
    assert response.status_code == 302
    raised = db.session.scalar(db.select(Risk).where(Risk.title == "Recurrence"))
    assert raised.source_nonconformity_id == nc.id
    assert "Recurrence" in text(owner.get(f"/nonconformities/{nc.id}"))


def test_edit_only_by_owner_or_quality(app, org):
    risk = new_risk(org)
    assert signed_in(app, org.auditor).get(f"/risks/{risk.id}/edit").status_code == 403
    client = signed_in(app, org.owner)
    response = client.post(
        f"/risks/{risk.id}/edit", data={"title": "Steel late", "cause": "c", "effect": "e", "owner_id": org.owner.id}
    )
    assert response.status_code == 302 and risk.title == "Steel late"


def test_accept_needs_the_managers_signature(app, org):
    risk = risk_in_state(org, "assessed")
    client = signed_in(app, org.manager)
    wrong = client.post(
        f"/risks/{risk.id}/events/accept",
        data={"rationale": "Insured", "signature_email": org.manager.email, "signature_password": "x"},
    )
    assert wrong.status_code == 422 and risk.state == "assessed"
    right = client.post(
        f"/risks/{risk.id}/events/accept",
        data={"rationale": "Insured", "signature_email": org.manager.email, "signature_password": PASSWORD},
    )
    assert right.status_code == 302
    assert "risk accepted" in text(client.get(f"/risks/{risk.id}"))


def test_dashboard_heat_map_my_work_and_the_checklist_evidence(app, org):
    from ..helpers import audit_in_state

    risk = risk_in_state(org, "accepted", likelihood=3, impact=3, clause_refs=["8.5.1"])
    client = signed_in(app, org.owner)
    dashboard = text(client.get("/"))
    assert 'id="risk-panel"' in dashboard and "Likelihood 3 × impact 3: 1 risk (medium)" in dashboard
    risk.next_review_on = dt.date.today() - dt.timedelta(days=1)
    db.session.commit()
    work = text(client.get("/my-work"))
    assert risk.reference in work and "Risk review due" in work
    audit = audit_in_state(org, "in_progress", clauses=("8.5",))
    page = text(signed_in(app, org.auditor).get(f"/audits/{audit.id}/checklist"))
    assert "Register entries evidencing 8.5" in page and risk.reference in page


def test_management_review_page_shows_input_e_from_the_register(app, org):
    from qms.services.reviews import compile_inputs, plan_management_review

    risk = risk_in_state(org, "monitored")
    today = dt.date.today()
    review = plan_management_review(
        org.quality, title="MR", planned_for=today, period_start=today - dt.timedelta(days=30), period_end=today
    )
    compile_inputs(review, org.quality)
    page = text(signed_in(app, org.viewer).get(f"/reviews/management/{review.id}"))
    section = page.split('id="input-risks_opportunities"')[1].split("</article>")[0]
    assert "Compiled from the system" in section and risk.reference in section and "missing" not in section


def test_processes_page_shows_the_registers_rating(app, org):
    process = new_process(org, risk="low")
    risk_in_state(org, "assessed", process=process, likelihood=5, impact=5)
    page = text(signed_in(app, org.quality).get("/processes"))
    assert "High (risk register)" in page
