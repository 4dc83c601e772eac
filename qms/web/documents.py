"""Controlled documents: master list, document pages, revisions, stamped copies, read receipts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload, selectinload
from wtforms import FileField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from workflows.errors import InvalidData, InvalidTransition, NotPermitted

from ..database import db
from ..downloads import content_disposition
from ..models import (
    CONFIDENTIALITY,
    DOCUMENT_TYPES,
    ROLE_LABELS,
    Acknowledgement,
    Document,
    DocumentRevision,
    User,
)
from ..reports.documents import PdfProblem
from ..security import DIAGRAM_CSP, talisman
from ..services import available_events, history_of
from ..services.documents import (
    AUTHOR_ROLES,
    StoredFileMissing,
    acknowledge,
    add_revision,
    can_view,
    controlled_copy,
    create_document,
    visible_to,
)
from ..services.filters import clause_filter_on, contains, distinct_values
from ..services.search import search_documents
from .events import EventFormState, add_record_routes
from .paging import register_page

bp = Blueprint("documents", __name__)


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class DocumentForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    doc_type = SelectField("Type", choices=list(DOCUMENT_TYPES.items()), validators=[DataRequired()])
    owner_id = SelectField("Owner", coerce=int, validators=[DataRequired()])
    process_name = StringField("Process", validators=[Optional(), Length(max=120)])
    clauses = StringField("ISO 9001 clauses", validators=[Optional(), Length(max=300)])
    review_period_months = IntegerField(
        "Review period (months, 0 = none)", default=24, validators=[NumberRange(min=0, max=120)]
    )
    confidentiality = SelectField("Confidentiality", choices=list(CONFIDENTIALITY.items()), default="internal")
    roles = CheckboxesField("Distribute to roles", choices=list(ROLE_LABELS.items()))
    people = CheckboxesField("Distribute to people", coerce=int, choices=[])
    processes = StringField(
        "Distribute to processes",
        validators=[Optional(), Length(max=300)],
        description="Process names separated by commas; the owners of that process's documents are asked to read it",
    )


class RevisionForm(FlaskForm):
    file = FileField("File (PDF, DOCX, XLSX or image)")
    change_summary = TextAreaField("What changed", validators=[Optional(), Length(max=5000)])


def _document_or_404(document_id: int, *options: Any) -> Document:
    document = db.session.get(Document, document_id, options=options) or abort(404)
    if not can_view(document, current_user):
        abort(403)
    return document


def _revision_or_404(revision_id: int) -> DocumentRevision:
    revision = db.session.get(DocumentRevision, revision_id) or abort(404)
    if not can_view(revision.document, current_user):
        abort(403)
    return revision


@bp.route("/documents")
@login_required
def master_list() -> str:
    args = _list_args()
    query, hits = _filtered_documents(args)
    pagination = None
    if hits:
        # a text search answers at most 200 documents, ranked: shown on one page in rank order
        documents = sorted(db.session.scalars(query), key=lambda d: -hits[d.id].rank)
    else:
        pagination = register_page(query)
        documents = pagination.items
    processes = distinct_values(Document.process)
    return render_template(
        "documents/list.html",
        documents=documents,
        pagination=pagination,
        hits=hits,
        args=args,
        types=DOCUMENT_TYPES,
        processes=processes,
        today=dt.date.today(),
        can_create=current_user.has_role(*AUTHOR_ROLES),
    )


def _list_args() -> dict[str, str]:
    return {k: v.strip()[:120] for k, v in request.args.items() if v.strip() and k not in ("page", "after", "before")}


def _filtered_documents(args: dict[str, str]) -> tuple[Any, dict[int, Any]]:
    """The query of the documents matching the master list's filters that the user may see, and the search hits."""
    query = (
        select(Document)
        .options(selectinload(Document.revisions), selectinload(Document.owner), selectinload(Document.distribution))
        .where(visible_to(current_user))
        .order_by(Document.number, Document.id)
    )
    if args.get("doc_type") in DOCUMENT_TYPES:
        query = query.where(Document.doc_type == args["doc_type"])
    if args.get("process"):
        query = query.where(Document.process == args["process"])
    if args.get("clause"):
        query = query.where(clause_filter_on(Document.clause_refs, args["clause"]))
    hits = {}
    if args.get("text"):
        # full-text search over the metadata and the words inside the uploaded files
        hits = {hit.document_id: hit for hit in search_documents(db.session(), args["text"], limit=200)}
        query = query.where(Document.id.in_(list(hits) or [0]))
    if args.get("q"):
        query = query.where(or_(contains(Document.number, args["q"]), contains(Document.title, args["q"])))
    status = args.get("status", "")
    if status == "obsolete":
        query = query.where(Document.obsolete.is_(True))
    elif status == "current":
        query = query.where(Document.obsolete.is_(False))
    if args.get("review_due"):
        query = query.where(Document.next_review_due <= dt.date.today())
    return query, hits


def _master_rows() -> list[list[object]]:
    """The filtered master list as rows (MASTER_LIST_COLUMNS), only the documents the user may see."""
    rows: list[list[object]] = []
    query, hits = _filtered_documents(_list_args())
    documents = [d for d in db.session.scalars(query) if can_view(d, current_user)]
    if hits:
        documents.sort(key=lambda d: -hits[d.id].rank)
    for document in documents:
        current = document.current_revision
        rows.append(
            [
                document.number,
                document.title,
                DOCUMENT_TYPES[document.doc_type],
                document.process,
                f"rev {current.label}" if current else ("obsolete" if document.obsolete else "none"),
                current.effective_date if current else None,
                document.next_review_due,
                document.owner.name,
            ]
        )
    return rows


@bp.route("/documents/master-list.xlsx")
@login_required
def master_list_xlsx() -> Response:
    from ..reports.documents import MASTER_LIST_COLUMNS
    from ..services.spreadsheets import xlsx_bytes

    return Response(
        xlsx_bytes("Master list", MASTER_LIST_COLUMNS, _master_rows()),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": content_disposition(f"master-list-{dt.date.today()}.xlsx")},
    )


@bp.route("/documents/master-list.pdf")
@login_required
def master_list_pdf() -> Response:
    from ..reports.documents import master_list_report

    rows = [["" if value is None else str(value) for value in row] for row in _master_rows()]
    pdf = master_list_report(rows, current_app.config["QMS_ORGANISATION"])
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": content_disposition(f"master-list-{dt.date.today()}.pdf", inline=True)},
    )


def _owner_choices() -> list[tuple[int, str]]:
    return [(u.id, u.name) for u in db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.name))]


@bp.route("/documents/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    if not current_user.has_role(*AUTHOR_ROLES):
        abort(403)
    form = DocumentForm()
    form.owner_id.choices = _owner_choices()
    form.people.choices = _owner_choices()
    if form.validate_on_submit():
        try:
            document = create_document(
                current_user,
                title=form.title.data,
                doc_type=form.doc_type.data,
                owner_id=form.owner_id.data,
                process=form.process_name.data or "",
                clause_refs=[c.strip() for c in (form.clauses.data or "").split(",") if c.strip()],
                review_period_months=form.review_period_months.data,
                confidentiality=form.confidentiality.data,
                distribution=[
                    *(("role", role) for role in form.roles.data or []),
                    *(("user", str(user_id)) for user_id in form.people.data or []),
                    *(("process", p.strip()) for p in (form.processes.data or "").split(",") if p.strip()),
                ],
            )
        except InvalidData as exc:
            for name, message in exc.errors.items():
                field = getattr(form, {"process": "process_name", "clause_refs": "clauses"}.get(name, name), None)
                if field is not None:
                    field.errors = [*field.errors, message]
                else:
                    flash(f"{name} {message}")
        else:
            flash(f"{document.number} registered. Add its first revision.")
            return redirect(url_for("documents.detail", document_id=document.id))
    return render_template("documents/new.html", form=form), (422 if form.errors else 200)


def _render_detail(document: Document, failed: EventFormState | None = None, revision_form: RevisionForm | None = None):
    in_work = next((r for r in document.revisions if r.state in ("draft", "in_review", "approved")), None)
    shown = in_work or document.current_revision
    receipts = []
    if document.current_revision is not None:
        receipts = db.session.scalars(
            select(Acknowledgement)
            .options(selectinload(Acknowledgement.user))
            .where(Acknowledgement.revision_id == document.current_revision.id)
            .order_by(Acknowledgement.id)
        ).all()
    mine = next((r for r in receipts if r.user_id == current_user.id and r.acknowledged_at is None), None)
    return render_template(
        "documents/detail.html",
        document=document,
        shown=shown,
        events=available_events(shown, current_user) if shown else [],
        history=history_of(shown) if shown else [],
        failed=failed,
        revision_form=revision_form or RevisionForm(formdata=None),
        can_revise=current_user.has_role(*AUTHOR_ROLES) and in_work is None and not document.obsolete,
        receipts=receipts,
        my_receipt=mine,
        types=DOCUMENT_TYPES,
        confidentiality=CONFIDENTIALITY,
        today=dt.date.today(),
    )


@bp.route("/documents/<id:document_id>")
@login_required
@talisman(content_security_policy=DIAGRAM_CSP)
def detail(document_id: int) -> str:
    # the page lists every revision with its author and approver: loaded together, not one person at a time
    revisions = selectinload(Document.revisions).options(
        joinedload(DocumentRevision.author), joinedload(DocumentRevision.approved_by)
    )
    return _render_detail(_document_or_404(document_id, revisions, joinedload(Document.owner)))


@bp.route("/documents/<id:document_id>/revisions", methods=["POST"])
@login_required
def new_revision(document_id: int) -> Any:
    document = _document_or_404(document_id)
    if not current_user.has_role(*AUTHOR_ROLES):
        abort(403)
    form = RevisionForm()
    upload = request.files.get("file")
    try:
        revision = add_revision(
            document,
            current_user,
            stream=upload.stream if upload and upload.filename else None,
            filename=upload.filename if upload else "",
            change_summary=form.change_summary.data or "",
        )
    except InvalidData as exc:
        for name, message in exc.errors.items():
            getattr(form, name, form.file).errors = [message]
        return _render_detail(document, revision_form=form), 422
    except InvalidTransition as exc:
        flash(exc.message)
        return _render_detail(document, revision_form=form), 409
    flash(f"Revision {revision.label} started as a draft.")
    return redirect(url_for("documents.detail", document_id=document.id))


add_record_routes(
    bp,
    "/revisions/<id:revision_id>",
    load=lambda revision_id: _revision_or_404(revision_id),
    render=lambda revision, failed, status: (_render_detail(revision.document, failed), status),
    url=lambda revision: url_for("documents.detail", document_id=revision.document_id),
    detail=None,
)


@bp.route("/revisions/<id:revision_id>/file")
@login_required
def download(revision_id: int) -> Response:
    """The revision's file; a PDF comes stamped as a controlled, superseded, obsolete or draft copy."""
    revision = _revision_or_404(revision_id)
    try:
        data = controlled_copy(revision, current_app.config["QMS_ORGANISATION"])
    except StoredFileMissing:
        abort(404)
    except PdfProblem as exc:
        abort(422, description=str(exc))
    return Response(
        data,
        mimetype=revision.content_type or "application/octet-stream",
        headers={
            "Content-Disposition": content_disposition(
                f"{revision.document.number}-rev-{revision.label}-{revision.filename or 'file'}"
            ),
            "Cache-Control": "no-store",
        },
    )


@bp.route("/revisions/<id:revision_id>/acknowledge", methods=["POST"])
@login_required
def acknowledge_revision(revision_id: int) -> Response:
    revision = _revision_or_404(revision_id)
    try:
        acknowledge(revision, current_user)
    except (InvalidTransition, NotPermitted) as exc:
        flash(exc.message)
    else:
        flash(f"Recorded: you have read and understood {revision.document.number} rev {revision.label}.")
    return redirect(url_for("documents.detail", document_id=revision.document_id))
