"""The demo document register: a quality manual, procedures, work instructions and forms under control.

Most are effective (some on their second revision, their first superseded), one is being
reviewed and one is a draft, so every step of the document lifecycle has a record; the
quality manual is distributed to everyone and some people have already confirmed reading it.
"""

from __future__ import annotations

import datetime as dt
import io

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from ..services import documents, fire
from .users import DEMO_PASSWORD

#: (type, title, process, clauses, revisions to make effective, owner)
REGISTER = (
    ("manual", "Quality manual", "", ("4.3", "4.4", "5.2"), 2, "manager"),
    ("policy", "Quality policy", "", ("5.2",), 1, "manager"),
    ("procedure", "Control of documented information", "Quality management", ("7.5",), 2, "quality"),
    ("procedure", "Internal audits", "Quality management", ("9.2",), 1, "quality"),
    ("procedure", "Nonconformity and corrective action", "Quality management", ("10.2",), 1, "quality"),
    ("procedure", "Management review", "Quality management", ("9.3",), 1, "manager"),
    ("procedure", "Purchasing and supplier evaluation", "Purchasing", ("8.4",), 1, "owner"),
    ("procedure", "Handling customer complaints", "Customer service", ("8.2.1", "9.1.2"), 1, "quality"),
    ("work_instruction", "Door frame assembly", "Production", ("8.5.1",), 2, "owner"),
    ("work_instruction", "Calibration of torque wrenches", "Production", ("7.1.5",), 1, "owner"),
    ("form", "Nonconformity report form", "Quality management", ("10.2",), 1, "quality"),
    ("form", "Training attendance record", "Human resources", ("7.2",), 1, "quality"),
)


def _pdf(number: str, title: str, label: str) -> io.BytesIO:
    """A one-page PDF standing in for the document's file."""
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4)
    canvas.setTitle(f"{number} {title}")
    canvas.setFont("Helvetica-Bold", 16)
    canvas.drawString(72, 760, title)
    canvas.setFont("Helvetica", 11)
    canvas.drawString(72, 740, f"{number} · revision {label}")
    canvas.drawString(72, 710, "Purpose, scope, responsibilities, method and records: see the sections below.")
    canvas.showPage()
    canvas.save()
    out.seek(0)
    return out


def _effective(revision, author, approver, today: dt.date, summary: str) -> None:
    fire(revision, "submit_for_review", author, {"change_summary": summary})
    fire(revision, "approve", approver, signature_password=DEMO_PASSWORD)
    fire(revision, "make_effective", approver, {"effective_date": today})


def seed_documents(users: dict, today: dt.date) -> int:
    """The register above, each document walked to its state; how many documents."""
    qo, manager = users["quality"], users["manager"]
    made = []
    for doc_type, title, process, clauses, effective_revisions, owner in REGISTER:
        author = users[owner]
        approver = qo if author is not qo else manager
        distribution = [("role", "viewer"), ("role", "process_owner"), ("role", "internal_auditor")]
        if doc_type == "manual":
            distribution = [
                ("role", role) for role in ("manager", "quality_officer", "internal_auditor", "process_owner")
            ]
        document = documents.create_document(
            author,
            title=title,
            doc_type=doc_type,
            owner_id=author.id,
            process=process,
            clause_refs=clauses,
            distribution=distribution,
            today=today,
        )
        for index in range(effective_revisions):
            label = chr(ord("A") + index)
            revision = documents.add_revision(
                document,
                author,
                stream=_pdf(document.number, title, label),
                filename=f"{document.number}-{label}.pdf",
            )
            _effective(revision, author, approver, today, "First issue" if index == 0 else "Reviewed and updated")
        made.append(document)

    # the next revision of the procedures for audits is in review, a new form is still a draft
    audits_procedure = made[3]
    in_review = documents.add_revision(
        audits_procedure,
        qo,
        stream=_pdf(audits_procedure.number, audits_procedure.title, "B"),
        filename=f"{audits_procedure.number}-B.pdf",
        change_summary="Adds remote audits",
    )
    fire(in_review, "submit_for_review", qo, {"change_summary": "Adds remote audits and the 2026 clauses"})
    draft = documents.create_document(
        qo, title="Supplier corrective action request form", doc_type="form", owner_id=qo.id, process="Purchasing"
    )
    documents.add_revision(draft, qo, stream=_pdf(draft.number, draft.title, "A"), filename=f"{draft.number}-A.pdf")
    made.append(draft)

    # some people have read the quality manual already
    manual = made[0]
    in_force = next(r for r in manual.revisions if r.state == "effective")
    for who in ("quality", "auditor", "owner"):
        documents.acknowledge(in_force, users[who])
    return len(made)
