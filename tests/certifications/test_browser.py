"""In a real browser at a desktop's size: a manager checks whether the next KEBS audit would pass.

A KEBS certification is in stage 1 with a major nonconformity open: the readiness view shows the
score, the verdict and the blocking reason first; the certification page shows "Ready for stage 2"
disabled with the guard's reason; the manager downloads the certification pack (a PDF) to take
into the audit. The app runs with CSRF protection on, as in production.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from qms.database import db
from qms.models import CertificationBody
from qms.services import fire
from qms.services.audit_trail import recorded_change
from qms.services.certifications import create_certification, ensure_bodies

from ..browser import DESKTOP, browser_context, serve, shots, sign_in  # noqa: F401  (shots is a fixture)
from ..helpers import new_nc

pytestmark = pytest.mark.parametrize("app", ["sqlite"], indirect=True)


@pytest.fixture
def live_server(app) -> Iterator[str]:
    with serve(app, csrf=True) as base:
        yield base


@pytest.fixture
def desktop(live_server):
    with browser_context(viewport=DESKTOP, accept_downloads=True) as (_, page):
        yield page


def test_manager_sees_readiness_the_stage2_block_and_downloads_the_pack(desktop, live_server, org, shots):  # noqa: F811
    page, base = desktop, live_server
    with recorded_change(None, "bodies loaded") as session:
        ensure_bodies(session)
    kebs = db.session.scalar(select(CertificationBody).where(CertificationBody.code == "kebs"))
    today = dt.date.today()
    certification = create_certification(org.manager, body_id=kebs.id, scope="Design and manufacture of steel doors")
    fire(certification, "record_contract", org.manager, {"signed_on": today})
    fire(certification, "start_stage1", org.quality, {"audit_date": today})
    nc = new_nc(org, title="Torque wrench used past its calibration date")
    fire(nc, "triage", org.quality, {"severity": "major"})
    reference = certification.reference

    sign_in(page, base, org.manager.email)
    panel = page.locator("#certification-panel")
    expect(panel).to_contain_text(reference)
    expect(panel).to_contain_text("Kenya Bureau of Standards")

    # The readiness view: score, verdict, the blocking reason first, each reason with its points.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Certification").click()
    page.get_by_role("link", name=reference).click()
    page.get_by_role("link", name="Readiness for the next audit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Readiness for the next Kenya Bureau of Standards audit")
    score = int(page.locator("#readiness-score").inner_text())
    assert 0 <= score <= 100 - 25  # the open major NC costs 25 points at least
    expect(page.locator("#readiness-verdict")).to_have_text("Not ready")
    blocking = page.get_by_role("alert").filter(has_text="Blocking the audit")
    expect(blocking).to_contain_text("1 major nonconformity open")
    expect(page.locator("#reasons")).to_be_visible()
    assert page.locator("#blocking").bounding_box()["y"] < page.locator("#reasons").bounding_box()["y"]
    reasons = page.locator("#reasons")
    expect(reasons.get_by_role("row").filter(has_text="1 major nonconformity open")).to_contain_text("−25")
    expect(reasons.get_by_role("link", name="1 major nonconformity open")).to_have_attribute(
        "href", "/nonconformities?severity=major"
    )
    expect(page.locator("#fig-major")).to_have_text("1")
    page.screenshot(path=shots / "readiness.png", full_page=True)

    # The pack PDF, to take into the audit.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download certification pack (PDF)").click()
    download = download_info.value
    path = download.path()
    with open(path, "rb") as handle:
        assert handle.read(5) == b"%PDF-"
    assert download.suggested_filename.endswith(".pdf")

    # On the certification page, stage 2 is blocked with the guard's reason next to the action.
    page.get_by_role("link", name=f"Back to {reference}").click()
    stage2 = page.get_by_role("button", name="Ready for stage 2")
    expect(stage2).to_be_disabled()
    expect(page.locator("#why-ready_for_stage2")).to_have_text("1 major nonconformity is still open")
    expect(page.locator(".milestone", has_text="Stage 1 audit")).to_contain_text(re.compile(r"due \d{4}-\d\d-\d\d"))
    page.screenshot(path=shots / "certification.png", full_page=True)

    # Once the NC is dealt with, the manager moves on to stage 2.
    fire(nc, "reject", org.quality, {"reason": "Duplicate of an earlier NC"})
    page.reload()
    page.locator("summary.button", has_text=re.compile(r"^Ready for stage 2$")).click()
    form = page.locator("details[open] form")
    form.get_by_label("Stage 2 audit date").fill((today + dt.timedelta(days=14)).isoformat())
    form.get_by_role("button", name="Ready for stage 2").click()
    page.get_by_text("is now at “Stage 2”").wait_for()
    expect(page.locator("#cert-state")).to_have_text("Stage 2")
