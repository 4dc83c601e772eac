"""In a real browser: a manager raises and rates a risk, sees it on the heat map, plans its treatment;
the owner implements the action, a quality officer verifies it with a signature; the manager records
the residual rating and sees the risk move on the heat map, then drills down from the cell."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from ..browser import DESKTOP, browser_context, serve, shots, sign, sign_in  # noqa: F401  (shots is a fixture)
from ..helpers import new_process
from ..nonconformities.test_browser import open_action

pytestmark = pytest.mark.parametrize("app", ["sqlite"], indirect=True)


@pytest.fixture
def live_server(app) -> Iterator[str]:
    with serve(app, csrf=True) as base:
        yield base


@pytest.fixture
def desktop(live_server):
    with browser_context(viewport=DESKTOP) as (_, page):
        yield page


def cell(page, likelihood: int, impact: int, count: int, level: str):
    risks = "risk" if count == 1 else "risks"
    return page.locator("#heat-map-current").get_by_role(
        "link", name=f"Likelihood {likelihood} × impact {impact}: {count} {risks} ({level})"
    )


def test_manager_rates_a_risk_and_sees_it_move_after_its_treatment_is_verified(desktop, live_server, org, shots):  # noqa: F811
    page, base = desktop, live_server
    new_process(org)
    sign_in(page, base, org.manager.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Risks and context").click()
    page.get_by_role("link", name="Raise a risk").click()
    page.get_by_label("Title").fill("Press brake breaks down")
    page.get_by_label("Cause (what could make it happen)").fill("One ageing machine, no preventive maintenance")
    page.get_by_label("Effect (what would follow)").fill("Door-leaf forming stops; orders weeks late")
    page.get_by_label("Process").select_option(label="Production")
    page.get_by_label("ISO 9001 clauses").fill("7.1.3, 8.5.1")
    page.get_by_label("Owner").select_option(label=org.owner.name)
    page.get_by_role("button", name="Raise risk").click()
    page.get_by_text("raised. Rate it next").wait_for()
    risk_url = page.url

    form = open_action(page, "Assess (rate)")
    form.get_by_label("Likelihood", exact=True).fill("4")
    form.get_by_label("Impact", exact=True).fill("5")
    form.get_by_role("button", name="Assess (rate)").click()
    page.get_by_text("is now at “Assessed”").wait_for()
    expect(page.locator("#inherent-rating")).to_have_text("4 × 5 = 20")

    page.goto(f"{base}/risks/heat-map")
    expect(cell(page, 4, 5, 1, "high")).to_be_visible()

    page.goto(risk_url)
    form = open_action(page, "Plan treatment")
    form.get_by_label("Treatment", exact=True).select_option("reduce")
    form.get_by_label("Treatment plan").fill("Service contract and a spare hydraulic pump")
    form.get_by_role("button", name="Plan treatment").click()
    page.get_by_text("is now at “Treatment planned”").wait_for()
    page.locator("summary.button", has_text="Add a treatment action").click()
    action_form = page.locator("details[open] form")
    action_form.get_by_label("Action").fill("Sign a preventive maintenance contract")
    action_form.get_by_label("Owner").select_option(label=org.owner.name)
    action_form.get_by_label("Due date").fill((dt.date.today() + dt.timedelta(days=21)).isoformat())
    action_form.get_by_role("button", name="Add action").click()
    page.locator("p.flash", has_text=" planned.").wait_for()
    action_url = page.get_by_role("link", name=re.compile(r"^RTA-\d{4}-\d{4}$")).get_attribute("href")
    expect(page.get_by_role("button", name="Record the residual rating")).to_be_disabled()
    expect(page.get_by_text("1 treatment action is not verified yet")).to_be_visible()

    # the owner implements the action; a quality officer verifies it with a signature
    sign_in(page, base, org.owner.email)
    page.goto(base + action_url)
    open_action(page, "Start").get_by_role("button", name="Start").click()
    form = open_action(page, "Mark implemented")
    form.get_by_label("What was done").fill("Contract signed; spare pump in stock")
    form.get_by_role("button", name="Mark implemented").click()
    page.get_by_text("is now at “Implemented”").wait_for()
    sign_in(page, base, org.quality.email)
    page.goto(base + action_url)
    form = open_action(page, "Verify")
    form.get_by_label("Verification notes").fill("Contract and pump seen")
    sign(form, org.quality.email)
    form.get_by_role("button", name="Verify").click()
    page.get_by_text("is now at “Verified”").wait_for()

    # the manager records the residual rating: the risk moves on the heat map
    sign_in(page, base, org.manager.email)
    page.goto(risk_url)
    form = open_action(page, "Record the residual rating")
    form.get_by_label("Residual likelihood").fill("2")
    form.get_by_label("Residual impact").fill("3")
    form.get_by_label("How effective the treatment was").fill("No stoppage since the contract")
    form.get_by_role("button", name="Record the residual rating").click()
    page.get_by_text("is now at “Treated and monitored”").wait_for()
    expect(page.locator("#residual-rating")).to_have_text("2 × 3 = 6")
    page.screenshot(path=shots / "risk.png", full_page=True)

    page.get_by_role("link", name="Heat map", exact=True).click()
    expect(cell(page, 2, 3, 1, "medium")).to_be_visible()
    expect(page.locator('#heat-map-current a[data-likelihood="4"][data-impact="5"]')).to_have_count(0)
    expect(page.locator('#heat-map-inherent a[data-likelihood="4"][data-impact="5"]')).to_have_count(1)
    page.screenshot(path=shots / "risk-heat-map.png", full_page=True)
    cell(page, 2, 3, 1, "medium").click()
    expect(page.locator("#cell-filter")).to_contain_text("likelihood 2 × impact 3")
    expect(page.locator("#risks").get_by_role("link", name=re.compile(r"^RSK-"))).to_have_count(1)
    page.get_by_role("link", name="Dashboard").click()
    expect(page.locator("#risk-panel").get_by_role("link", name=re.compile("Likelihood 2 × impact 3"))).to_be_visible()
