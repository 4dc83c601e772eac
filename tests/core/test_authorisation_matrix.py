"""Every web route × every role (and nobody signed in): the expected status, checked on the server.

A route missing from the table fails ``test_every_route_is_in_the_matrix``, so a new page cannot
ship without deciding who may use it. The REST API has its own matrix in tests/core/test_api_matrix.py.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import select

from qms.database import db
from qms.jobs.exports import request_export
from qms.models import CertificationBody
from qms.services import fire
from qms.services.attachments import attach
from qms.services.audit_trail import recorded_change
from qms.services.audits import (
    attach_evidence,
    create_audit,
    create_programme,
    generate_checklist,
    new_calendar_feed,
)
from qms.services.certifications import create_certification, ensure_bodies, record_external_audit
from qms.services.changes import add_task, request_change
from qms.services.competence import add_requirement, create_competence
from qms.services.complaints import log_complaint
from qms.services.documents import add_revision, create_document
from qms.services.equipment import record_calibration, register_equipment
from qms.services.implementation import build_board, item_for_process
from qms.services.nonconformities import add_corrective_action
from qms.services.opportunities import propose_opportunity
from qms.services.reviews import (
    add_action,
    add_impact,
    open_iso_change_review,
    open_org_change_review,
    plan_management_review,
)
from qms.services.standards import import_mapping
from qms.services.suppliers import create_supplier, raise_scar, raise_supplier_nc
from qms.services.surveys import create_survey
from qms.services.tokens import create_token
from qms.services.training import plan_training, raise_need

from ..conftest import PASSWORD, login
from ..documents.test_services import pdf_bytes
from ..helpers import audit_in_state, nc_in_state, new_nc, new_process
from ..objectives.helpers import new_objective
from ..risks.helpers import planning_ids

ROLES = ("anonymous", "admin", "manager", "quality_officer", "internal_auditor", "process_owner", "viewer")
SIGNED_IN = ROLES[1:]
ALL_OK = dict.fromkeys(SIGNED_IN, 200) | {"anonymous": 302}


def only(ok: int, roles: tuple[str, ...], *, other: int = 403, anonymous: int = 302) -> dict[str, int]:
    return {role: (ok if role in roles else other) for role in SIGNED_IN} | {"anonymous": anonymous}


RAISERS = ("admin", "manager", "quality_officer", "internal_auditor", "process_owner")
PLANNERS = ("manager", "quality_officer", "process_owner")
NOTE_TAKERS = ("manager", "quality_officer", "process_owner")  # the process owner owns the action
AUDIT_PLANNERS = ("manager", "quality_officer")
AUDIT_SETUP = ("admin", "manager", "quality_officer")
CHECKLIST_EDITORS = ("quality_officer",)  # of an audit without a team: its auditors could too
AUDITOR = ("internal_auditor",)  # the lead auditor of the audit in progress
SURVEY_MANAGERS = ("manager", "quality_officer")
COMPLAINT_LOGGERS = ("admin", "manager", "quality_officer", "process_owner")
PUBLIC = dict.fromkeys(ROLES, 200)
#: an event's address typed or reloaded: signed in, back to the record's page (nothing fires); signed out, to sign in
BACK_TO_PAGE = dict.fromkeys(ROLES, 302)
AUDIT_PDF = 200
CERT_MANAGERS = ("manager", "quality_officer")
PACK_PDF = 200
REVIEWERS = ("manager", "quality_officer")
CHANGE_PROPOSERS = ("manager", "quality_officer", "process_owner")
STANDARD_IMPORTERS = ("admin", "manager", "quality_officer")
#: the board's item of the Production process, owned by the process owner
BOARD_MOVERS = ("manager", "quality_officer", "process_owner")
MINUTES_PDF = 200
COMPETENCE_VIEWERS = ("admin", "manager", "quality_officer", "internal_auditor")
COMPETENCE_MANAGERS = ("admin", "manager", "quality_officer")
RISK_KEEPERS = ("manager", "quality_officer", "process_owner")  # the process owner owns the risk
RISK_CITERS = ("manager", "quality_officer", "process_owner", "internal_auditor")
CONTEXT_KEEPERS = ("manager", "quality_officer")
OBJECTIVE_SETTERS = ("manager", "quality_officer", "process_owner")
#: who keeps the supplier and equipment registers
SUPPLIER_MANAGERS = ("admin", "manager", "quality_officer")

# (method, rule, url template, form data, expected status per role)
MATRIX = [
    ("GET", "/", "/", None, ALL_OK),
    ("GET", "/my-work", "/my-work", None, ALL_OK),
    ("GET", "/health", "/health", None, dict.fromkeys(ROLES, 200)),
    ("GET", "/lifecycles", "/lifecycles", None, ALL_OK),
    ("GET", "/lifecycles/<name>", "/lifecycles/complaint", None, ALL_OK),
    ("GET", "/login", "/login", None, dict.fromkeys(SIGNED_IN, 302) | {"anonymous": 200}),
    ("POST", "/login", "/login", {"email": "x@example.test", "password": "wrong-password"}, {"anonymous": 200}),
    ("POST", "/logout", "/logout", {}, dict.fromkeys(SIGNED_IN, 302) | {"anonymous": 302}),
    ("GET", "/nonconformities", "/nonconformities", None, ALL_OK),
    ("GET", "/nonconformities/export.csv", "/nonconformities/export.csv", None, ALL_OK),
    ("GET", "/nonconformities/export.xlsx", "/nonconformities/export.xlsx", None, ALL_OK),
    ("GET", "/nonconformities/register.pdf", "/nonconformities/register.pdf", None, ALL_OK),
    ("GET", "/nonconformities/new", "/nonconformities/new", None, only(200, RAISERS)),
    ("POST", "/nonconformities/new", "/nonconformities/new", {"title": ""}, only(422, RAISERS)),
    ("GET", "/nonconformities/<id:nc_id>", "/nonconformities/{nc}", None, ALL_OK),
    ("GET", "/nonconformities/<id:nc_id>/report.pdf", "/nonconformities/{nc}/report.pdf", None, ALL_OK),
    (
        "POST",
        "/nonconformities/<id:nc_id>/events/<event>",
        "/nonconformities/{nc}/events/triage",
        {"severity": "not-a-severity"},
        only(422, ("manager", "quality_officer")),
    ),
    (
        "POST",
        "/nonconformities/<id:nc_id>/actions",
        "/nonconformities/{planning_nc}/actions",
        {"title": ""},
        only(422, PLANNERS),
    ),
    ("POST", "/nonconformities/<id:nc_id>/attachments", "/nonconformities/{nc}/attachments", {}, only(302, RAISERS)),
    (
        "POST",
        "/corrective-actions/<id:action_id>/attachments",
        "/corrective-actions/{action}/attachments",
        {},
        only(302, RAISERS),
    ),
    ("GET", "/attachments/<id:attachment_id>", "/attachments/{attachment}", None, ALL_OK),
    ("GET", "/corrective-actions/<id:action_id>", "/corrective-actions/{action}", None, ALL_OK),
    (
        "POST",
        "/corrective-actions/<id:action_id>/events/<event>",
        "/corrective-actions/{action}/events/implement",
        {"implementation": "done"},
        only(409, ("manager", "quality_officer", "process_owner")),  # permitted roles: not possible while planned
    ),
    (
        "POST",
        "/corrective-actions/<id:action_id>/notes",
        "/corrective-actions/{action}/notes",
        {},
        only(302, NOTE_TAKERS),
    ),
    ("GET", "/documents", "/documents", None, ALL_OK),
    ("GET", "/documents/master-list.xlsx", "/documents/master-list.xlsx", None, ALL_OK),
    ("GET", "/documents/master-list.pdf", "/documents/master-list.pdf", None, ALL_OK),
    ("GET", "/documents/new", "/documents/new", None, only(200, PLANNERS)),
    ("POST", "/documents/new", "/documents/new", {"title": ""}, only(422, PLANNERS)),
    ("GET", "/documents/<id:document_id>", "/documents/{document}", None, ALL_OK),
    (
        "GET",
        "/documents/<id:document_id>",
        "/documents/{restricted}",
        None,
        only(200, ("admin", "manager", "quality_officer")),
    ),
    # revision A is still in work, so a new one is refused for the roles that may write revisions
    ("POST", "/documents/<id:document_id>/revisions", "/documents/{document}/revisions", {}, only(409, PLANNERS)),
    (
        "POST",
        "/revisions/<id:revision_id>/events/<event>",
        "/revisions/{revision}/events/approve",
        {},
        only(409, ("manager", "quality_officer")),  # a draft cannot be approved yet
    ),
    ("GET", "/revisions/<id:revision_id>/file", "/revisions/{revision}/file", None, ALL_OK),
    ("POST", "/revisions/<id:revision_id>/acknowledge", "/revisions/{revision}/acknowledge", {}, only(302, SIGNED_IN)),
    ("GET", "/account/", "/account/", None, ALL_OK),
    ("POST", "/account/password", "/account/password", {}, only(422, SIGNED_IN)),
    ("POST", "/account/tokens", "/account/tokens", {}, only(422, SIGNED_IN)),
    ("POST", "/account/tokens/<id:token_id>/revoke", "/account/tokens/{token}/revoke", {}, only(302, ("admin",))),
    # audits: everyone signed in reads; planners plan; the audit's own auditors answer
    ("GET", "/audits", "/audits", None, ALL_OK),
    ("GET", "/audits/new", "/audits/new", None, only(200, AUDIT_PLANNERS)),
    ("POST", "/audits/new", "/audits/new", {"title": ""}, only(422, AUDIT_PLANNERS)),
    ("GET", "/audits/<id:audit_id>", "/audits/{audit}", None, ALL_OK),
    (
        "POST",
        "/audits/<id:audit_id>/events/<event>",
        "/audits/{audit}/events/schedule",
        {},
        only(409, AUDIT_PLANNERS),  # permitted roles: not possible while in progress
    ),
    ("POST", "/audits/<id:audit_id>/team", "/audits/{planned_audit}/team", {}, only(422, AUDIT_PLANNERS)),
    (
        "POST",
        "/audits/<id:audit_id>/checklist/generate",
        "/audits/{planned_audit}/checklist/generate",
        {},
        only(302, CHECKLIST_EDITORS),
    ),
    ("POST", "/audits/<id:audit_id>/questions", "/audits/{planned_audit}/questions", {}, only(422, CHECKLIST_EDITORS)),
    (
        "POST",
        "/audits/<id:audit_id>/questions/<id:item_id>",
        "/audits/{planned_audit}/questions/{planned_item}",
        {"question": ""},
        only(422, CHECKLIST_EDITORS),
    ),
    (
        "POST",
        "/audits/<id:audit_id>/questions/<id:item_id>/remove",
        "/audits/{planned_audit}/questions/{planned_item}/remove",
        {},
        only(302, CHECKLIST_EDITORS),
    ),
    ("GET", "/audits/<id:audit_id>/checklist", "/audits/{audit}/checklist", None, ALL_OK),
    (
        "POST",
        "/audits/<id:audit_id>/checklist/<id:item_id>",
        "/audits/{audit}/checklist/{item}",
        {"result": "", "notes": ""},
        only(302, AUDITOR),
    ),
    (
        "POST",
        "/audits/<id:audit_id>/checklist/<id:item_id>/evidence",
        "/audits/{audit}/checklist/{item}/evidence",
        {},
        only(302, AUDITOR),
    ),
    ("GET", "/audits/<id:audit_id>/evidence/<id:attachment_id>", "/audits/{audit}/evidence/{evidence}", None, ALL_OK),
    (
        "GET",
        "/audits/<id:audit_id>/report.pdf",
        "/audits/{audit}/report.pdf",
        None,
        dict.fromkeys(SIGNED_IN, AUDIT_PDF) | {"anonymous": 302},
    ),
    ("GET", "/audits/calendar", "/audits/calendar?view=year", None, ALL_OK),
    ("GET", "/audits/calendar", "/audits/calendar?mine=1", None, ALL_OK),
    ("GET", "/audits/coverage", "/audits/coverage", None, ALL_OK),
    # the feed address is its own credential: no sign-in, unknown secrets are not found
    ("GET", "/calendar/<secret>.ics", "/calendar/{feed}.ics", None, dict.fromkeys(ROLES, 200)),
    ("GET", "/calendar/<secret>.ics", "/calendar/not-a-feed.ics", None, dict.fromkeys(ROLES, 404)),
    ("POST", "/account/calendar-feed", "/account/calendar-feed", {}, only(200, SIGNED_IN)),
    ("POST", "/account/calendar-feed/revoke", "/account/calendar-feed/revoke", {}, only(302, SIGNED_IN)),
    ("GET", "/processes", "/processes", None, only(200, AUDIT_SETUP)),
    ("POST", "/sites", "/sites", {}, only(422, AUDIT_SETUP)),
    ("GET", "/processes/new", "/processes/new", None, only(200, AUDIT_SETUP)),
    ("POST", "/processes/new", "/processes/new", {}, only(422, AUDIT_SETUP)),
    ("GET", "/processes/<id:process_id>/edit", "/processes/{process}/edit", None, only(200, AUDIT_SETUP)),
    ("POST", "/processes/<id:process_id>/edit", "/processes/{process}/edit", {}, only(422, AUDIT_SETUP)),
    ("GET", "/programmes", "/programmes", None, ALL_OK),
    ("GET", "/programmes/new", "/programmes/new", None, only(200, AUDIT_PLANNERS)),
    ("POST", "/programmes/new", "/programmes/new", {}, only(422, AUDIT_PLANNERS)),
    ("GET", "/programmes/<id:programme_id>", "/programmes/{programme}", None, ALL_OK),
    (
        "POST",
        "/programmes/<id:programme_id>/generate",
        "/programmes/{programme}/generate",
        {},
        only(302, AUDIT_PLANNERS),
    ),
    (
        "GET",
        "/programmes/<id:programme_id>/report.pdf",
        "/programmes/{programme}/report.pdf",
        None,
        dict.fromkeys(SIGNED_IN, AUDIT_PDF) | {"anonymous": 302},
    ),
    # customers: everyone signed in reads; quality officers and managers run surveys; the public pages need no sign-in
    ("GET", "/surveys", "/surveys", None, ALL_OK),
    ("GET", "/surveys/new", "/surveys/new", None, only(200, SURVEY_MANAGERS)),
    ("POST", "/surveys/new", "/surveys/new", {"title": ""}, only(422, SURVEY_MANAGERS)),
    ("GET", "/surveys/<id:survey_id>", "/surveys/{survey}", None, ALL_OK),
    ("GET", "/surveys/<id:survey_id>/edit", "/surveys/{survey}/edit", None, only(200, SURVEY_MANAGERS)),
    ("POST", "/surveys/<id:survey_id>/edit", "/surveys/{survey}/edit", {"title": ""}, only(422, SURVEY_MANAGERS)),
    (
        "POST",
        "/surveys/<id:survey_id>/events/<event>",
        "/surveys/{survey}/events/reopen",
        {},
        only(409, SURVEY_MANAGERS),  # permitted roles: not possible while open
    ),
    ("POST", "/surveys/<id:survey_id>/questions", "/surveys/{draft_survey}/questions", {}, only(422, SURVEY_MANAGERS)),
    (
        "POST",
        "/surveys/<id:survey_id>/questions/<id:question_id>",
        "/surveys/{draft_survey}/questions/{draft_question}",
        {"text": ""},
        only(422, SURVEY_MANAGERS),
    ),
    (
        "POST",
        "/surveys/<id:survey_id>/questions/<id:question_id>/remove",
        "/surveys/{draft_survey}/questions/{draft_question}/remove",
        {},
        only(302, SURVEY_MANAGERS),
    ),
    ("POST", "/surveys/<id:survey_id>/link", "/surveys/{draft_survey}/link", {}, only(302, SURVEY_MANAGERS)),
    ("POST", "/surveys/<id:survey_id>/invitations", "/surveys/{survey}/invitations", {}, only(422, SURVEY_MANAGERS)),
    ("POST", "/surveys/<id:survey_id>/import", "/surveys/{survey}/import", {}, only(422, SURVEY_MANAGERS)),
    ("POST", "/surveys/<id:survey_id>/rules", "/surveys/{survey}/rules", {}, only(302, SURVEY_MANAGERS)),
    ("GET", "/surveys/<id:survey_id>/report.pdf", "/surveys/{survey}/report.pdf", None, ALL_OK),
    ("GET", "/s/<token>", "/s/{survey_token}", None, PUBLIC),
    ("GET", "/s/<token>", "/s/not-a-survey", None, dict.fromkeys(ROLES, 404)),
    ("POST", "/s/<token>", "/s/{survey_token}", {}, dict.fromkeys(ROLES, 422)),
    ("GET", "/s/<token>/thanks", "/s/{survey_token}/thanks", None, PUBLIC),
    ("GET", "/complaints", "/complaints", None, ALL_OK),
    ("GET", "/complaints/new", "/complaints/new", None, only(200, COMPLAINT_LOGGERS)),
    ("POST", "/complaints/new", "/complaints/new", {"summary": ""}, only(422, COMPLAINT_LOGGERS)),
    ("GET", "/complaints/<id:complaint_id>", "/complaints/{complaint}", None, ALL_OK),
    (
        "POST",
        "/complaints/<id:complaint_id>/events/<event>",
        "/complaints/{complaint}/events/close",
        {},
        only(409, SURVEY_MANAGERS),  # permitted roles: not possible while received
    ),
    ("GET", "/complaints/platforms", "/complaints/platforms", None, ALL_OK),
    ("GET", "/complaints/platforms.pdf", "/complaints/platforms.pdf", None, ALL_OK),
    ("GET", "/feedback", "/feedback", None, PUBLIC),
    ("POST", "/feedback", "/feedback", {}, dict.fromkeys(ROLES, 422)),
    ("GET", "/feedback/thanks", "/feedback/thanks", None, PUBLIC),
    # certification: everyone signed in reads; admins edit bodies; managers and quality officers run certifications
    ("GET", "/certification-bodies", "/certification-bodies", None, ALL_OK),
    ("GET", "/certification-bodies/<id:body_id>", "/certification-bodies/{body}", None, ALL_OK),
    (
        "GET",
        "/certification-bodies/<id:body_id>/edit",
        "/certification-bodies/{body}/edit",
        None,
        only(200, ("admin",)),
    ),
    (
        "POST",
        "/certification-bodies/<id:body_id>/edit",
        "/certification-bodies/{body}/edit",
        {"name": ""},
        only(422, ("admin",)),
    ),
    (
        "POST",
        "/certification-bodies/<id:body_id>/active",
        "/certification-bodies/{body}/active",
        {"active": "1"},
        only(302, ("admin",)),
    ),
    ("GET", "/certifications", "/certifications", None, ALL_OK),
    ("GET", "/certifications/new", "/certifications/new", None, only(200, CERT_MANAGERS)),
    ("POST", "/certifications/new", "/certifications/new", {"scope": ""}, only(422, CERT_MANAGERS)),
    ("GET", "/certifications/<id:certification_id>", "/certifications/{certification}", None, ALL_OK),
    (
        "POST",
        "/certifications/<id:certification_id>/events/<event>",
        "/certifications/{certification}/events/ready_for_stage2",
        {},
        only(409, CERT_MANAGERS),  # permitted roles: blocked while a major NC is open
    ),
    (
        "POST",
        "/certifications/<id:certification_id>/audits",
        "/certifications/{certification}/audits",
        {},
        only(422, CERT_MANAGERS),
    ),
    (
        "POST",
        "/certifications/<id:certification_id>/audits/<id:audit_id>/group",
        "/certifications/{certification}/audits/{external_audit}/group",
        {},
        only(422, CERT_MANAGERS),
    ),
    (
        "POST",
        "/certifications/<id:certification_id>/findings/<id:finding_id>/regrade",
        "/certifications/{certification}/findings/{finding}/regrade",
        {},
        only(422, CERT_MANAGERS),
    ),
    ("GET", "/readiness", "/readiness", None, ALL_OK),
    (
        "GET",
        "/certifications/<id:certification_id>/readiness",
        "/certifications/{certification}/readiness",
        None,
        ALL_OK,
    ),
    (
        "GET",
        "/certifications/<id:certification_id>/pack.pdf",
        "/certifications/{certification}/pack.pdf",
        None,
        dict.fromkeys(SIGNED_IN, PACK_PDF) | {"anonymous": 302},
    ),
    # reviews: everyone signed in reads; managers and quality officers run them; process owners propose changes
    ("GET", "/reviews", "/reviews", None, ALL_OK),
    ("GET", "/reviews/management", "/reviews/management", None, ALL_OK),
    ("GET", "/reviews/iso-change/new", "/reviews/iso-change/new", None, only(200, REVIEWERS)),
    ("POST", "/reviews/iso-change/new", "/reviews/iso-change/new", {}, only(422, REVIEWERS)),
    ("GET", "/reviews/org-change/new", "/reviews/org-change/new", None, only(200, CHANGE_PROPOSERS)),
    ("POST", "/reviews/org-change/new", "/reviews/org-change/new", {}, only(422, CHANGE_PROPOSERS)),
    ("GET", "/reviews/management/new", "/reviews/management/new", None, only(200, REVIEWERS)),
    ("POST", "/reviews/management/new", "/reviews/management/new", {}, only(422, REVIEWERS)),
    ("GET", "/reviews/<kind>/<id:review_id>", "/reviews/iso-change/{iso_review}", None, ALL_OK),
    ("GET", "/reviews/<kind>/<id:review_id>", "/reviews/org-change/{org_review}", None, ALL_OK),
    ("GET", "/reviews/<kind>/<id:review_id>", "/reviews/management/{management_review}", None, ALL_OK),
    (
        "POST",
        "/reviews/<kind>/<id:review_id>/events/<event>",
        "/reviews/iso-change/{iso_review}/events/complete_gap_analysis",
        {"summary": "Done"},
        only(422, ("manager",)),  # a manager signs the gap assessment: the password is asked first
    ),
    (
        "POST",
        "/reviews/<kind>/<id:review_id>/events/<event>",
        "/reviews/org-change/{org_review}/events/start_assessment",
        {},
        only(302, REVIEWERS),
    ),
    (
        "POST",
        "/reviews/<kind>/<id:review_id>/actions",
        "/reviews/iso-change/{iso_review}/actions",
        {},
        only(422, REVIEWERS),
    ),
    (
        "POST",
        "/review-actions/<id:action_id>/complete",
        "/review-actions/{review_action}/complete",
        {},
        only(422, (*REVIEWERS, "process_owner")),  # the process owner owns the action
    ),
    (
        "POST",
        "/review-actions/<id:action_id>/cancel",
        "/review-actions/{review_action}/cancel",
        {},
        only(422, REVIEWERS),
    ),
    (
        "POST",
        "/reviews/iso-change/<id:review_id>/items/<id:item_id>",
        "/reviews/iso-change/{iso_review}/items/{iso_item}",
        {},
        only(422, REVIEWERS),
    ),
    (
        "POST",
        "/reviews/iso-change/<id:review_id>/verification",
        "/reviews/iso-change/{iso_review}/verification",
        {},
        only(409, REVIEWERS),  # verification is linked during implementation
    ),
    (
        "POST",
        "/reviews/org-change/<id:review_id>/impacts",
        "/reviews/org-change/{org_review}/impacts",
        {},
        only(422, CHANGE_PROPOSERS),
    ),
    (
        "POST",
        "/reviews/org-change/<id:review_id>/impacts/<id:impact_id>/remove",
        "/reviews/org-change/{org_review}/impacts/{impact}/remove",
        {},
        only(302, CHANGE_PROPOSERS),
    ),
    (
        "POST",
        "/reviews/management/<id:review_id>/compile",
        "/reviews/management/{management_review}/compile",
        {},
        only(302, REVIEWERS),
    ),
    (
        "POST",
        "/reviews/management/<id:review_id>/inputs/<key>",
        "/reviews/management/{management_review}/inputs/resources",
        {"notes": "Two more auditors"},
        only(302, REVIEWERS),
    ),
    (
        "GET",
        "/reviews/management/<id:review_id>/minutes.pdf",
        "/reviews/management/{management_review}/minutes.pdf",
        None,
        dict.fromkeys(SIGNED_IN, MINUTES_PDF) | {"anonymous": 302},
    ),
    ("GET", "/standards", "/standards", None, ALL_OK),
    ("POST", "/standards/import", "/standards/import", {}, only(422, STANDARD_IMPORTERS)),
    # the implementation board: everyone reads; managers and quality officers build it; owners link evidence
    ("GET", "/implementation", "/implementation", None, ALL_OK),
    ("POST", "/implementation/build", "/implementation/build", {}, only(302, REVIEWERS)),
    ("GET", "/implementation/<id:item_id>", "/implementation/{board_item}", None, ALL_OK),
    (
        "POST",
        "/implementation/<id:item_id>/events/<event>",
        "/implementation/{board_item}/events/document",
        {},
        only(409, BOARD_MOVERS),  # permitted roles: blocked until a controlled document is linked
    ),
    (
        "POST",
        "/implementation/<id:item_id>/evidence",
        "/implementation/{board_item}/evidence",
        {},
        only(422, BOARD_MOVERS),
    ),
    (
        "POST",
        "/implementation/<id:item_id>/evidence/<int:index>/remove",
        "/implementation/{board_item}/evidence/0/remove",
        {},
        only(422, BOARD_MOVERS),  # there is no evidence to remove
    ),
    ("GET", "/admin/users", "/admin/users", None, only(200, ("admin",))),
    ("GET", "/admin/numbering", "/admin/numbering", None, only(200, ("admin",))),
    ("POST", "/admin/numbering", "/admin/numbering", {"policy": "no seq"}, only(422, ("admin",))),
    ("POST", "/admin/users", "/admin/users", {}, only(422, ("admin",))),
    ("GET", "/admin/users/<id:user_id>", "/admin/users/{user}", None, only(200, ("admin",))),
    ("POST", "/admin/users/<id:user_id>", "/admin/users/{user}", {}, only(422, ("admin",))),
    ("POST", "/admin/users/<id:user_id>/password", "/admin/users/{user}/password", {}, only(422, ("admin",))),
    # background work: exports are downloaded by whoever asked (the process owner here) and admins
    ("GET", "/exports", "/exports", None, ALL_OK),
    ("POST", "/exports", "/exports", {}, only(422, SIGNED_IN)),
    ("GET", "/exports/<id:export_id>", "/exports/{export}", None, only(200, ("admin", "process_owner"))),
    (
        "GET",
        "/exports/<id:export_id>/download",
        "/exports/{export}/download",
        None,
        only(200, ("admin", "process_owner")),
    ),
    ("GET", "/admin/jobs", "/admin/jobs", None, only(200, ("admin",))),
    ("POST", "/account/email", "/account/email", {}, only(302, SIGNED_IN)),
    # ISO 9001:2026: the transition (issue 18)
    (
        "POST",
        "/certifications/<id:certification_id>/transition-audit",
        "/certifications/{certification}/transition-audit",
        {"planned_on": "2099-01-01"},
        only(409, CERT_MANAGERS),  # permitted roles: the certificate is not in force yet
    ),
    (
        "POST",
        "/certifications/<id:certification_id>/edition",
        "/certifications/{certification}/edition",
        {"decided_on": "2026-01-01"},
        only(409, CERT_MANAGERS),
    ),
    (
        "POST",
        "/reviews/iso-change/<id:review_id>/transition-audit",
        "/reviews/iso-change/{iso_review}/transition-audit",
        {"planned_start": "2099-01-01"},
        only(409, REVIEWERS),  # permitted roles: not before the gap assessment is signed
    ),
    (
        "GET",
        "/reviews/iso-change/<id:review_id>/transition-plan.pdf",
        "/reviews/iso-change/{iso_review}/transition-plan.pdf",
        None,
        ALL_OK,
    ),
    ("POST", "/standards/mappings/import", "/standards/mappings/import", {}, only(422, STANDARD_IMPORTERS)),
    (
        "POST",
        "/standards/mappings/<id:mapping_id>/remove",
        "/standards/mappings/{mapping}/remove",
        {},
        only(302, STANDARD_IMPORTERS),
    ),
    (
        "GET",
        "/standards/<string(maxlength=60):identifier>/edition",
        "/standards/iso-9001-2026/edition",
        None,
        only(200, ("admin",)),
    ),
    (
        "POST",
        "/standards/<string(maxlength=60):identifier>/edition",
        "/standards/iso-9001-2026/edition",
        {"status": "nope"},
        only(422, ("admin",)),
    ),
    # competence and training: the catalogue and training for everyone; the matrix and people's records for
    # those who sample or keep them (each person sees their own); changes by competence managers
    ("GET", "/competence", "/competence", None, only(200, COMPETENCE_VIEWERS)),
    ("GET", "/competence/matrix.pdf", "/competence/matrix.pdf", None, only(200, COMPETENCE_VIEWERS)),
    ("GET", "/competence/matrix.xlsx", "/competence/matrix.xlsx", None, only(200, COMPETENCE_VIEWERS)),
    ("POST", "/competence/needs-from-gaps", "/competence/needs-from-gaps", {}, only(302, COMPETENCE_MANAGERS)),
    ("GET", "/competences", "/competences", None, ALL_OK),
    ("POST", "/competences", "/competences", {"name": ""}, only(422, COMPETENCE_MANAGERS)),
    ("POST", "/job-roles", "/job-roles", {"name": ""}, only(422, COMPETENCE_MANAGERS)),
    ("GET", "/competences/<id:competence_id>", "/competences/{competence}", None, ALL_OK),
    (
        "POST",
        "/competences/<id:competence_id>",
        "/competences/{competence}",
        {"name": ""},
        only(422, COMPETENCE_MANAGERS),
    ),
    (
        "POST",
        "/competences/<id:competence_id>/requirements",
        "/competences/{competence}/requirements",
        {"scope": "nowhere"},
        only(422, COMPETENCE_MANAGERS),
    ),
    (
        "POST",
        "/competence-requirements/<id:requirement_id>/delete",
        "/competence-requirements/{requirement}/delete",
        {},
        only(302, COMPETENCE_MANAGERS),
    ),
    ("GET", "/people/<id:user_id>", "/people/{user}", None, only(200, (*COMPETENCE_VIEWERS, "viewer"))),
    (
        "POST",
        "/people/<id:user_id>/profile",
        "/people/{user}/profile",
        {"job_role_id": "999"},
        only(422, COMPETENCE_MANAGERS),
    ),
    ("POST", "/people/<id:user_id>/records", "/people/{user}/records", {}, only(422, COMPETENCE_MANAGERS)),
    (
        "GET",
        "/people/<id:user_id>/training-record.pdf",
        "/people/{user}/training-record.pdf",
        None,
        only(200, (*COMPETENCE_VIEWERS, "viewer")),
    ),
    ("GET", "/competence/preconditions", "/competence/preconditions", None, only(200, ("admin",))),
    (
        "POST",
        "/competence/preconditions",
        "/competence/preconditions",
        {"assignment": "nothing"},
        only(422, ("admin",)),
    ),
    ("GET", "/training", "/training", None, ALL_OK),
    ("GET", "/training/new", "/training/new", None, only(200, COMPETENCE_MANAGERS)),
    ("POST", "/training/new", "/training/new", {"title": ""}, only(422, COMPETENCE_MANAGERS)),
    ("GET", "/training/<id:session_id>", "/training/{training}", None, ALL_OK),
    (
        "POST",
        "/training/<id:session_id>/events/<event>",
        "/training/{training}/events/hold",
        {},
        only(422, ("manager", "quality_officer")),  # the day it was held is missing
    ),
    ("POST", "/training/<id:session_id>/invite", "/training/{training}/invite", {}, only(302, COMPETENCE_MANAGERS)),
    (
        "POST",
        "/training/<id:session_id>/attendance",
        "/training/{training}/attendance",
        {"attended": "999"},
        only(422, COMPETENCE_MANAGERS),
    ),
    (
        "POST",
        "/training/<id:session_id>/evaluations",
        "/training/{training}/evaluations",
        {},
        only(409, COMPETENCE_MANAGERS),  # evaluated once held
    ),
    ("POST", "/training/<id:session_id>/attachments", "/training/{training}/attachments", {}, only(302, RAISERS)),
    ("GET", "/training/needs", "/training/needs", None, ALL_OK),
    ("POST", "/training/needs", "/training/needs", {}, only(422, COMPETENCE_MANAGERS)),
    (
        "POST",
        "/training/needs/<id:need_id>/cancel",
        "/training/needs/{need}/cancel",
        {},
        only(422, COMPETENCE_MANAGERS),
    ),
    ("GET", "/favicon.ico", "/favicon.ico", None, PUBLIC),
    ("GET", "/nonconformities/<id:nc_id>/events/<event>", "/nonconformities/{nc}/events/triage", None, BACK_TO_PAGE),
    (
        "GET",
        "/corrective-actions/<id:action_id>/events/<event>",
        "/corrective-actions/{action}/events/implement",
        None,
        BACK_TO_PAGE,
    ),
    ("GET", "/revisions/<id:revision_id>/events/<event>", "/revisions/{revision}/events/approve", None, BACK_TO_PAGE),
    ("GET", "/audits/<id:audit_id>/events/<event>", "/audits/{audit}/events/schedule", None, BACK_TO_PAGE),
    ("GET", "/surveys/<id:survey_id>/events/<event>", "/surveys/{survey}/events/reopen", None, BACK_TO_PAGE),
    ("GET", "/complaints/<id:complaint_id>/events/<event>", "/complaints/{complaint}/events/close", None, BACK_TO_PAGE),
    (
        "GET",
        "/certifications/<id:certification_id>/events/<event>",
        "/certifications/{certification}/events/ready_for_stage2",
        None,
        BACK_TO_PAGE,
    ),
    (
        "GET",
        "/reviews/<kind>/<id:review_id>/events/<event>",
        "/reviews/iso-change/{iso_review}/events/complete_gap_analysis",
        None,
        BACK_TO_PAGE,
    ),
    (
        "GET",
        "/implementation/<id:item_id>/events/<event>",
        "/implementation/{board_item}/events/document",
        None,
        BACK_TO_PAGE,
    ),
    # no password step first: back to the sign-in page, whoever asks
    ("GET", "/login/second-factor", "/login/second-factor", None, dict.fromkeys(ROLES, 302)),
    ("POST", "/login/second-factor", "/login/second-factor", {"code": "123456"}, dict.fromkeys(ROLES, 302)),
    ("GET", "/account/mfa", "/account/mfa", None, ALL_OK),
    ("POST", "/account/mfa/start", "/account/mfa/start", {}, only(200, SIGNED_IN)),
    ("POST", "/account/mfa/confirm", "/account/mfa/confirm", {}, only(422, SIGNED_IN)),
    ("POST", "/account/mfa/off", "/account/mfa/off", {}, only(302, SIGNED_IN)),
    ("GET", "/admin/security", "/admin/security", None, only(200, ("admin",))),
    ("POST", "/admin/security", "/admin/security", {}, only(422, ("admin",))),
    (
        "POST",
        "/admin/users/<id:user_id>/unlock-signing",
        "/admin/users/{user}/unlock-signing",
        {},
        only(302, ("admin",)),
    ),
    ("POST", "/admin/users/<id:user_id>/mfa/reset", "/admin/users/{user}/mfa/reset", {}, only(302, ("admin",))),
    # the risk register and the context of the organisation (ISO 9001 4.1, 4.2, 6.1)
    ("GET", "/risks", "/risks", None, ALL_OK),
    ("GET", "/risks/heat-map", "/risks/heat-map", None, ALL_OK),
    ("GET", "/risks/register.pdf", "/risks/register.pdf", None, ALL_OK),
    ("GET", "/risks/new", "/risks/new", None, only(200, RISK_KEEPERS)),
    ("POST", "/risks/new", "/risks/new", {"title": ""}, only(422, RISK_KEEPERS)),
    ("GET", "/risks/<id:risk_id>", "/risks/{risk}", None, ALL_OK),
    ("GET", "/risks/<id:risk_id>/edit", "/risks/{risk}/edit", None, only(200, RISK_KEEPERS)),
    ("POST", "/risks/<id:risk_id>/edit", "/risks/{risk}/edit", {"title": ""}, only(422, RISK_KEEPERS)),
    ("POST", "/risks/<id:risk_id>/events/<event>", "/risks/{risk}/events/close", {}, only(409, CONTEXT_KEEPERS)),
    ("POST", "/risks/<id:risk_id>/actions", "/risks/{planned_risk}/actions", {}, only(422, RISK_KEEPERS)),
    ("GET", "/risk-actions/<id:action_id>", "/risk-actions/{risk_action}", None, ALL_OK),
    (
        "POST",
        "/risk-actions/<id:action_id>/events/<event>",
        "/risk-actions/{risk_action}/events/verify",
        {},
        only(409, ("manager", "quality_officer", "internal_auditor")),  # a planned action is not implemented
    ),
    (
        "POST",
        "/nonconformities/<id:nc_id>/realised-risks",
        "/nonconformities/{nc}/realised-risks",
        {},
        only(422, RISK_CITERS),
    ),
    # the planning gaps: the register's spreadsheets, findings and changes citing risks
    ("GET", "/risks/export.csv", "/risks/export.csv", None, ALL_OK),
    ("GET", "/risks/export.xlsx", "/risks/export.xlsx", None, ALL_OK),
    (
        "POST",
        "/checklist-items/<id:item_id>/realised-risks",
        "/checklist-items/{item}/realised-risks",
        {},
        only(302, RISK_CITERS),  # refused with a message on the checklist
    ),
    ("POST", "/changes/<id:change_id>/risks", "/changes/{change}/risks", {}, only(422, CHANGE_PROPOSERS)),
    (
        "POST",
        "/changes/<id:change_id>/risks/<id:link_id>/remove",
        "/changes/{change}/risks/2147483647/remove",
        {},
        only(404, CHANGE_PROPOSERS),
    ),
    ("GET", "/risks/<id:risk_id>/events/<event>", "/risks/{risk}/events/close", None, BACK_TO_PAGE),
    (
        "GET",
        "/risk-actions/<id:action_id>/events/<event>",
        "/risk-actions/{risk_action}/events/verify",
        None,
        BACK_TO_PAGE,
    ),
    (
        "GET",
        "/context/reviews/<id:review_id>/events/<event>",
        "/context/reviews/{context_review}/events/complete",
        None,
        BACK_TO_PAGE,
    ),
    ("GET", "/context", "/context", None, ALL_OK),
    ("GET", "/context/issues", "/context/issues", None, ALL_OK),
    ("GET", "/context/issues/new", "/context/issues/new", None, only(200, CONTEXT_KEEPERS)),
    ("POST", "/context/issues/new", "/context/issues/new", {}, only(422, CONTEXT_KEEPERS)),
    ("GET", "/context/issues/<id:issue_id>", "/context/issues/{issue}", None, ALL_OK),
    ("POST", "/context/issues/<id:issue_id>", "/context/issues/{issue}", {}, only(422, RISK_KEEPERS)),
    ("GET", "/context/parties", "/context/parties", None, ALL_OK),
    ("GET", "/context/parties/new", "/context/parties/new", None, only(200, CONTEXT_KEEPERS)),
    ("POST", "/context/parties/new", "/context/parties/new", {}, only(422, CONTEXT_KEEPERS)),
    ("GET", "/context/parties/<id:party_id>", "/context/parties/{party}", None, ALL_OK),
    ("POST", "/context/parties/<id:party_id>", "/context/parties/{party}", {}, only(422, RISK_KEEPERS)),
    ("GET", "/context/summary.pdf", "/context/summary.pdf", None, ALL_OK),
    ("GET", "/context/reviews", "/context/reviews", None, ALL_OK),
    ("GET", "/context/reviews/new", "/context/reviews/new", None, only(200, CONTEXT_KEEPERS)),
    ("POST", "/context/reviews/new", "/context/reviews/new", {}, only(422, CONTEXT_KEEPERS)),
    ("GET", "/context/reviews/<id:review_id>", "/context/reviews/{context_review}", None, ALL_OK),
    (
        "POST",
        "/context/reviews/<id:review_id>/events/<event>",
        "/context/reviews/{context_review}/events/complete",
        {},
        only(409, ("manager",)),  # a planned review is started first
    ),
    # planning: quality objectives, opportunities and innovation, planned changes
    ("GET", "/objectives", "/objectives", None, ALL_OK),
    (
        "GET",
        "/objectives/<id:objective_id>/events/<event>",
        "/objectives/{objective}/events/approve",
        None,
        BACK_TO_PAGE,
    ),
    (
        "GET",
        "/opportunities/<id:opportunity_id>/events/<event>",
        "/opportunities/{opportunity}/events/evaluate",
        None,
        BACK_TO_PAGE,
    ),
    ("GET", "/changes/<id:change_id>/events/<event>", "/changes/{change}/events/submit", None, BACK_TO_PAGE),
    ("GET", "/objectives/new", "/objectives/new", None, only(200, OBJECTIVE_SETTERS)),
    ("POST", "/objectives/new", "/objectives/new", {"title": ""}, only(422, OBJECTIVE_SETTERS)),
    ("GET", "/objectives/report.pdf", "/objectives/report.pdf", None, ALL_OK),
    ("GET", "/objectives/<id:objective_id>", "/objectives/{objective}", None, ALL_OK),
    ("GET", "/objectives/<id:objective_id>/edit", "/objectives/{objective}/edit", None, only(200, OBJECTIVE_SETTERS)),
    (
        "POST",
        "/objectives/<id:objective_id>/edit",
        "/objectives/{objective}/edit",
        {"title": ""},
        only(422, OBJECTIVE_SETTERS),
    ),
    (
        "POST",
        "/objectives/<id:objective_id>/events/<event>",
        "/objectives/{objective}/events/approve",
        {},
        only(422, ("manager",)),  # the signature is missing
    ),
    (
        "POST",
        "/objectives/<id:objective_id>/values",
        "/objectives/{active_objective}/values",
        {"value": ""},
        only(422, OBJECTIVE_SETTERS),  # the process owner owns it
    ),
    (
        "POST",
        "/objectives/<id:objective_id>/values/import",
        "/objectives/{active_objective}/values/import",
        {},
        only(422, OBJECTIVE_SETTERS),  # no file
    ),
    (
        "POST",
        "/objectives/<id:objective_id>/recompute",
        "/objectives/{active_objective}/recompute",
        {},
        only(409, OBJECTIVE_SETTERS),  # its KPI is typed in: nothing to compute
    ),
    ("GET", "/opportunities", "/opportunities", None, ALL_OK),
    ("GET", "/opportunities/new", "/opportunities/new", None, only(200, RAISERS)),
    ("POST", "/opportunities/new", "/opportunities/new", {"title": ""}, only(422, RAISERS)),
    ("GET", "/opportunities/committees", "/opportunities/committees", None, ALL_OK),
    ("POST", "/opportunities/committees", "/opportunities/committees", {"name": ""}, only(422, REVIEWERS)),
    ("GET", "/opportunities/<id:opportunity_id>", "/opportunities/{opportunity}", None, ALL_OK),
    (
        "GET",
        "/opportunities/<id:opportunity_id>/events/<event>",
        "/opportunities/{opportunity}/events/evaluate",
        None,
        BACK_TO_PAGE,
    ),
    (
        "POST",
        "/opportunities/<id:opportunity_id>/edit",
        "/opportunities/{opportunity}/edit",
        {"description": ""},
        only(422, PLANNERS),  # its owner (the process owner), quality officers and managers
    ),
    (
        "POST",
        "/opportunities/<id:opportunity_id>/events/<event>",
        "/opportunities/{opportunity}/events/evaluate",
        {},
        only(422, PLANNERS),
    ),
    ("GET", "/changes", "/changes", None, ALL_OK),
    ("GET", "/changes/new", "/changes/new", None, only(200, CHANGE_PROPOSERS)),
    ("POST", "/changes/new", "/changes/new", {"title": ""}, only(422, CHANGE_PROPOSERS)),
    ("GET", "/changes/<id:change_id>", "/changes/{change}", None, ALL_OK),
    ("GET", "/changes/<id:change_id>/edit", "/changes/{change}/edit", None, only(200, CHANGE_PROPOSERS)),
    ("POST", "/changes/<id:change_id>/edit", "/changes/{change}/edit", {"title": ""}, only(422, CHANGE_PROPOSERS)),
    (
        "POST",
        "/changes/<id:change_id>/events/<event>",
        "/changes/{change}/events/submit",
        {},
        only(409, CHANGE_PROPOSERS),  # its plan is not written
    ),
    ("POST", "/changes/<id:change_id>/tasks", "/changes/{change}/tasks", {"title": ""}, only(422, CHANGE_PROPOSERS)),
    (
        "POST",
        "/changes/tasks/<id:task_id>/complete",
        "/changes/tasks/{change_task}/complete",
        {"outcome": ""},
        only(422, CHANGE_PROPOSERS),  # its owner (the process owner), quality officers and managers
    ),
    (
        "POST",
        "/reviews/org-change/<id:review_id>/change-request",
        "/reviews/org-change/{org_review}/change-request",
        {},
        only(302, CHANGE_PROPOSERS),
    ),
    # suppliers (8.4): the register, evaluations, deliveries, the approved list, SCARs and the public answer page
    ("GET", "/suppliers", "/suppliers", None, ALL_OK),
    ("GET", "/suppliers/new", "/suppliers/new", None, only(200, SUPPLIER_MANAGERS)),
    ("POST", "/suppliers/new", "/suppliers/new", {"name": ""}, only(422, SUPPLIER_MANAGERS)),
    ("GET", "/suppliers/<id:supplier_id>", "/suppliers/{supplier}", None, ALL_OK),
    ("GET", "/suppliers/<id:supplier_id>/edit", "/suppliers/{supplier}/edit", None, only(200, SUPPLIER_MANAGERS)),
    ("GET", "/suppliers/<id:supplier_id>/events/<event>", "/suppliers/{supplier}/events/approve", None, BACK_TO_PAGE),
    (
        "POST",
        "/suppliers/<id:supplier_id>/edit",
        "/suppliers/{supplier}/edit",
        {"name": ""},
        only(422, SUPPLIER_MANAGERS),
    ),
    (
        "POST",
        "/suppliers/<id:supplier_id>/events/<event>",
        "/suppliers/{supplier}/events/approve",
        {},
        only(409, REVIEWERS),  # a prospective supplier is not approved directly
    ),
    ("POST", "/suppliers/<id:supplier_id>/evaluations", "/suppliers/{supplier}/evaluations", {}, only(422, REVIEWERS)),
    ("POST", "/suppliers/<id:supplier_id>/deliveries", "/suppliers/{supplier}/deliveries", {}, only(422, BOARD_MOVERS)),
    (
        "POST",
        "/suppliers/<id:supplier_id>/deliveries/import",
        "/suppliers/{supplier}/deliveries/import",
        {},
        only(422, BOARD_MOVERS),
    ),
    (
        "POST",
        "/suppliers/<id:supplier_id>/certificates",
        "/suppliers/{supplier}/certificates",
        {},
        only(302, SUPPLIER_MANAGERS),
    ),
    (
        "POST",
        "/suppliers/<id:supplier_id>/nonconformities",
        "/suppliers/{supplier}/nonconformities",
        {"title": ""},
        only(422, RAISERS),
    ),
    ("GET", "/scars/<id:scar_id>/events/<event>", "/scars/{scar}/events/verify", None, BACK_TO_PAGE),
    (
        "POST",
        "/suppliers/<id:supplier_id>/proposal/dismiss",
        "/suppliers/{supplier}/proposal/dismiss",
        {},
        only(422, REVIEWERS),
    ),
    ("GET", "/suppliers/approved", "/suppliers/approved", None, ALL_OK),
    ("GET", "/suppliers/approved.pdf", "/suppliers/approved.pdf", None, ALL_OK),
    ("GET", "/suppliers/approved.xlsx", "/suppliers/approved.xlsx", None, ALL_OK),
    ("GET", "/scars", "/scars", None, ALL_OK),
    ("GET", "/scars/<id:scar_id>", "/scars/{scar}", None, ALL_OK),
    ("GET", "/scars/<id:scar_id>/report.pdf", "/scars/{scar}/report.pdf", None, ALL_OK),
    (
        "POST",
        "/scars/<id:scar_id>/events/<event>",
        "/scars/{scar}/events/verify",
        {},
        only(409, ("manager", "quality_officer", "internal_auditor")),
    ),
    ("POST", "/nonconformities/<id:nc_id>/scar", "/nonconformities/{nc}/scar", {"request": ""}, only(303, REVIEWERS)),
    ("GET", "/scar/<token>", "/scar/{scar_token}", None, PUBLIC),
    ("GET", "/scar/<token>", "/scar/not-a-link", None, dict.fromkeys(ROLES, 404)),
    ("POST", "/scar/<token>", "/scar/{scar_token}", {}, dict.fromkeys(ROLES, 422)),
    ("GET", "/scar-answered", "/scar-answered", None, PUBLIC),
    ("POST", "/scars/<id:scar_id>/link", "/scars/{scar}/link", {}, only(200, REVIEWERS)),
    # measuring equipment (7.1.5) and out-of-tolerance assessments
    ("GET", "/equipment", "/equipment", None, ALL_OK),
    ("GET", "/equipment/new", "/equipment/new", None, only(200, SUPPLIER_MANAGERS)),
    ("POST", "/equipment/new", "/equipment/new", {"identifier": ""}, only(422, SUPPLIER_MANAGERS)),
    ("GET", "/equipment/<id:equipment_id>", "/equipment/{equipment}", None, ALL_OK),
    ("GET", "/equipment/<id:equipment_id>/edit", "/equipment/{equipment}/edit", None, only(200, SUPPLIER_MANAGERS)),
    (
        "GET",
        "/equipment/<id:equipment_id>/events/<event>",
        "/equipment/{equipment}/events/return_to_service",
        None,
        BACK_TO_PAGE,
    ),
    (
        "POST",
        "/equipment/<id:equipment_id>/edit",
        "/equipment/{equipment}/edit",
        {"name": ""},
        only(422, SUPPLIER_MANAGERS),
    ),
    (
        "POST",
        "/equipment/<id:equipment_id>/events/<event>",
        "/equipment/{equipment}/events/return_to_service",
        {},
        only(409, REVIEWERS),  # it is in service already
    ),
    (
        "GET",
        "/equipment/assessments/<id:assessment_id>/events/<event>",
        "/equipment/assessments/{assessment}/events/close",
        None,
        BACK_TO_PAGE,
    ),
    (
        "POST",
        "/equipment/<id:equipment_id>/calibrations",
        "/equipment/{equipment}/calibrations",
        {},
        only(422, BOARD_MOVERS),
    ),
    ("GET", "/equipment/<id:equipment_id>/label.pdf", "/equipment/{equipment}/label.pdf", None, ALL_OK),
    ("GET", "/equipment/assessments", "/equipment/assessments", None, ALL_OK),
    ("GET", "/equipment/assessments/<id:assessment_id>", "/equipment/assessments/{assessment}", None, ALL_OK),
    (
        "POST",
        "/equipment/assessments/<id:assessment_id>/events/<event>",
        "/equipment/assessments/{assessment}/events/close",
        {},
        only(409, REVIEWERS),  # an open assessment raises an NC or concludes first
    ),
    ("POST", "/checklist-items/<id:item_id>/equipment", "/checklist-items/{item}/equipment", {}, only(302, AUDITOR)),
    ("GET", "/training/<id:session_id>/events/<event>", "/training/{training}/events/hold", None, BACK_TO_PAGE),
]


@pytest.mark.sqlite_only
def test_every_route_is_in_the_matrix(app):
    covered = {(method, rule) for method, rule, *_ in MATRIX}  # a rule may appear twice (two kinds of record)
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule.startswith("/api"):
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if (method, rule.rule) not in covered:
                missing.append(f"{method} {rule.rule}")
    assert not missing, f"routes without an authorisation decision: {missing}"


@pytest.mark.parametrize("role", ROLES)
def test_authorisation_matrix(app, org, role):
    planning = nc_in_state(org, "root_cause_identified")
    nc = new_nc(org)
    action = add_corrective_action(planning, org.quality, title="Fix", owner_id=org.owner.id, due_date="2099-01-01")
    attachment = attach(nc, org.quality, io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "evidence.pdf")
    token, _ = create_token(org.admin, "admin script")
    document = create_document(org.quality, title="Procedure", doc_type="procedure", owner_id=org.quality.id)
    restricted = create_document(
        org.quality, title="Salaries", doc_type="record", owner_id=org.quality.id, confidentiality="restricted"
    )
    revision = add_revision(document, org.quality, stream=io.BytesIO(pdf_bytes("Procedure")), filename="p.pdf")
    process = new_process(org)
    audit = audit_in_state(org, "in_progress", process=process)
    evidence = attach_evidence(audit.items[0], org.auditor, io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "photo.pdf")
    planned_audit = create_audit(org.quality, title="Planned", process_id=process.id, clause_numbers=["8.5.1"])
    generate_checklist(planned_audit, org.quality)
    programme = create_programme(org.quality, year=2026, title="2026", entries=[{"process_id": process.id}])
    feed = new_calendar_feed(org.auditor, org.auditor)
    survey = create_survey(
        org.quality, title="Satisfaction", questions=[{"kind": "nps", "text": "Recommend us?", "required": True}]
    )
    fire(survey, "open", org.quality, {})
    draft_survey = create_survey(
        org.quality,
        title="Draft",
        questions=[{"kind": "rating", "text": "Satisfied?"}, {"kind": "text", "text": "Why?"}],
    )
    complaint = log_complaint(org.quality, channel="phone", summary="Late", description="Two weeks late")
    with recorded_change(None, "bodies loaded") as session:
        ensure_bodies(session)
    kebs = db.session.scalar(select(CertificationBody).where(CertificationBody.code == "kebs"))
    certification = create_certification(org.manager, body_id=kebs.id, scope="Steel doors")
    fire(certification, "record_contract", org.manager, {"signed_on": dt.date.today()})
    fire(certification, "start_stage1", org.quality, {"audit_date": dt.date.today()})
    external_audit = record_external_audit(
        certification,
        org.quality,
        kind="stage1",
        start_date=dt.date.today(),
        findings=[{"body_reference": "F1", "grade": "minor", "description": "Old form in use"}],
    )
    iso_review = open_iso_change_review(
        org.quality, old_standard="iso-9001-2015", new_standard="iso-9001-2015-amd1-2024"
    )
    fire(iso_review, "start_gap_analysis", org.quality)
    review_action = add_action(
        iso_review, org.quality, title="Read the amendment", owner_id=org.owner.id, due_date="2099-01-01"
    )
    org_review = open_org_change_review(
        org.owner, title="Night shift", change_kind="process", description="From March", process_id=process.id
    )
    impact = add_impact(org_review, org.quality, area="risk", subject="Fatigue")
    management_review = plan_management_review(
        org.quality, title="MR 2026", planned_for="2099-01-01", period_start="2025-01-01", period_end="2025-12-31"
    )
    build_board(org.quality)
    board_item = item_for_process(process)
    export = request_export(org.owner, "nc-register", "pdf", {})
    mapping = import_mapping(
        "source,target,relationship\n4.1,4.1,equal\n",
        "csv",
        org.quality,
        source_identifier="iso-9001-2015",
        target_identifier="iso-9001-2026",
    )
    competence = create_competence(org.quality, name="Lead auditing")
    requirement = add_requirement(competence, org.quality, scope="audit_role", target_key="auditor", level="aware")
    training = plan_training(
        org.quality,
        title="Course",
        competence_id=competence.id,
        level="aware",
        planned_on=dt.date.today(),
        trainer_name="KEBS",
        evaluation_method="observation",
        invitee_ids=[org.owner.id],
    )
    need = raise_need(org.quality, user_id=org.owner.id, competence_id=competence.id, level="aware")
    objective = new_objective(org)
    active_objective = new_objective(org, title="Active", owner_id=org.owner.id)
    fire(active_objective, "approve", org.manager, signature_password=PASSWORD)
    fire(active_objective, "activate", org.quality)
    opportunity = propose_opportunity(org.owner, title="E-bikes", description="Faster city deliveries")
    change = request_change(org.owner, title="New warehouse")
    change_task = add_task(change, org.owner, title="Move racks", owner_id=org.owner.id, due_date="2099-01-01")
    supplier = create_supplier(org.quality, name="Kamau Steel", supplies="Steel sheet", criticality="high")
    scar, scar_token = raise_scar(
        raise_supplier_nc(supplier, org.quality, title="Wrong grade", description="S235"), org.quality, request="Fix"
    )
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
    ids = {
        "nc": nc.id,
        "planning_nc": planning.id,
        "action": action.id,
        "attachment": attachment.id,
        "token": token.id,
        "user": org.viewer.id,
        "document": document.id,
        "restricted": restricted.id,
        "revision": revision.id,
        "process": process.id,
        "audit": audit.id,
        "item": audit.items[0].id,
        "evidence": evidence.id,
        "planned_audit": planned_audit.id,
        "planned_item": planned_audit.items[0].id,
        "programme": programme.id,
        "feed": feed,
        "survey": survey.id,
        "survey_token": survey.public_token,
        "draft_survey": draft_survey.id,
        "draft_question": draft_survey.questions[0].id,
        "complaint": complaint.id,
        "body": kebs.id,
        "certification": certification.id,
        "external_audit": external_audit.id,
        "finding": external_audit.findings[0].id,
        "iso_review": iso_review.id,
        "iso_item": iso_review.items[0].id,
        "review_action": review_action.id,
        "org_review": org_review.id,
        "impact": impact.id,
        "management_review": management_review.id,
        "board_item": board_item.id,
        "export": export.id,
        "mapping": mapping.id,
        "competence": competence.id,
        "requirement": requirement.id,
        "training": training.id,
        "need": need.id,
        "objective": objective.id,
        "active_objective": active_objective.id,
        "opportunity": opportunity.id,
        "change": change.id,
        "change_task": change_task.id,
        "supplier": supplier.id,
        "scar": scar.id,
        "scar_token": scar_token,
        "equipment": equipment.id,
        "assessment": assessment.id,
    }
    ids.update(planning_ids(org))
    users = {
        "admin": org.admin,
        "manager": org.manager,
        "quality_officer": org.quality,
        "internal_auditor": org.auditor,
        "process_owner": org.owner,
        "viewer": org.viewer,
    }
    client = app.test_client()
    if role != "anonymous":
        assert login(client, users[role].email).status_code == 302
    mismatches = []
    for method, _rule, template, data, expected in MATRIX:
        if role not in expected:
            continue
        url = template.format(**ids)
        if template == "/logout":
            continue  # signing out would end this role's session; checked last
        response = client.get(url) if method == "GET" else client.post(url, data=data)
        if response.status_code != expected[role]:
            mismatches.append(f"{method} {url}: {response.status_code}, expected {expected[role]}")
    logout = client.post("/logout")
    if logout.status_code != 302:
        mismatches.append(f"POST /logout: {logout.status_code}")
    assert not mismatches, "\n".join(mismatches)
