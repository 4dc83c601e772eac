"""Document control in the browser forms: register, upload, review, signed approval, effective,
stamped controlled copy, read receipts."""

from __future__ import annotations

import io
import subprocess

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from qms.database import db
from qms.models import Document, DocumentRevision

from ..conftest import PASSWORD, login
from .test_services import pdf_bytes


def _switch(client, user):
    client.post("/logout")
    assert login(client, user.email).status_code == 302


def test_a_document_from_upload_to_acknowledged_controlled_copy(client, org):
    login(client, org.quality.email)
    created = client.post(
        "/documents/new",
        data={
            "title": "Control of monitoring equipment",
            "doc_type": "procedure",
            "owner_id": str(org.quality.id),
            "process_name": "QA",
            "clauses": "7.1.5",
            "review_period_months": "12",
            "confidentiality": "internal",
            "roles": ["process_owner"],
        },
    )
    assert created.status_code == 302, created.get_data(as_text=True)[:500]
    document = db.session.scalar(select(Document).order_by(Document.id.desc()))
    assert document.number == "SOP-QA-001"
    page = f"/documents/{document.id}"
    uploaded = client.post(
        f"{page}/revisions",
        data={"file": (io.BytesIO(pdf_bytes("Calibrate every gauge yearly")), "sop.pdf"), "change_summary": "New"},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 302
    revision = db.session.scalar(select(DocumentRevision).where(DocumentRevision.document_id == document.id))
    base = f"/revisions/{revision.id}/events"
    assert client.post(f"{base}/submit_for_review", data={"change_summary": "First issue"}).status_code == 302
    own = client.post(f"{base}/approve", data={"signature_email": org.quality.email, "signature_password": PASSWORD})
    assert own.status_code == 409 and "someone else must approve it" in own.get_data(as_text=True)
    _switch(client, org.quality2)
    signed = {"signature_email": org.quality2.email, "signature_password": PASSWORD}
    assert client.post(f"{base}/approve", data=signed).status_code == 302
    assert client.post(f"{base}/make_effective", data={"effective_date": "2026-01-05"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(DocumentRevision, revision.id).state == "effective"

    copy = client.get(f"/revisions/{revision.id}/file")
    assert copy.status_code == 200 and copy.data.startswith(b"%PDF-")
    text = PdfReader(io.BytesIO(copy.data)).pages[0].extract_text()
    assert "SOP-QA-001" in text and "rev A" in text and "uncontrolled when printed" in text
    assert "Calibrate every gauge yearly" in text

    _switch(client, org.owner)
    work = client.get("/my-work").get_data(as_text=True)
    assert ">SOP-QA-001 rev A</a>" in work
    detail = client.get(page).get_data(as_text=True)
    assert "I have read and understood it" in detail
    assert client.post(f"/revisions/{revision.id}/acknowledge").status_code == 302
    assert ">SOP-QA-001 rev A</a>" not in client.get("/my-work").get_data(as_text=True)

    listing = client.get("/documents?doc_type=procedure").get_data(as_text=True)
    assert "SOP-QA-001" in listing and "rev A" in listing


def test_a_corrupt_pdf_is_a_form_error(client, org):
    login(client, org.quality.email)
    client.post("/documents/new", data={"title": "X", "doc_type": "form", "owner_id": str(org.quality.id)})
    document = db.session.scalar(select(Document).order_by(Document.id.desc()))
    response = client.post(
        f"/documents/{document.id}/revisions",
        data={"file": (io.BytesIO(b"%PDF-1.4 broken"), "x.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "cannot be read" in response.get_data(as_text=True)


def test_restricted_documents_are_not_shown_or_sent_to_others(client, org):
    from qms.services.documents import add_revision, create_document

    document = create_document(
        org.manager, title="Salary bands", doc_type="record", owner_id=org.manager.id, confidentiality="restricted"
    )
    revision = add_revision(document, org.manager, stream=io.BytesIO(pdf_bytes("secret")), filename="s.pdf")
    login(client, org.owner.email)
    assert client.get(f"/documents/{document.id}").status_code == 403
    assert client.get(f"/revisions/{revision.id}/file").status_code == 403
    assert "Salary bands" not in client.get("/documents").get_data(as_text=True)


@pytest.mark.skipif(subprocess.run(["which", "pdftotext"], capture_output=True).returncode != 0, reason="no pdftotext")
def test_a_superseded_copy_says_so_on_every_page(client, org):
    from qms.services import fire
    from qms.services.documents import add_revision, create_document

    document = create_document(org.quality, title="Proc", doc_type="procedure", owner_id=org.quality.id)
    first = add_revision(document, org.owner, stream=io.BytesIO(pdf_bytes("old text")), filename="a.pdf")
    for rev in (first,):
        fire(rev, "submit_for_review", org.owner, {"change_summary": "x"})
        fire(rev, "approve", org.quality2, signature_password=PASSWORD)
        fire(rev, "make_effective", org.manager, {"effective_date": "2026-01-01"})
    second = add_revision(document, org.owner, stream=io.BytesIO(pdf_bytes("new text")), filename="b.pdf")
    fire(second, "submit_for_review", org.owner, {"change_summary": "y"})
    fire(second, "approve", org.quality2, signature_password=PASSWORD)
    fire(second, "make_effective", org.manager, {"effective_date": "2026-02-01"})
    login(client, org.viewer.email)
    old = client.get(f"/revisions/{first.id}/file")
    out = subprocess.run(["pdftotext", "-", "-"], input=old.data, capture_output=True, check=True).stdout.decode()
    assert "SUPERSEDED" in out


def test_master_list_as_pdf_and_xlsx(client, org):
    from openpyxl import load_workbook

    from qms.services.documents import create_document

    create_document(org.quality, title="Quality manual", doc_type="manual", owner_id=org.quality.id)
    login(client, org.viewer.email)
    pdf = client.get("/documents/master-list.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    assert "QM-001" in PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    sheet = load_workbook(io.BytesIO(client.get("/documents/master-list.xlsx").data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Number" and rows[1][:2] == ("QM-001", "Quality manual")


def test_my_work_lists_revisions_to_review_and_approve(client, org):
    from qms.services import fire
    from qms.services.documents import add_revision, create_document

    document = create_document(org.quality, title="Proc", doc_type="procedure", owner_id=org.quality.id)
    revision = add_revision(document, org.owner, stream=io.BytesIO(pdf_bytes("x")), filename="a.pdf")
    fire(revision, "submit_for_review", org.owner, {"change_summary": "x"})
    login(client, org.quality2.email)
    page = client.get("/my-work").get_data(as_text=True)
    assert f">{document.number} rev A</a>" in page and "Approve" in page


def test_admin_sets_the_numbering_scheme(client, org):
    from qms.models import DOCUMENT_TYPES
    from qms.services.documents import create_document

    login(client, org.admin.email)
    page = client.get("/admin/numbering").get_data(as_text=True)
    assert "SOP-{process}-{seq:03d}" in page
    patterns = {t: "X-{seq}" for t in DOCUMENT_TYPES} | {"form": "FRM-{year}-{seq:04d}"}
    bad = client.post("/admin/numbering", data=patterns | {"policy": "POLICY"})
    assert bad.status_code == 422 and "must contain {seq}" in bad.get_data(as_text=True)
    assert client.post("/admin/numbering", data=patterns).status_code == 302
    document = create_document(org.quality, title="Form", doc_type="form", owner_id=org.quality.id)
    assert document.number.startswith("FRM-") and document.number.endswith("-0001")


def test_the_master_list_searches_inside_the_files(client, org):
    from qms.services.documents import add_revision, create_document

    found = create_document(org.quality, title="Torque settings", doc_type="work_instruction", owner_id=org.quality.id)
    add_revision(found, org.owner, stream=io.BytesIO(pdf_bytes("Tighten to xylophonic torque")), filename="w.pdf")
    other = create_document(org.quality, title="Cleaning", doc_type="work_instruction", owner_id=org.quality.id)
    add_revision(other, org.owner, stream=io.BytesIO(pdf_bytes("Wipe the bench")), filename="c.pdf")
    login(client, org.viewer.email)
    page = client.get("/documents?text=xylophonic").get_data(as_text=True)
    assert found.number in page and other.number not in page
    assert "<mark>" in page
    assert other.number not in client.get("/documents?text=%22AND(").get_data(as_text=True)


def test_master_list_exports_follow_the_filters(client, org):
    from openpyxl import load_workbook

    from qms.services.documents import create_document

    create_document(org.quality, title="Quality manual", doc_type="manual", owner_id=org.quality.id)
    create_document(org.quality, title="Visitor log", doc_type="form", owner_id=org.quality.id, process="Security")
    login(client, org.viewer.email)
    page = client.get("/documents?doc_type=form").get_data(as_text=True)
    assert "/documents/master-list.xlsx?doc_type=form" in page
    sheet = load_workbook(io.BytesIO(client.get("/documents/master-list.xlsx?doc_type=form").data)).active
    assert [row[1] for row in sheet.iter_rows(values_only=True)] == ["Title", "Visitor log"]
    text = PdfReader(io.BytesIO(client.get("/documents/master-list.pdf?doc_type=manual").data)).pages[0].extract_text()
    assert "Quality manual" in text and "Visitor log" not in text
