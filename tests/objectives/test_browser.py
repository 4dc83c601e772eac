"""In a real browser: a manager sets a quality objective whose KPI is computed from the nonconformity
records, approves it with an electronic signature, starts measuring it and sees its trend; a bad
CSV of values on another objective is refused line by line. The app runs with CSRF protection on.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from ..browser import sign
from ..certifications.test_browser import desktop, live_server  # noqa: F401  (fixtures)
from ..helpers import new_nc, new_process
from ..nonconformities.test_browser import shots, sign_in  # noqa: F401  (shots is a fixture)
from .helpers import active_objective, months_ago

pytestmark = pytest.mark.parametrize("app", ["sqlite"], indirect=True)


def test_manager_sets_an_objective_computed_from_the_nc_records_and_sees_its_trend(
    desktop,  # noqa: F811
    live_server,  # noqa: F811
    org,
    shots,  # noqa: F811
):
    page, base = desktop, live_server
    new_process(org)
    for months, count in ((5, 5), (4, 4), (3, 4), (2, 3), (1, 2)):
        for k in range(count):
            day = months_ago(months) + dt.timedelta(days=k)
            new_nc(org, title=f"Door frame out of square {months}-{k}", detected_on=day)
    sign_in(page, base, org.manager.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Planning").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Quality objectives")
    page.get_by_role("link", name="Set an objective").click()
    page.get_by_label("Objective", exact=True).fill("Halve the nonconformities raised each month")
    page.get_by_label("Process").select_option(label="Production")
    page.get_by_label("KPI", exact=True).fill("Nonconformities raised per month")
    page.get_by_label("How the KPI is measured").select_option(label="Computed: Nonconformities raised")
    page.get_by_label("Better is").select_option(label="Lower is better")
    page.get_by_label("Baseline").fill("5")
    page.get_by_label("Target").fill("2")
    page.get_by_label("Starts on").fill(months_ago(5).isoformat())
    page.get_by_label("Deadline").fill((dt.date.today() + dt.timedelta(days=150)).isoformat())
    page.get_by_label("What will be done").fill("Root-cause review of every major NC; error-proof the cutting jig")
    page.get_by_label("Resources").fill("Two hours a week of the production engineer")
    page.get_by_label("Who is responsible").fill("Production manager")
    page.get_by_label("When it will be completed").fill("By the deadline, reviewed monthly")
    page.get_by_label("How the results will be evaluated").fill("Monthly KPI against the target")
    page.get_by_role("button", name="Set objective").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Halve the nonconformities raised each month")
    expect(page.locator("#objective-status")).to_have_text("Not started")

    # The manager approves it with an electronic signature, then starts measuring it.
    page.locator("summary.button", has_text=re.compile(r"^Approve$")).click()
    form = page.locator("form.event-form").filter(has=page.get_by_role("button", name="Approve"))
    sign(form, org.manager.email)
    form.get_by_role("button", name="Approve").click()
    expect(page.get_by_text(re.compile(r"Approve: done\..* is now at .Approved"))).to_be_visible()
    page.locator("summary.button", has_text=re.compile(r"^Start measuring$")).click()
    page.get_by_role("button", name="Start measuring").last.click()
    expect(page.get_by_text(re.compile(r"Start measuring: done\..* is now at .Active"))).to_be_visible()

    # The trend: one value a month computed from the NC records, the target line and the forecast.
    chart = page.get_by_role("img", name=re.compile(r"Nonconformities raised per month: trend"))
    expect(chart).to_be_visible()
    expect(chart.locator("circle")).to_have_count(6)  # five whole months and this one so far
    rows = page.locator("#measurements tbody tr")
    expect(rows).to_have_count(6)
    expect(rows.nth(1)).to_contain_text("2 NCs")  # last month: two NCs
    expect(rows.nth(5)).to_contain_text("5 NCs")
    expect(page.locator("#forecast")).to_contain_text("NCs a month")
    expect(page.locator("#objective-status")).to_have_text(re.compile(r"On track|At risk"))
    page.screenshot(path=shots / "objective-trend.png", full_page=True)

    # A new NC this month: recomputing from the records counts it.
    new_nc(org, title="Hinge missing")
    page.get_by_role("button", name="Recompute from the records").click()
    expect(page.get_by_text("Recomputed from the records: 1 value(s) added or changed.")).to_be_visible()

    # The register and the dashboard show the objective's status.
    page.get_by_role("navigation", name="Planning").get_by_role("link", name="Objectives").click()
    expect(page.locator("#objectives tbody tr")).to_have_count(1)
    expect(page.locator("#objectives")).to_contain_text(re.compile(r"On track|At risk"))
    page.screenshot(path=shots / "objectives.png", full_page=True)


def test_a_bad_csv_of_values_is_refused_line_by_line(desktop, live_server, org, tmp_path):  # noqa: F811
    page, base = desktop, live_server
    objective = active_objective(org, owner_id=org.owner.id)
    sign_in(page, base, org.owner.email)
    page.goto(f"{base}/objectives/{objective.id}")
    bad = tmp_path / "values.csv"
    bad.write_text(f"date,value\n{months_ago(2)},88\n{months_ago(1)},ninety\n", encoding="utf-8")
    page.get_by_label("CSV file").set_input_files(str(bad))
    page.get_by_role("button", name="Import").click()
    errors = page.locator("#import-errors")
    expect(errors).to_contain_text("Line 3, column 'value': must be a number")
    expect(page.locator("#measurements tbody tr")).to_have_text(["No values yet."])
    good = tmp_path / "good.csv"
    good.write_text(f"date,value\n{months_ago(2)},88\n{months_ago(1)},90.5\n", encoding="utf-8")
    page.get_by_label("CSV file").set_input_files(str(good))
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_text("2 values imported, 0 replaced.")).to_be_visible()
    expect(page.locator("#measurements tbody tr")).to_have_count(2)
