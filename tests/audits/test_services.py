"""Internal audits through the services: programmes, teams, checklists, findings, coverage, scores."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import func, select

from qms.database import db
from qms.models import NC_ENDED_STATES, Audit, AuditEntry, ChecklistItem, Nonconformity, TransitionHistory
from qms.services import available_events, fire, history_of
from qms.services.audits import (
    add_question,
    answer,
    assign_team,
    attach_evidence,
    coverage,
    create_audit,
    create_programme,
    create_site,
    double_bookings,
    edit_question,
    evidence_of,
    generate_audits,
    generate_checklist,
    ical_feed,
    new_calendar_feed,
    planned_dates,
    remove_question,
    revoke_calendar_feed,
    save_process,
    score_trend,
    scores,
    user_for_feed,
)
from qms.services.users import create_user
from workflows.errors import Conflict, GuardFailed, InvalidData, InvalidTransition, NotPermitted

from ..conftest import PASSWORD
from ..helpers import PLAN_DAY, audit_in_state, new_process


def _nc_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Nonconformity))


# --------------------------------------------------------------------------- programme generation


def test_planned_dates_spread_evenly_on_working_days():
    assert [s.month for s, _ in planned_dates(2026, 4)] == [1, 4, 7, 10]
    assert [s.month for s, _ in planned_dates(2026, 2)] == [1, 7]
    assert [s.month for s, _ in planned_dates(2026, 12)] == list(range(1, 13))
    for start, end in planned_dates(2026, 12, duration_days=3):
        assert start.weekday() < 5 and end.weekday() < 5
        assert sum(1 for d in range((end - start).days + 1) if (start + dt.timedelta(d)).weekday() < 5) == 3
    # 15 Aug 2026 is a Saturday: the slot moves to Monday 17th
    assert planned_dates(2026, 12)[7][0] == dt.date(2026, 8, 17)


def test_programme_frequency_follows_risk_and_generation_is_idempotent(org):
    high = new_process(org, code="PROD", risk="high")
    low = new_process(org, code="PURCH", risk="low")
    medium = new_process(org, code="SALES", risk="medium")
    programme = create_programme(
        org.quality,
        year=2027,
        title="Audit programme 2027",
        entries=[
            {"process_id": high.id},
            {"process_id": low.id},
            {"process_id": medium.id, "risk": "high", "audits_per_year": 3},
        ],
    )
    assert [(e.risk, e.audits_per_year) for e in programme.entries] == [("high", 4), ("low", 1), ("high", 3)]
    created = generate_audits(programme, org.quality)
    assert len(created) == 8
    per_process = {p.id: [a for a in created if a.process_id == p.id] for p in (high, low, medium)}
    assert [a.planned_start.month for a in per_process[high.id]] == [1, 4, 7, 10]
    assert [a.planned_start.month for a in per_process[medium.id]] == [1, 5, 9]
    assert all(a.state == "planned" and a.programme_id == programme.id for a in created)
    assert per_process[high.id][0].clause_numbers == ["7.1", "8.5", "9.2"]
    assert len({a.reference for a in created}) == 8
    assert generate_audits(programme, org.quality) == []  # running twice adds nothing
    # a cancelled audit is replaced when generating again
    fire(per_process[low.id][0], "cancel", org.quality, {"reason": "Process outsourced for a while"})
    again = generate_audits(programme, org.quality)
    assert [a.process_id for a in again] == [low.id]


def test_programme_validation_names_fields_and_writes_nothing(org):
    process = new_process(org)
    sales = new_process(org, code="SALES")
    before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    with pytest.raises(InvalidData) as caught:
        create_programme(
            org.quality,
            year=1999,
            title="",
            standard_identifier="iso-0000",
            entries=[
                {"process_id": process.id, "risk": "extreme"},
                {"process_id": 99999},
                {"process_id": sales.id, "audits_per_year": 0, "duration_days": 0},
            ],
        )
    errors = caught.value.errors
    assert set(errors) >= {"year", "title", "standard_identifier", "entries[0].risk", "entries[1].process_id"}
    assert {"entries[2].audits_per_year", "entries[2].duration_days"} <= set(errors)
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == before
    with pytest.raises(NotPermitted):
        create_programme(org.auditor, year=2027, title="Mine")
    create_programme(org.quality, year=2027, title="Programme")
    with pytest.raises(InvalidData) as caught:
        create_programme(org.quality, year=2027, title="Programme again")
    assert "already exists" in caught.value.errors["year"]


def test_sites_and_processes_validate(org):
    site = create_site(org.admin, name="Nairobi plant", code="nbo")
    assert site.code == "NBO"
    with pytest.raises(InvalidData) as caught:
        create_site(org.admin, name="nairobi plant", code="NBO")
    assert set(caught.value.errors) == {"name", "code"}
    with pytest.raises(NotPermitted):
        create_site(org.auditor, name="X", code="X")
    with pytest.raises(InvalidData) as caught:
        save_process(org.quality, name="P", code="bad code!", risk="huge", clause_numbers=["99.9"], owner_id=424242)
    assert set(caught.value.errors) == {"code", "risk", "clause_numbers", "owner_id"}
    process = new_process(org)
    updated = save_process(
        org.quality,
        process=process,
        name="Production",
        code="PROD",
        risk="high",
        site_id=site.id,
        owner_id=org.owner.id,
    )
    assert updated.risk == "high" and updated.site_id == site.id


# --------------------------------------------------------------------------- independence and double-booking


def test_owner_of_the_process_cannot_audit_it(org):
    auditing_owner = create_user("ao@example.test", "Auditing Owner", PASSWORD, {"internal_auditor", "process_owner"})
    process = new_process(org, owner=auditing_owner)
    audit = create_audit(org.quality, title="Audit", process_id=process.id, planned_start=PLAN_DAY)
    with pytest.raises(InvalidData) as caught:
        assign_team(audit, org.quality, lead_auditor_id=auditing_owner.id)
    assert "owns the Production process" in caught.value.errors["lead_auditor_id"]
    with pytest.raises(InvalidData) as caught:
        assign_team(audit, org.quality, lead_auditor_id=org.auditor.id, members=[(auditing_owner.id, "auditor")])
    assert "cannot audit it" in caught.value.errors["members"]
    assert audit.lead_auditor_id is None and audit.team == []
    # as an observer the owner may attend
    assign_team(audit, org.quality, lead_auditor_id=org.auditor.id, members=[(auditing_owner.id, "observer")])
    assert audit.lead_auditor_id == org.auditor.id
    # the guard blocks scheduling when ownership changes afterwards
    save_process(org.quality, process=process, name="Production", code="PROD", owner_id=org.auditor.id)
    blocked = {a.event.name: a.reason for a in available_events(audit, org.quality) if not a.allowed}
    assert "owns the audited process" in blocked["schedule"]
    with pytest.raises(GuardFailed):
        fire(audit, "schedule", org.quality, {"planned_start": PLAN_DAY, "planned_end": PLAN_DAY})


def test_double_booking_is_flagged_not_blocked(org):
    process = new_process(org)
    other_process = new_process(org, code="SALES")
    first = create_audit(org.quality, title="A", process_id=process.id, planned_start=PLAN_DAY, planned_end=PLAN_DAY)
    second = create_audit(
        org.quality,
        title="B",
        process_id=other_process.id,
        planned_start=PLAN_DAY - dt.timedelta(days=1),
        planned_end=PLAN_DAY + dt.timedelta(days=1),
    )
    third = create_audit(
        org.quality, title="C", process_id=other_process.id, planned_start=PLAN_DAY + dt.timedelta(days=7)
    )
    assert assign_team(first, org.quality, lead_auditor_id=org.auditor.id) == []
    warnings = assign_team(second, org.quality, lead_auditor_id=org.auditor.id)
    assert len(warnings) == 1 and first.reference in warnings[0] and "Auditor" in warnings[0]
    assert second.lead_auditor_id == org.auditor.id  # flagged, still assigned
    assert assign_team(third, org.quality, lead_auditor_id=org.auditor.id) == []
    assert double_bookings(first) and first.reference not in double_bookings(first)[0]


# --------------------------------------------------------------------------- checklists and answers


def test_checklist_generated_from_clauses_and_editable_until_start(org):
    audit = audit_in_state(org, "scheduled", clauses=("8.5", "9.2"))
    urns = {item.clause_urn for item in audit.items}
    assert any(u.startswith("urn:iso:std:9001:2015:clause:8.5") for u in urns)
    assert any(u.startswith("urn:iso:std:9001:2015:clause:9.2") for u in urns)
    assert all(item.result is None for item in audit.items)
    count = len(audit.items)
    assert generate_checklist(audit, org.auditor) == 0  # nothing new
    item = add_question(audit, org.auditor, question="Are traveller cards complete?", clause_number="8.5.2")
    assert item.clause_urn == "urn:iso:std:9001:2015:clause:8.5.2"
    edit_question(item, org.auditor, question="Are traveller cards complete and signed?")
    with pytest.raises(InvalidData) as caught:
        add_question(audit, org.auditor, question=" ", clause_number="99")
    assert set(caught.value.errors) == {"question", "clause_number"}
    with pytest.raises(NotPermitted):
        add_question(audit, org.owner, question="Owner question")
    remove_question(item, org.auditor)
    assert len(audit.items) == count
    fire(audit, "prepare", org.auditor)
    fire(audit, "start", org.auditor)
    with pytest.raises(InvalidTransition):
        add_question(audit, org.auditor, question="Too late")


def test_findings_raise_exactly_one_nc_each(org):
    audit = audit_in_state(org, "in_progress")
    item = audit.items[0]
    before = _nc_count()
    with pytest.raises(InvalidData) as caught:
        answer(item, org.auditor, result="minor", notes="")
    assert "notes" in caught.value.errors
    assert _nc_count() == before and item.result is None
    answer(item, org.auditor, result="minor", notes="Two traveller cards unsigned on line 3")
    nc = item.nonconformity
    assert nc is not None and _nc_count() == before + 1
    assert nc.source == "internal_audit" and nc.severity == "minor"
    assert nc.clause_refs == [item.clause_number] and nc.process == "Production"
    assert audit.reference in nc.description and nc.owner_id == org.owner.id
    revision = item.revision
    # the same answer again (a retried save) changes nothing
    answer(item, org.auditor, result="minor", notes="Two traveller cards unsigned on line 3", expected_revision=0)
    answer(item, org.auditor, result="minor", notes="Two traveller cards unsigned on line 3")
    assert item.revision == revision and _nc_count() == before + 1
    # upgrading the finding keeps the one NC, regraded while nobody has triaged it
    answer(item, org.auditor, result="major", notes="Traveller cards unsigned on every line")
    assert item.nonconformity_id == nc.id and _nc_count() == before + 1 and nc.severity == "major"
    # a stale save is refused
    with pytest.raises(Conflict):
        answer(item, org.auditor, result="conforming", notes="", expected_revision=revision)
    # conforming, observation and OFI raise nothing
    for other, result in zip(audit.items[1:], ("conforming", "observation", "ofi"), strict=False):
        answer(other, org.auditor, result=result, notes="Seen")
        assert other.nonconformity_id is None
    assert _nc_count() == before + 1


def test_a_mistaken_finding_is_withdrawn_when_the_answer_is_corrected_before_triage(org):
    audit = audit_in_state(org, "in_progress")
    item = audit.items[0]
    answer(item, org.auditor, result="minor", notes="Tapped the wrong button")
    nc = item.nonconformity

    answer(item, org.auditor, result="conforming", notes="Checked: all cards signed")

    db.session.refresh(nc)
    assert nc.state == "withdrawn" and item.nonconformity_id is None
    [row] = [h for h in history_of(nc) if h.event == "withdraw"]
    assert row.actor_id == org.auditor.id and row.data == {
        "reason": "The checklist answer was corrected to “conforming”."
    }
    # no longer open anywhere: the register's open filter and the audit's open findings leave it out
    assert nc.state in NC_ENDED_STATES
    # a real finding afterwards raises a new NC
    answer(item, org.auditor, result="minor", notes="Now really unsigned")
    assert item.nonconformity_id not in (None, nc.id)


def test_after_triage_a_corrected_answer_is_refused_and_says_who_must_reject_the_nc(org):
    audit = audit_in_state(org, "in_progress")
    item = audit.items[0]
    answer(item, org.auditor, result="minor", notes="Unsigned cards")
    nc = item.nonconformity
    fire(nc, "triage", org.quality, {"severity": "minor"})

    with pytest.raises(InvalidTransition) as caught:
        answer(item, org.auditor, result="conforming", notes="")

    assert f"{nc.reference}, raised by this answer, was already triaged by {org.quality.name}" in caught.value.message
    assert "ask a quality officer or a manager to reject it" in caught.value.message
    db.session.refresh(item)
    assert item.result == "minor" and nc.state == "triaged"


def test_only_the_raiser_a_quality_officer_or_a_manager_withdraws_an_nc(org):
    from ..helpers import new_nc

    nc = new_nc(org)  # raised by the quality officer
    with pytest.raises(GuardFailed, match="Only the person who raised it"):
        fire(nc, "withdraw", org.owner, {"reason": "Not mine"})
    fire(nc, "withdraw", org.quality, {"reason": "Duplicate typed twice"})
    assert nc.state == "withdrawn"


def test_only_the_audit_team_answers_and_only_while_in_progress(org):
    audit = audit_in_state(org, "prepared")
    item = audit.items[0]
    with pytest.raises(InvalidTransition):
        answer(item, org.auditor, result="conforming")
    fire(audit, "start", org.auditor)
    other_auditor = create_user("aud2@example.test", "Other Auditor", PASSWORD, {"internal_auditor"})
    for outsider in (other_auditor, org.quality, org.manager, org.viewer):
        with pytest.raises(NotPermitted):
            answer(item, outsider, result="conforming")
    with pytest.raises(InvalidData):
        answer(item, org.auditor, result="excellent")
    assert item.result is None
    assign_ok = audit_in_state(org, "closed", process=new_process(org, code="SALES"))
    with pytest.raises(InvalidTransition):
        answer(assign_ok.items[0], org.auditor, result="major", notes="late")


def test_evidence_photo_on_an_answer(org, app):
    audit = audit_in_state(org, "in_progress")
    item = audit.items[0]
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    attachment = attach_evidence(item, org.auditor, io.BytesIO(png), "line3.png")
    assert attachment.lifecycle == "checklist_item" and attachment.record_id == item.id
    assert [a.id for a in evidence_of(audit.items)[item.id]] == [attachment.id]
    with pytest.raises(NotPermitted):
        attach_evidence(item, org.quality, io.BytesIO(png), "x.png")


# --------------------------------------------------------------------------- lifecycle


def test_report_needs_every_answer_and_is_signed_by_lead_and_approved_by_someone_else(org):
    audit = audit_in_state(org, "in_progress")
    blocked = {a.event.name: a.reason for a in available_events(audit, org.auditor) if not a.allowed}
    assert "still unanswered" in blocked["draft_report"]
    for item in audit.items:
        answer(item, org.auditor, result="conforming")
    with pytest.raises(InvalidData) as caught:
        fire(audit, "draft_report", org.auditor, {"summary": "Fine"})
    assert "signature_password" in caught.value.errors
    fire(audit, "draft_report", org.auditor, {"summary": "Fine"}, signature_password=PASSWORD)
    signed = db.session.scalars(
        select(TransitionHistory).where(
            TransitionHistory.record_id == audit.id, TransitionHistory.event == "draft_report"
        )
    ).one()
    assert signed.signature_meaning == "submitted as lead auditor" and signed.signed_by_name == "Auditor"
    assert audit.summary == "Fine" and audit.actual_end is not None
    lead_manager = create_user("lm@example.test", "Lead Manager", PASSWORD, {"manager", "internal_auditor"})
    other = audit_in_state(org, "report_drafted", process=new_process(org, code="SALES"), lead=lead_manager)
    with pytest.raises(GuardFailed):
        fire(other, "approve_report", lead_manager, signature_password=PASSWORD)
    fire(audit, "approve_report", org.manager, signature_password=PASSWORD)
    assert audit.report_approved_at is not None


def test_audit_closes_only_when_its_ncs_are_closed(org):
    audit = audit_in_state(org, "in_progress")
    answer(audit.items[0], org.auditor, result="major", notes="No calibration records for gauge G-7")
    for item in audit.items[1:]:
        answer(item, org.auditor, result="conforming")
    fire(audit, "draft_report", org.auditor, {"summary": "One major finding"}, signature_password=PASSWORD)
    fire(audit, "approve_report", org.manager, signature_password=PASSWORD)
    fire(audit, "start_follow_up", org.quality)
    blocked = {a.event.name: a.reason for a in available_events(audit, org.quality) if not a.allowed}
    assert "1 nonconformity from this audit" in blocked["close"]
    nc = audit.items[0].nonconformity
    fire(nc, "reject", org.quality, {"reason": "Duplicate of an existing NC"})
    fire(audit, "close", org.quality)
    assert audit.state == "closed" and audit.closed_at is not None


def test_postpone_and_cancel_record_reasons(org):
    audit = audit_in_state(org, "scheduled")
    fire(audit, "postpone", org.manager, {"reason": "Line shut down", "new_date": "2026-05-04"})
    assert audit.postpone_reason == "Line shut down" and audit.planned_start == dt.date(2026, 5, 4)
    fire(audit, "resume", org.manager, {"planned_start": "2026-05-11", "planned_end": "2026-05-12"})
    assert audit.state == "scheduled" and audit.planned_end == dt.date(2026, 5, 12) and audit.postpone_reason == ""
    fire(audit, "cancel", org.manager, {"reason": "Process merged"})
    assert audit.cancel_reason == "Process merged" and audit.is_terminal


# --------------------------------------------------------------------------- coverage and scores


def test_coverage_matrix_counts_audited_planned_and_uncovered(org):
    production = new_process(org, code="PROD", clauses=("8.5", "9.2"))
    sales = new_process(org, code="SALES", clauses=("8.2",))
    audit = audit_in_state(org, "in_progress", process=production, clauses=("8.5",))
    answer(audit.items[0], org.auditor, result="minor", notes="Unsigned traveller card")
    create_audit(org.quality, title="Sales", process_id=sales.id, clause_numbers=["8.2"], planned_start=PLAN_DAY)
    matrix = coverage(PLAN_DAY.year)
    assert matrix.relevant == 3  # production: 8.5, 9.2; sales: 8.2
    cell = matrix.cell(production.id, "8.5")
    assert cell.status == "audited" and cell.audited == 1 and cell.worst == "minor"
    assert matrix.cell(production.id, "9.2").status == "uncovered"
    assert matrix.cell(sales.id, "8.2").status == "planned"
    assert (matrix.count("audited"), matrix.count("planned"), matrix.count("uncovered")) == (1, 1, 1)
    assert matrix.percent_audited == pytest.approx(33.3)
    assert "9.2" in matrix.uncovered_clauses() and "8.5" not in matrix.uncovered_clauses()
    assert coverage(PLAN_DAY.year + 1).count("audited") == 0


def test_service_performance_scores_and_trend(org):
    process = new_process(org, code="CS", clauses=())
    results = [("conforming", "conforming", "minor", "not_applicable"), ("conforming",) * 4]
    audits = []
    for round_, answers in enumerate(results):
        audit = create_audit(
            org.quality,
            title=f"Service audit {round_}",
            kind="service_performance",
            process_id=process.id,
            clause_numbers=["8.2.1"],
            planned_start=PLAN_DAY + dt.timedelta(days=30 * round_),
        )
        assign_team(audit, org.quality, lead_auditor_id=org.auditor.id)
        fire(audit, "schedule", org.quality, {})
        generate_checklist(audit, org.auditor)
        while len(audit.items) < 4:
            add_question(audit, org.auditor, question=f"Extra question {len(audit.items)}")
        fire(audit, "prepare", org.auditor)
        fire(audit, "start", org.auditor)
        for item, result in zip(audit.items, answers + ("conforming",) * 10, strict=False):
            answer(item, org.auditor, result=result, notes="evidence")
        audits.append(audit)
    first = scores(audits[0])[0]
    applicable = len(audits[0].items) - 1
    assert first.applicable == applicable and first.conforming == applicable - 1
    assert first.percent == pytest.approx(round(100 * (applicable - 1) / applicable, 1))
    assert scores(audits[1])[0].percent == 100.0
    trend = score_trend(audits[1])
    assert [a.id for a, _ in trend] == [audits[0].id, audits[1].id]


# --------------------------------------------------------------------------- calendar feed


def test_calendar_feed_secret_lists_the_auditors_audits(org):
    from icalendar import Calendar

    audit = audit_in_state(org, "scheduled")
    secret = new_calendar_feed(org.auditor, org.auditor)
    assert user_for_feed(secret).id == org.auditor.id
    assert user_for_feed("not-the-secret") is None
    feed = Calendar.from_ical(ical_feed(org.auditor, today=PLAN_DAY))
    events = list(feed.walk("VEVENT"))
    assert [str(e["summary"]) for e in events] == [f"{audit.reference} {audit.title}"]
    assert events[0].decoded("dtstart") == PLAN_DAY
    assert Calendar.from_ical(ical_feed(org.owner, today=PLAN_DAY)).walk("VEVENT") == []
    with pytest.raises(NotPermitted):
        new_calendar_feed(org.auditor, org.quality)
    revoke_calendar_feed(org.auditor, org.auditor)
    assert user_for_feed(secret) is None


def test_audit_validation(org):
    with pytest.raises(InvalidData) as caught:
        create_audit(
            org.quality,
            title="",
            kind="surprise",
            standard_identifier="iso-9001-2015",
            clause_numbers=["8.5", "42"],
            planned_start="2026-13-01",
            process_id=123456,
        )
    assert set(caught.value.errors) == {"title", "kind", "clause_numbers", "planned_start", "process_id"}
    with pytest.raises(NotPermitted):
        create_audit(org.auditor, title="Self-planned")
    assert db.session.scalar(select(func.count()).select_from(Audit)) == 0
    assert db.session.scalar(select(func.count()).select_from(ChecklistItem)) == 0


@pytest.mark.real_commits
def test_two_auditors_saving_one_question_at_once_raise_one_nc(app, org):
    """Two sessions answer the same question at once: one wins, the other gets a Conflict."""
    import threading

    from qms.models import User
    from qms.services.audit_trail import verify

    second = create_user("aud2@example.test", "Second Auditor", PASSWORD, {"internal_auditor"})
    audit = audit_in_state(org, "scheduled")
    assign_team(audit, org.quality, lead_auditor_id=org.auditor.id, members=[(second.id, "auditor")])
    fire(audit, "prepare", org.auditor)
    fire(audit, "start", org.auditor)
    item_id, before = audit.items[0].id, _nc_count()
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def worker(name: str, user_id: int) -> None:
        with app.app_context():
            item = db.session.get(ChecklistItem, item_id)
            user = db.session.get(User, user_id)
            seen = item.revision  # what each tablet shows
            barrier.wait()
            try:
                answer(item, user, result="major", notes=f"Finding recorded by {name}", expected_revision=seen)
                outcomes[name] = "won"
            except Exception as exc:  # a Conflict is expected for one of them
                outcomes[name] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(n, u)) for n, u in (("a", org.auditor.id), ("b", second.id))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    results = sorted(outcomes.values(), key=lambda v: v != "won")
    assert results[0] == "won"
    assert isinstance(results[1], Conflict), results[1]
    db.session.rollback()  # end this session's read snapshot (SQLite WAL keeps it)
    assert _nc_count() == before + 1
    saved = db.session.get(ChecklistItem, item_id)
    winner = next(name for name, outcome in outcomes.items() if outcome == "won")
    assert saved.revision == 2 and saved.notes == f"Finding recorded by {winner}"
    assert verify(db.session).ok
