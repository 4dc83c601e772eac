"""In a real browser at a tablet's size (768×1024): an auditor answers an audit's checklist on site.

Every answer saves itself (no button pressed), survives a reload, a minor finding shows the
nonconformity it raised, an answer given while offline is kept and sent when the connection
returns, and the lead auditor then submits the report with an electronic signature.
The app runs with CSRF protection on, as in production, so the script's X-CSRFToken header counts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from ..browser import TABLET, browser_context, serve, shots, sign_in  # noqa: F401  (shots is a fixture)
from ..conftest import PASSWORD
from ..helpers import audit_in_state

pytestmark = pytest.mark.parametrize("app", ["sqlite"], indirect=True)


@pytest.fixture
def live_server(app) -> Iterator[str]:
    with serve(app, csrf=True) as base:
        yield base


@pytest.fixture
def tablet(live_server):
    with browser_context(viewport=TABLET, has_touch=True) as (context, page):
        yield context, page


def choose(item, label: str) -> None:
    item.locator("label.seg", has_text=re.compile(rf"^{re.escape(label)}$")).click()


def test_auditor_answers_the_checklist_on_a_tablet(tablet, live_server, org, shots):  # noqa: F811
    context, page = tablet
    base = live_server
    audit = audit_in_state(org, "in_progress")
    item_ids = [item.id for item in audit.items]
    assert len(item_ids) >= 3

    sign_in(page, base, org.auditor.email)
    page.goto(f"{base}/audits/{audit.id}/checklist")
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]  # no sideways scrolling

    *online_ids, offline_id = item_ids
    finding_id = online_ids[1]
    for item_id in online_ids:
        item = page.locator(f"#item-{item_id}")
        if item_id == finding_id:
            item.get_by_label(re.compile("^Evidence notes")).fill("Two operators on line 2 had no training record.")
            choose(item, "Minor nonconformity")
        else:
            choose(item, "Conforming")
        expect(item.locator(".save-status")).to_have_text("Saved ✓")
    finding = page.locator(f"#item-{finding_id}")
    expect(finding.locator(".nc-link")).to_contain_text(re.compile(r"Finding raised: NC-\d{4}-\d{4}"))
    reference = finding.locator(".nc-link a").inner_text()
    page.screenshot(path=shots / "checklist-tablet.png", full_page=True)

    # Offline: the answer is kept on the device and sent when the connection returns.
    context.set_offline(True)
    last = page.locator(f"#item-{offline_id}")
    choose(last, "Observation")
    last.get_by_label(re.compile("^Evidence notes")).fill("Labels faded but legible.")
    expect(last.locator(".save-status")).to_have_text("Offline — will retry")
    kept = page.evaluate(f"localStorage.getItem('qms-checklist:{audit.id}:{offline_id}')")
    assert kept and "Labels faded" in kept
    context.set_offline(False)
    expect(last.locator(".save-status")).to_have_text("Saved ✓", timeout=20_000)
    assert page.evaluate(f"localStorage.getItem('qms-checklist:{audit.id}:{offline_id}')") is None

    # A reload shows every answer as the server kept it.
    page.reload()
    for item_id in online_ids:
        expected = "minor" if item_id == finding_id else "conforming"
        expect(page.locator(f"#r-{item_id}-{expected}")).to_be_checked()
    expect(page.locator(f"#r-{offline_id}-observation")).to_be_checked()
    expect(page.locator(f"#notes-{offline_id}")).to_have_value("Labels faded but legible.")
    expect(page.locator(f"#notes-{finding_id}")).to_have_value("Two operators on line 2 had no training record.")
    expect(page.locator(f"#item-{finding_id} .nc-link a")).to_have_text(reference)
    expect(page.locator("#answered-count")).to_have_text(str(len(item_ids)))

    # The lead auditor submits the report with an electronic signature.
    page.get_by_role("link", name="Back to the audit").click()
    expect(page.get_by_role("link", name=reference)).to_be_visible()
    page.locator("summary.button", has_text="Submit report for approval").click()
    form = page.locator("details[open] form")
    form.get_by_label("Audit conclusions").fill("The process conforms except one minor finding on training records.")
    form.get_by_label("Password — electronic signature").fill(PASSWORD)
    form.get_by_role("button", name="Submit report for approval").click()
    page.get_by_text("is now at “Report drafted”").wait_for()
    expect(page.locator(".signature-mark").last).to_contain_text(f"{org.auditor.name} — submitted as lead auditor")
    page.screenshot(path=shots / "audit.png", full_page=False)
