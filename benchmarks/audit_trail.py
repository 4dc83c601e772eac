"""Audit-trail verification benchmark: `qms audit-trail verify` on the large dataset, time and peak memory.

1. Uses the PostgreSQL database ``qms_bench_large`` on 127.0.0.1 (``--database-url`` or
   QMS_BENCH_DATABASE_URL to point elsewhere), created and seeded with ``qms seed-demo --scale
   large`` when it does not exist, exactly as ``benchmarks/load.py`` does (that takes minutes).
   It is never dropped.
2. Counts what there is to prove: audit entries, audited rows of the largest tables, records.
3. Runs ``qms audit-trail verify`` under ``/usr/bin/time -v`` ``--repeat`` times and prints, per
   run, the wall-clock time, CPU time and the process's peak resident memory (the verifying
   process only: PostgreSQL's own memory is not in it), then the verdict line.

``--checkout DIR`` runs another checkout's code against the same database (e.g. ``/work/main``
before a change), for a before/after comparison in the same conditions.

It prints figures and asserts nothing (exit status 0 unless the run itself failed). The figures
depend on the machine and its load.

Usage: python benchmarks/audit_trail.py [--repeat 1] [--checkout DIR] [--database-url URL]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import DEFAULT_INSTANCE, DEFAULT_URL, ensure_database

BIN = Path(sys.executable).parent
TIME = "/usr/bin/time"
#: the tables whose sizes are printed (the largest of the large dataset)
COUNTED = ("audit_entries", "transition_history", "nonconformities", "corrective_actions", "documents", "users")


def counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {table: conn.scalar(sa.text(f"SELECT count(*) FROM {table}")) for table in COUNTED}
    finally:
        engine.dispose()


def measured_verify(env: dict[str, str]) -> dict[str, str | float]:
    """One ``qms audit-trail verify`` under ``/usr/bin/time -v``: its figures and its verdict line."""
    started = time.perf_counter()
    done = subprocess.run(
        [TIME, "-v", str(BIN / "qms"), "audit-trail", "verify"], env=env, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    report = done.stderr

    def figure(label: str) -> float:
        found = re.search(rf"^\s*{re.escape(label)}: (.+)$", report, re.MULTILINE)
        return float(found.group(1)) if found else float("nan")

    verdict = [line for line in (done.stdout + done.stderr).splitlines() if line.startswith("Audit trail")]
    return {
        "exit": done.returncode,
        "wall_s": wall,
        "user_s": figure("User time (seconds)"),
        "system_s": figure("System time (seconds)"),
        "peak_mb": figure("Maximum resident set size (kbytes)") / 1024,
        "verdict": verdict[0] if verdict else report[-2000:],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("QMS_BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--instance-path", default=os.environ.get("QMS_BENCH_INSTANCE_PATH", DEFAULT_INSTANCE))
    parser.add_argument("--repeat", type=int, default=1, help="verify runs (each takes the whole trail)")
    parser.add_argument("--checkout", help="run this checkout's qms code instead (a before/after comparison)")
    parser.add_argument("--no-init", action="store_true", help="the database exists and is current: skip `qms init`")
    args = parser.parse_args()
    if not Path(TIME).exists():
        sys.exit(f"{TIME} is needed to measure peak memory (Debian: apt-get install time)")

    url = make_url(args.database_url)
    if not url.drivername.startswith("postgresql"):
        sys.exit("--database-url must be a PostgreSQL database (the production setup)")
    plain_url = url.render_as_string(hide_password=False)
    env = os.environ | {"QMS_DATABASE_URL": plain_url, "QMS_INSTANCE_PATH": args.instance_path, "QMS_ENV": "production"}
    Path(args.instance_path).mkdir(parents=True, exist_ok=True)
    if not args.no_init:
        ensure_database(url, env, 1.0)
    if args.checkout:
        env["PYTHONPATH"] = str(Path(args.checkout).resolve())

    sizes = counts(plain_url)
    print(f"database {url.database}: " + ", ".join(f"{table} {count:,}" for table, count in sizes.items()))
    print(f"code: {args.checkout or 'this checkout'}; load average {os.getloadavg()[0]:.1f} at start")
    print(f"{'run':>3}  {'wall s':>7}  {'user s':>7}  {'sys s':>6}  {'peak MB':>8}  {'entries/s':>10}")
    for run in range(1, args.repeat + 1):
        figures = measured_verify(env)
        rate = sizes["audit_entries"] / figures["wall_s"] if figures["wall_s"] else 0
        print(
            f"{run:>3}  {figures['wall_s']:>7.1f}  {figures['user_s']:>7.1f}  {figures['system_s']:>6.1f}  "
            f"{figures['peak_mb']:>8.0f}  {rate:>10,.0f}"
        )
        print(f"     exit {figures['exit']}: {figures['verdict']}")


if __name__ == "__main__":
    main()
