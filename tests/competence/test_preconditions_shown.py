"""Competence preconditions on an assignment made by an event (verifier of a corrective action,
approver of a document type, owner of a complaint its acknowledger becomes) block the event when
it is fired and show it blocked, with the reason, wherever the available events are listed: the
record page, the API's available events and each resource's ``available_events``."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest

from qms.services import available_events, fire
from qms.services.competence import add_requirement, create_competence, record_competence, set_precondition
from qms.services.complaints import submit_public_complaint
from qms.services.documents import add_revision, create_document
from qms.services.nonconformities import add_corrective_action
from workflows.errors import GuardFailed

from ..conftest import PASSWORD, login
from ..documents.test_services import pdf_bytes
from ..helpers import nc_in_state, ok

TODAY = dt.date.today()


def _blocked(events, name: str) -> str | None:
    found = next(a for a in events if a.name == name)
    return None if found.allowed else found.reason


def _page_reason(html: str, event: str) -> str | None:
    """The reason shown beside a disabled event button on a record page (None: not shown blocked)."""
    match = re.search(rf'<span class="blocked" id="why-{event}">([^<]*)</span>', html)
    return match.group(1) if match else None


def _implemented_action(org):
    nc = nc_in_state(org, "root_cause_identified")
    action = add_corrective_action(nc, org.quality, title="Add reminders", owner_id=org.owner.id, due_date=TODAY)
    fire(nc, "plan_actions", org.quality, {"verification_due": (TODAY + dt.timedelta(days=30)).isoformat()})
    fire(action, "start", org.owner)
    fire(action, "implement", org.owner, {"implementation": "Reminders configured"})
    return action


def test_the_verifier_precondition_shows_verify_blocked_on_the_page_and_in_the_api(app, org, client, api):
    verifying = create_competence(org.quality, name="Verifying corrective actions")
    add_requirement(verifying, org.quality, scope="event", target_key="corrective_action.verify", level="practitioner")
    action = _implemented_action(org)
    assert _blocked(available_events(action, org.quality), "verify") is None  # precondition off: open
    set_precondition(org.admin, assignment="action_verifier")

    reason = _blocked(available_events(action, org.quality), "verify")
    assert reason == (
        "Quality lacks the competence needed as verifier of a corrective action: "
        "Verifying corrective actions at practitioner level"
    )
    login(client, org.quality.email)
    page = client.get(f"/corrective-actions/{action.id}").get_data(as_text=True)
    assert _page_reason(page, "verify") == reason.replace("'", "&#39;")
    listed = ok(api.get("quality", f"/api/v1/corrective-actions/{action.id}/events"))
    assert next(e for e in listed if e["event"] == "verify") == {
        **next(e for e in listed if e["event"] == "verify"),
        "allowed": False,
        "reason": reason,
    }
    resource = ok(api.get("quality", f"/api/v1/corrective-actions/{action.id}"))
    assert next(e for e in resource["available_events"] if e["event"] == "verify")["allowed"] is False
    # fired anyway (a stale page, the API): refused with the same reason, nothing changed
    with pytest.raises(GuardFailed, match="Verifying corrective actions at practitioner level"):
        fire(action, "verify", org.quality, {"verification": "Checked"}, signature_password=PASSWORD)
    assert action.state == "implemented"

    record_competence(
        org.quality, org.manager, competence_id=verifying.id, level="expert", evidence="Course", achieved_on=TODAY
    )
    assert _blocked(available_events(action, org.quality), "verify") is None
    page = client.get(f"/corrective-actions/{action.id}").get_data(as_text=True)
    assert _page_reason(page, "verify") is None and 'action="/corrective-actions/' in page
    fire(action, "verify", org.quality, {"verification": "Checked"}, signature_password=PASSWORD)
    assert action.state == "verified"


def test_the_approver_precondition_of_a_document_type_shows_approve_blocked(app, org, client, api):
    approving = create_competence(org.quality, name="Document approval")
    add_requirement(approving, org.quality, scope="event", target_key="document.approve", level="aware")
    set_precondition(org.admin, assignment="document_approver", target_key="procedure")
    procedure = create_document(org.quality, title="Procedure", doc_type="procedure", owner_id=org.quality.id)
    form = create_document(org.quality, title="Form", doc_type="form", owner_id=org.quality.id)
    revisions = []
    for document in (procedure, form):
        revision = add_revision(document, org.quality, stream=io.BytesIO(pdf_bytes("P")), filename="p.pdf")
        fire(revision, "submit_for_review", org.quality, {"change_summary": "First issue"})
        revisions.append(revision)
    reason = _blocked(available_events(revisions[0], org.manager), "approve")
    assert reason is not None and "approver of a document type (Procedure): Document approval at aware level" in reason
    assert _blocked(available_events(revisions[1], org.manager), "approve") is None  # only procedures need it
    login(client, org.manager.email)
    assert "Document approval at aware level" in _page_reason(
        client.get(f"/documents/{procedure.id}").get_data(as_text=True), "approve"
    )
    assert _page_reason(client.get(f"/documents/{form.id}").get_data(as_text=True), "approve") is None
    events = ok(api.get("manager", f"/api/v1/revisions/{revisions[0].id}/events"))
    assert next(e for e in events if e["event"] == "approve")["allowed"] is False


def test_acknowledging_an_unowned_complaint_checks_the_owner_precondition(app, org, client, api):
    """A complaint from the public form has no owner: whoever acknowledges it becomes its owner."""
    handling = create_competence(org.quality, name="Complaint handling (ISO 10002)")
    add_requirement(handling, org.quality, scope="platform", target_key="web_form", level="practitioner")
    set_precondition(org.admin, assignment="complaint_owner")
    complaint = submit_public_complaint(
        summary="Late delivery", description="Three weeks late", customer_contact="jane@example.test"
    )
    assert complaint.owner_id is None

    reason = _blocked(available_events(complaint, org.quality), "acknowledge")
    assert reason is not None and reason.startswith("Quality lacks the competence needed as owner")
    assert "Complaint handling (ISO 10002) at practitioner level" in reason
    assert reason.endswith("(acknowledging makes you its owner)")
    login(client, org.quality.email)
    assert "acknowledging makes you its owner" in _page_reason(
        client.get(f"/complaints/{complaint.id}").get_data(as_text=True), "acknowledge"
    )
    # the API refuses it with the reason (409), and the complaint stays unowned and received
    refused = api.post(
        "quality",
        f"/api/v1/complaints/{complaint.id}/events/acknowledge",
        json={"data": {"acknowledged_on": TODAY.isoformat(), "severity": "medium"}},
    )
    assert refused.status_code == 409 and "Complaint handling (ISO 10002)" in refused.get_json()["message"]
    assert (complaint.state, complaint.owner_id) == ("received", None)

    record_competence(
        org.quality2, org.manager, competence_id=handling.id, level="practitioner", evidence="Course", achieved_on=TODAY
    )
    assert _blocked(available_events(complaint, org.quality2), "acknowledge") is None
    fire(complaint, "acknowledge", org.quality2, {"acknowledged_on": TODAY.isoformat(), "severity": "medium"})
    assert (complaint.state, complaint.owner_id) == ("acknowledged", org.quality2.id)


def test_an_owned_complaint_is_acknowledged_without_the_check(app, org):
    """The owner was checked when the complaint was logged; acknowledging does not change it."""
    from qms.services.complaints import log_complaint

    handling = create_competence(org.quality, name="Complaint handling (ISO 10002)")
    add_requirement(handling, org.quality, scope="platform", target_key="web_form", level="practitioner")
    complaint = log_complaint(org.quality, channel="web_form", summary="Late", description="Late")
    set_precondition(org.admin, assignment="complaint_owner")
    assert _blocked(available_events(complaint, org.manager), "acknowledge") is None
    fire(complaint, "acknowledge", org.manager, {"acknowledged_on": TODAY.isoformat(), "severity": "low"})
    assert complaint.owner_id == org.quality.id
