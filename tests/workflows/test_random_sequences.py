"""Property: whatever events people fire, in any order, a record stays inside its lifecycle
and its history replays to its current state."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import event as event_label
from hypothesis import strategies as st

from qms.database import db
from qms.services import available_events, fire, replay
from qms.services.audit_trail import verify
from qms.services.nonconformities import add_corrective_action
from workflows import get_lifecycle
from workflows.errors import WorkflowError

from ..conftest import PASSWORD
from ..helpers import new_nc

NC = get_lifecycle("nonconformity")
CA = get_lifecycle("corrective_action")
LATER = dt.date.today() + dt.timedelta(days=400)  # past every effectiveness-check date set below

DATA = {
    "triage": {"severity": "major"},
    "reject": {"reason": "Duplicate of an earlier report"},
    "contain": {"containment": "Stock quarantined"},
    "analyse_root_cause": {"method": "other", "root_cause": "Unclear work instruction"},
    "plan_actions": {"verification_due": (dt.date.today() + dt.timedelta(days=30)).isoformat()},
    "verify_effectiveness": {"evidence": "No recurrence"},
    "mark_ineffective": {
        "reason": "Recurred",
        "verification_due": (dt.date.today() + dt.timedelta(days=60)).isoformat(),
    },
    "close_observation": {"justification": "Observation only"},
    "implement": {"implementation": "Done"},
    "verify": {"verification": "Checked"},
    "reject_implementation": {"reason": "Not complete"},
    "cancel": {"reason": "Superseded"},
}

PEOPLE = ["quality", "quality2", "manager", "owner", "auditor", "viewer"]
ALL_EVENTS = sorted({e.name for e in NC.events} | {e.name for e in CA.events})
steps = st.lists(
    st.tuples(
        st.sampled_from(["nc", "action", "add_action"]),
        # an event name, or an index into what the actor may fire now (so sequences also get deep)
        st.one_of(
            st.sampled_from(ALL_EVENTS), st.integers(min_value=0, max_value=9), st.integers(min_value=0, max_value=9)
        ),
        st.sampled_from(PEOPLE),
        st.booleans(),  # give the data the event needs, or an empty body
    ),
    min_size=1,
    max_size=40,
)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=steps)
def test_random_event_sequences_keep_records_in_their_lifecycle(org, sequence):
    nc = new_nc(org)
    actions = []
    for target, event, who, with_data in sequence:
        actor = getattr(org, who)
        try:
            if target == "add_action":
                actions.append(
                    add_corrective_action(nc, actor, title="Action", owner_id=org.owner.id, due_date=LATER.isoformat())
                )
                continue
            record = nc if target == "nc" or not actions else actions[-1]
            if isinstance(event, int):
                allowed = [
                    (person, a.name)
                    for person in PEOPLE
                    for a in available_events(record, getattr(org, person), today=LATER)
                    if a.allowed
                ]
                if not allowed:
                    continue
                who, event = allowed[event % len(allowed)]
                actor, with_data = getattr(org, who), True
            fire(
                record,
                event,
                actor,
                DATA.get(event, {}) if with_data else {},
                signature_password=PASSWORD,
                today=LATER,
            )
        except WorkflowError:
            pass  # refused events are expected; what matters is what they leave behind
        assert nc.state in NC.state_index
        for action in actions:
            assert action.state in CA.state_index
    event_label(f"NC ended {nc.state}")
    assert replay(nc) == nc.state
    for action in actions:
        assert replay(action) == action.state
    db.session.rollback()
    assert verify(db.session).ok
