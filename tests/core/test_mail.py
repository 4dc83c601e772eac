"""The daily digest over real SMTP (an aiosmtpd server on a free port): who gets what, once."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from qms.database import db
from qms.extensions import mail
from qms.jobs.runs import run_job
from qms.models import CertificationBody, JobRun, Notification
from qms.services.audit_trail import recorded_change
from qms.services.certifications import ensure_bodies
from qms.services.nonconformities import add_corrective_action
from qms.services.notifications import send_daily_digests
from qms.services.reminders import digest_items
from qms.services.users import update_user

from ..certifications.test_services import certified
from ..conftest import login
from ..helpers import nc_in_state

#: the digest is run "on" this day: the actions due in 10 days are overdue by then
LATER = dt.date.today() + dt.timedelta(days=15)
BASE_URL = "https://qms.example.test"


class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd's hook name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for rcpts, message in self.messages if address in rcpts]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def inbox():
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


def _use_smtp(app, port: int) -> None:
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, QMS_BASE_URL=BASE_URL)
    mail.init_app(app)  # Flask-Mail reads its settings when initialised


@pytest.fixture
def smtp_app(app, inbox):
    _use_smtp(app, inbox.port)
    return app


@pytest.fixture
def overdue(org):
    """An NC with two corrective actions due in 10 days: one owned by the process owner, one by quality."""
    nc = nc_in_state(org, "action_planned")  # its first action belongs to the process owner
    add_corrective_action(nc, org.manager, title="Train the second shift", owner_id=org.quality.id, due_date=LATER)
    return nc


def _parts(message: EmailMessage) -> tuple[str, str]:
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


def test_digest_sends_each_user_their_own_overdue_items(smtp_app, org, overdue, inbox):
    owner_action = overdue.actions[0]
    assert owner_action.owner_id == org.owner.id

    run = run_job("daily-digest", LATER, trigger="test")

    assert run.outcome == "succeeded"
    [message] = inbox.to(org.owner.email)
    text, html = _parts(message)
    assert owner_action.reference in text and "OVERDUE" in text
    assert f"{BASE_URL}/corrective-actions/{owner_action.id}" in text
    assert f'href="{BASE_URL}/corrective-actions/{owner_action.id}"' in html
    assert "overdue" in message["Subject"]
    # the action of someone else is not in the owner's digest, and others do not get the owner's action
    assert overdue.actions[1].reference not in text
    for person in (org.viewer, org.auditor):
        assert inbox.to(person.email) == []
    quality_text = _parts(inbox.to(org.quality.email)[0])[0]
    assert overdue.actions[1].reference in quality_text
    assert run.counts["sent"] == len(inbox.messages)
    sent = db.session.scalar(select(func.count()).select_from(Notification).where(Notification.status == "sent"))
    assert sent == len(inbox.messages)


def test_certification_deadlines_go_to_managers_and_quality_officers(smtp_app, org, inbox):
    """Surveillance audits and certificate expiry: to every manager and quality officer, once each."""
    with recorded_change(None, "bodies loaded") as session:
        ensure_bodies(session)
    bodies = {body.code: body for body in db.session.scalars(select(CertificationBody))}
    today = dt.date.today()
    certification = certified(org, bodies, decided_on=today - dt.timedelta(days=365 - 20))
    assert certification.owner_id == org.manager.id

    run_job("daily-digest", today, trigger="test")

    for person in (org.manager, org.quality, org.quality2):
        [message] = inbox.to(person.email)
        text = _parts(message)[0]
        assert text.count("Surveillance audit 1") == 1, person.email
        assert f"{BASE_URL}/certifications/{certification.id}" in text
    for person in (org.auditor, org.viewer, org.owner, org.admin):
        assert inbox.to(person.email) == []


def test_inactive_and_opted_out_users_get_nothing(smtp_app, client, org, overdue, inbox):
    assert digest_items(org.quality, LATER)  # quality would have something...
    login(client, org.quality.email)
    response = client.post("/account/email", data={})  # ...but unticks the daily digest
    assert response.status_code == 302
    assert 'name="daily_digest" value="1" >' in client.get("/account/").get_data(as_text=True)
    assert digest_items(org.owner, LATER)
    update_user(org.owner, org.admin, name=org.owner.name, roles=set(org.owner.roles), active=False)

    run = run_job("daily-digest", LATER, trigger="test")

    assert inbox.to(org.quality.email) == [] and inbox.to(org.owner.email) == []
    assert run.counts["opted_out"] == 1
    # ticking the box again brings the digest back (on another day: today's is done)
    client.post("/account/email", data={"daily_digest": "1"})
    run_job("daily-digest", LATER + dt.timedelta(days=1), trigger="test")
    assert len(inbox.to(org.quality.email)) == 1


def test_bad_preference_value_is_refused(smtp_app, client, org):
    login(client, org.quality.email)
    response = client.post("/account/email", data={"daily_digest": "maybe"})
    assert response.status_code == 422
    assert "Daily digest" in response.get_data(as_text=True)


def test_the_same_day_is_mailed_once(smtp_app, org, overdue, inbox):
    first = run_job("daily-digest", LATER, trigger="test")
    count = len(inbox.messages)
    assert count >= 2

    assert run_job("daily-digest", LATER, trigger="test") is None  # the (job, day) is taken
    # even past the job's claim (a retried task), each user's digest of the day is recorded once
    again = send_daily_digests(LATER)

    assert len(inbox.messages) == count
    assert again["already_sent"] == first.counts["sent"] and again["sent"] == 0
    assert db.session.scalar(select(func.count()).select_from(JobRun)) == 1


def test_failed_sending_is_recorded_and_retried(app, org, overdue, inbox):
    _use_smtp(app, _free_port())  # nothing listens there

    with pytest.raises(ConnectionRefusedError):
        run_job("daily-digest", LATER, trigger="test")
    failed = db.session.scalar(select(JobRun))
    assert failed.outcome == "failed" and "ConnectionRefusedError" in failed.error
    assert inbox.messages == []

    _use_smtp(app, inbox.port)
    run = run_job("daily-digest", LATER, trigger="test")  # the failed run is taken over

    assert run.outcome == "succeeded" and run.id == failed.id
    assert len(inbox.to(org.owner.email)) == 1


def test_without_a_mail_server_digests_are_logged_not_sent(app, org, overdue, inbox, caplog):
    assert app.config["MAIL_SERVER"] == ""
    with caplog.at_level("INFO", logger="qms.services.notifications"):
        run = run_job("daily-digest", LATER, trigger="test")

    assert inbox.messages == []
    assert run.counts["logged"] >= 2 and run.counts["sent"] == 0
    assert f"digest for {org.owner.email} (mail not configured" in caplog.text
    statuses = set(db.session.scalars(select(Notification.status)))
    assert statuses == {"logged"}


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("QMS_MAIL_PORT", "smtp"),
        ("QMS_MAIL_PORT", "70000"),
        ("QMS_TIMEZONE", "Mars/Olympus"),
        ("QMS_DIGEST_HOUR", "24"),
    ],
)
def test_bad_settings_stop_the_app_naming_the_variable(tmp_path, monkeypatch, variable, value):
    from qms import create_app

    monkeypatch.setenv("QMS_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=variable):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite3'}"})


def test_audit_trail_checkpoints_are_mailed_when_an_address_is_set(smtp_app, org, inbox, tmp_path):
    from qms.services.audit_checks import checkpoint

    smtp_app.config["QMS_AUDIT_CHECKPOINT_DIR"] = str(tmp_path / "checkpoints")
    assert checkpoint("test")["mailed_to"] == ""  # no address: file and log only
    assert inbox.messages == []
    smtp_app.config["QMS_AUDIT_CHECKPOINT_EMAIL"] = "records@example.test"
    written = checkpoint("test")
    assert written["mailed_to"] == "records@example.test"
    (message,) = inbox.to("records@example.test")
    assert f"Audit-trail checkpoint: entry {written['seq']}" in message["Subject"]
    assert written["mac"] in message.get_body(("plain",)).get_content()
