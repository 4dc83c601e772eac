"""A training session links the revision of document control used as its material (not only the
document): chosen, or the revision in force when it was planned; shown on the session page, in the
API and on the person's training record PDF, and kept when a newer revision takes effect."""

from __future__ import annotations

import datetime as dt

import pytest

from qms.reports.competence import training_record_pdf
from qms.services import fire
from qms.services.competence import training_record
from qms.services.training import plan_training, record_attendance
from qms.services.users import create_user
from workflows.errors import InvalidData

from ..conftest import PASSWORD, PG_URL
from ..documents.test_services import draft, make_effective, new_document
from ..equipment.test_web import signed_in, text
from ..helpers import ok
from ..surveys.test_reports import ORG, read
from .test_services import lead_auditing

TODAY = dt.date.today()


def plan(org, competence, people, **fields):
    values = {
        "title": "Lead auditor course",
        "competence_id": competence.id,
        "level": "practitioner",
        "planned_on": TODAY,
        "trainer_name": "KEBS",
        "evaluation_method": "observation",
        "invitee_ids": [p.id for p in people],
    }
    values.update(fields)
    return plan_training(org.quality, **values)


def test_the_session_records_the_revision_in_force_and_keeps_it(app, org, api):
    competence = lead_auditing(org)
    amina = create_user("amina@example.test", "Amina Odhiambo", PASSWORD, {"internal_auditor"})
    document = new_document(org, title="Internal audit procedure")
    first = make_effective(org, draft(document, org.owner))
    session = plan(org, competence, [amina], material_document_id=document.id)
    assert (session.material_document_id, session.material_revision_id) == (document.id, first.id)

    second = make_effective(org, draft(document, org.owner, "Second issue"))  # supersedes the first
    assert second.label != first.label and session.material_revision_id == first.id
    client = signed_in(app, org.quality)
    page = text(client.get(f"/training/{session.id}"))
    assert f"{document.number} Internal audit procedure</a>, revision {first.label}" in page
    assert "now superseded" in page
    answer = ok(api.get("viewer", f"/api/v1/training-sessions/{session.id}"))
    assert answer["material_revision_id"] == first.id
    assert answer["material_reference"] == f"{document.number} rev {first.label}"
    record_attendance(session, org.quality, [amina.id])
    fire(session, "hold", org.quality, {"held_on": TODAY})
    _pages, pdf = read(training_record_pdf(training_record(amina), organisation=ORG))
    assert f"{document.number} rev {first.label}" in pdf


def test_a_chosen_revision_is_checked(app, org):
    competence = lead_auditing(org)
    document = new_document(org)
    other = new_document(org, title="Calibration")
    in_force = make_effective(org, draft(document, org.owner))
    in_work = draft(other, org.owner)
    with pytest.raises(InvalidData) as bad:
        plan(org, competence, [org.auditor], material_revision_id=in_work.id)
    assert bad.value.errors == {
        "material_revision_id": "must be the id of a document revision that is approved or in force"
    }
    with pytest.raises(InvalidData) as bad:
        plan(org, competence, [org.auditor], material_document_id=other.id)
    assert bad.value.errors == {"material_document_id": "has no revision in force; choose an approved revision instead"}
    with pytest.raises(InvalidData) as bad:
        plan(org, competence, [org.auditor], material_document_id=other.id, material_revision_id=in_force.id)
    assert bad.value.errors == {"material_revision_id": "is a revision of another document than the one given"}
    session = plan(org, competence, [org.auditor], material_revision_id=in_force.id)
    assert (session.material_document_id, session.material_revision_id) == (document.id, in_force.id)


def test_the_plan_form_offers_revisions(app, org):
    competence = lead_auditing(org)
    document = new_document(org)
    revision = make_effective(org, draft(document, org.owner))
    client = signed_in(app, org.quality)
    form = text(client.get("/training/new"))
    assert f'<option value="{revision.id}"' in form and f"revision {revision.label} (effective)" in form
    response = client.post(
        "/training/new",
        data={
            "title": "Course",
            "competence_id": competence.id,
            "level": "aware",
            "planned_on": TODAY.isoformat(),
            "trainer_name": "KEBS",
            "evaluation_method": "observation",
            "evaluation_after_days": "30",
            "material_revision_id": str(revision.id),
            "invitee_ids": [str(org.auditor.id)],
        },
    )
    assert response.status_code == 302
    assert f"revision {revision.label}" in text(client.get(response.headers["Location"]))


@pytest.mark.real_commits
@pytest.mark.parametrize("database", ["sqlite"] + (["postgresql"] if PG_URL else []))
def test_the_migration_points_existing_sessions_at_the_revision_in_force_that_day(database, tmp_path, monkeypatch):
    """Sessions recorded before the migration know only their document: downgrading drops the link,
    upgrading again finds the revision that was in force on the day each session was held."""
    from flask_migrate import downgrade, upgrade

    from qms import create_app
    from qms.database import db
    from qms.models import TrainingSession
    from qms.services.competence import create_competence
    from qms.services.users import create_user

    from ..helpers import empty_database

    monkeypatch.setenv("QMS_INSTANCE_PATH", str(tmp_path))
    with empty_database(database, tmp_path, "material") as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url})
        assert app.test_cli_runner().invoke(args=["init"]).exit_code == 0
        with app.app_context():

            class Org:
                pass

            org = Org()
            for key, role in (
                ("quality", "quality_officer"),
                ("quality2", "quality_officer"),
                ("owner", "process_owner"),
                ("manager", "manager"),
            ):
                setattr(org, key, create_user(f"{key}@example.test", key.title(), PASSWORD, {role}))
            competence = create_competence(org.quality, name="Lead auditing")
            document = new_document(org, title="Internal audit procedure")
            first = make_effective(org, draft(document, org.owner), on=TODAY - dt.timedelta(days=60))
            old = plan(
                org, competence, [org.owner], material_document_id=document.id, planned_on=TODAY - dt.timedelta(days=30)
            )
            second = make_effective(org, draft(document, org.owner, "Second issue"))
            new = plan(org, competence, [org.owner], material_document_id=document.id)
            assert (old.material_revision_id, new.material_revision_id) == (first.id, second.id)
            ids = (old.id, new.id)
            db.session.commit()
            downgrade(revision="f2a0c1d2e3f4")
            upgrade()
            db.session.expire_all()
            found = [db.session.get(TrainingSession, i).material_revision_id for i in ids]
            assert found == [first.id, second.id]
            db.session.remove()
            db.engine.dispose()
