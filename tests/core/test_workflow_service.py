"""fire(): state, history and audit entry commit together, or nothing does."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy import update as sa_update

from qms.database import db
from qms.models import AuditEntry, CorrectiveAction, Nonconformity, TransitionHistory
from qms.services import available_events, fire, history_of, replay
from qms.services import workflow as workflow_service
from qms.services.audit_trail import verify
from workflows import LifecycleEngine
from workflows.errors import Conflict, GuardFailed, InvalidData, InvalidTransition, NotPermitted

from ..conftest import PASSWORD
from ..helpers import CHECK_DAY, nc_in_state, new_nc


def _counts(nc_id: int) -> tuple[int, int]:
    db.session.rollback()  # read what is committed now, not an older snapshot
    history = db.session.scalar(
        select(func.count()).where(TransitionHistory.lifecycle == "nonconformity", TransitionHistory.record_id == nc_id)
    )
    audit = db.session.scalar(select(func.count()).select_from(AuditEntry))
    return history, audit


def _db_state(nc_id: int) -> tuple[str, int]:
    db.session.rollback()
    row = db.session.execute(select(Nonconformity.state, Nonconformity.version).where(Nonconformity.id == nc_id)).one()
    return row.state, row.version


def test_firing_writes_state_history_and_audit_entry_together(org):
    nc = new_nc(org)
    history_before, audit_before = _counts(nc.id)

    row = fire(nc, "triage", org.quality, {"severity": "major"}, comment="Safety-related gauge")

    assert _db_state(nc.id) == ("triaged", 2)
    assert nc.severity == "major"
    assert (row.event, row.from_state, row.to_state, row.actor_id) == ("triage", "reported", "triaged", org.quality.id)
    assert row.comment == "Safety-related gauge"
    assert row.data == {"severity": "major"}
    history_after, audit_after = _counts(nc.id)
    assert history_after == history_before + 1
    assert audit_after == audit_before + 1
    entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    assert (entry.action, entry.event, entry.record_type, entry.record_id) == (
        "transition",
        "triage",
        "nonconformities",
        str(nc.id),
    )
    assert '"state":"reported"' in entry.old_value and '"state":"triaged"' in entry.new_value
    assert entry.actor_name == org.quality.name and entry.reason == "Safety-related gauge"
    assert verify(db.session).ok


def test_approval_stores_an_electronic_signature(org):
    nc = nc_in_state(org, "effectiveness_verified")
    row = fire(nc, "close", org.manager, signature_password=PASSWORD)
    assert row.signature_meaning == "approved for closure"
    assert row.signed_by_name == org.manager.name
    assert row.signed_at is not None and row.signed_at.tzinfo is not None
    assert row.signature_manifest.startswith(f"{org.manager.name} — approved for closure — ")
    assert nc.closed_at is not None


@pytest.mark.parametrize("password", [None, "", "wrong-password-123"])
def test_signature_needs_the_signers_own_password(org, password):
    nc = nc_in_state(org, "effectiveness_verified")
    before = _counts(nc.id)
    with pytest.raises(InvalidData) as exc:
        fire(nc, "close", org.manager, signature_password=password)
    assert "signature_password" in exc.value.errors
    assert _db_state(nc.id)[0] == "effectiveness_verified"
    assert _counts(nc.id) == before


def test_the_role_and_state_come_before_the_signature_and_the_signature_before_the_data(org):
    closable = nc_in_state(org, "effectiveness_verified")
    with pytest.raises(NotPermitted):
        fire(closable, "close", org.viewer)  # no password either
    with pytest.raises(InvalidTransition):
        fire(new_nc(org), "close", org.manager)
    completed = nc_in_state(org, "actions_completed")
    with pytest.raises(InvalidData) as exc:
        fire(completed, "verify_effectiveness", org.manager, {}, today=CHECK_DAY)  # no evidence, no password
    assert set(exc.value.errors) == {"signature_password"}


def test_firing_looks_up_the_engine_and_checks_the_event_once(org, monkeypatch):
    nc = nc_in_state(org, "effectiveness_verified")
    lookups: list[tuple] = []
    checks: list[str] = []
    real_get_engine, real_check = workflow_service.get_engine, LifecycleEngine.check

    def get_engine(*args):
        lookups.append(args)
        return real_get_engine(*args)

    def check(engine, record, event, actor):
        checks.append(event)
        return real_check(engine, record, event, actor)

    monkeypatch.setattr(workflow_service, "get_engine", get_engine)
    monkeypatch.setattr(LifecycleEngine, "check", check)

    fire(nc, "close", org.manager, signature_password=PASSWORD)

    assert lookups == [("nonconformity", nc.lifecycle_version)]
    assert checks == ["close"]


def test_refused_events_write_nothing(org):
    nc = new_nc(org)
    before = _counts(nc.id)
    with pytest.raises(NotPermitted):
        fire(nc, "triage", org.viewer, {"severity": "major"})
    with pytest.raises(InvalidTransition):
        fire(nc, "close", org.manager, signature_password=PASSWORD)
    with pytest.raises(InvalidData) as exc:
        fire(nc, "triage", org.quality, {"severity": "catastrophic"})
    assert "severity" in exc.value.errors
    assert _db_state(nc.id) == ("reported", 1)
    assert _counts(nc.id) == before


def test_guard_reason_reaches_the_caller_and_nothing_is_written(org):
    nc = nc_in_state(org, "root_cause_identified")
    before = _counts(nc.id)
    with pytest.raises(GuardFailed) as exc:
        fire(nc, "plan_actions", org.quality, {"verification_due": "2030-01-01"})
    assert exc.value.reason == "Add at least one corrective action first (the plan has none)"
    assert _counts(nc.id) == before
    blocked = {a.name: a for a in available_events(nc, org.quality)}["plan_actions"]
    assert not blocked.allowed and blocked.reason == exc.value.reason


def test_stale_version_is_a_conflict(org):
    nc = new_nc(org)
    fire(nc, "triage", org.quality, {"severity": "minor"})
    with pytest.raises(Conflict):
        fire(nc, "contain", org.owner, {"containment": "Parts held"}, expected_version=1)
    assert _db_state(nc.id) == ("triaged", 2)
    fire(nc, "contain", org.owner, {"containment": "Parts held"}, expected_version=2)
    assert _db_state(nc.id) == ("contained", 3)


def test_exception_inside_a_transition_leaves_no_trace(org, monkeypatch):
    nc = new_nc(org)
    before = _counts(nc.id)

    def explode(record, result, actor, now):
        record.severity = result.data["severity"]
        raise RuntimeError("disk full while writing the NC")

    effects = dict(workflow_service._effects)
    effects[("nonconformity", "triage")] = [explode]
    monkeypatch.setattr(workflow_service, "_effects", effects)

    with pytest.raises(RuntimeError, match="disk full"):
        fire(nc, "triage", org.quality, {"severity": "major"})

    assert nc.state == "reported" and nc.severity is None  # the object is reloaded, not left half-changed
    assert _db_state(nc.id) == ("reported", 1)
    assert _counts(nc.id) == before
    assert verify(db.session).ok


def test_segregation_of_duties_implementer_cannot_verify(org):
    nc = nc_in_state(org, "root_cause_identified")
    from qms.services.nonconformities import add_corrective_action

    action = add_corrective_action(nc, org.quality, title="Fix", owner_id=org.quality.id, due_date="2099-01-01")
    with pytest.raises(GuardFailed, match="its approved plan runs"):
        fire(action, "start", org.quality)  # the plan is not approved yet
    fire(nc, "plan_actions", org.quality, {"verification_due": CHECK_DAY.isoformat()})
    fire(action, "start", org.quality)
    fire(action, "implement", org.quality, {"implementation": "Done"})
    with pytest.raises(GuardFailed, match="someone else must verify"):
        fire(action, "verify", org.quality, {"verification": "ok"}, signature_password=PASSWORD)
    fire(action, "verify", org.quality2, {"verification": "ok"}, signature_password=PASSWORD)
    assert db.session.get(CorrectiveAction, action.id).verified_by_id == org.quality2.id
    fire(nc, "complete_actions", org.quality)
    # whoever implemented an action cannot verify the NC's effectiveness either
    with pytest.raises(GuardFailed, match="someone else must verify effectiveness"):
        fire(nc, "verify_effectiveness", org.quality, {"evidence": "x"}, signature_password=PASSWORD, today=CHECK_DAY)
    fire(nc, "verify_effectiveness", org.quality2, {"evidence": "x"}, signature_password=PASSWORD, today=CHECK_DAY)


def test_effectiveness_is_checked_after_a_waiting_period(org):
    nc = nc_in_state(org, "root_cause_identified")
    from qms.services.nonconformities import add_corrective_action

    add_corrective_action(nc, org.quality, title="Fix", owner_id=org.owner.id, due_date="2099-01-01")
    with pytest.raises(InvalidData) as caught:
        fire(nc, "plan_actions", org.quality, {"verification_due": dt.date.today().isoformat()})
    assert "after a waiting period" in caught.value.errors["verification_due"]


def test_reopening_an_nc_needs_a_new_check_date_and_new_actions_before_completing_again(org):
    from qms.services.nonconformities import add_corrective_action

    nc = nc_in_state(org, "actions_completed")
    later = CHECK_DAY + dt.timedelta(days=60)
    with pytest.raises(InvalidData) as caught:
        fire(nc, "mark_ineffective", org.manager, {"reason": "Recurred"})
    assert set(caught.value.errors) == {"verification_due"}
    with pytest.raises(InvalidData, match="after a waiting period"):
        fire(nc, "mark_ineffective", org.manager, {"reason": "Recurred", "verification_due": dt.date.today()})

    fire(nc, "mark_ineffective", org.manager, {"reason": "Recurred", "verification_due": later.isoformat()})

    assert (nc.state, nc.verification_due, nc.effectiveness_evidence) == ("action_planned", later, "")
    # the old, verified actions are not a new plan: completing at once is refused with the reason
    with pytest.raises(GuardFailed) as blocked:
        fire(nc, "complete_actions", org.quality)
    assert blocked.value.reason == (
        f"The actions were found ineffective on {dt.date.today().isoformat()}: "
        "add at least one new corrective action before marking the actions completed"
    )
    action = add_corrective_action(nc, org.quality, title="Second fix", owner_id=org.owner.id, due_date="2099-01-01")
    fire(action, "start", org.owner)
    fire(action, "implement", org.owner, {"implementation": "Done properly"})
    fire(action, "verify", org.quality2, {"verification": "Checked"}, signature_password=PASSWORD)
    fire(nc, "complete_actions", org.quality)
    assert nc.state == "actions_completed"


def test_an_nc_cannot_verify_while_an_action_is_sent_back(org):
    from qms.services.nonconformities import add_corrective_action

    nc = nc_in_state(org, "root_cause_identified")
    action = add_corrective_action(nc, org.quality, title="Fix", owner_id=org.owner.id, due_date="2099-01-01")
    fire(nc, "plan_actions", org.quality, {"verification_due": CHECK_DAY.isoformat()})
    fire(action, "start", org.owner)
    fire(action, "implement", org.owner, {"implementation": "Done"})
    fire(nc, "complete_actions", org.quality)
    fire(action, "reject_implementation", org.manager, {"reason": "Only half done"})
    with pytest.raises(GuardFailed, match="1 corrective action is still open"):
        fire(nc, "verify_effectiveness", org.manager, {"evidence": "x"}, signature_password=PASSWORD, today=CHECK_DAY)


def test_an_nc_whose_actions_were_all_cancelled_cannot_be_verified(org):
    from qms.services.nonconformities import add_corrective_action

    nc = nc_in_state(org, "root_cause_identified")
    action = add_corrective_action(nc, org.quality, title="Fix", owner_id=org.owner.id, due_date="2099-01-01")
    fire(nc, "plan_actions", org.quality, {"verification_due": CHECK_DAY.isoformat()})
    fire(action, "cancel", org.manager, {"reason": "Wrong approach"})
    fire(nc, "complete_actions", org.quality)
    with pytest.raises(GuardFailed, match="Add at least one verified corrective action first"):
        fire(nc, "verify_effectiveness", org.manager, {"evidence": "x"}, signature_password=PASSWORD, today=CHECK_DAY)


def test_actions_follow_their_nc_plan(org):
    from qms.services.nonconformities import add_corrective_action

    nc = nc_in_state(org, "root_cause_identified")
    action = add_corrective_action(nc, org.quality, title="Fix", owner_id=org.owner.id, due_date="2099-01-01")
    with pytest.raises(GuardFailed, match="root cause identified: its actions move only while its approved plan runs"):
        fire(action, "start", org.owner)
    fire(nc, "plan_actions", org.quality, {"verification_due": CHECK_DAY.isoformat()})
    fire(action, "start", org.owner)
    # however the NC ended up closed (an import, an older rule), its open actions are frozen
    db.session.execute(sa_update(Nonconformity).where(Nonconformity.id == nc.id).values(state="closed"))
    db.session.commit()
    blocked = {a.name: a for a in available_events(action, org.owner)}["implement"]
    assert not blocked.allowed and "The nonconformity is closed" in blocked.reason


def test_action_owners_must_be_able_to_carry_it_out(org):
    nc = nc_in_state(org, "root_cause_identified")
    from qms.services.nonconformities import add_corrective_action

    with pytest.raises(InvalidData) as exc:
        add_corrective_action(nc, org.quality, title="Fix", owner_id=org.viewer.id, due_date="2099-01-01")
    assert "owner_id" in exc.value.errors


def test_nc_cannot_complete_while_actions_are_open(org):
    nc = nc_in_state(org, "root_cause_identified")
    from qms.services.nonconformities import add_corrective_action

    add_corrective_action(nc, org.quality, title="A", owner_id=org.owner.id, due_date="2099-01-01")
    add_corrective_action(nc, org.quality, title="B", owner_id=org.owner.id, due_date="2099-01-01")
    fire(nc, "plan_actions", org.quality, {"verification_due": "2099-06-01"})
    with pytest.raises(GuardFailed, match="2 corrective actions are still open"):
        fire(nc, "complete_actions", org.quality)


def test_history_replays_to_the_current_state(org):
    nc = nc_in_state(org, "closed")
    assert [h.event for h in history_of(nc)] == [
        "triage",
        "contain",
        "analyse_root_cause",
        "plan_actions",
        "complete_actions",
        "verify_effectiveness",
        "close",
    ]
    assert replay(nc) == "closed"


@pytest.mark.real_commits
def test_concurrent_fires_on_one_record_exactly_one_wins(app, org):
    """Two sessions (two connections) fire on the same version at once."""
    nc_id = new_nc(org).id
    quality_id, manager_id = org.quality.id, org.manager.id
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def worker(name: str, user_id: int) -> None:
        from qms.models import User

        with app.app_context():
            nc = db.session.get(Nonconformity, nc_id)
            user = db.session.get(User, user_id)
            version = nc.version
            barrier.wait()
            try:
                fire(nc, "triage", user, {"severity": "minor"}, expected_version=version)
                outcomes[name] = "won"
            except Conflict as exc:
                outcomes[name] = exc
            except Exception as exc:  # any other error is a failure of the test
                outcomes[name] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(n, u)) for n, u in (("a", quality_id), ("b", manager_id))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    results = sorted(outcomes.values(), key=lambda v: v != "won")
    assert results[0] == "won"
    assert isinstance(results[1], Conflict), results[1]
    assert _counts(nc_id)[0] == 1
    assert _db_state(nc_id) == ("triaged", 2)
    assert verify(db.session).ok
