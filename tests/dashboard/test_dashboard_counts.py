"""The dashboard's running counts: kept in the flush of every change, equal to a recount from the records."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from qms.database import db
from qms.models import CorrectiveAction, DashboardCount, Nonconformity
from qms.services import fire
from qms.services.dashboard import dashboard_figures
from qms.services.dashboard_counts import differences, rebuild, recount, stored
from qms.services.nonconformities import add_corrective_action

from ..helpers import nc_in_state, new_nc


def agree() -> None:
    """The kept counts equal a recount from the records (the test's own transaction, as the app sees it)."""
    assert differences(db.session.connection()) == []


def test_kept_counts_equal_a_recount_after_creates_transitions_edits_and_deletes(app, org):
    today = dt.date.today()
    agree()  # an empty database: nothing kept, nothing counted
    ncs = [
        new_nc(org, detected_on=today - dt.timedelta(days=days), source=source, process=process, clause_refs=clauses)
        for days, source, process, clauses in (
            (0, "internal_audit", "Production", ["7.1.5.2"]),
            (45, "supplier", "Purchasing", ["8.4.1", "8.4.3"]),
            (75, "customer_complaint", "", []),
            (400, "process_monitoring", "Production", ["8.7", "8.7"]),
        )
    ]
    agree()
    fire(ncs[0], "triage", org.quality, {"severity": "major"})
    fire(ncs[3], "triage", org.quality, {"severity": "minor"})
    fire(ncs[2], "reject", org.quality, {"reason": "Not a nonconformity"})
    agree()
    planned = nc_in_state(org, "action_planned")
    action = planned.actions[0]
    late = add_corrective_action(planned, org.quality, title="Late", owner_id=org.owner.id, due_date=today)
    agree()
    fire(action, "start", org.owner)
    fire(action, "implement", org.owner, {"implementation": "Done"})
    fire(late, "start", org.owner)
    fire(late, "implement", org.owner, {"implementation": "Done"})
    agree()
    closed = nc_in_state(org, "closed")  # through every state, its actions verified
    assert closed.state == "closed"
    agree()

    # edits outside the lifecycle: a moved due date, a new process, a replaced clause list
    late.due_date = today - dt.timedelta(days=1)  # implemented today, a day after it was due
    ncs[1].process = "Logistics"
    ncs[1].clause_refs = ["8.4.2"]
    db.session.commit()
    agree()
    # an attribute set while expired (its old value never loaded): the flush reads the stored one
    db.session.expire(ncs[3])
    ncs[3].detected_on = today - dt.timedelta(days=10)
    db.session.commit()
    agree()
    # a change rolled back takes its counts with it
    ncs[0].source = "survey"
    db.session.flush()
    db.session.rollback()
    agree()
    # deletes: an open action, then an open NC without actions
    spare = add_corrective_action(planned, org.quality, title="Spare", owner_id=org.owner.id, due_date=today)
    agree()
    db.session.delete(spare)
    db.session.commit()
    agree()
    gone = new_nc(org, source="supplier", clause_refs=["8.4.1"])
    db.session.expire(gone)  # deleted without its values loaded
    db.session.delete(gone)
    db.session.commit()
    agree()

    counted = recount(db.session.connection())
    assert counted["nc.source", "supplier"] == 1 and counted["nc.process", "Logistics"] == 1
    assert counted["nc.clause", "8.7"] == 2  # each reference counts, as the chart always counted them
    figures = dashboard_figures(today)
    assert figures.open_ncs == 4  # ncs[0], ncs[1], ncs[3], planned (ncs[2] rejected, one closed)
    assert (figures.implemented_actions, figures.on_time_rate) == (3, 2 / 3)  # closed's action on time too


def test_rebuild_repairs_rows_written_past_the_application_and_verify_says_so(app, org, runner):
    nc = new_nc(org, process="Production")
    fire(nc, "triage", org.quality, {"severity": "major"})
    agree()
    assert runner.invoke(args=["dashboard", "verify"]).exit_code == 0
    # a DBA closes it with an UPDATE: the flush never sees it
    db.session.execute(update(Nonconformity).where(Nonconformity.id == nc.id).values(state="closed"))
    db.session.commit()
    found = {(d.figure, d.key): (d.kept, d.counted) for d in differences(db.session.connection())}
    assert found[("nc.severity", "major")] == (1, 0)
    db.session.rollback()
    result = runner.invoke(args=["dashboard", "verify"])
    assert result.exit_code == 1 and "kept 1, counted 0" in result.output and "qms dashboard rebuild" in result.output
    assert rebuild(db.session)["corrected"] == len(found)
    agree()
    assert dashboard_figures(dt.date.today()).open_ncs == 0
    result = runner.invoke(args=["dashboard", "rebuild"])
    assert result.exit_code == 0 and "0 of them were wrong" in result.output


def test_the_nightly_job_rebuilds_the_counts(app, org):
    from qms.jobs.runs import run_job

    new_nc(org, process="Production")
    db.session.execute(update(CorrectiveAction).values(state="planned"))  # no action yet: changes nothing
    db.session.execute(DashboardCount.__table__.delete())  # counts lost
    db.session.commit()
    assert differences(db.session.connection())
    db.session.rollback()
    run = run_job("dashboard-counts", dt.date.today(), trigger="cli")
    assert run is not None and run.outcome == "succeeded" and run.counts["corrected"] > 0
    agree()
    assert stored(db.session.connection())["nc.process", "Production"] == 1
    assert db.session.scalar(select(DashboardCount.count).where(DashboardCount.figure == "nc.severity")) == 1


def test_a_closed_nc_leaves_no_open_count(app, org):
    nc_in_state(org, "closed")
    agree()
    counts = stored(db.session.connection())
    assert not [key for key in counts if key[0].startswith("nc.")]
    assert counts["action.implemented", "on_time"] == 1 and not counts["action.open_due", dt.date.today().isoformat()]
