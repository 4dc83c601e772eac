"""``qms seed-demo --scale large``: the bulk-loaded organisation, at a small factor, on each database.

The same code path as the full-size load (issue 8) runs at factor 0.002: counts proportional,
every workflow record's history leading to its state, one revision in force per document,
foreign keys and the audit trail intact, and the data usable by the normal services afterwards.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pytest
from sqlalchemy import func, select, text

from qms.database import db
from qms.demo import DEMO_PASSWORD, DEMO_USERS
from qms.demo.large import FULL_SIZE, SeedRefused, seed_large
from qms.models import (
    IN_FORCE_STATES,
    WORKFLOW_MODELS,
    Audit,
    AuditEntry,
    Calibration,
    Certification,
    ChecklistItem,
    CorrectiveAction,
    Document,
    DocumentRevision,
    Equipment,
    Nonconformity,
    Supplier,
    SupplierEvaluation,
    SurveyAnswer,
    SurveyResponse,
    TransitionHistory,
    User,
)
from qms.services import fire
from qms.services.audit_trail import verify
from qms.services.certifications import cycle_of
from qms.services.nonconformities import raise_nonconformity
from qms.services.search import search_documents
from qms.services.standards import find_standard
from qms.services.users import check_password, find_by_email
from workflows import get_lifecycle

FACTOR = 0.002
pytestmark = pytest.mark.real_commits  # on PostgreSQL the load ends with ANALYZE on a connection of its own
PLAN_APPROVED = ("action_planned", "actions_completed")


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def seeded(app):
    counts = seed_large(FACTOR, progress=lambda line: None)
    db.session.remove()
    return counts


def test_counts_are_the_full_size_scaled_down(seeded):
    assert _count(Nonconformity) == seeded["nonconformities"] == round(FULL_SIZE["nonconformities"] * FACTOR)
    assert _count(Document) == round(FULL_SIZE["documents"] * FACTOR)
    assert _count(Audit) == round(FULL_SIZE["audits"] * FACTOR)
    # the others follow the life of the records, so they are near their share, not exact
    actions = _count(CorrectiveAction)
    assert 0.6 * FULL_SIZE["corrective_actions"] * FACTOR <= actions <= 1.5 * FULL_SIZE["corrective_actions"] * FACTOR
    revisions = _count(DocumentRevision)
    assert 2 * _count(Document) <= revisions <= 8 * _count(Document)
    responses = _count(SurveyResponse)
    assert 0.5 * FULL_SIZE["survey_responses"] * FACTOR <= responses <= FULL_SIZE["survey_responses"] * FACTOR
    assert _count(SurveyAnswer) >= 5 * responses
    assert _count(Supplier) == round(FULL_SIZE["suppliers"] * FACTOR) and _count(SupplierEvaluation) > 0
    assert _count(Equipment) == round(FULL_SIZE["equipment"] * FACTOR) and _count(Calibration) > 0
    answered = db.session.scalar(select(func.count()).where(ChecklistItem.result.is_not(None)))
    assert answered > 0
    # two certifications through a full cycle, with the dates qms.services.certifications computes
    certifications = db.session.scalars(select(Certification).order_by(Certification.id)).all()
    assert [c.state for c in certifications] == ["certified", "recertification"]
    for certification in certifications:
        kinds = sorted(audit.kind for audit in certification.audits)
        assert kinds == ["recertification", "stage1", "stage2", "surveillance", "surveillance"]
        assert cycle_of(certification).expires_on == certification.expires_on
        assert certification.decided_on <= dt.date.today()
    assert _count(User) >= 20
    assert set(seeded) >= {"users", "nonconformities", "transition_history", "document_revisions"}
    # the demo users of qms.demo sign in with the demo password; the password was hashed once
    for email, _name, roles in DEMO_USERS:
        user = find_by_email(email)
        assert user is not None and user.active
        assert set(roles) <= user.roles
    assert check_password(find_by_email("admin@example.com"), DEMO_PASSWORD)
    hashes = set(db.session.scalars(select(User.password_hash)))
    assert len(hashes) == 1  # hashed once


def test_quality_objectives_have_three_years_of_monthly_values(seeded):
    from qms.models import ObjectiveMeasurement, Opportunity, QualityObjective
    from qms.services.objectives import objective_statuses

    objectives = db.session.scalars(select(QualityObjective)).all()
    assert len(objectives) == round(FULL_SIZE["quality_objectives"] * FACTOR) or len(objectives) == 10
    longest = max(len(o.measurements) for o in objectives)
    assert 35 <= longest <= 37  # a value per month of the three years
    for objective in objectives:
        days = [m.measured_on for m in objective.measurements]
        assert days == sorted(set(days)) and all(objective.starts_on <= d <= dt.date.today() for d in days)
    assert {"active", "closed"} <= {o.state for o in objectives}
    missed = [o for o in objectives if o.missed_follow_up == "opportunity"]
    assert all(db.session.get(Opportunity, o.opportunity_id).source == "objective_missed" for o in missed)
    statuses = objective_statuses([o for o in objectives if o.state == "active"], dt.date.today())
    assert {s.status for s in statuses.values()} <= {"on_track", "at_risk", "off_track"}
    assert db.session.scalar(select(func.count()).select_from(ObjectiveMeasurement)) >= 12 * len(objectives) // 2


def test_every_history_leads_to_the_state_of_its_record(seeded):
    rows = db.session.execute(
        select(
            TransitionHistory.lifecycle,
            TransitionHistory.record_id,
            TransitionHistory.from_state,
            TransitionHistory.to_state,
            TransitionHistory.lifecycle_version,
            TransitionHistory.event,
            TransitionHistory.signature_meaning,
        ).order_by(TransitionHistory.id)
    ).all()
    chains: dict[tuple[str, int], list] = defaultdict(list)
    for row in rows:
        chains[(row.lifecycle, row.record_id)].append(row)
    checked = 0
    for name, model in WORKFLOW_MODELS.items():
        lifecycle = get_lifecycle(name)
        for record_id, state, version in db.session.execute(select(model.id, model.state, model.lifecycle_version)):
            chain = chains.pop((name, record_id), [])
            current = lifecycle.initial
            for row in chain:
                event = lifecycle.event(row.event)
                assert row.from_state == current and current in event.sources, (name, record_id, row)
                assert row.to_state == event.dest
                assert row.lifecycle_version == version == lifecycle.version
                assert row.signature_meaning == event.signature
                current = row.to_state
            assert current == state, (name, record_id, state, chain)
            checked += 1
    assert not chains, f"history rows of records that do not exist: {list(chains)[:5]}"
    assert checked > 300


def test_states_are_spread_and_consistent_across_records(seeded):
    today = dt.date.today()
    nc_states = dict(db.session.execute(select(Nonconformity.state, func.count()).group_by(Nonconformity.state)).all())
    assert nc_states.get("closed", 0) > sum(nc_states.values()) / 2  # most old records are closed
    assert len(nc_states) >= 4  # recent ones are open at several stages
    # corrective actions belong to NCs whose state allows them, and follow their NC's plan
    for nc_state, action_state in db.session.execute(
        select(Nonconformity.state, CorrectiveAction.state).join(
            Nonconformity, Nonconformity.id == CorrectiveAction.nonconformity_id
        )
    ):
        assert nc_state in ("root_cause_identified", *PLAN_APPROVED, "effectiveness_verified", "closed")
        if nc_state == "root_cause_identified":
            assert action_state == "planned"
        if nc_state == "actions_completed":
            assert action_state in ("implemented", "verified", "cancelled")
        if nc_state in ("effectiveness_verified", "closed"):
            assert action_state in ("verified", "cancelled")
    # NCs past the plan have at least one action; observations close without
    for nc in db.session.scalars(select(Nonconformity).where(Nonconformity.state.in_(("action_planned", "closed")))):
        if nc.closure_note:
            assert nc.severity == "observation" and not nc.actions
        else:
            assert nc.actions, nc.reference
    # checklist answers exist only in audits that reached the states where answers exist
    for state, result in db.session.execute(
        select(Audit.state, ChecklistItem.result).join(Audit, Audit.id == ChecklistItem.audit_id)
    ):
        if result is not None:
            assert state in Audit.CONDUCTED_STATES
        elif state in ("report_drafted", "report_approved", "follow_up", "closed"):
            pytest.fail(f"an unanswered question in an audit whose report is drafted ({state})")
    # a closed audit's finding NCs are closed
    for nc_state in db.session.scalars(
        select(Nonconformity.state)
        .join(ChecklistItem, ChecklistItem.nonconformity_id == Nonconformity.id)
        .join(Audit, Audit.id == ChecklistItem.audit_id)
        .where(Audit.state == "closed")
    ):
        assert nc_state in ("closed", "rejected")
    # clause numbers are ISO 9001:2015 clauses
    standard = find_standard("iso-9001-2015")
    for refs in db.session.scalars(select(Nonconformity.clause_refs)):
        assert all(standard.has_clause(c) for c in refs), refs
    for number in db.session.scalars(select(ChecklistItem.clause_number).distinct()):
        assert standard.has_clause(number)
    # nothing happened in the future
    assert db.session.scalar(select(func.max(Nonconformity.detected_on))) <= today
    assert db.session.scalar(select(func.max(TransitionHistory.at))) <= dt.datetime.now(dt.UTC)
    # one revision in force per document; older ones superseded
    in_force = dict(
        db.session.execute(
            select(DocumentRevision.document_id, func.count())
            .where(DocumentRevision.state.in_(IN_FORCE_STATES))
            .group_by(DocumentRevision.document_id)
        ).all()
    )
    assert max(in_force.values()) == 1
    superseded = set(
        db.session.scalars(select(DocumentRevision.document_id).where(DocumentRevision.state == "superseded"))
    )
    obsolete = set(db.session.scalars(select(Document.id).where(Document.obsolete)))
    assert superseded, "older revisions are superseded"
    for document_id in superseded - obsolete:
        assert in_force.get(document_id) == 1


def test_foreign_keys_hold_and_the_trail_records_the_load(app, seeded):
    if db.engine.dialect.name == "sqlite":
        assert db.session.execute(text("PRAGMA foreign_key_check")).all() == []
    result = verify(db.session)
    assert result.ok, result.problem
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.record_type == "bulk_load")).all()
    assert len(entries) == 1
    assert '"nonconformities":' in entries[0].new_value and "seed-demo --scale large" in entries[0].reason
    # the search index covers the seeded documents
    document = db.session.scalars(select(Document).where(Document.obsolete.is_(False)).limit(1)).one()
    hits = search_documents(db.session, document.number)
    assert document.id in {hit.document_id for hit in hits}
    assert search_documents(db.session, "responsibilities process owner")


def test_the_load_leaves_the_dashboard_counts_equal_to_a_recount(seeded):
    """Core writes bypass the flush that keeps the dashboard's counts: the load counts them once."""
    from qms.services.dashboard import dashboard_figures
    from qms.services.dashboard_counts import differences, stored
    from qms.services.nonconformities import open_nc_states

    assert stored(db.session.connection())  # built, not empty
    assert differences(db.session.connection()) == []
    open_ncs = _count(select(Nonconformity).where(Nonconformity.state.in_(open_nc_states())).subquery())
    assert dashboard_figures(dt.date.today()).open_ncs == open_ncs


def test_seeded_records_go_on_through_the_services(seeded):
    quality = find_by_email("quality@example.com")
    reported = db.session.scalars(select(Nonconformity).where(Nonconformity.state == "reported").limit(1)).first()
    if reported is None:  # a seed where every NC moved on: take one triaged NC and contain it instead
        reported = db.session.scalars(select(Nonconformity).where(Nonconformity.state == "triaged").limit(1)).one()
        fire(reported, "contain", quality, {"containment": "Quarantined."})
        assert reported.state == "contained"
    else:
        fire(reported, "triage", quality, {"severity": "minor"})
        assert reported.state == "triaged"
    top = db.session.scalar(select(func.max(Nonconformity.id)))
    nc = raise_nonconformity(
        quality, title="Raised after the bulk load", description="Sequences and counters moved on.", source="supplier"
    )
    assert nc.id > top
    assert db.session.scalar(select(func.count()).where(Nonconformity.reference == nc.reference)) == 1
    assert verify(db.session).ok


def test_a_database_with_data_is_refused_and_left_untouched(app, org):
    with pytest.raises(SeedRefused, match="already has data"):
        seed_large(FACTOR, progress=lambda line: None)
    assert _count(Nonconformity) == 0
    assert verify(db.session).ok


def test_a_bad_factor_is_refused(app):
    for factor in (0, -1, 1.5, float("nan"), True, "0.5"):
        with pytest.raises(SeedRefused, match="factor"):
            seed_large(factor, progress=lambda line: None)
    assert _count(User) == 0


def test_the_command_loads_and_refuses_a_second_load(runner):
    result = runner.invoke(args=["seed-demo", "--scale", "large", "--factor", str(FACTOR)])
    assert result.exit_code == 0, result.output
    assert "Rows loaded:" in result.output and "nonconformities" in result.output
    assert "admin@example.com" in result.output
    again = runner.invoke(args=["seed-demo", "--scale", "large", "--factor", str(FACTOR)])
    assert again.exit_code == 1
    assert "already has users" in again.output
    skipped = runner.invoke(args=["seed-demo", "--scale", "large", "--if-empty"])
    assert skipped.exit_code == 0 and "not loaded" in skipped.output


def test_the_command_names_a_bad_option(runner):
    for args, option in (
        (["--scale", "large", "--factor", "0"], "--factor"),
        (["--scale", "large", "--factor", "2"], "--factor"),
        (["--scale", "large", "--factor", "x"], "--factor"),
        (["--scale", "huge"], "--scale"),
        (["--factor", "0.5"], "--factor"),  # the factor belongs to the large scale
    ):
        result = runner.invoke(args=["seed-demo", *args])
        assert result.exit_code == 2, (args, result.output)
        assert option in result.output
    assert _count(User) == 0


def test_competence_and_training_are_loaded_and_usable(seeded):
    """Every person has a profile and records; sessions at several stages; the matrix and a record work."""
    from qms.models import CompetenceRecord, PersonProfile, TrainingAttendance, TrainingNeed, TrainingSession
    from qms.services.competence import matrix, training_record

    assert _count(PersonProfile) == _count(User)
    assert _count(CompetenceRecord) >= _count(User)
    assert _count(TrainingAttendance) >= 3 * _count(TrainingSession) >= 24
    assert _count(TrainingNeed) > 0
    states = set(db.session.scalars(select(TrainingSession.state)))
    assert {"closed", "planned"} <= states
    found = matrix()
    assert len(found.people) == db.session.scalar(select(func.count()).where(User.active.is_(True)))
    statuses = {cell.status for person in found.people for cell in person.cells.values()}
    assert {"met", "gap", "expired"} <= statuses
    assert 0 < found.met_cells < found.required_cells
    # the paged matrix (people chosen, counted and summed in SQL) shows the same as the whole one
    from qms.models import JobRole, Site
    from qms.services.competence import coverage, paged_matrix

    role = db.session.scalar(select(func.min(JobRole.id)))
    site = db.session.scalar(select(func.min(Site.id)))
    assert coverage() == (found.met_cells, found.required_cells)
    for filters in ({}, {"gaps_only": True}, {"job_role_id": role}, {"site_id": site, "gaps_only": True}):
        whole, shown, after = matrix(**filters), [], None
        while True:
            page = paged_matrix(**filters, per_page=7, after=after)
            assert (page.met_cells, page.required_cells) == (whole.met_cells, whole.required_cells), filters
            assert page.page.total == len(whole.people), filters
            shown += page.people
            after = page.page.next_cursor
            if after is None:
                break
        assert [(p.user.id, p.cells) for p in shown] == [(p.user.id, p.cells) for p in whole.people], filters
    evaluated = db.session.scalar(select(TrainingAttendance.user_id).where(TrainingAttendance.effective.is_(True)))
    record = training_record(db.session.get(User, evaluated))
    assert any(r.source == "training" for r in record.records)
