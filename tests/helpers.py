"""Builders for records in a given stage, through the real services."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from qms.database import db
from qms.models import Nonconformity
from qms.services import fire
from qms.services.nonconformities import add_corrective_action, raise_nonconformity

from .conftest import PASSWORD, PG_URL


@contextlib.contextmanager
def empty_database(kind: str, folder: Path, label: str, *, template: str | None = None) -> Iterator[str]:
    """The URL of a new, empty database: a SQLite file in ``folder``, or a PostgreSQL database of
    its own on the test server (named after ``label`` and the xdist worker), dropped afterwards.

    ``template`` (PostgreSQL): the name of a database to copy instead (``CREATE DATABASE … TEMPLATE``,
    made from its files while nothing is connected to it; independent of it afterwards)."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / f'{label}.sqlite3'}"
        return
    base = make_url(PG_URL)
    name = f"qmsflow_{label}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def new_nc(org, **overrides) -> Nonconformity:
    fields = {
        "title": "Calibration overdue on gauge G-7",
        "description": "Gauge G-7 was used 12 days after its calibration due date.",
        "source": "internal_audit",
        "process": "Production",
        "clause_refs": ["7.1.5.2"],
    }
    fields.update(overrides)
    return raise_nonconformity(org.auditor, **fields)


def nc_in_state(org, state: str) -> Nonconformity:
    """An NC walked through the lifecycle up to ``state`` (a happy-path state)."""
    nc = new_nc(org)
    steps = [
        ("triaged", lambda: fire(nc, "triage", org.quality, {"severity": "major"})),
        ("contained", lambda: fire(nc, "contain", org.owner, {"containment": "Quarantined all parts."})),
        (
            "root_cause_identified",
            lambda: fire(
                nc,
                "analyse_root_cause",
                org.quality,
                {"method": "five_whys", "root_cause": "No recall reminder", "whys": ["a", "b"]},
            ),
        ),
        ("action_planned", lambda: _plan(org, nc)),
        ("actions_completed", lambda: _complete(org, nc)),
        (
            "effectiveness_verified",
            lambda: fire(
                nc,
                "verify_effectiveness",
                org.manager,
                {"evidence": "No recurrence"},
                signature_password=PASSWORD,
                today=CHECK_DAY,
            ),
        ),
        # segregation of duties: the manager verified effectiveness, a quality officer approves the closure
        ("closed", lambda: fire(nc, "close", org.quality, signature_password=PASSWORD)),
    ]
    for name, step in steps:
        if nc.state == state:
            break
        step()
        assert nc.state == name
    assert nc.state == state
    return nc


#: the effectiveness check comes after a waiting period; tests fire it "on" that later day
CHECK_DAY = dt.date.today() + dt.timedelta(days=30)


def _plan(org, nc):
    add_corrective_action(nc, org.quality, title="Add recall reminders", owner_id=org.owner.id, due_date=_in(10))
    return fire(nc, "plan_actions", org.quality, {"verification_due": CHECK_DAY.isoformat()})


def _complete(org, nc):
    action = nc.actions[0]
    fire(action, "start", org.owner)
    fire(action, "implement", org.owner, {"implementation": "Reminders configured"})
    fire(action, "verify", org.quality2, {"verification": "Checked"}, signature_password=PASSWORD)
    return fire(nc, "complete_actions", org.quality)


def restricted_document(org, **extra: Any):
    """A restricted HR record owned by the manager (a quality officer, auditor or owner may not see it)."""
    from qms.services.documents import create_document

    return create_document(
        org.manager,
        title="Salary bands 2027",
        doc_type="record",
        owner_id=org.manager.id,
        process="HR",
        confidentiality="restricted",
        **extra,
    )


def _in(days: int) -> dt.date:
    return dt.date.today() + dt.timedelta(days=days)


def new_process(org, *, code: str = "PROD", owner=None, clauses=("7.1", "8.5", "9.2"), risk: str = "medium"):
    from qms.services.audits import save_process

    return save_process(
        org.quality,
        name={"PROD": "Production"}.get(code, f"Process {code}"),
        code=code,
        owner_id=(owner or org.owner).id,
        risk=risk,
        clause_numbers=list(clauses),
    )


def audit_in_state(org, state: str, *, process=None, clauses=("8.5",), lead=None):
    """An audit of ``process`` (Production by default) walked up to ``state`` along the happy path."""
    from qms.services.audits import answer, assign_team, create_audit

    process = process or new_process(org)
    audit = create_audit(
        org.quality,
        title="Production audit",
        process_id=process.id,
        clause_numbers=list(clauses),
        planned_start=PLAN_DAY,
        planned_end=PLAN_DAY,
    )
    steps = [
        (
            "scheduled",
            lambda: (
                assign_team(audit, org.quality, lead_auditor_id=(lead or org.auditor).id),
                fire(audit, "schedule", org.quality, {"planned_start": PLAN_DAY, "planned_end": PLAN_DAY}),
            ),
        ),
        ("prepared", lambda: fire(audit, "prepare", lead or org.auditor)),
        ("in_progress", lambda: fire(audit, "start", lead or org.auditor)),
        (
            "report_drafted",
            lambda: (
                [answer(item, lead or org.auditor, result="conforming") for item in audit.items],
                fire(
                    audit,
                    "draft_report",
                    lead or org.auditor,
                    {"summary": "The process conforms."},
                    signature_password=PASSWORD,
                ),
            ),
        ),
        ("report_approved", lambda: fire(audit, "approve_report", org.manager, signature_password=PASSWORD)),
        ("follow_up", lambda: fire(audit, "start_follow_up", org.quality)),
        ("closed", lambda: fire(audit, "close", org.quality)),
    ]
    for name, step in steps:
        if audit.state == state:
            break
        step()
        assert audit.state == name
    assert audit.state == state
    return audit


PLAN_DAY = dt.date(2026, 3, 16)


# --- the REST API, spoken by the organisation's people ------------------------------------------------

#: the people of ``conftest.Org`` that get an API token in the ``tokens`` fixture
ORG_PEOPLE = ("admin", "manager", "quality", "quality2", "auditor", "owner", "viewer")


class ApiClient:
    """The test client, speaking as one of the organisation's people (by their token)."""

    def __init__(self, client: Any, tokens: dict[str, str], emails: dict[str, str] | None = None) -> None:
        self.client = client
        self.tokens = tokens
        self.emails = emails or {}

    def request(self, who: str | None, method: str, url: str, *, headers: dict[str, str] | None = None, **kw: Any):
        """A request as ``who``; a body that signs with a password and no e-mail address gets the
        signer's address (every API signature needs both; send ``signature_email`` to test it)."""
        body = kw.get("json")
        signs = isinstance(body, dict) and "signature_password" in body and "signature_email" not in body
        if signs and who in self.emails:
            kw["json"] = {**body, "signature_email": self.emails[who]}
        headers = dict(headers or {})
        if who is not None:
            headers["Authorization"] = f"Bearer {self.tokens.get(who, who)}"
        return self.client.open(url, method=method, headers=headers, **kw)

    def get(self, who: str | None, url: str, **kw: Any):
        return self.request(who, "GET", url, **kw)

    def post(self, who: str | None, url: str, **kw: Any):
        return self.request(who, "POST", url, **kw)

    def delete(self, who: str | None, url: str, **kw: Any):
        return self.request(who, "DELETE", url, **kw)

    def patch(self, who: str | None, url: str, **kw: Any):
        return self.request(who, "PATCH", url, **kw)

    def fire(self, who: str, url: str, event_name: str, *, headers: dict[str, str] | None = None, **body: Any):
        return self.post(who, f"{url}/events/{event_name}", json=body, headers=headers)


def ok(response, status: int = 200) -> Any:
    """The JSON of an answer that must have ``status``."""
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def error(response, status: int) -> dict[str, Any]:
    """The API's error body of an answer that must have ``status``, checked against the error contract."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"code", "status", "message", "errors"}
    assert body["code"] == status and isinstance(body["errors"], dict) and body["message"]
    return body


#: a multipart/form-data body whose first part has no name (werkzeug gives it the key None), then a file
UNNAMED_PART_BODY = (
    b"--X\r\nContent-Disposition: form-data\r\n\r\nabc\r\n"
    b'--X\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\nContent-Type: text/csv\r\n\r\n'
    b"date,value\r\n--X--\r\n"
)
UNNAMED_PART_TYPE = "multipart/form-data; boundary=X"


def row_count(model) -> int:
    """Rows of ``model`` in the database now (not what the session remembers)."""
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def user_with_password(email: str, name: str, password: str, roles: set[str]):
    """An account with a password the strength check would refuse (an account from before the check,
    or the demo's): created the way the demo seeding does, skipping the check on purpose."""
    from qms.services.users import create_user

    return create_user(email, name, password, roles, check_strength=False)
