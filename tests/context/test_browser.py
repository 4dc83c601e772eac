"""In a real browser: a quality officer records the SWOT and an interested party; a manager completes
the context review, answering the climate-change question, with a signature."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from ..browser import shots, sign, sign_in  # noqa: F401  (shots is a fixture)
from ..nonconformities.test_browser import open_action
from ..risks.test_browser import desktop, live_server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.parametrize("app", ["sqlite"], indirect=True)


def test_swot_parties_and_a_signed_context_review(desktop, live_server, org, shots):  # noqa: F811
    page, base = desktop, live_server
    review_on = (dt.date.today() + dt.timedelta(days=180)).isoformat()
    sign_in(page, base, org.quality.email)
    page.goto(f"{base}/context")
    page.locator("#quadrant-threat").get_by_role("link", name="Add a threat").click()
    page.get_by_label("Issue").fill("Power rationing in droughts")
    page.get_by_label("PESTLE category").select_option(label="Environmental")
    page.get_by_label("Owner").select_option(label=org.manager.name)
    page.get_by_label("Review by").fill(review_on)
    page.get_by_label("Related to climate change").check()
    page.get_by_role("button", name="Record issue").click()
    expect(page.locator("#quadrant-threat")).to_contain_text("Power rationing in droughts")
    expect(page.locator("#quadrant-threat")).to_contain_text("Environmental")

    page.get_by_role("link", name="Interested parties").first.click()
    page.get_by_role("link", name="Record an interested party").click()
    page.get_by_label("Interested party").fill("County fire department")
    page.get_by_label("Kind").select_option(label="Regulators and authorities")
    page.get_by_label("Requirements relevant to the QMS").fill("Fire certificate renewed yearly")
    page.get_by_label("How they are monitored").fill("Inspection reports")
    page.get_by_label("Owner").select_option(label=org.quality.name)
    page.get_by_label("Review by").fill(review_on)
    page.get_by_role("button", name="Record interested party").click()
    expect(page.locator("#parties")).to_contain_text("Fire certificate renewed yearly")

    page.goto(f"{base}/context/reviews/new")
    page.get_by_label("Title").fill("Context review 2026")
    page.get_by_label("Planned for").fill(dt.date.today().isoformat())
    page.get_by_label("Chair").select_option(label=org.manager.name)
    page.get_by_role("button", name="Plan review").click()
    open_action(page, "Start the review").get_by_role("button", name="Start the review").click()
    page.get_by_text("is now at “In progress”").wait_for()
    review_url = page.url

    sign_in(page, base, org.manager.email)
    page.goto(review_url)
    form = open_action(page, "Complete and sign")
    form.get_by_label("What changed in the issues and interested parties").fill("Power rationing added")
    form.get_by_label("Is climate change a relevant issue? (ISO 9001 Amd 1:2024)").select_option("yes")
    form.get_by_label("How climate change affects the QMS, or why it does not").fill("Droughts stop the oven")
    form.get_by_label("Next review by").fill(review_on)
    sign(form, org.manager.email)
    form.get_by_role("button", name="Complete and sign").click()
    page.get_by_text("is now at “Completed”").wait_for()
    expect(page.locator("#climate-answer")).to_contain_text("Yes")
    expect(page.locator("#snapshot")).to_contain_text("Power rationing in droughts")
    page.screenshot(path=shots / "context-review.png", full_page=True)
    page.goto(f"{base}/context")
    page.screenshot(path=shots / "swot-board.png", full_page=True)
    expect(page.get_by_text("climate change is a relevant issue")).to_be_visible()
