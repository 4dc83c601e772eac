"""In a real browser (Playwright driving Debian's Chromium): a quality officer's NC from raising
to signed closure, with a corrective action implemented by its owner and verified by someone else.

Screenshots go to the test's temporary folder, or to docs/screenshots/ when
QMS_UPDATE_SCREENSHOTS=1 (``make screenshots``); the README and the user guide use those.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from qms.database import begin_write, db
from qms.models import Nonconformity

from ..browser import browser_page, live_server, shots, sign_in  # noqa: F401  (fixtures)
from ..conftest import PASSWORD

pytestmark = pytest.mark.parametrize("app", ["sqlite"], indirect=True)


def page_reference(page, base: str, url: str) -> str:
    page.goto(url)
    return page.get_by_role("heading", level=1).inner_text().split(" · ")[0]


def open_action(page, label: str):
    """Open an event's form on a record page and return that form."""
    page.locator("summary.button", has_text=re.compile(rf"^{re.escape(label)}$")).click()
    return page.locator("details[open] form")


def test_quality_officer_takes_an_nc_to_signed_closure(browser_page, live_server, org, shots):  # noqa: F811
    page, base = browser_page, live_server
    sign_in(page, base, org.quality.email)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Nonconformities").click()
    page.get_by_role("link", name="Raise a nonconformity").click()
    page.get_by_label("Title").fill("Torque wrench used past its calibration date")
    page.get_by_label("Description").fill("Wrench TW-14 was used on line 2 twelve days after calibration fell due.")
    page.get_by_label("Source").select_option(label="Internal audit")
    page.get_by_label("Process").fill("Assembly")
    page.get_by_label("ISO 9001 clauses").fill("7.1.5.2, 8.7")
    page.get_by_role("button", name="Raise nonconformity").click()
    page.get_by_text("raised.").wait_for()
    nc_url = page.url

    form = open_action(page, "Triage")
    form.get_by_label("Severity").select_option("major")
    form.get_by_role("button", name="Triage").click()
    page.get_by_text("is now at “Triaged”").wait_for()

    form = open_action(page, "Record containment")
    form.get_by_label("Containment actions").fill("All wrenches of line 2 quarantined and re-checked.")
    form.get_by_role("button", name="Record containment").click()

    form = open_action(page, "Record root cause")
    form.get_by_label("Method", exact=True).select_option("five_whys")
    form.get_by_label("Root cause", exact=True).fill("The calibration schedule was kept on paper with no reminders.")
    form.get_by_label("Five whys").fill("Wrench overdue\nNobody was reminded\nSchedule on paper")
    form.get_by_role("button", name="Record root cause").click()
    page.get_by_text("is now at “Root cause identified”").wait_for()

    page.locator("summary.button", has_text="Add a corrective action").click()
    action_form = page.locator("details[open] form")
    action_form.get_by_label("Action").fill("Move the calibration schedule into the QMS with reminders")
    action_form.get_by_label("Owner").select_option(label=org.owner.name)
    action_form.get_by_label("Due date").fill((dt.date.today() + dt.timedelta(days=14)).isoformat())
    action_form.get_by_role("button", name="Add action").click()
    page.get_by_text("added to the plan").wait_for()

    form = open_action(page, "Approve action plan")
    form.get_by_label("Effectiveness check due").fill((dt.date.today() + dt.timedelta(days=30)).isoformat())
    form.get_by_role("button", name="Approve action plan").click()
    page.get_by_text("is now at “Corrective action planned”").wait_for()
    page.screenshot(path=shots / "nonconformity.png", full_page=True)
    action_url = page.get_by_role("link", name=re.compile(r"^CA-\d{4}-\d{4}$")).get_attribute("href")

    # The owner implements the action.
    sign_in(page, base, org.owner.email)
    page.goto(base + action_url)
    open_action(page, "Start").get_by_role("button", name="Start").click()
    form = open_action(page, "Mark implemented")
    form.get_by_label("What was done").fill("Schedule moved; reminders 14 days ahead.")
    form.get_by_role("button", name="Mark implemented").click()
    page.get_by_text("is now at “Implemented”").wait_for()
    page.wait_for_load_state()  # the flash comes first: the rest of the page may still be loading
    expect(page.get_by_role("button", name="Verify")).to_have_count(0)  # process owners do not verify

    # Another quality officer verifies it, with an electronic signature.
    sign_in(page, base, org.quality2.email)
    page.goto(base + action_url)
    form = open_action(page, "Verify")
    form.get_by_label("Verification notes").fill("Checked the schedule and three reminders.")
    form.get_by_label("E-mail address — your first signature in this session").fill(org.quality2.email)
    form.get_by_label("Password — electronic signature").fill(PASSWORD)
    form.get_by_role("button", name="Verify").click()
    page.get_by_text("is now at “Verified”").wait_for()
    page.screenshot(path=shots / "corrective-action.png", full_page=True)

    # Thirty days later, back to the quality officer: complete, verify effectiveness, close.
    reference = page_reference(page, base, nc_url)
    begin_write(db.session)  # the server wrote since this session last read
    db.session.execute(
        update(Nonconformity).where(Nonconformity.reference == reference).values(verification_due=dt.date.today())
    )
    db.session.commit()
    sign_in(page, base, org.quality.email)
    page.goto(nc_url)
    open_action(page, "Mark actions completed").get_by_role("button", name="Mark actions completed").click()
    form = open_action(page, "Verify effectiveness")
    form.get_by_label("Evidence of effectiveness").fill("No recurrence on three audits of line 2.")
    form.get_by_label("E-mail address — your first signature in this session").fill(org.quality.email)
    form.get_by_label("Password — electronic signature").fill("not-my-password")
    form.get_by_role("button", name="Verify effectiveness").click()
    page.get_by_text("is incorrect").wait_for()  # a wrong password is refused, next to the field
    form = page.locator("details[open] form")
    form.get_by_label("Evidence of effectiveness").fill("No recurrence on three audits of line 2.")
    form.get_by_label("E-mail address — your first signature in this session").fill(org.quality.email)
    form.get_by_label("Password — electronic signature").fill(PASSWORD)
    form.get_by_role("button", name="Verify effectiveness").click()
    page.get_by_text("is now at “Effectiveness verified”").wait_for()
    # segregation of duties: whoever verified effectiveness does not approve the closure
    expect(page.locator("#why-close")).to_contain_text("someone else must approve the closure")
    sign_in(page, base, org.manager.email)
    page.goto(nc_url)
    form = open_action(page, "Close")
    form.get_by_label("E-mail address — your first signature in this session").fill(org.manager.email)
    form.get_by_label("Password — electronic signature").fill(PASSWORD)
    form.get_by_role("button", name="Close").click()
    page.get_by_text("is now at “Closed”").wait_for()
    # the flash is at the top of the page, the history at its foot (below the diagram)
    expect(page.get_by_text(f"{org.manager.name} <{org.manager.email}> — approved for closure")).to_have_count(1)
    page.screenshot(path=shots / "nonconformity-closed.png", full_page=True)

    pdf = page.request.get(page.get_by_role("link", name="PDF report").get_attribute("href").join([base, ""]))
    assert pdf.ok and pdf.body().startswith(b"%PDF-")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Nonconformities").click()
    page.screenshot(path=shots / "register.png", full_page=True)
