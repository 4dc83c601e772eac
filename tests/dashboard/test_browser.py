"""In a real browser: the dashboard of the demo organisation, as the README shows it.

The README opens with this page, so its screenshot is taken here, on the seeded demo (a dashboard
of an empty organisation shows only zeros and "Nothing to show yet"). Screenshots go to the test's
temporary folder, or to docs/screenshots/ with ``make screenshots``.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from qms.database import db
from qms.demo import DEMO_PASSWORD
from qms.models import Nonconformity
from qms.services.nonconformities import nc_is_open

from ..browser import browser_page, live_server, shots, sign_in  # noqa: F401  (fixtures)

pytestmark = pytest.mark.parametrize("app", ["sqlite"], indirect=True)


def test_the_demo_dashboard_shows_the_organisations_figures(demo, browser_page, live_server, shots):  # noqa: F811
    with demo.app_context():
        open_ncs = db.session.scalar(select(func.count()).select_from(Nonconformity).where(nc_is_open()))
    assert open_ncs > 0, "the demo has no open NC to show"

    page, base = browser_page, live_server
    sign_in(page, base, "quality@example.com", DEMO_PASSWORD)
    expect(page.get_by_role("link", name=re.compile(rf"^{open_ncs}\s*open nonconformities$"))).to_be_visible()
    severity = page.locator(".card", has_text="Open nonconformities by severity").first
    expect(severity).to_be_visible()
    expect(severity).not_to_contain_text("Nothing to show yet")
    page.screenshot(path=shots / "dashboard.png", full_page=True)
