"""Competence and training services: requirements, gaps, training with its effectiveness, preconditions."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from qms.database import db
from qms.models import CompetenceRecord, TrainingNeed
from qms.services import fire
from qms.services.audits import assign_team, create_audit
from qms.services.competence import (
    add_requirement,
    assignment_problem,
    create_competence,
    create_job_role,
    matrix,
    missing_competences,
    record_competence,
    set_precondition,
    set_profile,
)
from qms.services.complaints import log_complaint
from qms.services.documents import acknowledge, add_revision, create_document
from qms.services.training import (
    plan_training,
    raise_need,
    raise_needs_from_gaps,
    record_attendance,
    record_evaluation,
)
from qms.services.users import create_user
from workflows.errors import GuardFailed, InvalidData, InvalidTransition, NotPermitted

from ..conftest import PASSWORD
from ..documents.test_services import pdf_bytes
from ..helpers import PLAN_DAY, new_process, row_count

TODAY = dt.date.today()


def lead_auditing(org, *, validity: int | None = 36):
    competence = create_competence(
        org.quality,
        name="Lead auditing (ISO 19011)",
        description="Plans and leads internal audits",
        validity_months=validity,
        evidence_practitioner="Lead auditor course certificate and two audits as auditor",
    )
    add_requirement(competence, org.quality, scope="audit_role", target_key="lead_auditor", level="practitioner")
    return competence


def second_auditor(org):
    return create_user("amina@example.test", "Amina Odhiambo", PASSWORD, {"internal_auditor"})


def held_training(org, competence, people, *, held_days_ago=31, method="test", pass_mark=70):
    training = plan_training(
        org.quality,
        title="Lead auditor course",
        competence_id=competence.id,
        level="practitioner",
        planned_on=TODAY - dt.timedelta(days=held_days_ago),
        trainer_name="Kenya Bureau of Standards",
        external=True,
        evaluation_method=method,
        evaluation_after_days=30,
        pass_mark=pass_mark if method == "test" else None,
        invitee_ids=[p.id for p in people],
    )
    record_attendance(training, org.quality, [p.id for p in people])
    fire(training, "hold", org.quality, {"held_on": TODAY - dt.timedelta(days=held_days_ago)})
    return training


def test_the_matrix_shows_a_gap_for_an_auditor_without_the_lead_auditor_competence(app, org):
    competence = lead_auditing(org)
    found = matrix()
    row = next(p for p in found.people if p.user.id == org.auditor.id)
    cell = row.cells[competence.id]
    assert (cell.required, cell.held, cell.status) == ("practitioner", None, "gap")
    assert cell.reasons == ["Audit role: Lead auditor"]
    quality_row = next(p for p in found.people if p.user.id == org.quality.id)
    assert quality_row.cells[competence.id].status == "none"  # not an internal auditor


def test_a_lead_auditor_precondition_refuses_her_with_the_reason_then_training_lets_her_lead(app, org):
    competence = lead_auditing(org)
    amina = second_auditor(org)
    process = new_process(org)
    audit = create_audit(
        org.quality, title="Production audit", process_id=process.id, clause_numbers=["8.5"], planned_start=PLAN_DAY
    )
    # off by default: nothing changes
    assert assign_team(audit, org.quality, lead_auditor_id=amina.id) == []
    set_precondition(org.admin, assignment="audit_lead")
    with pytest.raises(InvalidData) as refused:
        assign_team(audit, org.quality, lead_auditor_id=amina.id)
    assert refused.value.errors["lead_auditor_id"] == (
        "Amina Odhiambo lacks the competence needed as lead auditor of an audit: "
        "Lead auditing (ISO 19011) at practitioner level"
    )
    training = held_training(org, competence, [amina])
    # the month has not passed for a session held today; it has for this one (held 31 days ago)
    record_evaluation(training, org.quality, user_id=amina.id, score=85)
    fire(training, "evaluate", org.quality, {"evaluated_on": TODAY})
    record = db.session.query(CompetenceRecord).filter_by(user_id=amina.id).one()
    assert (record.level, record.source, record.training_session_id) == ("practitioner", "training", training.id)
    assert (
        record.expires_on
        == dt.date(record.achieved_on.year + 3, record.achieved_on.month, min(record.achieved_on.day, 28))
        or record.expires_on.year == record.achieved_on.year + 3
    )
    assert assignment_problem(amina, "audit_lead") is None
    assign_team(audit, org.quality, lead_auditor_id=amina.id)
    assert audit.lead_auditor_id == amina.id
    fire(training, "close", org.quality)
    assert training.state == "closed"


def test_the_evaluation_waits_for_the_evaluation_period(app, org):
    competence = lead_auditing(org)
    amina = second_auditor(org)
    training = held_training(org, competence, [amina], held_days_ago=0)
    record_evaluation(training, org.quality, user_id=amina.id, score=90)
    with pytest.raises(GuardFailed) as early:
        fire(training, "evaluate", org.quality, {"evaluated_on": TODAY})
    due = TODAY + dt.timedelta(days=30)
    assert early.value.reason == f"The effectiveness can be evaluated from {due.isoformat()}"
    # on a date set for the test, a month later
    fire(training, "evaluate", org.quality, {"evaluated_on": TODAY}, today=due)
    assert training.state == "evaluated"


def test_an_ineffective_training_opens_the_need_again_and_records_nothing(app, org):
    competence = lead_auditing(org)
    amina = second_auditor(org)
    need = raise_need(org.quality, user_id=amina.id, competence_id=competence.id, level="practitioner")
    training = plan_training(
        org.quality,
        title="Course",
        competence_id=competence.id,
        level="practitioner",
        planned_on=TODAY - dt.timedelta(days=40),
        trainer_id=org.quality.id,
        evaluation_method="test",
        pass_mark=70,
        need_ids=[need.id],
    )
    assert need.status == "planned"
    with pytest.raises(GuardFailed, match="Record who attended first"):
        fire(training, "hold", org.quality, {"held_on": TODAY - dt.timedelta(days=40)})
    record_attendance(training, org.quality, [amina.id])
    fire(training, "hold", org.quality, {"held_on": TODAY - dt.timedelta(days=40)})
    with pytest.raises(GuardFailed, match="1 attendee is not yet evaluated"):
        fire(training, "evaluate", org.quality, {"evaluated_on": TODAY})
    record_evaluation(training, org.quality, user_id=amina.id, score=50)
    fire(training, "evaluate", org.quality, {"evaluated_on": TODAY})
    db.session.refresh(need)
    assert need.status == "open" and need.training_session_id is None
    assert row_count(CompetenceRecord) == 0


def test_observation_and_manager_sign_off_need_a_note_and_a_verdict(app, org):
    competence = lead_auditing(org)
    amina = second_auditor(org)
    training = held_training(org, competence, [amina], method="manager_signoff")
    with pytest.raises(NotPermitted):
        record_evaluation(training, org.quality, user_id=amina.id, effective=True, note="Led the audit well")
    with pytest.raises(InvalidData) as bad:
        record_evaluation(training, org.manager, user_id=amina.id, score=80)
    assert set(bad.value.errors) == {"note", "effective", "score"}
    record_evaluation(training, org.manager, user_id=amina.id, effective=True, note="Led the March audit well")
    fire(training, "evaluate", org.manager, {"evaluated_on": TODAY})
    assert missing_competences(amina, "audit_lead") == []


def test_planning_refuses_hostile_input_naming_each_field(app, org):
    with pytest.raises(InvalidData) as bad:
        plan_training(
            org.quality,
            title="\x00",
            competence_id="x",
            level="guru",
            planned_on="31/12/2026",
            evaluation_method="vibes",
            evaluation_after_days=-1,
            invitee_ids=[99999],
            surprise=1,
        )
    assert set(bad.value.errors) >= {
        "title",
        "competence_id",
        "level",
        "planned_on",
        "evaluation_method",
        "evaluation_after_days",
        "invitee_ids[0]",
        "surprise",
        "trainer_name",
    }
    with pytest.raises(NotPermitted):
        plan_training(org.viewer, title="x")


def test_gaps_raise_needs_once_and_an_external_qualification_meets_them(app, org):
    competence = lead_auditing(org)
    created = raise_needs_from_gaps(org.quality)
    assert [(n.user_id, n.level, n.source) for n in created] == [(org.auditor.id, "practitioner", "gap")]
    assert raise_needs_from_gaps(org.quality) == []  # an open need is not raised twice
    record_competence(
        org.auditor,
        org.quality,
        competence_id=competence.id,
        level="expert",
        source="external",
        provider="IRCA",
        title="Certified lead auditor",
        evidence="Certificate 1234",
        achieved_on=TODAY - dt.timedelta(days=10),
    )
    db.session.refresh(created[0])
    assert created[0].status == "met"
    cell = next(p for p in matrix().people if p.user.id == org.auditor.id).cells[competence.id]
    assert cell.status == "met" and cell.held == "expert"


def test_an_expired_record_is_a_gap_and_expiring_soon_is_flagged(app, org):
    competence = lead_auditing(org, validity=12)
    record_competence(
        org.auditor,
        org.quality,
        competence_id=competence.id,
        level="practitioner",
        evidence="Course",
        achieved_on=TODAY - dt.timedelta(days=400),
    )
    cell = next(p for p in matrix().people if p.user.id == org.auditor.id).cells[competence.id]
    assert cell.status == "expired"
    record_competence(
        org.auditor,
        org.quality,
        competence_id=competence.id,
        level="practitioner",
        evidence="Refresher",
        achieved_on=TODAY - dt.timedelta(days=10),
        expires_on=TODAY + dt.timedelta(days=20),
    )
    cell = next(p for p in matrix().people if p.user.id == org.auditor.id).cells[competence.id]
    assert cell.status == "expiring"


def test_job_role_process_and_platform_requirements_apply_by_profile_and_filter_the_matrix(app, org):
    agent = create_job_role(org.quality, name="Customer service agent")
    process = new_process(org)
    handling = create_competence(org.quality, name="Complaint handling (ISO 10002)")
    social = create_competence(org.quality, name="Social media etiquette")
    add_requirement(handling, org.quality, scope="job_role", target_id=agent.id, level="practitioner")
    add_requirement(social, org.quality, scope="platform", target_key="facebook", level="aware")
    add_requirement(social, org.quality, scope="platform", target_key="TikTok", level="practitioner")
    set_profile(org.owner, org.quality, job_role_id=agent.id, process_id=process.id, platforms=["facebook", "TikTok"])
    found = matrix(job_role_id=agent.id)
    assert [p.user.id for p in found.people] == [org.owner.id]
    cells = found.people[0].cells
    assert cells[handling.id].required == "practitioner"
    assert cells[social.id].required == "practitioner"  # the highest level any requirement asks
    assert matrix(process_id=process.id).people[0].user.id == org.owner.id
    with pytest.raises(InvalidData) as bad:
        set_profile(org.owner, org.quality, job_role_id=999, platforms="x" * 70)
    assert set(bad.value.errors) == {"job_role_id", "platforms"}


def test_reading_the_revision_in_force_counts_as_awareness_and_a_new_revision_raises_needs(app, org):
    document = create_document(
        org.quality,
        title="Complaint handling procedure",
        doc_type="procedure",
        owner_id=org.quality.id,
        distribution=[("user", str(org.owner.id))],
    )
    aware = create_competence(org.quality, name="Complaint procedure awareness")
    skilled = create_competence(org.quality, name="Complaint procedure practice")
    add_requirement(aware, org.quality, scope="document", target_id=document.id, level="aware")
    add_requirement(skilled, org.quality, scope="document", target_id=document.id, level="practitioner")
    revision = add_revision(document, org.quality, stream=io.BytesIO(pdf_bytes("Procedure")), filename="p.pdf")
    fire(revision, "submit_for_review", org.quality, {"change_summary": "First issue"})
    fire(revision, "approve", org.manager, signature_password=PASSWORD)
    fire(revision, "make_effective", org.quality, {"effective_date": TODAY})
    needs = db.session.query(TrainingNeed).filter_by(user_id=org.owner.id).all()
    assert [(n.competence_id, n.source, n.document_revision_id) for n in needs] == [
        (skilled.id, "document_revision", revision.id)
    ]
    row = next(p for p in matrix().people if p.user.id == org.owner.id)
    assert row.cells[aware.id].status == "gap"
    acknowledge(revision, org.owner)
    row = next(p for p in matrix().people if p.user.id == org.owner.id)
    assert row.cells[aware.id].status == "met"
    assert row.cells[skilled.id].status == "gap"  # reading is awareness, not practice


def test_a_need_from_an_nc_requires_its_root_cause(app, org):
    from ..helpers import nc_in_state

    competence = create_competence(org.quality, name="Door fitting")
    reported = nc_in_state(org, "reported")
    with pytest.raises(InvalidData) as bad:
        raise_need(
            org.quality, user_id=org.owner.id, competence_id=competence.id, level="aware", nonconformity_id=reported.id
        )
    assert bad.value.errors == {"nonconformity_id": "the nonconformity's root cause must be recorded first"}
    analysed = nc_in_state(org, "root_cause_identified")
    need = raise_need(
        org.quality, user_id=org.owner.id, competence_id=competence.id, level="aware", nonconformity_id=analysed.id
    )
    assert need.source == "nonconformity" and analysed.reference in need.reason


def test_complaint_owner_and_verifier_and_approver_preconditions(app, org):
    social = create_competence(org.quality, name="Social media handling")
    add_requirement(social, org.quality, scope="platform", target_key="facebook", level="practitioner")
    set_precondition(org.admin, assignment="complaint_owner", target_key="facebook")
    with pytest.raises(InvalidData) as refused:
        log_complaint(
            org.quality, channel="facebook", summary="Rude", description="Rude reply", customer_handle="@jane"
        )
    assert (
        "lacks the competence needed as owner of a virtual platform's complaints (Facebook)"
        in (refused.value.errors["owner_id"])
    )
    log_complaint(org.quality, channel="whatsapp", summary="Late", description="Late", customer_handle="+254")

    approving = create_competence(org.quality, name="Document approval")
    add_requirement(approving, org.quality, scope="event", target_key="document.approve", level="aware")
    set_precondition(org.admin, assignment="document_approver", target_key="procedure")
    document = create_document(org.quality, title="Procedure", doc_type="procedure", owner_id=org.quality.id)
    revision = add_revision(document, org.quality, stream=io.BytesIO(pdf_bytes("P")), filename="p.pdf")
    fire(revision, "submit_for_review", org.quality, {"change_summary": "First issue"})
    with pytest.raises(GuardFailed, match="Document approval at aware level"):
        fire(revision, "approve", org.manager, signature_password=PASSWORD)
    assert revision.state == "in_review"
    with pytest.raises(NotPermitted):
        set_precondition(org.quality, assignment="audit_lead")
    with pytest.raises(InvalidData):
        set_precondition(org.admin, assignment="complaint_owner", target_key="fax")


def test_attendance_and_evaluations_refuse_outsiders_and_wrong_states(app, org):
    competence = lead_auditing(org)
    amina = second_auditor(org)
    training = plan_training(
        org.quality,
        title="Course",
        competence_id=competence.id,
        level="aware",
        planned_on=TODAY,
        trainer_name="Jo",
        evaluation_method="observation",
        invitee_ids=[amina.id],
    )
    with pytest.raises(InvalidData) as bad:
        record_attendance(training, org.quality, [org.viewer.id, "x"])
    assert set(bad.value.errors) == {"attended[0]", "attended[1]"}
    with pytest.raises(InvalidTransition):
        record_evaluation(training, org.quality, user_id=amina.id, effective=True, note="ok")
    fire(training, "cancel", org.quality, {"reason": "Trainer ill"})
    with pytest.raises(InvalidTransition):
        record_attendance(training, org.quality, [amina.id])


def test_my_work_lists_sessions_to_hold_and_evaluate_training_to_attend_needs_and_expiring_competences(app, org):
    from qms.services.my_work import work_for
    from qms.services.reminders import digest_items

    competence = lead_auditing(org, validity=12)
    amina = second_auditor(org)
    due_soon = held_training(org, competence, [amina], held_days_ago=25)  # evaluation due in 5 days
    upcoming = plan_training(
        org.quality,
        title="Refresher",
        competence_id=competence.id,
        level="aware",
        planned_on=TODAY + dt.timedelta(days=3),
        trainer_name="KEBS",
        evaluation_method="observation",
        invitee_ids=[amina.id],
    )
    raise_need(org.quality, user_id=amina.id, competence_id=competence.id, level="expert", due_date=TODAY)
    record_competence(
        amina,
        org.quality,
        competence_id=competence.id,
        level="aware",
        evidence="Read ISO 19011",
        achieved_on=TODAY - dt.timedelta(days=340),
    )
    planner = {(i.kind, i.reference): i for i in work_for(org.quality, TODAY)}
    assert planner[("training", due_soon.reference)].actions == ["Evaluate effectiveness"]
    assert planner[("training", due_soon.reference)].due == TODAY + dt.timedelta(days=5)
    assert planner[("training", upcoming.reference)].actions == ["Record attendance and hold"]
    hers = {i.reference: i for i in work_for(amina, TODAY)}
    assert hers[upcoming.reference].actions == ["Attend the training"]
    assert hers["Training need: Lead auditing (ISO 19011)"].due == TODAY
    expiring = hers["Competence: Lead auditing (ISO 19011)"]
    assert expiring.actions == ["Renew the competence"] and not expiring.overdue
    with app.test_request_context():
        digest = {i.reference for i in digest_items(amina, TODAY, days_ahead=30)}
    assert {"Competence: Lead auditing (ISO 19011)", upcoming.reference} <= digest


def test_readiness_counts_missing_competence_and_the_review_compiles_training_effectiveness(app, org):
    from qms.services.certifications import readiness
    from qms.services.reviews import compile_inputs, plan_management_review

    competence = lead_auditing(org)
    found = readiness(today=TODAY)
    assert found.figures["competence_gaps"] == 1 and found.figures["competences_required"] == 1
    assert any(r.message == "1 required competence missing or expired (ISO 9001 7.2)" for r in found.reasons)
    amina = second_auditor(org)
    training = held_training(org, competence, [amina, org.auditor])
    record_evaluation(training, org.quality, user_id=amina.id, score=90)
    record_evaluation(training, org.quality, user_id=org.auditor.id, score=40)
    fire(training, "evaluate", org.quality, {"evaluated_on": TODAY})
    review = plan_management_review(
        org.quality,
        title="MR",
        planned_for=TODAY + dt.timedelta(days=5),
        period_start=TODAY - dt.timedelta(days=90),
        period_end=TODAY,
    )
    fire(review, "start_gathering", org.quality)
    compile_inputs(review, org.quality, today=TODAY)
    figures = review.inputs["monitoring_results"]["compiled"]["training_effectiveness"]
    assert (figures["attendees_evaluated"], figures["attendees_effective"], figures["effective_percent"]) == (
        2,
        1,
        50.0,
    )
    assert figures["required_competences_met"] == "1 of 2"
    assert figures["sessions"][0]["reference"] == training.reference


def test_a_competent_approver_approves_with_one_version_step(app, org):
    """The precondition check reads without flushing: the event still writes the revision once."""
    approving = create_competence(org.quality, name="Document approval")
    add_requirement(approving, org.quality, scope="event", target_key="document.approve", level="aware")
    set_precondition(org.admin, assignment="document_approver")
    record_competence(
        org.manager, org.quality, competence_id=approving.id, level="aware", evidence="Read DC-01", achieved_on=TODAY
    )
    document = create_document(org.quality, title="Procedure", doc_type="procedure", owner_id=org.quality.id)
    revision = add_revision(document, org.quality, stream=io.BytesIO(pdf_bytes("P")), filename="p.pdf")
    fire(revision, "submit_for_review", org.quality, {"change_summary": "First issue"})
    assert revision.version == 2
    fire(revision, "approve", org.manager, signature_password=PASSWORD)
    assert (revision.state, revision.version, revision.approved_by_id) == ("approved", 3, org.manager.id)
