"""The production server killed with SIGKILL in the middle of a burst of writes loses nothing it acknowledged.

A new PostgreSQL database is prepared with ``qms init`` and a few NCs; ``qms serve``
(gunicorn, 2 workers) runs in a process group of its own; client threads drive the NCs
through their lifecycle over the REST API, plan corrective actions and add progress notes,
recording every answer 200/201.  After a random moment the whole group is killed
(``kill -9``).  Then, straight on the database: every acknowledged change is there, every
record's state is where its history leads and its version counts its changes, no history row
lacks its state change or its audit entry, and the audit trail verifies.  The server is then
started again and accepts events.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from qms import create_app
from qms.cli import init_database
from qms.database import db
from qms.services.audit_trail import verify
from qms.services.nonconformities import raise_nonconformity
from qms.services.tokens import create_token
from qms.services.users import create_user
from workflows import get_lifecycle

from ..conftest import PASSWORD, PG_URL
from ..helpers import empty_database

pytestmark = [
    pytest.mark.postgresql,
    pytest.mark.real_commits,
    pytest.mark.skipif(not PG_URL, reason="QMS_TEST_DATABASE_URL is not set"),
]

NCS_PER_CLIENT = 6
CLIENTS = 4
QMS = Path(sys.executable).with_name("qms")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def _server(url: str, instance: Path) -> Iterator[str]:
    """`qms serve` with 2 workers in its own process group; yields its base URL once it answers."""
    port = _free_port()
    env = {
        **os.environ,
        "QMS_DATABASE_URL": url,
        "QMS_INSTANCE_PATH": str(instance),
        "QMS_SECRET_KEY": "fault-test-secret-key",
    }
    log = open(instance / f"server-{port}.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [str(QMS), "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: killpg reaches gunicorn's workers too
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{base}/login", timeout=10).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail("the server did not start:\n" + (instance / f"server-{port}.log").read_text()[-3000:])
            time.sleep(0.2)
        yield base, process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        log.close()


class _ServerGone(Exception):
    pass


@dataclass
class Seen:
    """What the clients were told was committed."""

    events: list[tuple[str, int, str, str]] = field(default_factory=list)  # lifecycle, id, event, state
    actions: list[int] = field(default_factory=list)
    notes: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _drive(base: str, tokens: dict[str, str], nc_ids: list[int], seen: Seen, stop: threading.Event) -> None:
    """Walk each NC from new to an action in progress with notes, recording each acknowledged write."""
    session = requests.Session()
    due = (dt.date.today() + dt.timedelta(days=20)).isoformat()

    def post(who: str, path: str, body: dict) -> dict | None:
        if stop.is_set():
            raise _ServerGone
        try:
            answer = session.post(
                f"{base}/api/v1{path}", json=body, headers={"Authorization": f"Bearer {tokens[who]}"}, timeout=10
            )
        except requests.RequestException:
            raise _ServerGone from None  # the server is gone: nothing more is acknowledged
        if answer.status_code not in (200, 201):
            with seen.lock:
                seen.errors.append(f"POST {path} answered {answer.status_code}: {answer.text[:300]}")
            raise _ServerGone
        return answer.json()

    def fire(who: str, lifecycle: str, collection: str, record_id: int, event: str, data: dict) -> None:
        record = post(who, f"/{collection}/{record_id}/events/{event}", {"data": data})
        with seen.lock:
            seen.events.append((lifecycle, record_id, event, record["state"]))

    try:
        for nc_id in nc_ids:
            fire("quality", "nonconformity", "nonconformities", nc_id, "triage", {"severity": "major"})
            fire("owner", "nonconformity", "nonconformities", nc_id, "contain", {"containment": "Quarantined."})
            fire(
                "quality",
                "nonconformity",
                "nonconformities",
                nc_id,
                "analyse_root_cause",
                {"method": "five_whys", "root_cause": "No reminder", "whys": ["a", "b"]},
            )
            action = post(
                "quality",
                f"/nonconformities/{nc_id}/corrective-actions",
                {"title": "Add reminders", "owner_id": tokens["owner_id"], "due_date": due},
            )
            with seen.lock:
                seen.actions.append(action["id"])
            fire("quality", "nonconformity", "nonconformities", nc_id, "plan_actions", {"verification_due": due})
            fire("owner", "corrective_action", "corrective-actions", action["id"], "start", {})
            for n in range(3):
                note = post("owner", f"/corrective-actions/{action['id']}/notes", {"text": f"Progress {n}"})
                with seen.lock:
                    seen.notes.append(note["id"])
    except _ServerGone:
        return


def _check_database(url: str, seen: Seen, baseline: dict[str, int]) -> dict[str, int]:
    """Everything acknowledged is there and nothing is half-applied; returns what was counted."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            history = conn.execute(
                sa.text("SELECT lifecycle, record_id, event, from_state, to_state FROM transition_history ORDER BY id")
            ).all()
            by_record: dict[tuple[str, int], list] = {}
            for row in history:
                by_record.setdefault((row.lifecycle, row.record_id), []).append(row)
            for lifecycle, record_id, event, state in seen.events:
                assert any(r.event == event and r.to_state == state for r in by_record.get((lifecycle, record_id), []))
            records = {
                ("nonconformity", "nonconformities"): conn.execute(
                    sa.text("SELECT id, state, version FROM nonconformities")
                ).all(),
                ("corrective_action", "corrective_actions"): conn.execute(
                    sa.text("SELECT id, state, version FROM corrective_actions")
                ).all(),
            }
            transitions = {
                (r.record_type, r.record_id): r.n
                for r in conn.execute(
                    sa.text(
                        "SELECT record_type, record_id, count(*) AS n FROM audit_entries "
                        "WHERE action = 'transition' GROUP BY record_type, record_id"
                    )
                )
            }
            for (lifecycle, table), rows in records.items():
                for record_id, state, version in rows:
                    steps = by_record.get((lifecycle, record_id), [])
                    # the history is one unbroken path that ends in the record's state
                    for before, after in itertools.pairwise(steps):
                        assert after.from_state == before.to_state, (lifecycle, record_id)
                    assert state == (steps[-1].to_state if steps else baseline[f"{lifecycle}_state"])
                    assert version - len(steps) == baseline[f"{lifecycle}_offset"], (lifecycle, record_id)
                    # one audit entry per state change, written in the same transaction
                    assert transitions.get((table, str(record_id)), 0) == len(steps), (lifecycle, record_id)
            actions = {row[0] for row in records[("corrective_action", "corrective_actions")]}
            assert set(seen.actions) <= actions
            notes = set(conn.execute(sa.text("SELECT id FROM progress_notes")).scalars())
            assert set(seen.notes) <= notes
            return {"history": len(history), "actions": len(actions), "notes": len(notes)}
    finally:
        engine.dispose()


def test_kill_9_during_a_burst_loses_no_acknowledged_write(tmp_path, monkeypatch):
    monkeypatch.setenv("QMS_INSTANCE_PATH", str(tmp_path))
    with empty_database("postgresql", tmp_path, "faults") as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            init_database()
            quality = create_user("quality@example.test", "Quality", PASSWORD, {"quality_officer"})
            owner = create_user("owner@example.test", "Owner", PASSWORD, {"process_owner"})
            auditor = create_user("auditor@example.test", "Auditor", PASSWORD, {"internal_auditor"})
            tokens = {
                "quality": create_token(quality, "burst")[1],
                "owner": create_token(owner, "burst")[1],
                "owner_id": owner.id,
            }
            ncs = [
                raise_nonconformity(
                    auditor,
                    title=f"Gauge G-{n} used after its calibration date",
                    description="Found during the burst test.",
                    source="internal_audit",
                    process="Production",
                    clause_refs=["7.1.5.2"],
                ).id
                for n in range(NCS_PER_CLIENT * CLIENTS + 1)
            ]
            db.session.remove()
            db.engine.dispose()
        # before any event a record is in its lifecycle's first state at version 1; each change adds one
        baseline = {
            "nonconformity_state": get_lifecycle("nonconformity").initial,
            "corrective_action_state": get_lifecycle("corrective_action").initial,
            "nonconformity_offset": 1,
            "corrective_action_offset": 1,
        }
        spare = ncs.pop()

        seen = Seen()
        stop = threading.Event()
        with _server(url, tmp_path) as (base, process):
            clients = [
                threading.Thread(
                    target=_drive, args=(base, tokens, ncs[i::CLIENTS], seen, stop), name=f"client-{i}", daemon=True
                )
                for i in range(CLIENTS)
            ]
            for client in clients:
                client.start()
            # kill once some writes have been acknowledged, at a random moment of the burst
            deadline = time.monotonic() + 20
            target = random.randint(16, 60)  # noqa: S311 - a test's timing, not a secret
            while len(seen.events) < target and time.monotonic() < deadline and any(c.is_alive() for c in clients):
                time.sleep(0.01)
            time.sleep(random.uniform(0, 0.3))  # noqa: S311
            assert any(c.is_alive() for c in clients), "the burst ended before the kill"
            os.killpg(process.pid, signal.SIGKILL)  # the group: gunicorn's master and workers
            stop.set()
            for client in clients:
                client.join(timeout=15)
            assert not any(c.is_alive() for c in clients)
        assert seen.errors == []
        assert seen.events, "nothing was acknowledged before the kill"

        counted = _check_database(url, seen, baseline)
        print(f"killed after {len(seen.events)} acknowledged events; the database holds {counted}")
        assert counted["history"] >= len(seen.events)
        with app.app_context():
            result = verify(db.session)
            assert result.ok, result.problem
            db.session.remove()
            db.engine.dispose()

        # the server starts again on the same database and accepts events
        with _server(url, tmp_path) as (base, process):
            headers = {"Authorization": f"Bearer {tokens['quality']}"}
            answer = requests.post(
                f"{base}/api/v1/nonconformities/{spare}/events/triage",
                json={"data": {"severity": "minor"}},
                headers=headers,
                timeout=10,
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["state"] == "triaged"
            listed = requests.get(f"{base}/api/v1/nonconformities", headers=headers, timeout=10)
            assert listed.status_code == 200
        seen.events.append(("nonconformity", spare, "triage", "triaged"))
        _check_database(url, seen, baseline)
