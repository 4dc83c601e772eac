"""The cost of one NC transition in-process: the write path the dashboard's running counts ride on.

Fires ``triage`` (reported → triaged, severity set: the counts of severity and graded age change)
on ``--count`` reported NCs of ``--database`` through the services, one after another, each its
own transaction with its audit-trail entries, and prints the median and p95 in milliseconds with
the load average. It WRITES: use a copy of a benchmark database, never a shared one. Run it once
with the code before a change and once after (different NCs each time: ``--skip``) to compare.

The code measured is the one on the path (PYTHONPATH=<worktree>).

Usage: QMS_INSTANCE_PATH=... python benchmarks/transition_cost.py --database URL [--count 40] [--skip 0]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--skip", type=int, default=0, help="reported NCs to pass over (taken by an earlier run)")
    args = parser.parse_args()
    os.environ["QMS_DATABASE_URL"] = args.database
    os.environ.setdefault("QMS_ENV", "production")

    from sqlalchemy import select

    from qms import create_app
    from qms.database import db
    from qms.models import Nonconformity, User
    from qms.services import fire

    app = create_app()
    with app.app_context():
        quality = db.session.scalar(select(User).where(User.email == "quality@example.com"))
        ids = db.session.scalars(
            select(Nonconformity.id)
            .where(Nonconformity.state == "reported")
            .order_by(Nonconformity.id)
            .offset(args.skip)
            .limit(args.count + 3)
        ).all()
        times = []
        load = os.getloadavg()[0]
        for i, nc_id in enumerate(ids):
            db.session.remove()
            nc = db.session.get(Nonconformity, nc_id)
            started = time.perf_counter()
            fire(nc, "triage", quality, {"severity": "minor"})
            if i >= 3:  # three warm-up transitions
                times.append((time.perf_counter() - started) * 1000)
        times.sort()
        name = args.database.rsplit("/", 1)[-1]
        print(
            f"{name}: {len(times)} triage transitions, median {statistics.median(times):.1f} ms,"
            f" p95 {times[int(len(times) * 0.95) - 1]:.1f} ms (load average {load:.2f} → {os.getloadavg()[0]:.2f})"
        )


if __name__ == "__main__":
    main()
