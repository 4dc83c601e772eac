"""The OpenAPI document is valid and the API keeps to it: schemathesis against the app, in-process.

Each operation (but token revocation, which would revoke the very token the
run uses) gets a bounded number of generated requests as a quality officer,
data that fits the document and data that does not: no answer may be a server
error, and every answer must match the document (status, body, error format).

``schemathesis.pytest.from_fixture`` would be the natural fit for an app built
by fixtures, but schemathesis 4.32 sets ``Node._nodeid``, which pytest 9.2 no
longer has; so the cases come from each operation's Hypothesis strategy.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from qms.services import fire
from qms.services.attachments import attach
from qms.services.audits import create_programme
from qms.services.complaints import log_complaint
from qms.services.documents import add_revision, create_document
from qms.services.nonconformities import add_progress_note
from qms.services.surveys import create_survey, submit_response
from qms.services.tokens import create_token

from .helpers import audit_in_state, nc_in_state, new_process
from .test_customers import QUESTIONS as SURVEY_QUESTIONS
from .test_documents import pdf_bytes

MAX_EXAMPLES = 20
NC = "/api/v1/nonconformities/{nc_id}"
CA = "/api/v1/corrective-actions/{action_id}"
AUDIT = "/api/v1/audits/{audit_id}"
SURVEY = "/api/v1/surveys/{survey_id}"
COMPLAINT = "/api/v1/complaints/{complaint_id}"
OPERATIONS = [
    ("GET", "/api/v1/nonconformities"),
    ("POST", "/api/v1/nonconformities"),
    ("GET", NC),
    ("GET", f"{NC}/history"),
    ("GET", f"{NC}/events"),
    ("POST", f"{NC}/events/{{event}}"),
    ("GET", f"{NC}/attachments"),
    ("POST", f"{NC}/attachments"),
    ("GET", f"{NC}/corrective-actions"),
    ("POST", f"{NC}/corrective-actions"),
    ("GET", "/api/v1/corrective-actions"),
    ("GET", CA),
    ("GET", f"{CA}/history"),
    ("GET", f"{CA}/events"),
    ("POST", f"{CA}/events/{{event}}"),
    ("POST", f"{CA}/notes"),
    ("GET", f"{CA}/attachments"),
    ("POST", f"{CA}/attachments"),
    ("GET", "/api/v1/attachments/{attachment_id}/content"),
    ("GET", "/api/v1/users"),
    ("POST", "/api/v1/users"),
    ("GET", "/api/v1/users/{user_id}"),
    # Changing accounts and passwords would change who may sign in; the quality officer the
    # run speaks as is refused them (403) before the body is read, so fuzzing them is harmless.
    ("PATCH", "/api/v1/users/{user_id}"),
    ("POST", "/api/v1/users/{user_id}/password"),
    ("GET", "/api/v1/tokens"),
    ("POST", "/api/v1/tokens"),
    ("GET", "/api/v1/documents"),
    ("POST", "/api/v1/documents"),
    ("GET", "/api/v1/documents/{document_id}"),
    ("GET", "/api/v1/documents/{document_id}/revisions"),
    ("POST", "/api/v1/documents/{document_id}/revisions"),
    ("GET", "/api/v1/revisions/{revision_id}"),
    ("GET", "/api/v1/revisions/{revision_id}/history"),
    ("GET", "/api/v1/revisions/{revision_id}/events"),
    ("POST", "/api/v1/revisions/{revision_id}/events/{event}"),
    ("GET", "/api/v1/revisions/{revision_id}/file"),
    ("POST", "/api/v1/revisions/{revision_id}/acknowledge"),
    ("GET", "/api/v1/acknowledgements"),
    ("GET", "/api/v1/standards"),
    ("POST", "/api/v1/standards"),
    ("GET", "/api/v1/standards/{identifier}"),
    ("GET", "/api/v1/standards/{old}/diff/{new}"),
    ("GET", "/api/v1/audit-programmes"),
    ("POST", "/api/v1/audit-programmes"),
    ("GET", "/api/v1/audit-programmes/{programme_id}"),
    ("POST", "/api/v1/audit-programmes/{programme_id}/generate"),
    ("GET", "/api/v1/audits"),
    ("POST", "/api/v1/audits"),
    ("GET", "/api/v1/audits/coverage"),
    ("GET", AUDIT),
    ("GET", f"{AUDIT}/history"),
    ("GET", f"{AUDIT}/events"),
    ("POST", f"{AUDIT}/events/{{event}}"),
    ("PUT", f"{AUDIT}/team"),
    ("GET", f"{AUDIT}/checklist"),
    ("POST", f"{AUDIT}/checklist"),
    ("POST", f"{AUDIT}/checklist/generate"),
    ("PATCH", f"{AUDIT}/checklist/{{item_id}}"),
    ("DELETE", f"{AUDIT}/checklist/{{item_id}}"),
    ("PUT", f"{AUDIT}/checklist/{{item_id}}/answer"),
    ("GET", "/api/v1/surveys"),
    ("POST", "/api/v1/surveys"),
    ("GET", SURVEY),
    ("PATCH", SURVEY),
    ("GET", f"{SURVEY}/history"),
    ("GET", f"{SURVEY}/events"),
    ("POST", f"{SURVEY}/events/{{event}}"),
    ("POST", f"{SURVEY}/questions"),
    ("PATCH", f"{SURVEY}/questions/{{question_id}}"),
    ("DELETE", f"{SURVEY}/questions/{{question_id}}"),
    ("POST", f"{SURVEY}/responses"),
    ("POST", f"{SURVEY}/responses/import"),
    ("GET", f"{SURVEY}/measures"),
    ("POST", f"{SURVEY}/invitations"),
    ("POST", f"{SURVEY}/rules/apply"),
    ("GET", f"{SURVEY}/report.pdf"),
    ("GET", "/api/v1/complaints"),
    ("POST", "/api/v1/complaints"),
    ("GET", "/api/v1/complaints/platforms"),
    ("GET", "/api/v1/complaints/platforms.pdf"),
    ("GET", COMPLAINT),
    ("GET", f"{COMPLAINT}/history"),
    ("GET", f"{COMPLAINT}/events"),
    ("POST", f"{COMPLAINT}/events/{{event}}"),
]
NOT_FUZZED = [("DELETE", "/api/v1/tokens/{token_id}")]


@pytest.fixture
def quality_token(org) -> str:
    return create_token(org.quality, "schemathesis")[1]


@pytest.fixture
def api_schema(app) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


@pytest.fixture
def existing_ids(org) -> dict[str, int]:
    """Path ids of records that exist, so that answers are not all 404 (unknown ids are test_api's)."""
    nc = nc_in_state(org, "action_planned")
    action = nc.actions[0]
    add_progress_note(action, org.owner, "Started on the reminders")
    attachment = attach(action, org.owner, io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "reminders.pdf")
    document = create_document(org.quality, title="Procedure", doc_type="procedure", owner_id=org.quality.id)
    revision = add_revision(document, org.owner, stream=io.BytesIO(pdf_bytes("Procedure")), filename="p.pdf")
    # an audit in progress whose lead auditor is the quality officer the run speaks as, so that
    # answers are accepted; its process belongs to someone else
    process = new_process(org)
    audit = audit_in_state(org, "in_progress", process=process, lead=org.quality)
    programme = create_programme(org.quality, year=2026, title="Programme 2026")
    # an open survey with every kind of question and a few responses, and a complaint received
    survey = create_survey(org.quality, title="Satisfaction", questions=SURVEY_QUESTIONS, nps_threshold=50)
    fire(survey, "open", org.quality, {})
    for value in (2, 9, 10):
        submit_response(survey, {f"q{survey.questions[0].id}": value}, channel="phone")
    complaint = log_complaint(org.quality, channel="facebook", summary="Slow", description="D", customer_handle="@a")
    return {
        "audit_id": audit.id,
        "item_id": audit.items[0].id,
        "programme_id": programme.id,
        "identifier": "iso-9001-2015",
        "old": "iso-9001-2008",
        "new": "iso-9001-2015",
        "nc_id": nc.id,
        "action_id": action.id,
        "user_id": org.owner.id,
        "attachment_id": attachment.id,
        "document_id": document.id,
        "revision_id": revision.id,
        "survey_id": survey.id,
        "question_id": survey.questions[1].id,
        "complaint_id": complaint.id,
    }


def test_the_openapi_document_is_valid_and_lists_every_operation(api_schema):
    operations = [result.ok() for result in api_schema.get_all_operations()]  # .ok() raises on an invalid one
    assert {(op.method.upper(), op.path) for op in operations} == set(OPERATIONS + NOT_FUZZED)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_answers_conform_to_the_document(api_schema, quality_token, existing_ids, method, path):
    operation = api_schema[path][method]
    pinned = {name: value for name, value in existing_ids.items() if f"{{{name}}}" in path}
    headers = {"Authorization": f"Bearer {quality_token}"}

    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        # The inner test reuses this test's app and data on purpose (one database per run); the
        # function-scoped-fixture health check is about @given tests that take fixtures, suppressed
        # explicitly in case a Hypothesis version applies it here.
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        @given(case=operation.as_strategy(generation_mode=mode, path_parameters=pinned))
        def conforms(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error, response_schema_conformance])

        conforms()
