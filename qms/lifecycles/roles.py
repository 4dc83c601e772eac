"""The roles of qmsflow users, as the lifecycles require them and the pages name them."""

from __future__ import annotations

ROLE_LABELS = {
    "admin": "Administrator",
    "manager": "Manager",
    "quality_officer": "Quality officer",
    "internal_auditor": "Internal auditor",
    "process_owner": "Process owner",
    "viewer": "Viewer",
}

ROLES = frozenset(ROLE_LABELS)
