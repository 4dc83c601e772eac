"""In a real browser: a quality officer raises an NC against a supplier and sends the SCAR link; the
supplier, not signed in, answers through it; the officer accepts and verifies the answer and sees the
supplier's score dropped and its status proposal. The app runs with CSRF protection on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from qms.database import db
from qms.services import fire
from qms.services.suppliers import raise_supplier_nc

from ..browser import chromium, serve, sign
from ..nonconformities.test_browser import shots, sign_in  # noqa: F401  (shots is a fixture)
from .builders import approved_supplier

pytestmark = pytest.mark.parametrize("app", ["sqlite"], indirect=True)
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def live_server(app) -> Iterator[str]:
    with serve(app, csrf=True) as base:  # the supplier's link leads here (QMS_BASE_URL)
        yield base


@pytest.fixture
def browser(live_server):
    with chromium() as browser:
        yield browser


def test_supplier_answers_the_scar_through_its_link_and_the_score_drops(browser, live_server, org, shots):  # noqa: F811
    base = live_server
    supplier = approved_supplier(org)
    for title in ("Sheet thickness out of specification", "Rust on delivery"):
        nc = raise_supplier_nc(supplier, org.quality, title=title, description="Found at goods receipt")
        fire(nc, "triage", org.quality, {"severity": "major"})
    db.session.refresh(supplier)
    assert supplier.score == 80.0 and supplier.proposed_state is None
    supplier_id, name = supplier.id, supplier.name
    db.session.commit()  # no transaction left open while the live server writes
    errors: list[str] = []

    officer = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    officer.set_default_timeout(15_000)
    officer.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(officer, base, org.quality.email)
    officer.goto(f"{base}/suppliers/{supplier_id}")
    expect(officer.locator("#supplier-score")).to_have_text("80")

    # The officer raises an NC against the supplier, then the SCAR with its link.
    officer.get_by_text("Raise a nonconformity against this supplier").click()
    officer.get_by_label("What is wrong").fill("Wrong steel grade on lot 2421")
    officer.get_by_label("Description and evidence").fill("Mill certificate says S235; the order asked for S355.")
    officer.get_by_role("button", name="Raise nonconformity").click()
    expect(officer.get_by_role("heading", name="Supplier")).to_be_visible()
    officer.get_by_text("Request corrective action from the supplier").click()
    officer.get_by_role("button", name="Raise the request and create the supplier's link").click()
    link = officer.locator("#scar-link").inner_text()
    assert link.startswith(f"{base}/scar/")
    expect(officer.locator("#scar-state")).to_have_text("Awaiting the supplier's answer")

    # The supplier, not signed in, answers on a phone through the link.
    answering = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True).new_page()
    answering.set_default_timeout(15_000)
    answering.on("pageerror", lambda exc: errors.append(str(exc)))
    answering.goto(link)
    expect(answering.get_by_role("heading", name="Corrective action request")).to_be_visible()
    expect(answering.get_by_role("button", name="Sign out")).to_have_count(0)
    answering.get_by_label("Containment: what you did at once").fill("Lot 2421 recalled; 12 sheets replaced.")
    answering.get_by_label("Root cause").fill("Wrong coil picked: two grades stored in one bay.")
    answering.get_by_label("Corrective actions and their dates").fill("Grades in separate bays from 1 March.")
    answering.get_by_label("Your name and position").fill("Wanjiru Kamau, Quality Manager")
    answering.get_by_role("button", name="Send our answer").click()
    expect(answering.get_by_role("heading", name="Thank you")).to_be_visible()
    answering.goto(link)
    expect(answering.get_by_role("heading", name="Already answered")).to_be_visible()

    # The officer sees the answer arrive, accepts it and verifies it.
    officer.goto(f"{base}/scars")
    officer.get_by_role("link", name="SCAR-").first.click()
    expect(officer.locator("#scar-state")).to_have_text("Answer received")
    expect(officer.locator("#answer-containment")).to_have_text("Lot 2421 recalled; 12 sheets replaced.")
    officer.get_by_text("Accept the answer", exact=True).first.click()
    officer.get_by_label("Effectiveness check due").fill(dt.date.today().isoformat())
    officer.locator("form.event-form").get_by_role("button", name="Accept the answer").click()
    expect(officer.locator("#scar-state")).to_have_text("Answer accepted")
    officer.get_by_text("Verify effectiveness", exact=True).first.click()
    officer.get_by_label("Evidence of effectiveness").fill("Next three lots checked: all S355.")
    sign(officer.locator("form.event-form"), org.quality.email)
    officer.locator("form.event-form").get_by_role("button", name="Verify effectiveness").click()
    expect(officer.locator("#scar-state")).to_have_text("Verified effective")

    # The supplier's score dropped and a status change is proposed, with its reason.
    officer.goto(f"{base}/suppliers/{supplier_id}")
    expect(officer.locator("#supplier-score")).to_have_text("76")
    expect(officer.get_by_role("heading", name="Proposed status change: approve with conditions")).to_be_visible()
    expect(officer.locator("#proposal")).to_contain_text("fell from 80 to 76")
    officer.screenshot(path=str(shots / "supplier-proposal.png"), full_page=True)
    assert name in officer.content()
    assert not errors, errors
