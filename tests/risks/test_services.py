"""The risk register through the services (SQLite and PostgreSQL): rating, treatment verified like a
corrective action, the heat map, realisations from NCs, reviews by rating, and what the rest reads."""

from __future__ import annotations

import datetime as dt

import pytest

from qms.database import db
from qms.models import Risk, RiskRealisation
from qms.services import available_events, fire
from qms.services.audits import create_programme
from qms.services.risks import (
    RiskFilters,
    add_treatment_action,
    cite_realised_risk,
    find_source,
    heat_map,
    level_of,
    prefill,
    process_risk_levels,
    raise_risk,
    review_input,
    risk_register,
    update_risk,
)
from workflows.errors import GuardFailed, InvalidData, InvalidTransition, NotPermitted

from ..conftest import PASSWORD
from ..helpers import new_nc, new_process, row_count
from .helpers import new_risk, risk_in_state


def test_levels_on_the_default_and_other_scales():
    assert [level_of(s, 5) for s in (1, 5, 6, 12, 15, 25)] == ["low", "low", "medium", "medium", "high", "high"]
    assert level_of(None, 5) is None
    assert level_of(9, 3) == "high" and level_of(1, 3) == "low"


def test_risk_from_identification_to_monitoring_moves_on_the_heat_map(org):
    process = new_process(org)
    risk = new_risk(org, process=process)
    assert risk.reference.startswith("RSK-") and risk.state == "identified" and risk.scale == 5
    assert heat_map().total == 0
    fire(risk, "assess", org.quality, {"likelihood": 4, "impact": 5})
    assert (risk.inherent_score, risk.level, risk.current_score) == (20, "high", 20)
    assert heat_map().count(4, 5) == 1
    fire(risk, "plan_treatment", org.owner, {"treatment": "reduce", "treatment_plan": "Second supplier"})
    blocked = {a.event.name: a.reason for a in available_events(risk, org.quality) if not a.allowed}
    assert blocked["record_treated"] == "Add a treatment action and have it verified first"
    action = add_treatment_action(risk, org.quality, title="Qualify", owner_id=org.owner.id, due_date=dt.date.today())
    assert action.reference.startswith("RTA-")
    blocked = {a.event.name: a.reason for a in available_events(risk, org.quality) if not a.allowed}
    assert blocked["record_treated"] == "1 treatment action is not verified yet"
    with pytest.raises(GuardFailed, match="Only the action owner"):
        fire(action, "start", org.manager)
    fire(action, "start", org.owner)
    fire(action, "implement", org.quality, {"implementation": "Done"})
    with pytest.raises(GuardFailed, match="someone else must verify"):
        fire(action, "verify", org.quality, {"verification": "x"}, signature_password=PASSWORD)
    with pytest.raises(InvalidData, match="signature_password"):
        fire(action, "verify", org.manager, {"verification": "Checked"})
    fire(action, "verify", org.manager, {"verification": "Checked"}, signature_password=PASSWORD)
    assert action.verified_by_id == org.manager.id
    with pytest.raises(InvalidData) as bad:
        fire(
            risk, "record_treated", org.quality, {"residual_likelihood": 9, "residual_impact": 2, "effectiveness": "x"}
        )
    assert "residual_likelihood" in bad.value.errors and risk.state == "treatment_planned"
    fire(risk, "record_treated", org.quality, {"residual_likelihood": 2, "residual_impact": 3, "effectiveness": "Good"})
    assert (risk.state, risk.residual_score, risk.level) == ("monitored", 6, "medium")
    assert risk.next_review_on == dt.date.today() + dt.timedelta(days=180)
    hm = heat_map()
    assert hm.count(4, 5) == 0 and hm.count(2, 3) == 1
    assert heat_map("inherent").count(4, 5) == 1


def test_high_rated_risks_are_reviewed_more_often(org):
    high = risk_in_state(org, "accepted", likelihood=5, impact=5)
    low = risk_in_state(org, "accepted", likelihood=1, impact=2, title="Printer jams")
    today = dt.date.today()
    assert high.next_review_on == today + dt.timedelta(days=90)
    assert low.next_review_on == today + dt.timedelta(days=365)
    history = high.treatment, high.residual_score
    assert history == ("accept", 25)
    fire(high, "review", org.owner, {"notes": "Still the same", "residual_likelihood": 3, "residual_impact": 3})
    assert high.level == "medium" and high.last_reviewed_on == today
    with pytest.raises(InvalidData, match="residual_impact"):
        fire(high, "review", org.owner, {"notes": "x", "residual_likelihood": 2})


def test_only_a_manager_accepts_a_risk_with_a_signature(org):
    risk = risk_in_state(org, "assessed")
    with pytest.raises(NotPermitted):
        fire(risk, "accept", org.quality, {"rationale": "x"}, signature_password=PASSWORD)
    with pytest.raises(InvalidData, match="signature_password"):
        fire(risk, "accept", org.manager, {"rationale": "x"}, signature_password="wrong")
    history = fire(risk, "accept", org.manager, {"rationale": "Insured"}, signature_password=PASSWORD)
    assert history.signature_meaning == "risk accepted" and risk.state == "monitored"


def test_raising_and_editing_validate_every_field(org):
    with pytest.raises(NotPermitted):
        raise_risk(org.viewer, title="x", cause="y", effect="z")
    with pytest.raises(InvalidData) as bad:
        raise_risk(
            org.quality,
            title="",
            cause="y" * 6000,
            effect="z",
            process_id=99999,
            clause_refs=["abc"],
            owner_id=org.viewer.id,
            colour="red",
        )
    assert set(bad.value.errors) == {"title", "cause", "process_id", "clause_refs", "owner_id", "colour"}
    assert row_count(Risk) == 0
    risk = new_risk(org)
    with pytest.raises(NotPermitted):
        update_risk(risk, org.auditor, {"title": "New"})
    update_risk(risk, org.owner, {"title": "Steel shortage", "clause_refs": "8.4.1, 6.1"})
    assert risk.title == "Steel shortage" and risk.clause_refs == ["8.4.1", "6.1"]
    with pytest.raises(InvalidData):
        fire(risk, "assess", org.quality, {"likelihood": 0, "impact": 6})
    assert risk.state == "identified" and risk.likelihood is None


def test_treatment_actions_only_while_the_treatment_is_planned(org):
    risk = risk_in_state(org, "assessed")
    with pytest.raises(InvalidTransition):
        add_treatment_action(risk, org.quality, title="x", owner_id=org.owner.id, due_date=dt.date.today())
    fire(risk, "plan_treatment", org.quality, {"treatment": "transfer", "treatment_plan": "Insurance"})
    with pytest.raises(InvalidData) as bad:
        add_treatment_action(risk, org.quality, title="", owner_id=org.viewer.id, due_date="2000-01-01")
    assert set(bad.value.errors) == {"title", "owner_id", "due_date"}


def test_an_nc_cites_the_risk_it_realised_and_asks_for_a_re_rating(org):
    risk = risk_in_state(org, "monitored")
    nc = new_nc(org)
    realisation = cite_realised_risk(nc, org.auditor, risk_id=risk.id, note="Supplier late again")
    assert risk.rerating_requested and nc.reference in risk.rerating_reason
    assert realisation.checklist_item_id is None
    with pytest.raises(InvalidData, match="already cites"):
        cite_realised_risk(nc, org.quality, risk_id=risk.id)
    with pytest.raises(InvalidData, match="no such risk"):
        cite_realised_risk(nc, org.quality, risk_id="abc")
    with pytest.raises(NotPermitted):
        cite_realised_risk(nc, org.viewer, risk_id=risk.id)
    assert row_count(RiskRealisation) == 1
    fire(risk, "reassess", org.owner, {"likelihood": 5, "impact": 5, "reason": "It happened"})
    assert not risk.rerating_requested and risk.residual_score is None and risk.current_score == 25


def test_a_risk_raised_from_an_nc_is_prefilled_and_linked(org):
    process = new_process(org)
    nc = new_nc(org, process=process.name, clause_refs=["8.5.1"])
    source = find_source("nonconformity", nc.id)
    suggested = prefill(source)
    assert suggested["process_id"] == process.id and suggested["clause_refs"] == ["8.5.1"]
    risk = raise_risk(org.quality, source=source, **{k: suggested[k] for k in ("title", "cause", "effect")})
    assert risk.source == "nonconformity" and risk.source_nonconformity_id == nc.id
    with pytest.raises(InvalidData, match="no such"):
        find_source("complaint", 12345)


def test_register_filters_and_the_audit_programme_reads_the_register(org):
    process = new_process(org, risk="low")
    other = new_process(org, code="SALE", risk="medium")
    risk_in_state(org, "assessed", process=process, likelihood=5, impact=4)
    risk_in_state(org, "assessed", process=process, likelihood=1, impact=1, title="Minor")
    new_risk(org, process=other)  # identified, not rated: the process keeps its own rating
    assert process_risk_levels() == {process.id: "high"}
    programme = create_programme(
        org.quality, year=2031, title="2031", entries=[{"process_id": process.id}, {"process_id": other.id}]
    )
    entries = {e.process_id: (e.risk, e.audits_per_year) for e in programme.entries}
    assert entries == {process.id: ("high", 4), other.id: ("medium", 2)}
    found = db.session.scalars(risk_register(RiskFilters.from_args({"likelihood": "5", "impact": "4"}))).all()
    assert [r.title for r in found] == ["Supplier fails to deliver steel"]
    found = db.session.scalars(risk_register(RiskFilters.from_args({"level": "low", "process": str(process.id)}))).all()
    assert [r.title for r in found] == ["Minor"]
    assert RiskFilters.from_args({"likelihood": "x", "state": "bogus", "sort": "drop"}).as_args() == {}


def test_review_input_e_from_the_register(org):
    risk = risk_in_state(org, "monitored")
    nc = new_nc(org)
    cite_realised_risk(nc, org.quality, risk_id=risk.id)
    today = dt.date.today()
    figures = review_input(today - dt.timedelta(days=30), today, today)
    assert figures["treatment_actions_verified"] == 1 and figures["realised_risks"] == 1
    assert figures["treatments"] == [
        {"risk": risk.reference, "title": risk.title, "inherent": 20, "residual": 10, "effective": True}
    ]


def test_the_management_review_compiles_input_e_from_the_register(org):
    from qms.services.reviews import compile_inputs, missing_inputs, plan_management_review

    today = dt.date.today()
    review = plan_management_review(
        org.quality, title="MR", planned_for=today, period_start=today - dt.timedelta(days=90), period_end=today
    )
    compile_inputs(review, org.quality)
    assert "risks_opportunities" in missing_inputs(review)  # an empty register cannot tell
    risk_in_state(org, "monitored")
    compile_inputs(review, org.quality)
    assert "risks_opportunities" not in missing_inputs(review)
    figures = review.inputs["risks_opportunities"]["compiled"]
    assert figures["open_risks"] == 1 and figures["by_level"]["Medium"] == 1
    assert figures["treatment_actions_verified"] == 1 and figures["treatments"][0]["effective"] is True


def test_a_configured_scale_rates_on_its_own_grid(app, org):
    app.config["QMS_RISK_SCALE"] = 3
    app.config["QMS_RISK_REVIEW_DAYS"] = {"high": 30, "medium": 60, "low": 120}
    risk = new_risk(org)
    assert risk.scale == 3
    with pytest.raises(InvalidData, match="from 1 to 3"):
        fire(risk, "assess", org.quality, {"likelihood": 4, "impact": 1})
    fire(risk, "assess", org.quality, {"likelihood": 3, "impact": 3})
    fire(risk, "accept", org.manager, {"rationale": "x"}, signature_password=PASSWORD)
    assert risk.level == "high" and risk.next_review_on == dt.date.today() + dt.timedelta(days=30)
    assert heat_map().scale == 3 and heat_map().count(3, 3) == 1


def test_the_scale_from_the_environment(monkeypatch):
    from qms.config import _risk_scale

    monkeypatch.setenv("QMS_RISK_SCALE", "4")
    assert _risk_scale() == 4
    monkeypatch.setenv("QMS_RISK_SCALE", "11")
    with pytest.raises(ValueError, match="from 3 to 10"):
        _risk_scale()


def test_my_work_and_the_digest_list_due_risk_and_context_reviews(app, org):
    from qms.services.context import plan_context_review, save_issue
    from qms.services.my_work import work_for
    from qms.services.reminders import KIND_LABELS, digest_items

    today = dt.date.today()
    risk = risk_in_state(org, "accepted", likelihood=5, impact=5)
    assert risk.reference not in {i.reference for i in digest_items(org.owner, today)}  # due in 90 days
    risk.next_review_on = today - dt.timedelta(days=2)
    db.session.commit()
    fresh = new_risk(org, title="Not rated yet")
    review = plan_context_review(org.quality, title="Context", planned_for=today + dt.timedelta(days=3))
    issue = save_issue(
        org.quality, {"title": "Old issue", "swot": "weakness", "owner_id": org.owner.id, "review_on": today}
    )
    owner = {i.reference: i for i in work_for(org.owner, today)}
    assert owner[risk.reference].overdue and owner[risk.reference].actions == ["Risk review due"]
    assert owner[fresh.reference].actions == ["Assess (rate)"] and owner[fresh.reference].due is None
    assert owner[issue.reference].actions == ["Review and update it"]
    digest = {i.reference: i for i in digest_items(org.owner, today)}
    assert risk.reference in digest and fresh.reference not in digest  # undated work is not in the digest
    quality = {i.reference: i for i in digest_items(org.quality, today)}
    assert quality[review.reference].actions == ["Start the context review"]
    assert KIND_LABELS["risk"] == "Risk" and KIND_LABELS["context_review"] == "Context review"
    assert risk.reference not in {i.reference for i in work_for(org.viewer, today)}


def test_a_process_owner_acts_only_on_the_risks_they_own(org):
    from qms.services.users import create_user

    other = create_user("owner2@example.test", "Other Owner", PASSWORD, {"process_owner"})
    risk = new_risk(org)  # owned by org.owner
    with pytest.raises(GuardFailed, match="Only the risk's owner"):
        fire(risk, "assess", other, {"likelihood": 2, "impact": 2})
    fire(risk, "assess", org.owner, {"likelihood": 2, "impact": 2})
    blocked = {a.event.name: a.reason for a in available_events(risk, other) if not a.allowed}
    assert blocked["plan_treatment"] == "Only the risk's owner, a quality officer or a manager can do this"
