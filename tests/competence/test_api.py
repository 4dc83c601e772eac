"""The competence and training API: the whole path, hostile input, who may do what."""

from __future__ import annotations

import datetime as dt

from qms.models import CompetenceRecord, TrainingSession
from qms.services.audits import create_audit
from qms.services.users import create_user

from ..conftest import PASSWORD
from ..helpers import PLAN_DAY, error, new_process, ok, restricted_document, row_count

V1 = "/api/v1"
TODAY = dt.date.today()


def test_the_whole_path_over_the_api(app, org, api):
    """Set what a lead auditor needs, see her gap, be refused, train her, evaluate a month on, assign her."""
    amina = create_user("amina@example.test", "Amina Odhiambo", PASSWORD, {"internal_auditor"})
    process = new_process(org)
    audit = create_audit(org.quality, title="Production audit", process_id=process.id, planned_start=PLAN_DAY)
    competence = ok(
        api.post(
            "quality",
            f"{V1}/competences",
            json={"name": "Lead auditing (ISO 19011)", "validity_months": 36, "evidence_practitioner": "Course"},
        ),
        201,
    )
    requirement = ok(
        api.post(
            "quality",
            f"{V1}/competences/{competence['id']}/requirements",
            json={"scope": "audit_role", "target_key": "lead_auditor", "level": "practitioner"},
        ),
        201,
    )
    assert requirement["target_label"] == "Lead auditor"
    found = ok(api.get("quality", f"{V1}/competence-matrix?gaps_only=true"))
    row = next(p for p in found["people"] if p["user"]["id"] == amina.id)
    cell = next(c for c in row["cells"] if c["competence_id"] == competence["id"])
    assert (cell["status"], cell["required"], cell["held"]) == ("gap", "practitioner", None)

    error(api.post("quality", f"{V1}/competence-preconditions", json={"assignment": "audit_lead"}), 403)
    ok(api.post("admin", f"{V1}/competence-preconditions", json={"assignment": "audit_lead"}))
    check = ok(api.get("quality", f"{V1}/competence-preconditions/check?assignment=audit_lead&user_id={amina.id}"))
    assert check["allowed"] is False and check["missing"] == ["Lead auditing (ISO 19011) at practitioner level"]
    refused = error(
        api.request("quality", "PUT", f"{V1}/audits/{audit.id}/team", json={"lead_auditor_id": amina.id}), 422
    )
    assert "lacks the competence needed as lead auditor" in refused["errors"]["lead_auditor_id"]

    held_on = TODAY - dt.timedelta(days=31)
    training = ok(
        api.post(
            "quality",
            f"{V1}/training-sessions",
            json={
                "title": "Lead auditor course",
                "competence_id": competence["id"],
                "level": "practitioner",
                "planned_on": held_on.isoformat(),
                "trainer_name": "KEBS",
                "external": True,
                "evaluation_method": "test",
                "pass_mark": 70,
                "invitee_ids": [amina.id],
            },
        ),
        201,
    )
    url = f"{V1}/training-sessions/{training['id']}"
    hold = next(e for e in training["available_events"] if e["event"] == "hold")
    assert (hold["allowed"], hold["reason"]) == (False, "Record who attended first")
    ok(api.request("quality", "PUT", f"{url}/attendance", json={"attended": [amina.id]}))
    ok(api.fire("quality", url, "hold", data={"held_on": held_on.isoformat()}))
    ok(api.post("quality", f"{url}/evaluations", json={"user_id": amina.id, "score": 88}))
    evaluated = ok(api.fire("quality", url, "evaluate", data={"evaluated_on": TODAY.isoformat()}))
    assert evaluated["state"] == "evaluated"
    assert evaluated["attendance"][0]["effective"] is True
    ok(api.fire("quality", url, "close"))
    team = ok(api.request("quality", "PUT", f"{V1}/audits/{audit.id}/team", json={"lead_auditor_id": amina.id}))
    assert team["lead_auditor"]["id"] == amina.id
    person = ok(api.get("quality", f"{V1}/people/{amina.id}/competence"))
    assert person["records"][0]["training_session_id"] == training["id"]
    assert person["cells"][0]["status"] == "met"
    pdf = api.get("quality", f"{V1}/people/{amina.id}/training-record.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert api.get("quality", f"{V1}/competence-matrix.pdf").data.startswith(b"%PDF")
    assert api.get("quality", f"{V1}/competence-matrix.xlsx").data.startswith(b"PK")


def test_the_evaluation_is_refused_before_its_date_with_the_reason(app, org, api):
    competence = ok(api.post("quality", f"{V1}/competences", json={"name": "Complaint handling"}), 201)
    training = ok(
        api.post(
            "quality",
            f"{V1}/training-sessions",
            json={
                "title": "Complaint handling",
                "competence_id": competence["id"],
                "level": "aware",
                "planned_on": TODAY.isoformat(),
                "trainer_id": org.quality.id,
                "evaluation_method": "observation",
                "invitee_ids": [org.owner.id],
            },
        ),
        201,
    )
    url = f"{V1}/training-sessions/{training['id']}"
    ok(api.request("quality", "PUT", f"{url}/attendance", json={"attended": [org.owner.id]}))
    ok(api.fire("quality", url, "hold", data={"held_on": TODAY.isoformat()}))
    body = error(api.post("quality", f"{url}/evaluations", json={"user_id": org.owner.id}), 422)
    assert set(body["errors"]) == {"note", "effective"}
    ok(api.post("quality", f"{url}/evaluations", json={"user_id": org.owner.id, "effective": True, "note": "Good"}))
    body = error(api.fire("quality", url, "evaluate", data={"evaluated_on": TODAY.isoformat()}), 409)
    assert body["message"] == f"The effectiveness can be evaluated from {(TODAY + dt.timedelta(days=30)).isoformat()}"


def test_hostile_input_is_refused_naming_the_field(app, org, api):
    body = error(api.post("quality", f"{V1}/competences", json={"name": "", "validity_months": 9999, "x": 1}), 422)
    assert {"name", "validity_months", "x"} <= set(body["errors"])
    body = error(
        api.post(
            "quality",
            f"{V1}/training-sessions",
            json={
                "title": "T",
                "competence_id": 999,
                "level": "aware",
                "planned_on": "2026-01-01",
                "trainer_name": "x",
            },
        ),
        422,
    )
    assert "competence_id" in body["errors"]
    body = error(
        api.post("quality", f"{V1}/training-needs", json={"user_id": 2**31, "competence_id": 1, "level": "aware"}),
        422,
    )
    assert "user_id" in body["errors"]
    error(api.request("quality", "PUT", f"{V1}/people/{org.owner.id}/profile", json={"job_role_id": 12345}), 422)
    error(api.get("quality", f"{V1}/competence-matrix?per_page=100000"), 422)
    assert row_count(TrainingSession) == 0


def test_who_may_see_and_change(app, org, api):
    error(api.get("viewer", f"{V1}/competence-matrix"), 403)
    error(api.get("viewer", f"{V1}/people/{org.owner.id}/competence"), 403)
    ok(api.get("viewer", f"{V1}/people/{org.viewer.id}/competence"))
    error(api.post("owner", f"{V1}/competences", json={"name": "X"}), 403)
    error(api.get(None, f"{V1}/competences"), 401)
    ok(api.get("viewer", f"{V1}/competences"))
    body = error(
        api.post(
            "quality",
            f"{V1}/people/{org.owner.id}/competence-records",
            json={"evidence": "Certificate", "achieved_on": (TODAY + dt.timedelta(days=3)).isoformat()},
        ),
        422,
    )
    assert set(body["errors"]) == {"title", "achieved_on"}
    ok(
        api.post(
            "quality",
            f"{V1}/people/{org.owner.id}/competence-records",
            json={
                "title": "First aid",
                "provider": "Red Cross",
                "evidence": "Card",
                "achieved_on": "2026-01-05",
                "expires_on": "2028-01-05",
            },
        ),
        201,
    )
    assert row_count(CompetenceRecord) == 1


def test_a_requirement_names_a_restricted_document_only_to_its_readers(app, org, api, client):
    """A competence required of a restricted document's readers: the catalogue's pages and the API
    name the document only to those who may see it."""
    from qms.services.competence import add_requirement, create_competence

    from ..conftest import login

    secret = restricted_document(org)
    competence = create_competence(org.quality, name="Pay confidentiality")
    add_requirement(competence, org.quality, scope="document", target_id=secret.id, level="aware")
    login(client, org.viewer.email)
    for shown in (
        api.get("auditor", "/api/v1/competences").get_data(as_text=True),
        client.get(f"/competences/{competence.id}").get_data(as_text=True),
    ):
        assert "Pay confidentiality" in shown and "Salary bands" not in shown and secret.number not in shown
        assert "a document you may not see" in shown
    assert "Salary bands" in api.get("quality", "/api/v1/competences").get_data(as_text=True)
