"""The review pages and the implementation board in the browser's terms (test client): ISO-change reviews
opened from a loaded edition, organisational changes with suggested impacts, management reviews with
inputs compiled from the records and the minutes as PDF, the standards page and the board."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from sqlalchemy import func, select

from qms.database import db
from qms.models import (
    MANAGEMENT_REVIEW_INPUTS,
    ChangeImpact,
    ImportedStandard,
    IsoChangeReview,
    ManagementReview,
    OrgChangeReview,
    ReviewAction,
)
from qms.services import fire
from qms.services.documents import create_document
from qms.services.implementation import build_board, item_for_process
from qms.services.reviews import (
    add_action,
    assess_change,
    open_iso_change_review,
    open_org_change_review,
    plan_management_review,
)

from ..audits.test_web import signed_in, text
from ..conftest import PASSWORD
from ..helpers import audit_in_state, new_nc, new_process, restricted_document

TODAY = dt.date.today()


ROLE_USERS = ("admin", "manager", "quality", "auditor", "owner", "viewer")


RUNNERS = ("manager", "quality")


GOOD_YAML = """\
identifier: iso-9001-2030
title: ISO 9001 Quality management systems — Requirements
edition: 2030
urn: urn:example:iso:9001:2030
kind: standard
clauses:
  - {number: "4", parent: null, title: Context of the organization}
  - {number: "4.1", parent: "4", title: "Understanding the organization, its context and climate"}
  - {number: "4.2", parent: "4", title: Needs and expectations of interested parties}
  - {number: "5", parent: null, title: Leadership}
"""


BAD_YAML = """\
identifier: acme-sop-7
title: ACME SOP 7 Goods receiving
edition: 2025
urn: urn:acme:sop:7:2025
kind: procedure
clauses:
  - {number: "1", parent: null, title: Receiving}
  - {number: "1.1", parent: "2", title: Records}
"""


def days(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def document(org, title: str, clause_refs=(), process: str = ""):
    return create_document(
        org.quality, title=title, doc_type="procedure", owner_id=org.owner.id, clause_refs=clause_refs, process=process
    )


def amendment_review(org) -> IsoChangeReview:
    return open_iso_change_review(org.quality, old_standard="iso-9001-2015", new_standard="iso-9001-2015-amd1-2024")


def url(review) -> str:
    kind = {IsoChangeReview: "iso-change", OrgChangeReview: "org-change", ManagementReview: "management"}[type(review)]
    return f"/reviews/{kind}/{review.id}"


def planned_mr(org, **fields) -> ManagementReview:
    values = {
        "title": "Management review 2026",
        "planned_for": days(14),
        "period_start": days(-365),
        "period_end": TODAY,
    }
    values.update(fields)
    return plan_management_review(org.quality, **values)


def upload(content: str, name: str, **fields):
    return {"file": (io.BytesIO(content.encode("utf-8")), name), **fields}


@pytest.mark.parametrize("who", ROLE_USERS)
def test_review_pages_render_for_every_role(app, org, who):
    iso = amendment_review(org)
    process = new_process(org)
    change = open_org_change_review(
        org.owner, title="Second shift", change_kind="process", description="Night shift", process_id=process.id
    )
    mr = planned_mr(org)
    build_board(org.quality)
    item = item_for_process(process)
    client = signed_in(app, getattr(org, who))
    for address in (
        "/reviews",
        "/reviews/management",
        url(iso),
        url(change),
        url(mr),
        "/standards",
        "/implementation",
        "/implementation?show=processes",
        "/implementation?show=clauses",
        "/implementation?show=nonsense",
        f"/implementation/{item.id}",
        "/my-work",
    ):
        response = client.get(address)
        assert response.status_code == 200, address
        page = text(response)
        assert ">Reviews<" in page and ">Implementation<" in page, address  # the main navigation
    runner = who in RUNNERS
    assert client.get("/reviews/iso-change/new").status_code == (200 if runner else 403)
    assert client.get("/reviews/management/new").status_code == (200 if runner else 403)
    assert client.get("/reviews/org-change/new").status_code == (200 if who in (*RUNNERS, "owner") else 403)
    assert ("Compile inputs from the system" in text(client.get(url(mr)))) is runner
    assert ("Build the board" in text(client.get("/implementation"))) is runner
    assert ("Import a standard" in text(client.get("/standards"))) is (who in ("admin", *RUNNERS))
    for missing in ("/reviews/iso-change/999999", "/reviews/nonsense/1", f"/reviews/org-change/{iso.id + 99}"):
        assert client.get(missing).status_code == 404, missing
    assert client.get("/implementation/999999").status_code == 404


def test_the_index_lists_every_kind_with_state_owner_and_deadline(app, org):
    iso = open_iso_change_review(
        org.quality,
        old_standard="iso-9001-2015",
        new_standard="iso-9001-2015-amd1-2024",
        transition_deadline=days(-3),
    )
    change = open_org_change_review(org.owner, title="New warehouse", change_kind="new_site", description="Mombasa")
    mr = planned_mr(org)
    page = text(signed_in(app, org.viewer).get("/reviews"))
    for review in (iso, change, mr):
        assert review.reference in page and review.state_label in page
    row = page.split(iso.reference)[1].split("</tr>")[0]
    assert "overdue" in row and org.quality.name in row
    assert "Organisational-change review" in page and "Management review" in page
    listing = text(signed_in(app, org.viewer).get("/reviews/management"))
    assert mr.reference in listing and "Management review 2026" in listing and "12" in listing  # inputs missing


def test_importing_a_standard_then_reviewing_the_change_from_it(app, org):
    document(org, "Context of the organisation", ["4.1"])
    quality = signed_in(app, org.quality)
    response = quality.post(
        "/standards/import", data=upload(GOOD_YAML, "iso-9001-2030.yaml"), content_type="multipart/form-data"
    )
    assert response.status_code == 302
    assert count(ImportedStandard) == 1
    page = text(quality.get("/standards"))
    assert "iso-9001-2030" in page and "Imported" in page
    row = page.split('id="standard-iso-9001-2030"')[1].split("</tr>")[0]
    assert "Review the change from ISO 9001:2026" in row  # the latest earlier edition
    form = text(quality.get("/reviews/iso-change/new?new=iso-9001-2030&old=iso-9001-2015"))
    assert re.search(r'<option selected value="iso-9001-2015"|<option value="iso-9001-2015" selected', form)
    assert re.search(r'<option selected value="iso-9001-2030"|<option value="iso-9001-2030" selected', form)
    response = quality.post(
        "/reviews/iso-change/new",
        data={"old_standard": "iso-9001-2015", "new_standard": "iso-9001-2030", "transition_deadline": days(400)},
    )
    assert response.status_code == 302
    review = db.session.scalar(select(IsoChangeReview))
    assert review.new_standard == "iso-9001-2030" and review.items
    page = text(quality.get(response.headers["Location"]))
    assert "Transition to ISO 9001" in page and "Context of the organisation" in page
    assert "(400 days left)" in page


def test_a_bad_standard_file_lists_its_errors_with_line_numbers_and_stores_nothing(app, org):
    quality = signed_in(app, org.quality)
    response = quality.post("/standards/import", data=upload(BAD_YAML, "sop.yaml"), content_type="multipart/form-data")
    assert response.status_code == 422
    page = text(response)
    assert "Nothing was imported" in page
    assert "line 5: kind &#39;procedure&#39; must be one of" in page
    assert "line 8: clause 1.1: parent &#39;2&#39; does not exist" in page
    # CSV without its identity, no file, a file in an unknown format, a year that is not one
    csv = "number,title,parent,question\n1,Receiving,,Is every delivery checked?\n"
    response = quality.post("/standards/import", data=upload(csv, "sop.csv"), content_type="multipart/form-data")
    assert response.status_code == 422
    assert "the identifier is required to import CSV" in text(response)
    assert quality.post("/standards/import", data={}, content_type="multipart/form-data").status_code == 422
    response = quality.post("/standards/import", data=upload(csv, "sop.txt"), content_type="multipart/form-data")
    assert response.status_code == 422 and "Format: choose YAML or CSV" in text(response)
    response = quality.post(
        "/standards/import",
        data=upload(csv, "sop.csv", identifier="acme-sop-7", title="SOP 7", edition="twenty"),
        content_type="multipart/form-data",
    )
    assert response.status_code == 422 and "Edition: must be a year" in text(response)
    response = quality.post(
        "/standards/import",
        data={"file": (io.BytesIO(b"\xff\xfe\x00bad"), "sop.yaml")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422 and "not UTF-8" in text(response)
    # a bundled identifier is a clash
    clash = GOOD_YAML.replace("iso-9001-2030", "iso-9001-2015")
    response = quality.post("/standards/import", data=upload(clash, "x.yaml"), content_type="multipart/form-data")
    assert response.status_code == 409 and "belongs to a bundled standard" in text(response)
    assert count(ImportedStandard) == 0
    # a good CSV with its identity is imported
    response = quality.post(
        "/standards/import",
        data=upload(csv, "sop.csv", identifier="acme-sop-7", title="ACME SOP 7", edition="2025"),
        content_type="multipart/form-data",
    )
    assert response.status_code == 302 and count(ImportedStandard) == 1
    for who in (org.viewer, org.auditor, org.owner):
        response = signed_in(app, who).post(
            "/standards/import", data=upload(GOOD_YAML, "x.yaml"), content_type="multipart/form-data"
        )
        assert response.status_code == 403


def test_iso_change_review_from_the_amendment_shows_each_item_with_its_references(app, org):
    context_doc = document(org, "Context of the organisation", ["4.1"])
    new_process(org, code="CTX", clauses=("4.1",))
    quality = signed_in(app, org.quality)
    row = text(quality.get("/standards")).split('id="standard-iso-9001-2015-amd1-2024"')[1].split("</tr>")[0]
    assert "Review the change from ISO 9001:2015<" in row
    form = text(quality.get("/reviews/iso-change/new?new=iso-9001-2015-amd1-2024"))
    assert re.search(r'<option (selected )?value="iso-9001-2015"( selected)?>', form.split('id="old_standard"')[1])
    response = quality.post(
        "/reviews/iso-change/new",
        data={"old_standard": "iso-9001-2015", "new_standard": "iso-9001-2015-amd1-2024", "title": "Climate"},
    )
    assert response.status_code == 302
    review = db.session.scalar(select(IsoChangeReview))
    page = text(quality.get(url(review)))
    assert "0 of 2</strong> clause changes assessed" in page
    first, second = review.items
    assert f'id="item-{second.id}"' in page
    item_row = page.split(f'id="item-{first.id}"')[1].split("</tr>")[0]
    assert "4.1" in item_row and "climate change" in item_row
    assert f'href="/documents/{context_doc.id}"' in item_row and "Process CTX" in item_row
    assert "Audit questions" not in item_row  # no checklist question cites 4.1 yet
    # the same change again while this one is open: an error on the field, nothing stored
    again = quality.post(
        "/reviews/iso-change/new", data={"old_standard": "iso-9001-2015", "new_standard": "iso-9001-2015-amd1-2024"}
    )
    assert again.status_code == 422 and f"the review {review.reference} of this change is still open" in text(again)
    assert count(IsoChangeReview) == 1


def test_the_iso_change_form_validates(app, org):
    quality = signed_in(app, org.quality)
    for data, message in (
        ({}, "This field is required"),
        ({"old_standard": "iso-9001-2015", "new_standard": "iso-9001-2015"}, "must be another standard"),
        ({"old_standard": "iso-9001-2015", "new_standard": "iso-1987"}, "Not a valid choice"),
        (
            {"old_standard": "iso-9001-2008", "new_standard": "iso-9001-2015", "transition_deadline": "31/12/2026"},
            "Not a valid date",
        ),
        ({"old_standard": "iso-9001-2008", "new_standard": "iso-9001-2015", "title": "x" * 201}, "200"),
    ):
        response = quality.post("/reviews/iso-change/new", data=data)
        assert response.status_code == 422, data
        assert message in text(response), data
    assert count(IsoChangeReview) == 0


def test_assessing_items_the_gap_analysis_guard_and_transition_actions_to_done(app, org):
    review = amendment_review(org)
    first, second = review.items
    quality = signed_in(app, org.quality)
    assert quality.post(f"{url(review)}/events/start_gap_analysis", data={"version": review.version}).status_code == 302
    # a gap needs its description: the error stands next to the item's form
    response = quality.post(f"{url(review)}/items/{first.id}", data={"status": "gap", "assessment": " "})
    assert response.status_code == 422
    item_row = text(response).split(f'id="item-{first.id}"')[1].split("</tr>")[0]
    assert "is required for a gap" in item_row
    assert quality.post(f"{url(review)}/items/{first.id}", data={"status": "maybe"}).status_code == 422
    response = quality.post(
        f"{url(review)}/items/{first.id}", data={"status": "gap", "assessment": "Add climate to the context register"}
    )
    assert response.status_code == 302
    page = text(quality.get(url(review)))
    assert "1 of 2</strong> clause change" in page and "1 gap" in page
    # the guard's reason sits by the disabled action, and firing it anyway says why (a manager signs it)
    manager = signed_in(app, org.manager)
    assert "1 clause change is not yet assessed" in text(manager.get(url(review)))
    db.session.refresh(review)
    response = manager.post(
        f"{url(review)}/events/complete_gap_analysis",
        data={
            "version": review.version,
            "summary": "One gap",
            "signature_email": org.manager.email,
            "signature_password": PASSWORD,
        },
    )
    assert response.status_code == 409 and "1 clause change is not yet assessed" in text(response)
    assert (
        signed_in(app, org.viewer).post(f"{url(review)}/items/{second.id}", data={"status": "no_gap"}).status_code
        == 403
    )
    assert quality.post(f"{url(review)}/items/{second.id}", data={"status": "no_gap"}).status_code == 302
    db.session.refresh(review)
    response = manager.post(
        f"{url(review)}/events/complete_gap_analysis",
        data={
            "version": review.version,
            "summary": "One gap in 4.1",
            "signature_email": org.manager.email,
            "signature_password": PASSWORD,
        },
    )
    assert response.status_code == 302
    db.session.refresh(review)
    assert review.state == "transition_planning"
    page = text(quality.get(url(review)))
    assert "Save assessment of" not in page.split('id="changes"')[1]  # assessments are fixed now
    # actions: bad input is a form error, then one to done
    response = quality.post(f"{url(review)}/actions", data={"title": "", "owner_id": "abc", "due_date": "yesterday"})
    assert response.status_code == 422
    errors = text(response).split('id="actions"')[1]
    assert (
        "Title is required" in errors
        and "Owner must be an active user" in errors
        and "Due date must be a date" in errors
    )
    response = quality.post(
        f"{url(review)}/actions", data={"title": "Old", "owner_id": org.owner.id, "due_date": days(-1).isoformat()}
    )
    assert response.status_code == 422 and "cannot be in the past" in text(response)
    response = quality.post(
        f"{url(review)}/actions",
        data={"title": "Update the context register", "owner_id": org.owner.id, "due_date": days(30).isoformat()},
    )
    assert response.status_code == 302
    action = db.session.scalar(select(ReviewAction))
    assert (
        signed_in(app, org.owner).post(f"/review-actions/{action.id}/cancel", data={"reason": "x"}).status_code == 403
    )
    assert (
        signed_in(app, org.viewer).post(f"/review-actions/{action.id}/complete", data={"outcome": "x"}).status_code
        == 403
    )
    owner = signed_in(app, org.owner)
    work = text(owner.get("/my-work"))
    assert review.reference in work and "Update the context register" in work
    assert f'href="/reviews/iso-change/{review.id}#actions"' in work
    response = owner.post(f"/review-actions/{action.id}/complete", data={"outcome": ""})
    assert response.status_code == 422 and "is required" in text(response)
    assert owner.post(f"/review-actions/{action.id}/complete", data={"outcome": "Register updated"}).status_code == 302
    db.session.refresh(action)
    assert action.status == "done" and action.outcome == "Register updated"
    response = owner.post(f"/review-actions/{action.id}/complete", data={"outcome": "Again"})
    assert response.status_code == 409 and "already done" in text(response)
    assert "Update the context register" not in text(owner.get("/my-work"))
    page = text(quality.get(url(review)))
    assert "Register updated" in page and ">Done<" in page
    assert quality.post("/review-actions/999999/complete", data={"outcome": "x"}).status_code == 404


def test_approving_the_plan_and_linking_the_verification(app, org):
    review = amendment_review(org)
    fire(review, "start_gap_analysis", org.quality)
    for item in review.items:
        assess_change(item, org.quality, status="no_gap")
    fire(review, "complete_gap_analysis", org.manager, {"summary": "No gap"}, signature_password=PASSWORD)
    manager = signed_in(app, org.manager)
    response = manager.post(
        f"{url(review)}/events/approve_plan", data={"version": review.version, "target_date": days(60).isoformat()}
    )
    assert response.status_code == 302
    page = text(manager.get(url(review)))
    assert "(60 days left)" in page and "Link verification" in page
    audit = audit_in_state(org, "closed", clauses=("4.1",))
    response = manager.post(f"{url(review)}/verification", data={})
    assert response.status_code == 422 and "give the internal audit" in text(response)
    response = manager.post(f"{url(review)}/verification", data={"audit_id": "999999"})
    assert response.status_code == 422 and "no such audit" in text(response)
    assert manager.post(f"{url(review)}/verification", data={"audit_id": str(audit.id)}).status_code == 302
    page = text(manager.get(url(review)))
    assert audit.reference in page.split('id="verification"')[1].split("</dl>")[0]
    assert signed_in(app, org.auditor).post(f"{url(review)}/verification", data={}).status_code == 403


def test_org_change_with_suggested_impacts_and_actions(app, org):
    process = new_process(org)
    procedure = document(org, "Production control", process="Production")
    new_nc(org, title="Scrap rate up on line 2")
    owner = signed_in(app, org.owner)
    response = owner.post(
        "/reviews/org-change/new",
        data={
            "title": "Second shift on line 2",
            "change_kind": "process",
            "description": "A night shift from March",
            "site_id": "0",
            "process_id": str(process.id),
        },
    )
    assert response.status_code == 302
    review = db.session.scalar(select(OrgChangeReview))
    assert review.process_id == process.id and review.owner_id == org.owner.id
    quality = signed_in(app, org.quality)
    assert quality.post(f"{url(review)}/events/start_assessment", data={"version": review.version}).status_code == 302
    page = text(quality.get(url(review)))
    assert "Suggested impacts" in page
    assert "Add impact: Production" in page and f"Add impact: {procedure.number} Production control" in page
    assert "Scrap rate up on line 2" in page
    response = quality.post(
        f"{url(review)}/impacts",
        data={
            "suggested": "1",
            "area": "document",
            "subject": f"{procedure.number} Production control",
            "link": f"document:{procedure.id}",
        },
    )
    assert response.status_code == 302
    page = text(quality.get(url(review)))
    impacts = page.split('id="impacts"')[1].split("Suggested impacts")[0]
    assert f'href="/documents/{procedure.id}"' in impacts
    assert f"Add impact: {procedure.number} Production control" not in page  # no longer suggested
    # adding it again, or a bad link: errors, nothing stored
    response = quality.post(
        f"{url(review)}/impacts",
        data={"area": "document", "subject": "Again", "link": f"document:{procedure.id}"},
    )
    assert response.status_code == 422 and "already an impact" in text(response)
    response = quality.post(f"{url(review)}/impacts", data={"area": "moon", "subject": "", "link": "page:1"})
    assert response.status_code == 422
    errors = text(response)
    assert "Area must be one of" in errors and "Subject is required" in errors and "Linked record must be" in errors
    response = quality.post(
        f"{url(review)}/impacts", data={"area": "risk", "subject": "Fatigue at night", "assessment": "Rotate staff"}
    )
    assert response.status_code == 302
    assert count(ChangeImpact) == 2
    assert signed_in(app, org.viewer).post(f"{url(review)}/impacts", data={}).status_code == 403
    fatigue = db.session.scalar(select(ChangeImpact).where(ChangeImpact.subject == "Fatigue at night"))
    assert quality.post(f"{url(review)}/impacts/{fatigue.id}/remove").status_code == 302
    assert count(ChangeImpact) == 1
    db.session.refresh(review)
    response = quality.post(
        f"{url(review)}/events/complete_assessment",
        data={
            "version": review.version,
            "consequences": "More output",
            "qms_integrity": "Procedures cover both shifts",
            "resources": "Two supervisors",
            "responsibilities": "Night supervisor signs the log",
        },
    )
    assert response.status_code == 302
    page = text(quality.get(url(review)))
    considerations = page.split('id="considerations"')[1].split("</section>")[0]
    assert "Procedures cover both shifts" in considerations and "Night supervisor signs the log" in considerations
    response = quality.post(
        f"{url(review)}/actions",
        data={"title": "Hire two supervisors", "owner_id": org.owner.id, "due_date": days(20).isoformat()},
    )
    assert response.status_code == 302
    db.session.refresh(review)
    manager = signed_in(app, org.manager)
    response = manager.post(
        f"{url(review)}/events/approve_plan", data={"version": review.version, "target_date": days(40).isoformat()}
    )
    assert response.status_code == 302
    db.session.refresh(review)
    response = manager.post(f"{url(review)}/events/complete_implementation", data={"version": review.version})
    assert response.status_code == 409 and "1 change action is still open" in text(response)
    # impacts are fixed once the change is planned
    response = quality.post(f"{url(review)}/impacts", data={"area": "risk", "subject": "Late"})
    assert response.status_code == 409 and "Impacts are recorded until the change is planned" in text(response)


def test_the_org_change_form_validates(app, org):
    owner = signed_in(app, org.owner)
    for data in (
        {},
        {"title": "X", "change_kind": "merger", "description": "Y"},
        {"title": "X", "change_kind": "process", "description": "Y", "process_id": "abc"},
        {"title": "X", "change_kind": "process", "description": "Y", "site_id": "99999"},
    ):
        response = owner.post("/reviews/org-change/new", data=data)
        assert response.status_code == 422, data
    assert count(OrgChangeReview) == 0


def test_management_review_compiles_inputs_takes_notes_and_downloads_minutes(app, org):
    new_nc(org, title="Burr on flange", source="supplier")
    quality = signed_in(app, org.quality)
    response = quality.post(
        "/reviews/management/new",
        data={
            "title": "Management review 2026",
            "planned_for": days(10).isoformat(),
            "period_start": days(-365).isoformat(),
            "period_end": TODAY.isoformat(),
            "chair_id": str(org.manager.id),
        },
    )
    assert response.status_code == 302
    review = db.session.scalar(select(ManagementReview))
    assert review.chair_id == org.manager.id
    page = text(quality.get(url(review)))
    assert "12 of 12 inputs missing" in page
    for label in MANAGEMENT_REVIEW_INPUTS.values():
        assert label.replace("'", "&#39;") in page
    assert quality.post(f"{url(review)}/compile").status_code == 302
    page = text(quality.get(url(review)))
    assert "2 of 12 inputs missing" in page
    section = page.split('id="input-nonconformities"')[1].split("</article>")[0]
    assert "Compiled from the system" in section and "Raised in the period" in section and "<table" in section
    suppliers = page.split('id="input-external_providers"')[1].split("</article>")[0]
    assert "Burr on flange" in suppliers and ">Detected on</th>" in suppliers  # a list of records as a table
    assert 'badge alert">missing' in page.split('id="input-resources"')[1].split("</h3>")[0]
    # notes on the inputs the system cannot know
    response = quality.post(f"{url(review)}/inputs/resources", data={"notes": "x" * 20_001})
    assert response.status_code == 422
    assert quality.post(f"{url(review)}/inputs/nonsense", data={"notes": "x"}).status_code == 404
    for key in ("quality_objectives", "resources", "risks_opportunities"):
        response = quality.post(f"{url(review)}/inputs/{key}", data={"notes": f"Notes on {key}"})
        assert response.status_code == 302
    page = text(quality.get(url(review)))
    assert "Every input is provided" in page and "Notes on resources" in page
    assert signed_in(app, org.viewer).post(f"{url(review)}/compile").status_code == 403
    assert signed_in(app, org.owner).post(f"{url(review)}/inputs/resources", data={"notes": "x"}).status_code == 403
    # the meeting, then outputs as actions with their category
    for event, data in (
        ("start_gathering", {}),
        ("mark_ready", {}),
        ("record_meeting", {"held_on": TODAY.isoformat(), "attendees": "A. Manager\nQ. Officer"}),
    ):
        db.session.refresh(review)
        response = quality.post(f"{url(review)}/events/{event}", data={"version": review.version, **data})
        assert response.status_code == 302, (event, text(response))
    response = quality.post(f"{url(review)}/compile")
    assert response.status_code == 409 and "The inputs are fixed once the meeting is held" in text(response)
    response = quality.post(
        f"{url(review)}/actions",
        data={"title": "Second calibration supplier", "owner_id": org.owner.id, "due_date": days(60).isoformat()},
    )
    assert response.status_code == 422 and "Category must be one of" in text(response)
    response = quality.post(
        f"{url(review)}/actions",
        data={
            "title": "Second calibration supplier",
            "category": "improvement",
            "owner_id": org.owner.id,
            "due_date": days(60).isoformat(),
        },
    )
    assert response.status_code == 302
    page = text(quality.get(url(review)))
    assert "A. Manager" in page and "Opportunity for improvement" in page and "Second calibration supplier" in page
    pdf = signed_in(app, org.viewer).get(f"/reviews/management/{review.id}/minutes.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF") and review.reference in pdf.headers["Content-Disposition"]
    assert "Download minutes (PDF)" in page


def test_the_management_review_form_validates(app, org):
    quality = signed_in(app, org.quality)
    for data in (
        {},
        {"title": "MR", "planned_for": "soon", "period_start": "2026-01-01", "period_end": "2026-12-31"},
        {"title": "MR", "planned_for": "2026-12-01", "period_start": "2026-12-31", "period_end": "2026-01-01"},
        {
            "title": "MR",
            "planned_for": "2026-12-01",
            "period_start": "2026-01-01",
            "period_end": "2026-12-31",
            "chair_id": str(org.viewer.id),
        },
    ):
        response = quality.post("/reviews/management/new", data=data)
        assert response.status_code == 422, data
    response = quality.post(
        "/reviews/management/new",
        data={
            "title": "MR",
            "planned_for": "2026-12-01",
            "period_start": "2026-12-31",
            "period_end": "2026-01-01",
            "chair_id": str(org.quality.id),
        },
    )
    assert "cannot be before the start of the period" in text(response)
    assert count(ManagementReview) == 0


def test_my_work_lists_review_actions_overdue_first(app, org):
    review = amendment_review(org)
    fire(review, "start_gap_analysis", org.quality)
    later = add_action(review, org.quality, title="Later action", owner_id=org.owner.id, due_date=days(30))
    soon = add_action(review, org.quality, title="Sooner action", owner_id=org.owner.id, due_date=days(1))
    soon.due_date = days(-2)  # it has become overdue
    db.session.commit()
    page = text(signed_in(app, org.owner).get("/my-work"))
    assert page.index("Sooner action") < page.index("Later action")
    row = page.split("Sooner action")[1].split("</tr>")[0]
    assert "overdue" in row
    assert later.title not in text(signed_in(app, org.viewer).get("/my-work"))


def test_a_restricted_document_overdue_for_review_is_named_only_to_its_readers(app, org, api):
    """The inputs are compiled by a quality officer (who sees every document); the review's page, the
    API and the minutes name a restricted document overdue for review only to those who may see it."""
    from pypdf import PdfReader

    from qms.services.reviews import compile_inputs

    secret = restricted_document(org)
    secret.next_review_due = days(-30)
    db.session.commit()
    review = compile_inputs(planned_mr(org), org.quality)
    url = f"/api/v1/reviews/management/{review.id}"

    def pdf_text(response) -> str:
        return " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(response.data)).pages)

    viewer = signed_in(app, org.viewer)
    for shown in (
        text(viewer.get(f"/reviews/management/{review.id}")),
        api.get("viewer", url).get_data(as_text=True),
        pdf_text(viewer.get(f"/reviews/management/{review.id}/minutes.pdf")),
        pdf_text(api.get("viewer", f"{url}/minutes.pdf")),
    ):
        assert "Salary bands" not in shown and secret.number not in shown
        assert "A document you may not see" in shown
    assert "Salary bands" in text(signed_in(app, org.quality).get(f"/reviews/management/{review.id}"))
    assert "Salary bands" in api.get("quality", url).get_data(as_text=True)


def test_suggested_impacts_name_a_restricted_document_only_to_its_readers(app, org, api):
    """A change to a process suggests its documents: a restricted one only to those who may see it."""
    production = new_process(org, code="PROD", owner=org.owner)
    common = dict(doc_type="record", owner_id=org.manager.id, process=production.name)
    create_document(org.manager, title="Salary bands 2027", confidentiality="restricted", **common)
    create_document(org.manager, title="Moulding work instruction", confidentiality="internal", **common)
    review = open_org_change_review(
        org.owner, title="Second line", change_kind="process", description="A second line.", process_id=production.id
    )
    url = f"/api/v1/reviews/org-change/{review.id}/suggested-impacts"
    for shown in (
        api.get("viewer", url).get_data(as_text=True),
        text(signed_in(app, org.owner).get(f"/reviews/org-change/{review.id}")),
    ):
        assert "Moulding work instruction" in shown and "Salary bands" not in shown
    assert "Salary bands" in api.get("quality", url).get_data(as_text=True)
