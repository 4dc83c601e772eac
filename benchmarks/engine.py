"""Engine benchmark: what the workflow service costs over the bare database work.

Runs on SQLite (a temporary file) and, when QMS_TEST_DATABASE_URL is set, on
PostgreSQL too.  Prints its figures and, as its last line,
``fire_ratio=<x> available_ratio=<y>`` for the last database measured
(PostgreSQL when it ran, as in production).

- fire_ratio: events persisted per second through ``qms.services.fire`` (engine
  checks, row lock, state, history row, hash-chained audit entry, commit) ÷
  the same three writes done with SQLAlchemy Core (update state, insert history,
  insert audit entry; one transaction each), measured in the same run.
  Goal ≥ 0.5.
- available_ratio: time to load 10,000 records and compute the available
  events of each for one user ÷ time to only load them.  Goal ≤ 1.5.

Usage: python benchmarks/engine.py [--events N] [--records N] [--rounds N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qms import create_app  # noqa: E402
from qms.database import begin_write, db, utcnow  # noqa: E402
from qms.models import AuditEntry, Nonconformity, TransitionHistory, User  # noqa: E402
from qms.services import available_events_many, fire  # noqa: E402
from qms.services.audit_trail import canonical_json, ensure_head  # noqa: E402
from qms.services.users import create_user  # noqa: E402

STATES = ["reported", "triaged", "contained", "root_cause_identified", "action_planned", "closed"]


def _insert_ncs(count: int, raiser_id: int, start: int, states: list[str] | None = None) -> list[int]:
    """Bulk-insert NCs (no service path: this is set-up, not what is measured)."""
    today = dt.date.today()
    now = utcnow()
    rows = [
        {
            "reference": f"BENCH-{start + i:07d}",
            "title": f"Benchmark NC {start + i}",
            "description": "Created by benchmarks/engine.py",
            "source": "process_monitoring",
            "severity": "minor",
            "process": "Production",
            "clause_refs": ["8.7"],
            "detected_on": today,
            "raised_by_id": raiser_id,
            "state": (states or ["reported"])[i % len(states or ["reported"])],
            "lifecycle_version": 1,
            "version": 1,
            "created_at": now,
            "updated_at": now,
            "containment": "",
            "correction": "",
            "root_cause": "",
            "root_cause_whys": [],
            "root_cause_fishbone": {},
            "effectiveness_evidence": "",
            "closure_note": "",
            "rejection_reason": "",
        }
        for i in range(count)
    ]
    begin_write(db.session)
    db.session.execute(sa.insert(Nonconformity), rows)
    db.session.commit()
    return list(
        db.session.scalars(
            sa.select(Nonconformity.id)
            .where(Nonconformity.reference.in_([r["reference"] for r in rows]))
            .order_by(Nonconformity.id)
        )
    )


def bench_fire_service(ids: list[int], user: User) -> float:
    """Like a request per event: load the record, fire (timed), forget the session's objects."""
    actor = user.as_actor()
    db.session.expunge_all()
    elapsed = 0.0
    for nc_id in ids:
        nc = db.session.get(Nonconformity, nc_id)
        start = time.perf_counter()
        fire(nc, "triage", actor, {"severity": "minor"})
        elapsed += time.perf_counter() - start
        db.session.expunge_all()
    return len(ids) / elapsed


def bench_fire_core(ids: list[int], user: User, first_seq: int) -> float:
    """The same writes with SQLAlchemy Core, one transaction per event."""
    engine = db.engine
    nc_table, history, audit = Nonconformity.__table__, TransitionHistory.__table__, AuditEntry.__table__
    seq = first_seq
    start = time.perf_counter()
    for nc_id in ids:
        seq += 1
        now = utcnow()
        with engine.begin() as conn:
            conn.execute(
                sa.update(nc_table)
                .where(nc_table.c.id == nc_id, nc_table.c.version == 1)
                .values(state="triaged", severity="minor", version=2, updated_at=now)
            )
            conn.execute(
                sa.insert(history).values(
                    lifecycle="nonconformity",
                    lifecycle_version=1,
                    record_id=nc_id,
                    event="triage",
                    from_state="reported",
                    to_state="triaged",
                    actor_id=user.id,
                    actor_name=user.name,
                    at=now,
                    comment="",
                    data={"severity": "minor"},
                )
            )
            conn.execute(
                sa.insert(audit).values(
                    seq=seq,
                    at=now,
                    actor_id=user.id,
                    actor_name=user.name,
                    action="transition",
                    record_type="nonconformities",
                    record_id=str(nc_id),
                    event="triage",
                    fields="state",
                    old_value=canonical_json({"state": "reported"}),
                    new_value=canonical_json({"state": "triaged"}),
                    reason="",
                    prev_hash="0" * 64,
                    hash="0" * 64,
                )
            )
    elapsed = time.perf_counter() - start
    return len(ids) / elapsed


def bench_concurrent_writers(app, ids: list[int], user_id: int, writers: int) -> float:
    """Events per second with ``writers`` threads firing on distinct records at once.

    Every append to the audit trail locks the chain head, so writers take turns there: this
    shows what that serialisation costs compared with one writer.
    """
    import threading

    chunks = [ids[i::writers] for i in range(writers)]
    barrier = threading.Barrier(writers + 1)
    errors: list[BaseException] = []

    def work(chunk: list[int]) -> None:
        with app.app_context():
            actor = db.session.get(User, user_id).as_actor()
            barrier.wait()
            try:
                for nc_id in chunk:
                    fire(db.session.get(Nonconformity, nc_id), "triage", actor, {"severity": "minor"})
                    db.session.expunge_all()
            except BaseException as exc:
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return len(ids) / elapsed


def _load_all(ids_range: tuple[int, int]) -> list[Nonconformity]:
    db.session.expunge_all()
    lo, hi = ids_range
    return list(db.session.scalars(sa.select(Nonconformity).where(Nonconformity.id.between(lo, hi))))


def bench_available(ids: list[int], user: User, rounds: int) -> tuple[float, float]:
    actor = user.as_actor()
    span = (min(ids), max(ids))
    load_times, available_times = [], []
    for _ in range(rounds):
        db.session.rollback()
        t0 = time.perf_counter()
        _load_all(span)
        load_times.append(time.perf_counter() - t0)
        db.session.rollback()
        t0 = time.perf_counter()
        records = _load_all(span)
        available = available_events_many(records, actor)
        available_times.append(time.perf_counter() - t0)
        assert len(available) == len(ids)
    return statistics.median(load_times), statistics.median(available_times)


def run(url: str, label: str, events: int, records: int, rounds: int) -> tuple[float, float]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.drop_all()
        db.create_all()
        ensure_head(db.session)
        user = create_user("bench@example.test", "Bench Officer", "benchmark-password", {"quality_officer"})
        service_rates, core_rates = [], []
        next_ref = 0
        for _ in range(rounds):
            service_ids = _insert_ncs(events, user.id, next_ref)
            next_ref += events
            core_ids = _insert_ncs(events, user.id, next_ref)
            next_ref += events
            service_rates.append(bench_fire_service(service_ids, user))
            first_seq = db.session.scalar(sa.select(sa.func.max(AuditEntry.seq))) or 0
            db.session.rollback()  # end the read: Core writes on other connections next
            core_rates.append(bench_fire_core(core_ids, user, first_seq + 1_000_000))
        service, core = statistics.median(service_rates), statistics.median(core_rates)
        fire_ratio = service / core
        print(f"[{label}] fire: service {service:,.0f} events/s, Core {core:,.0f} events/s  -> ratio {fire_ratio:.2f}")

        db.session.rollback()
        single = bench_concurrent_writers(app, _insert_ncs(events, user.id, next_ref), user.id, 1)
        next_ref += events
        four = bench_concurrent_writers(app, _insert_ncs(events, user.id, next_ref), user.id, 4)
        next_ref += events
        print(f"[{label}] chain-head lock: 1 writer {single:,.0f} events/s, 4 concurrent writers {four:,.0f} events/s")

        ids = _insert_ncs(records, user.id, next_ref, STATES)
        load, available = bench_available(ids, user, rounds)
        available_ratio = available / load
        print(
            f"[{label}] available events for {records:,} records: load {load * 1000:.0f} ms, "
            f"load + available {available * 1000:.0f} ms -> ratio {available_ratio:.2f}"
        )
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
    return fire_ratio, available_ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=500, help="events fired per round and per method")
    parser.add_argument("--records", type=int, default=10_000, help="records for the available-events test")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("QMS_INSTANCE_PATH", tmp)
        results.append(run(f"sqlite:///{tmp}/bench.sqlite3", "sqlite", args.events, args.records, args.rounds))
    pg_url = os.environ.get("QMS_TEST_DATABASE_URL")
    if pg_url:
        results.append(run(pg_url, "postgresql", args.events, args.records, args.rounds))
    fire_ratio, available_ratio = results[-1]
    print(f"fire_ratio={fire_ratio:.2f} available_ratio={available_ratio:.2f}")


if __name__ == "__main__":
    main()
