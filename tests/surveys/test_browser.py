"""In a real browser: a customer answers the public survey on a phone, and the quality officer sees it.

The quality officer opens the demo's survey (72 responses over three months) and notes NPS and n; a
customer who is not signed in (a separate browser context at a phone's size) answers through the
public link, typing ``<script>alert(1)</script>`` as free text; the officer reloads the dashboard
and the survey page and sees n increased by one and the verbatim shown as text, never run.
The app runs with CSRF protection on, as in production.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from qms.database import db
from qms.demo.complaints import seed_complaints
from qms.demo.surveys import seed_survey
from qms.models import Survey

from ..browser import chromium, serve, shots, sign_in  # noqa: F401  (shots is a fixture)

pytestmark = pytest.mark.parametrize("app", ["sqlite"], indirect=True)
PHONE = {"width": 390, "height": 844}
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def live_server(app) -> Iterator[str]:
    with serve(app, csrf=True) as base:
        yield base


@pytest.fixture
def browser(live_server):
    with chromium() as browser:
        yield browser


def watched(page, errors: list[str], dialogs: list[str]):
    page.set_default_timeout(15_000)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    return page


def test_customer_answers_the_public_survey_and_the_dashboard_updates(browser, live_server, org, shots):  # noqa: F811
    base = live_server
    people = {"quality": org.quality, "owner": org.owner}
    seed_survey(people, dt.date.today())
    seed_complaints(people, dt.date.today())
    survey = db.session.scalar(select(Survey))
    survey_id, token, title = survey.id, survey.public_token, survey.title
    question_ids = [question.id for question in survey.questions]
    email = org.quality.email
    db.session.commit()  # no transaction left open while the live server writes
    errors: list[str] = []
    dialogs: list[str] = []

    # The quality officer opens the survey's results and notes NPS and n.
    officer = watched(browser.new_context(viewport={"width": 1280, "height": 900}).new_page(), errors, dialogs)
    sign_in(officer, base, email)
    officer.goto(f"{base}/surveys/{survey_id}")
    expect(officer.locator("#nps-n")).to_have_text("72")
    nps_before = officer.locator("#nps-tile strong").inner_text()
    assert re.match(r"^[+-]\d+ ± \d+$", nps_before), nps_before
    link = officer.get_by_label("Public link of the survey").input_value()
    assert link == f"{base}/s/{token}"
    officer.goto(f"{base}/")
    expect(officer.locator("#dashboard-nps .n")).to_have_text("72")

    # A customer, not signed in, answers on a phone through the public link.
    customer = watched(browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True).new_page(), errors, dialogs)
    customer.goto(link + "?c=whatsapp")
    expect(customer.get_by_role("heading", name=title)).to_be_visible()
    expect(customer.get_by_role("button", name="Sign out")).to_have_count(0)
    assert customer.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling
    customer.get_by_role("button", name="Send my answers").click()  # the required question unanswered
    expect(customer.locator(f"#q{question_ids[0]}-error")).to_have_text("Is required")
    customer.locator(f"label[for=q{question_ids[0]}-10]").click()
    customer.locator(f"label[for=q{question_ids[1]}-4]").click()
    customer.locator(f"label[for=q{question_ids[3]}-6]").click()
    customer.get_by_label("Mombasa").check()
    customer.get_by_label(re.compile("What one thing should we improve")).fill(SCRIPT)
    customer.screenshot(path=shots / "public-survey-phone.png", full_page=True)
    customer.get_by_role("button", name="Send my answers").click()
    expect(customer.get_by_role("heading", name="Thank you")).to_be_visible()
    customer.wait_for_load_state()
    assert "NPS" not in customer.content()  # nothing about other responses

    # The officer reloads: one more response, the script shown as text.
    officer.reload()
    expect(officer.locator("#dashboard-nps .n")).to_have_text("73")
    officer.goto(f"{base}/surveys/{survey_id}")
    expect(officer.locator("#nps-n")).to_have_text("73")
    first = officer.locator(".verbatim").first
    expect(first).to_have_text(SCRIPT)
    expect(officer.locator("#verbatims script")).to_have_count(0)
    officer.screenshot(path=shots / "survey-results.png", full_page=True)
    assert not dialogs, f"a script ran: {dialogs}"
    assert not errors, f"JavaScript errors: {errors}"
