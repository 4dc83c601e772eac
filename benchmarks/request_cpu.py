"""CPU per request, in-process: what one app process spends on each request type of the load mix.

The load and topology benchmarks saturate the machine's cores, so what a request costs in CPU is
what limits them. This drives the app with Flask's test client (no server, no network), signed in
as the quality officer (web pages) and with the quality officer's API token (API), over the request
types of ``benchmarks/locustfile.py``: registers, record pages, My work, the dashboard, the API's
lists, NCs created and triaged through the API, and /health. Each type is repeated ``--repeat``
times after a warm-up; it prints the median and mean CPU milliseconds of this process per request
(``time.process_time``: Python, templates, the database driver's client side; not PostgreSQL's
own work), the wall-clock median beside it, and the time spent waiting on the database's answers
("SQL ms", per request); ``--slowest N`` lists each type's N slowest statements.

``--code DIR`` measures the ``qms`` of another checkout (before and after, paired in the same
minutes), ``--profile FILE`` also writes a cProfile of the measured requests (``python -m pstats FILE``),
``--only WORD`` keeps the request types whose name contains WORD.

The database must hold demo data (``qms seed-demo``; any scale) and is changed by the run: an API
token for the quality officer, and the NCs the create and triage requests make. Use a copy of your
own (``createdb -T qms_scale_10k mine``), never a shared database. The numbers depend on the
machine and on what else runs on it: compare two checkouts side by side, in the same minutes.

Usage: python benchmarks/request_cpu.py [--database-url URL] [--repeat 40] [--code DIR] [--profile FILE] [--only WORD]
       [--slowest N]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent

DEMO_PASSWORD = "demo-password"  # noqa: S105  (the demo users' published password)
USER = "quality@example.com"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def ids(url: str) -> dict[str, Any]:
    """A record of each kind to visit, read from the data."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            one = lambda query: conn.scalar(sa.text(query))  # noqa: E731
            data = {
                "nc": one("SELECT id FROM nonconformities ORDER BY id LIMIT 1"),
                "document": one(
                    "SELECT id FROM documents WHERE confidentiality IN ('public', 'internal') ORDER BY id LIMIT 1"
                ),
                "audit": one("SELECT id FROM audits ORDER BY id LIMIT 1"),
                "process": one("SELECT process FROM nonconformities WHERE process <> '' LIMIT 1") or "Production",
            }
    finally:
        engine.dispose()
    if None in data.values():
        sys.exit("the database has no NCs, documents or audits: seed it first (qms seed-demo)")
    return data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("QMS_DATABASE_URL"),
        help="a database of your own: it gains NCs and an API token (default: QMS_DATABASE_URL)",
    )
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--profile", help="write a cProfile of the measured requests to this file")
    parser.add_argument("--only", help="keep the request types whose name contains this")
    parser.add_argument(
        "--slowest", type=int, default=0, help="also print each request type's N slowest statements (driver time)"
    )
    parser.add_argument("--code", default=str(ROOT), help="the checkout whose qms to measure (to compare two)")
    args = parser.parse_args()
    if not args.database_url:
        sys.exit("give --database-url (or QMS_DATABASE_URL): a copy of a seeded database, as this run writes to it")
    code = str(Path(args.code).resolve())
    sys.path.insert(0, code)

    os.environ["QMS_DATABASE_URL"] = args.database_url
    os.environ.setdefault("QMS_ENV", "production")
    os.environ.setdefault("QMS_INSTANCE_PATH", "/tmp/qms_request_cpu")  # noqa: S108  (a scratch instance folder)
    from qms import create_app
    from qms.database import db
    from qms.models import User
    from qms.services.tokens import create_token

    app = create_app({"RATELIMIT_ENABLED": False})
    data = ids(args.database_url)
    statements = [0]
    #: statement text → milliseconds of each execution (the driver's round trip: PostgreSQL's work and the wire)
    sql_times: dict[str, list[float]] = {}
    started: list[float] = [0.0]

    def before(*_: Any) -> None:
        statements[0] += 1
        started[0] = time.perf_counter()

    def after(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sql_times.setdefault(statement, []).append((time.perf_counter() - started[0]) * 1000)

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", before)
        sa.event.listen(db.engine, "after_cursor_execute", after)
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == USER))
        if user is None:
            sys.exit(f"no user {USER}: seed the demo data first")
        _, token = create_token(user, f"request_cpu {time.strftime('%H:%M:%S')}", days=1)
        db.session.remove()

    web = app.test_client()
    base = {"base_url": "https://localhost"}  # the session cookie is Secure, as in production
    page = web.get("/login", **base)
    match = CSRF.search(page.get_data(as_text=True))
    assert match, "no CSRF token on the sign-in form"
    signed_in = web.post(
        "/login",
        data={"csrf_token": match.group(1), "email": USER, "password": DEMO_PASSWORD},
        headers={"Referer": "https://localhost/login"},
        **base,
    )
    assert signed_in.status_code == 302, f"sign-in answered {signed_in.status_code}"
    api = app.test_client()
    bearer = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def get(path: str) -> Callable[[], int]:
        return lambda: web.get(path, **base).status_code

    def api_get(path: str) -> Callable[[], int]:
        return lambda: api.get(path, headers=bearer).status_code

    created: list[int] = []

    def create() -> int:
        body = {"title": "Burr on housing", "description": "Found at final inspection.", "source": "process_monitoring"}
        response = api.post("/api/v1/nonconformities", json=body, headers=bearer)
        if response.status_code != 201:
            sys.exit(f"create: answered {response.status_code}: {response.get_data(as_text=True)[:300]}")
        created.append(response.get_json()["id"])
        return response.status_code

    def triage() -> int:
        nc_id = created.pop(0) if created else 0
        return api.post(
            f"/api/v1/nonconformities/{nc_id}/events/triage", json={"data": {"severity": "minor"}}, headers=bearer
        ).status_code

    requests: dict[str, Callable[[], int]] = {
        "health": lambda: web.get("/health").status_code,
        "list: NC register (filter, page)": get("/nonconformities?state=reported&page=1"),
        "list: NC register (process)": get(f"/nonconformities?process={data['process']}"),
        "list: documents (search)": get("/documents?q=Procedure"),
        "list: audits": get("/audits?state=&page=1"),
        "list: risk register": get("/risks"),
        "list: suppliers": get("/suppliers?state=&page=1"),
        "list: equipment": get("/equipment?status=&page=1"),
        "list: training sessions": get("/training"),
        "list: competence matrix": get("/competence"),
        "list: my work": get("/my-work"),
        "record: NC": get(f"/nonconformities/{data['nc']}"),
        "record: document": get(f"/documents/{data['document']}"),
        "record: audit": get(f"/audits/{data['audit']}"),
        "dashboard": get("/"),
        "api: NC list": api_get("/api/v1/nonconformities?state=reported&page=1"),
        "api: CA list": api_get("/api/v1/corrective-actions?page=1"),
        "api: document list": api_get("/api/v1/documents?page=1"),
        "api: audit list": api_get("/api/v1/audits?page=1"),
        "create: NC (API)": create,
        "event: triage NC (API)": triage,
    }
    if args.only:
        requests = {name: call for name, call in requests.items() if args.only in name}

    profiler = cProfile.Profile(time.process_time) if args.profile else None  # CPU, not waiting on PostgreSQL
    rows = []
    slowest: dict[str, list[tuple[float, float, str]]] = {}
    for name, call in requests.items():
        for _ in range(args.warmup):
            status = call()
        if name.startswith("event:"):  # the warm-up's triages used up NCs: make more
            for _ in range(args.repeat):
                create()
        cpu, wall = [], []
        before_count = statements[0]
        sql_times.clear()
        for _ in range(args.repeat):
            if profiler:
                profiler.enable()
            c0, w0 = time.process_time(), time.perf_counter()
            status = call()
            c1, w1 = time.process_time(), time.perf_counter()
            if profiler:
                profiler.disable()
            if status >= 400:
                sys.exit(f"{name}: answered {status}")
            cpu.append((c1 - c0) * 1000)
            wall.append((w1 - w0) * 1000)
        per_request = (statements[0] - before_count) / args.repeat
        sql_ms = sum(sum(times) for times in sql_times.values()) / args.repeat
        rows.append(
            (name, statistics.median(cpu), statistics.fmean(cpu), statistics.median(wall), sql_ms, per_request, status)
        )
        if args.slowest:
            ranked = sorted(sql_times.items(), key=lambda kv: -sum(kv[1]))[: args.slowest]
            slowest[name] = [
                (sum(times) / args.repeat, len(times) / args.repeat, " ".join(text.split())[:300])
                for text, times in ranked
            ]

    database = args.database_url.rsplit("/", 1)[-1]
    print(f"CPU per request in-process ({args.repeat} each after {args.warmup} warm-up), {database}, code of {code}")
    print(f"{'request':40} {'CPU p50 ms':>10} {'CPU mean':>9} {'wall p50':>9} {'SQL ms':>7} {'SQL':>5}  status")
    for name, cpu50, cpumean, wall50, sql_ms, sql, status in rows:
        print(f"{name:40} {cpu50:10.2f} {cpumean:9.2f} {wall50:9.2f} {sql_ms:7.2f} {sql:5.1f}  {status}")
    total = statistics.fmean(row[2] for row in rows)
    print(f"{'mean of the request types':40} {'':10} {total:9.2f}")
    for name, ranked in slowest.items():
        print(f"\n{name}: slowest statements (ms per request, executions per request)")
        for ms, count, text in ranked:
            print(f"  {ms:7.2f} ms  ×{count:<4.1f} {text}")
    if profiler:
        profiler.dump_stats(args.profile)
        print(f"profile written to {args.profile}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
