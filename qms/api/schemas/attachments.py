"""marshmallow schemas of the API: what it accepts and what it answers.

Input schemas are strict: unknown fields are rejected (marshmallow's RAISE,
also for query strings), ids are bounded to what the database stores, and
text must be storable (valid Unicode without NUL characters), so bad input
always gets a 422 naming the field, never a database error.  Dates are ISO
8601 (``YYYY-MM-DD``); datetimes are UTC with their offset.
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
