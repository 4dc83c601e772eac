"""QMS reviews through the services: ISO change, organisational change, management review, actions."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import func, select

from qms.database import db, utcnow
from qms.models import (
    MANAGEMENT_REVIEW_INPUTS,
    Certification,
    CertificationBody,
    ChangeImpact,
    ChecklistItem,
    Complaint,
    CorrectiveAction,
    Document,
    ExternalAudit,
    ExternalFinding,
    IsoChangeReview,
    Nonconformity,
    ReviewAction,
)
from qms.services import available_events, fire, history_of, replay
from qms.services.audit_trail import verify
from qms.services.audits import answer, coverage, create_audit, create_programme, create_site, generate_checklist
from qms.services.complaints import log_complaint
from qms.services.documents import create_document
from qms.services.nonconformities import add_corrective_action
from qms.services.reviews import (
    actions_of,
    add_action,
    add_impact,
    assess_change,
    cancel_action,
    compile_inputs,
    complete_action,
    link_verification,
    missing_inputs,
    open_actions_for,
    open_iso_change_review,
    open_org_change_review,
    plan_management_review,
    remove_impact,
    review_of,
    set_input_notes,
    suggest_impacts,
)
from qms.services.standards import diff_editions
from qms.services.surveys import create_survey, submit_response
from workflows.errors import GuardFailed, InvalidData, InvalidTransition, NotPermitted

from ..conftest import PASSWORD
from ..helpers import PLAN_DAY, audit_in_state, new_nc, new_process

TODAY = dt.date.today()


def days(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def document(org, title: str, clause_refs=(), process: str = "") -> Document:
    return create_document(
        org.quality, title=title, doc_type="procedure", owner_id=org.owner.id, clause_refs=clause_refs, process=process
    )


def reason(exc_info) -> str:
    return exc_info.value.reason


# --------------------------------------------------------------------------- ISO change: opening from the differ


def test_iso_change_review_from_the_2008_to_2015_edition(org):
    audit_2008 = create_audit(
        org.quality, title="Legacy audit", standard_identifier="iso-9001-2008", clause_numbers=["4.1"]
    )
    generate_checklist(audit_2008, org.quality)
    document(org, "Context of the organisation", ["4.1"])  # 2015 numbering: not a reference to 2008 4.1
    review = open_iso_change_review(
        org.quality, old_standard="iso-9001-2008", new_standard="iso-9001-2015", transition_deadline="2018-09-15"
    )
    diff = diff_editions("iso-9001-2008", "iso-9001-2015")
    assert review.reference.startswith("ICR-") and review.state == "opened" and review.owner_id == org.quality.id
    assert review.transition_deadline == dt.date(2018, 9, 15)
    assert review.title.startswith("Transition to ISO 9001")
    assert len(review.items) == len(diff.changes)
    assert Counter(i.change for i in review.items) == Counter(c.kind for c in diff.changes)
    assert [(i.change, i.old_clause, i.new_clause) for i in review.items] == [
        (c.kind, c.old.number if c.old else "", c.new.number if c.new else "") for c in diff.changes
    ]
    assert all(i.status == "not_assessed" for i in review.items)
    added = [i for i in review.items if i.change == "added"]
    assert added and all(i.references["questions"] == 0 and not i.old_clause for i in added)
    # documents are numbered in ISO 9001:2015: none of them refers to the 2008 clauses
    assert all(i.references["documents"] == [] and i.references["processes"] == [] for i in review.items)
    legacy = {item.id for item in audit_2008.items}
    general = next(i for i in review.items if i.old_clause == "4.1")
    assert set(general.references["question_ids"]) == {
        item.id for item in audit_2008.items if item.clause_number == "4.1" or item.clause_number.startswith("4.1.")
    }
    assert general.references["questions"] == len(general.references["question_ids"]) > 0
    assert set().union(*(set(i.references["question_ids"]) for i in review.items)) <= legacy


def test_iso_change_review_from_the_2024_amendment_lists_what_refers_to_each_clause(org):
    context_doc = document(org, "Context of the organisation", ["4.1"])
    document(org, "Production control", ["8.5"])
    context = new_process(org, code="CTX", clauses=("4.1",))
    whole = new_process(org, code="QMS", clauses=("4",))  # addresses every clause of 4
    new_process(org)  # Production: 7.1, 8.5, 9.2
    audit = create_audit(org.quality, title="Context audit", clause_numbers=["4.1", "8.5"])
    generate_checklist(audit, org.quality)
    on_context = [item.id for item in audit.items if item.clause_number == "4.1"]
    review = open_iso_change_review(
        org.manager, old_standard="iso-9001-2015", new_standard="iso-9001-2015-amd1-2024", title="Climate amendment"
    )
    assert review.title == "Climate amendment"
    assert [(i.change, i.old_clause, i.new_clause) for i in review.items] == [
        ("changed", "4.1", "4.1"),
        ("changed", "4.2", "4.2"),
    ]
    clause_41, clause_42 = review.items
    assert "climate change" in clause_41.description
    assert clause_41.references["documents"] == [
        {"id": context_doc.id, "number": context_doc.number, "title": "Context of the organisation"}
    ]
    assert {p["id"] for p in clause_41.references["processes"]} == {context.id, whole.id}
    assert clause_41.references["questions"] == len(on_context) == 2
    assert clause_41.references["question_ids"] == sorted(on_context)
    assert clause_42.references["documents"] == [] and clause_42.references["questions"] == 0
    assert [p["id"] for p in clause_42.references["processes"]] == [whole.id]


def test_iso_change_review_refuses_bad_pairs_and_a_second_open_review(org):
    with pytest.raises(InvalidData) as exc:
        open_iso_change_review(org.quality, old_standard="iso-9001-2015", new_standard="iso-9001-2015")
    assert set(exc.value.errors) == {"new_standard"}
    with pytest.raises(InvalidData) as exc:
        open_iso_change_review(org.quality, old_standard="iso-9001-1994", new_standard="iso-9001-2015")
    assert set(exc.value.errors) == {"old_standard"}
    with pytest.raises(InvalidData) as exc:
        open_iso_change_review(org.quality, old_standard="iso-9001-2015", new_standard="")
    assert set(exc.value.errors) == {"new_standard"}
    with pytest.raises(InvalidData) as exc:
        open_iso_change_review(
            org.quality,
            old_standard="iso-9001-2015",
            new_standard="iso-9001-2015-amd1-2024",
            transition_deadline="soon",
        )
    assert set(exc.value.errors) == {"transition_deadline"}
    for who in (org.auditor, org.owner, org.viewer):
        with pytest.raises(NotPermitted):
            open_iso_change_review(who, old_standard="iso-9001-2015", new_standard="iso-9001-2015-amd1-2024")
    first = open_iso_change_review(org.quality, old_standard="iso-9001-2015", new_standard="iso-9001-2015-amd1-2024")
    with pytest.raises(InvalidData) as exc:
        open_iso_change_review(org.manager, old_standard="iso-9001-2015", new_standard="iso-9001-2015-amd1-2024")
    assert first.reference in exc.value.errors["new_standard"]
    assert count(IsoChangeReview) == 1
    fire(first, "cancel", org.manager, {"reason": "Opened twice by mistake"})
    second = open_iso_change_review(org.manager, old_standard="iso-9001-2015", new_standard="iso-9001-2015-amd1-2024")
    assert second.reference != first.reference and len(second.items) == 2


# --------------------------------------------------------------------------- ISO change: the lifecycle


def _amendment_review(org) -> IsoChangeReview:
    return open_iso_change_review(org.quality, old_standard="iso-9001-2015", new_standard="iso-9001-2015-amd1-2024")


def test_gap_analysis_completes_only_when_every_change_is_assessed(org):
    review = _amendment_review(org)
    first, second = review.items
    assess_change(first, org.quality, status="no_gap")  # allowed before the analysis formally starts
    fire(review, "start_gap_analysis", org.quality)
    assess_change(first, org.quality, status="gap", assessment="Add climate change to the context analysis")
    with pytest.raises(GuardFailed) as exc:
        fire(review, "complete_gap_analysis", org.manager, {"summary": "Two clauses"}, signature_password=PASSWORD)
    assert reason(exc) == "1 clause change is not yet assessed"
    blocked = {a.name: a for a in available_events(review, org.manager)}["complete_gap_analysis"]
    assert not blocked.allowed and blocked.reason == "1 clause change is not yet assessed"
    with pytest.raises(InvalidData) as bad:
        assess_change(second, org.quality, status="gap", assessment="  ")
    assert set(bad.value.errors) == {"assessment"}
    with pytest.raises(InvalidData) as bad:
        assess_change(second, org.quality, status="not_assessed")
    assert set(bad.value.errors) == {"status"}
    with pytest.raises(NotPermitted):
        assess_change(second, org.auditor, status="no_gap")
    assess_change(second, org.manager, status="no_gap", assessment="Interested parties already cover climate")
    with pytest.raises(NotPermitted):  # the gap assessment is signed by a manager
        fire(review, "complete_gap_analysis", org.quality, {"summary": "x"}, signature_password=PASSWORD)
    history = fire(
        review, "complete_gap_analysis", org.manager, {"summary": "One gap in 4.1"}, signature_password=PASSWORD
    )
    assert history.signature_meaning == "approved" and review.lifecycle_version == 2
    assert review.state == "transition_planning" and review.gap_summary == "One gap in 4.1"
    assert first.status == "gap" and first.assessment.startswith("Add climate")
    with pytest.raises(InvalidTransition):
        assess_change(second, org.quality, status="gap", assessment="Too late")


def test_iso_change_review_full_lifecycle_with_transition_actions(org):
    review = _amendment_review(org)
    fire(review, "start_gap_analysis", org.manager)
    for item in review.items:
        assess_change(item, org.quality, status="gap", assessment=f"Update {item.new_clause}")
    fire(
        review,
        "complete_gap_analysis",
        org.manager,
        {"summary": "Both clauses need the climate question"},
        signature_password=PASSWORD,
    )
    action = add_action(
        review,
        org.quality,
        title="Add climate change to the context register",
        owner_id=org.owner.id,
        due_date=days(30),
    )
    assert action.review_kind == "iso_change" and review_of(action) is review
    with pytest.raises(NotPermitted):
        fire(review, "approve_plan", org.quality, {"target_date": days(90)})
    fire(review, "approve_plan", org.manager, {"target_date": days(90)})
    assert review.state == "implementing" and review.transition_deadline == days(90)
    with pytest.raises(GuardFailed) as exc:
        fire(review, "complete_implementation", org.quality)
    assert reason(exc) == "1 transition action is still open"
    with pytest.raises(NotPermitted):
        complete_action(action, org.viewer, outcome="Done")
    with pytest.raises(InvalidData):
        complete_action(action, org.owner, outcome="")
    complete_action(action, org.owner, outcome="Register updated, reviewed at the context workshop")
    assert action.status == "done" and action.done_at is not None
    with pytest.raises(InvalidTransition):
        complete_action(action, org.owner, outcome="Again")
    fire(review, "complete_implementation", org.quality)
    verifying_audit = audit_in_state(org, "closed", clauses=("4.1",))
    with pytest.raises(InvalidData) as bad:
        link_verification(review, org.quality)
    assert set(bad.value.errors) == {"audit_id"}
    with pytest.raises(InvalidData) as bad:
        link_verification(review, org.quality, audit_id=999_999)
    assert set(bad.value.errors) == {"audit_id"}
    link_verification(review, org.quality, audit_id=verifying_audit.id)
    assert review.verification_audit_id == verifying_audit.id
    # verification finds one more thing to do: it is an action, and the review cannot close while it is open
    late = add_action(review, org.manager, title="Brief the top management", owner_id=org.quality.id, due_date=days(7))
    with pytest.raises(GuardFailed) as exc:
        fire(review, "close", org.manager, {"verification": "Verified by audit"}, signature_password=PASSWORD)
    assert reason(exc) == "1 transition action is still open"
    fire(review, "return_to_implementing", org.quality, {"reason": "Top management not briefed"})
    other = add_action(review, org.quality, title="Duplicate briefing", owner_id=org.quality.id, due_date=days(7))
    with pytest.raises(NotPermitted):
        cancel_action(other, org.owner, reason="Not mine")
    cancel_action(other, org.quality, reason="Same as the briefing action")
    complete_action(late, org.quality, outcome="Briefed at the November meeting")
    fire(review, "complete_implementation", org.manager)
    with pytest.raises(NotPermitted):
        fire(review, "close", org.quality, {"verification": "Verified"}, signature_password=PASSWORD)
    with pytest.raises(InvalidData):
        fire(review, "close", org.manager, {"verification": "Verified"})
    fire(review, "close", org.manager, {"verification": "Verified by the context audit"}, signature_password=PASSWORD)
    assert review.state == "closed" and review.verification == "Verified by the context audit"
    assert review.closed_at is not None
    assert [a.status for a in actions_of(review)] == ["done", "done", "cancelled"]
    assert history_of(review)[-1].signature_meaning == "approved"
    assert replay(review) == "closed"
    assert verify().ok


def test_cancelling_a_review_cancels_its_open_actions(org):
    review = _amendment_review(org)
    fire(review, "start_gap_analysis", org.manager)
    action = add_action(review, org.quality, title="Read the amendment", owner_id=org.owner.id, due_date=days(5))
    fire(review, "cancel", org.manager, {"reason": "Handled in the 2026 edition review"})
    assert action.status == "cancelled" and "Handled in the 2026 edition review" in action.outcome
    assert open_actions_for(org.owner) == []


# --------------------------------------------------------------------------- organisational change


def test_org_change_with_suggested_impacts_and_actions(org):
    production = new_process(org)
    procedure = document(org, "Moulding procedure", ["8.5.1"], process="Production")
    document(org, "Purchasing procedure", ["8.4"], process="Purchasing")
    upcoming = create_audit(org.quality, title="Production audit", process_id=production.id, planned_start=days(20))
    nc = new_nc(org)  # process Production
    with pytest.raises(NotPermitted):
        open_org_change_review(org.viewer, title="x", change_kind="process", description="y")
    with pytest.raises(InvalidData) as bad:
        open_org_change_review(
            org.owner, title="", change_kind="merger", description="y", process_id=999_999, site_id="abc"
        )
    assert set(bad.value.errors) == {"title", "change_kind", "process_id", "site_id"}
    review = open_org_change_review(
        org.owner,
        title="Second moulding line",
        change_kind="process",
        description="A second injection-moulding line with its own shift.",
        process_id=production.id,
    )
    assert review.reference.startswith("OCR-") and review.state == "proposed"
    entries = count(ChangeImpact)
    suggested = suggest_impacts(review)
    assert count(ChangeImpact) == entries == 0  # suggestions write nothing
    assert [(s["area"], s["link"]) for s in suggested] == [
        ("process", f"process:{production.id}"),
        ("document", f"document:{procedure.id}"),
        ("audit_programme", f"audit:{upcoming.id}"),
        ("risk", f"nonconformity:{nc.id}"),
    ]
    for link in ("document:999999", "audit:abc", "supplier:1", "process"):
        with pytest.raises(InvalidData) as bad:
            add_impact(review, org.owner, area="document", subject="x", link=link)
        assert set(bad.value.errors) == {"link"}
    with pytest.raises(InvalidData) as bad:
        add_impact(review, org.owner, area="weather", subject="")
    assert set(bad.value.errors) == {"area", "subject"}
    fire(review, "start_assessment", org.quality)
    impact = add_impact(
        review,
        org.owner,
        area="document",
        subject=procedure.title,
        link=f"document:{procedure.id}",
        assessment="Add line 2",
    )
    with pytest.raises(InvalidData):
        add_impact(review, org.owner, area="document", subject="again", link=f"document:{procedure.id}")
    add_impact(review, org.quality, area="risk", subject="Untrained operators on the night shift")
    assert f"document:{procedure.id}" not in {s["link"] for s in suggest_impacts(review)}
    remove_impact(impact, org.quality)
    assert [i.area for i in review.impacts] == ["risk"]
    fire(
        review,
        "complete_assessment",
        org.owner,
        {
            "consequences": "More capacity; new failure modes",
            "qms_integrity": "Procedures and audits extended to line 2",
            "resources": "Two operators, one setter",
            "responsibilities": "Production manager owns line 2",
        },
    )
    assert review.state == "planning" and review.responsibilities == "Production manager owns line 2"
    assert review.consequences and review.qms_integrity and review.resources
    with pytest.raises(InvalidData) as bad:
        add_action(review, org.quality, title="Train", owner_id=org.owner.id, due_date=days(10), category="improvement")
    assert set(bad.value.errors) == {"category"}
    with pytest.raises(InvalidData) as bad:
        add_action(review, org.quality, title="Train", owner_id=org.viewer.id, due_date=days(-1))
    assert set(bad.value.errors) == {"owner_id", "due_date"}
    action = add_action(review, org.quality, title="Train the night shift", owner_id=org.owner.id, due_date=days(10))
    fire(review, "approve_plan", org.manager, {"target_date": days(45)})
    assert review.target_date == days(45)
    with pytest.raises(InvalidTransition):
        add_impact(review, org.quality, area="other", subject="Too late")
    with pytest.raises(GuardFailed) as exc:
        fire(review, "complete_implementation", org.owner)
    assert reason(exc) == "1 change action is still open"
    assert open_actions_for(org.owner) == [action]
    complete_action(action, org.owner, outcome="Twelve operators trained")
    fire(review, "complete_implementation", org.owner, {"effectiveness_review_due": days(30)})
    assert review.effectiveness_review_due == days(30)
    with pytest.raises(GuardFailed):
        fire(review, "close", org.manager, {"evidence": "No defects"}, signature_password=PASSWORD)
    fire(
        review,
        "close",
        org.manager,
        {"evidence": "Scrap rate on line 2 below 1 %"},
        signature_password=PASSWORD,
        today=days(30),
    )
    assert review.state == "closed" and review.evidence.startswith("Scrap rate") and review.closed_at is not None
    assert replay(review) == "closed"


def test_new_site_suggests_its_processes_and_programme(org):
    site = create_site(org.quality, name="Mombasa plant", code="MSA")
    from qms.services.audits import save_process

    dispatch = save_process(org.quality, name="Dispatch", code="DSP", site_id=site.id)
    create_programme(
        org.quality, year=2027, title="Mombasa 2027", site_id=site.id, entries=[{"process_id": dispatch.id}]
    )
    review = open_org_change_review(
        org.manager, title="Open Mombasa", change_kind="new_site", description="A new plant", site_id=site.id
    )
    assert [(s["area"], s["link"]) for s in suggest_impacts(review)] == [
        ("process", f"process:{dispatch.id}"),
        ("audit_programme", ""),
    ]
    fire(review, "start_assessment", org.manager)
    programme = suggest_impacts(review)[1]
    add_impact(review, org.manager, area=programme["area"], subject=programme["subject"])
    assert len(suggest_impacts(review)) == 1
    action = add_action(review, org.manager, title="Plan the first audit", owner_id=org.quality.id, due_date=days(3))
    fire(review, "reject", org.manager, {"reason": "Plant not leased"})
    assert review.state == "rejected" and action.status == "cancelled"


# --------------------------------------------------------------------------- management review: inputs


def _set(obj, **values) -> None:
    for name, value in values.items():
        setattr(obj, name, value)
    db.session.commit()


def _held_review(org, *, planned_for: dt.date, start: dt.date, end: dt.date, title: str = "Management review"):
    review = plan_management_review(
        org.manager, title=title, planned_for=planned_for, period_start=start, period_end=end
    )
    fire(review, "start_gathering", org.quality)
    compile_inputs(review, org.quality)
    for key in missing_inputs(review):
        set_input_notes(review, org.quality, key, "Discussed")
    fire(review, "mark_ready", org.quality)
    fire(review, "record_meeting", org.quality, {"held_on": TODAY, "attendees": ["Manager", "Quality"]})
    return review


def _answered_audit(org, process, results: dict[int, str], *, clauses=("8.5",)):
    audit = audit_in_state(org, "in_progress", process=process, clauses=clauses)
    for index, item in enumerate(audit.items):
        result = results.get(index, "conforming")
        answer(item, org.auditor, result=result, notes="Seen on the line" if result != "conforming" else "")
    fire(audit, "draft_report", org.auditor, {"summary": "Mostly conforming"}, signature_password=PASSWORD)
    return audit


def test_management_review_inputs_match_the_records_they_summarise(org):
    start, end = days(-90), TODAY
    before = days(-200)
    # a) actions of an earlier review: one open and overdue, one done in the period, one done long ago
    earlier = _held_review(org, planned_for=days(-100), start=days(-465), end=days(-101), title="Review 2025")
    add_action(
        earlier, org.manager, title="Hire a metrologist", owner_id=org.quality.id, due_date=days(-10),
        category="resources", today=days(-100),
    )  # fmt: skip
    done = add_action(
        earlier, org.manager, title="New KPI", owner_id=org.owner.id, due_date=days(5), category="qms_change"
    )
    complete_action(done, org.owner, outcome="KPI live")
    old = add_action(
        earlier, org.manager, title="Old one", owner_id=org.owner.id, due_date=days(5), category="improvement"
    )
    complete_action(old, org.owner, outcome="Done long ago")
    _set(old, done_at=utcnow() - dt.timedelta(days=150))
    # b) changes: one org change opened now, one ISO change opened long ago and still open
    change = open_org_change_review(org.manager, title="Restructure", change_kind="restructuring", description="x")
    iso = _amendment_review(org)
    _set(iso, created_at=utcnow() - dt.timedelta(days=300))
    # c1) a survey answered in and out of the period; complaints in (one overdue) and out of the period
    survey = create_survey(
        org.quality,
        title="Satisfaction",
        questions=[{"kind": "nps", "text": "Recommend us?", "required": True}, {"kind": "rating", "text": "Speed?"}],
    )
    fire(survey, "open", org.quality, {})
    nps_q, rating_q = (f"q{q.id}" for q in survey.questions)
    for nps_value, rating, on in ((10, 5, days(-5)), (9, 4, days(-20)), (3, 1, days(-30)), (0, 1, before)):
        submit_response(survey, {nps_q: nps_value, rating_q: rating}, today=on)
    log_complaint(org.quality, channel="phone", summary="Late", description="Late delivery", received_at=utcnow())
    log_complaint(
        org.quality, channel="email", summary="Broken", description="Broken part",
        received_at=utcnow() - dt.timedelta(days=40),
    )  # fmt: skip
    log_complaint(
        org.quality, channel="email", summary="Old", description="Before the period",
        received_at=utcnow() - dt.timedelta(days=200),
    )  # fmt: skip
    # c3, c4, c7) nonconformities in and out of the period
    production = new_process(org)
    supplier_nc = new_nc(
        org, title="Wrong resin grade delivered", source="supplier", process="Purchasing", detected_on=days(-10)
    )
    fire(supplier_nc, "triage", org.quality, {"severity": "minor"})
    major = new_nc(org, detected_on=days(-3))
    fire(major, "triage", org.quality, {"severity": "major"})
    fire(major, "contain", org.owner, {"containment": "Parts quarantined"})
    fire(major, "analyse_root_cause", org.quality, {"method": "five_whys", "root_cause": "No reminder", "whys": ["a"]})
    add_corrective_action(major, org.quality, title="Reminders", owner_id=org.owner.id, due_date=days(10))
    late_action = add_corrective_action(
        major, org.quality, title="Recalibrate", owner_id=org.owner.id, due_date=days(-2), today=days(-5)
    )
    fire(major, "plan_actions", org.quality, {"verification_due": days(40).isoformat()})
    fire(late_action, "start", org.owner)
    fire(late_action, "implement", org.owner, {"implementation": "Recalibrated"})  # implemented late, today
    rejected = new_nc(org, detected_on=days(-7), process="Production")
    fire(rejected, "reject", org.quality, {"reason": "Not a nonconformity"})
    old_nc = new_nc(org, detected_on=before)  # open, before the period
    closed_old = new_nc(org, detected_on=before, title="Closed in the period")
    fire(closed_old, "triage", org.quality, {"severity": "observation"})
    fire(closed_old, "close_observation", org.quality, {"justification": "Noted"}, signature_password=PASSWORD)
    # c5) documents overdue for review
    overdue_doc = document(org, "Calibration procedure", ["7.1.5"])
    _set(overdue_doc, next_review_due=days(-1))
    _set(document(org, "Fresh procedure"), next_review_due=days(30))
    # c6, f) internal audits held in the period with answers; one held before; external audits
    held = _answered_audit(org, production, {0: "ofi", 1: "observation"})
    before_audit = _answered_audit(org, production, {0: "ofi"})
    _set(before_audit, actual_start=before)
    body = CertificationBody(code="CB1", name="Body One", profile={})
    db.session.add(body)
    db.session.flush()
    certification = Certification(
        reference="CERT-1", body_id=body.id, standard_identifier="iso-9001-2015", scope="All",
        owner_id=org.manager.id, applied_on=days(-400),
    )  # fmt: skip
    db.session.add(certification)
    db.session.flush()
    surveillance = ExternalAudit(
        certification_id=certification.id, kind="surveillance", start_date=days(-15), end_date=days(-14),
        recorded_by_id=org.quality.id,
    )  # fmt: skip
    surveillance.findings = [
        ExternalFinding(
            body_reference="F1", grade="minor", grade_label="Minor NC", description="a", response_due=days(30)
        ),
        ExternalFinding(
            body_reference="F2", grade="ofi", grade_label="Opportunity", description="b", response_due=days(30)
        ),
        ExternalFinding(
            body_reference="F3", grade="minor", grade_label="Minor NC", description="c", response_due=days(30)
        ),
    ]
    db.session.add(surveillance)
    db.session.add(
        ExternalAudit(
            certification_id=certification.id, kind="stage2", start_date=before, end_date=before,
            recorded_by_id=org.quality.id,
        )
    )  # fmt: skip
    db.session.commit()

    review = plan_management_review(
        org.manager, title="Management review 2026", planned_for=TODAY, period_start=start, period_end=end
    )
    assert review.reference.startswith("MR-") and review.chair_id == org.manager.id
    compile_inputs(review, org.quality)
    inputs = review.inputs
    assert set(inputs) == set(MANAGEMENT_REVIEW_INPUTS) - {"resources", "risks_opportunities"}
    figures = {key: value["compiled"] for key, value in inputs.items()}
    assert all(value["compiled_at"] and value["notes"] == "" for value in inputs.values())

    previous = figures["previous_actions"]
    assert (previous["open"], previous["done"], previous["overdue"], previous["cancelled"]) == (1, 1, 1, 0)
    assert {a["title"] for a in previous["actions"]} == {"Hire a metrologist", "New KPI"}
    assert all(a["review"] == earlier.reference for a in previous["actions"])

    context = figures["context_changes"]
    assert (context["opened"], context["closed"], context["org_changes"], context["iso_changes"]) == (1, 0, 1, 0)
    assert [r["reference"] for r in context["reviews"]] == [change.reference]

    satisfaction = figures["customer_satisfaction"]
    assert [s["reference"] for s in satisfaction["surveys"]] == [survey.reference]
    only = satisfaction["surveys"][0]
    assert (only["responses"], only["nps_n"], only["nps"]) == (3, 3, round(100 * (2 - 1) / 3, 1))
    assert only["csi"] == 58.3 and only["csi_n"] == 3  # ratings 5, 4, 1 of 1–5 → 100, 75, 0
    complaints = satisfaction["complaints"]
    assert complaints["received"] == 2 and complaints["by_channel"] == {"email": 1, "phone": 1}
    assert complaints["by_state"] == {"received": 2} and complaints["overdue"] == 1 and complaints["open"] == 2

    in_period = [
        nc
        for nc in db.session.scalars(select(Nonconformity))
        if start <= nc.detected_on <= end and nc.state != "rejected"
    ]
    nonconformities = figures["nonconformities"]
    assert nonconformities["raised"] == len(in_period) == 2  # the supplier's and the major one
    assert nonconformities["raised_by_severity"] == {"major": 1, "minor": 1, "observation": 0, "ungraded": 0}
    assert nonconformities["rejected"] == 1
    assert nonconformities["closed"] == 1 and nonconformities["closed_by_severity"]["observation"] == 1
    open_now = [nc for nc in db.session.scalars(select(Nonconformity)) if nc.state not in ("closed", "rejected")]
    assert nonconformities["open"] == len(open_now) == 3  # the supplier's, the major one, and old_nc
    assert old_nc in open_now
    assert nonconformities["open_by_severity"] == {"major": 1, "minor": 1, "observation": 0, "ungraded": 1}
    actions = nonconformities["corrective_actions"]
    open_cas = [ca for ca in db.session.scalars(select(CorrectiveAction)) if ca.state in ca.OPEN_STATES]
    assert actions["open"] == len(open_cas) == 1 and actions["overdue"] == 0
    assert (actions["completed"], actions["completed_on_time"], actions["on_time_percent"]) == (1, 0, 0.0)

    performance = figures["process_performance"]
    assert {row["process"]: row["raised"] for row in performance["processes"]} == dict(
        Counter(nc.process or "(no process)" for nc in in_period)
    )
    assert performance["raised"] == len(in_period)

    monitoring = figures["monitoring_results"]
    assert monitoring["documents_overdue_for_review"] == 1
    assert [d["number"] for d in monitoring["documents"]] == [overdue_doc.number]
    assert monitoring["audit_coverage"]["year"] == end.year
    assert monitoring["audit_coverage"]["percent_audited"] == coverage(end.year).percent_audited

    audits = figures["audit_results"]
    assert audits["internal_audits"] == 1 and [a["reference"] for a in audits["audits"]] == [held.reference]
    assert audits["by_state"] == {"report_drafted": 1}
    expected = Counter(item.result for item in held.items)
    assert {k: v for k, v in audits["checklist_results"].items() if v} == dict(expected)
    assert audits["checklist_results"]["ofi"] == 1 and audits["checklist_results"]["observation"] == 1
    assert audits["external_audits"] == 1 and audits["external_by_kind"] == {"surveillance": 1}
    assert audits["external_findings"] == 3
    assert audits["findings_by_grade"] == [
        {"grade": "minor", "label": "Minor NC", "count": 2},
        {"grade": "ofi", "label": "Opportunity", "count": 1},
    ]

    providers = figures["external_providers"]
    assert providers["raised"] == 1 and providers["by_severity"]["minor"] == 1
    assert [nc["reference"] for nc in providers["nonconformities"]] == [supplier_nc.reference]

    opportunities = figures["improvement_opportunities"]
    ofi_item = next(item for item in held.items if item.result == "ofi")
    assert opportunities["pipeline"]["open"] == 0  # no opportunity in the innovation pipeline
    assert {key: value for key, value in opportunities.items() if key != "pipeline"} == {
        "count": 1,
        "opportunities": [
            {
                "audit_id": held.id,
                "audit": held.reference,
                "clause": ofi_item.clause_number,
                "question": ofi_item.question,
                "notes": "Seen on the line",
            }
        ],
    }
    assert missing_inputs(review) == ["resources", "risks_opportunities"]
    assert count(ChecklistItem) == len(held.items) + len(before_audit.items)
    assert count(Complaint) == 3


# --------------------------------------------------------------------------- management review: lifecycle


def test_missing_inputs_block_the_meeting_until_noted(org):
    with pytest.raises(NotPermitted):
        plan_management_review(org.owner, title="MR", planned_for=TODAY, period_start=days(-30), period_end=TODAY)
    with pytest.raises(InvalidData) as bad:
        plan_management_review(org.manager, title="", planned_for="later", period_start=TODAY, period_end=days(-1))
    assert set(bad.value.errors) == {"title", "planned_for", "period_end"}
    review = plan_management_review(
        org.quality,
        title="MR",
        planned_for=days(10),
        period_start=days(-365),
        period_end=TODAY,
        chair_id=org.manager.id,
    )
    assert review.chair_id == org.manager.id
    fire(review, "start_gathering", org.quality, {"inputs_due": days(5)})
    assert review.inputs_due == days(5)
    with pytest.raises(GuardFailed) as exc:
        fire(review, "mark_ready", org.quality)
    assert reason(exc) == f"{len(MANAGEMENT_REVIEW_INPUTS)} review inputs are still missing"
    compile_inputs(review, org.quality)
    assert missing_inputs(review) == ["resources", "risks_opportunities"]  # c2 is compiled from the objectives
    set_input_notes(review, org.quality, "quality_objectives", "On-time delivery 96 % against 95 %")
    set_input_notes(review, org.quality, "resources", "One metrologist short")
    with pytest.raises(InvalidData) as bad:
        set_input_notes(review, org.quality, "weather", "Sunny")
    assert set(bad.value.errors) == {"key"}
    with pytest.raises(GuardFailed) as exc:
        fire(review, "mark_ready", org.quality)
    assert reason(exc) == "1 review input is still missing"
    set_input_notes(review, org.quality, "risks_opportunities", "Risk register reviewed in October")
    set_input_notes(review, org.quality, "nonconformities", "Trend improving")
    compile_inputs(review, org.quality)  # compiling again keeps the notes
    assert review.inputs["nonconformities"]["notes"] == "Trend improving"
    assert review.inputs["resources"] == {"notes": "One metrologist short"}
    fire(review, "mark_ready", org.quality)
    fire(review, "record_meeting", org.manager, {"held_on": TODAY, "attendees": ["A. Manager", "Q. Officer"]})
    assert review.held_on == TODAY and review.attendees == ["A. Manager", "Q. Officer"]
    with pytest.raises(InvalidTransition):
        compile_inputs(review, org.quality)
    with pytest.raises(InvalidTransition):
        set_input_notes(review, org.quality, "resources", "Changed afterwards")


def test_management_review_outputs_become_actions_tracked_to_done(org):
    review = _held_review(org, planned_for=TODAY, start=days(-365), end=TODAY)
    with pytest.raises(InvalidData) as bad:
        add_action(review, org.manager, title="Buy a CMM", owner_id=org.quality.id, due_date=days(60))
    assert set(bad.value.errors) == {"category"}
    with pytest.raises(NotPermitted):
        add_action(
            review, org.owner, title="Buy a CMM", owner_id=org.quality.id, due_date=days(60), category="resources"
        )
    cmm = add_action(
        review, org.manager, title="Buy a CMM", owner_id=org.quality.id, due_date=days(60), category="resources"
    )
    kpi = add_action(
        review,
        org.quality,
        title="Track scrap per line",
        owner_id=org.owner.id,
        due_date=days(30),
        category="improvement",
    )
    fire(review, "draft_minutes", org.quality, {"minutes": "Decisions: buy a CMM; track scrap per line."})
    with pytest.raises(NotPermitted):
        fire(review, "request_changes", org.quality, {"comments": "x"})
    fire(review, "request_changes", org.manager, {"comments": "Name the owners"})
    fire(review, "draft_minutes", org.quality, {"minutes": "Decisions: Q buys a CMM; O tracks scrap per line."})
    assert review.minutes.startswith("Decisions: Q buys")
    with pytest.raises(NotPermitted):
        fire(review, "approve_minutes", org.quality, signature_password=PASSWORD)
    fire(review, "approve_minutes", org.manager, signature_password=PASSWORD)
    assert review.minutes_approved_at is not None
    assert history_of(review)[-1].signature_meaning == "approved"
    fire(review, "start_tracking", org.quality)
    with pytest.raises(GuardFailed) as exc:
        fire(review, "close", org.quality)
    assert reason(exc) == "2 review actions are still open"
    assert open_actions_for(org.owner) == [kpi] and open_actions_for(org.quality) == [cmm]
    complete_action(kpi, org.owner, outcome="Scrap per line on the dashboard")
    complete_action(cmm, org.manager, outcome="CMM ordered")
    fire(review, "close", org.quality)
    assert review.state == "closed" and review.closed_at is not None
    assert [(a.category, a.status) for a in actions_of(review)] == [("resources", "done"), ("improvement", "done")]
    assert count(ReviewAction) == 2 and replay(review) == "closed"


def test_a_review_not_yet_held_is_cancelled_by_a_manager(org):
    review = plan_management_review(
        org.manager, title="MR", planned_for=days(10), period_start=days(-365), period_end=TODAY
    )
    with pytest.raises(InvalidTransition):
        add_action(
            review, org.manager, title="Too early", owner_id=org.quality.id, due_date=days(5), category="resources"
        )
    with pytest.raises(NotPermitted):
        fire(review, "cancel", org.quality, {"reason": "Moved"})
    fire(review, "cancel", org.manager, {"reason": "Merged with the Q1 review"})
    assert review.state == "cancelled"
    assert PLAN_DAY  # the audits of these tests are planned on the helpers' plan day
