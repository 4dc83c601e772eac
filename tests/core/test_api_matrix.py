"""Every REST API route × every role (and no token): the expected status, like the web's matrix.

A route under /api/v1 missing from the table fails ``test_every_api_route_is_in_the_matrix``, so a
new operation cannot ship without deciding who may use it. Write requests send bodies that are
invalid for the roles allowed to use them, so that an allowed role gets 422 (or 409) and nothing
changes, a refused one 403 and a request without a token 401. Only token revocation succeeds
(204, for its administrator): it has no body to get wrong.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from sqlalchemy import select

from qms.api.blueprint import API_PREFIX, ID
from qms.database import db
from qms.models import (
    ApiToken,
    Attachment,
    Audit,
    AuditProgramme,
    Calibration,
    Certification,
    CertificationBody,
    ChangeImpact,
    ChangeTask,
    ChecklistItem,
    Competence,
    CompetencePrecondition,
    Complaint,
    Equipment,
    ExternalAudit,
    ExternalFinding,
    ImplementationItem,
    ImportedStandard,
    InnovationCommittee,
    IsoChangeItem,
    IsoChangeReview,
    ManagementReview,
    Nonconformity,
    ObjectiveMeasurement,
    OrgChangeReview,
    ReviewAction,
    RuleTrigger,
    Scar,
    Supplier,
    SupplierDelivery,
    SupplierEvaluation,
    Survey,
    SurveyInvitation,
    SurveyQuestion,
    SurveyResponse,
    TrainingNeed,
    TrainingSession,
    User,
)
from qms.services import fire
from qms.services.attachments import attach
from qms.services.audit_trail import recorded_change
from qms.services.audits import add_question, assign_team, create_audit, create_programme
from qms.services.certifications import create_certification, ensure_bodies, record_external_audit
from qms.services.changes import add_task, request_change
from qms.services.competence import create_competence
from qms.services.complaints import log_complaint
from qms.services.documents import add_revision, create_document
from qms.services.equipment import record_calibration, register_equipment
from qms.services.implementation import add_evidence, build_board, clause_item, item_for_process
from qms.services.nonconformities import add_corrective_action
from qms.services.opportunities import propose_opportunity
from qms.services.reviews import (
    add_action,
    add_impact,
    open_iso_change_review,
    open_org_change_review,
    plan_management_review,
)
from qms.services.suppliers import create_supplier, raise_scar, raise_supplier_nc, submit_scar_answer
from qms.services.surveys import create_survey
from qms.services.tokens import create_token
from qms.services.training import plan_training, raise_need
from qms.services.users import check_password

from ..conftest import PASSWORD
from ..documents.test_services import pdf_bytes
from ..helpers import audit_in_state, nc_in_state, new_nc, new_process
from ..objectives.helpers import new_objective
from ..risks.helpers import planning_ids

ROLES = ("anonymous", "admin", "manager", "quality_officer", "internal_auditor", "process_owner", "viewer")
SIGNED_IN = ROLES[1:]
ALL_OK = dict.fromkeys(SIGNED_IN, 200) | {"anonymous": 401}
#: not operations of the API: its description and (outside /api/v1) the interactive docs
NOT_OPERATIONS = {f"{API_PREFIX}/openapi.json"}


def only(ok: int, roles: tuple[str, ...], *, other: int = 403) -> dict[str, int]:
    return {role: (ok if role in roles else other) for role in SIGNED_IN} | {"anonymous": 401}


def rule(path: str) -> str:
    """The url_map rule of ``path``, written with ``<nc_id>`` for ``<int(…):nc_id>``."""
    for key in (
        "nc_id",
        "action_id",
        "attachment_id",
        "user_id",
        "token_id",
        "document_id",
        "revision_id",
        "audit_id",
        "item_id",
        "programme_id",
        "survey_id",
        "question_id",
        "complaint_id",
        "certification_id",
        "external_audit_id",
        "finding_id",
        "review_id",
        "change_id",
        "impact_id",
        "review_action_id",
        "implementation_id",
        "mapping_id",
        "competence_id",
        "requirement_id",
        "session_id",
        "need_id",
        "risk_id",
        "issue_id",
        "party_id",
        "objective_id",
        "opportunity_id",
        "task_id",
        "change_request_id",
        "supplier_id",
        "scar_id",
        "equipment_id",
        "assessment_id",
    ):
        path = path.replace(f"<{key}>", f"<{ID}:{key}>")
    for key in ("event", "identifier", "old", "new", "key"):
        path = path.replace(f"<{key}>", f"<string(maxlength=60):{key}>")
    path = path.replace("<code>", "<string(maxlength=40):code>")
    path = path.replace("<index>", "<int(min=0, max=99):index>")
    return API_PREFIX + path


RAISERS = ("admin", "manager", "quality_officer", "internal_auditor", "process_owner")
UPLOADERS = RAISERS  # everyone but a viewer attaches evidence
PLANNERS = ("manager", "quality_officer", "process_owner")
TRIAGERS = ("manager", "quality_officer")
IMPLEMENTERS = ("manager", "quality_officer", "process_owner")  # the process owner owns the action
NOTE_TAKERS = ("manager", "quality_officer", "process_owner")
ADMIN = ("admin",)
YESTERDAY = (dt.date.today() - dt.timedelta(days=1)).isoformat()
TOMORROW = (dt.date.today() + dt.timedelta(days=1)).isoformat()
#: a file no evidence may be (an executable), to upload without storing anything
REFUSED_FILE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(range(256))
UPLOAD = "multipart"  # the body marker of an upload of REFUSED_FILE

AUTHORS = ("manager", "quality_officer", "process_owner")
AUDIT_PLANNERS = ("manager", "quality_officer")
CHECKLIST_EDITORS = ("quality_officer", "internal_auditor")  # the lead auditor is the internal auditor
STANDARD_IMPORTERS = ("admin", "manager", "quality_officer")
SURVEY_MANAGERS = ("manager", "quality_officer")
RESPONDERS = RAISERS  # everyone but a viewer submits a response collected elsewhere
COMPLAINT_LOGGERS = ("admin", "manager", "quality_officer", "process_owner")
COMPLAINT_HANDLERS = ("manager", "quality_officer")
COMPETENCE_VIEWERS = ("admin", "manager", "quality_officer", "internal_auditor")
COMPETENCE_MANAGERS = ("admin", "manager", "quality_officer")
CERTIFICATION_MANAGERS = ("manager", "quality_officer")
REVIEWERS = ("manager", "quality_officer")
CHANGE_PROPOSERS = ("manager", "quality_officer", "process_owner")
ACTION_OWNERS = ("manager", "quality_officer", "process_owner")  # the process owner owns the action
RISK_KEEPERS = ("manager", "quality_officer", "process_owner")  # the process owner owns the risk
CONTEXT_KEEPERS = ("manager", "quality_officer")
SUPPLIER_MANAGERS = ("admin", "manager", "quality_officer")
BOARD_BUILDERS = ("manager", "quality_officer")
EVIDENCE_EDITORS = ("manager", "quality_officer", "process_owner")  # the process owner owns the process item
CERT = "/certifications/<certification_id>"
EXTERNAL = CERT + "/external-audits/<external_audit_id>"
ISO = "/reviews/iso-change/<review_id>"
ORG = "/reviews/org-change/<review_id>"
MR = "/reviews/management/<review_id>"
ITEM = "/implementation/<implementation_id>"
#: an action body the schema refuses (a bad owner id): 422 for who may add actions, before any state check
BAD_ACTION = {"title": "Act", "owner_id": 0, "due_date": TOMORROW}

# (method, rule, url template, JSON body (or UPLOAD), expected status per role)
MATRIX: list[tuple[str, str, str, Any, dict[str, int]]] = [
    ("GET", rule("/documents"), "/documents", None, ALL_OK),
    ("POST", rule("/documents"), "/documents", {"title": " ", "doc_type": "memo"}, only(422, AUTHORS)),
    ("GET", rule("/documents/<document_id>"), "/documents/{document}", None, ALL_OK),
    ("GET", rule("/documents/<document_id>/revisions"), "/documents/{document}/revisions", None, ALL_OK),
    ("POST", rule("/documents/<document_id>/revisions"), "/documents/{document}/revisions", UPLOAD, only(422, AUTHORS)),
    ("GET", rule("/revisions/<revision_id>"), "/revisions/{revision}", None, ALL_OK),
    ("GET", rule("/revisions/<revision_id>/history"), "/revisions/{revision}/history", None, ALL_OK),
    ("GET", rule("/revisions/<revision_id>/events"), "/revisions/{revision}/events", None, ALL_OK),
    ("GET", rule("/revisions/<revision_id>/file"), "/revisions/{revision}/file", None, ALL_OK),
    (
        "POST",
        rule("/revisions/<revision_id>/events/<event>"),
        "/revisions/{revision}/events/approve",
        {},
        only(409, ("manager", "quality_officer")),  # a draft cannot be approved yet
    ),
    (
        "POST",
        rule("/revisions/<revision_id>/acknowledge"),
        "/revisions/{revision}/acknowledge",
        {},
        only(409, SIGNED_IN),
    ),
    ("GET", rule("/acknowledgements"), "/acknowledgements", None, ALL_OK),
    ("GET", rule("/nonconformities"), "/nonconformities", None, ALL_OK),
    (
        "POST",
        rule("/nonconformities"),
        "/nonconformities",
        {"title": "T", "description": "D", "source": "supplier", "detected_on": TOMORROW},
        only(422, RAISERS),
    ),
    ("GET", rule("/nonconformities/<nc_id>"), "/nonconformities/{nc}", None, ALL_OK),
    ("GET", rule("/nonconformities/<nc_id>/history"), "/nonconformities/{nc}/history", None, ALL_OK),
    ("GET", rule("/nonconformities/<nc_id>/events"), "/nonconformities/{nc}/events", None, ALL_OK),
    (
        "POST",
        rule("/nonconformities/<nc_id>/events/<event>"),
        "/nonconformities/{nc}/events/triage",
        {"data": {"severity": "not-a-severity"}},
        only(422, TRIAGERS),
    ),
    ("GET", rule("/nonconformities/<nc_id>/attachments"), "/nonconformities/{nc}/attachments", None, ALL_OK),
    (
        "POST",
        rule("/nonconformities/<nc_id>/attachments"),
        "/nonconformities/{nc}/attachments",
        UPLOAD,
        only(422, UPLOADERS),
    ),
    ("GET", rule("/corrective-actions"), "/corrective-actions", None, ALL_OK),
    (
        "GET",
        rule("/nonconformities/<nc_id>/corrective-actions"),
        "/nonconformities/{planning_nc}/corrective-actions",
        None,
        ALL_OK,
    ),
    (
        "POST",
        rule("/nonconformities/<nc_id>/corrective-actions"),
        "/nonconformities/{planning_nc}/corrective-actions",
        {"title": "Fix", "owner_id": 999_999, "due_date": YESTERDAY},
        only(422, PLANNERS),
    ),
    ("GET", rule("/corrective-actions/<action_id>"), "/corrective-actions/{action}", None, ALL_OK),
    ("GET", rule("/corrective-actions/<action_id>/history"), "/corrective-actions/{action}/history", None, ALL_OK),
    ("GET", rule("/corrective-actions/<action_id>/events"), "/corrective-actions/{action}/events", None, ALL_OK),
    (
        "POST",
        rule("/corrective-actions/<action_id>/events/<event>"),
        "/corrective-actions/{action}/events/implement",
        {"data": {"implementation": "done"}},
        only(409, IMPLEMENTERS),  # permitted roles: not possible while planned
    ),
    (
        "POST",
        rule("/corrective-actions/<action_id>/notes"),
        "/corrective-actions/{action}/notes",
        {"text": "   "},
        only(422, NOTE_TAKERS),
    ),
    (
        "GET",
        rule("/corrective-actions/<action_id>/attachments"),
        "/corrective-actions/{action}/attachments",
        None,
        ALL_OK,
    ),
    (
        "POST",
        rule("/corrective-actions/<action_id>/attachments"),
        "/corrective-actions/{action}/attachments",
        UPLOAD,
        only(422, UPLOADERS),
    ),
    ("GET", rule("/attachments/<attachment_id>/content"), "/attachments/{attachment}/content", None, ALL_OK),
    ("GET", rule("/users"), "/users", None, ALL_OK),
    ("POST", rule("/users"), "/users", {}, only(422, ADMIN)),
    ("GET", rule("/users/<user_id>"), "/users/{user}", None, ALL_OK),
    ("PATCH", rule("/users/<user_id>"), "/users/{user}", {"roles": []}, only(422, ADMIN)),
    ("POST", rule("/users/<user_id>/password"), "/users/{user}/password", {"password": "short"}, only(422, ADMIN)),
    ("GET", rule("/tokens"), "/tokens", None, ALL_OK),
    ("POST", rule("/tokens"), "/tokens", {"name": "  "}, only(403, ())),
    ("DELETE", rule("/tokens/<token_id>"), "/tokens/{token}", None, only(204, ADMIN)),
    # one's own second factor: every signed-in person, always their own account (no password: 422)
    ("GET", rule("/account/mfa"), "/account/mfa", None, ALL_OK),
    ("POST", rule("/account/mfa/start"), "/account/mfa/start", {}, only(422, SIGNED_IN)),
    ("POST", rule("/account/mfa/confirm"), "/account/mfa/confirm", {"code": ""}, only(422, SIGNED_IN)),
    ("POST", rule("/account/mfa/disable"), "/account/mfa/disable", {"code": "1"}, only(422, SIGNED_IN)),
    ("GET", rule("/standards"), "/standards", None, ALL_OK),
    (
        "POST",
        rule("/standards"),
        "/standards",
        {"format": "yaml", "content": "clauses: [unclosed"},
        only(422, STANDARD_IMPORTERS),
    ),
    ("GET", rule("/standards/<identifier>"), "/standards/iso-9001-2015", None, ALL_OK),
    ("GET", rule("/standards/<old>/diff/<new>"), "/standards/iso-9001-2008/diff/iso-9001-2015", None, ALL_OK),
    ("GET", rule("/audit-programmes"), "/audit-programmes", None, ALL_OK),
    ("POST", rule("/audit-programmes"), "/audit-programmes", {"year": 1999, "title": " "}, only(422, AUDIT_PLANNERS)),
    ("GET", rule("/audit-programmes/<programme_id>"), "/audit-programmes/{programme}", None, ALL_OK),
    (
        "POST",
        rule("/audit-programmes/<programme_id>/generate"),
        "/audit-programmes/{programme}/generate",
        None,
        only(200, AUDIT_PLANNERS),  # a programme without entries: nothing to create
    ),
    ("GET", rule("/audits"), "/audits", None, ALL_OK),
    ("POST", rule("/audits"), "/audits", {"title": "  "}, only(422, AUDIT_PLANNERS)),
    ("GET", rule("/audits/coverage"), "/audits/coverage?year=2026", None, ALL_OK),
    ("GET", rule("/audits/<audit_id>"), "/audits/{audit}", None, ALL_OK),
    ("GET", rule("/audits/<audit_id>/history"), "/audits/{audit}/history", None, ALL_OK),
    ("GET", rule("/audits/<audit_id>/events"), "/audits/{audit}/events", None, ALL_OK),
    (
        "POST",
        rule("/audits/<audit_id>/events/<event>"),
        "/audits/{audit}/events/start",
        {},
        only(409, CHECKLIST_EDITORS),  # permitted roles: not possible while planned
    ),
    (
        "PUT",
        rule("/audits/<audit_id>/team"),
        "/audits/{audit}/team",
        {"lead_auditor_id": 999_999},
        only(422, AUDIT_PLANNERS),
    ),
    ("GET", rule("/audits/<audit_id>/checklist"), "/audits/{audit}/checklist", None, ALL_OK),
    (
        "POST",
        rule("/audits/<audit_id>/checklist"),
        "/audits/{audit}/checklist",
        {"question": " "},
        only(422, CHECKLIST_EDITORS),
    ),
    (
        "POST",
        rule("/audits/<audit_id>/checklist/generate"),
        "/audits/{running}/checklist/generate",
        {},
        only(409, CHECKLIST_EDITORS),  # the checklist is fixed once the audit has started
    ),
    (
        "PATCH",
        rule("/audits/<audit_id>/checklist/<item_id>"),
        "/audits/{running}/checklist/{running_item}",
        {"question": "Changed?"},
        only(409, CHECKLIST_EDITORS),
    ),
    (
        "DELETE",
        rule("/audits/<audit_id>/checklist/<item_id>"),
        "/audits/{running}/checklist/{running_item}",
        None,
        only(409, CHECKLIST_EDITORS),
    ),
    (
        "PUT",
        rule("/audits/<audit_id>/checklist/<item_id>/answer"),
        "/audits/{running}/checklist/{running_item}/answer",
        {"result": "major", "notes": " "},  # a finding needs its evidence
        only(422, ("internal_auditor",)),  # only the audit's auditors answer
    ),
    ("GET", rule("/surveys"), "/surveys", None, ALL_OK),
    ("POST", rule("/surveys"), "/surveys", {"title": " "}, only(422, SURVEY_MANAGERS)),
    ("GET", rule("/surveys/<survey_id>"), "/surveys/{survey}", None, ALL_OK),
    ("PATCH", rule("/surveys/<survey_id>"), "/surveys/{survey}", {"title": " "}, only(422, SURVEY_MANAGERS)),
    ("GET", rule("/surveys/<survey_id>/history"), "/surveys/{survey}/history", None, ALL_OK),
    ("GET", rule("/surveys/<survey_id>/events"), "/surveys/{survey}/events", None, ALL_OK),
    (
        "POST",
        rule("/surveys/<survey_id>/events/<event>"),
        "/surveys/{survey}/events/close",
        {},
        only(409, SURVEY_MANAGERS),  # a draft is not collecting responses
    ),
    (
        "POST",
        rule("/surveys/<survey_id>/questions"),
        "/surveys/{survey}/questions",
        {"kind": "slider", "text": "Q?"},
        only(422, SURVEY_MANAGERS),
    ),
    (
        "PATCH",
        rule("/surveys/<survey_id>/questions/<question_id>"),
        "/surveys/{survey}/questions/{question}",
        {"weight": -1},
        only(422, SURVEY_MANAGERS),
    ),
    (
        "DELETE",
        rule("/surveys/<survey_id>/questions/<question_id>"),
        "/surveys/{open_survey}/questions/{open_question}",
        None,
        only(409, SURVEY_MANAGERS),  # questions are fixed once the survey is open
    ),
    (
        "POST",
        rule("/surveys/<survey_id>/responses"),
        "/surveys/{open_survey}/responses",
        {"answers": {"q999999": 1}},
        only(422, RESPONDERS),
    ),
    (
        "POST",
        rule("/surveys/<survey_id>/responses/import"),
        "/surveys/{open_survey}/responses/import",
        UPLOAD,
        only(422, SURVEY_MANAGERS),  # not a UTF-8 text file
    ),
    ("GET", rule("/surveys/<survey_id>/measures"), "/surveys/{open_survey}/measures?by=channel", None, ALL_OK),
    (
        "POST",
        rule("/surveys/<survey_id>/invitations"),
        "/surveys/{open_survey}/invitations",
        {"labels": []},
        only(422, SURVEY_MANAGERS),
    ),
    (
        "POST",
        rule("/surveys/<survey_id>/rules/apply"),
        "/surveys/{open_survey}/rules/apply",
        None,
        only(200, SURVEY_MANAGERS),  # no rule set: nothing raised
    ),
    ("GET", rule("/surveys/<survey_id>/report.pdf"), "/surveys/{open_survey}/report.pdf", None, ALL_OK),
    ("GET", rule("/complaints"), "/complaints", None, ALL_OK),
    (
        "POST",
        rule("/complaints"),
        "/complaints",
        {"channel": "pigeon", "summary": "S", "description": "D"},
        only(422, COMPLAINT_LOGGERS),
    ),
    ("GET", rule("/complaints/platforms"), "/complaints/platforms", None, ALL_OK),
    ("GET", rule("/complaints/platforms.pdf"), "/complaints/platforms.pdf", None, ALL_OK),
    ("GET", rule("/complaints/<complaint_id>"), "/complaints/{complaint}", None, ALL_OK),
    ("GET", rule("/complaints/<complaint_id>/history"), "/complaints/{complaint}/history", None, ALL_OK),
    ("GET", rule("/complaints/<complaint_id>/events"), "/complaints/{complaint}/events", None, ALL_OK),
    (
        "POST",
        rule("/complaints/<complaint_id>/events/<event>"),
        "/complaints/{complaint}/events/close",
        {},
        only(409, COMPLAINT_HANDLERS),  # a complaint just received cannot be closed
    ),
    ("GET", rule("/certification-bodies"), "/certification-bodies", None, ALL_OK),
    ("GET", rule("/certification-bodies/<code>"), "/certification-bodies/kebs", None, ALL_OK),
    (
        "PATCH",
        rule("/certification-bodies/<code>"),
        "/certification-bodies/kebs",
        {"programme": {"findings_response_days": 0}},
        only(422, ADMIN),
    ),
    ("GET", rule("/certifications"), "/certifications", None, ALL_OK),
    (
        "POST",
        rule("/certifications"),
        "/certifications",
        {"body_id": 999_999, "scope": "Steel doors"},
        only(422, CERTIFICATION_MANAGERS),
    ),
    ("GET", rule("/certifications/reminders"), "/certifications/reminders", None, ALL_OK),
    ("GET", rule("/readiness"), "/readiness", None, ALL_OK),
    ("GET", rule(CERT), "/certifications/{certification}", None, ALL_OK),
    ("GET", rule(f"{CERT}/history"), "/certifications/{certification}/history", None, ALL_OK),
    ("GET", rule(f"{CERT}/events"), "/certifications/{certification}/events", None, ALL_OK),
    (
        "POST",
        rule(f"{CERT}/events/<event>"),
        "/certifications/{certification}/events/submit_response",
        {},
        only(409, CERTIFICATION_MANAGERS),  # an application has no findings to answer
    ),
    ("GET", rule(f"{CERT}/timeline"), "/certifications/{certification}/timeline", None, ALL_OK),
    ("GET", rule(f"{CERT}/readiness"), "/certifications/{certification}/readiness", None, ALL_OK),
    ("GET", rule(f"{CERT}/pack.pdf"), "/certifications/{certification}/pack.pdf", None, ALL_OK),
    ("GET", rule(f"{CERT}/external-audits"), "/certifications/{certification}/external-audits", None, ALL_OK),
    (
        "POST",
        rule(f"{CERT}/external-audits"),
        "/certifications/{certification}/external-audits",
        {"kind": "picnic", "start_date": YESTERDAY},
        only(422, CERTIFICATION_MANAGERS),
    ),
    (
        "POST",
        rule(f"{EXTERNAL}/groups"),
        "/certifications/{certification}/external-audits/{external_audit}/groups",
        {"finding_ids": [1], "label": "G1"},
        only(422, CERTIFICATION_MANAGERS),
    ),
    (
        "POST",
        rule(f"{EXTERNAL}/findings/<finding_id>/regrade"),
        "/certifications/{certification}/external-audits/{external_audit}/findings/{finding}/regrade",
        {"grade": "catastrophic", "reason": "Re-graded"},
        only(422, CERTIFICATION_MANAGERS),
    ),
    ("GET", rule("/reviews"), "/reviews", None, ALL_OK),
    (
        "POST",
        rule("/reviews/iso-change"),
        "/reviews/iso-change",
        {"old_standard": "iso-9001-2015", "new_standard": "iso-9001-2015"},
        only(422, REVIEWERS),
    ),
    (
        "POST",
        rule("/reviews/org-change"),
        "/reviews/org-change",
        {"title": " ", "change_kind": "process", "description": "A new line"},
        only(422, CHANGE_PROPOSERS),
    ),
    (
        "POST",
        rule("/reviews/management"),
        "/reviews/management",
        {"title": " ", "planned_for": TOMORROW, "period_start": YESTERDAY, "period_end": YESTERDAY},
        only(422, REVIEWERS),
    ),
    ("GET", rule(ISO), "/reviews/iso-change/{iso_review}", None, ALL_OK),
    ("GET", rule(f"{ISO}/history"), "/reviews/iso-change/{iso_review}/history", None, ALL_OK),
    ("GET", rule(f"{ISO}/events"), "/reviews/iso-change/{iso_review}/events", None, ALL_OK),
    (
        "POST",
        rule(f"{ISO}/events/<event>"),
        "/reviews/iso-change/{iso_review}/events/complete_implementation",
        {},
        only(409, REVIEWERS),  # the gap analysis is still going on
    ),
    ("POST", rule(f"{ISO}/actions"), "/reviews/iso-change/{iso_review}/actions", BAD_ACTION, only(422, REVIEWERS)),
    (
        "PATCH",
        rule(f"{ISO}/items/<change_id>"),
        "/reviews/iso-change/{iso_review}/items/{change}",
        {"status": "not_assessed"},
        only(422, REVIEWERS),
    ),
    (
        "PUT",
        rule(f"{ISO}/verification"),
        "/reviews/iso-change/{iso_review}/verification",
        {"audit_id": 999_999},
        only(409, REVIEWERS),  # verification audits are linked once the transition is implemented
    ),
    ("GET", rule(ORG), "/reviews/org-change/{org_review}", None, ALL_OK),
    ("GET", rule(f"{ORG}/history"), "/reviews/org-change/{org_review}/history", None, ALL_OK),
    ("GET", rule(f"{ORG}/events"), "/reviews/org-change/{org_review}/events", None, ALL_OK),
    (
        "POST",
        rule(f"{ORG}/events/<event>"),
        "/reviews/org-change/{org_review}/events/start_assessment",
        {},
        only(409, REVIEWERS),  # the change was rejected
    ),
    ("POST", rule(f"{ORG}/actions"), "/reviews/org-change/{org_review}/actions", BAD_ACTION, only(422, REVIEWERS)),
    (
        "POST",
        rule(f"{ORG}/impacts"),
        "/reviews/org-change/{org_review}/impacts",
        {"area": "weather", "subject": "Rain"},
        only(422, CHANGE_PROPOSERS),
    ),
    (
        "DELETE",
        rule(f"{ORG}/impacts/<impact_id>"),
        "/reviews/org-change/{org_review}/impacts/{impact}",
        None,
        only(409, CHANGE_PROPOSERS),  # the change was rejected: its impacts are fixed
    ),
    ("GET", rule(f"{ORG}/suggested-impacts"), "/reviews/org-change/{org_review}/suggested-impacts", None, ALL_OK),
    ("GET", rule(MR), "/reviews/management/{management_review}", None, ALL_OK),
    ("GET", rule(f"{MR}/history"), "/reviews/management/{management_review}/history", None, ALL_OK),
    ("GET", rule(f"{MR}/events"), "/reviews/management/{management_review}/events", None, ALL_OK),
    (
        "POST",
        rule(f"{MR}/events/<event>"),
        "/reviews/management/{management_review}/events/mark_ready",
        {},
        only(409, REVIEWERS),  # the review was cancelled
    ),
    (
        "POST",
        rule(f"{MR}/actions"),
        "/reviews/management/{management_review}/actions",
        BAD_ACTION,
        only(422, REVIEWERS),
    ),
    (
        "POST",
        rule(f"{MR}/inputs/compile"),
        "/reviews/management/{management_review}/inputs/compile",
        None,
        only(409, REVIEWERS),  # the review was cancelled
    ),
    (
        "PUT",
        rule(f"{MR}/inputs/<key>"),
        "/reviews/management/{management_review}/inputs/resources",
        {"notes": "One metrologist short"},
        only(409, REVIEWERS),
    ),
    ("GET", rule(f"{MR}/minutes.pdf"), "/reviews/management/{management_review}/minutes.pdf", None, ALL_OK),
    (
        "POST",
        rule("/review-actions/<review_action_id>/complete"),
        "/review-actions/{review_action}/complete",
        {"outcome": " "},
        only(422, ACTION_OWNERS),
    ),
    (
        "POST",
        rule("/review-actions/<review_action_id>/cancel"),
        "/review-actions/{review_action}/cancel",
        {"reason": " "},
        only(422, REVIEWERS),
    ),
    ("GET", rule("/implementation"), "/implementation", None, ALL_OK),
    ("POST", rule("/implementation/build"), "/implementation/build", {"depth": 9}, only(422, BOARD_BUILDERS)),
    ("GET", rule(ITEM), "/implementation/{clause_item}", None, ALL_OK),
    ("GET", rule(f"{ITEM}/history"), "/implementation/{clause_item}/history", None, ALL_OK),
    ("GET", rule(f"{ITEM}/events"), "/implementation/{clause_item}/events", None, ALL_OK),
    (
        "POST",
        rule(f"{ITEM}/events/<event>"),
        "/implementation/{clause_item}/events/monitor",
        {"data": {"monitoring": "Monthly"}},
        only(409, EVIDENCE_EDITORS),  # a planned item is not implemented yet
    ),
    (
        "POST",
        rule(f"{ITEM}/evidence"),
        "/implementation/{clause_item}/evidence",
        {"kind": "photo", "ref": "1"},
        only(422, EVIDENCE_EDITORS),
    ),
    (
        "DELETE",
        rule(f"{ITEM}/evidence/<index>"),
        "/implementation/{retired_item}/evidence/0",
        None,
        only(409, EVIDENCE_EDITORS),  # a retired item's evidence is fixed
    ),
    # ISO 9001:2026: mapping sets, edition dates, the transition (issue 18)
    ("GET", rule("/standards/mappings"), "/standards/mappings", None, ALL_OK),
    (
        "POST",
        rule("/standards/mappings"),
        "/standards/mappings",
        {"format": "csv", "content": "source,target,relationship\n4.1,4.1,equal\n"},
        only(422, STANDARD_IMPORTERS),  # CSV without the two standards
    ),
    (
        "DELETE",
        rule("/standards/mappings/<mapping_id>"),
        "/standards/mappings/999999",
        None,
        only(404, STANDARD_IMPORTERS),
    ),
    ("GET", rule("/standards/<identifier>/edition"), "/standards/iso-9001-2026/edition", None, ALL_OK),
    (
        "PATCH",
        rule("/standards/<identifier>/edition"),
        "/standards/iso-9001-2026/edition",
        {"warn_months": 0},
        only(422, ADMIN),
    ),
    (
        "POST",
        rule(f"{ISO}/transition-audit"),
        "/reviews/iso-change/{iso_review}/transition-audit",
        {"planned_start": TOMORROW},
        only(409, REVIEWERS),  # not before the gap assessment is signed
    ),
    ("GET", rule(f"{ISO}/transition-plan.pdf"), "/reviews/iso-change/{iso_review}/transition-plan.pdf", None, ALL_OK),
    (
        "PUT",
        rule(f"{CERT}/transition-audit"),
        "/certifications/{certification}/transition-audit",
        {"planned_on": None},
        only(409, CERTIFICATION_MANAGERS),  # the certificate is not in force yet
    ),
    (
        "POST",
        rule(f"{CERT}/edition"),
        "/certifications/{certification}/edition",
        {"decided_on": YESTERDAY},
        only(409, CERTIFICATION_MANAGERS),
    ),
    # competence and training
    ("GET", rule("/competences"), "/competences", None, ALL_OK),
    ("POST", rule("/competences"), "/competences", {"name": ""}, only(422, COMPETENCE_MANAGERS)),
    ("GET", rule("/competences/<competence_id>"), "/competences/{competence}", None, ALL_OK),
    (
        "PATCH",
        rule("/competences/<competence_id>"),
        "/competences/{competence}",
        {"name": ""},
        only(422, COMPETENCE_MANAGERS),
    ),
    (
        "POST",
        rule("/competences/<competence_id>/requirements"),
        "/competences/{competence}/requirements",
        {"scope": "nowhere", "level": "aware"},
        only(422, COMPETENCE_MANAGERS),
    ),
    (
        "DELETE",
        rule("/competence-requirements/<requirement_id>"),
        "/competence-requirements/999999",
        None,
        only(404, COMPETENCE_MANAGERS),
    ),
    ("GET", rule("/job-roles"), "/job-roles", None, ALL_OK),
    ("POST", rule("/job-roles"), "/job-roles", {"name": ""}, only(422, COMPETENCE_MANAGERS)),
    ("GET", rule("/competence-matrix"), "/competence-matrix", None, only(200, COMPETENCE_VIEWERS)),
    ("GET", rule("/competence-matrix.pdf"), "/competence-matrix.pdf", None, only(200, COMPETENCE_VIEWERS)),
    ("GET", rule("/competence-matrix.xlsx"), "/competence-matrix.xlsx", None, only(200, COMPETENCE_VIEWERS)),
    (
        "GET",
        rule("/people/<user_id>/competence"),
        "/people/{user}/competence",
        None,
        only(200, (*COMPETENCE_VIEWERS, "viewer")),  # the viewer's own
    ),
    (
        "PUT",
        rule("/people/<user_id>/profile"),
        "/people/{user}/profile",
        {"job_role_id": 0},
        only(422, COMPETENCE_MANAGERS),
    ),
    (
        "POST",
        rule("/people/<user_id>/competence-records"),
        "/people/{user}/competence-records",
        {},
        only(422, COMPETENCE_MANAGERS),
    ),
    (
        "GET",
        rule("/people/<user_id>/training-record.pdf"),
        "/people/{user}/training-record.pdf",
        None,
        only(200, (*COMPETENCE_VIEWERS, "viewer")),
    ),
    ("GET", rule("/competence-preconditions"), "/competence-preconditions", None, ALL_OK),
    (
        "POST",
        rule("/competence-preconditions"),
        "/competence-preconditions",
        {"assignment": "nothing"},
        only(422, ADMIN),
    ),
    (
        "GET",
        rule("/competence-preconditions/check"),
        "/competence-preconditions/check?assignment=audit_lead&user_id={user}",
        None,
        only(200, (*COMPETENCE_VIEWERS, "viewer")),
    ),
    ("GET", rule("/training-sessions"), "/training-sessions", None, ALL_OK),
    ("POST", rule("/training-sessions"), "/training-sessions", {}, only(422, COMPETENCE_MANAGERS)),
    ("GET", rule("/training-sessions/<session_id>"), "/training-sessions/{training}", None, ALL_OK),
    ("GET", rule("/training-sessions/<session_id>/history"), "/training-sessions/{training}/history", None, ALL_OK),
    ("GET", rule("/training-sessions/<session_id>/events"), "/training-sessions/{training}/events", None, ALL_OK),
    (
        "POST",
        rule("/training-sessions/<session_id>/events/<event>"),
        "/training-sessions/{training}/events/hold",
        {},
        only(422, ("manager", "quality_officer")),  # the day it was held is missing
    ),
    (
        "POST",
        rule("/training-sessions/<session_id>/invitees"),
        "/training-sessions/{training}/invitees",
        {},
        only(422, COMPETENCE_MANAGERS),
    ),
    (
        "PUT",
        rule("/training-sessions/<session_id>/attendance"),
        "/training-sessions/{training}/attendance",
        {},
        only(422, COMPETENCE_MANAGERS),
    ),
    (
        "POST",
        rule("/training-sessions/<session_id>/evaluations"),
        "/training-sessions/{training}/evaluations",
        {},
        only(422, COMPETENCE_MANAGERS),
    ),
    (
        "GET",
        rule("/training-sessions/<session_id>/attachments"),
        "/training-sessions/{training}/attachments",
        None,
        ALL_OK,
    ),
    (
        "POST",
        rule("/training-sessions/<session_id>/attachments"),
        "/training-sessions/{training}/attachments",
        UPLOAD,
        only(422, UPLOADERS),
    ),
    ("GET", rule("/training-needs"), "/training-needs", None, ALL_OK),
    ("POST", rule("/training-needs"), "/training-needs", {}, only(422, COMPETENCE_MANAGERS)),
    (
        "POST",
        rule("/training-needs/from-gaps"),
        "/training-needs/from-gaps",
        None,
        only(201, COMPETENCE_MANAGERS),  # no requirement, no gap: nothing raised
    ),
    (
        "POST",
        rule("/training-needs/<need_id>/cancel"),
        "/training-needs/{need}/cancel",
        {},
        only(422, COMPETENCE_MANAGERS),
    ),
    ("GET", rule("/security/policy"), "/security/policy", None, only(200, ADMIN)),
    ("PUT", rule("/security/policy"), "/security/policy", {"signing_lock_minutes": 0}, only(422, ADMIN)),
    ("GET", rule("/security/failures"), "/security/failures", None, only(200, ADMIN)),
    ("POST", rule("/users/<user_id>/unlock-signing"), "/users/{user}/unlock-signing", None, only(200, ADMIN)),
    ("POST", rule("/users/<user_id>/mfa/reset"), "/users/{user}/mfa/reset", None, only(200, ADMIN)),
    ("GET", rule("/audit-trail/verification"), "/audit-trail/verification", None, only(200, ADMIN)),
    # the risk register and the context of the organisation (ISO 9001 4.1, 4.2, 6.1)
    ("GET", rule("/risks"), "/risks", None, ALL_OK),
    ("POST", rule("/risks"), "/risks", {}, only(422, RISK_KEEPERS)),
    ("GET", rule("/risks/heat-map"), "/risks/heat-map", None, ALL_OK),
    ("GET", rule("/risks/<risk_id>"), "/risks/{risk}", None, ALL_OK),
    ("PATCH", rule("/risks/<risk_id>"), "/risks/{risk}", {"title": ""}, only(422, RISK_KEEPERS)),
    ("GET", rule("/risks/<risk_id>/history"), "/risks/{risk}/history", None, ALL_OK),
    ("GET", rule("/risks/<risk_id>/events"), "/risks/{risk}/events", None, ALL_OK),
    ("POST", rule("/risks/<risk_id>/events/<event>"), "/risks/{risk}/events/close", {}, only(409, CONTEXT_KEEPERS)),
    ("GET", rule("/risks/<risk_id>/treatment-actions"), "/risks/{risk}/treatment-actions", None, ALL_OK),
    (
        "POST",
        rule("/risks/<risk_id>/treatment-actions"),
        "/risks/{planned_risk}/treatment-actions",
        {"title": "Service", "owner_id": 1, "due_date": YESTERDAY},
        only(422, RISK_KEEPERS),
    ),
    ("GET", rule("/nonconformities/<nc_id>/realised-risks"), "/nonconformities/{nc}/realised-risks", None, ALL_OK),
    (
        "POST",
        rule("/nonconformities/<nc_id>/realised-risks"),
        "/nonconformities/{nc}/realised-risks",
        {"risk_id": 2147483647},
        only(422, (*RISK_KEEPERS, "internal_auditor")),
    ),
    # the planning gaps: the register's spreadsheets, findings, survey trends and changes citing risks
    ("GET", rule("/risks/export.csv"), "/risks/export.csv", None, ALL_OK),
    ("GET", rule("/risks/export.xlsx"), "/risks/export.xlsx", None, ALL_OK),
    (
        "GET",
        rule("/checklist-items/<item_id>/realised-risks"),
        "/checklist-items/{running_item}/realised-risks",
        None,
        ALL_OK,
    ),
    (
        "POST",
        rule("/checklist-items/<item_id>/realised-risks"),
        "/checklist-items/{running_item}/realised-risks",
        {"risk_id": 2147483647},
        only(422, (*RISK_KEEPERS, "internal_auditor")),
    ),
    ("GET", rule("/surveys/<survey_id>/trends"), "/surveys/{open_survey}/trends", None, ALL_OK),
    (
        "GET",
        rule("/change-requests/<change_request_id>/risks"),
        "/change-requests/{change_request}/risks",
        None,
        ALL_OK,
    ),
    (
        "POST",
        rule("/change-requests/<change_request_id>/risks"),
        "/change-requests/{change_request}/risks",
        {"risk_id": 2147483647},
        only(422, PLANNERS),
    ),
    (
        "POST",
        rule("/change-requests/<change_request_id>/risks/new"),
        "/change-requests/{change_request}/risks/new",
        {"title": "", "cause": "c", "effect": "e"},
        only(422, PLANNERS),
    ),
    (
        "DELETE",
        rule("/change-requests/<change_request_id>/risks/<risk_id>"),
        "/change-requests/{change_request}/risks/2147483647",
        None,
        only(404, PLANNERS),
    ),
    ("GET", rule("/risk-treatment-actions"), "/risk-treatment-actions", None, ALL_OK),
    ("GET", rule("/risk-treatment-actions/<action_id>"), "/risk-treatment-actions/{risk_action}", None, ALL_OK),
    (
        "GET",
        rule("/risk-treatment-actions/<action_id>/history"),
        "/risk-treatment-actions/{risk_action}/history",
        None,
        ALL_OK,
    ),
    (
        "GET",
        rule("/risk-treatment-actions/<action_id>/events"),
        "/risk-treatment-actions/{risk_action}/events",
        None,
        ALL_OK,
    ),
    (
        "POST",
        rule("/risk-treatment-actions/<action_id>/events/<event>"),
        "/risk-treatment-actions/{risk_action}/events/verify",
        {},
        only(409, ("manager", "quality_officer", "internal_auditor")),  # a planned action is not implemented
    ),
    ("GET", rule("/context/issues"), "/context/issues", None, ALL_OK),
    ("POST", rule("/context/issues"), "/context/issues", {}, only(422, CONTEXT_KEEPERS)),
    ("GET", rule("/context/issues/<issue_id>"), "/context/issues/{issue}", None, ALL_OK),
    ("PATCH", rule("/context/issues/<issue_id>"), "/context/issues/{issue}", {"title": ""}, only(422, RISK_KEEPERS)),
    ("GET", rule("/context/parties"), "/context/parties", None, ALL_OK),
    ("POST", rule("/context/parties"), "/context/parties", {}, only(422, CONTEXT_KEEPERS)),
    ("GET", rule("/context/parties/<party_id>"), "/context/parties/{party}", None, ALL_OK),
    ("PATCH", rule("/context/parties/<party_id>"), "/context/parties/{party}", {"name": ""}, only(422, RISK_KEEPERS)),
    ("GET", rule("/context/summary.pdf"), "/context/summary.pdf", None, ALL_OK),
    ("GET", rule("/context/reviews"), "/context/reviews", None, ALL_OK),
    ("POST", rule("/context/reviews"), "/context/reviews", {}, only(422, CONTEXT_KEEPERS)),
    ("GET", rule("/context/reviews/<review_id>"), "/context/reviews/{context_review}", None, ALL_OK),
    ("GET", rule("/context/reviews/<review_id>/history"), "/context/reviews/{context_review}/history", None, ALL_OK),
    ("GET", rule("/context/reviews/<review_id>/events"), "/context/reviews/{context_review}/events", None, ALL_OK),
    (
        "POST",
        rule("/context/reviews/<review_id>/events/<event>"),
        "/context/reviews/{context_review}/events/complete",
        {},
        only(409, ("manager",)),  # a planned review is started first
    ),
    # planning: quality objectives, opportunities and innovation, planned changes
    ("GET", rule("/objectives"), "/objectives", None, ALL_OK),
    ("POST", rule("/objectives"), "/objectives", {"title": ""}, only(422, PLANNERS)),
    ("GET", rule("/objectives/report.pdf"), "/objectives/report.pdf", None, ALL_OK),
    ("GET", rule("/objective-measures"), "/objective-measures", None, ALL_OK),
    ("GET", rule("/objectives/<objective_id>"), "/objectives/{objective}", None, ALL_OK),
    ("PATCH", rule("/objectives/<objective_id>"), "/objectives/{objective}", {"target": "x"}, only(422, PLANNERS)),
    ("GET", rule("/objectives/<objective_id>/history"), "/objectives/{objective}/history", None, ALL_OK),
    ("GET", rule("/objectives/<objective_id>/events"), "/objectives/{objective}/events", None, ALL_OK),
    (
        "POST",
        rule("/objectives/<objective_id>/events/<event>"),
        "/objectives/{objective}/events/approve",
        {},
        only(422, ("manager",)),  # the signature is missing
    ),
    (
        "GET",
        rule("/objectives/<objective_id>/measurements"),
        "/objectives/{active_objective}/measurements",
        None,
        ALL_OK,
    ),
    (
        "POST",
        rule("/objectives/<objective_id>/measurements"),
        "/objectives/{active_objective}/measurements",
        {"value": "x"},
        only(422, PLANNERS),  # the process owner owns it
    ),
    (
        "POST",
        rule("/objectives/<objective_id>/measurements/import"),
        "/objectives/{active_objective}/measurements/import",
        None,
        only(415, PLANNERS),  # neither a file nor a CSV body
    ),
    (
        "POST",
        rule("/objectives/<objective_id>/recompute"),
        "/objectives/{active_objective}/recompute",
        None,
        only(409, PLANNERS),  # its KPI is typed in: nothing to compute
    ),
    ("GET", rule("/opportunities"), "/opportunities", None, ALL_OK),
    ("POST", rule("/opportunities"), "/opportunities", {"title": ""}, only(422, RAISERS)),
    ("GET", rule("/opportunities/<opportunity_id>"), "/opportunities/{opportunity}", None, ALL_OK),
    (
        "PATCH",
        rule("/opportunities/<opportunity_id>"),
        "/opportunities/{opportunity}",
        {"title": ""},
        only(422, PLANNERS),  # its owner (the process owner), quality officers and managers
    ),
    ("GET", rule("/opportunities/<opportunity_id>/history"), "/opportunities/{opportunity}/history", None, ALL_OK),
    ("GET", rule("/opportunities/<opportunity_id>/events"), "/opportunities/{opportunity}/events", None, ALL_OK),
    (
        "POST",
        rule("/opportunities/<opportunity_id>/events/<event>"),
        "/opportunities/{opportunity}/events/evaluate",
        {},
        only(422, PLANNERS),
    ),
    ("GET", rule("/innovation-committees"), "/innovation-committees", None, ALL_OK),
    ("POST", rule("/innovation-committees"), "/innovation-committees", {"name": ""}, only(422, TRIAGERS)),
    ("GET", rule("/change-requests"), "/change-requests", None, ALL_OK),
    ("POST", rule("/change-requests"), "/change-requests", {"title": ""}, only(422, PLANNERS)),
    ("GET", rule("/change-requests/<change_request_id>"), "/change-requests/{change_request}", None, ALL_OK),
    (
        "PATCH",
        rule("/change-requests/<change_request_id>"),
        "/change-requests/{change_request}",
        {"title": ""},
        only(422, PLANNERS),
    ),
    (
        "GET",
        rule("/change-requests/<change_request_id>/history"),
        "/change-requests/{change_request}/history",
        None,
        ALL_OK,
    ),
    (
        "GET",
        rule("/change-requests/<change_request_id>/events"),
        "/change-requests/{change_request}/events",
        None,
        ALL_OK,
    ),
    (
        "POST",
        rule("/change-requests/<change_request_id>/events/<event>"),
        "/change-requests/{change_request}/events/submit",
        {},
        only(409, PLANNERS),  # its plan is not written
    ),
    (
        "POST",
        rule("/change-requests/<change_request_id>/tasks"),
        "/change-requests/{change_request}/tasks",
        {"title": ""},
        only(422, PLANNERS),
    ),
    (
        "POST",
        rule("/change-requests/<change_request_id>/tasks/<task_id>/complete"),
        "/change-requests/{change_request}/tasks/{change_task}/complete",
        {"outcome": ""},
        only(422, RAISERS),
    ),
    # suppliers (8.4) and their corrective action requests
    ("GET", rule("/suppliers"), "/suppliers", None, ALL_OK),
    ("POST", rule("/suppliers"), "/suppliers", {"name": " "}, only(422, SUPPLIER_MANAGERS)),
    ("GET", rule("/suppliers/approved"), "/suppliers/approved", None, ALL_OK),
    ("GET", rule("/suppliers/approved.pdf"), "/suppliers/approved.pdf", None, ALL_OK),
    ("GET", rule("/suppliers/approved.xlsx"), "/suppliers/approved.xlsx", None, ALL_OK),
    ("GET", rule("/suppliers/<supplier_id>"), "/suppliers/{supplier}", None, ALL_OK),
    (
        "PATCH",
        rule("/suppliers/<supplier_id>"),
        "/suppliers/{supplier}",
        {"criticality": "vital"},
        only(422, SUPPLIER_MANAGERS),
    ),
    ("GET", rule("/suppliers/<supplier_id>/history"), "/suppliers/{supplier}/history", None, ALL_OK),
    ("GET", rule("/suppliers/<supplier_id>/events"), "/suppliers/{supplier}/events", None, ALL_OK),
    (
        "POST",
        rule("/suppliers/<supplier_id>/events/<event>"),
        "/suppliers/{supplier}/events/approve",
        {},
        only(409, TRIAGERS),  # a prospective supplier is evaluated before approval
    ),
    ("GET", rule("/suppliers/<supplier_id>/evaluations"), "/suppliers/{supplier}/evaluations", None, ALL_OK),
    (
        "POST",
        rule("/suppliers/<supplier_id>/evaluations"),
        "/suppliers/{supplier}/evaluations",
        {},
        only(422, TRIAGERS),
    ),
    ("GET", rule("/suppliers/<supplier_id>/deliveries"), "/suppliers/{supplier}/deliveries", None, ALL_OK),
    (
        "POST",
        rule("/suppliers/<supplier_id>/deliveries"),
        "/suppliers/{supplier}/deliveries",
        {},
        only(422, IMPLEMENTERS),
    ),
    (
        "POST",
        rule("/suppliers/<supplier_id>/deliveries/import"),
        "/suppliers/{supplier}/deliveries/import",
        {"csv": "order_reference,due_on,delivered_on\nPO-1,never,2026-01-01\n"},
        only(422, IMPLEMENTERS),
    ),
    (
        "POST",
        rule("/suppliers/<supplier_id>/nonconformities"),
        "/suppliers/{supplier}/nonconformities",
        {"title": " "},
        only(422, RAISERS),
    ),
    (
        "POST",
        rule("/suppliers/<supplier_id>/proposal/dismiss"),
        "/suppliers/{supplier}/proposal/dismiss",
        {"reason": ""},
        only(422, TRIAGERS),
    ),
    ("GET", rule("/suppliers/<supplier_id>/attachments"), "/suppliers/{supplier}/attachments", None, ALL_OK),
    (
        "POST",
        rule("/suppliers/<supplier_id>/attachments"),
        "/suppliers/{supplier}/attachments",
        UPLOAD,
        only(422, UPLOADERS),
    ),
    ("GET", rule("/scars"), "/scars", None, ALL_OK),
    ("POST", rule("/scars"), "/scars", {"nonconformity_id": 1, "request": ""}, only(422, TRIAGERS)),
    ("GET", rule("/scars/<scar_id>"), "/scars/{scar}", None, ALL_OK),
    ("GET", rule("/scars/<scar_id>/history"), "/scars/{scar}/history", None, ALL_OK),
    ("GET", rule("/scars/<scar_id>/report.pdf"), "/scars/{scar}/report.pdf", None, ALL_OK),
    ("GET", rule("/scars/<scar_id>/events"), "/scars/{scar}/events", None, ALL_OK),
    (
        "POST",
        rule("/scars/<scar_id>/events/<event>"),
        "/scars/{scar}/events/verify",
        {},
        only(409, ("manager", "quality_officer", "internal_auditor")),  # answered, not yet accepted
    ),
    ("POST", rule("/scars/<scar_id>/link"), "/scars/{scar}/link", None, only(409, TRIAGERS)),
    # measuring equipment (7.1.5) and out-of-tolerance assessments
    ("GET", rule("/equipment"), "/equipment", None, ALL_OK),
    ("POST", rule("/equipment"), "/equipment", {"identifier": " "}, only(422, SUPPLIER_MANAGERS)),
    ("GET", rule("/equipment/<equipment_id>"), "/equipment/{equipment}", None, ALL_OK),
    (
        "PATCH",
        rule("/equipment/<equipment_id>"),
        "/equipment/{equipment}",
        {"interval_days": 0},
        only(422, SUPPLIER_MANAGERS),
    ),
    ("GET", rule("/equipment/<equipment_id>/history"), "/equipment/{equipment}/history", None, ALL_OK),
    ("GET", rule("/equipment/<equipment_id>/events"), "/equipment/{equipment}/events", None, ALL_OK),
    (
        "POST",
        rule("/equipment/<equipment_id>/events/<event>"),
        "/equipment/{equipment}/events/return_to_service",
        {},
        only(409, TRIAGERS),  # in service already
    ),
    ("GET", rule("/equipment/<equipment_id>/calibrations"), "/equipment/{equipment}/calibrations", None, ALL_OK),
    (
        "POST",
        rule("/equipment/<equipment_id>/calibrations"),
        "/equipment/{equipment}/calibrations",
        {},
        only(422, IMPLEMENTERS),
    ),
    ("GET", rule("/equipment/<equipment_id>/label.pdf"), "/equipment/{equipment}/label.pdf", None, ALL_OK),
    ("GET", rule("/equipment/<equipment_id>/attachments"), "/equipment/{equipment}/attachments", None, ALL_OK),
    (
        "POST",
        rule("/equipment/<equipment_id>/attachments"),
        "/equipment/{equipment}/attachments",
        UPLOAD,
        only(422, UPLOADERS),
    ),
    (
        "PUT",
        rule("/checklist-items/<item_id>/equipment"),
        "/checklist-items/{running_item}/equipment",
        {"equipment_id": 999_999},
        only(422, ("internal_auditor",)),  # the audit's auditors; no such instrument
    ),
    ("GET", rule("/oot-assessments"), "/oot-assessments", None, ALL_OK),
    ("GET", rule("/oot-assessments/<assessment_id>"), "/oot-assessments/{assessment}", None, ALL_OK),
    ("GET", rule("/oot-assessments/<assessment_id>/history"), "/oot-assessments/{assessment}/history", None, ALL_OK),
    ("GET", rule("/oot-assessments/<assessment_id>/events"), "/oot-assessments/{assessment}/events", None, ALL_OK),
    (
        "POST",
        rule("/oot-assessments/<assessment_id>/events/<event>"),
        "/oot-assessments/{assessment}/events/close",
        {},
        only(409, TRIAGERS),  # an open assessment raises an NC or concludes first
    ),
]


@pytest.mark.sqlite_only
def test_every_api_route_is_in_the_matrix(app):
    covered = {(method, rule) for method, rule, *_ in MATRIX}
    routes = set()
    for url_rule in app.url_map.iter_rules():
        if not url_rule.rule.startswith(API_PREFIX + "/") or url_rule.rule in NOT_OPERATIONS:
            continue
        routes.update((method, url_rule.rule) for method in url_rule.methods - {"HEAD", "OPTIONS"})
    missing = sorted(routes - covered)
    assert not missing, f"API routes without an authorisation decision: {missing}"
    assert not covered - routes, f"matrix rows for routes that do not exist: {sorted(covered - routes)}"


def test_the_matrix_decides_for_every_role():
    for method, rule_, _template, _body, expected in MATRIX:
        assert set(expected) == set(ROLES), f"{method} {rule_}"


@pytest.mark.parametrize("role", ROLES)
def test_api_authorisation_matrix(app, org, role):
    planning = nc_in_state(org, "root_cause_identified")
    nc = new_nc(org)
    action = add_corrective_action(planning, org.quality, title="Fix", owner_id=org.owner.id, due_date="2099-01-01")
    attachment = attach(action, org.owner, io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "evidence.pdf")
    revocable, _ = create_token(org.admin, "admin script")
    document = create_document(org.quality, title="Procedure", doc_type="procedure", owner_id=org.quality.id)
    in_work = create_document(org.quality, title="Form", doc_type="form", owner_id=org.quality.id)
    revision = add_revision(in_work, org.quality, stream=io.BytesIO(pdf_bytes("draft")), filename="f.pdf")
    process = new_process(org)
    audit = create_audit(org.quality, title="Planned audit", process_id=process.id, clause_numbers=["9.2"])
    assign_team(audit, org.quality, lead_auditor_id=org.auditor.id)
    add_question(audit, org.quality, question="Is the programme kept?")
    running = audit_in_state(org, "in_progress", process=process)
    programme = create_programme(org.quality, year=2026, title="Programme 2026")
    audit_versions = {a.id: (a.state, a.version, len(a.items)) for a in (audit, running)}
    running_item = running.items[0]
    survey = create_survey(org.quality, title="Draft survey", questions=[{"kind": "nps", "text": "Recommend?"}])
    open_survey = create_survey(org.quality, title="Open survey", questions=[{"kind": "nps", "text": "Recommend?"}])
    fire(open_survey, "open", org.quality, {})
    complaint = log_complaint(org.quality, channel="phone", summary="Rude", description="Rude agent")
    survey_versions = {s.id: (s.state, s.version, s.title) for s in (survey, open_survey)}
    with recorded_change(None, "bodies loaded") as session:
        ensure_bodies(session)
    kebs = db.session.scalar(select(CertificationBody).where(CertificationBody.code == "kebs"))
    kebs_profile = dict(kebs.profile)
    certification = create_certification(org.manager, body_id=kebs.id, scope="Design and manufacture of doors")
    external = record_external_audit(
        certification,
        org.quality,
        kind="pre_audit",
        start_date=YESTERDAY,
        findings=[{"body_reference": "F1", "grade": "observation", "description": "Labels could be clearer"}],
    )
    finding = external.findings[0]
    iso_review = open_iso_change_review(
        org.quality, old_standard="iso-9001-2015", new_standard="iso-9001-2015-amd1-2024"
    )
    fire(iso_review, "start_gap_analysis", org.quality)
    review_action = add_action(
        iso_review, org.quality, title="Update the context register", owner_id=org.owner.id, due_date=TOMORROW
    )
    org_review = open_org_change_review(org.owner, title="New line", change_kind="process", description="A line")
    impact = add_impact(org_review, org.owner, area="risk", subject="Untrained operators")
    fire(org_review, "reject", org.manager, {"reason": "Not now"})
    management_review = plan_management_review(
        org.manager, title="Management review", planned_for=TOMORROW, period_start=YESTERDAY, period_end=YESTERDAY
    )
    fire(management_review, "cancel", org.manager, {"reason": "Merged with the next one"})
    build_board(org.quality)
    retired_item = item_for_process(process)
    add_evidence(retired_item, org.quality, kind="url", ref="https://intranet.example.test/flow")
    fire(retired_item, "retire", org.manager, {"reason": "Outsourced"})
    board_item = clause_item("8.5")
    review_versions = {
        (type(r).__name__, r.id): (r.state, r.version) for r in (iso_review, org_review, management_review)
    }
    management_inputs = dict(management_review.inputs)
    objective = new_objective(org)
    active_objective = new_objective(org, title="Active", owner_id=org.owner.id)
    fire(active_objective, "approve", org.manager, signature_password=PASSWORD)
    fire(active_objective, "activate", org.quality)
    opportunity = propose_opportunity(org.owner, title="E-bikes", description="Faster city deliveries")
    change_request = request_change(org.owner, title="New warehouse")
    change_task = add_task(change_request, org.owner, title="Move racks", owner_id=org.owner.id, due_date=TOMORROW)
    planning_versions = {type(r).__name__: (r.state, r.version) for r in (objective, opportunity, change_request)}
    items_before = db.session.query(ImplementationItem).count()
    competence = create_competence(org.quality, name="Lead auditing")
    training = plan_training(
        org.quality,
        title="Course",
        competence_id=competence.id,
        level="aware",
        planned_on=YESTERDAY,
        trainer_name="KEBS",
        evaluation_method="observation",
        invitee_ids=[org.owner.id],
    )
    need = raise_need(org.quality, user_id=org.owner.id, competence_id=competence.id, level="aware")
    supplier = create_supplier(org.quality, name="Kamau Steel", supplies="Steel sheet", criticality="high")
    scar, scar_token = raise_scar(
        raise_supplier_nc(supplier, org.quality, title="Wrong grade", description="S235"), org.quality, request="Fix"
    )
    submit_scar_answer(scar_token, containment="Held", root_cause="Mix-up", actions="Labels", responder="QA")
    equipment = register_equipment(org.quality, identifier="GA-1", name="Caliper", interval_days=365)
    _calibration, assessment = record_calibration(
        equipment,
        org.quality,
        calibrated_on=dt.date.today(),
        performed_by="Lab",
        as_found="+0.1",
        as_found_in_tolerance=False,
        as_left_in_tolerance=True,
        traceability="National standards",
    )
    supplier_versions = {type(r).__name__: (r.state, r.version) for r in (supplier, scar, equipment, assessment)}
    users = {
        "admin": org.admin,
        "manager": org.manager,
        "quality_officer": org.quality,
        "internal_auditor": org.auditor,
        "process_owner": org.owner,
        "viewer": org.viewer,
    }
    headers = {}
    if role != "anonymous":
        headers["Authorization"] = "Bearer " + create_token(users[role], "matrix")[1]
    ids = {
        "nc": nc.id,
        "planning_nc": planning.id,
        "action": action.id,
        "attachment": attachment.id,
        "token": revocable.id,
        "user": org.viewer.id,
        "document": document.id,
        "revision": revision.id,
        "audit": audit.id,
        "running": running.id,
        "running_item": running_item.id,
        "programme": programme.id,
        "survey": survey.id,
        "question": survey.questions[0].id,
        "open_survey": open_survey.id,
        "open_question": open_survey.questions[0].id,
        "complaint": complaint.id,
        "certification": certification.id,
        "external_audit": external.id,
        "finding": finding.id,
        "iso_review": iso_review.id,
        "change": iso_review.items[0].id,
        "review_action": review_action.id,
        "org_review": org_review.id,
        "impact": impact.id,
        "management_review": management_review.id,
        "clause_item": board_item.id,
        "retired_item": retired_item.id,
        "competence": competence.id,
        "training": training.id,
        "need": need.id,
        "objective": objective.id,
        "active_objective": active_objective.id,
        "opportunity": opportunity.id,
        "change_request": change_request.id,
        "change_task": change_task.id,
        "supplier": supplier.id,
        "scar": scar.id,
        "equipment": equipment.id,
        "assessment": assessment.id,
    }
    ids.update(planning_ids(org))
    client = app.test_client()
    mismatches = []
    for method, _rule, template, body, expected in MATRIX:
        url = API_PREFIX + template.format(**ids)
        if body == UPLOAD:
            data = {"file": (io.BytesIO(REFUSED_FILE), "evidence.pdf")}
            response = client.open(url, method=method, headers=headers, data=data, content_type="multipart/form-data")
        else:
            response = client.open(url, method=method, headers=headers, json=body)
        if response.status_code != expected[role]:
            mismatches.append(f"{method} {url}: {response.status_code}, expected {expected[role]}")
        elif response.status_code >= 400:
            assert response.mimetype == "application/json", f"{method} {url}"
            if expected[role] == 422 and body == UPLOAD:
                assert set(response.get_json()["errors"]) == {"file"}, f"{method} {url}"
    assert not mismatches, "\n".join(mismatches)

    # nothing changed but the one revocation an administrator may make
    db.session.expire_all()
    assert (nc.state, nc.version, planning.state, action.state) == ("reported", 1, "root_cause_identified", "planned")
    assert [a.id for a in planning.actions] == [action.id] and not action.notes
    assert db.session.query(Nonconformity).count() == 3  # with the one against the supplier
    assert db.session.query(Attachment).count() == 1
    viewer = db.session.get(User, org.viewer.id)
    assert (viewer.roles, viewer.active) == ({"viewer"}, True) and check_password(viewer, PASSWORD)
    assert (db.session.get(ApiToken, revocable.id).revoked_at is not None) == (role == "admin")
    for audit_id, before in audit_versions.items():
        found = db.session.get(Audit, audit_id)
        assert (found.state, found.version, len(found.items)) == before
    assert db.session.get(ChecklistItem, running_item.id).result is None
    assert db.session.query(Audit).count() == 2 and db.session.query(AuditProgramme).count() == 1
    assert db.session.query(ImportedStandard).count() == 0
    for survey_id, before in survey_versions.items():
        found = db.session.get(Survey, survey_id)
        assert (found.state, found.version, found.title) == before
    assert db.session.query(SurveyQuestion).count() == 2
    assert [q.weight for q in db.session.query(SurveyQuestion)] == [1.0, 1.0]
    assert db.session.query(SurveyResponse).count() == 0 and db.session.query(SurveyInvitation).count() == 0
    assert db.session.query(RuleTrigger).count() == 0
    found = db.session.get(Complaint, complaint.id)
    assert db.session.query(Complaint).count() == 1 and (found.state, found.version) == ("received", 1)
    assert db.session.get(CertificationBody, kebs.id).profile == kebs_profile
    found = db.session.get(Certification, certification.id)
    assert db.session.query(Certification).count() == 1 and (found.state, found.version) == ("applied", 1)
    assert db.session.query(ExternalAudit).count() == 1 and db.session.query(ExternalFinding).count() == 1
    found = db.session.get(ExternalFinding, finding.id)
    assert (found.grade, found.group_label, found.regraded_from) == ("observation", "", "")
    for model in (IsoChangeReview, OrgChangeReview, ManagementReview):
        assert db.session.query(model).count() == 1
    for record in (iso_review, org_review, management_review):
        found = db.session.get(type(record), record.id)
        assert (found.state, found.version) == review_versions[(type(record).__name__, record.id)]
    assert [i.status for i in db.session.query(IsoChangeItem)] == ["not_assessed", "not_assessed"]
    assert db.session.query(ChangeImpact).count() == 1
    assert db.session.get(ManagementReview, management_review.id).inputs == management_inputs
    found = db.session.get(ReviewAction, review_action.id)
    assert db.session.query(ReviewAction).count() == 1 and (found.status, found.outcome) == ("open", "")
    assert db.session.query(ImplementationItem).count() == items_before
    assert len(db.session.get(ImplementationItem, retired_item.id).evidence) == 1
    found = db.session.get(ImplementationItem, board_item.id)
    assert (found.state, found.evidence) == ("planned", [])
    found = db.session.get(TrainingSession, training.id)
    assert (found.state, found.version, [a.attended for a in found.attendance]) == ("planned", 1, [None])
    assert db.session.query(Competence).count() == 1 and db.session.query(TrainingNeed).count() == 1
    assert (
        db.session.get(TrainingNeed, need.id).status == "open" and db.session.query(CompetencePrecondition).count() == 0
    )
    for record in (objective, opportunity, change_request):
        found = db.session.get(type(record), record.id)
        assert (found.state, found.version) == planning_versions[type(record).__name__]
    assert db.session.query(ObjectiveMeasurement).count() == 0 and db.session.query(InnovationCommittee).count() == 0
    assert db.session.get(ChangeTask, change_task.id).status == "open"
    for record in (supplier, scar, equipment, assessment):
        found = db.session.get(type(record), record.id)
        assert (found.state, found.version) == supplier_versions[type(record).__name__]
    assert db.session.query(Supplier).count() == 1 and db.session.query(Scar).count() == 1
    assert db.session.query(SupplierEvaluation).count() == 0 and db.session.query(SupplierDelivery).count() == 0
    assert db.session.query(Calibration).count() == 1 and db.session.query(Equipment).count() == 1
    assert db.session.get(ChecklistItem, running_item.id).equipment_id is None
