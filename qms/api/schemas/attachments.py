"""marshmallow schemas of evidence files (attachments) on any record.

Built on ``common``'s fields and conventions: strict input (unknown fields rejected), bounded ids,
storable text, ISO 8601 dates.
"""

from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import Schema, fields

from .common import UserRefSchema


class AttachmentLinksSchema(Schema):
    content = fields.String(required=True, metadata={"description": "GET: the file itself"})


class AttachmentSchema(Schema):
    id = fields.Integer(required=True)
    filename = fields.String(required=True)
    content_type = fields.String(required=True, metadata={"description": "Decided by the file's content"})
    size = fields.Integer(required=True)
    sha256 = fields.String(required=True)
    uploaded_by = fields.Nested(UserRefSchema, required=True)
    uploaded_at = fields.DateTime(required=True)
    links = fields.Nested(AttachmentLinksSchema, required=True)


class AttachmentUploadSchema(Schema):
    file = Upload(
        required=True, metadata={"description": "PDF, DOCX, XLSX, PNG, JPEG, GIF or plain text, by its content"}
    )
