"""In a real browser: a quality officer sets what a lead auditor needs, sees that an auditor lacks it and is
refused as lead with that reason, trains her, evaluates the training a month on, and then assigns her.

The training is recorded as held 31 days ago, so its evaluation period (30 days) is over today: the
date set for the test. The app runs with CSRF protection on, as in production.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from qms.services.audits import create_audit
from qms.services.users import create_user

from ..browser import chromium, serve
from ..conftest import PASSWORD
from ..helpers import PLAN_DAY, new_process
from ..nonconformities.test_browser import open_action, sign_in

pytestmark = pytest.mark.parametrize("app", ["sqlite"], indirect=True)


@pytest.fixture
def live_server(app) -> Iterator[str]:
    with serve(app, csrf=True) as base:
        yield base


@pytest.fixture
def page(live_server):
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        yield page
    assert not errors, f"JavaScript errors: {errors}"


def test_quality_officer_trains_an_auditor_before_she_may_lead(page, live_server, org):
    base = live_server
    today = dt.date.today()
    held_on = today - dt.timedelta(days=31)
    create_user("amina@example.test", "Amina Odhiambo", PASSWORD, {"internal_auditor"})
    process = new_process(org)
    audit = create_audit(org.quality, title="Production audit", process_id=process.id, planned_start=PLAN_DAY)

    # the administrator makes the lead auditor's competence a precondition of leading an audit
    sign_in(page, base, org.admin.email)
    page.goto(f"{base}/competence/preconditions")
    page.get_by_label("Assignment").select_option(label="Lead auditor of an audit")
    page.get_by_role("button", name="Turn on").click()
    expect(page.locator("#preconditions")).to_contain_text("Lead auditor of an audit")

    # the quality officer sets the competence a lead auditor needs
    sign_in(page, base, org.quality.email)
    page.goto(f"{base}/competences")
    page.get_by_label("Name").fill("Lead auditing (ISO 19011)")
    page.get_by_label("Valid for (months; empty: does not expire)").fill("36")
    page.get_by_label("Evidence needed at practitioner level").fill("Lead auditor course passed")
    page.get_by_role("button", name="Add competence").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lead auditing (ISO 19011)")
    page.get_by_label("Required of").select_option(label="Audit role")
    page.get_by_label("Audit role").select_option(label="Lead auditor")
    page.get_by_label("Level", exact=True).select_option(label="Practitioner")
    page.get_by_role("button", name="Add requirement").click()
    expect(page.locator("#requirement-list")).to_contain_text("Lead auditor")

    # she lacks it: the matrix shows the gap, the audit team form refuses her as lead and says why
    page.goto(f"{base}/competence?gaps=1")
    row = page.locator("#matrix tr", has_text="Amina Odhiambo")
    expect(row).to_contain_text("Gap")
    page.goto(f"{base}/audits/{audit.id}")
    page.get_by_label("Lead auditor").select_option(label="Amina Odhiambo")
    page.get_by_role("button", name="Save team").click()
    expect(page.locator("#lead-error")).to_have_text(
        "Amina Odhiambo lacks the competence needed as lead auditor of an audit: "
        "Lead auditing (ISO 19011) at practitioner level"
    )

    # plan the training, record attendance, hold it
    page.goto(f"{base}/training/new")
    page.get_by_label("Title", exact=True).fill("Lead auditor course")
    page.get_by_label("Competence", exact=True).select_option(label="Lead auditing (ISO 19011)")
    page.get_by_label("Level it gives").select_option(label="Practitioner")
    page.get_by_label("Date", exact=True).fill(held_on.isoformat())
    page.get_by_label("Or an external trainer").fill("Kenya Bureau of Standards")
    page.get_by_label("Effectiveness evaluated by").select_option(label="Test score")
    page.get_by_label("Pass mark (test, 0–100)").fill("70")
    page.get_by_label("Invite", exact=True).select_option(label="Amina Odhiambo")
    page.get_by_role("button", name="Plan training").click()
    expect(page.locator("p.state")).to_contain_text("Planned")
    page.get_by_label("Amina Odhiambo").check()
    page.get_by_role("button", name="Record attendance").click()
    expect(page.locator("#attendance-list")).to_contain_text("Yes")
    form = open_action(page, "Record as held")
    form.get_by_label("Held on").fill(held_on.isoformat())
    form.get_by_role("button", name="Record as held").click()
    expect(page.locator("p.state")).to_contain_text("Held")

    # a month later (the date of this test): her test score, then the session's evaluation
    page.get_by_label("Test score (0–100)").fill("85")
    page.get_by_role("button", name="Record evaluation").click()
    expect(page.locator("#attendance-list")).to_contain_text("Effective (score 85)")
    form = open_action(page, "Evaluate effectiveness")
    form.get_by_label("Evaluated on").fill(today.isoformat())
    form.get_by_role("button", name="Evaluate effectiveness").click()
    expect(page.locator("p.state")).to_contain_text("Evaluated")

    # now she may lead the audit
    page.goto(f"{base}/audits/{audit.id}")
    page.get_by_label("Lead auditor").select_option(label="Amina Odhiambo")
    page.get_by_role("button", name="Save team").click()
    expect(page.get_by_text("Audit team saved.")).to_be_visible()
    page.goto(f"{base}/competence")
    expect(page.locator("#matrix tr", has_text="Amina Odhiambo")).to_contain_text("Practitioner / Practitioner")
