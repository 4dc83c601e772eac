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

#: who fires an event without an account: a supplier answering a SCAR through its link.  The
#: workflow engine knows these roles; no user can hold one.
EXTERNAL_ROLES = frozenset({"supplier"})
