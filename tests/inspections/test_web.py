"""The inspection pages: the register and its filters, recording one by the supplier's reference and
the instrument's identifier (errors beside the fields, nothing stored), a rejected incoming one
raising the supplier NC, the record page with its review, and the links from the supplier's and the
instrument's pages and from an out-of-tolerance assessment."""

from __future__ import annotations

import datetime as dt

from qms.models import Inspection

from ..equipment.builders import calibrate, new_instrument
from ..equipment.test_web import signed_in, text
from ..helpers import row_count
from ..suppliers.builders import approved_supplier

TODAY = dt.date.today()


def form(**fields):
    values = {
        "kind": "incoming",
        "inspected_on": TODAY.isoformat(),
        "item": "Cold-rolled sheet 1.2 mm",
        "lot": "L-0417",
        "result": "accepted",
    }
    values.update(fields)
    return values


def test_recording_an_inspection_from_the_form(app, org):
    supplier = approved_supplier(org)
    gauge = new_instrument(org)
    client = signed_in(app, org.owner)
    assert "No inspections match" in text(client.get("/inspections"))
    page = text(client.get(f"/inspections/new?supplier_id={supplier.id}&equipment_id={gauge.id}"))
    assert f'value="{supplier.reference}"' in page and 'value="GA-012"' in page

    refused = client.post("/inspections/new", data=form(supplier="Nobody Ltd", equipment="ZZ-9", result="rejected"))
    body = text(refused)
    assert refused.status_code == 422
    assert "no supplier with the reference or name “Nobody Ltd” in the register" in body
    assert "no instrument ZZ-9 in the register" in body and "describe what did not conform" in body
    assert row_count(Inspection) == 0

    response = client.post(
        "/inspections/new",
        data=form(
            supplier=supplier.name.upper(),  # by its name, in any case, as on the delivery note
            equipment="GA-012",
            result="rejected",
            findings="Thickness 1.32 mm on 4 of 10 sheets",
        ),
    )
    assert response.status_code == 302
    inspection = Inspection.query.one()
    page = text(client.get(response.headers["Location"], follow_redirects=True))
    assert "raised against the supplier" in page
    assert inspection.reference in page and "Rejected" in page and "GA-012 Digital caliper" in page
    assert inspection.nonconformity.reference in page
    # a process owner does not review; a quality officer other than the inspector does
    assert "Review" not in text(client.get(f"/inspections/{inspection.id}")).split("Next steps")[1].split("</aside>")[0]
    quality = signed_in(app, org.quality)
    response = quality.post(
        f"/inspections/{inspection.id}/events/review",
        data={"review_comment": "NC raised; lot returned", "version": inspection.version},
    )
    assert response.status_code == 302 and inspection.state == "reviewed"

    listing = text(quality.get("/inspections?result=rejected&kind=incoming"))
    assert inspection.reference in listing and supplier.name in listing
    assert "No inspections match" in text(quality.get("/inspections?result=concession"))
    assert "No inspections match" in text(quality.get("/inspections?kind=bogus&result=accepted"))
    assert inspection.reference in text(quality.get(f"/suppliers/{supplier.id}"))
    assert inspection.reference in text(quality.get(f"/equipment/{gauge.id}"))
    mine = quality.post("/inspections/new", data=form(kind="final", item="Cabinet", lot=""))
    assert "so someone else must review it" in text(quality.get(mine.headers["Location"]))


def test_viewers_read_but_do_not_record(app, org):
    client = signed_in(app, org.viewer)
    assert client.get("/inspections").status_code == 200
    assert client.get("/inspections/new").status_code == 403
    assert client.post("/inspections/new", data=form()).status_code == 403
    assert client.get("/inspections/999999").status_code == 404


def test_the_assessment_page_links_the_inspection(app, org):
    gauge = new_instrument(org)
    calibrate(org, gauge, TODAY - dt.timedelta(days=30))
    client = signed_in(app, org.owner)
    client.post(
        "/inspections/new",
        data=form(
            kind="final",
            inspected_on=(TODAY - dt.timedelta(days=3)).isoformat(),
            item="Cabinet",
            equipment="GA-012",
            lot="",
        ),
    )
    inspection = Inspection.query.one()
    _calibration, assessment = calibrate(org, gauge, TODAY, found=False, left=True)
    page = text(signed_in(app, org.quality).get(f"/equipment/assessments/{assessment.id}"))
    assert f'href="/inspections/{inspection.id}">{inspection.reference}</a>' in page
    assert "Final inspection: Cabinet" in page
