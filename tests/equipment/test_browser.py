"""In a real browser: a calibration recorded out of tolerance as found opens the impact assessment,
which lists what the instrument measured since its last good calibration (an inspection that
used it and an NC that cites it); the quality officer raises a nonconformity from it and
follows it to the NC, which carries that list. The app runs with CSRF protection on."""

from __future__ import annotations

import datetime as dt

from playwright.sync_api import expect

from qms.database import db
from qms.services.inspections import record_inspection
from qms.services.nonconformities import raise_nonconformity

from ..browser import DESKTOP, browser_context, serve, shots, sign_in  # noqa: F401  (shots is a fixture)
from ..nonconformities.test_browser import open_action, pytestmark  # noqa: F401
from .builders import TODAY, calibrate, new_instrument


def test_out_of_tolerance_lists_what_it_measured_and_raises_an_nc(app, org, shots):  # noqa: F811
    gauge = new_instrument(org)
    calibrate(org, gauge, TODAY - dt.timedelta(days=200))
    inspection = record_inspection(
        org.owner,
        kind="final",
        inspected_on=TODAY - dt.timedelta(days=20),
        item="Door frames, order 1207",
        result="accepted",
        equipment_id=gauge.id,
    )
    nc = raise_nonconformity(
        org.quality,
        title="Frame width 2 mm over on order 1199",
        description="Measured at final inspection",
        source="process_monitoring",
        detected_on=TODAY - dt.timedelta(days=5),
        equipment_id=gauge.id,
    )
    references = (inspection.reference, nc.reference)
    gauge_id = gauge.id
    db.session.commit()  # no transaction left open while the served app writes

    with serve(app, csrf=True) as base, browser_context(viewport=DESKTOP) as (_, page):
        sign_in(page, base, org.quality.email)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Equipment").click()
        page.get_by_role("link", name="GA-012").click()
        page.locator("summary.button", has_text="Record a calibration").click()
        form = page.locator("details[open] form")
        form.get_by_label("Laboratory or person").fill("KEBS Metrology Laboratory")
        form.get_by_label("As found", exact=True).select_option(label="Out of tolerance")
        form.get_by_label("As found (readings)").fill("+0.05 mm at 100 mm")
        form.get_by_label("As left", exact=True).select_option(label="In tolerance")
        form.get_by_label("As left (after adjustment)").fill("0.00 mm at 100 mm")
        form.get_by_label("Traceability").fill("Gauge blocks traceable to KEBS national standards")
        form.get_by_role("button", name="Record calibration").click()

        # the assessment opens on what the gauge measured since its last good calibration
        page.get_by_text("Out of tolerance as found").wait_for()
        expect(page.get_by_role("heading", level=1)).to_contain_text("GA-012 found out of tolerance")
        affected = page.locator("#affected-records")
        for reference in references:
            expect(affected.get_by_role("link", name=reference)).to_be_visible()
        expect(affected).to_contain_text("Final inspection: Door frames, order 1207")
        assessment_url = page.url
        page.screenshot(path=shots / "oot-assessment.png", full_page=True)

        # the listed inspection links to its record, which names the instrument
        affected.get_by_role("link", name=references[0]).click()
        expect(page.locator("#inspection-equipment")).to_contain_text("GA-012")
        page.goto(assessment_url)

        form = open_action(page, "Raise a nonconformity")
        form.get_by_label("What is affected and why").fill("Door frames measured since the last calibration")
        form.get_by_role("button", name="Raise a nonconformity").click()
        page.get_by_text("is now at “Nonconformity raised”").wait_for()
        link = page.locator("#oot-nc a")
        expect(link).to_be_visible()
        link.click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Out of tolerance: GA-012")
        body = page.locator("main")
        for reference in references:
            expect(body).to_contain_text(reference)
        expect(body).to_contain_text("Door frames measured since the last calibration")
        page.goto(f"{base}/equipment/{gauge_id}")
        expect(page.locator("#assessments")).to_contain_text("Nonconformity raised")
