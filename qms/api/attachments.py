"""Evidence files: the attachment routes every record with evidence shares, and their download.

``add_attachment_routes`` gives a resource its two evidence routes::

    GET  /<collection>/<id>/attachments   the files' metadata, each with a link to its content
    POST /<collection>/<id>/attachments   upload one (multipart field ``file``)

and ``GET /attachments/<id>/content`` answers the stored bytes themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from flask import abort, current_app, url_for
from werkzeug.wrappers import Response

from ..downloads import send_download
from ..models import Attachment
from ..services.attachments import OFFICE_TYPES, SIGNATURES, UPLOAD_ROLES, attach, attachments_of, storage_path
from .auth import api_user, require_roles
from .blueprint import ID, ApiBlueprint
from .schemas.attachments import AttachmentSchema, AttachmentUploadSchema
from .workflow import Presented, get_or_404

blp = ApiBlueprint(
    "api_attachments",
    __name__,
    tag="Attachments",
    description="Evidence files: their content, as stored (the type decided by the content when uploaded).",
)

#: every content type an evidence file can have (decided by its content when it was uploaded)
CONTENT_TYPES = sorted(
    {ct for _, ct, _ in SIGNATURES if ct != "application/zip"}
    | {ct for ct, _ in OFFICE_TYPES.values()}
    | {"text/plain"}
)
BINARY = {"schema": {"type": "string", "format": "binary"}}
CONTENT_RESPONSE = {
    "description": "The file's bytes, with the content type it was stored with",
    "content": dict.fromkeys(CONTENT_TYPES, BINARY),
    "headers": {
        "Content-Disposition": {
            "description": "attachment; filename=… (the stored, sanitised file name)",
            "schema": {"type": "string"},
        }
    },
}


def present_attachment(attachment: Attachment) -> Presented:
    """An attachment's metadata with the link to its content."""
    return Presented(
        attachment,
        links={"content": url_for("api_attachments.attachment_content", attachment_id=attachment.id)},
    )


def add_attachment_routes(
    blp: ApiBlueprint, *, collection: str, key: str, label: str, load: Callable[[int], Any]
) -> None:
    """Register ``list_attachments`` and ``upload_attachment`` for records of ``collection`` on ``blp``."""
    rule = f"/{collection}/<{ID}:{key}>/attachments"

    def list_attachments(**view_args: Any) -> Any:
        return [present_attachment(a) for a in attachments_of(load(view_args[key]))]

    list_attachments.__doc__ = f"The evidence files of a {label} (metadata; `links.content` is the file)"
    blp.route(rule, endpoint="list_attachments", methods=["GET"])(
        blp.response(200, AttachmentSchema(many=True))(list_attachments)
    )

    def upload_attachment(files: dict[str, Any], **view_args: Any) -> Any:
        record = load(view_args[key])
        upload = files["file"]
        return present_attachment(attach(record, api_user(), upload.stream, upload.filename or ""))

    upload_attachment.__doc__ = (
        f"Attach an evidence file to a {label} (multipart field `file`)\n\n"
        "Anyone but a viewer may. The type is decided by the content, not the name: PDF, DOCX, XLSX, PNG, "
        "JPEG, GIF or plain text; anything else answers 422 naming `file`, as does a PDF over the page limit "
        "(`QMS_PDF_MAX_PAGES`, 2,000); a file over the upload limit 413. Nothing is stored for a refused file."
    )
    view = blp.arguments(AttachmentUploadSchema, location="files")(
        blp.response(201, AttachmentSchema)(blp.alt_response(413, response=HTTPStatus(413).name)(upload_attachment))
    )
    blp.route(rule, endpoint="upload_attachment", methods=["POST"])(
        require_roles(UPLOAD_ROLES, "Viewers cannot attach evidence")(view)
    )


@blp.route(f"/attachments/<{ID}:attachment_id>/content", methods=["GET"])
@blp.doc(responses={"200": CONTENT_RESPONSE})
def attachment_content(attachment_id: int) -> Response:
    """Download an evidence file

    The stored bytes, with the content type decided when it was uploaded and
    `Content-Disposition: attachment` naming the file. 404 when there is no
    such attachment or its stored file is missing.
    """
    attachment = get_or_404(Attachment, attachment_id, label="attachment")
    path = storage_path(attachment.sha256)
    if not path.is_file():
        current_app.logger.error("attachment %s: stored file %s is missing", attachment.id, path)
        abort(404, description=f"The file of attachment {attachment.id} is missing from the store")
    return send_download(path, attachment.filename, attachment.content_type)
