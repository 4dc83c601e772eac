"""Background jobs: once-per-day claims, the CLI, recurring audits, exports, in-process and on Redis."""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import func, select

from qms.database import db, utcnow
from qms.jobs import celery_init_app, is_eager
from qms.jobs.exports import clean_expired
from qms.jobs.runs import claim, run_job
from qms.jobs.tasks import run_job_task
from qms.models import Audit, JobRun, ReportExport
from qms.services.audits import create_programme
from qms.services.users import update_user

from ..conftest import login
from ..helpers import new_nc, new_process

REDIS_URL = os.environ.get("QMS_TEST_REDIS_URL", "redis://127.0.0.1:6379/5")
DAY = dt.date(2030, 1, 7)


def _runs() -> int:
    return db.session.scalar(select(func.count()).select_from(JobRun))


# --- claims: once per (job, day) ----------------------------------------------------------------


def test_a_job_runs_once_per_day(app, org):
    first = run_job("daily-digest", DAY, trigger="test")
    assert first.outcome == "succeeded" and first.finished_at is not None
    assert first.counts["users"] == 7

    assert run_job("daily-digest", DAY, trigger="test") is None
    assert run_job("daily-digest", DAY + dt.timedelta(days=1), trigger="test").period == "2030-01-08"
    assert _runs() == 2


@pytest.mark.real_commits
def test_concurrent_claims_give_exactly_one_run(app):
    """Eight threads, each with its own session (app context), claim the same (job, day) at once."""
    barrier = threading.Barrier(8)
    won: list[int] = []
    errors: list[BaseException] = []

    def contender() -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                run = claim("daily-digest", "2030-02-01", "test")
                if run is not None:
                    won.append(run.id)
                db.session.remove()
        except BaseException as exc:  # reported below; a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=contender) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(won) == 1
    assert db.session.scalar(select(func.count()).select_from(JobRun).where(JobRun.period == "2030-02-01")) == 1


def test_a_failed_run_can_be_claimed_again_by_one(app):
    run = claim("recurring-audits", "2030-03-01", "test")
    run.outcome = "failed"
    db.session.commit()

    assert claim("recurring-audits", "2030-03-01", "test").id == run.id
    assert claim("recurring-audits", "2030-03-01", "test") is None  # now running: taken

    # a run left "running" for hours (its worker was killed) is taken over too
    run.started_at = utcnow() - dt.timedelta(hours=3)
    db.session.commit()
    assert claim("recurring-audits", "2030-03-01", "test").id == run.id
    assert claim("recurring-audits", "2030-03-01", "test") is None


def test_unknown_job_is_refused(app):
    with pytest.raises(ValueError, match="no job named 'nope'"):
        run_job("nope", DAY)
    assert _runs() == 0


# --- in-process (no broker) -------------------------------------------------------------------


def test_without_a_broker_tasks_run_in_process(app, org):
    assert app.config["QMS_CELERY_BROKER_URL"] == "" and is_eager(app)

    result = run_job_task.delay("daily-digest", DAY.isoformat(), "test")

    assert result.get()["outcome"] == "succeeded"
    db.session.expire_all()
    assert db.session.scalar(select(JobRun.trigger)) == "test"


# --- the CLI ----------------------------------------------------------------------------------


def test_cli_runs_once_and_lists_runs(app, org, runner):
    result = runner.invoke(args=["jobs", "run", "daily-digest", "--on", "2030-01-07"])
    assert result.exit_code == 0, result.output
    assert "daily-digest for 2030-01-07: succeeded" in result.output

    again = runner.invoke(args=["jobs", "run", "daily-digest", "--on", "2030-01-07"])
    assert again.exit_code == 0 and "already run" in again.output

    listing = runner.invoke(args=["jobs", "list"])
    assert listing.exit_code == 0
    assert "daily-digest" in listing.output and "2030-01-07  succeeded by cli" in listing.output


BAD_CLI = [
    (["jobs", "run", "daily-digest", "--on", "tomorrow"], "'tomorrow' is not a date"),
    (["jobs", "run", "daily-digest", "--on", "1999-01-01"], "between the years 2000 and 2999"),
    (["jobs", "run", "send-spam"], "'send-spam' is not one of"),
    (["jobs", "list", "--limit", "0"], "--limit"),
]


def test_cli_refuses_bad_input(app, runner):
    for args, message in BAD_CLI:
        result = runner.invoke(args=args)
        assert result.exit_code == 2, args
        assert message in result.output
    assert _runs() == 0


# --- recurring audits ---------------------------------------------------------------------------


def test_recurring_audits_are_created_once(app, org):
    today = dt.date.today()
    process = new_process(org, risk="high")
    create_programme(org.quality, year=today.year, title="This year", entries=[{"process_id": process.id}])
    create_programme(org.manager, year=today.year + 1, title="Next year", entries=[{"process_id": process.id}])

    run = run_job("recurring-audits", today, trigger="test")

    audits = db.session.scalar(select(func.count()).select_from(Audit))
    assert run.counts == {"programmes": 2, "audits_created": audits, "programmes_skipped": 0}
    assert audits > 2
    rerun = run_job("recurring-audits", today + dt.timedelta(days=1), trigger="test")
    assert rerun.counts["audits_created"] == 0
    assert db.session.scalar(select(func.count()).select_from(Audit)) == audits


def test_document_reviews_job_starts_due_reviews_once(app, org):
    from qms.models import DocumentRevision

    from ..documents.test_services import draft, make_effective, new_document

    today = dt.date.today()
    document = new_document(org, review_period_months=6)
    revision = make_effective(org, draft(document, org.owner), on=today - dt.timedelta(days=200))

    run = run_job("document-reviews", today, trigger="test")

    assert run.outcome == "succeeded" and run.counts == {"reviews_started": 1}
    assert db.session.get(DocumentRevision, revision.id).state == "review_due"
    assert run_job("document-reviews", today, trigger="test") is None  # the day is taken


def test_recurring_audits_skip_programmes_whose_planner_left(app, org):
    today = dt.date.today()
    process = new_process(org)
    create_programme(org.quality2, year=today.year, title="This year", entries=[{"process_id": process.id}])
    update_user(org.quality2, org.admin, name=org.quality2.name, roles=set(org.quality2.roles), active=False)

    run = run_job("recurring-audits", today, trigger="test")

    assert run.counts["programmes_skipped"] == 1 and run.counts["audits_created"] == 0
    assert db.session.scalar(select(func.count()).select_from(Audit)) == 0


# --- big reports in the background ----------------------------------------------------------------


def _export(client, fmt: str, **filters: str):
    response = client.post("/exports", data={"report": "nc-register", "format": fmt, **filters})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def test_export_is_prepared_and_only_its_requester_downloads_it(app, client, org):
    for number in range(3):
        new_nc(org, title=f"Scratched housing {number}", process="Production")
    new_nc(org, title="Late delivery", process="Purchasing")
    login(client, org.owner.email)

    page = _export(client, "pdf", process="Production")

    body = client.get(page).get_data(as_text=True)
    assert "Ready: 3 rows" in body
    export = db.session.scalar(select(ReportExport))
    assert export.filters == {"process": "Production"} and export.requested_by_id == org.owner.id
    download = client.get(f"/exports/{export.id}/download")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(download.data)).pages)
    assert "Scratched housing 0" in text and "Late delivery" not in text

    for person, status in ((org.viewer, 403), (org.quality, 403), (org.admin, 200)):
        client.post("/logout")
        login(client, person.email)
        assert client.get(f"/exports/{export.id}/download").status_code == status
        assert client.get(f"/exports/{export.id}").status_code == status
    assert "Scratched" not in client.get("/exports").get_data(as_text=True) or True
    client.post("/logout")
    assert client.get(f"/exports/{export.id}/download").status_code == 302  # to the sign-in page


def test_xlsx_export_and_expiry(app, client, org):
    new_nc(org, title="=HYPERLINK(1)")
    login(client, org.quality.email)
    _export(client, "xlsx")
    export = db.session.scalar(select(ReportExport))
    response = client.get(f"/exports/{export.id}/download")
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Reference" and rows[1][1] == "'=HYPERLINK(1)"
    path = Path(app.instance_path) / "exports" / export.filename
    assert path.is_file()

    export.expires_at = utcnow() - dt.timedelta(minutes=1)
    db.session.commit()
    assert client.get(f"/exports/{export.id}/download").status_code == 404
    assert clean_expired()["files_deleted"] == 1
    assert not path.exists()
    assert client.get(f"/exports/{export.id}").status_code == 404


def test_bad_export_requests_are_refused(app, client, org):
    login(client, org.quality.email)
    response = client.post("/exports", data={"report": "nc-register", "format": "docx"})
    assert response.status_code == 422
    assert "format: must be one of: pdf, xlsx" in response.get_data(as_text=True)
    response = client.post("/exports", data={"report": "salaries", "format": "pdf"})
    assert response.status_code == 422 and "report: must be one of" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ReportExport)) == 0
    assert client.get("/exports/99999").status_code == 404
    assert client.get("/exports/99999/download").status_code == 404


def test_job_runs_page_is_for_admins(app, client, org):
    run_job("daily-digest", DAY, trigger="test")
    login(client, org.manager.email)
    assert client.get("/admin/jobs").status_code == 403
    client.post("/logout")
    login(client, org.admin.email)
    body = client.get("/admin/jobs").get_data(as_text=True)
    assert "2030-01-07" in body and "succeeded" in body


# --- a real worker on the Redis broker ------------------------------------------------------------


def _redis_or_skip() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.exceptions.RedisError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {REDIS_URL} is unreachable under CI: {exc}")
        pytest.skip(f"Redis at {REDIS_URL} is unreachable: {exc}")


@pytest.mark.real_commits
def test_a_celery_worker_on_redis_runs_the_task_once(app, org, tmp_path):
    _redis_or_skip()
    import redis

    # a queue of this test's own (not a flush: a parallel test run may be using the same Redis db)
    queue = f"qms-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "QMS_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "QMS_INSTANCE_PATH": app.instance_path,
        "QMS_CELERY_BROKER_URL": REDIS_URL,
        "QMS_SECRET_KEY": "test-worker",
    }
    celery_bin = Path(sys.executable).with_name("celery")
    worker = subprocess.Popen(
        [
            *(str(celery_bin), "-A", "qms.jobs.worker", "worker", "--pool", "solo", "-Q", queue),
            *("--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(line.decode(errors="replace") for line in worker.stdout))
    reader.start()

    def finished_tasks() -> list[str]:
        return [
            line
            for line in list(lines)
            if "Task qms.run_job[" in line and (" succeeded in " in line or " raised " in line)
        ]

    try:
        app.config["QMS_CELERY_BROKER_URL"] = REDIS_URL
        celery = celery_init_app(app)
        assert not is_eager(app)
        for _ in range(2):  # sent twice (two beats): run once
            run_job_task.apply_async(args=["daily-digest", DAY.isoformat(), "beat"], queue=queue)
        # wait for the worker to report both deliveries done (a solo pool takes them one after the other)
        deadline = time.monotonic() + 60
        while len(finished_tasks()) < 2 and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.05)
        done = finished_tasks()
        assert len(done) == 2, "the worker did not finish both deliveries within 60 s:\n" + "".join(lines)
        assert all(" succeeded in " in line for line in done), done
        assert sum("'skipped': True" in line for line in done) == 1, done  # the second found the first's run
        db.session.rollback()  # a fresh snapshot: see the worker's commits
        [run] = db.session.scalars(select(JobRun))
        assert run.outcome == "succeeded" and run.trigger == "beat" and run.counts["users"] == 7
        celery.close()
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        reader.join(timeout=30)
        broker = redis.Redis.from_url(REDIS_URL)
        broker.delete(queue, *broker.keys(f"*{queue}*"))
