"""In a real browser at a desktop's size: a manager reviews the 2024 climate amendment of ISO 9001.

From the standards page, "Review the change" on the amendment opens the review form with ISO 9001:2015
pre-selected; the review lists the changed clauses 4.1 and 4.2 with the document that refers to 4.1;
signing the gap assessment is blocked (with its reason) until both are assessed; then the manager
signs it and the review moves to transition planning. The app runs with CSRF protection on, as in production.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from qms.services.documents import create_document

from ..browser import DESKTOP, browser_context, serve, shots, sign, sign_in  # noqa: F401  (shots is a fixture)
from ..helpers import new_process

pytestmark = pytest.mark.parametrize("app", ["sqlite"], indirect=True)


@pytest.fixture
def live_server(app) -> Iterator[str]:
    with serve(app, csrf=True) as base:
        yield base


@pytest.fixture
def desktop(live_server):
    with browser_context(viewport=DESKTOP) as (_, page):
        yield page


def test_manager_reviews_the_climate_amendment_up_to_transition_planning(
    desktop,
    live_server,
    org,
    shots,  # noqa: F811
):
    page, base = desktop, live_server
    context_doc = create_document(
        org.quality,
        title="Context of the organisation",
        doc_type="procedure",
        owner_id=org.owner.id,
        clause_refs=["4.1"],
    )
    new_process(org, code="CTX", clauses=("4.1",))
    deadline = dt.date.today() + dt.timedelta(days=180)

    sign_in(page, base, org.manager.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reviews").click()
    page.get_by_role("navigation", name="Reviews").get_by_role("link", name="Standards").click()
    row = page.locator("#standard-iso-9001-2015-amd1-2024")
    expect(row).to_contain_text("Amendment 1:2024")
    row.get_by_role("button", name="Review the change from ISO 9001:2015", exact=True).click()

    # the form comes pre-selected: from the edition in use to the amendment
    expect(page.get_by_role("heading", level=1)).to_have_text("Open an ISO-change review")
    expect(page.get_by_label("Edition in use (old)")).to_have_value("iso-9001-2015")
    expect(page.get_by_label("New edition or amendment")).to_have_value("iso-9001-2015-amd1-2024")
    page.get_by_label("Title (optional)").fill("Climate action amendment")
    page.get_by_label("Transition deadline (optional)").fill(deadline.isoformat())
    page.get_by_role("button", name="Open the review").click()
    page.get_by_text("review opened with 2 clause change(s)").wait_for()
    expect(page.locator("#review-state")).to_have_text("Opened")
    expect(page.locator("#deadline")).to_contain_text("(180 days left)")

    # the two changed clauses, with what in the QMS refers to them
    items = page.locator("table.change-items tbody tr")
    expect(items).to_have_count(2)
    clause_41 = items.filter(has_text="4.1 Understanding the organization")
    expect(clause_41).to_contain_text("climate change")
    expect(clause_41.get_by_role("link", name=f"{context_doc.number} Context of the organisation")).to_have_attribute(
        "href", f"/documents/{context_doc.id}"
    )
    expect(clause_41).to_contain_text("Process CTX")
    expect(items.filter(has_text="4.2 Understanding the needs")).to_contain_text("Nothing in the QMS cites 4.2 yet")
    expect(page.locator("#progress")).to_contain_text("0 of 2")

    # the gap analysis starts; completing it is blocked until every change is assessed
    page.locator("summary.button", has_text=re.compile(r"^Start gap analysis$")).click()
    page.locator("details[open] form.event-form").get_by_role("button", name="Start gap analysis").click()
    page.get_by_text("is now at “Gap analysis”").wait_for()
    expect(page.get_by_role("button", name="Sign the gap assessment")).to_be_disabled()
    expect(page.locator("#why-complete_gap_analysis")).to_have_text("2 clause changes are not yet assessed")

    page.get_by_label("Result for clause 4.1").select_option("gap")
    page.get_by_label("Assessment of clause 4.1").fill("Add climate change to the context register and its review")
    page.get_by_role("button", name="Save assessment of 4.1").click()
    page.get_by_text("Clause 4.1: gap").wait_for()
    expect(page.locator("#progress")).to_contain_text("1 of 2")
    expect(page.locator("#why-complete_gap_analysis")).to_have_text("1 clause change is not yet assessed")

    page.get_by_label("Result for clause 4.2").select_option("no_gap")
    page.get_by_label("Assessment of clause 4.2").fill("Interested parties' climate requirements already recorded")
    page.get_by_role("button", name="Save assessment of 4.2").click()
    page.get_by_text("Clause 4.2: no gap").wait_for()
    expect(page.locator("#progress")).to_contain_text("2 of 2")
    page.screenshot(path=shots / "iso-change-review.png", full_page=True)

    # now the gap analysis completes and the review moves to transition planning
    page.locator("summary.button", has_text=re.compile(r"^Sign the gap assessment$")).click()
    form = page.locator("details[open] form.event-form")
    form.get_by_label("Gap analysis summary").fill("One gap: the context analysis must consider climate change")
    sign(form, org.manager.email)
    form.get_by_role("button", name="Sign the gap assessment").click()
    page.get_by_text("is now at “Transition planning”").wait_for()
    expect(page.locator("#review-state")).to_have_text("Transition planning")
    expect(page.locator("#details-h + dl")).to_contain_text("One gap: the context analysis")
    expect(page.get_by_role("button", name="Save assessment of 4.1")).to_have_count(0)
    page.get_by_text("Add an action", exact=True).click()
    expect(page.get_by_label("Action title")).to_be_visible()
