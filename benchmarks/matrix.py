"""Competence matrix benchmark: the matrix page, its filtered and gaps-only variants, a later page, the
API matrix and the XLSX and PDF exports, served by gunicorn as the load benchmark serves them.

1. Uses the PostgreSQL database ``qms_bench_large`` (``--database-url``); it must exist and be seeded
   (``benchmarks/load.py`` seeds it). It signs in and creates an API token, so point it at a copy
   of a shared database (``createdb -T qms_bench_large bench_copy``) rather than the shared one.
2. Starts ``qms serve`` (``--workers``, 1 by default: the requests are sequential) on a free port,
   serving this checkout or ``--server-checkout`` (to measure another version of the code against
   the same data), signs in as the demo quality officer through the login form.
3. Sends each request ``--warmup`` times (not counted), then ``--requests`` times one after the
   other (the exports ``--export-requests`` times), and prints per request: p50, p95 and max (ms),
   the answer's size, and the load average before and after (the machine may be shared); ``/health``
   (one row read) served the same way is the floor to compare with.

It prints figures and asserts nothing.

Usage: python benchmarks/matrix.py [--database-url URL] [--requests 100] [--server-checkout PATH]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookies import SimpleCookie
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import DEFAULT_INSTANCE, DEFAULT_URL, DEMO_PASSWORD, USERS, free_port, qms, wait_for_health

BIN = Path(sys.executable).parent
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def fetch(url: str, headers: dict[str, str], data: bytes | None = None) -> tuple[int, dict[str, list[str]], bytes]:
    request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310  (our own server)
    try:
        with OPENER.open(request, timeout=120) as response:
            return response.status, _headers(response), response.read()
    except urllib.error.HTTPError as error:
        return error.code, _headers(error), error.read()


def _headers(response: object) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, value in response.headers.items():  # type: ignore[attr-defined]
        found.setdefault(name.lower(), []).append(value)
    return found


def _cookies(headers: dict[str, list[str]]) -> str:
    jar = SimpleCookie()
    for header in headers.get("set-cookie", []):
        jar.load(header)
    return "; ".join(f"{name}={morsel.value}" for name, morsel in jar.items())


def sign_in(base: str, email: str) -> str:
    """The Cookie header of a session signed in through the form (its cookie is Secure: carried by hand)."""
    status, headers, body = fetch(f"{base}/login", {})
    token = CSRF.search(body.decode())
    if status != 200 or token is None:
        sys.exit(f"no login form ({status})")
    cookie = _cookies(headers)
    form = urllib.parse.urlencode({"csrf_token": token.group(1), "email": email, "password": DEMO_PASSWORD})
    status, headers, _ = fetch(f"{base}/login", {"Cookie": cookie, "Referer": f"{base}/login"}, form.encode())
    if status != 302:
        sys.exit(f"sign-in of {email} answered {status}")
    return _cookies(headers) or cookie


def targets(url: sa.URL) -> dict[str, int | str]:
    """A job role, a site and a later page's cursor to ask for, read from the data."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            role = conn.scalar(
                sa.text(
                    "SELECT job_role_id FROM person_profiles WHERE job_role_id IS NOT NULL"
                    " GROUP BY job_role_id ORDER BY count(*) DESC LIMIT 1"
                )
            )
            site = conn.scalar(
                sa.text(
                    "SELECT site_id FROM person_profiles WHERE site_id IS NOT NULL"
                    " GROUP BY site_id ORDER BY count(*) DESC LIMIT 1"
                )
            )
            people = conn.scalar(sa.text("SELECT count(*) FROM users WHERE active"))
            middle = conn.execute(
                sa.text("SELECT name, id FROM users WHERE active ORDER BY name, id OFFSET :n LIMIT 1"),
                {"n": max(0, (people or 0) // 2)},
            ).one()
    finally:
        engine.dispose()
    from load import encode_cursor

    return {"role": role or 0, "site": site or 0, "people": people or 0, "after": encode_cursor(list(middle))}


def measure(base: str, path: str, headers: dict[str, str], warmup: int, count: int) -> dict[str, float]:
    for _ in range(warmup):
        fetch(base + path, headers)
    times, size = [], 0
    for _ in range(count):
        started = time.perf_counter()
        status, _, body = fetch(base + path, headers)
        times.append((time.perf_counter() - started) * 1000)
        if status != 200:
            sys.exit(f"{path} answered {status}")
        size = len(body)
    times.sort()
    return {
        "p50": statistics.median(times),
        "p95": times[max(0, round(0.95 * len(times)) - 1)],
        "max": times[-1],
        "size": size,
        "count": count,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("QMS_BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--instance-path", default=os.environ.get("QMS_BENCH_INSTANCE_PATH", DEFAULT_INSTANCE))
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--export-requests", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--server-checkout", help="serve the code of this checkout instead of this one")
    args = parser.parse_args()

    url = make_url(args.database_url)
    env = os.environ | {
        "QMS_DATABASE_URL": url.render_as_string(hide_password=False),
        "QMS_INSTANCE_PATH": args.instance_path,
        "QMS_ENV": "production",
    }
    if args.server_checkout:
        env["PYTHONPATH"] = str(Path(args.server_checkout).resolve())
    found = targets(url)
    token = qms(["create-token", USERS["quality"], "--name", "matrix benchmark"], env).strip().splitlines()[-1]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(BIN / "qms"), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for_health(base, server)
        web = {"Cookie": sign_in(base, USERS["quality"])}
        api = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        pages = [
            ("GET /health (the floor)", "/health", {}),
            ("GET /competence", "/competence", web),
            ("GET /competence?role=", f"/competence?role={found['role']}", web),
            ("GET /competence?site=&gaps=1", f"/competence?site={found['site']}&gaps=1", web),
            ("GET /competence?gaps=1", "/competence?gaps=1", web),
            ("GET /competence?after= (middle)", f"/competence?after={found['after']}", web),
            ("GET /api/v1/competence-matrix", "/api/v1/competence-matrix?per_page=50", api),
            ("GET /api/v1/...?gaps_only=true", "/api/v1/competence-matrix?per_page=50&gaps_only=true", api),
        ]
        exports = [
            ("GET /competence/matrix.xlsx", "/competence/matrix.xlsx", web),
            ("GET /competence/matrix.pdf", "/competence/matrix.pdf", web),
        ]
        print(
            f"Competence matrix benchmark: {url.database}, {found['people']} active people, "
            f"code of {args.server_checkout or 'this checkout'}, gunicorn {args.workers} worker(s)"
        )
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"{'request':<34} {'n':>4} {'p50':>8} {'p95':>8} {'max':>8} {'bytes':>9}")
        for name, path, headers in pages + exports:
            count = args.export_requests if (name, path, headers) in exports else args.requests
            row = measure(base, path, headers, min(args.warmup, count), count)
            print(
                f"{name:<34} {row['count']:>4} {row['p50']:>8.1f} {row['p95']:>8.1f} {row['max']:>8.1f} "
                f"{row['size']:>9}"
            )
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
