"""Planning in the rest of the system: management review inputs c2 and f, certification readiness
(6.2, 6.3), the dashboard's objectives panel, My work and the daily digest."""

from __future__ import annotations

import datetime as dt

from qms.services import fire
from qms.services.certifications import readiness
from qms.services.changes import add_task, complete_task, request_change
from qms.services.my_work import work_for
from qms.services.objectives import record_measurement
from qms.services.opportunities import create_committee, propose_opportunity
from qms.services.reminders import digest_items
from qms.services.reviews import compile_inputs, missing_inputs, plan_management_review

from ..conftest import PASSWORD
from ..surveys.test_web import signed_in, text
from .helpers import active_objective, months_ago, new_objective

TODAY = dt.date.today()


def _pilot(org, *, ends: dt.date):
    committee = create_committee(org.manager, name="Innovation", chair_id=org.manager.id, member_ids=[org.quality.id])
    idea = propose_opportunity(org.owner, title="E-bikes", description="Faster", committee_id=committee.id)
    fire(
        idea,
        "evaluate",
        org.owner,
        {"estimated_cost": 100, "expected_benefit": "B", "edge_category": "price", "cost_benefit": "C"},
    )
    fire(idea, "approve", org.quality, {"decision": "Pilot", "decided_on": TODAY}, signature_password=PASSWORD)
    fire(
        idea,
        "start_pilot",
        org.owner,
        {"pilot_plan": "P", "success_criteria": "S", "pilot_start": TODAY - dt.timedelta(days=30), "pilot_end": ends},
    )
    return idea


def test_management_review_inputs_c2_and_f_fill_themselves(org):
    achieved = active_objective(org, title="On-time delivery")
    record_measurement(achieved, org.quality, measured_on=months_ago(1), value=97)
    fire(achieved, "mark_achieved", org.quality, {"evaluation": "Monthly KPI"})
    running = active_objective(org, title="Complaints answered in two days", owner_id=org.owner.id)
    record_measurement(running, org.owner, measured_on=months_ago(2), value=60)
    _pilot(org, ends=TODAY + dt.timedelta(days=10))
    review = plan_management_review(
        org.manager,
        title="MR",
        planned_for=TODAY + dt.timedelta(days=5),
        period_start=months_ago(12),
        period_end=TODAY,
    )
    compile_inputs(review, org.quality)
    c2 = review.inputs["quality_objectives"]["compiled"]
    assert c2["objectives"] == 2 and c2["achieved"] == 1 and c2["percent_met_of_evaluated"] == 100.0
    rows = {row["title"]: row for row in c2["rows"]}
    assert rows["On-time delivery"]["status"] == "Achieved" and rows["On-time delivery"]["target"] == "at least 95 %"
    assert rows["Complaints answered in two days"]["status"] in ("Off track", "At risk")
    f = review.inputs["improvement_opportunities"]["compiled"]
    assert f["pipeline"]["piloting"] == 1 and f["pipeline"]["opportunities"][0]["stage"] == "Piloting"
    assert "quality_objectives" not in missing_inputs(review)


def test_readiness_counts_planning_evidence_with_reasons(org):
    before = readiness()
    messages = [r.message for r in before.reasons]
    assert "No quality objectives are set and approved (ISO 9001 6.2)" in messages
    assert any("(ISO 9001 6.3)" in m for m in messages)
    objective = active_objective(org, starts_on=months_ago(6))
    change = request_change(
        org.quality, title="New line", purpose="P", consequences="C", resources="R", responsibilities="S"
    )
    fire(change, "submit", org.quality)
    after = readiness()
    messages = [r.message for r in after.reasons]
    assert not any(m.startswith("No quality objectives") or "planned through" in m for m in messages)
    assert "1 active quality objective without a value in the last 93 days (ISO 9001 9.1.3)" in messages
    assert after.figures["quality_objectives_in_force"] == 1 and after.figures["planned_changes"] == 1
    record_measurement(objective, org.quality, measured_on=TODAY, value=90)
    assert readiness().figures["quality_objectives_not_measured"] == 0


def test_my_work_and_digest_list_values_due_pilots_ending_and_change_reviews(app, org):
    objective = active_objective(org, owner_id=org.owner.id, starts_on=months_ago(3))
    _pilot(org, ends=TODAY + dt.timedelta(days=3))
    change = request_change(
        org.owner, title="New line", purpose="P", consequences="C", resources="R", responsibilities="S"
    )
    task = add_task(change, org.owner, title="Train operators", owner_id=org.owner.id, due_date=TODAY)
    fire(change, "submit", org.owner)
    manager_work = {(i.kind, i.reference): i for i in work_for(org.manager, TODAY)}
    assert manager_work[("change", change.reference)].actions == ["Approve"]
    fire(change, "approve", org.manager, {"planned_for": TODAY}, signature_password=PASSWORD)
    fire(change, "start_implementation", org.owner)
    work = {(i.kind, i.title): i for i in work_for(org.owner, TODAY)}
    value_due = work[("objective", "On-time delivery: record the value")]
    assert value_due.overdue and value_due.due < TODAY  # three months without a value
    assert work[("opportunity", "Pilot ends: E-bikes")].due == TODAY + dt.timedelta(days=3)
    assert work[("change", "Train operators")].actions == ["Complete the task"]
    complete_task(task, org.owner, outcome="Trained")
    fire(change, "complete_implementation", org.owner, {"review_due": TODAY + dt.timedelta(days=2)})
    digest = {(i.kind, i.title) for i in digest_items(org.owner, TODAY, days_ahead=7)}
    assert {
        ("objective", "On-time delivery: record the value"),
        ("opportunity", "Pilot ends: E-bikes"),
        ("change", "Post-change review: New line"),
    } <= digest
    page = text(signed_in(app, org.owner).get("/my-work"))
    assert f'href="/objectives/{objective.id}"' in page and f'href="/changes/{change.id}"' in page
    committee_work = {(i.kind, i.title) for i in work_for(org.quality, TODAY)}
    assert ("opportunity", "Pilot ends: E-bikes") in committee_work  # a committee member decides on adoption


def test_dashboard_shows_objective_status(app, org):
    on_track = active_objective(org, title="On track one")
    for n, value in ((3, 90), (2, 93), (1, 96)):
        record_measurement(on_track, org.quality, measured_on=months_ago(n), value=value)
    off = active_objective(org, title="Off track one")
    for n in (3, 2, 1):
        record_measurement(off, org.quality, measured_on=months_ago(n), value=50)
    new_objective(org, title="A draft")
    page = text(signed_in(app, org.viewer).get("/"))
    panel = page.split('id="objective-panel"')[1].split("</section>")[0]
    assert "Off track one" in panel and "On track one" not in panel and "A draft" not in panel
    assert "<strong>1</strong><span>on track</span>" in panel and "<strong>1</strong><span>off track</span>" in panel
