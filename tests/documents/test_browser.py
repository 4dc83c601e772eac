"""In a real browser: a document from upload through review and signed approval to a read receipt."""

from __future__ import annotations

import re

from ..browser import browser_page, live_server, shots, sign_in  # noqa: F401  (fixtures)
from ..conftest import PASSWORD
from ..nonconformities.test_browser import open_action, pytestmark  # noqa: F401
from .test_services import pdf_bytes


def test_document_upload_review_signed_approval_and_acknowledgement(browser_page, live_server, org, shots, tmp_path):  # noqa: F811
    page, base = browser_page, live_server
    source = tmp_path / "calibration-procedure.pdf"
    source.write_bytes(pdf_bytes("Every gauge is calibrated once a year against a traceable standard."))

    sign_in(page, base, org.owner.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Documents").click()
    page.get_by_role("link", name="Register a document").click()
    page.get_by_label("Title").fill("Calibration of measuring equipment")
    page.get_by_role("combobox", name="Type").select_option(label="Procedure")
    page.get_by_role("combobox", name="Owner").select_option(label=org.owner.name)
    page.get_by_label("Process", exact=True).fill("Quality")
    page.get_by_label("ISO 9001 clauses").fill("7.1.5")
    page.get_by_role("checkbox", name="Internal auditor").check()
    page.get_by_role("button", name="Register document").click()
    page.get_by_text("registered").wait_for()
    document_url = page.url

    page.locator("summary.button", has_text="Add the first revision").click()
    page.get_by_label("File (PDF, DOCX, XLSX or image)").set_input_files(str(source))
    page.get_by_label("What changed").fill("First issue")
    page.get_by_role("button", name="Upload draft").click()
    page.get_by_text("started as a draft").wait_for()
    form = open_action(page, "Submit for review")
    form.get_by_label("What changed in this revision").fill("First issue")
    form.get_by_role("button", name="Submit for review").click()
    page.get_by_text("is now at “In review”").wait_for()

    sign_in(page, base, org.quality.email)
    page.goto(document_url)
    form = open_action(page, "Approve")
    form.get_by_label("Password — electronic signature").fill(PASSWORD)
    form.get_by_role("button", name="Approve").click()
    page.get_by_text("is now at “Approved”").wait_for()
    form = open_action(page, "Make effective")
    form.get_by_label("Effective date").fill("2026-01-05")
    form.get_by_role("button", name="Make effective").click()
    page.get_by_text("is now at “Effective”").wait_for()
    page.screenshot(path=shots / "document.png", full_page=True)

    sign_in(page, base, org.auditor.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My work").click()
    page.get_by_role("link", name=re.compile(r"rev A$")).click()
    page.get_by_role("button", name="I have read and understood it").click()
    page.get_by_text("Recorded: you have read and understood").wait_for()
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Controlled copy")).click()
    assert download.value.suggested_filename.endswith(".pdf")
