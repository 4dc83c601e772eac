"""The qms command line."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from qms.database import db
from qms.lifecycles import LIFECYCLE_NAMES
from qms.models import Nonconformity, User
from qms.services.audit_trail import verify
from workflows import lifecycle_names


@pytest.mark.sqlite_only
def test_lifecycle_list_names_every_lifecycle(runner):
    result = runner.invoke(args=["lifecycle", "list"])
    assert result.exit_code == 0
    for name in lifecycle_names():
        assert name in result.output
    assert len(result.output.strip().splitlines()) == len(LIFECYCLE_NAMES)


@pytest.mark.sqlite_only
def test_lifecycle_diagram_prints_mermaid(runner):
    result = runner.invoke(args=["lifecycle", "diagram", "certification"])
    assert result.exit_code == 0
    assert "stateDiagram-v2" in result.output
    assert 'state "Stage 1' in result.output


@pytest.mark.sqlite_only
def test_lifecycle_diagram_writes_a_file_and_highlights_a_state(runner, tmp_path):
    out = tmp_path / "nc.mmd"
    result = runner.invoke(args=["lifecycle", "diagram", "nonconformity", "-o", str(out), "--state", "contained"])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "Class contained s_active" in text


@pytest.mark.sqlite_only
def test_lifecycle_diagram_rejects_unknown_names_and_states(runner):
    assert runner.invoke(args=["lifecycle", "diagram", "nope"]).exit_code == 2
    bad_state = runner.invoke(args=["lifecycle", "diagram", "survey", "--state", "nope"])
    assert bad_state.exit_code == 1 and "not a state" in bad_state.output


def test_create_user_with_roles(runner):
    result = runner.invoke(
        args=["create-user", "ann@example.test", "--name", "Ann Lee", "--role", "manager", "--role", "viewer"],
        input="long-enough-pass\nlong-enough-pass\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "ann@example.test"))
    assert user.roles == {"manager", "viewer"}
    assert user.password_hash.startswith("$argon2id$")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create-user", "not-an-email", "--role", "manager", "--password", "long-enough-pass"], "email"),
        (["create-user", "a@example.test", "--role", "wizard", "--password", "long-enough-pass"], "roles"),
        (["create-user", "a@example.test", "--role", "viewer", "--password", "short"], "password"),
    ],
)
def test_create_user_refuses_bad_input_naming_the_field(runner, args, message):
    result = runner.invoke(args=args)
    assert result.exit_code == 1
    assert message in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_seed_demo_builds_an_organisation_with_a_valid_trail(runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "manager@example.com" in result.output
    states = set(db.session.scalars(select(Nonconformity.state)))
    assert {"reported", "triaged", "contained", "closed"} <= states
    from qms.models import Audit, ChecklistItem

    assert {"planned", "in_progress", "closed"} <= set(db.session.scalars(select(Audit.state)))
    assert db.session.scalar(select(func.count()).where(ChecklistItem.nonconformity_id.is_not(None))) == 1
    from qms.models import Complaint, SurveyResponse

    assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 72
    from qms.models import Certification, ExternalFinding, ImplementationItem, IsoChangeReview, ManagementReview

    assert sorted(db.session.scalars(select(ManagementReview.state))) == ["closed", "gathering_inputs"]
    # the transition from ISO 9001:2015 to 2026 is under way: its review in gap analysis, the body's audit planned
    transition = db.session.scalars(select(IsoChangeReview)).one()
    assert (transition.old_standard, transition.new_standard, transition.state) == (
        "iso-9001-2015",
        "iso-9001-2026",
        "gap_analysis",
    )
    changed = {item.new_clause for item in transition.items if item.change == "changed"}
    assert {"5.1.1", "6.1.2", "6.1.3", "6.3", "7.3"} <= changed
    assert all(item.references["cited_by"] for item in transition.items if item.new_clause in {"5.1.1", "6.3", "7.3"})
    kebs = db.session.scalar(select(Certification).where(Certification.state == "surveillance"))
    assert kebs.standard_identifier == "iso-9001-2015" and kebs.transition_audit_planned_on is not None
    assert db.session.scalar(select(func.count()).select_from(ImplementationItem)) > 5

    assert sorted(db.session.scalars(select(Certification.state))) == ["stage1", "surveillance"]
    assert db.session.scalar(select(func.count()).where(ExternalFinding.nonconformity_id.is_not(None))) == 1
    assert {"received", "acknowledged", "investigating", "escalated", "closed"} == set(
        db.session.scalars(select(Complaint.state))
    )
    # a year of history on real dates, not one minute
    from qms.models import Document, TransitionHistory, User
    from qms.services.my_work import work_for

    moments = list(db.session.scalars(select(TransitionHistory.at)))
    assert min(moments).date() <= dt.date.today() - dt.timedelta(days=300)
    assert len({m.date() for m in moments}) > 40
    # an NC whose effectiveness check is due today, a document register, work for every demo user
    due = select(func.count()).where(
        Nonconformity.state == "actions_completed", Nonconformity.verification_due == dt.date.today()
    )
    assert db.session.scalar(due) == 1
    assert db.session.scalar(select(func.count()).select_from(Document)) >= 12
    for user in db.session.scalars(select(User)):
        assert work_for(user, dt.date.today()), f"{user.email} has nothing on My work"
    from qms.models import CompetencePrecondition, TrainingSession

    assert sorted(db.session.scalars(select(TrainingSession.state))) == ["closed", "held", "planned", "planned"]
    assert db.session.scalar(select(CompetencePrecondition.assignment)) == "audit_lead"
    from qms.models import ChangeRequest, ObjectiveMeasurement, Opportunity, QualityObjective

    objectives = {o.measure: o for o in db.session.scalars(select(QualityObjective))}
    assert {o.state for o in objectives.values()} == {"active", "closed", "draft"}
    computed = objectives["nc_raised"]  # a KPI computed from the NC records, with a value per month
    assert len(computed.measurements) == 13 and {m.source for m in computed.measurements} == {"computed"}
    manual = db.session.scalar(select(func.count()).where(ObjectiveMeasurement.source == "manual"))
    assert manual >= 12
    assert {"adopted", "piloting", "proposed"} == set(db.session.scalars(select(Opportunity.state)))
    assert {"implementing", "draft"} == set(db.session.scalars(select(ChangeRequest.state)))
    # every path the demo takes through the services leaves rows that match the trail
    db.session.rollback()
    trail = verify(db.session)
    assert trail.ok, trail.problems
    assert trail.rows_checked > 100 and trail.records_replayed > 20
    again = runner.invoke(args=["seed-demo", "--if-empty"])
    assert again.exit_code == 0 and "not loaded" in again.output
