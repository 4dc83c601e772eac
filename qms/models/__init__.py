"""SQLAlchemy models; importing this package registers every table."""

from .audit import AuditChainHead, AuditEntry
from .audits import (
    AUDIT_KINDS,
    FINDING_SEVERITY,
    RESULTS,
    RISK_FREQUENCY,
    RISK_LEVELS,
    TEAM_ROLES,
    Audit,
    AuditProgramme,
    AuditTeamMember,
    ChecklistItem,
    ImportedStandard,
    Process,
    ProgrammeEntry,
    Site,
)
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
    "AUDIT_KINDS",
    "CONFIDENTIALITY",
    "DOCUMENT_TYPES",
    "FINDING_SEVERITY",
    "IN_FORCE_STATES",
    "NC_SOURCES",
    "RESULTS",
    "RISK_FREQUENCY",
    "RISK_LEVELS",
    "ROLE_LABELS",
    "SEVERITY_LABELS",
    "TEAM_ROLES",
    "WORKFLOW_MODELS",
    "Acknowledgement",
    "Actor",
    "ApiToken",
    "Attachment",
    "Audit",
    "AuditChainHead",
    "AuditEntry",
    "AuditProgramme",
    "AuditTeamMember",
    "ChecklistItem",
    "CorrectiveAction",
    "DistributionEntry",
    "Document",
    "DocumentNumbering",
    "DocumentRevision",
    "ImportedStandard",
    "Nonconformity",
    "Process",
    "ProgrammeEntry",
    "ProgressNote",
    "ReferenceCounter",
    "Site",
    "TransitionHistory",
    "User",
    "UserRole",
    "WorkflowRecord",
]
