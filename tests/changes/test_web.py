"""Planning of changes on the pages: requesting a change, its tasks, approval and post-change review,
and opening one from an organisational-change review."""

from __future__ import annotations

import datetime as dt

from qms.models import ChangeRequest, ChangeTask
from qms.services.reviews import open_org_change_review

from ..conftest import PASSWORD
from ..helpers import new_process
from ..surveys.test_web import signed_in, text


def test_a_change_through_its_pages(app, org):
    process = new_process(org)
    owner = signed_in(app, org.owner)
    assert owner.post("/changes/new", data={"title": ""}).status_code == 422
    response = owner.post(
        "/changes/new",
        data={
            "title": "New warehouse",
            "purpose": "More space",
            "consequences": "Two slow days",
            "resources": "Forklift",
            "responsibilities": "Logistics lead",
            "risks": "Damaged stock",
            "process_ids": [process.id],
        },
    )
    assert response.status_code == 302
    change = ChangeRequest.query.one()
    assert change.process_ids == [process.id]
    bad = owner.post(f"/changes/{change.id}/tasks", data={"title": "", "owner_id": "x", "due_date": "soon"})
    assert bad.status_code == 422 and "is required" in text(bad)
    today = dt.date.today().isoformat()
    assert (
        owner.post(
            f"/changes/{change.id}/tasks", data={"title": "Move racks", "owner_id": org.owner.id, "due_date": today}
        ).status_code
        == 302
    )
    assert owner.post(f"/changes/{change.id}/events/submit", data={}).status_code == 302
    manager = signed_in(app, org.manager)
    assert (
        manager.post(
            f"/changes/{change.id}/events/approve",
            data={"planned_for": today, "signature_email": org.manager.email, "signature_password": PASSWORD},
        ).status_code
        == 302
    )
    assert owner.post(f"/changes/{change.id}/events/start_implementation", data={}).status_code == 302
    page = text(owner.get(f"/changes/{change.id}"))
    assert "Production" in page and "Mark done" in page and "approved" in page
    task = ChangeTask.query.one()
    assert owner.post(f"/changes/tasks/{task.id}/complete", data={"outcome": ""}).status_code == 422
    auditor = signed_in(app, org.auditor)
    assert auditor.post(f"/changes/tasks/{task.id}/complete", data={"outcome": "x"}).status_code == 403
    assert owner.post(f"/changes/tasks/{task.id}/complete", data={"outcome": "Racks moved"}).status_code == 302
    listed = text(signed_in(app, org.viewer).get("/changes?state=implementing"))
    assert "New warehouse" in listed and "1 of 1" in listed


def test_an_org_change_review_opens_a_change_request_from_its_page(app, org):
    review = open_org_change_review(org.owner, title="Night shift", change_kind="process", description="From March")
    quality = signed_in(app, org.quality)
    page = text(quality.get(f"/reviews/org-change/{review.id}"))
    assert "Open a change request" in page
    response = quality.post(f"/reviews/org-change/{review.id}/change-request")
    assert response.status_code == 302
    change = ChangeRequest.query.one()
    assert change.org_change_review_id == review.id and change.purpose == "From March"
    page = text(quality.get(f"/reviews/org-change/{review.id}"))
    assert change.reference in page and "Open a change request" not in page
    again = quality.post(f"/reviews/org-change/{review.id}/change-request", follow_redirects=True)
    assert "already has a change request" in text(again)


def test_a_restricted_document_is_named_only_to_its_readers(app, org):
    """The form's list of documents and the change's page name a restricted document only to those who
    may see it; a process owner editing a change that names one keeps it without learning what it is."""
    from qms.services.changes import request_change
    from qms.services.documents import create_document

    common = dict(doc_type="record", owner_id=org.manager.id, process="HR")
    secret = create_document(org.manager, title="Salary bands 2027", confidentiality="restricted", **common)
    public = create_document(org.manager, title="Canteen menu", confidentiality="internal", **common)
    change = request_change(
        org.manager, title="New pay scale", document_ids=[secret.id, public.id], owner_id=org.owner.id
    )
    owner = signed_in(app, org.owner)
    form = text(owner.get("/changes/new"))
    assert "Canteen menu" in form and "Salary bands" not in form and secret.number not in form
    page = text(owner.get(f"/changes/{change.id}"))
    assert public.number in page and secret.number not in page and "a document you may not see" in page
    edit = text(owner.get(f"/changes/{change.id}/edit"))
    assert "Salary bands" not in edit and secret.number not in edit
    saved = owner.post(
        f"/changes/{change.id}/edit", data={"title": "New pay scales", "document_ids": [secret.id, public.id]}
    )
    assert saved.status_code == 302
    assert ChangeRequest.query.one().document_ids == [secret.id, public.id]
    assert secret.number in text(signed_in(app, org.manager).get(f"/changes/{change.id}"))
