"""Competence and training pages: the matrix, the catalogue, a person's record, sessions and needs."""

from __future__ import annotations

import datetime as dt

from qms.database import db
from qms.models import CompetencePrecondition, TrainingSession
from qms.services.audits import create_audit
from qms.services.competence import add_requirement, create_competence, set_precondition
from qms.services.users import create_user

from ..conftest import PASSWORD, login
from ..helpers import PLAN_DAY, new_process, row_count

TODAY = dt.date.today()


def signed_in(app, user):
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    return client


def lead_auditing(org):
    competence = create_competence(org.quality, name="Lead auditing (ISO 19011)", validity_months=36)
    add_requirement(competence, org.quality, scope="audit_role", target_key="lead_auditor", level="practitioner")
    return competence


def test_the_whole_path_through_the_pages(app, org):
    """Set what a lead auditor needs, see her gap, be refused, train her, evaluate a month on, assign her."""
    amina = create_user("amina@example.test", "Amina Odhiambo", PASSWORD, {"internal_auditor"})
    quality = signed_in(app, org.quality)
    response = quality.post(
        "/competences",
        data={"name": "Lead auditing (ISO 19011)", "validity_months": "36", "evidence_practitioner": "Course"},
    )
    assert response.status_code == 302
    competence_url = response.headers["Location"]
    competence_id = int(competence_url.rsplit("/", 1)[1])
    response = quality.post(
        f"/competences/{competence_id}/requirements",
        data={"scope": "audit_role", "target_key-audit_role": "lead_auditor", "level": "practitioner"},
    )
    assert response.status_code == 302
    page = quality.get("/competence?gaps=1").get_data(as_text=True)
    assert "Amina Odhiambo" in page and "Gap" in page
    set_precondition(org.admin, assignment="audit_lead")
    process = new_process(org)
    audit = create_audit(org.quality, title="Production audit", process_id=process.id, planned_start=PLAN_DAY)
    response = quality.post(f"/audits/{audit.id}/team", data={"lead_auditor_id": amina.id, "member_rows": 0})
    assert response.status_code == 422
    assert "Amina Odhiambo lacks the competence needed as lead auditor of an audit" in response.get_data(as_text=True)

    held_on = TODAY - dt.timedelta(days=31)
    response = quality.post(
        "/training/new",
        data={
            "title": "Lead auditor course",
            "competence_id": competence_id,
            "level": "practitioner",
            "planned_on": held_on.isoformat(),
            "trainer_name": "KEBS",
            "evaluation_method": "test",
            "evaluation_after_days": "30",
            "pass_mark": "70",
            "invitee_ids": [amina.id],
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    training = db.session.query(TrainingSession).one()
    base = f"/training/{training.id}"
    assert quality.post(f"{base}/attendance", data={"attended": [amina.id]}).status_code == 302
    assert quality.post(f"{base}/events/hold", data={"held_on": held_on.isoformat()}).status_code == 302
    refused = quality.post(f"{base}/evaluations", data={"user_id": "", "score": "eighty"})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)  # the errors name the form's fields, as their labels do
    assert '<p class="error" role="alert">Attendee: must be' in page
    assert '<p class="error" role="alert">Test score: ' in page
    assert quality.post(f"{base}/evaluations", data={"user_id": amina.id, "score": "88"}).status_code == 302
    assert quality.post(f"{base}/events/evaluate", data={"evaluated_on": TODAY.isoformat()}).status_code == 302
    assert quality.post(f"{base}/events/close", data={}).status_code == 302
    response = quality.post(f"/audits/{audit.id}/team", data={"lead_auditor_id": amina.id, "member_rows": 0})
    assert response.status_code == 302
    person = quality.get(f"/people/{amina.id}").get_data(as_text=True)
    assert "Lead auditor course" in person and "Met" in person
    pdf = quality.get(f"/people/{amina.id}/training-record.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert quality.get("/competence/matrix.pdf").data.startswith(b"%PDF")
    assert quality.get("/competence/matrix.xlsx").data.startswith(b"PK")


def test_forms_answer_422_with_the_field_errors_and_change_nothing(app, org):
    quality = signed_in(app, org.quality)
    response = quality.post("/competences", data={"name": "", "validity_months": "forever"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "is required" in page and "must be a whole number from 1 to 240" in page
    response = quality.post("/training/new", data={"title": "", "level": "guru", "pass_mark": "500"})
    assert response.status_code == 422
    assert row_count(TrainingSession) == 0
    response = quality.post("/training/needs", data={"user_id": "x", "competence_id": "", "level": "aware"})
    assert response.status_code == 422


def test_people_see_their_own_record_but_not_others(app, org):
    viewer = signed_in(app, org.viewer)
    assert viewer.get(f"/people/{org.viewer.id}").status_code == 200
    assert viewer.get(f"/people/{org.owner.id}").status_code == 403
    assert viewer.get("/competence").status_code == 403
    assert viewer.get("/competences").status_code == 200
    assert viewer.post("/competences", data={"name": "x"}).status_code == 403


def test_only_an_administrator_turns_preconditions_on(app, org):
    admin = signed_in(app, org.admin)
    assert admin.post("/competence/preconditions", data={"assignment": "audit_lead"}).status_code == 302
    assert row_count(CompetencePrecondition) == 1
    response = admin.post(
        "/competence/preconditions", data={"assignment": "complaint_owner", "target_key-complaint_owner": "fax"}
    )
    assert response.status_code == 422
    assert admin.post("/competence/preconditions", data={"assignment": "audit_lead", "enabled": "0"}).status_code == 302
    assert row_count(CompetencePrecondition) == 0


def test_a_quality_officer_cannot_turn_preconditions_on(app, org):
    quality = signed_in(app, org.quality)
    assert quality.get("/competence/preconditions").status_code == 403
    assert quality.post("/competence/preconditions", data={"assignment": "audit_team"}).status_code == 403
    assert row_count(CompetencePrecondition) == 0
