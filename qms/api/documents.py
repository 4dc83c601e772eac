"""/api/v1/documents and /api/v1/revisions: controlled documents (ISO 9001 7.5).

Documents are registered, take revisions (one in work at a time), and each
revision follows the ``document`` lifecycle (a workflow resource: events,
history, e-signed approval).  Confidential and restricted documents are seen
only by their owner, their distribution list and quality staff — the web's
``can_view`` rule, applied in SQL to lists and per record elsewhere (403).
"""

from __future__ import annotations

import datetime as dt
from http import HTTPStatus
from typing import Any

from flask import abort, current_app, url_for
from marshmallow import RAISE
from sqlalchemy import and_, case, or_, select
from sqlalchemy.orm import selectinload
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import CombinedMultiDict
from werkzeug.wrappers import Response

from workflows.errors import NotPermitted

from ..database import db
from ..downloads import content_disposition
from ..models import Acknowledgement, Document, DocumentRevision
from ..reports.documents import PdfProblem
from ..services.attachments import OFFICE_TYPES, SIGNATURES
from ..services.documents import (
    AUTHOR_ROLES,
    OPEN_REVISION_STATES,
    StoredFileMissing,
    acknowledge,
    add_revision,
    can_view,
    controlled_copy,
    create_document,
    pending_acknowledgements,
    visible_to,
)
from ..services.filters import clause_filter_on
from .auth import api_user, require_roles
from .blueprint import ID, ApiBlueprint, ApiParser
from .schemas.documents import (
    AcknowledgementSchema,
    DocumentCreateSchema,
    DocumentPageSchema,
    DocumentQuerySchema,
    DocumentSchema,
    RevisionSchema,
    RevisionUploadSchema,
)
from .workflow import Presented, add_workflow_routes, contains, get_or_404, paginate, present


class UploadParser(ApiParser):
    """The API's parser, whose ``files`` location also reads the multipart form's text fields.

    flask-smorest documents one request body per operation, so a file and its
    ``change_summary`` are one multipart schema read from form and files together.
    """

    def load_files(self, req: Any, schema: Any) -> Any:
        return MultiDictProxy(CombinedMultiDict([req.files, req.form]), schema)


blp = ApiBlueprint(
    "api_documents",
    __name__,
    tag="Documents",
    description=(
        "Controlled documents (ISO 9001 7.5): register, revise, review, approve with an e-signature, "
        "make effective, download stamped copies, acknowledge."
    ),
)
blp.ARGUMENTS_PARSER = UploadParser()

#: what a document's representation reads, loaded for a whole page in a fixed number of queries
DOCUMENT_LOAD = (
    selectinload(Document.owner),
    selectinload(Document.revisions),
    selectinload(Document.distribution),
)
#: what a revision's representation reads
REVISION_LOAD = (
    selectinload(DocumentRevision.document).selectinload(Document.distribution),
    selectinload(DocumentRevision.author),
    selectinload(DocumentRevision.approved_by),
)
FILE_TYPES = sorted(
    {ct for _, ct, _ in SIGNATURES if ct != "application/zip"}
    | {ct for ct, _ in OFFICE_TYPES.values()}
    | {"text/plain"}
)
BINARY = {"schema": {"type": "string", "format": "binary"}}
FILE_RESPONSE = {
    "description": "The revision's file; a PDF carries the controlled-copy stamp of the revision's status",
    "content": dict.fromkeys(FILE_TYPES, BINARY),
    "headers": {
        "Content-Disposition": {
            "description": "attachment; filename=<number>-rev-<label>-<stored file name>",
            "schema": {"type": "string"},
        }
    },
}
TOO_LARGE = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


# --- who may see what ---------------------------------------------------------------------------


def _check_view(document: Document) -> None:
    if not can_view(document, api_user()):
        raise NotPermitted(f"{document.number} is {document.confidentiality}; you are not on its distribution list")


def load_document(document_id: int) -> Document:
    document = get_or_404(Document, document_id, options=DOCUMENT_LOAD, label="document")
    _check_view(document)
    return document


def load_revision(revision_id: int) -> DocumentRevision:
    revision = get_or_404(DocumentRevision, revision_id, options=REVISION_LOAD, label="document revision")
    _check_view(revision.document)
    return revision


# --- presenting ---------------------------------------------------------------------------------


def present_document(document: Document) -> Presented:
    current = document.current_revision
    in_work = next((r for r in document.revisions if r.state in OPEN_REVISION_STATES), None)
    return Presented(
        document,
        status="obsolete" if document.obsolete else "current",
        review_overdue=document.next_review_due is not None and document.next_review_due <= dt.date.today(),
        current_revision_id=current.id if current else None,
        revision_in_work_id=in_work.id if in_work else None,
        revisions=[
            Presented(r, links={"self": url_for("api_documents.get_revision", revision_id=r.id)})
            for r in document.revisions
        ],
        links={
            "self": url_for("api_documents.get_document", document_id=document.id),
            "revisions": url_for("api_documents.list_revisions", document_id=document.id),
            "current_revision": url_for("api_documents.get_revision", revision_id=current.id) if current else None,
        },
    )


def revision_extras(revision: DocumentRevision) -> dict[str, Any]:
    base = "api_documents."
    return {
        "links": {
            "self": url_for(base + "get_revision", revision_id=revision.id),
            "history": url_for(base + "revision_history", revision_id=revision.id),
            "events": url_for(base + "revision_events", revision_id=revision.id),
            "file": url_for(base + "revision_file", revision_id=revision.id),
            "acknowledge": url_for(base + "acknowledge_revision", revision_id=revision.id),
            "document": url_for(base + "get_document", document_id=revision.document_id),
        }
    }


def present_receipt(receipt: Acknowledgement) -> Presented:
    base = "api_documents."
    document = receipt.revision.document
    return Presented(
        receipt,
        overdue=receipt.is_overdue(dt.date.today()),
        links={
            "revision": url_for(base + "get_revision", revision_id=receipt.revision_id),
            "file": url_for(base + "revision_file", revision_id=receipt.revision_id),
            "acknowledge": url_for(base + "acknowledge_revision", revision_id=receipt.revision_id),
            "document": url_for(base + "get_document", document_id=document.id),
        },
    )


# --- documents ----------------------------------------------------------------------------------


@blp.route("/documents", methods=["GET"])
@blp.arguments(DocumentQuerySchema, location="query", unknown=RAISE)
@blp.response(200, DocumentPageSchema)
def list_documents(args: dict[str, Any]) -> dict[str, Any]:
    """The master list of documents you may see: filtered, sorted, one page at a time

    Confidential and restricted documents appear only to their owner, their
    distribution list (users and roles) and administrators, managers and
    quality officers.
    """
    stmt = select(Document).where(visible_to(api_user()))
    if "doc_type" in args:
        stmt = stmt.where(Document.doc_type == args["doc_type"])
    if "process" in args:
        stmt = stmt.where(contains(Document.process, args["process"]))
    if "clause" in args:
        stmt = stmt.where(clause_filter_on(Document.clause_refs, args["clause"]))
    if "q" in args:
        stmt = stmt.where(or_(contains(Document.number, args["q"]), contains(Document.title, args["q"])))
    if "status" in args:
        stmt = stmt.where(Document.obsolete.is_(args["status"] == "obsolete"))
    if "review_due" in args:
        due = and_(Document.next_review_due.is_not(None), Document.next_review_due <= dt.date.today())
        stmt = stmt.where(due if args["review_due"] else ~due)
    sort = args["sort"]
    descending = sort.startswith("-")
    column = {"number": Document.number, "title": Document.title, "next_review_due": Document.next_review_due}[
        sort.lstrip("-")
    ]
    # documents without a review date come last either way, whatever the database's NULL order
    order = [case((column.is_(None), 1), else_=0)] if sort.lstrip("-") == "next_review_due" else []
    order += [column.desc(), Document.id.desc()] if descending else [column.asc(), Document.id.asc()]
    stmt = stmt.order_by(*order)
    items, page = paginate(stmt, args, options=DOCUMENT_LOAD)
    return {**page, "items": [present_document(d) for d in items]}


@blp.route("/documents", methods=["POST"])
@require_roles(AUTHOR_ROLES, "Requires the role manager, process owner or quality officer to create documents")
@blp.arguments(DocumentCreateSchema)
@blp.response(201, DocumentSchema)
def create(body: dict[str, Any]) -> Any:
    """Register a controlled document (its number comes from the numbering scheme of its type)

    Managers, process owners and quality officers may. Add its first revision
    with `POST /documents/{id}/revisions`. `distribution` lists who must read
    it: `{"kind": "user", "value": "<user id>"}`, a role or a process.
    """
    distribution = [(entry["kind"], entry["value"]) for entry in body.pop("distribution")]
    document = create_document(api_user(), distribution=distribution, **body)
    document = load_document(document.id)
    location = url_for("api_documents.get_document", document_id=document.id)
    return present_document(document), 201, {"Location": location}


@blp.route(f"/documents/<{ID}:document_id>", methods=["GET"])
@blp.alt_response(403, response=HTTPStatus.FORBIDDEN.name)
@blp.response(200, DocumentSchema)
def get_document(document_id: int) -> Any:
    """One document: metadata, distribution, its revisions and the one in force

    403 when the document is confidential or restricted and you are not its
    owner, on its distribution list or quality staff.
    """
    return present_document(load_document(document_id))


@blp.route(f"/documents/<{ID}:document_id>/revisions", methods=["GET"])
@blp.alt_response(403, response=HTTPStatus.FORBIDDEN.name)
@blp.response(200, RevisionSchema(many=True))
def list_revisions(document_id: int) -> Any:
    """Every revision of a document, oldest first, each with the events you may fire on it"""
    document = load_document(document_id)
    revisions = list(
        db.session.scalars(
            select(DocumentRevision)
            .where(DocumentRevision.document_id == document.id)
            .options(*REVISION_LOAD)
            .order_by(DocumentRevision.id)
        )
    )
    return present(revisions, revision_extras)


@blp.route(f"/documents/<{ID}:document_id>/revisions", methods=["POST"])
@require_roles(AUTHOR_ROLES, "Requires the role manager, process owner or quality officer to write revisions")
@blp.arguments(RevisionUploadSchema, location="files")
@blp.alt_response(413, response=TOO_LARGE.name)
@blp.response(201, RevisionSchema)
def upload_revision(form: dict[str, Any], document_id: int) -> Any:
    """Start a new revision: upload its file (multipart `file`, with `change_summary`)

    It starts as a draft. Managers, process owners and quality officers may.
    409 while another revision is in work (draft, in review or approved) or
    when the document is withdrawn; 422 naming `file` for a file of a refused
    type or one that cannot be read (a corrupt or encrypted PDF), and for one
    over the reading budget, with the reason: a PDF over the page limit
    (`QMS_PDF_MAX_PAGES`, 2,000), a DOCX or XLSX that unpacks to too much or to
    too many XML elements, or one that takes too long or too much memory to
    read; 413 over the upload limit. Nothing is stored for a refused file.
    """
    document = load_document(document_id)
    upload = form["file"]
    revision = add_revision(
        document,
        api_user(),
        stream=upload.stream,
        filename=upload.filename or "",
        change_summary=form["change_summary"],
    )
    revision = load_revision(revision.id)
    location = url_for("api_documents.get_revision", revision_id=revision.id)
    return present([revision], revision_extras)[0], 201, {"Location": location}


# --- revisions: the workflow resource -----------------------------------------------------------

add_workflow_routes(
    blp,
    model=DocumentRevision,
    collection="revisions",
    key="revision_id",
    name="revision",
    schema=RevisionSchema,
    load=load_revision,
    extras=revision_extras,
)


@blp.route(f"/revisions/<{ID}:revision_id>/file", methods=["GET"])
@blp.doc(responses={"200": FILE_RESPONSE})
@blp.alt_response(403, response=HTTPStatus.FORBIDDEN.name)
@blp.alt_response(422, response=HTTPStatus.UNPROCESSABLE_ENTITY.name)
def revision_file(revision_id: int) -> Response:
    """Download a revision's file

    A PDF comes stamped on every page, as the web's download: the document
    number, revision and effective date, and its status — a controlled copy
    (uncontrolled when printed), superseded, obsolete or a draft. 403 when you
    may not see the document; 404 when its stored file is missing; 422 when
    the stored PDF cannot be stamped.
    """
    revision = load_revision(revision_id)
    try:
        data = controlled_copy(revision, current_app.config["QMS_ORGANISATION"])
    except StoredFileMissing as exc:
        current_app.logger.error("revision %s: %s", revision.id, exc)
        abort(404, description=f"The file of revision {revision.id} is missing from the store")
    except PdfProblem as exc:
        abort(422, description=str(exc))
    filename = f"{revision.document.number}-rev-{revision.label}-{revision.filename or 'file'}"
    return Response(
        data,
        mimetype=revision.content_type or "application/octet-stream",
        headers={"Content-Disposition": content_disposition(filename), "Cache-Control": "no-store"},
    )


@blp.route(f"/revisions/<{ID}:revision_id>/acknowledge", methods=["POST"])
@blp.response(200, AcknowledgementSchema)
def acknowledge_revision(revision_id: int) -> Any:
    """Record that you have read and understood a revision in force

    Answers the receipt (a receipt is recorded even when you were not on the
    distribution list). 409 when the revision is not the one in force; 403
    when you may not see the document.
    """
    receipt = acknowledge(load_revision(revision_id), api_user())
    return present_receipt(receipt)


@blp.route("/acknowledgements", methods=["GET"])
@blp.response(200, AcknowledgementSchema(many=True))
def list_acknowledgements() -> Any:
    """The read receipts you still owe, soonest due first (revisions in force only)"""
    receipts = pending_acknowledgements(api_user())
    # their revisions and documents in two queries, not two per receipt (held here: the
    # session's identity map keeps only weak references, and the receipts find them there)
    revisions = (
        db.session.scalars(
            select(DocumentRevision)
            .options(selectinload(DocumentRevision.document))
            .where(DocumentRevision.id.in_({r.revision_id for r in receipts}))
        ).all()
        if receipts
        else []
    )
    presented = [present_receipt(r) for r in receipts]  # each now holds its revision and document
    del revisions
    return presented
