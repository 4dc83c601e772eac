"""The supplier pages: register, supplier page with evaluations, deliveries (CSV with line and column
errors), certificates, nonconformities and status proposals; the approved supplier list (page, PDF,
spreadsheet); SCARs and the supplier's public answer page, which meets the same hostile input as the
public survey page (unknown fields, oversize bodies, forged and spent links, script in answers)."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from flask import g
from flask.testing import FlaskClient
from sqlalchemy import select

from qms.database import db
from qms.models import Nonconformity, Scar, Supplier, SupplierDelivery, SupplierEvaluation
from qms.services import fire
from qms.services.suppliers import raise_scar, raise_supplier_nc

from ..conftest import login
from ..core.test_mail import inbox  # noqa: F401  (a fixture)
from .builders import TODAY, approved_supplier, new_supplier


class Client(FlaskClient):
    """A test client whose requests never see the user another client signed in."""

    def open(self, *args, **kwargs):
        g.pop("_login_user", None)
        return super().open(*args, **kwargs)


def signed_in(app, user):
    app.test_client_class = Client
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    return client


def anonymous(app):
    app.test_client_class = Client
    return app.test_client()


def text(response) -> str:
    return response.get_data(as_text=True)


def test_register_new_supplier_and_edit(app, org):
    client = signed_in(app, org.quality)
    assert "No suppliers match" in text(client.get("/suppliers"))
    response = client.post("/suppliers/new", data={"name": "", "supplies": "Bolts", "criticality": "vital"})
    assert response.status_code == 422 and "This field is required" in text(response)
    response = client.post(
        "/suppliers/new",
        data={
            "name": "Otieno Fasteners",
            "supplies": "M8 bolts",
            "criticality": "medium",
            "contact_email": "not-an-email",
            "owner_id": "0",
        },
    )
    assert response.status_code == 422 and "must be an e-mail address" in text(response)
    response = client.post(
        "/suppliers/new",
        data={"name": "Otieno Fasteners", "supplies": "M8 bolts", "criticality": "medium", "owner_id": "0"},
    )
    assert response.status_code == 302
    supplier = db.session.scalar(select(Supplier))
    page = text(client.get(f"/suppliers/{supplier.id}"))
    assert "Otieno Fasteners" in page and "Prospective" in page and "Start evaluation" in page
    response = client.post(
        f"/suppliers/{supplier.id}/edit",
        data={"name": "Otieno Fasteners Ltd", "supplies": "M8 bolts", "criticality": "low", "owner_id": "0"},
    )
    assert response.status_code == 302
    db.session.refresh(supplier)
    assert supplier.name == "Otieno Fasteners Ltd" and supplier.criticality == "low"
    assert "Otieno Fasteners Ltd" in text(client.get("/suppliers?q=fasteners"))
    assert "No suppliers match" in text(client.get("/suppliers?state=approved"))
    viewer = signed_in(app, org.viewer)
    assert viewer.get("/suppliers/new").status_code == 403
    assert viewer.post(f"/suppliers/{supplier.id}/edit", data={}).status_code == 403


def test_evaluation_deliveries_and_csv_errors_on_the_page(app, org):
    supplier = new_supplier(org)
    client = signed_in(app, org.quality)
    response = client.post(
        f"/suppliers/{supplier.id}/evaluations",
        data={
            "period_start": TODAY.isoformat(),
            "period_end": (TODAY - dt.timedelta(days=3)).isoformat(),
            "price": "80",
            "service": "150",
        },
    )
    assert response.status_code == 422
    assert "Number must be between 0 and 100" in text(response)
    response = client.post(
        f"/suppliers/{supplier.id}/evaluations",
        data={
            "period_start": TODAY.isoformat(),
            "period_end": (TODAY - dt.timedelta(days=3)).isoformat(),
            "price": "80",
            "service": "50",
        },
    )
    assert response.status_code == 422 and "must not be before the start" in text(response)
    response = client.post(
        f"/suppliers/{supplier.id}/deliveries",
        data={"order_reference": "PO-7", "due_on": "2026-01-10", "delivered_on": "2026-01-12"},
    )
    assert response.status_code == 302
    csv = b"order_reference,due_on,delivered_on\nPO-8,2026-01-10,2026-01-09\nPO-9,2026-13-01,2026-01-09\n"
    response = client.post(
        f"/suppliers/{supplier.id}/deliveries/import",
        data={"file": (io.BytesIO(csv), "deliveries.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422 and "line 3, column due_on: must be a date" in text(response)
    assert db.session.query(SupplierDelivery).count() == 1
    good = b"order_reference,due_on,delivered_on\nPO-8,2026-01-10,2026-01-09\n"
    response = client.post(
        f"/suppliers/{supplier.id}/deliveries/import",
        data={"file": (io.BytesIO(good), "deliveries.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302 and db.session.query(SupplierDelivery).count() == 2
    response = client.post(
        f"/suppliers/{supplier.id}/evaluations",
        data={"period_start": "2026-01-01", "period_end": TODAY.isoformat(), "price": "80", "service": "70"},
    )
    assert response.status_code == 302
    evaluation = db.session.scalar(select(SupplierEvaluation))
    assert evaluation.scores["delivery"] == 50.0
    page = text(client.get(f"/suppliers/{supplier.id}"))
    assert "Score trend" in page and 'aria-label="Score trend:' in page and "PO-7" in page and "2 days late" in page
    owner = signed_in(app, org.owner)
    assert owner.post(f"/suppliers/{supplier.id}/evaluations", data={}).status_code == 403


def test_certificate_upload_and_raise_nc_from_the_supplier(app, org):
    supplier = new_supplier(org)
    client = signed_in(app, org.quality)
    response = client.post(
        f"/suppliers/{supplier.id}/certificates",
        data={"file": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "iso9001.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert "iso9001.pdf" in text(client.get(f"/suppliers/{supplier.id}"))
    response = client.post(
        f"/suppliers/{supplier.id}/nonconformities",
        data={"title": "Wrong grade", "description": "S235 instead of S355"},
    )
    assert response.status_code == 302
    nc = db.session.scalar(select(Nonconformity))
    assert (nc.source, nc.supplier_id, nc.clause_refs) == ("supplier", supplier.id, ["8.4"])
    page = text(client.get(f"/nonconformities/{nc.id}"))
    assert "Request corrective action from the supplier" in page and supplier.name in page


def test_approved_list_page_pdf_and_spreadsheet(app, org):
    approved_supplier(org, name="Kamau Steel Ltd")
    new_supplier(org, name="Prospect Co")
    client = signed_in(app, org.viewer)
    page = text(client.get("/suppliers/approved"))
    assert "Kamau Steel Ltd" in page and "Prospect Co" not in page
    pdf = client.get("/suppliers/approved.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    xlsx = client.get("/suppliers/approved.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"


def test_status_proposal_is_shown_and_can_be_dismissed(app, org):
    supplier = approved_supplier(org)
    for i in range(3):
        nc = raise_supplier_nc(supplier, org.quality, title=f"Wrong grade {i}", description="Grade")
        fire(nc, "triage", org.quality, {"severity": "major"})
    client = signed_in(app, org.quality)
    page = text(client.get(f"/suppliers/{supplier.id}"))
    assert "Proposed status change: approve with conditions" in page and "fell from" in page
    assert client.post(f"/suppliers/{supplier.id}/proposal/dismiss", data={"reason": ""}).status_code == 422
    response = client.post(f"/suppliers/{supplier.id}/proposal/dismiss", data={"reason": "Agreed a 100 % check"})
    assert response.status_code == 302
    db.session.refresh(supplier)
    assert supplier.proposed_state is None and supplier.state == "approved"


# --------------------------------------------------------------------------- SCAR and the public page


def _scar(org):
    supplier = approved_supplier(org)
    nc = raise_supplier_nc(supplier, org.quality, title="Burrs", description="Edges not deburred")
    scar, token = raise_scar(nc, org.quality, request="Contain and find the cause")
    return scar, token


ANSWER = {
    "containment": "Sorted 400 sheets",
    "root_cause": "Worn tool",
    "actions": "Tool life",
    "responder": "W. Kamau",
}


def test_raise_scar_from_the_nc_page_shows_the_link_once(app, org):
    supplier = approved_supplier(org)
    nc = raise_supplier_nc(supplier, org.quality, title="Burrs", description="Edges not deburred")
    client = signed_in(app, org.quality)
    response = client.post(f"/nonconformities/{nc.id}/scar", data={"request": "", "respond_by": ""})
    assert response.status_code == 303
    response = client.post(f"/nonconformities/{nc.id}/scar", data={"request": "Please answer", "respond_by": ""})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    link = re.search(r'<code class="token" id="scar-link">([^<]+)</code>', text(response)).group(1)
    scar = db.session.scalar(select(Scar))
    assert link.startswith(app.config["QMS_BASE_URL"] + "/scar/") and scar.token_hash not in link
    assert link not in text(client.get(f"/scars/{scar.id}"))  # shown only once
    assert "Awaiting the supplier" in text(client.get("/scars"))
    response = client.post(f"/scars/{scar.id}/link")
    new = re.search(r'id="scar-link">([^<]+)<', text(response)).group(1)
    anon = anonymous(app)
    assert anon.get(link.removeprefix(app.config["QMS_BASE_URL"])).status_code == 404  # the old link died
    assert anon.get(new.removeprefix(app.config["QMS_BASE_URL"])).status_code == 200
    viewer = signed_in(app, org.viewer)
    assert viewer.post(f"/scars/{scar.id}/link").status_code == 403
    assert viewer.post(f"/nonconformities/{nc.id}/scar", data={"request": "x"}).status_code == 403


def test_public_scar_page_good_answer_and_escaped_script(app, org):
    scar, token = _scar(org)
    anon = anonymous(app)
    page = text(anon.get(f"/scar/{token}"))
    assert "Send our answer" in page and "Contain and find the cause" in page
    assert "Sign out" not in page and "Nonconformities" not in page  # no staff navigation
    response = anon.post(f"/scar/{token}", data={**ANSWER, "containment": "<script>alert(1)</script> sorted"})
    assert response.status_code == 302
    assert "Thank you" in text(anon.get(response.headers["Location"]))
    db.session.refresh(scar)
    assert scar.state == "answered" and scar.answered_through_link
    pdf = signed_in(app, org.viewer).get(f"/scars/{scar.id}/report.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    staff = text(signed_in(app, org.quality).get(f"/scars/{scar.id}"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt; sorted" in staff and "<script>alert" not in staff
    again = anon.post(f"/scar/{token}", data=ANSWER)
    assert again.status_code == 409 and "already been used" in text(again)
    assert anon.get(f"/scar/{token}").status_code == 409


def test_public_scar_page_refuses_unknown_fields_oversize_and_missing_answers(app, org):
    scar, token = _scar(org)
    anon = anonymous(app)
    response = anon.post(f"/scar/{token}", data={**ANSWER, "state": "verified"})
    assert response.status_code == 422 and "does not ask for: state" in text(response)
    response = anon.post(f"/scar/{token}", data={**ANSWER, "actions": "x" * 70_000})
    assert response.status_code == 413 and "larger than we can accept" in text(response)
    response = anon.post(f"/scar/{token}", data={**ANSWER, "actions": "x" * 10_001})
    assert response.status_code == 422 and "at most 10000" in text(response)
    response = anon.post(f"/scar/{token}", data={"containment": "Kept text"})
    assert response.status_code == 422 and "Kept text" in text(response) and "Is required" in text(response)
    response = anon.post(f"/scar/{token}", data={**ANSWER, "root_cause": "bad\x00byte"})
    assert response.status_code == 400  # refused before any view sees it
    db.session.refresh(scar)
    assert scar.state == "awaiting_response" and scar.containment == ""


def test_unknown_and_closed_links(app, org):
    scar, token = _scar(org)
    anon = anonymous(app)
    response = anon.get("/scar/not-a-real-token")
    assert response.status_code == 404 and "not valid" in text(response)
    assert anon.get("/scar/" + "x" * 300).status_code == 404
    assert anon.post("/scar/forged", data=ANSWER).status_code == 404
    fire(scar, "cancel", org.quality, {"reason": "Raised in error"})
    assert anon.get(f"/scar/{token}").status_code == 404  # cancelling kills the link
    assert anon.post(f"/scar/{token}", data=ANSWER).status_code == 404


@pytest.mark.real_commits
def test_public_scar_posts_are_rate_limited(app, org):
    from qms import create_app
    from qms.security import limiter

    _scar_record, token = _scar(org)
    limited = create_app({**app.config, "RATELIMIT_ENABLED": True})
    limiter.reset()
    client = limited.test_client()
    with limited.app_context():
        codes = [client.post(f"/scar/{token}", data={}).status_code for _ in range(21)]
        reading = client.get(f"/scar/{token}").status_code
        limiter.reset()
    assert codes[:20] == [422] * 20 and codes[20] == 429
    assert reading == 200


def test_public_scar_page_needs_its_csrf_token(app, org):
    _scar_record, token = _scar(org)
    app.config["WTF_CSRF_ENABLED"] = True  # as in production (the settings are put back after the test)
    client = anonymous(app)
    refused = client.post(f"/scar/{token}", data=ANSWER)
    page = text(client.get(f"/scar/{token}"))
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    accepted = client.post(f"/scar/{token}", data={**ANSWER, "csrf_token": csrf})
    assert refused.status_code == 400 and accepted.status_code == 302


def test_dashboard_my_work_and_digest_list_supplier_and_calibration_work(app, org):
    from qms.services.equipment import register_equipment
    from qms.services.reminders import digest_items

    supplier = approved_supplier(org)
    nc = raise_supplier_nc(supplier, org.quality, title="Burrs", description="Edges")
    scar, token = raise_scar(nc, org.quality, request="Fix")
    from qms.services.suppliers import submit_scar_answer

    submit_scar_answer(token, **ANSWER)
    register_equipment(org.quality, identifier="GA-9", name="Caliper", interval_days=365, owner_id=org.owner.id)
    quality = signed_in(app, org.quality)
    work = text(quality.get("/my-work"))
    assert scar.reference in work and "Accept the answer" in work
    owner_work = text(signed_in(app, org.owner).get("/my-work"))
    assert "GA-9" in owner_work and "Calibrate" in owner_work
    assert any(item.kind == "equipment" for item in digest_items(org.owner, TODAY))
    dashboard = text(quality.get("/"))
    assert "Suppliers and measuring equipment" in dashboard and "instruments overdue for calibration" in dashboard
    assert "Kamau Steel Ltd" in dashboard  # the lowest scores


def test_the_link_can_be_emailed_to_the_supplier_contact(app, org, inbox):  # noqa: F811
    from ..core.test_mail import _use_smtp

    supplier = approved_supplier(org)
    nc = raise_supplier_nc(supplier, org.quality, title="Burrs", description="Edges not deburred")
    client = signed_in(app, org.quality)
    response = client.post(f"/nonconformities/{nc.id}/scar", data={"request": "Please answer", "email": "1"})
    assert response.status_code == 200 and "No mail server is configured" in text(response)
    scar = db.session.scalar(select(Scar))
    _use_smtp(app, inbox.port)
    response = client.post(f"/scars/{scar.id}/link", data={"email": "1"})
    assert "was e-mailed to quality@kamausteel.example" in text(response)
    link = re.search(r'id="scar-link">([^<]+)<', text(response)).group(1)
    (message,) = inbox.to("quality@kamausteel.example")
    assert link in message.get_content() and scar.reference in message["Subject"]
