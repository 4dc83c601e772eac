"""SQLAlchemy models; importing this package registers every table."""

from .audit import AuditChainHead, AuditEntry
from .nonconformity import NC_SOURCES, SEVERITY_LABELS, CorrectiveAction, Nonconformity
from .records import Attachment, ProgressNote
from .tokens import ApiToken
from .users import ROLE_LABELS, Actor, User, UserRole
from .workflow import WORKFLOW_MODELS, ReferenceCounter, TransitionHistory, WorkflowRecord

__all__ = [
    "NC_SOURCES",
    "ROLE_LABELS",
    "SEVERITY_LABELS",
    "WORKFLOW_MODELS",
    "Actor",
    "ApiToken",
    "Attachment",
    "AuditChainHead",
    "AuditEntry",
    "CorrectiveAction",
    "Nonconformity",
    "ProgressNote",
    "ReferenceCounter",
    "TransitionHistory",
    "User",
    "UserRole",
    "WorkflowRecord",
]
