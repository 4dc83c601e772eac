"""The dashboard's organisation-wide panels: kept for QMS_DASHBOARD_PANELS_SECONDS, refreshed by the beat."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select, update

from qms.database import db, utcnow
from qms.jobs import beat_schedule
from qms.jobs.tasks import refresh_dashboard_task
from qms.models import DashboardPanels

from ..conftest import login
from ..helpers import new_nc


def _open_ncs(page: str) -> int:
    return int(re.search(r"<strong>(\d+)</strong><span>open nonconformities</span>", page).group(1))


def _page(app, client) -> str:
    with app.app_context():
        return client.get("/").get_data(as_text=True)


def test_panels_are_read_while_young_counted_when_old_and_the_counts_stay_live(app, org):
    app.config["QMS_DASHBOARD_PANELS_SECONDS"] = 900
    client = app.test_client()
    with app.app_context():
        login(client, org.manager.email)
    new_nc(org)
    first = _page(app, client)
    today = dt.date.today().isoformat()
    stored = db.session.scalars(select(DashboardPanels.variant)).all()
    assert stored == [f"managers:{today}"]  # the viewer's variant: stored by the first view
    assert 'id="certification-panel"' in first and "the other panels as of" in first
    # a stored body is served as it is while young: mark it to see it come back
    db.session.execute(update(DashboardPanels).values(body=DashboardPanels.body + '<p id="stored-marker"></p>'))
    db.session.commit()
    new_nc(org)
    second = _page(app, client)
    assert 'id="stored-marker"' in second
    assert _open_ncs(second) == 2  # the NC figures are summed live on every view
    # older than the max age: counted again (and stored again)
    db.session.execute(update(DashboardPanels).values(computed_at=utcnow() - dt.timedelta(seconds=901)))
    db.session.commit()
    third = _page(app, client)
    assert 'id="stored-marker"' not in third and 'id="certification-panel"' in third
    assert utcnow() - db.session.scalar(select(DashboardPanels.computed_at)) < dt.timedelta(seconds=60)


def test_the_beat_task_counts_both_variants_and_drops_other_days(app, org):
    db.session.add(DashboardPanels(variant="managers:2000-01-01", computed_at=utcnow(), body="old"))
    db.session.commit()
    assert refresh_dashboard_task() == {"variants": 2}
    today = dt.date.today().isoformat()
    rows = dict(db.session.execute(select(DashboardPanels.variant, DashboardPanels.body)).all())
    assert set(rows) == {f"managers:{today}", f"everyone:{today}"}
    assert 'id="certification-panel"' in rows[f"managers:{today}"]
    assert 'id="certification-panel"' not in rows[f"everyone:{today}"]
    schedule = beat_schedule(6)["dashboard-panels"]
    assert schedule["task"] == "qms.refresh_dashboard" and schedule["schedule"] <= 900 / 2


def test_a_view_costs_the_same_few_statements_however_many_records(app, org):
    """With the panels stored, a view sums the running counts: its statements do not grow with the records."""
    from ..core.test_query_counts import counting

    app.config["QMS_DASHBOARD_PANELS_SECONDS"] = 900
    client = app.test_client()
    with app.app_context():
        login(client, org.quality.email)
    new_nc(org)
    _page(app, client)  # counts and stores the panels

    def statements() -> list[str]:
        with counting() as seen:
            page = _page(app, client)
        assert 'id="certification-panel"' in page
        return [s for s in seen if s.split()[0].upper() in ("SELECT", "INSERT", "UPDATE", "DELETE")]

    few = statements()
    for i in range(6):
        new_nc(org, source="supplier", process=f"Process {i}", clause_refs=["8.4.1", f"8.{i}"])
    many = statements()
    assert len(many) == len(few) <= 6, many  # the user, roles and session; two sums of the counts; the stored panels
    assert not [s for s in many if "FROM nonconformities" in s or "FROM corrective_actions" in s]
