"""My work and the daily digest on the large dataset (issue 20, item 1): ``python benchmarks/mywork.py``.

1. Uses the PostgreSQL database ``qms_bench_large`` on 127.0.0.1 (``--database-url`` or
   QMS_BENCH_DATABASE_URL), created and seeded with ``qms seed-demo --scale large`` when missing, as
   ``benchmarks/load.py`` does (that takes minutes), and brought to the current migration with
   ``qms init``; ``--read-only`` uses it as it is (a shared database: nothing written).
2. For the busiest demo users (quality@example.com, manager@example.com): the first page of My work
   through the Flask test client (the whole request: session, queries, template) and through the
   service (``my_work.work_page``), ``--repeat`` times each after a warm-up; prints p50/p95 in ms.
3. The floor: the main query (``my_work.page_statement``: each SQL source's first rows in the page's
   order and the counts per kind up to the cap) sent with psycopg, no ORM, with the settings the page
   uses, and qmsflow's p50 as a multiple of it.
4. The digest for every active user (``reminders.digest_items_many``, as the digest job calls it: one
   request context for the run, the certification watchers' reminders worked out once, each user's
   own queries and the records they find loaded once for all), total time.

Targets (issue 20): My work p95 < 100 ms for the busiest user; the digest for all users < 60 s.
It prints figures and asserts nothing; on a shared 2-core machine the figures vary with the load.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

from sqlalchemy.engine import make_url

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from load import DEFAULT_INSTANCE, DEFAULT_URL, DEMO_PASSWORD, ensure_database  # noqa: E402

BUSIEST = ("quality@example.com", "manager@example.com")
TARGET_P95_MS = 100
TARGET_DIGEST_S = 60


def log(message: str) -> None:
    print(f"[mywork] {message}", flush=True)


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def timed(fn, repeat: int) -> list[float]:
    fn()  # warm: templates compiled, standards loaded
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("QMS_BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--instance-path", default=os.environ.get("QMS_BENCH_INSTANCE_PATH", DEFAULT_INSTANCE))
    parser.add_argument("--repeat", type=int, default=30, help="timed runs of each My work measure")
    parser.add_argument("--users", type=int, default=0, help="digest for the first N active users only (0: all)")
    parser.add_argument(
        "--factor", type=float, default=1.0, help="when seeding a missing database: scale the large dataset (0–1]"
    )
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="the database exists and is current (a shared one): do not create, seed or `qms init` it",
    )
    args = parser.parse_args()
    url = make_url(args.database_url)
    if not url.drivername.startswith("postgresql"):
        sys.exit("--database-url must be a PostgreSQL database")
    env = os.environ | {
        "QMS_DATABASE_URL": url.render_as_string(hide_password=False),
        "QMS_INSTANCE_PATH": args.instance_path,
        "QMS_ENV": "production",
    }
    Path(args.instance_path).mkdir(parents=True, exist_ok=True)
    if not args.read_only:
        ensure_database(url, env, args.factor)
    os.environ.update(env)
    warnings.simplefilter("ignore")

    import psycopg
    from sqlalchemy import select

    from qms import create_app
    from qms.database import db
    from qms.models import User
    from qms.services import my_work
    from qms.services.reminders import digest_items_many, watched_certifications
    from qms.services.workflow import as_actor

    app = create_app({"WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    today = dt.date.today()
    log(f"database {url.render_as_string(hide_password=True)}, today {today}, {args.repeat} runs each")
    figures: dict[str, tuple[float, float]] = {}
    with app.app_context():
        for email in BUSIEST:
            user = db.session.scalar(select(User).where(User.email == email))
            if user is None:
                log(f"{email} is not in this database: skipped")
                continue
            page = my_work.work_page(user, today)
            db.session.rollback()
            log(f"{email}: {page.total} items on My work ({page.pages} pages of {page.per_page})")

            def service(user: User = user) -> None:
                my_work.work_page(user, today)
                db.session.rollback()  # a request's transaction ends; the next starts afresh

            figures[f"service {email}"] = percentiles(timed(service, args.repeat))
            client = app.test_client()
            response = client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
            if response.status_code != 302:
                log(f"{email}: signing in through the form answered {response.status_code}; page not timed")
            else:

                def request(client=client) -> None:
                    answer = client.get("/my-work")
                    if answer.status_code != 200:
                        raise SystemExit(f"/my-work answered {answer.status_code}")

                figures[f"GET /my-work {email}"] = percentiles(timed(request, args.repeat))
            # the floor: the same main query through psycopg, compiled once with its values inlined
            actor = as_actor(user)
            main = my_work.page_statement(actor, today, end=my_work.PER_PAGE + 1)
            sql = str(main.compile(db.engine, compile_kwargs={"literal_binds": True}))
            plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
            with psycopg.connect(plain) as conn:
                conn.execute("SET jit = off")
                conn.execute("SET max_parallel_workers_per_gather = 0")  # as My work's page sets them

                def raw(conn=conn, sql=sql) -> None:
                    conn.execute(sql).fetchall()

                figures[f"raw SQL (psycopg) {email}"] = percentiles(timed(raw, args.repeat))

        users = list(db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)))
        if args.users:
            users = users[: args.users]
        log(f"digest for {len(users)} active users…")
        started = time.perf_counter()
        with app.test_request_context():  # as the digest job runs (mail_context)
            watched = watched_certifications(today)
            digests = digest_items_many(users, today, watched=watched)
            lines = sum(len(items) for items in digests.values())
            db.session.rollback()
        digest_seconds = time.perf_counter() - started

    print()
    print(f"{'measure':58} {'p50 ms':>8} {'p95 ms':>8}")
    for name, (p50, p95) in figures.items():
        verdict = ""
        if not name.startswith("raw"):
            verdict = "PASS" if p95 < TARGET_P95_MS else "MISS"
            verdict = f"  (target p95 < {TARGET_P95_MS} ms: {verdict})"
        print(f"{name:58} {p50:8.1f} {p95:8.1f}{verdict}")
    for email in BUSIEST:
        floor = figures.get(f"raw SQL (psycopg) {email}")
        page = figures.get(f"GET /my-work {email}") or figures.get(f"service {email}")
        if floor and page:
            print(f"{'GET /my-work as a multiple of the raw SQL, ' + email:58} {page[0] / floor[0]:8.1f}×")
    verdict = "PASS" if digest_seconds < TARGET_DIGEST_S else "MISS"
    print(
        f"digest for {len(users)} users: {digest_seconds:.1f} s, {lines} lines "
        f"({digest_seconds / max(1, len(users)) * 1000:.0f} ms a user; target < {TARGET_DIGEST_S} s: {verdict})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
