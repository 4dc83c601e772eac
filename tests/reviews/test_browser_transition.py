"""In a real browser: the transition to ISO 9001:2026 on the demo organisation (the issue's "done when").

On a freshly seeded demo, a manager opens the 2015 → 2026 transition review and sees 5.1.1, 6.1.2,
6.1.3, 6.3 and 7.3 among the changes with what cites each; imports a replacement mapping from a CSV on
the standards page; and sees the certificate's readiness warn about the transition deadline.
"""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from qms.demo import DEMO_PASSWORD, seed_demo

from .test_browser import desktop, live_server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.parametrize("app", ["sqlite"], indirect=True)

REPLACEMENT = """source,target,relationship,changed,note
4.1,4.1,equal,yes,Climate and strategic direction
5.1.1,5.1.1,equal,yes,Quality culture and ethical behaviour
8.5.1,8.5.1,equal,yes,A consultant's reading
,3,,,Terms in clause 3
"""


def test_manager_runs_the_2026_transition_on_the_demo(desktop, live_server, app, tmp_path):  # noqa: F811
    seed_demo(dt.date.today())
    page, base = desktop, live_server
    page.goto(f"{base}/login")
    page.get_by_label("E-mail").fill("manager@example.com")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Dashboard").wait_for()

    # the transition review lists the changes with what cites each
    page.goto(f"{base}/reviews")
    page.locator("tr", has_text="Transition to ISO 9001:2026").get_by_role("link", name="ICR-").click()
    changes = page.locator("#changes tbody tr")
    for number in ("5.1.1", "6.1.2", "6.1.3", "6.3", "7.3"):
        expect(changes.filter(has_text=f"Save assessment of {number}").first).to_be_visible()
    culture = changes.filter(has_text="quality culture and ethical behaviour").first
    expect(culture).to_contain_text("Documents:")
    expect(culture).to_contain_text("Quality policy")
    expect(changes.filter(has_text="Planning of changes strengthened").first).to_contain_text("Management of change")
    expect(page.locator("#actions")).to_contain_text("For clause 5.1.1")

    # a replacement mapping from a CSV on the standards page
    table = tmp_path / "consultant.csv"
    table.write_text(REPLACEMENT, encoding="utf-8")
    page.goto(f"{base}/standards")
    page.get_by_label("Mapping file (YAML or CSV)").set_input_files(str(table))
    page.get_by_label("From standard (required for CSV)").select_option("iso-9001-2015-amd1-2024")
    page.get_by_label("To standard (required for CSV)").select_option("iso-9001-2026")
    page.get_by_role("button", name="Import the mapping set").click()
    expect(page.get_by_text("it replaces the bundled one between these standards")).to_be_visible()
    expect(page.locator("#mapping-iso-9001-2015-amd1-2024--iso-9001-2026")).to_contain_text("Imported")

    # the certificate's readiness warns about the transition deadline
    page.goto(f"{base}/certifications")
    page.get_by_role("link", name="CERT-").first.click()
    expect(page.locator("#transition")).to_contain_text("Transition deadline")
    page.get_by_role("link", name="Readiness for the next audit").click()
    expect(page.locator("#reasons")).to_contain_text("Transition to ISO 9001:2026 not done")
    expect(page.locator("#reasons")).to_contain_text("must move by")
