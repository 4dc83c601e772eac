"""Every QMS lifecycle, exercised through the workflow engine alone (no Flask app, no database).

The cases are generated from the definitions, so a new lifecycle, state,
event, role or field is covered without touching this file.  A new guard needs
one entry in GUARD_PASSES and one in GUARD_BLOCKS (or DATA_GUARD_BLOCKS when it
reads the event data); a test fails until it has them.
"""

from __future__ import annotations

import datetime as dt
import gc
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest

import qms.lifecycles  # noqa: F401  (registers the QMS roles and lifecycles)
from qms.lifecycles import LIFECYCLE_NAMES
from qms.lifecycles.roles import EXTERNAL_ROLES, ROLES
from workflows import (
    Availability,
    Event,
    Field,
    Guard,
    GuardFailed,
    InvalidData,
    InvalidTransition,
    Lifecycle,
    LifecycleEngine,
    NotPermitted,
    Registry,
    State,
    UnknownEvent,
    UnknownLifecycle,
    all_lifecycles,
    get_engine,
    get_lifecycle,
    lifecycle_names,
)
from workflows.definition import FIELD_TYPES
from workflows.diagram import mermaid

TODAY = dt.date(2026, 6, 15)
DAY = dt.timedelta(days=1)
ACTOR_ID = 1  # the user firing the event
OTHER_ID = 2  # somebody else (author, implementer, lead auditor, owner…)
QO = "quality_officer"

LIFECYCLES: list[Lifecycle] = all_lifecycles()


# --- helpers ------------------------------------------------------------------


def actor(*roles: str, user_id: int = ACTOR_ID) -> SimpleNamespace:
    return SimpleNamespace(id=user_id, roles=frozenset(roles))


def record(state: str, **attributes: Any) -> SimpleNamespace:
    return SimpleNamespace(state=state, **attributes)


def engine_of(lifecycle: Lifecycle) -> LifecycleEngine:
    return get_engine(lifecycle.name, lifecycle.version)


# Dates default to TODAY, which satisfies every data guard (an effective date
# not in the future, a planned end not before the start); an expiry must come
# after the decision date.
DATE_VALUES: dict[str, dt.date] = {
    "expires_on": TODAY + dt.timedelta(days=3 * 365),
    "verification_due": TODAY + dt.timedelta(days=30),
}


def valid_value(f: Field) -> Any:
    """A value the field accepts as it is (cleaning returns it unchanged)."""
    match f.kind:
        case "text" | "string":
            return "x"
        case "date":
            return DATE_VALUES.get(f.name, TODAY)
        case "choice":
            return f.choices[0]
        case "multichoice":
            return [f.choices[0]]
        case "list":
            return ["a"]
        case "boolean":
            return True
        case "integer":
            return 1
        case "json":
            return {"notes": "x"}  # an empty object counts as blank, like an empty string
    raise AssertionError(f"valid_value() does not know the field kind {f.kind!r}")


def bad_value(f: Field) -> tuple[Any, str]:
    """A value the field rejects, and the start of the error message it gives."""
    match f.kind:
        case "text":
            return 123, "must be a string"
        case "string":
            return "two\nlines", "must be a single line"
        case "date":
            return "2026-13-45", "must be a date (YYYY-MM-DD)"
        case "choice":
            return "bogus", "must be one of: " + ", ".join(f.choices)
        case "multichoice":
            return ["bogus"], "'bogus' is not one of: " + ", ".join(f.choices)
        case "list":
            return "a", "must be a list"
        case "boolean":
            return "maybe", "must be true or false"
        case "integer":
            return "one", "must be an integer"
        case "json":
            return ["a"], "must be an object"
    raise AssertionError(f"bad_value() does not know the field kind {f.kind!r}")


def valid_data(event: Event, *, required_only: bool = False) -> dict[str, Any]:
    return {f.name: valid_value(f) for f in event.fields if f.required or not required_only}


# --- guards: facts that let each one pass, and facts that make it block ---------

#: guard name → facts (or record attributes) with which the guard passes.
#: Data guards pass with valid_data(); their entry is empty.
GUARD_PASSES: dict[str, dict[str, Any]] = {
    # counts that must be zero
    "no_open_major_nc_count": {"open_major_nc_count": 0},
    "no_unanswered_question_count": {"unanswered_question_count": 0},
    "no_open_finding_nc_count": {"open_finding_nc_count": 0},
    "no_open_action_count": {"open_action_count": 0},
    "no_unverified_action_count": {"unverified_action_count": 0},
    "no_unassessed_change_count": {"unassessed_change_count": 0},
    "no_open_transition_action_count": {"open_transition_action_count": 0},
    "no_open_change_action_count": {"open_change_action_count": 0},
    "no_missing_input_count": {"missing_input_count": 0},
    # counts that must be at least one
    "has_completed_audit_count": {"completed_audit_count": 1},
    "has_document_evidence_count": {"document_evidence_count": 1},
    "has_evidence_count": {"evidence_count": 2},
    "has_question_count": {"question_count": 1},
    "has_action_count": {"action_count": 1},
    "has_response_count": {"response_count": 1},
    "has_verified_action_count": {"verified_action_count": 1},
    # the nonconformity's plan, for its corrective actions
    "nc_plan_approved": {"nc_state": "action_planned"},
    "nc_plan_open": {"nc_state": "root_cause_identified"},
    "not_an_implementer": {"implementer_ids": {OTHER_ID}},
    "replanned_after_reopening": {"reopened_on": None, "new_action_count": 0},
    # who may act
    "owner_or_quality_officer": {"owner_id": ACTOR_ID},
    "lead_auditor_or_quality_officer": {"lead_auditor_id": ACTOR_ID},
    "raiser_quality_officer_or_manager": {"raised_by_id": ACTOR_ID},
    "verifier_is_not_implementer": {"implemented_by_id": OTHER_ID},
    "approver_is_not_author": {"author_id": OTHER_ID},
    "approver_is_not_lead_auditor": {"lead_auditor_id": OTHER_ID},
    "closer_is_not_verifier": {"effectiveness_verifier_id": OTHER_ID},
    "closer_is_not_raiser": {"raised_by_id": OTHER_ID},
    "has_lead_auditor": {"lead_auditor_id": OTHER_ID},
    "auditor_is_independent": {"auditor_owns_process": False},
    # dates already reached
    "verification_due_reached": {"verification_due": TODAY - DAY},
    "effectiveness_review_due_reached": {"effectiveness_review_due": TODAY - 30 * DAY},
    "expires_on_reached": {"expires_on": TODAY},
    # other facts
    "observation_only": {"severity": "observation"},
    "linked_nc_closed": {"linked_nc_open": False},
    # training sessions
    "attendance_recorded": {"attendees": 2},
    "evaluation_period_over": {"evaluation_due": TODAY},
    "everyone_evaluated": {"unevaluated": 0},
    # data guards
    "planned_end_not_before_start": {},
    "effective_date_not_in_future": {},
    "expiry_after_decision": {},
    "check_after_a_wait": {},
    "new_check_after_a_wait": {},
    "major_nc_verified_within_six_months": {"stage2_repeat_reason": None},
    "edition_not_past_cutover": {"edition_cutover_reason": None},
    # planning: objectives, opportunities, changes
    "plan_complete": {"plan_missing": []},
    "objective_owner_or_manager": {"owner_id": ACTOR_ID},
    "target_met": {"latest_value": 96.0, "target_met": True},
    "committee_member": {"committee_id": 1, "committee_member_ids": frozenset({ACTOR_ID})},
    "pilot_dates": {},
    "planned": {"plan_missing": []},
    "has_tasks": {"task_count": 1},
    "no_open_task_count": {"open_task_count": 0},
    # suppliers and measuring equipment
    "no_open_scar_count": {"open_scar_count": 0},
    "evaluated": {"evaluation_count": 1},
    "fit_for_use": {"calibrated_in_tolerance": True, "next_calibration_due": TODAY},
    # the risk register
    "risk_owner_or_quality": {"owner_id": ACTOR_ID},
    "treatment_verified": {"open_treatment_count": 0, "verified_treatment_count": 1},
    "risk_treatment_planned": {"risk_state": "treatment_planned"},
    "risk_open": {"risk_state": "treatment_planned"},
}


@dataclass(frozen=True)
class Block:
    """Facts that make a guard block; an actor holding ``exempt_role`` passes anyway."""

    facts: Mapping[str, Any]
    exempt_role: str | None = None
    #: further roles the guard lets through (the blocked actor holds none of them)
    also_exempt: frozenset[str] = frozenset()


#: guard name → how to make it block (guards that do not read the event data)
GUARD_BLOCKS: dict[str, Block] = {
    "no_open_major_nc_count": Block({"open_major_nc_count": 2}),
    "no_unanswered_question_count": Block({"unanswered_question_count": 1}),
    "no_open_finding_nc_count": Block({"open_finding_nc_count": 3}),
    "no_open_action_count": Block({"open_action_count": 1}),
    "no_unverified_action_count": Block({"unverified_action_count": 2}),
    "no_unassessed_change_count": Block({"unassessed_change_count": 4}),
    "no_open_transition_action_count": Block({"open_transition_action_count": 1}),
    "no_open_change_action_count": Block({"open_change_action_count": 5}),
    "no_missing_input_count": Block({"missing_input_count": 2}),
    "has_completed_audit_count": Block({"completed_audit_count": 0}),
    "has_document_evidence_count": Block({"document_evidence_count": 0}),
    "has_evidence_count": Block({"evidence_count": 0}),
    "has_question_count": Block({"question_count": 0}),
    "has_action_count": Block({"action_count": 0}),
    "has_response_count": Block({"response_count": 0}),
    "has_verified_action_count": Block({"verified_action_count": 0}),
    "nc_plan_approved": Block({"nc_state": "root_cause_identified"}),
    "nc_plan_open": Block({"nc_state": "closed"}),
    "not_an_implementer": Block({"implementer_ids": {ACTOR_ID}}),
    "replanned_after_reopening": Block({"reopened_on": TODAY - DAY, "new_action_count": 0}),
    "owner_or_quality_officer": Block({"owner_id": OTHER_ID}, exempt_role=QO),
    "lead_auditor_or_quality_officer": Block({"lead_auditor_id": OTHER_ID}, exempt_role=QO),
    "raiser_quality_officer_or_manager": Block(
        {"raised_by_id": OTHER_ID}, exempt_role=QO, also_exempt=frozenset({"manager"})
    ),
    "verifier_is_not_implementer": Block({"implemented_by_id": ACTOR_ID}),
    "approver_is_not_author": Block({"author_id": ACTOR_ID}),
    "approver_is_not_lead_auditor": Block({"lead_auditor_id": ACTOR_ID}),
    "closer_is_not_verifier": Block({"effectiveness_verifier_id": ACTOR_ID}),
    "closer_is_not_raiser": Block({"raised_by_id": ACTOR_ID}),
    "has_lead_auditor": Block({"lead_auditor_id": None}),
    "auditor_is_independent": Block({"auditor_owns_process": True}),
    "verification_due_reached": Block({"verification_due": TODAY + DAY}),
    "effectiveness_review_due_reached": Block({"effectiveness_review_due": TODAY + 7 * DAY}),
    "expires_on_reached": Block({"expires_on": TODAY + 30 * DAY}),
    "observation_only": Block({"severity": "major"}),
    "linked_nc_closed": Block({"linked_nc_open": True}),
    "major_nc_verified_within_six_months": Block({"stage2_repeat_reason": "Stage 2 must be repeated"}),
    "edition_not_past_cutover": Block({"edition_cutover_reason": "Every audit is to the new edition"}),
    "attendance_recorded": Block({"attendees": 0}),
    "evaluation_period_over": Block({"evaluation_due": TODAY + DAY}),
    "everyone_evaluated": Block({"unevaluated": 1}),
    "plan_complete": Block({"plan_missing": ["resources"]}),
    "objective_owner_or_manager": Block({"owner_id": OTHER_ID}, exempt_role="manager"),
    "target_met": Block({"latest_value": 80.0, "target_met": False}),
    "committee_member": Block({"committee_id": 1, "committee_member_ids": frozenset({OTHER_ID})}),
    "planned": Block({"plan_missing": ["purpose"]}),
    "has_tasks": Block({"task_count": 0}),
    "no_open_task_count": Block({"open_task_count": 2}),
    "no_open_scar_count": Block({"open_scar_count": 1}),
    "evaluated": Block({"evaluation_count": 0}),
    "fit_for_use": Block({"calibrated_in_tolerance": True, "next_calibration_due": TODAY - DAY}),
    "risk_owner_or_quality": Block({"owner_id": OTHER_ID}, exempt_role=QO, also_exempt=frozenset({"manager"})),
    "treatment_verified": Block({"open_treatment_count": 1, "verified_treatment_count": 0}),
    "risk_treatment_planned": Block({"risk_state": "monitored"}),
    "risk_open": Block({"risk_state": "closed"}),
}

#: data guard name → event data that makes it block
DATA_GUARD_BLOCKS: dict[str, dict[str, Any]] = {
    "planned_end_not_before_start": {"planned_start": TODAY, "planned_end": TODAY - DAY},
    "effective_date_not_in_future": {"effective_date": TODAY + DAY},
    "expiry_after_decision": {"decided_on": TODAY, "expires_on": TODAY},
    "check_after_a_wait": {"verification_due": TODAY},
    "new_check_after_a_wait": {"verification_due": TODAY},
    "pilot_dates": {"pilot_start": TODAY, "pilot_end": TODAY - DAY},
}


def passing_facts(event: Event) -> dict[str, Any]:
    """Facts that let every guard of ``event`` pass."""
    facts: dict[str, Any] = {}
    for guard in event.guards:
        for key, value in GUARD_PASSES[guard.name].items():
            assert facts.get(key, value) == value, f"guards of {event.name} need different values of {key}"
            facts[key] = value
    return facts


def availability(engine: LifecycleEngine, rec: Any, who: Any, facts: Mapping[str, Any]) -> dict[str, Availability]:
    return {a.name: a for a in engine.available_events(rec, who, facts, today=TODAY)}


# --- generated cases --------------------------------------------------------------


def _events() -> list[tuple[Lifecycle, Event]]:
    return [(lc, ev) for lc in LIFECYCLES for ev in lc.events]


FIRE_CASES = [
    pytest.param(lc, ev, src, role, id=f"{lc.name}:{ev.name}:{src}:{role}")
    for lc, ev in _events()
    for src in ev.sources
    for role in sorted(ev.roles)
]
EVENT_CASES = [pytest.param(lc, ev, id=f"{lc.name}:{ev.name}") for lc, ev in _events()]
GUARDED_EVENT_CASES = [pytest.param(lc, ev, id=f"{lc.name}:{ev.name}") for lc, ev in _events() if ev.guards]
OPTIONAL_FIELD_EVENT_CASES = [
    pytest.param(lc, ev, id=f"{lc.name}:{ev.name}") for lc, ev in _events() if any(not f.required for f in ev.fields)
]
ROLE_DENIAL_CASES = [
    pytest.param(lc, ev, role, id=f"{lc.name}:{ev.name}:{role}")
    for lc, ev in _events()
    for role in sorted(ROLES - ev.roles)
]
INVALID_STATE_CASES = [
    pytest.param(lc, ev, st.name, id=f"{lc.name}:{ev.name}:{st.name}")
    for lc, ev in _events()
    for st in lc.states
    if st.name not in ev.sources
]
GUARD_CASES = [
    pytest.param(lc, ev, g, id=f"{lc.name}:{ev.name}:{g.name}")
    for lc, ev in _events()
    for g in ev.guards
    if not g.uses_data
]
EXEMPT_ROLE_CASES = [
    pytest.param(lc, ev, g, id=f"{lc.name}:{ev.name}:{g.name}")
    for lc, ev in _events()
    for g in ev.guards
    if not g.uses_data and GUARD_BLOCKS[g.name].exempt_role in ev.roles
]
DATA_GUARD_CASES = [
    pytest.param(lc, ev, g, id=f"{lc.name}:{ev.name}:{g.name}")
    for lc, ev in _events()
    for g in ev.guards
    if g.uses_data
]
REQUIRED_FIELD_CASES = [
    pytest.param(lc, ev, f, id=f"{lc.name}:{ev.name}:{f.name}") for lc, ev in _events() for f in ev.fields if f.required
]
FIELD_CASES = [pytest.param(lc, ev, f, id=f"{lc.name}:{ev.name}:{f.name}") for lc, ev in _events() for f in ev.fields]
LIFECYCLE_CASES = [pytest.param(lc, id=lc.name) for lc in LIFECYCLES]
STATE_CASES = [pytest.param(lc, st.name, id=f"{lc.name}:{st.name}") for lc in LIFECYCLES for st in lc.states]


# --- 1. every event fires -----------------------------------------------------------


@pytest.mark.parametrize(("lifecycle", "event", "source", "role"), FIRE_CASES)
def test_every_event_fires_from_each_source_state(lifecycle: Lifecycle, event: Event, source: str, role: str) -> None:
    engine = engine_of(lifecycle)
    rec = record(source)
    who = actor(role)
    data = valid_data(event)
    facts = passing_facts(event)

    listed = availability(engine, rec, who, facts)[event.name]
    assert (listed.allowed, listed.reason, listed.blocked_by) == (True, None, None)

    result = engine.fire(rec, event.name, who, data, facts, today=TODAY)

    assert rec.state == event.dest
    assert vars(rec) == {"state": event.dest}, "the engine must change nothing but the state"
    assert (result.event, result.source, result.dest) == (event, source, event.dest)
    assert result.data == data
    assert result.signature_meaning == event.signature


@pytest.mark.parametrize(("lifecycle", "event"), GUARDED_EVENT_CASES)
def test_guards_read_facts_from_record_attributes(lifecycle: Lifecycle, event: Event) -> None:
    engine = engine_of(lifecycle)
    who = actor(sorted(event.roles)[0])
    rec = record(event.sources[0], **passing_facts(event))

    assert availability(engine, rec, who, {})[event.name].allowed
    engine.fire(rec, event.name, who, valid_data(event), today=TODAY)

    assert rec.state == event.dest


@pytest.mark.parametrize(("lifecycle", "event"), OPTIONAL_FIELD_EVENT_CASES)
def test_optional_fields_may_be_left_out(lifecycle: Lifecycle, event: Event) -> None:
    rec = record(event.sources[0])
    data = valid_data(event, required_only=True)

    result = engine_of(lifecycle).fire(rec, event.name, actor(*event.roles), data, passing_facts(event), today=TODAY)

    assert rec.state == event.dest
    assert result.data == data


def test_event_data_is_cleaned_before_it_is_returned() -> None:
    engine = get_engine("nonconformity")
    rec = record("contained")
    data = {"method": "five_whys", "root_cause": "  worn tool  ", "whys": [" a ", "b"], "fishbone": {"m": 1}}

    result = engine.fire(rec, "analyse_root_cause", actor(QO), data, today=TODAY)

    assert result.data == {"method": "five_whys", "root_cause": "worn tool", "whys": ["a", "b"], "fishbone": {"m": 1}}


def test_dates_may_be_given_as_iso_strings() -> None:
    rec = record("root_cause_identified")

    result = get_engine("nonconformity").fire(
        rec, "plan_actions", actor(QO), {"verification_due": " 2026-07-01 "}, {"action_count": 1}, today=TODAY
    )

    assert result.data == {"verification_due": dt.date(2026, 7, 1)}


@pytest.mark.parametrize("f", [Field("f", "F", kind, choices=("a", "b")) for kind in FIELD_TYPES], ids=FIELD_TYPES)
def test_test_helpers_know_every_field_kind(f: Field) -> None:
    assert f.clean(valid_value(f)) == valid_value(f)
    value, message = bad_value(f)
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        f.clean(value)


def test_every_guard_has_passing_and_blocking_facts() -> None:
    used = {g.name: g for _, ev in _events() for g in ev.guards}
    data_guards = {name for name, g in used.items() if g.uses_data}

    assert sorted(set(used) - set(GUARD_PASSES)) == [], "add the new guard to GUARD_PASSES"
    assert sorted(set(used) - data_guards - set(GUARD_BLOCKS)) == [], "add the new guard to GUARD_BLOCKS"
    assert sorted(data_guards - set(DATA_GUARD_BLOCKS)) == [], "add the new data guard to DATA_GUARD_BLOCKS"
    assert sorted(set(GUARD_PASSES) - set(used)) == [], "GUARD_PASSES names a guard no lifecycle uses"
    assert sorted(set(GUARD_BLOCKS) - set(used)) == [], "GUARD_BLOCKS names a guard no lifecycle uses"
    assert sorted(set(DATA_GUARD_BLOCKS) - data_guards) == [], "DATA_GUARD_BLOCKS names an unknown data guard"


def test_facts_take_precedence_over_record_attributes() -> None:
    engine = get_engine("nonconformity")
    who = actor(QO)
    data = {"verification_due": TODAY + 30 * DAY}

    blocked = record("root_cause_identified", action_count=3)
    with pytest.raises(GuardFailed):
        engine.fire(blocked, "plan_actions", who, data, {"action_count": 0}, today=TODAY)
    allowed = record("root_cause_identified", action_count=0)
    engine.fire(allowed, "plan_actions", who, data, {"action_count": 1}, today=TODAY)

    assert (blocked.state, allowed.state) == ("root_cause_identified", "action_planned")


def test_an_actor_needs_only_one_of_the_permitted_roles() -> None:
    rec = record("reported")

    get_engine("nonconformity").fire(rec, "triage", actor("viewer", "manager"), {"severity": "minor"}, today=TODAY)

    assert rec.state == "triaged"


# --- 2. roles ------------------------------------------------------------------------


@pytest.mark.parametrize(("lifecycle", "event", "role"), ROLE_DENIAL_CASES)
def test_an_actor_without_a_permitted_role_cannot_fire(lifecycle: Lifecycle, event: Event, role: str) -> None:
    engine = engine_of(lifecycle)
    source = event.sources[0]
    rec = record(source)
    who = actor(role)
    facts = passing_facts(event)

    with pytest.raises(NotPermitted, match="Requires the role"):
        engine.fire(rec, event.name, who, valid_data(event), facts, today=TODAY)
    assert vars(rec) == {"state": source}

    listed = availability(engine, rec, who, facts)[event.name]
    assert (listed.allowed, listed.blocked_by) == (False, "role")
    assert listed.reason.startswith("Requires the role")
    for permitted in event.roles:
        assert permitted.replace("_", " ") in listed.reason


# --- 3. states -------------------------------------------------------------------------


@pytest.mark.parametrize(("lifecycle", "event", "state"), INVALID_STATE_CASES)
def test_an_event_cannot_fire_from_another_state(lifecycle: Lifecycle, event: Event, state: str) -> None:
    rec = record(state)

    with pytest.raises(InvalidTransition) as caught:
        engine_of(lifecycle).fire(rec, event.name, actor(*event.roles), valid_data(event), passing_facts(event))

    assert vars(rec) == {"state": state}
    assert lifecycle.state(state).label in caught.value.message


def test_a_record_in_an_unknown_state_cannot_fire() -> None:
    rec = record("limbo")

    with pytest.raises(InvalidTransition, match="'limbo'"):
        get_engine("nonconformity").fire(rec, "triage", actor(QO), {"severity": "minor"})

    assert rec.state == "limbo"


def test_an_unknown_event_is_rejected() -> None:
    rec = record("reported")

    with pytest.raises(UnknownEvent, match="no event 'explode'"):
        get_engine("nonconformity").fire(rec, "explode", actor(*ROLES))

    assert rec.state == "reported"


@pytest.mark.parametrize(("lifecycle", "state"), STATE_CASES)
def test_available_events_lists_the_events_leaving_the_state(lifecycle: Lifecycle, state: str) -> None:
    listed = engine_of(lifecycle).available_events(record(state), actor(*ROLES), today=TODAY)

    assert [a.event for a in listed] == lifecycle.events_from(state)
    if state in lifecycle.terminal_states:
        assert listed == []


@pytest.mark.parametrize(("lifecycle", "event"), EVENT_CASES)
def test_availability_describes_the_event_for_a_form(lifecycle: Lifecycle, event: Event) -> None:
    listed = availability(engine_of(lifecycle), record(event.sources[0]), actor(*event.roles), passing_facts(event))

    described = listed[event.name].as_dict()

    assert described["event"] == event.name
    assert described["label"] == event.label
    assert described["allowed"] is True
    assert described["signature_required"] is (event.signature is not None)
    assert [f["name"] for f in described["fields"]] == [f.name for f in event.fields]


# --- 4. guards -------------------------------------------------------------------------


def _blocking_actor(event: Event, block: Block) -> SimpleNamespace:
    candidates = sorted(event.roles - {block.exempt_role} - block.also_exempt)
    assert candidates, f"every role of {event.name} is exempt from the guard"
    return actor(candidates[0])


@pytest.mark.parametrize(("lifecycle", "event", "guard"), GUARD_CASES)
def test_every_guard_can_block_with_a_readable_reason(lifecycle: Lifecycle, event: Event, guard: Guard) -> None:
    engine = engine_of(lifecycle)
    block = GUARD_BLOCKS[guard.name]
    who = _blocking_actor(event, block)
    facts = {**passing_facts(event), **block.facts}
    source = event.sources[0]
    rec = record(source)

    with pytest.raises(GuardFailed) as caught:
        engine.fire(rec, event.name, who, valid_data(event), facts, today=TODAY)

    assert caught.value.guard == guard.name
    reason = caught.value.reason
    assert isinstance(reason, str)
    assert reason.strip() == reason != ""
    assert not reason[0].islower(), reason
    assert "_" not in reason, f"an identifier leaked into the reason: {reason!r}"
    assert vars(rec) == {"state": source}

    listed = availability(engine, rec, who, facts)[event.name]
    assert (listed.allowed, listed.reason, listed.blocked_by) == (False, reason, guard.name)


@pytest.mark.parametrize(("lifecycle", "event", "guard"), EXEMPT_ROLE_CASES)
def test_an_exempt_role_passes_an_ownership_guard(lifecycle: Lifecycle, event: Event, guard: Guard) -> None:
    block = GUARD_BLOCKS[guard.name]
    rec = record(event.sources[0])

    engine_of(lifecycle).fire(
        rec, event.name, actor(block.exempt_role), valid_data(event), {**passing_facts(event), **block.facts}, TODAY
    )

    assert rec.state == event.dest


@pytest.mark.parametrize(("lifecycle", "event", "guard"), DATA_GUARD_CASES)
def test_every_data_guard_blocks_when_fired(lifecycle: Lifecycle, event: Event, guard: Guard) -> None:
    engine = engine_of(lifecycle)
    who = actor(*event.roles)
    facts = passing_facts(event)
    source = event.sources[0]
    rec = record(source)
    data = {**valid_data(event), **DATA_GUARD_BLOCKS[guard.name]}

    # a guard that validates one field answers as that field's error; any other blocks the event
    expected = InvalidData if guard.field else GuardFailed
    with pytest.raises(expected) as caught:
        engine.fire(rec, event.name, who, data, facts, today=TODAY)

    if guard.field:
        assert list(caught.value.errors) == [guard.field] and guard.field in {f.name for f in event.fields}
        reason = caught.value.errors[guard.field]
    else:
        assert caught.value.guard == guard.name
        reason = caught.value.reason
    assert reason.strip() == reason != ""
    assert vars(rec) == {"state": source}
    # no data exists while the events are listed, so the data guard is left for the fire
    assert availability(engine, rec, who, facts)[event.name].allowed


def blocked_reason(
    lifecycle: str,
    event_name: str,
    *,
    facts: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
    role: str | None = None,
) -> str:
    """Fire with every guard passing except for the given facts/data; return the reason it was blocked."""
    lc = get_lifecycle(lifecycle)
    event = lc.event(event_name)
    rec = record(event.sources[0])
    who = actor(role) if role else actor(*event.roles)
    with pytest.raises((GuardFailed, InvalidData)) as caught:
        get_engine(lifecycle).fire(
            rec,
            event_name,
            who,
            {**valid_data(event), **(data or {})},
            {**passing_facts(event), **(facts or {})},
            today=TODAY,
        )
    assert rec.state == event.sources[0]
    if isinstance(caught.value, InvalidData):  # a data guard's reason is its field's error
        [reason] = caught.value.errors.values()
        return reason
    return caught.value.reason


@pytest.mark.parametrize(
    ("lifecycle", "event", "overrides", "reason"),
    [
        pytest.param(
            "nonconformity",
            "plan_actions",
            {"facts": {"action_count": 0}},
            "Add at least one corrective action first (the plan has none)",
            id="nonconformity:plan_actions:no_actions",
        ),
        pytest.param(
            "certification",
            "ready_for_stage2",
            {"facts": {"open_major_nc_count": 2}},
            "2 major nonconformities are still open",
            id="certification:ready_for_stage2:two_majors",
        ),
        pytest.param(
            "certification",
            "ready_for_stage2",
            {"facts": {"open_major_nc_count": 1}},
            "1 major nonconformity is still open",
            id="certification:ready_for_stage2:one_major",
        ),
        pytest.param(
            "corrective_action",
            "verify",
            {"facts": {"implemented_by_id": ACTOR_ID}},
            "You implemented this action, so someone else must verify it",
            id="corrective_action:verify:by_implementer",
        ),
        pytest.param(
            "corrective_action",
            "start",
            {"facts": {"owner_id": OTHER_ID}, "role": "process_owner"},
            "Only the action owner or a quality officer can do this",
            id="corrective_action:start:not_owner",
        ),
        pytest.param(
            "nonconformity",
            "verify_effectiveness",
            {"facts": {"verification_due": TODAY + 10 * DAY}},
            "The effectiveness check is not due until 2026-06-25 (10 days from now)",
            id="nonconformity:verify_effectiveness:ten_days_early",
        ),
        pytest.param(
            "nonconformity",
            "verify_effectiveness",
            {"facts": {"verification_due": TODAY + DAY}},
            "The effectiveness check is not due until 2026-06-16 (1 day from now)",
            id="nonconformity:verify_effectiveness:one_day_early",
        ),
        pytest.param(
            "nonconformity",
            "verify_effectiveness",
            {"facts": {"unverified_action_count": 3}},
            "3 corrective actions are not yet verified",
            id="nonconformity:verify_effectiveness:unverified_actions",
        ),
        pytest.param(
            "nonconformity",
            "close_observation",
            {"facts": {"severity": "major"}},
            "Only an observation can close without corrective action (this one is major)",
            id="nonconformity:close_observation:major",
        ),
        pytest.param(
            "nonconformity",
            "close_observation",
            {"facts": {"severity": None}},
            "Only an observation can close without corrective action (this one is not graded)",
            id="nonconformity:close_observation:not_graded",
        ),
        pytest.param(
            "internal_audit",
            "schedule",
            {"facts": {"lead_auditor_id": None}},
            "Assign a lead auditor first",
            id="internal_audit:schedule:no_lead_auditor",
        ),
        pytest.param(
            "internal_audit",
            "start",
            {"facts": {"auditor_owns_process": True}},
            "An auditor on this audit owns the audited process; choose an independent auditor",
            id="internal_audit:start:not_independent",
        ),
        pytest.param(
            "internal_audit",
            "prepare",
            {"facts": {"lead_auditor_id": OTHER_ID}, "role": "internal_auditor"},
            "Only the lead auditor or a quality officer can do this",
            id="internal_audit:prepare:not_lead_auditor",
        ),
        pytest.param(
            "internal_audit",
            "draft_report",
            {"facts": {"unanswered_question_count": 2}},
            "2 checklist questions are still unanswered",
            id="internal_audit:draft_report:unanswered",
        ),
        pytest.param(
            "internal_audit",
            "approve_report",
            {"facts": {"lead_auditor_id": ACTOR_ID}},
            "You led this audit, so someone else must approve its report",
            id="internal_audit:approve_report:by_lead_auditor",
        ),
        pytest.param(
            "internal_audit",
            "close",
            {"facts": {"open_finding_nc_count": 1}},
            "1 nonconformity from this audit is still open",
            id="internal_audit:close:open_finding",
        ),
        pytest.param(
            "document",
            "approve",
            {"facts": {"author_id": ACTOR_ID}},
            "You wrote this revision, so someone else must approve it",
            id="document:approve:by_author",
        ),
        pytest.param(
            "qms_implementation",
            "document",
            {"facts": {"document_evidence_count": 0}},
            "Add at least one controlled document linked as evidence first",
            id="qms_implementation:document:no_document",
        ),
        pytest.param(
            "qms_implementation",
            "confirm_effective",
            {"facts": {"completed_audit_count": 1, "open_major_nc_count": 1}},
            "1 major nonconformity against it is still open",
            id="qms_implementation:confirm_effective:major_nc_open",
        ),
        pytest.param(
            "survey",
            "open",
            {"facts": {"question_count": 0}},
            "Add at least one question first",
            id="survey:open:no_questions",
        ),
        pytest.param(
            "survey",
            "analyse",
            {"facts": {"response_count": 0}},
            "No responses were received; reopen the survey or cancel it",
            id="survey:analyse:no_responses",
        ),
        pytest.param(
            "complaint",
            "resolve",
            {"facts": {"linked_nc_open": True}},
            "The linked nonconformity is still open",
            id="complaint:resolve:linked_nc_open",
        ),
        pytest.param(
            "certification",
            "expire",
            {"facts": {"expires_on": TODAY + 30 * DAY}},
            "The certificate expiry is not due until 2026-07-15 (30 days from now)",
            id="certification:expire:not_yet",
        ),
        pytest.param(
            "iso_change_review",
            "complete_gap_analysis",
            {"facts": {"unassessed_change_count": 4}},
            "4 clause changes are not yet assessed",
            id="iso_change_review:complete_gap_analysis:unassessed",
        ),
        pytest.param(
            "management_review",
            "mark_ready",
            {"facts": {"missing_input_count": 1}},
            "1 review input is still missing",
            id="management_review:mark_ready:missing_input",
        ),
        pytest.param(
            "org_change_review",
            "complete_implementation",
            {"facts": {"open_change_action_count": 2}},
            "2 change actions are still open",
            id="org_change_review:complete_implementation:open_actions",
        ),
        pytest.param(
            "org_change_review",
            "close",
            {"facts": {"effectiveness_review_due": TODAY + 7 * DAY}},
            "The effectiveness review is not due until 2026-06-22 (7 days from now)",
            id="org_change_review:close:not_yet_due",
        ),
        pytest.param(
            "document",
            "make_effective",
            {"data": {"effective_date": TODAY + DAY}},
            "The effective date 2026-06-16 is in the future; make the revision effective on that day",
            id="document:make_effective:future_date",
        ),
        pytest.param(
            "internal_audit",
            "schedule",
            {"data": {"planned_start": TODAY, "planned_end": TODAY - DAY}},
            "The planned end (2026-06-14) is before the planned start (2026-06-15)",
            id="internal_audit:schedule:end_before_start",
        ),
        pytest.param(
            "certification",
            "certify",
            {"data": {"decided_on": TODAY, "expires_on": TODAY}},
            "The expiry date (2026-06-15) must be after the decision date (2026-06-15)",
            id="certification:certify:expiry_on_decision_day",
        ),
    ],
)
def test_guard_reasons_tell_people_what_to_do(
    lifecycle: str, event: str, overrides: dict[str, Any], reason: str
) -> None:
    assert blocked_reason(lifecycle, event, **overrides) == reason


@pytest.mark.parametrize(
    ("lifecycle", "event", "facts", "data"),
    [
        pytest.param("nonconformity", "verify_effectiveness", {"verification_due": TODAY}, {}, id="check_due_today"),
        pytest.param("certification", "expire", {"expires_on": TODAY}, {}, id="expiry_today"),
        pytest.param("document", "make_effective", {}, {"effective_date": TODAY}, id="effective_today"),
        pytest.param(
            "internal_audit", "schedule", {}, {"planned_start": TODAY, "planned_end": TODAY}, id="one_day_audit"
        ),
    ],
)
def test_guards_pass_on_their_boundary(lifecycle: str, event: str, facts: dict[str, Any], data: dict[str, Any]) -> None:
    ev = get_lifecycle(lifecycle).event(event)
    rec = record(ev.sources[0])

    get_engine(lifecycle).fire(
        rec, event, actor(*ev.roles), {**valid_data(ev), **data}, {**passing_facts(ev), **facts}, today=TODAY
    )

    assert rec.state == ev.dest


def test_a_count_fact_that_must_be_positive_blocks_when_unknown() -> None:
    engine = get_engine("survey")
    rec = record("draft")

    with pytest.raises(GuardFailed, match="'question_count' is not known"):
        engine.fire(rec, "open", actor(QO), today=TODAY)

    assert rec.state == "draft"


def test_guards_fail_closed_when_nobody_provides_their_fact() -> None:
    """An unknown count of open major NCs must not let a certificate be reinstated."""
    engine = get_engine("certification")
    rec = record("suspended")

    with pytest.raises(GuardFailed, match="'open_major_nc_count' is not known") as exc:
        engine.fire(rec, "reinstate", actor("manager"), valid_data(get_lifecycle("certification").event("reinstate")))
    assert rec.state == "suspended"
    listed = {a.name: a for a in engine.available_events(rec, actor("manager"))}["reinstate"]
    assert not listed.allowed and listed.reason == exc.value.reason


# --- 5. data validation -----------------------------------------------------------------

MISSING = object()  # the key is left out of the data


@pytest.mark.parametrize(("lifecycle", "event", "field"), REQUIRED_FIELD_CASES)
def test_a_missing_required_field_is_named(lifecycle: Lifecycle, event: Event, field: Field) -> None:
    engine = engine_of(lifecycle)
    blanks: list[Any] = [MISSING, None, "   "] if field.kind in ("text", "string") else [MISSING, None]
    for blank in blanks:
        rec = record(event.sources[0])
        data = valid_data(event)
        if blank is MISSING:
            del data[field.name]
        else:
            data[field.name] = blank

        with pytest.raises(InvalidData) as caught:
            engine.fire(rec, event.name, actor(*event.roles), data, passing_facts(event), today=TODAY)

        assert caught.value.errors == {field.name: "is required"}, blank
        assert field.name in caught.value.message
        assert vars(rec) == {"state": event.sources[0]}


@pytest.mark.parametrize(("lifecycle", "event", "field"), FIELD_CASES)
def test_an_invalid_value_is_named_with_its_problem(lifecycle: Lifecycle, event: Event, field: Field) -> None:
    rec = record(event.sources[0])
    value, message = bad_value(field)
    data = {**valid_data(event), field.name: value}

    with pytest.raises(InvalidData) as caught:
        engine_of(lifecycle).fire(rec, event.name, actor(*event.roles), data, passing_facts(event), today=TODAY)

    assert caught.value.errors == {field.name: message}
    assert vars(rec) == {"state": event.sources[0]}


@pytest.mark.parametrize(("lifecycle", "event"), EVENT_CASES)
def test_an_unknown_data_key_is_rejected(lifecycle: Lifecycle, event: Event) -> None:
    rec = record(event.sources[0])
    data = {**valid_data(event), "bogus": "x"}

    with pytest.raises(InvalidData) as caught:
        engine_of(lifecycle).fire(rec, event.name, actor(*event.roles), data, passing_facts(event), today=TODAY)

    assert caught.value.errors == {"bogus": "is not a field of this event"}
    assert vars(rec) == {"state": event.sources[0]}


def test_every_bad_field_is_reported_at_once() -> None:
    rec = record("received")

    with pytest.raises(InvalidData) as caught:
        get_engine("complaint").fire(
            rec, "acknowledge", actor(QO), {"acknowledged_on": "2026-13-45", "severity": "urgent", "bogus": 1}
        )

    assert caught.value.errors == {
        "bogus": "is not a field of this event",
        "acknowledged_on": "must be a date (YYYY-MM-DD)",
        "severity": "must be one of: low, medium, high",
    }
    assert vars(rec) == {"state": "received"}


def test_a_string_field_is_limited_to_its_max_length() -> None:
    event = get_lifecycle("certification").event("certify")
    rec = record("decision_pending")
    data = {**valid_data(event), "certificate_number": "x" * 61}

    with pytest.raises(InvalidData) as caught:
        get_engine("certification").fire(rec, "certify", actor(QO), data, today=TODAY)

    assert caught.value.errors == {"certificate_number": "must be at most 60 characters"}


def test_invalid_data_is_reported_before_guards_run() -> None:
    rec = record("root_cause_identified")

    with pytest.raises(InvalidData):
        get_engine("nonconformity").fire(rec, "plan_actions", actor(QO), {}, {"action_count": 0}, today=TODAY)


# --- 6. definitions, registry, engine -----------------------------------------------------


def test_the_registry_holds_every_lifecycle() -> None:
    assert [lc.name for lc in LIFECYCLES] == list(lifecycle_names())
    assert len(LIFECYCLES) == len(LIFECYCLE_NAMES)


@pytest.mark.parametrize("lifecycle", LIFECYCLE_CASES)
def test_the_initial_state_is_not_terminal(lifecycle: Lifecycle) -> None:
    assert lifecycle.initial not in lifecycle.terminal_states


@pytest.mark.parametrize("lifecycle", LIFECYCLE_CASES)
def test_no_event_leaves_a_terminal_state(lifecycle: Lifecycle) -> None:
    leaving = {(ev.name, src) for ev in lifecycle.events for src in ev.sources if src in lifecycle.terminal_states}

    assert leaving == set()
    assert lifecycle.terminal_states, "a lifecycle needs an end"


@pytest.mark.parametrize("lifecycle", LIFECYCLE_CASES)
def test_every_event_has_a_label_and_known_roles(lifecycle: Lifecycle) -> None:
    for ev in lifecycle.events:
        assert ev.label.strip()
        assert ev.roles and ev.roles <= ROLES | EXTERNAL_ROLES  # a supplier answers through its link
        assert "viewer" not in ev.roles, f"{ev.name}: a viewer only looks"


def _tiny(**changes: Any) -> Lifecycle:
    """A small lifecycle: open → done, with ``changes`` applied to its definition."""
    definition: dict[str, Any] = {
        "name": "tiny",
        "version": 1,
        "label": "Tiny",
        "description": "",
        "initial": "open",
        "states": (State("open", "Open"), State("done", "Done", terminal=True)),
        "events": (Event("finish", "Finish", ("open",), "done", frozenset({"manager"})),),
    }
    definition.update(changes)
    return Lifecycle(**definition)


def _event(**changes: Any) -> tuple[Event, ...]:
    definition: dict[str, Any] = {
        "name": "finish",
        "label": "Finish",
        "sources": ("open",),
        "dest": "done",
        "roles": frozenset({"manager"}),
    }
    definition.update(changes)
    return (Event(**definition),)


_OPEN, _DONE = State("open", "Open"), State("done", "Done", terminal=True)

BAD_DEFINITIONS: list[Any] = [
    pytest.param(
        lambda: _tiny(states=(_OPEN, _DONE, State("lost", "Lost", terminal=True))),
        "state 'lost' cannot be reached",
        id="unreachable_state",
    ),
    pytest.param(
        lambda: Registry(ROLES).register(_tiny(events=_event(roles=frozenset({"superuser"})))),
        r"lifecycle tiny v1: event finish: unknown roles \['superuser'\]",
        id="unknown_role",
    ),
    pytest.param(lambda: _tiny(events=_event(roles=frozenset())), "finish: needs at least one role", id="no_role"),
    pytest.param(lambda: _tiny(initial="nowhere"), "initial state 'nowhere' is not a state", id="unknown_initial"),
    pytest.param(lambda: _tiny(events=_event(dest="nowhere")), "unknown destination 'nowhere'", id="unknown_dest"),
    pytest.param(
        lambda: _tiny(events=(*_event(), *_event(name="restart", sources=("done",), dest="open"))),
        "source 'done' is terminal",
        id="event_leaves_terminal_state",
    ),
    pytest.param(
        lambda: _tiny(events=(*_event(), *_event(sources=("nowhere",)))),
        "duplicate event names",
        id="duplicate_event",
    ),
    pytest.param(lambda: _tiny(states=(_OPEN, _DONE, _DONE)), "duplicate state names", id="duplicate_state"),
    pytest.param(
        lambda: _tiny(states=(_OPEN, _DONE, State("stuck", "Stuck")), events=_event(dest="stuck")),
        "state 'stuck' is not terminal but has no way out",
        id="dead_end",
    ),
    pytest.param(
        lambda: _tiny(events=_event(fields=(Field("colour", "Colour", "colour"),))),
        "unknown kind 'colour'",
        id="unknown_field_kind",
    ),
    pytest.param(
        lambda: _tiny(events=_event(fields=(Field("size", "Size", "choice"),))),
        "field size needs choices",
        id="choice_without_choices",
    ),
    pytest.param(
        lambda: _tiny(events=_event(fields=(Field("notes", "Notes", "list", groups=(("a", "A"),)),))),
        "field notes has groups but is not of kind 'json'",
        id="groups_on_a_list",
    ),
    pytest.param(
        lambda: _tiny(events=_event(fields=(Field("notes", "Notes", "json", groups=(("a", "A"), ("a", "B"))),))),
        "field notes needs distinct, non-empty group names",
        id="duplicate_group",
    ),
]


def test_a_small_valid_definition_is_accepted() -> None:
    assert _tiny().terminal_states == {"done"}


@pytest.mark.parametrize(("build", "problem"), BAD_DEFINITIONS)
def test_an_inconsistent_definition_is_rejected(build: Callable[[], Lifecycle], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        build()


@pytest.mark.parametrize("lifecycle", LIFECYCLE_CASES)
def test_each_lifecycle_has_one_shared_engine(lifecycle: Lifecycle) -> None:
    engine = get_engine(lifecycle.name)

    assert get_engine(lifecycle.name) is engine
    assert get_engine(lifecycle.name, lifecycle.version) is engine
    assert engine.lifecycle is get_lifecycle(lifecycle.name)


def test_a_registry_keeps_every_version_and_lists_names_in_registration_order() -> None:
    registry = Registry({"manager"})
    first, second, other = _tiny(), _tiny(version=2), _tiny(name="other")

    for lifecycle in (first, second, other):
        assert registry.register(lifecycle) is lifecycle
    registry.register(first)  # the same definition again changes nothing

    assert registry.lifecycle_names() == ("tiny", "other")
    assert registry.all_lifecycles() == [second, other]
    assert registry.get_lifecycle("tiny") is second
    assert registry.get_lifecycle("tiny", 1) is first
    assert registry.get_engine("tiny", 1).lifecycle is first
    assert registry.get_engine("tiny") is registry.get_engine("tiny", 2)


def test_a_registry_refuses_another_definition_under_a_taken_version() -> None:
    registry = Registry({"manager"})
    registry.register(_tiny())

    with pytest.raises(ValueError, match="lifecycle tiny v1 is already registered"):
        registry.register(_tiny(label="Another tiny"))


def test_registries_are_separate_from_each_other_and_from_the_default_one() -> None:
    mine, theirs = Registry({"manager"}), Registry({"clerk"})
    mine.register(_tiny())

    with pytest.raises(UnknownLifecycle):
        theirs.get_lifecycle("tiny")
    with pytest.raises(ValueError, match="unknown roles"):
        theirs.register(_tiny())
    theirs.add_roles({"manager"})
    assert theirs.register(_tiny()) is not mine.get_lifecycle("tiny")
    assert theirs.get_engine("tiny") is not mine.get_engine("tiny")
    assert "tiny" not in lifecycle_names()
    assert mine.roles == {"manager"} and theirs.roles == {"clerk", "manager"}


def test_an_unknown_lifecycle_or_version_is_rejected() -> None:
    with pytest.raises(UnknownLifecycle):
        get_engine("nonsense")
    with pytest.raises(UnknownLifecycle):
        get_engine("nonconformity", 999)


@pytest.mark.parametrize("lifecycle", LIFECYCLE_CASES)
def test_firing_on_many_records_registers_none_with_the_machine(lifecycle: Lifecycle) -> None:
    class Record:
        def __init__(self, state: str) -> None:
            self.state = state

    engine = engine_of(lifecycle)
    event = lifecycle.events_from(lifecycle.initial)[0]
    who, data, facts = actor(*event.roles), valid_data(event), passing_facts(event)
    records = [Record(lifecycle.initial) for _ in range(1000)]

    for rec in records:
        engine.fire(rec, event.name, who, data, facts, today=TODAY)

    assert engine.machine.models == []
    assert {rec.state for rec in records} == {event.dest}
    refs = [weakref.ref(rec) for rec in records]
    del records, rec
    gc.collect()
    assert all(ref() is None for ref in refs), "the engine must not keep records alive"


# --- 7. diagrams ---------------------------------------------------------------------------


@pytest.mark.parametrize("lifecycle", LIFECYCLE_CASES)
def test_the_diagram_shows_every_state_and_transition(lifecycle: Lifecycle) -> None:
    diagram = mermaid(lifecycle)
    lines = [line.strip() for line in diagram.splitlines()]

    assert "stateDiagram-v2" in lines
    # the title goes in Mermaid's YAML front matter, which needs the "title:" key
    assert lines[:3] == ["---", f"title: {lifecycle.label} (v{lifecycle.version})", "---"]
    for st in lifecycle.states:
        assert f'state "{st.label}" as {st.name}' in lines
        assert (f"{st.name} --> [*]" in lines) is st.terminal
    assert f"[*] --> {lifecycle.initial}" in lines
    for ev in lifecycle.events:
        label = ev.label + (" ✍" if ev.signature else "")
        for src in ev.sources:
            assert f"{src} --> {ev.dest}: {label}" in lines
    assert not [line for line in lines if line.startswith("Class") and line.endswith("s_active")]


@pytest.mark.parametrize(("lifecycle", "state"), STATE_CASES)
def test_the_diagram_highlights_the_current_state(lifecycle: Lifecycle, state: str) -> None:
    diagram = mermaid(lifecycle, current=state)

    assert "stateDiagram-v2" in diagram
    active = [line.strip() for line in diagram.splitlines() if line.strip().startswith("Class") and "s_active" in line]
    assert active == [f"Class {state} s_active"]
    # highlighting one caller's record does not leak into the next diagram
    assert f"Class {state} s_active" not in mermaid(lifecycle)


@pytest.mark.parametrize("lifecycle", LIFECYCLE_CASES)
def test_the_diagram_rejects_an_unknown_current_state(lifecycle: Lifecycle) -> None:
    with pytest.raises(ValueError, match="'limbo' is not a state"):
        mermaid(lifecycle, current="limbo")
