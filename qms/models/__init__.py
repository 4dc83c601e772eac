"""SQLAlchemy models; importing this package registers every table."""

from .audit import AuditChainHead, AuditEntry
from .documents import (
    CONFIDENTIALITY,
    DOCUMENT_TYPES,
    IN_FORCE_STATES,
    Acknowledgement,
    DistributionEntry,
    Document,
    DocumentNumbering,
    DocumentRevision,
)
from .nonconformity import NC_SOURCES, SEVERITY_LABELS, CorrectiveAction, Nonconformity
from .records import Attachment, ProgressNote
from .tokens import ApiToken
from .users import ROLE_LABELS, Actor, User, UserRole
from .workflow import WORKFLOW_MODELS, ReferenceCounter, TransitionHistory, WorkflowRecord

__all__ = [
    "CONFIDENTIALITY",
    "DOCUMENT_TYPES",
    "IN_FORCE_STATES",
    "NC_SOURCES",
    "ROLE_LABELS",
    "SEVERITY_LABELS",
    "WORKFLOW_MODELS",
    "Acknowledgement",
    "Actor",
    "ApiToken",
    "Attachment",
    "AuditChainHead",
    "AuditEntry",
    "CorrectiveAction",
    "DistributionEntry",
    "Document",
    "DocumentNumbering",
    "DocumentRevision",
    "Nonconformity",
    "ProgressNote",
    "ReferenceCounter",
    "TransitionHistory",
    "User",
    "UserRole",
    "WorkflowRecord",
]
