"""marshmallow schemas of the audit-trail API: the result of a verification."""

from __future__ import annotations

from marshmallow import Schema, fields


class AuditTrailVerificationQuerySchema(Schema):
    checkpoints = fields.Boolean(
        load_default=False,
        metadata={"description": "Also prove that the chain still holds every checkpointed head"},
    )


class AuditTrailVerificationSchema(Schema):
    ok = fields.Boolean(required=True, metadata={"description": "true: nothing disagrees"})
    entries_checked = fields.Integer(required=True, metadata={"description": "Entries whose MAC and link hold"})
    legacy_entries = fields.Integer(
        required=True, metadata={"description": "Entries from before the trail was keyed, anchored by a seal"}
    )
    rows_checked = fields.Integer(
        required=True,
        metadata={"description": "Audited rows (records, history and signatures, users, roles, documents, files…)"},
    )
    records_replayed = fields.Integer(
        required=True, metadata={"description": "Workflow records whose history was replayed to their state"}
    )
    checkpoints_checked = fields.Integer(required=True)
    broken_at = fields.Integer(
        required=True, allow_none=True, metadata={"description": "The first entry where the chain breaks"}
    )
    record = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The first record that disagrees, as '<table> <id> (<reference>)'"},
    )
    problem = fields.String(required=True, metadata={"description": "The first disagreement, in words"})
    problems = fields.List(fields.String(), required=True, metadata={"description": "The first 20 disagreements"})
    problem_count = fields.Integer(required=True)
    checked_at = fields.DateTime(required=True)
