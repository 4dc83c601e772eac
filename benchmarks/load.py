"""Load benchmark: the production server under a mixed workload of 20 users (``make bench-load``).

1. Uses the PostgreSQL database ``qms_bench_large`` on 127.0.0.1 (``--database-url`` or
   QMS_BENCH_DATABASE_URL to point elsewhere). When it does not exist it is created and seeded
   with ``qms seed-demo --scale large`` (that takes minutes). ``qms init`` then brings its schema
   to the current migration (indexes included).
2. Starts ``qms serve`` (gunicorn, 2 workers) on a free port against it, waits for /health and
   runs the workload for a warm-up (``--warmup``, 15 s, not counted: first requests compile
   templates, load the standards and count the dashboard).
3. Picks the records to visit from the data (NCs, documents, audits, and the reported NCs on which
   ``triage`` is valid), creates an API token with ``qms create-token``, and runs locust headless
   (``benchmarks/locustfile.py``): sign-in through the login form, list pages with filters and
   pages, record pages, dashboard, API lists, events fired through the API, and /health.
4. Prints per request type: count, failures, p50/p95/p99 (ms), requests/s and the p95 as a
   multiple of /health's (the bare endpoint reading one row, served the same way in the same
   run), with the issue's targets and PASS/MISS; then stops the server.
5. Prints the floors of the NC requests: the SQL nearest to each (the register's filtered SELECT
   with its ORDER BY/OFFSET/LIMIT, the record's SELECT by id, the dashboard's reads: its running
   counts and one row of stored panels, ``DASHBOARD_FLOOR``, as in ``benchmarks/scale.py``) timed
   with psycopg straight to PostgreSQL, and /health through the same server; the request's p50
   and p95 as a multiple of each.

It prints figures and asserts nothing (exit status 0 unless the run itself failed). The numbers
depend on the machine: on a shared 2-core machine, locust, both workers and PostgreSQL compete
for the same cores.

Usage: python benchmarks/load.py [--duration 120] [--warmup 15] [--users 20] [--workers 2] [--database-url URL]
"""

from __future__ import annotations

import argparse
import base64
import csv
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/qms_bench_large"
DEFAULT_INSTANCE = "/tmp/qms_bench_large"  # noqa: S108  (the seeder's instance folder: secret key, files)
DEMO_PASSWORD = "demo-password"  # noqa: S105  (the demo users' published password)
USERS = {
    "manager": "manager@example.com",
    "quality": "quality@example.com",
    "auditor": "auditor@example.com",
    "viewer": "viewer@example.com",
}

#: NCs set aside for the warm-up's events
WARMUP_EVENTS = 400

#: request-name prefix → (p95 target in ms, what the issue asks)
TARGETS = {
    "list:": 100,
    "record:": 100,
    "api:": 100,
    "dashboard": 300,
    "event:": 100,
}


#: the dashboard's floor (here and in benchmarks/scale.py): what the page reads, not what it once counted.
#: It sums the running counts (a few hundred rows at any size) and reads one row of stored panels
#: (``dashboard_panels``, rendered by the beat; the managers' and quality officers' variant of the day).
DASHBOARD_FLOOR = (
    "(SELECT figure, key, count, NULL::text AS body FROM dashboard_counts ORDER BY figure, key)"
    " UNION ALL (SELECT variant, '', 0, body FROM dashboard_panels WHERE variant = 'managers:' || current_date)"
)


def log(message: str) -> None:
    print(f"[load] {message}", flush=True)


def ensure_database(url: URL, env: dict[str, str], factor: float) -> None:
    """Create and seed the database when it does not exist; bring its schema up to date either way."""
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database})
            if not exists:
                log(f"creating database {url.database}")
                conn.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
    finally:
        admin.dispose()
    qms(["init"], env)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            users = conn.scalar(sa.text("SELECT count(*) FROM users"))
    finally:
        engine.dispose()
    if not users:
        log("seeding the large dataset with `qms seed-demo --scale large`: this takes minutes…")
        started = time.perf_counter()
        qms(["seed-demo", "--scale", "large", "--factor", str(factor)], env)
        log(f"seeded in {time.perf_counter() - started:.0f} s")


def qms(args: list[str], env: dict[str, str]) -> str:
    """Run the ``qms`` command line against the benchmark database; its output, or exit on failure."""
    result = subprocess.run([str(BIN / "qms"), *args], env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"qms {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_health(base: str, server: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"the server exited ({server.returncode}) before answering /health")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=5) as response:  # noqa: S310  (our own server)
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    sys.exit(f"/health did not answer within {timeout:.0f} s")


def fixture(url: URL, token: str, rng: random.Random) -> dict[str, object]:
    """The records the workload visits, read from the data: ids, process names, words, triageable NCs."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:

            def sample(query: str, n: int) -> list:
                rows = [row[0] for row in conn.execute(sa.text(query))]
                return rng.sample(rows, min(n, len(rows)))

            data = {
                "nc_ids": sample("SELECT id FROM nonconformities", 2000),
                "document_ids": sample(
                    "SELECT id FROM documents WHERE confidentiality IN ('public', 'internal')", 1000
                ),
                "audit_ids": sample("SELECT id FROM audits", 1000),
                "processes": sample("SELECT DISTINCT process FROM nonconformities WHERE process <> ''", 20),
                "fire_ncs": sample(
                    "SELECT json_build_array(id, state) FROM nonconformities"
                    " WHERE state IN ('reported', 'triaged', 'contained')",
                    20000,
                ),
                # the matrix's later pages: the keyset cursor after a person (by name, then id)
                "matrix_cursors": [
                    encode_cursor(pair)
                    for pair in sample("SELECT json_build_array(name, id) FROM users WHERE active", 20)
                ],
                "document_words": [
                    word
                    for title in sample("SELECT title FROM documents", 50)
                    for word in title.split()[:2]
                    if len(word) > 3 and word.isalpha()
                ][:40]
                or ["Procedure"],
            }
    finally:
        engine.dispose()
    if not data["nc_ids"] or not data["document_ids"] or not data["audit_ids"]:
        sys.exit("the benchmark database has no NCs, documents or audits to visit: seed it first")
    if not data["processes"]:
        data["processes"] = ["Production"]
    return data | {"token": token, "users": USERS, "password": DEMO_PASSWORD}


def encode_cursor(values: list) -> str:
    """The keyset cursor (the contract of ``qms.services.paging``): urlsafe base64 of the compact JSON, unpadded."""
    text = json.dumps(values, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode()).decode("ascii").rstrip("=")


def percentile_table(stats_csv: Path, extra: dict[str, int], duration: float) -> list[str]:
    rows = {row["Name"]: row for row in csv.DictReader(stats_csv.open()) if row["Name"] != "Aggregated"}
    health = rows.get("health")
    health_p95 = float(health["95%"]) if health and health["95%"] not in ("", "N/A") else None
    header = (
        f"{'request':<36} {'count':>6} {'fail':>5} {'p50':>6} {'p95':>6} {'p99':>6} {'req/s':>6} "
        f"{'p95/health':>10}  target"
    )
    lines = [header, "-" * len(header)]
    order = sorted(rows, key=lambda name: (name == "health", name.startswith("sign in"), name))
    misses = 0
    for name in order:
        row = rows[name]
        p50, p95, p99 = (float(row[k]) if row[k] not in ("", "N/A") else float("nan") for k in ("50%", "95%", "99%"))
        ratio = f"{p95 / health_p95:10.1f}" if health_p95 else f"{'—':>10}"
        target = next((ms for prefix, ms in TARGETS.items() if name.startswith(prefix)), None)
        if target is None:
            verdict = "baseline" if name == "health" else ""
        else:
            ok = p95 < target
            misses += not ok
            verdict = f"< {target} ms {'PASS' if ok else 'MISS'}"
        lines.append(
            f"{name:<36} {int(row['Request Count']):>6} {int(row['Failure Count']):>5} {p50:>6.0f} {p95:>6.0f} "
            f"{p99:>6.0f} {float(row['Requests/s']):>6.1f} {ratio}  {verdict}"
        )
    total = sum(int(r["Request Count"]) for r in rows.values())
    lines.append("-" * len(header))
    lines.append(
        f"{total} requests in {duration:.0f} s ({total / duration:.1f}/s); "
        f"events answered 409 (race or no longer valid): {extra.get('event_conflicts', 0)}; "
        f"event tasks skipped for want of an NC to move on: {extra.get('event_ids_exhausted', 0)}; "
        f"targets missed: {misses}"
    )
    return lines


def sql_timings(
    dsn: str, queries: dict[str, tuple[str, object]], n: int, ids: list[int], warmup: int = 3
) -> dict[str, list[float]]:
    """Milliseconds of each query run ``n`` times with psycopg (autocommit, rows fetched), after a warm-up.

    ``queries``: name → (SQL, parameters); parameters None take the i-th of ``ids``, a callable
    is given i. These are the floors: what the database alone needs for the page's main query.
    """
    import psycopg

    timings: dict[str, list[float]] = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        for name, (sql, params) in queries.items():
            values = []
            for i in range(warmup + n):
                if params is None:
                    bound: object = (ids[i % len(ids)],)
                elif callable(params):
                    bound = params(i)
                else:
                    bound = params
                started = time.perf_counter()
                conn.execute(sql, bound).fetchall()
                if i >= warmup:
                    values.append((time.perf_counter() - started) * 1000)
            timings[name] = values
    return timings


def floors_table(stats_csv: Path, url: URL, data: dict[str, object], n: int = 40) -> list[str]:
    """The NC requests against their floors: the nearest SQL (psycopg) and /health (the same server)."""
    import statistics

    rows = {row["Name"]: row for row in csv.DictReader(stats_csv.open())}
    rng = random.Random(5)  # noqa: S311  (which rows to read, nothing secret)
    states = ("reported", "triaged", "contained", "action_planned", "closed")
    queries = {
        "list: NC register (filters, page)": (
            "SELECT * FROM nonconformities WHERE state = %s ORDER BY id DESC OFFSET %s LIMIT 25",
            lambda i: (rng.choice(states), 25 * rng.randrange(0, 20)),
        ),
        "api: NC list (filter, page)": (
            "SELECT * FROM nonconformities WHERE state = %s ORDER BY id DESC OFFSET %s LIMIT 25",
            lambda i: (rng.choice(states), 25 * rng.randrange(0, 20)),
        ),
        "record: NC": ("SELECT * FROM nonconformities WHERE id = %s", None),
        "dashboard": (DASHBOARD_FLOOR, ()),
    }
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    sql = sql_timings(dsn, queries, n, list(data["nc_ids"]))  # type: ignore[arg-type]
    health = rows.get("health")
    health_p50 = float(health["50%"]) if health else float("nan")
    header = f"{'request':<36} {'p50':>6} {'p95':>6}  {'SQL p50':>7} {'SQL p95':>7}  {'p50 × SQL':>9} "
    header += f"{'p50 × /health':>13}"
    lines = [header, "-" * len(header)]
    for name, values in sql.items():
        row = rows.get(name)
        if row is None or row["50%"] in ("", "N/A"):
            continue
        p50, p95 = float(row["50%"]), float(row["95%"])
        s50 = statistics.median(values)
        s95 = statistics.quantiles(values, n=100, method="inclusive")[94] if len(values) > 1 else values[0]
        lines.append(
            f"{name:<36} {p50:6.0f} {p95:6.0f}  {s50:7.2f} {s95:7.2f}  {p50 / s50:9.0f} {p50 / health_p50:13.1f}"
        )
    health_p95 = float(health["95%"]) if health else float("nan")
    lines.append(f"{'health (the bare-endpoint floor)':<36} {health_p50:6.0f} {health_p95:6.0f}")
    return lines


def run_locust(
    args: argparse.Namespace,
    base: str,
    seconds: int,
    prefix: Path,
    fixture_path: Path,
    extra_path: Path,
    env: dict[str, str],
) -> subprocess.CompletedProcess[str]:
    """locust headless against ``base`` for ``seconds``; its CSV files start with ``prefix``."""
    return subprocess.run(
        [
            str(BIN / "locust"),
            "-f",
            str(ROOT / "benchmarks" / "locustfile.py"),
            "--headless",
            "-u",
            str(args.users),
            "-r",
            str(args.users),
            "-t",
            f"{seconds}s",
            "--host",
            base,
            "--csv",
            str(prefix),
            "--only-summary",
            "--stop-timeout",
            "10",
            "--loglevel",
            "WARNING",
        ],
        env=env
        | {"QMS_BENCH_FIXTURE": str(fixture_path), "QMS_BENCH_EXTRA": str(extra_path), "QMS_BENCH_WAIT": args.wait},
        capture_output=True,
        text=True,
        check=False,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("QMS_BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--instance-path", default=os.environ.get("QMS_BENCH_INSTANCE_PATH", DEFAULT_INSTANCE))
    parser.add_argument("--duration", type=int, default=int(os.environ.get("QMS_BENCH_DURATION", 120)), help="seconds")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument(
        "--warmup", type=int, default=15, help="seconds of the same workload before the measured run, not counted"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--wait", default=os.environ.get("QMS_BENCH_WAIT", "0.5,1.5"), help="each user's pause, min,max seconds"
    )
    parser.add_argument(
        "--factor", type=float, default=1.0, help="when seeding a missing database: scale the large dataset (0–1]"
    )
    parser.add_argument(
        "--server-checkout",
        help="serve the code of another checkout (e.g. `git archive` of a baseline) for a before/after comparison",
    )
    parser.add_argument("--output", help="folder for locust's CSV files and the server log (default: a temp folder)")
    args = parser.parse_args()

    url = make_url(args.database_url)
    if not url.drivername.startswith("postgresql"):
        sys.exit("--database-url must be a PostgreSQL database (the production setup)")
    out = Path(args.output or tempfile.mkdtemp(prefix="qms-bench-load-"))
    out.mkdir(parents=True, exist_ok=True)
    env = os.environ | {
        "QMS_DATABASE_URL": url.render_as_string(hide_password=False),
        "QMS_INSTANCE_PATH": args.instance_path,
        "QMS_ENV": "production",
    }
    Path(args.instance_path).mkdir(parents=True, exist_ok=True)
    ensure_database(url, env, args.factor)

    token = qms(["create-token", USERS["quality"], "--name", f"load benchmark {time.strftime('%Y-%m-%d %H:%M')}"], env)
    data = fixture(url, token.strip().splitlines()[-1], random.Random(8))  # noqa: S311  (a sample of records, nothing secret)
    fixture_path = out / "fixture.json"
    fixture_path.write_text(json.dumps(data))
    fixture_path.chmod(0o600)  # it holds an API token

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server_log = (out / "server.log").open("w")
    log(f"starting gunicorn ({args.workers} workers) on {base} against {url.render_as_string(hide_password=True)}")
    if args.server_checkout:
        log(f"serving the code of {args.server_checkout}")
    server_env = env | ({"PYTHONPATH": str(Path(args.server_checkout).resolve())} if args.server_checkout else {})
    server = subprocess.Popen(
        [str(BIN / "qms"), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers)],
        env=server_env,
        stdout=server_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_health(base, server)
        if args.warmup > 0:
            # every worker's first requests compile templates, load the standards and build the
            # lifecycle engines, and the dashboard counts its first figures: a warm-up, not counted,
            # on NCs of its own so that the measured run's events stay valid
            warm = data | {"fire_ncs": data["fire_ncs"][:WARMUP_EVENTS]}
            warm_path = out / "warmup-fixture.json"
            warm_path.write_text(json.dumps(warm))
            warm_path.chmod(0o600)
            log(f"warm-up: {args.warmup} s, not counted")
            run_locust(args, base, args.warmup, out / "warmup", warm_path, out / "warmup-extra.json", env)
            data["fire_ncs"] = data["fire_ncs"][WARMUP_EVENTS:]
            fixture_path.write_text(json.dumps(data))
        log(
            f"locust: {args.users} users for {args.duration} s, each pausing {args.wait.replace(',', '–')} s "
            f"between requests; {len(data['fire_ncs'])} NCs to move on (triage, contain, root cause)"
        )
        prefix = out / "locust"
        extra_path = out / "extra.json"
        started = time.perf_counter()
        result = run_locust(args, base, args.duration, prefix, fixture_path, extra_path, env)
        elapsed = time.perf_counter() - started
        (out / "locust.log").write_text(result.stdout + result.stderr)
        stats = Path(f"{prefix}_stats.csv")
        if not stats.exists():
            sys.exit(f"locust failed ({result.returncode}):\n{result.stderr[-3000:]}")
        extra = json.loads(extra_path.read_text()) if extra_path.exists() else {}
        print()
        print(f"Load benchmark: {args.users} users, {args.duration} s, gunicorn {args.workers} workers, {url.database}")
        print("\n".join(percentile_table(stats, extra, min(elapsed, args.duration))))
        print("\nFloors: the same NC queries in SQL alone (psycopg, one client) and /health through the same server")
        print("\n".join(floors_table(stats, url, data)))
        failures = Path(f"{prefix}_failures.csv")
        if failures.exists() and len(failures.read_text().splitlines()) > 1:
            print(f"\nFailures (see {failures}):")
            for row in list(csv.DictReader(failures.open()))[:10]:
                print(f"  {row['Occurrences']:>5} × {row['Method']} {row['Name']}: {row['Error'][:160]}")
        print(f"\nCSV files, locust and server logs: {out}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        server_log.close()
        log("server stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
