"""The equipment pages: register with calibration status, an instrument's page, recording a
calibration (certificate uploaded) that finds it out of tolerance and opens the assessment, the
assessment raising an NC, the calibration label, and citing an instrument on a checklist answer."""

from __future__ import annotations

import datetime as dt
import io

from flask import g
from flask.testing import FlaskClient
from sqlalchemy import select

from qms.database import db
from qms.models import Calibration, Equipment, OotAssessment

from ..conftest import login
from ..helpers import audit_in_state
from .builders import TODAY, calibrate, new_instrument


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


def text(response) -> str:
    return response.get_data(as_text=True)


def test_register_and_new_instrument(app, org):
    client = signed_in(app, org.quality)
    assert "No instruments match" in text(client.get("/equipment"))
    response = client.post("/equipment/new", data={"identifier": "", "name": "Caliper", "interval_days": "0"})
    assert response.status_code == 422
    response = client.post(
        "/equipment/new",
        data={
            "identifier": "GA-1",
            "name": "Caliper",
            "interval_days": "365",
            "calibration_kind": "external",
            "owner_id": "0",
            "location": "Press shop",
        },
    )
    assert response.status_code == 302
    response = client.post(
        "/equipment/new",
        data={
            "identifier": "GA-1",
            "name": "Other",
            "interval_days": "365",
            "calibration_kind": "external",
            "owner_id": "0",
        },
    )
    assert response.status_code == 422 and "already in the register" in text(response)
    page = text(client.get("/equipment?status=overdue"))
    assert "GA-1" in page and "Calibration overdue" in page
    assert "GA-1" not in text(client.get("/equipment?status=due"))
    equipment = db.session.scalar(select(Equipment))
    response = client.post(
        f"/equipment/{equipment.id}/edit",
        data={
            "identifier": "GA-1",
            "name": "Caliper 150",
            "interval_days": "180",
            "calibration_kind": "internal",
            "owner_id": "0",
        },
    )
    assert response.status_code == 302
    assert signed_in(app, org.viewer).get("/equipment/new").status_code == 403


def test_calibration_out_of_tolerance_opens_the_assessment_which_raises_an_nc(app, org):
    gauge = new_instrument(org)
    calibrate(org, gauge, TODAY - dt.timedelta(days=100))
    client = signed_in(app, org.owner)
    response = client.post(
        f"/equipment/{gauge.id}/calibrations",
        data={
            "calibrated_on": TODAY.isoformat(),
            "kind": "external",
            "performed_by": "KEBS",
            "as_found_in_tolerance": "false",
            "as_found": "+0.06 mm",
            "as_left_in_tolerance": "true",
            "traceability": "KEBS national standards",
            "certificate": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "cert.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302 and "/equipment/assessments/" in response.headers["Location"]
    assessment = db.session.scalar(select(OotAssessment))
    page = text(client.get(response.headers["Location"]))
    assert "What it measured since" in page and "+0.06 mm" in page
    quality = signed_in(app, org.quality)
    response = quality.post(
        f"/equipment/assessments/{assessment.id}/events/raise_nonconformity",
        data={"impact": "Lots 12 and 13", "version": "1"},
    )
    assert response.status_code == 302
    db.session.refresh(assessment)
    assert assessment.state == "nc_raised" and assessment.nonconformity_id is not None
    nc_page = text(quality.get(f"/nonconformities/{assessment.nonconformity_id}"))
    assert "Measuring instrument" in nc_page and gauge.identifier in nc_page
    assert db.session.scalar(select(Calibration).order_by(Calibration.id.desc())).certificate_id is not None
    listing = text(quality.get("/equipment/assessments"))
    assert assessment.reference in listing


def test_calibration_form_errors_and_label(app, org):
    gauge = new_instrument(org)
    client = signed_in(app, org.quality)
    response = client.post(
        f"/equipment/{gauge.id}/calibrations",
        data={
            "calibrated_on": (TODAY + dt.timedelta(days=2)).isoformat(),
            "performed_by": "Lab",
            "traceability": "NIST",
            "as_found_in_tolerance": "true",
            "as_left_in_tolerance": "true",
            "kind": "external",
        },
    )
    assert response.status_code == 422 and "cannot be in the future" in text(response)
    label = client.get(f"/equipment/{gauge.id}/label.pdf")
    assert label.status_code == 200 and label.data.startswith(b"%PDF") and b"DO NOT USE" in label.data
    calibrate(org, gauge, TODAY)
    assert b"MAY BE USED" in client.get(f"/equipment/{gauge.id}/label.pdf").data
    assert signed_in(app, org.viewer).post(f"/equipment/{gauge.id}/calibrations", data={}).status_code == 403


def test_cite_an_instrument_on_a_checklist_answer(app, org):
    gauge = new_instrument(org)
    audit = audit_in_state(org, "in_progress")
    item = audit.items[0]
    auditor = signed_in(app, org.auditor)
    response = auditor.post(f"/checklist-items/{item.id}/equipment", data={"identifier": "NOPE"})
    assert response.status_code == 302
    assert db.session.get(type(item), item.id).equipment_id is None
    auditor.post(f"/checklist-items/{item.id}/equipment", data={"identifier": gauge.identifier})
    db.session.expire_all()
    assert db.session.get(type(item), item.id).equipment_id == gauge.id
    page = text(auditor.get(f"/audits/{audit.id}/checklist"))
    assert "Measured with" in page and f'value="{gauge.identifier}"' in page and "Record the instrument" in page
    assert (
        signed_in(app, org.viewer).post(f"/checklist-items/{item.id}/equipment", data={"identifier": ""}).status_code
        == 403
    )


def test_the_nc_form_cites_an_instrument_by_its_identifier(app, org):
    from qms.models import Nonconformity

    gauge = new_instrument(org)
    client = signed_in(app, org.quality)
    data = {
        "title": "Thin sheet",
        "description": "1.10 mm",
        "source": "process_monitoring",
        "detected_on": TODAY.isoformat(),
    }
    response = client.post("/nonconformities/new", data={**data, "instrument": "NOPE-1"})
    assert response.status_code == 422 and "is not an instrument of the register" in text(response)
    response = client.post("/nonconformities/new", data={**data, "instrument": gauge.identifier})
    assert response.status_code == 302
    assert db.session.scalar(select(Nonconformity.equipment_id)) == gauge.id
