"""A restricted document's number and title reach only those allowed to see it: My work, the
daily digest, read requests, full-text search and the master-list exports (issue 14, item 5)."""

from __future__ import annotations

import datetime as dt
import io

from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select, update

from qms.database import db
from qms.models import Acknowledgement, Document
from qms.services import fire
from qms.services.documents import add_revision, can_view, create_document, start_due_reviews
from qms.services.my_work import work_for
from qms.services.reminders import digest_items

from ..conftest import PASSWORD, login
from .test_services import pdf_bytes

TODAY = dt.date.today()


def _effective(org, document: Document, text: str):
    revision = add_revision(document, org.quality, stream=io.BytesIO(pdf_bytes(text)), filename="a.pdf")
    fire(revision, "submit_for_review", org.quality, {"change_summary": "First issue"})
    fire(revision, "approve", org.quality2, signature_password=PASSWORD)
    fire(revision, "make_effective", org.manager, {"effective_date": (TODAY - dt.timedelta(days=400)).isoformat()})
    return revision


def _world(org):
    """One open and one restricted document, each with a draft, a periodic review overdue and a read
    request; the process owner owns a QA document, so a distribution to process QA names them."""
    mine = create_document(org.quality, title="Own QA work", doc_type="procedure", owner_id=org.owner.id, process="QA")
    documents = {}
    for name, confidentiality in (("Open calibration", "internal"), ("Salary bands", "restricted")):
        reviewed = create_document(
            org.manager,
            title=f"{name} policy",
            doc_type="record",
            owner_id=org.manager.id,
            process="HR",
            confidentiality=confidentiality,
            distribution=[("process", "QA")],
            review_period_months=1,
        )
        _effective(org, reviewed, f"{name} zebracrossing")
        drafted = create_document(
            org.manager,
            title=f"{name} draft",
            doc_type="record",
            owner_id=org.manager.id,
            process="HR",
            confidentiality=confidentiality,
        )
        add_revision(drafted, org.quality, stream=io.BytesIO(pdf_bytes(f"{name} zebracrossing")), filename="d.pdf")
        documents[name] = (reviewed, drafted)
    db.session.execute(update(Document).where(Document.id != mine.id).values(next_review_due=TODAY))
    db.session.commit()
    assert len(start_due_reviews(TODAY)) == 2
    return documents


def test_my_work_and_the_digest_name_restricted_documents_only_to_those_who_may_see_them(app, org, client):
    documents = _world(org)
    secret, _ = documents["Salary bands"]
    assert not can_view(secret, org.owner) and can_view(secret, org.quality)

    owner_work = [item.title for item in work_for(org.owner, TODAY)]
    assert "Open calibration policy" in owner_work and "Open calibration draft" in owner_work
    assert not [title for title in owner_work if "Salary" in title]
    digest = [item.title for item in digest_items(org.owner, TODAY)]
    assert "Open calibration policy" in digest  # its periodic review is due: a digest line
    assert not [title for title in digest if "Salary" in title]
    # quality staff see both
    quality_work = [item.title for item in work_for(org.quality, TODAY)]
    assert "Salary bands policy" in quality_work and "Salary bands draft" in quality_work

    login(client, org.owner.email)
    page = client.get("/my-work").get_data(as_text=True)
    assert "Open calibration" in page and "Salary" not in page and secret.number not in page


def test_a_read_request_goes_only_to_those_who_may_read_the_document(app, org):
    documents = _world(org)
    asked = {
        title: set(
            db.session.scalars(
                select(Acknowledgement.user_id).where(Acknowledgement.revision_id == reviewed.current_revision.id)
            )
        )
        for title, (reviewed, _) in documents.items()
    }
    assert org.owner.id in asked["Open calibration"]  # the process QA is on the list; they own a QA document
    assert org.owner.id not in asked["Salary bands"]


def test_search_and_the_master_list_exports_leave_restricted_documents_out(app, org, client):
    _world(org)
    login(client, org.owner.email)
    found = client.get("/documents?text=zebracrossing").get_data(as_text=True)
    assert "Open calibration policy" in found and "Salary" not in found
    book = load_workbook(io.BytesIO(client.get("/documents/master-list.xlsx").data))
    titles = [row[1] for row in book.active.iter_rows(min_row=2, values_only=True)]
    assert "Open calibration policy" in titles and not [t for t in titles if "Salary" in (t or "")]
    pdf = client.get("/documents/master-list.pdf")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Open calibration policy" in text and "Salary" not in text

    client.post("/logout")
    login(client, org.quality.email)
    assert "Salary bands policy" in client.get("/documents?text=zebracrossing").get_data(as_text=True)
