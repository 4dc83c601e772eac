"""The quality objectives pages: the register, setting an objective, its page with the trend chart,
recording values by hand and from CSV, recomputing a computed KPI, events, and the PDF report."""

from __future__ import annotations

import datetime as dt
import io

from qms.models import ObjectiveMeasurement, QualityObjective

from ..helpers import new_nc, new_process, row_count
from ..surveys.test_web import signed_in, text
from .helpers import PLAN, active_objective, months_ago, new_objective


def test_set_an_objective_through_the_form(app, org):
    process = new_process(org)
    client = signed_in(app, org.quality)
    page = text(client.get("/objectives/new"))
    assert "How the KPI is measured" in page and "Computed: Nonconformities raised" in page
    bad = client.post("/objectives/new", data={"title": "", "kpi_name": "K", "target": "x", "deadline": "soon"})
    assert bad.status_code == 422
    response = client.post(
        "/objectives/new",
        data={
            "title": "Fewer nonconformities",
            "kpi_name": "NCs raised per month",
            "measure": "nc_raised",
            "direction": "down",
            "frequency": "monthly",
            "target": "2",
            "deadline": (dt.date.today() + dt.timedelta(days=200)).isoformat(),
            "process_id": str(process.id),
            "owner_id": "0",
            **PLAN,
        },
    )
    assert response.status_code == 302
    objective = QualityObjective.query.one()
    assert (objective.measure, objective.unit, objective.process_id) == ("nc_raised", "NCs", process.id)
    assert objective.owner_id == org.quality.id
    assert client.get("/objectives/new").status_code == 200
    assert signed_in(app, org.viewer).get("/objectives/new").status_code == 403


def test_objective_page_shows_trend_values_and_takes_values(app, org):
    objective = active_objective(org)
    client = signed_in(app, org.quality)
    for n, value in ((3, 85), (2, 88)):
        response = client.post(
            f"/objectives/{objective.id}/values", data={"measured_on": months_ago(n).isoformat(), "value": str(value)}
        )
        assert response.status_code == 302
    bad = client.post(f"/objectives/{objective.id}/values", data={"measured_on": "2999-01-01", "value": "many"})
    assert bad.status_code == 422 and "must be a number" in text(bad) and "cannot be in the future" in text(bad)
    upload = {"file": (io.BytesIO(f"date,value\n{months_ago(1)},91\nyesterday,3\n".encode()), "values.csv")}
    refused = client.post(f"/objectives/{objective.id}/values/import", data=upload, content_type="multipart/form-data")
    assert refused.status_code == 422 and "Line 3, column &#39;date&#39;" in text(refused)
    assert row_count(ObjectiveMeasurement) == 2
    upload = {"file": (io.BytesIO(f"date,value\n{months_ago(1)},91\n".encode()), "values.csv")}
    assert (
        client.post(
            f"/objectives/{objective.id}/values/import", data=upload, content_type="multipart/form-data"
        ).status_code
        == 302
    )
    page = text(client.get(f"/objectives/{objective.id}"))
    assert '<svg class="trend-chart"' in page and "Forecast at the deadline" in page
    assert page.count("<circle") == 3 and "91 %" in page
    assert (
        signed_in(app, org.auditor)
        .post(f"/objectives/{objective.id}/values", data={"measured_on": months_ago(1).isoformat(), "value": "1"})
        .status_code
        == 403
    )


def test_a_computed_kpi_is_recomputed_not_typed(app, org):
    new_nc(org, detected_on=months_ago(1) + dt.timedelta(days=2))
    objective = active_objective(org, measure="nc_raised", direction="down", target=1, unit="NCs")
    client = signed_in(app, org.quality)
    page = text(client.get(f"/objectives/{objective.id}"))
    assert "Recompute from the records" in page and 'name="value"' not in page
    refused = client.post(f"/objectives/{objective.id}/values", data={"measured_on": "2026-01-01", "value": "1"})
    assert refused.status_code == 409 and "computed from the records" in text(refused)
    new_nc(org)
    assert client.post(f"/objectives/{objective.id}/recompute").status_code == 302
    assert "1 value(s) added or changed" in text(client.get(f"/objectives/{objective.id}"))


def test_register_filters_and_report(app, org):
    active_objective(org, title="Deliver on time")
    new_objective(org, title="Answer calls faster")
    client = signed_in(app, org.viewer)
    page = text(client.get("/objectives?state=active"))
    assert "Deliver on time" in page and "Answer calls faster" not in page and "Not measured yet" in page
    assert "Answer calls faster" in text(client.get("/objectives?state=nonsense"))
    pdf = client.get("/objectives/report.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")


def test_approve_from_the_page_needs_the_signature(app, org):
    objective = new_objective(org)
    client = signed_in(app, org.manager)
    refused = client.post(
        f"/objectives/{objective.id}/events/approve",
        data={"signature_email": org.manager.email, "signature_password": "nope"},
    )
    assert refused.status_code == 422 and "is incorrect" in text(refused)
    from ..conftest import PASSWORD

    done = client.post(
        f"/objectives/{objective.id}/events/approve",
        data={"signature_email": org.manager.email, "signature_password": PASSWORD},
    )
    assert done.status_code == 302
    assert "approved" in text(client.get(f"/objectives/{objective.id}"))
