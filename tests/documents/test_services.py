"""Document control services: numbering, revisions, signed approval, one revision in force,
distribution and read receipts, periodic review, file integrity."""

from __future__ import annotations

import datetime as dt
import io
import threading

import pytest
from reportlab.pdfgen import canvas
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from qms.database import db
from qms.models import Document, DocumentNumbering, DocumentRevision, TransitionHistory
from qms.services import fire
from qms.services.attachments import storage_path
from qms.services.documents import (
    acknowledge,
    add_revision,
    create_document,
    in_force_count,
    pending_acknowledgements,
    start_due_reviews,
    verify_files,
)
from workflows.errors import Conflict, GuardFailed, InvalidData, InvalidTransition, NotPermitted

from ..conftest import PASSWORD


def pdf_bytes(text: str) -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, text)
    page.showPage()
    page.save()
    return out.getvalue()


def new_document(org, **overrides) -> Document:
    fields = {
        "title": "Control of nonconforming outputs",
        "doc_type": "procedure",
        "owner_id": org.quality.id,
        "process": "Quality Assurance",
        "clause_refs": ["8.7"],
        "review_period_months": 12,
        "distribution": [("role", "quality_officer"), ("user", str(org.owner.id))],
    }
    fields.update(overrides)
    return create_document(org.quality, **fields)


def draft(document, author, text="Procedure body text") -> DocumentRevision:
    return add_revision(
        document, author, stream=io.BytesIO(pdf_bytes(text)), filename="procedure.pdf", change_summary="First issue"
    )


def make_effective(org, revision, *, approver=None, on=None) -> DocumentRevision:
    fire(revision, "submit_for_review", org.owner, {"change_summary": "First issue"})
    fire(revision, "approve", approver or org.quality2, signature_password=PASSWORD)
    fire(revision, "make_effective", org.manager, {"effective_date": (on or dt.date.today()).isoformat()})
    return revision


def test_documents_are_numbered_by_type_and_process(org):
    first = new_document(org)
    second = new_document(org, title="Calibration")
    policy = new_document(org, title="Quality policy", doc_type="policy", process="")
    assert (first.number, second.number, policy.number) == ("SOP-QUALIT-001", "SOP-QUALIT-002", "POL-001")


def test_the_numbering_scheme_is_configurable(org):
    db.session.add(DocumentNumbering(doc_type="work_instruction", pattern="WI-{year}-{process}-{seq:04d}"))
    db.session.commit()
    document = new_document(org, doc_type="work_instruction", process="Assembly line")
    assert document.number == f"WI-{dt.date.today().year}-ASSEMB-0001"


@pytest.mark.parametrize(
    ("field", "value"),
    [("title", ""), ("doc_type", "memo"), ("review_period_months", 500), ("owner_id", 999_999)],
)
def test_bad_document_data_names_the_field(org, field, value):
    with pytest.raises(InvalidData) as exc:
        new_document(org, **{field: value})
    assert field in exc.value.errors


def test_viewers_and_auditors_cannot_create_documents(org):
    with pytest.raises(NotPermitted):
        create_document(org.viewer, title="x", doc_type="form", owner_id=org.viewer.id)


def test_a_revision_needs_a_readable_file(org):
    document = new_document(org)
    with pytest.raises(InvalidData) as exc:
        add_revision(document, org.owner, stream=io.BytesIO(b"MZ\x90\x00binary"), filename="virus.pdf")
    assert "file" in exc.value.errors
    with pytest.raises(InvalidData) as corrupt:
        add_revision(document, org.owner, stream=io.BytesIO(b"%PDF-1.4 not really a pdf"), filename="x.pdf")
    assert "cannot be read" in corrupt.value.errors["file"]


def test_the_author_cannot_approve_their_own_revision(org):
    document = new_document(org)
    revision = draft(document, org.quality)
    fire(revision, "submit_for_review", org.quality, {"change_summary": "First issue"})
    with pytest.raises(GuardFailed, match="someone else must approve it"):
        fire(revision, "approve", org.quality, signature_password=PASSWORD)
    fire(revision, "approve", org.quality2, signature_password=PASSWORD)
    assert revision.approved_by_id == org.quality2.id
    signed = db.session.scalars(
        select(TransitionHistory).where(
            TransitionHistory.event == "approve", TransitionHistory.record_id == revision.id
        )
    ).one()
    assert signed.signature_meaning == "approved" and signed.signed_by_name == org.quality2.name


def test_making_a_revision_effective_supersedes_the_previous_one(org):
    document = new_document(org)
    first = make_effective(org, draft(document, org.owner))
    assert first.state == "effective"
    assert document.next_review_due is not None
    second = draft(document, org.owner)
    assert second.label == "B"
    with pytest.raises(InvalidTransition, match="still in work"):
        draft(document, org.owner)
    make_effective(org, second)
    db.session.expire_all()
    assert db.session.get(DocumentRevision, first.id).state == "superseded"
    assert db.session.get(DocumentRevision, second.id).state == "effective"
    assert in_force_count(document.id) == 1
    superseded = db.session.scalars(
        select(TransitionHistory).where(TransitionHistory.record_id == first.id, TransitionHistory.event == "supersede")
    ).one()
    assert superseded.data == {"superseded_by": "B"}


def test_the_database_refuses_two_revisions_in_force(org):
    document = new_document(org)
    make_effective(org, draft(document, org.owner))
    other = DocumentRevision(document_id=document.id, label="Z", author_id=org.owner.id, state="effective")
    db.session.add(other)
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


@pytest.mark.real_commits
def test_concurrent_activation_leaves_exactly_one_revision_in_force(app, org):
    document = new_document(org)
    revisions = []
    for label in ("A", "B"):
        revision = DocumentRevision(document_id=document.id, label=label, author_id=org.owner.id)
        db.session.add(revision)
        db.session.commit()
        db.session.execute(update(DocumentRevision).where(DocumentRevision.id == revision.id).values(state="approved"))
        db.session.commit()
        revisions.append(revision.id)
    manager_id = org.manager.id
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def activate(revision_id: int) -> None:
        from qms.models import User

        with app.app_context():
            revision = db.session.get(DocumentRevision, revision_id)
            user = db.session.get(User, manager_id)
            barrier.wait()
            try:
                fire(revision, "make_effective", user, {"effective_date": dt.date.today().isoformat()})
                outcomes.append("won")
            except Exception as exc:
                outcomes.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=activate, args=(rid,)) for rid in revisions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    db.session.rollback()
    assert in_force_count(document.id) == 1
    assert "won" in outcomes
    # The loser either saw the winner and superseded it (serialised), or was refused with a conflict.
    assert all(o == "won" or isinstance(o, Conflict) for o in outcomes), outcomes


def test_distribution_gets_read_receipts_to_acknowledge(org):
    document = new_document(org)
    revision = make_effective(org, draft(document, org.owner))
    owed = {a.user_id for a in pending_acknowledgements(org.quality)} | {
        a.user_id for a in pending_acknowledgements(org.owner)
    }
    assert owed == {org.quality.id, org.owner.id}
    assert pending_acknowledgements(org.quality2)[0].due_date == dt.date.today() + dt.timedelta(days=14)
    assert pending_acknowledgements(org.viewer) == []
    receipt = acknowledge(revision, org.owner)
    assert receipt.acknowledged_at is not None
    assert pending_acknowledgements(org.owner) == []


def test_periodic_review_comes_due_and_is_confirmed_with_a_signature(org):
    document = new_document(org, review_period_months=6)
    revision = make_effective(org, draft(document, org.owner), on=dt.date.today() - dt.timedelta(days=200))
    assert document.next_review_due <= dt.date.today()
    started = start_due_reviews(dt.date.today())
    assert [r.id for r in started] == [revision.id]
    db.session.expire_all()
    revision = db.session.get(DocumentRevision, revision.id)
    assert revision.state == "review_due"
    history = db.session.scalars(
        select(TransitionHistory).where(
            TransitionHistory.record_id == revision.id, TransitionHistory.event == "mark_review_due"
        )
    ).one()
    assert history.actor_id is None and history.actor_name == "qmsflow scheduler"
    fire(revision, "confirm_review", org.owner, {"comments": "Still accurate"}, signature_password=PASSWORD)
    assert revision.state == "effective"
    assert revision.document.next_review_due > dt.date.today()


def test_a_withdrawn_document_takes_no_new_revision(org):
    document = new_document(org)
    revision = make_effective(org, draft(document, org.owner))
    fire(revision, "make_obsolete", org.manager, {"reason": "Process discontinued"})
    assert document.obsolete
    with pytest.raises(InvalidTransition, match="withdrawn"):
        draft(document, org.owner)


def test_verify_files_finds_a_changed_file(org):
    document = new_document(org)
    revision = draft(document, org.owner)
    assert verify_files() == []
    path = storage_path(revision.sha256)
    path.write_bytes(path.read_bytes() + b"tampered")
    problems = verify_files()
    assert len(problems) == 1 and "does not match its SHA-256" in problems[0]


def test_the_audit_trail_names_each_revisions_own_event(org):
    from qms.models import AuditEntry

    document = new_document(org)
    first = make_effective(org, draft(document, org.owner))
    second = make_effective(org, draft(document, org.owner))
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.record_type == "document_revisions", AuditEntry.action == "transition")
    ).all()
    events = {(e.record_id, e.event) for e in entries}
    assert (str(first.id), "supersede") in events
    assert (str(second.id), "make_effective") in events


def test_cli_documents_verify(org, runner):
    document = new_document(org)
    revision = draft(document, org.owner)
    ok = runner.invoke(args=["documents", "verify"])
    assert ok.exit_code == 0 and "match their SHA-256" in ok.output
    storage_path(revision.sha256).unlink()
    broken = runner.invoke(args=["documents", "verify"])
    assert broken.exit_code == 1 and "is missing" in broken.output


@pytest.mark.parametrize("value", ["²", "99999999999999999999999", "0", "-1", "12a"])
def test_distribution_to_a_user_that_cannot_exist_is_a_field_error(org, value):
    with pytest.raises(InvalidData) as caught:
        create_document(
            org.quality, title="Welding", doc_type="procedure", owner_id=org.owner.id, distribution=[("user", value)]
        )
    assert caught.value.errors == {"distribution": f"user {value} does not exist"}
