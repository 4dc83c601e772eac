"""Segregation of duties across every lifecycle's signed events (21 CFR 11.10(g), ISO 9001 5.3).

Every signed event of every lifecycle is listed below: either with the guard that keeps its
signer apart from the work the signature approves, or with why no such rule applies. A new
signed event fails this test until someone decides which it is; each listed guard is then
shown to refuse the person it names and to let anybody else through.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from types import SimpleNamespace
from typing import Any

import pytest

import qms.lifecycles  # noqa: F401  (registers the lifecycles)
from workflows import GuardContext, all_lifecycles

#: (lifecycle, signed event) → the segregation guard, or why the signer needs no one else
SEGREGATION: dict[tuple[str, str], str] = {
    ("nonconformity", "verify_effectiveness"): "guard:not_an_implementer",
    ("nonconformity", "close"): "guard:closer_is_not_verifier",
    ("nonconformity", "close_observation"): "guard:closer_is_not_raiser",
    ("corrective_action", "verify"): "guard:verifier_is_not_implementer",
    ("internal_audit", "approve_report"): "guard:approver_is_not_lead_auditor",
    ("document", "approve"): "guard:approver_is_not_author",
    ("internal_audit", "draft_report"): "authorship: the lead auditor signs their own report, a manager approves it",
    (
        "document",
        "confirm_review",
    ): "a periodic review confirms an approved text unchanged; its approval was segregated",
    ("qms_implementation", "confirm_effective"): "rests on completed internal audits, each with its own segregation",
    ("iso_change_review", "close"): "top management's decision (ISO 9001 5.1); verified by an internal audit first",
    ("iso_change_review", "complete_gap_analysis"): (
        "top management signs the assessment of its own QMS (ISO 9001 5.1); quality officers assessed each change"
    ),
    ("org_change_review", "close"): "top management's decision on its own change (ISO 9001 6.3)",
    ("management_review", "approve_minutes"): "top management approves the minutes of its own review (ISO 9001 9.3)",
    ("survey", "report"): "the manager approves distribution; the analysis is a quality officer's",
    ("quality_objective", "approve"): "top management sets the objectives the QMS pursues (ISO 9001 5.1, 6.2)",
    ("change_request", "close"): "top management closes its own planned change after the post-change review (6.3)",
    ("supplier", "approve"): "the approval rests on an evaluation recorded before it; approving is purchasing's call",
    ("scar", "verify"): "the supplier wrote the answer; the quality officer accepts and verifies it, an outside party",
    ("risk_treatment", "verify"): "guard:verifier_is_not_implementer",
    ("risk", "accept"): "top management accepts a risk it owns the consequences of (ISO 9001 5.1, 6.1)",
    ("context_review", "complete"): "top management's own review of the context it sets (ISO 9001 4.1, 5.1)",
    ("opportunity", "approve"): "a decision of the innovation committee, a body of several members",
    ("opportunity", "adopt"): "a decision of the innovation committee on the pilot's results, recorded by a member",
    ("change_request", "approve"): "top management approves a change to its QMS (ISO 9001 6.3); others requested it",
    ("supplier", "approve_conditionally"): "rests on an evaluation recorded before it; approving is purchasing's call",
    ("supplier", "disqualify"): "a decision against an outside party; it harms no one's own work",
    ("oot_assessment", "conclude_no_impact"): "the instrument's calibration was done by a laboratory, not the assessor",
}

ACTOR, SOMEONE_ELSE = 7, 8


class _Everyone(Mapping[str, Any]):
    """Facts in which every person the guards look for is ``person`` (a set of them for ``…_ids``)."""

    def __init__(self, person: int) -> None:
        self.person = person

    def __getitem__(self, name: str) -> Any:
        return {self.person} if name.endswith("_ids") else self.person

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def _signed_events() -> list[tuple[str, int, Any]]:
    return [(lc.name, lc.version, ev) for lc in all_lifecycles() for ev in lc.events if ev.signature]


def test_every_signed_event_has_a_segregation_decision():
    found = {(name, ev.name) for name, _version, ev in _signed_events()}
    assert found - set(SEGREGATION) == set(), "decide the segregation of duties of these signed events"
    assert set(SEGREGATION) - found == set(), "these events are no longer signed: update the table"
    assert all(decision.strip() for decision in SEGREGATION.values())


@pytest.mark.parametrize(
    ("lifecycle", "version", "event"),
    [
        (name, version, ev)
        for name, version, ev in _signed_events()
        if SEGREGATION.get((name, ev.name), "").startswith("guard:")
    ],
    ids=lambda value: getattr(value, "name", str(value)),
)
def test_the_segregation_guard_refuses_the_same_person_and_lets_another_sign(lifecycle, version, event):
    guard_name = SEGREGATION[(lifecycle, event.name)].removeprefix("guard:")
    guard = next((g for g in event.guards if g.name == guard_name), None)
    assert guard is not None, f"{lifecycle} v{version} {event.name} lost its guard {guard_name}"
    actor = SimpleNamespace(id=ACTOR, roles=frozenset(event.roles))

    def context(person: int) -> GuardContext:
        return GuardContext(SimpleNamespace(), actor, {}, _Everyone(person), dt.date(2026, 1, 1))

    reason = guard.check(context(ACTOR))
    assert reason and "someone else" in reason  # the reason says who may sign instead
    assert guard.check(context(SOMEONE_ELSE)) is None
