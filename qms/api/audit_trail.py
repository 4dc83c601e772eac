"""/api/v1/audit-trail: administrators check that the audit trail and the records it covers are unaltered."""

from __future__ import annotations

import logging
from typing import Any

from marshmallow import RAISE

from ..services.audit_checks import verification_summary, verify_snapshot
from .auth import require_roles
from .blueprint import ApiBlueprint
from .schemas.audit_trail import AuditTrailVerificationQuerySchema, AuditTrailVerificationSchema

log = logging.getLogger("qms.audit_trail")

blp = ApiBlueprint(
    "api_audit_trail",
    __name__,
    tag="Audit trail",
    description=(
        "The audit trail is a chain of entries MACed with a key the database does not hold; each entry "
        "carries the digest of the row it changed. Verification proves the chain, that every audited row "
        "still holds what the trail says, and that each record's state is the replay of its history."
    ),
)


@blp.route("/audit-trail/verification", methods=["GET"])
@require_roles({"admin"}, "Only an administrator can verify the audit trail")
@blp.arguments(AuditTrailVerificationQuerySchema, location="query", unknown=RAISE)
@blp.response(200, AuditTrailVerificationSchema)
def verification(args: dict[str, Any]) -> dict[str, Any]:
    """Verify the audit trail now (administrators only); `ok` false names the first entry or record that disagrees

    Reads the whole trail and every audited row: on a large installation this takes a while.
    """
    result = verify_snapshot(True if args["checkpoints"] else None)
    if not result.ok:
        log.warning("Audit trail verification (API) failed: %s", result.problem)
    return verification_summary(result)
