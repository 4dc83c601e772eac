"""Production topology benchmark: nginx, two app servers, Redis and Celery under load (``make bench-topology``).

Everything runs on this machine and is started and stopped by this script (in a temporary
folder, on free ports; stopped on success, failure or Ctrl-C):

- **nginx** (Debian's package, its own master process in the foreground, not the system service)
  with the site configuration of the production guide, ``deploy/nginx.conf``, filled in with
  this run's ports and a self-signed certificate: TLS, request and response buffering, client
  timeouts and limits, an upstream with keepalive to
- **two app servers**, ``qms serve`` (gunicorn, ``--workers`` sync workers each), sharing
- **PostgreSQL** (``qms_bench_large`` on 127.0.0.1, seeded as by benchmarks/load.py when missing) and
- **Redis** (127.0.0.1:6379): the rate-limit counters (``QMS_RATELIMIT_STORAGE_URI``, database 15)
  and the Celery broker (database 14), with
- a **Celery worker** (``qms.jobs.worker``) and **beat** (benchmarks/topology_beat.py: the
  production schedule, each job sent every ``--beat-every`` seconds for one day).

Then:

1. **Shared rate limit**: failed sign-ins sent in turn to each app server directly (each with the
   address nginx would pass on) reach the per-address limit and the per-account lockout at the
   combined count.
2. **Load through nginx**: locust with the load benchmark's mix (benchmarks/locustfile.py) after a
   warm-up, for ``--duration`` seconds without slow clients ("quiet"), then ``--duration`` seconds
   with slow clients ("slow"): sockets sending their headers or their body a byte at a time over
   tens of seconds, and readers taking a large answer a kilobyte at a time. While the quiet phase
   starts, each app server's "cron" runs every scheduled job (``qms jobs run NAME --on DAY``)
   against beat. The floors are measured in the same run: ``/health`` through nginx (in the mix)
   and the NC register's list query in raw SQL with psycopg.
3. **Without nginx**: as many stalled sockets as an app server has workers, sent to it directly,
   then ``/health``; the same sockets against nginx, then ``/health`` through it.
4. **Scheduled jobs**: once the work is done, each job must have exactly one run for the day,
   started during this run, that succeeded; every other attempt (beat's and both crons') found it
   taken.

It prints per request type the figures with slow clients present (count, failures, p50/p95/p99,
requests/s), the p95 without them, the load benchmark's targets with PASS/MISS, and each p95 as
a multiple of the floors; then the slow clients' fate from nginx's log (how long each took, how
long the app server spent on it), the split between the app servers, the rate-limit checks and
the jobs. It asserts nothing (exit status 0 unless the run itself failed).

Usage: python benchmarks/topology.py [--duration 60] [--warmup 15] [--users 20] [--workers 2]
       [--slow-clients 4] [--database-url URL] [--output DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import datetime as dt
import getpass
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import (
    DEFAULT_INSTANCE,
    DEFAULT_URL,
    TARGETS,
    USERS,
    ensure_database,
    fixture,
    free_port,
    qms,
    wait_for_health,
)

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"
BIN = Path(sys.executable).parent
NGINX_SITE = ROOT / "deploy" / "nginx.conf"
#: the values the production guide shows in its copy of deploy/nginx.conf (tests/core/test_docs.py)
PRODUCTION_SITE = {
    "app_server_1": "10.0.0.11:5000",
    "app_server_2": "10.0.0.12:5000",
    "https_listen": "443",
    "http_listen": "80",
    "server_name": "qms.example.org",
    "ssl_certificate": "/etc/ssl/qms.example.org.crt",
    "ssl_certificate_key": "/etc/ssl/private/qms.example.org.key",
}
FIELD = re.compile(r"\{\{(\w+)\}\}")
#: the slow clients' User-Agent, to find their requests in nginx's log
SLOW_AGENT = "qmsflow-bench-slow-"
#: nginx's access log of the run: tab-separated, the upstream and its time beside the request's
LOG_FORMAT = "$status\\t$request_time\\t$upstream_addr\\t$upstream_response_time\\t$http_user_agent\\t$request"
#: the NC register's first pages as the web and the API ask for them: the raw-SQL floor
FLOOR_SQL = (
    "SELECT * FROM nonconformities ORDER BY detected_on DESC, id DESC LIMIT 25 OFFSET %s",
    "SELECT count(*) FROM nonconformities",
)


def log(message: str) -> None:
    print(f"[topology] {message}", flush=True)


# --------------------------------------------------------------------------- nginx configuration


def render_site(values: Mapping[str, str], template: str | None = None) -> str:
    """deploy/nginx.conf with its ``{{field}}``s filled in; a missing value is an error naming the field."""
    text = NGINX_SITE.read_text(encoding="utf-8") if template is None else template
    missing = sorted({name for name in FIELD.findall(text) if name not in values})
    if missing:
        raise KeyError(f"no value for the nginx template's {', '.join(missing)}")
    return FIELD.sub(lambda m: str(values[m.group(1)]), text)


def main_config(folder: Path, site: Path, user: str | None) -> str:
    """The nginx main configuration of a benchmark run: everything in ``folder``, in the foreground."""
    temp = "\n".join(
        f"    {kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""# written by benchmarks/topology.py; the site itself is deploy/nginx.conf
daemon off;
worker_processes auto;
{f"user {user};" if user else ""}
pid {folder / "nginx.pid"};
error_log {folder / "nginx-error.log"} warn;
events {{ worker_connections 1024; }}
http {{
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
{temp}
    log_format timing "{LOG_FORMAT}";
    access_log {folder / "nginx-access.log"} timing;
    include {site};
}}
"""


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1 (nginx terminates TLS, as in production)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "qmsflow benchmark")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "bench.crt", folder / "bench.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    return cert_path, key_path


# --------------------------------------------------------------------------- processes


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the benchmark dies, even by SIGKILL (Linux prctl PR_SET_PDEATHSIG)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


class Processes:
    """The run's processes, each in its own session; stopped in reverse order, each group by its id."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.started: list[tuple[str, subprocess.Popen[bytes], Any]] = []

    def start(self, name: str, args: list[str], env: Mapping[str, str], cwd: Path | None = None) -> subprocess.Popen:
        out = (self.folder / f"{name}.log").open("wb")
        process = subprocess.Popen(
            args,
            env=dict(env),
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        self.started.append((name, process, out))
        return process

    def log_of(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop_all(self) -> None:
        for name, process, out in reversed(self.started):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    log(f"{name} did not stop within 30 s: killing it")
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            # whatever the process left in its group (gunicorn or celery children)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            out.close()
        self.started.clear()


def _raise_on_term(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


# --------------------------------------------------------------------------- figures


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0–100) by the nearest-rank method, as locust reports it; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def _ms(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.0f}"


def target_of(name: str) -> int | None:
    return next((ms for prefix, ms in TARGETS.items() if name.startswith(prefix)), None)


def request_table(results: dict[str, Any], floors: dict[str, float]) -> tuple[list[str], int]:
    """The figures of the slow phase per request name, with the quiet phase's p95, targets and floors."""
    slow, quiet = results["times"].get("slow", {}), results["times"].get("quiet", {})
    failures = results["failures"].get("slow", {})
    seconds = max(results["durations"].get("slow", 0.0), 1e-9)
    health = percentile(slow.get("health", []), 95)
    sql = floors.get("sql_p95", math.nan)
    header = (
        f"{'request':<36} {'count':>6} {'fail':>5} {'p50':>5} {'p95':>5} {'p99':>5} {'req/s':>6} "
        f"{'quiet p95':>9} {'×health':>7} {'×SQL':>6}  target (p95, with slow clients)"
    )
    lines = [header, "-" * len(header)]
    misses = 0
    order = sorted(slow, key=lambda name: (name == "health", name.startswith("sign in"), name))
    for name in order:
        times = slow[name]
        p50, p95, p99 = (percentile(times, q) for q in (50, 95, 99))
        quiet_p95 = percentile(quiet.get(name, []), 95)
        target = target_of(name)
        if target is None:
            verdict = "floor" if name == "health" else ""
        else:
            ok = p95 < target
            misses += not ok
            verdict = f"< {target} ms {'PASS' if ok else 'MISS'}"
        ratio_health = f"{p95 / health:7.1f}" if health else f"{'—':>7}"
        ratio_sql = f"{p95 / sql:6.1f}" if sql and not math.isnan(sql) else f"{'—':>6}"
        lines.append(
            f"{name:<36} {len(times):>6} {failures.get(name, 0):>5} {p50:>5.0f} {p95:>5.0f} {p99:>5.0f} "
            f"{len(times) / seconds:>6.1f} {_ms(quiet_p95):>9} {ratio_health} {ratio_sql}  {verdict}"
        )
    lines.append("-" * len(header))
    return lines, misses


# --------------------------------------------------------------------------- slow clients


def _tls_socket(port: int, receive_buffer: int | None = None, timeout: float = 120) -> ssl.SSLSocket:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the run's own self-signed certificate
    raw = socket.socket()
    if receive_buffer:
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    raw.settimeout(timeout)
    raw.connect(("127.0.0.1", port))
    return context.wrap_socket(raw, server_hostname="127.0.0.1")


def _read_status(sock: socket.socket) -> str:
    data = b""
    with contextlib.suppress(OSError):
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    line = data.split(b"\r\n", 1)[0].decode(errors="replace")
    return line.split(" ")[1] if line.startswith("HTTP/") and " " in line else "closed"


@dataclass
class SlowClients:
    """Threads that each keep one slow request going against nginx until stopped."""

    port: int
    token: str
    per_kind: int
    stop: threading.Event = field(default_factory=threading.Event)
    outcomes: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    seconds: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for kind in ("headers", "body", "reader"):
            for n in range(self.per_kind):
                thread = threading.Thread(target=self._loop, args=(kind, n), daemon=True, name=f"slow-{kind}-{n}")
                thread.start()
                self.threads.append(thread)

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)

    def _loop(self, kind: str, n: int) -> None:
        rng = random.Random(n)  # noqa: S311  (pacing, nothing secret)
        self.stop.wait(rng.uniform(0, 3))  # not all at once
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                outcome = getattr(self, f"_{kind}")(rng)
            except OSError:  # nginx closed the connection (e.g. at its header timeout)
                outcome = "closed"
            if outcome == "closed":
                outcome = "closed by nginx"
            if outcome != "interrupted":
                self.outcomes[kind][outcome] += 1
                self.seconds[kind].append(time.monotonic() - started)

    def _trickle(self, sock: socket.socket, data: bytes, pause: float) -> bool:
        """Send ``data`` a byte at a time; False when the run stopped first."""
        for i in range(len(data)):
            if self.stop.wait(pause):
                return False
            sock.sendall(data[i : i + 1])
        return True

    def _headers(self, rng: random.Random) -> str:
        """Request line and headers at 2 bytes a second: about 50 s for the whole request."""
        request = (
            f"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: {SLOW_AGENT}headers\r\n"
            "Accept: text/html\r\nConnection: close\r\n\r\n"
        ).encode()
        with _tls_socket(self.port) as sock:
            if not self._trickle(sock, request, 0.5):
                return "interrupted"
            return _read_status(sock)

    def _body(self, rng: random.Random) -> str:
        """Headers at once, then a 40-byte form body at a byte every 0.5 s: 20 s."""
        body = b"email=slow%40example.com&password=slowly"
        head = (
            f"POST /health HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: {SLOW_AGENT}body\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        with _tls_socket(self.port) as sock:
            sock.sendall(head)
            if not self._trickle(sock, body, 0.5):
                return "interrupted"
            return _read_status(sock)

    def _reader(self, rng: random.Random) -> str:
        """A 100-NC page of the API (about 100 KB) taken 1 KB every 0.1 s, through a 4 KB receive window."""
        request = (
            f"GET /api/v1/nonconformities?per_page=100&page={rng.randint(1, 50)} HTTP/1.1\r\n"
            f"Host: 127.0.0.1\r\nUser-Agent: {SLOW_AGENT}reader\r\nAuthorization: Bearer {self.token}\r\n"
            "Accept: application/json\r\nConnection: close\r\n\r\n"
        ).encode()
        with _tls_socket(self.port, receive_buffer=4096) as sock:
            sock.sendall(request)
            first = sock.recv(1024)
            status = first.split(b" ", 2)[1].decode() if first.startswith(b"HTTP/") else "closed"
            while not self.stop.wait(0.1):
                if not sock.recv(1024):
                    return status
            return "interrupted"


def stalled_health(port: int, sockets: int, tls: bool, timeout: float = 5.0) -> float | None:
    """Seconds /health takes while ``sockets`` connections hold half a request; None if it got no answer."""
    held: list[socket.socket] = []
    try:
        for _ in range(sockets):
            sock = _tls_socket(port) if tls else socket.create_connection(("127.0.0.1", port), timeout=30)
            sock.sendall(
                b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: " + SLOW_AGENT.encode() + b"stall\r\n"
            )
            held.append(sock)
        time.sleep(1)  # let the server take them
        started = time.monotonic()
        try:
            sock = _tls_socket(port, timeout=timeout) if tls else socket.create_connection(("127.0.0.1", port), timeout)
            with sock:
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                status = _read_status(sock)
        except OSError:
            return None
        return time.monotonic() - started if status == "200" else None
    finally:
        for sock in held:
            with contextlib.suppress(OSError):
                sock.close()


def nginx_log(path: Path) -> list[dict[str, Any]]:
    """nginx's access log of the run (the ``timing`` format) as dicts."""
    rows = []
    for line in path.read_text(errors="replace").splitlines():
        parts = line.split("\t")
        if len(parts) < 6:
            continue
        status, request_time, upstream, upstream_time, agent = parts[:5]
        rows.append(
            {
                "status": status,
                "request_time": float(request_time),
                "upstream": upstream,
                "upstream_time": max(
                    (float(t) for t in re.split(r"[ ,:]+", upstream_time) if t not in ("", "-")), default=0.0
                ),
                "agent": agent,
            }
        )
    return rows


def slow_client_lines(rows: list[dict[str, Any]], clients: SlowClients) -> list[str]:
    """What happened to each kind of slow client, and how long an app server spent on it."""
    lines = []
    for kind in ("headers", "body", "reader"):
        mine = [row for row in rows if row["agent"] == f"{SLOW_AGENT}{kind}"]
        outcomes = (
            ", ".join(f"{n} × {outcome}" for outcome, n in clients.outcomes[kind].most_common()) or "none finished"
        )
        secs = clients.seconds[kind]
        took = f"{statistics.median(secs):.0f} s each (median)" if secs else "—"
        served = [row["upstream_time"] for row in mine if row["upstream"] not in ("", "-")]
        upstream = (
            f"the app server spent at most {max(served) * 1000:.0f} ms on one "
            f"(median {statistics.median(served) * 1000:.0f} ms)"
            if served
            else "none reached an app server"
        )
        lines.append(f"  slow {kind:<8} {outcomes}; {took}; {upstream}")
    return lines


# --------------------------------------------------------------------------- rate limits


def _sign_in_attempt(port: int, address: str, email: str) -> int:
    """Sign in with a wrong password on one app server directly, as nginx would pass it on from ``address``.

    The form's CSRF token comes from the same server; the status of the POST is returned.
    """
    import urllib.error
    import urllib.parse
    import urllib.request

    form = {"email": email, "password": "not-the-password"}
    token, cookie = _csrf(port, address)
    form["csrf_token"] = token
    headers = {
        "X-Forwarded-For": address,
        "X-Forwarded-Proto": "https",
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": cookie,
        "Referer": f"https://127.0.0.1:{port}/login",  # CSRF over HTTPS wants the page it came from
    }
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/login", data=urllib.parse.urlencode(form).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _csrf(port: int, address: str) -> tuple[str, str]:
    """A login form's CSRF token and the session cookie it belongs to, from one app server."""
    import urllib.request
    from http.cookies import SimpleCookie

    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/login", headers={"X-Forwarded-For": address, "X-Forwarded-Proto": "https"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        page = response.read().decode()
        jar = SimpleCookie()
        for header in response.headers.get_all("Set-Cookie") or []:
            jar.load(header)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    if token is None:
        raise RuntimeError("no CSRF token on the login form")
    return token.group(1), "; ".join(f"{k}={m.value}" for k, m in jar.items())


def shared_rate_limit(ports: list[int], per_minute: int, lock_after: int) -> list[str]:
    """Failed sign-ins sent in turn to each app server reach the address limit and the account lockout together."""
    tag = random.randrange(1, 250)  # noqa: S311  (fresh addresses and accounts each run)
    run = f"{int(time.time())}{tag}"
    lines = []
    # per address: a different (unknown) account each time, so only the address counts
    address = f"198.18.{tag}.1"
    statuses = [
        (ports[i % len(ports)], _sign_in_attempt(ports[i % len(ports)], address, f"nobody-{run}-{i}@example.com"))
        for i in range(per_minute + 1)
    ]
    accepted = [status for _, status in statuses[:per_minute]]
    last_port, last = statuses[-1]
    ok = all(status == 200 for status in accepted) and last == 429
    spread = Counter(port for port, _ in statuses[:per_minute])
    lines.append(
        f"  per address ({per_minute} a minute): attempts 1–{per_minute} answered "
        f"{'/'.join(sorted({str(s) for s in accepted}))} "
        f"({' + '.join(str(spread[p]) for p in ports)} on the two servers), "
        f"attempt {per_minute + 1} on the server at :{last_port} answered {last}: {'PASS' if ok else 'FAIL'}"
    )
    # per account: one account, a different address each time, so only the account counts
    email = f"locked-{run}@example.com"
    statuses = []
    for i in range(lock_after + 1):
        port = ports[i % len(ports)]
        address = f"198.19.{tag}.{i + 1}"
        statuses.append((port, _sign_in_attempt(port, address, email)))
    failures = [status for _, status in statuses[:lock_after]]
    last_port, last = statuses[-1]
    ok_account = all(status == 200 for status in failures) and last == 429
    lines.append(
        f"  per account (locked after {lock_after} failures): failures 1–{lock_after} answered "
        f"{'/'.join(sorted({str(s) for s in failures}))} on alternate servers, attempt {lock_after + 1} "
        f"on :{last_port} answered {last} (locked): {'PASS' if ok_account else 'FAIL'}"
    )
    return lines


# --------------------------------------------------------------------------- scheduled jobs


def job_day(conn: sa.Connection, today: dt.date) -> dt.date:
    """Today, or the latest earlier day no job has run for: the runs this benchmark looks at are its own."""
    taken = set(conn.scalars(sa.text("SELECT DISTINCT period FROM job_runs")))
    day = today
    while day.isoformat() in taken:
        day -= dt.timedelta(days=1)
    return day


#: a task's result in the worker's log: "Task qms.run_job[…] succeeded in 0.01s: {'job': 'x', …}"
WORKER_RESULT = re.compile(r"Task qms\.run_job\[[^\]]+\] succeeded in [\d.]+s: \{'job': '([\w-]+)', '(skipped|run_id)'")
#: ``qms jobs run``'s answer: "NAME for DAY: already run …" or "NAME for DAY: succeeded. …"
CLI_RESULT = re.compile(r"^([\w-]+) for \d{4}-\d\d-\d\d: (already run|\w+)", re.MULTILINE)


def attempts_from_logs(worker_log: str, cron_outputs: Iterable[str]) -> dict[str, Counter[str]]:
    """Per job, how many attempts ran it and how many found it taken, from the worker's log and the crons' output."""
    attempts: dict[str, Counter[str]] = defaultdict(Counter)
    for job, result in WORKER_RESULT.findall(worker_log):
        attempts[job]["beat ran" if result == "run_id" else "beat found it taken"] += 1
    for output in cron_outputs:
        for job, result in CLI_RESULT.findall(output):
            attempts[job]["cron ran" if result != "already run" else "cron found it taken"] += 1
    return attempts


def check_once(
    jobs: Iterable[str],
    runs: Iterable[Mapping[str, Any]],
    attempts: Mapping[str, Counter[str]],
    since: dt.datetime,
) -> tuple[bool, list[str]]:
    """Whether each job ran exactly once during the run, with a line per job saying so (or why not).

    ``runs`` are the day's ``job_runs`` rows (job, trigger, outcome, started_at, finished_at);
    ``attempts`` what each beat delivery and cron run reported. Exactly once: one run row,
    started after ``since``, succeeded; one attempt ran it, and at least one other found it
    taken (else nothing was contested and nothing proven).
    """
    by_job: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for run in runs:
        by_job[run["job"]].append(run)
    ok_all, lines = True, []
    for job in jobs:
        rows, tally = by_job.get(job, []), attempts.get(job, Counter())
        ran = tally["beat ran"] + tally["cron ran"]
        taken = tally["beat found it taken"] + tally["cron found it taken"]
        problems = []
        if len(rows) != 1:
            problems.append(f"{len(rows)} runs recorded")
        else:
            row = rows[0]
            if row["started_at"] < since:
                problems.append(f"its run started before this benchmark ({row['started_at']:%H:%M:%S})")
            if row["outcome"] == "running":
                problems.append("its one run is still running (claimed once so far, not finished)")
            elif row["outcome"] != "succeeded":
                problems.append(f"its run {row['outcome']}")
        if ran != 1:
            problems.append(f"{ran} attempts ran it")
        if taken == 0:
            problems.append("no other attempt to show it ran only once")
        detail = ", ".join(f"{kind} {n}" for kind, n in sorted(tally.items()))
        if problems:
            ok_all = False
            lines.append(f"  {job:<20} NOT once: {'; '.join(problems)} ({detail or 'no attempts seen'})")
        else:
            row = rows[0]
            took = (row["finished_at"] - row["started_at"]).total_seconds()
            lines.append(f"  {job:<20} once: by {row['trigger']}, {row['outcome']} in {took:.1f} s; {detail}")
    return ok_all, lines


def day_runs(engine: sa.Engine, day: dt.date) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        result = conn.execute(
            sa.text("SELECT job, trigger, outcome, started_at, finished_at FROM job_runs WHERE period = :p"),
            {"p": day.isoformat()},
        )
        return [dict(row._mapping) for row in result]


def wait_for_jobs(engine: sa.Engine, day: dt.date, jobs: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    said = None
    while time.monotonic() < deadline:
        runs = day_runs(engine, day)
        done = {run["job"] for run in runs if run["outcome"] in ("succeeded", "failed")}
        if done >= set(jobs):
            return
        pending = sorted(set(jobs) - done)
        if pending != said:
            log(f"waiting for the scheduled jobs to finish: {', '.join(pending)}")
            said = pending
        time.sleep(5)
    log(f"the jobs did not all finish within {timeout:.0f} s")


# --------------------------------------------------------------------------- floors


@dataclass
class SqlFloor:
    """The NC register's list query in raw SQL (psycopg, one connection), timed through the measured phases."""

    dsn: str
    phase: list[str]
    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        import psycopg

        rng = random.Random(3)  # noqa: S311  (which page, nothing secret)
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.stop.wait(0.25):
                started = time.perf_counter()
                conn.execute(FLOOR_SQL[0], (25 * rng.randrange(20),)).fetchall()
                conn.execute(FLOOR_SQL[1]).fetchone()
                self.times[self.phase[0]].append((time.perf_counter() - started) * 1000)


# --------------------------------------------------------------------------- where the cores go


class CpuLedger:
    """CPU seconds per part of the topology between phase marks (psutil), to see what shares the cores.

    A part is a started process with its descendants, plus the CPU of descendants that have exited
    (counted by the kernel in the parent once reaped: PostgreSQL's finished backends in its
    postmaster); the crons are this script's children other than the started processes. "Other"
    is the machine's busy time that no part accounts for (the system, other work).
    """

    def __init__(self, processes: Processes) -> None:
        import psutil

        self.psutil = psutil
        self.processes = processes
        self.marks: list[tuple[str, dict[str, float]]] = []

    def _tree(self, pid: int, skip: frozenset[int] = frozenset()) -> float:
        """The process, its reaped children and its live descendants (not under a pid in ``skip``)."""
        psutil = self.psutil
        try:
            root = psutil.Process(pid)
            times = root.cpu_times()
            total = times.user + times.system + times.children_user + times.children_system
            for child in root.children():
                if child.pid not in skip:
                    total += self._tree(child.pid, skip)
            return total
        except psutil.Error:
            return 0.0

    def _named(self, name: str) -> float:
        """A system service's processes by name: its root (with reaped children) and the rest."""
        psutil = self.psutil
        total = 0.0
        for proc in psutil.process_iter(["name", "ppid"]):
            with contextlib.suppress(psutil.Error):
                if proc.info["name"] != name:
                    continue
                t = proc.cpu_times()
                total += t.user + t.system
                parent = psutil.Process(proc.info["ppid"]) if proc.info["ppid"] else None
                if parent is None or parent.name() != name:
                    total += t.children_user + t.children_system
        return total

    def snapshot(self) -> dict[str, float]:
        parts = {name: self._tree(process.pid) for name, process, _ in self.processes.started}
        parts["postgres"] = self._named("postgres")
        parts["redis"] = self._named("redis-server")
        started = frozenset(process.pid for _, process, _ in self.processes.started)
        own = self.psutil.Process().cpu_times()
        script = own.user + own.system
        parts["benchmark script (slow clients, SQL floor)"] = script
        # the crons' ``qms jobs run`` commands: this script's reaped children and its live ones
        parts["crons"] = self._tree(os.getpid(), skip=started) - script
        parts["elapsed"] = time.monotonic()
        machine = self.psutil.cpu_times()
        parts["machine busy"] = sum(machine) - machine.idle - getattr(machine, "iowait", 0.0)
        return parts

    def mark(self, label: str) -> None:
        self.marks.append((label, self.snapshot()))

    def lines(self) -> list[str]:
        """CPU seconds of each part in each interval between marks, as a share of the machine's cores."""
        out = []
        for (_, before), (label, after) in zip(self.marks, self.marks[1:], strict=False):
            elapsed = after["elapsed"] - before["elapsed"]
            busy = after["machine busy"] - before["machine busy"]
            parts = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after if k not in ("machine busy", "elapsed")}
            named = sum(parts.values())
            listed = ", ".join(f"{k} {v:.1f}" for k, v in sorted(parts.items(), key=lambda kv: -kv[1]) if v >= 0.05)
            capacity = (os.cpu_count() or 1) * elapsed
            out.append(
                f"  {label}: machine busy {busy:.1f} of {capacity:.0f} core-seconds "
                f"({busy / max(capacity, 1e-9):.0%}); {listed}; other {max(busy - named, 0):.1f}"
            )
        return out


# --------------------------------------------------------------------------- the run


def wait_for_nginx(port: int, nginx: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if nginx.poll() is not None:
            sys.exit(f"nginx exited ({nginx.returncode}) before answering")
        try:
            with _tls_socket(port, timeout=5) as sock:
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                if _read_status(sock) == "200":
                    return
        except OSError:
            pass
        time.sleep(0.5)
    sys.exit(f"nginx did not answer /health within {timeout:.0f} s")


def set_phase(path: Path, phase: str, holder: list[str]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(phase)
    tmp.replace(path)
    holder[0] = phase


@contextlib.contextmanager
def run_folder(output: str | None) -> Iterator[Path]:
    """``--output`` (kept), or a temporary folder removed at the end."""
    if output:
        folder = Path(output)
        folder.mkdir(parents=True, exist_ok=True)
        yield folder
        return
    folder = Path(tempfile.mkdtemp(prefix="qms-bench-topology-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("QMS_BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--instance-path", default=os.environ.get("QMS_BENCH_INSTANCE_PATH", DEFAULT_INSTANCE))
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379", help="Redis (databases 14 and 15 are used)")
    parser.add_argument(
        "--duration", type=int, default=int(os.environ.get("QMS_BENCH_DURATION", 60)), help="seconds of each phase"
    )
    parser.add_argument("--warmup", type=int, default=15, help="seconds of the workload before the measured phases")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of each app server")
    parser.add_argument("--celery-concurrency", type=int, default=2)
    parser.add_argument(
        "--worker-nice",
        type=int,
        default=10,
        help="the niceness of the Celery worker and the crons' jobs (the guide: Nice=10, nice -n 10; 0: none)",
    )
    parser.add_argument("--slow-clients", type=int, default=4, help="slow clients of each kind (headers, body, reader)")
    parser.add_argument("--beat-every", type=float, default=10, help="beat sends every job this often (seconds)")
    parser.add_argument("--jobs-timeout", type=int, default=900, help="seconds to wait for the jobs after the load")
    parser.add_argument(
        "--wait", default=os.environ.get("QMS_BENCH_WAIT", "0.5,1.5"), help="each user's pause, min,max seconds"
    )
    parser.add_argument("--factor", type=float, default=1.0, help="when seeding a missing database (0–1]")
    parser.add_argument("--output", help="keep the configuration, logs and figures in this folder")
    return parser.parse_args()


def preflight(redis_url: str) -> str:
    """nginx's and celery's executables and a Redis that answers; the path of nginx."""
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        sys.exit("nginx is not installed: `make bench-topology` installs Debian's package (apt-get install nginx)")
    if not (BIN / "celery").exists():
        sys.exit(f"celery is not installed in {BIN}")
    import redis

    try:
        redis.Redis.from_url(f"{redis_url}/0", socket_timeout=5).ping()
    except redis.RedisError as exc:
        sys.exit(f"Redis at {redis_url} does not answer: {exc}")
    return nginx


def main() -> int:
    args = parse_args()
    # stop everything on Ctrl-C, kill or a closed terminal, even where the shell started us ignoring SIGINT
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise_on_term)
    url = make_url(args.database_url)
    if not url.drivername.startswith("postgresql"):
        sys.exit("--database-url must be a PostgreSQL database (the production setup)")
    nginx_bin = preflight(args.redis_url)
    env = os.environ | {
        "QMS_DATABASE_URL": url.render_as_string(hide_password=False),
        "QMS_INSTANCE_PATH": args.instance_path,
        "QMS_ENV": "production",
        "QMS_PROXY_COUNT": "1",
        "QMS_RATELIMIT_STORAGE_URI": f"{args.redis_url}/15",
        "QMS_CELERY_BROKER_URL": f"{args.redis_url}/14",
        "QMS_CELERY_RESULT_BACKEND": "",
    }
    Path(args.instance_path).mkdir(parents=True, exist_ok=True)
    ensure_database(url, env, args.factor)
    with run_folder(args.output) as folder:
        processes = Processes(folder)
        try:
            return run(args, url, env, folder, processes, nginx_bin)
        except KeyboardInterrupt:
            log("interrupted: stopping everything")
            return 130
        finally:
            processes.stop_all()
            log("nginx, app servers, worker and beat stopped")


def run(
    args: argparse.Namespace, url: URL, env: dict[str, str], folder: Path, processes: Processes, nginx_bin: str
) -> int:
    load_at_start = os.getloadavg()[0]
    engine = sa.create_engine(url)
    token = qms(
        ["create-token", USERS["quality"], "--name", f"topology benchmark {time.strftime('%Y-%m-%d %H:%M')}"], env
    )
    token = token.strip().splitlines()[-1]
    data = fixture(url, token, random.Random(9))  # noqa: S311  (a sample of records, nothing secret)
    fixture_path = folder / "fixture.json"
    fixture_path.write_text(json.dumps(data))
    fixture_path.chmod(0o600)  # it holds an API token
    with engine.connect() as conn:
        day = job_day(conn, dt.datetime.now(dt.UTC).date())
    from qms.jobs.runs import JOBS

    jobs = list(JOBS)
    since = dt.datetime.now(dt.UTC)

    # the two app servers, the worker and beat
    ports = [free_port(), free_port()]
    for i, port in enumerate(ports, 1):
        processes.start(
            f"app{i}",
            [str(BIN / "qms"), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers)],
            env,
        )
    log(f"app servers on :{ports[0]} and :{ports[1]} ({args.workers} gunicorn workers each); {url.database}")
    processes.start(
        "worker",
        [
            # as the production guide's unit (Nice=10): background jobs give way to requests
            *(["nice", "-n", str(args.worker_nice)] if args.worker_nice else []),
            str(BIN / "celery"),
            "-A",
            "qms.jobs.worker",
            "worker",
            "--loglevel=INFO",
            "--purge",
            "-n",
            "bench-topology@%h",
            "--concurrency",
            str(args.celery_concurrency),
            "--without-mingle",
            "--without-gossip",
        ],
        env,
    )
    processes.start(
        "beat",
        [
            str(BIN / "celery"),
            "-A",
            "topology_beat",
            "beat",
            "--loglevel=INFO",
            "-s",
            str(folder / "celerybeat-schedule"),
        ],
        env
        | {
            "QMS_BENCH_JOB_DAY": day.isoformat(),
            "QMS_BENCH_BEAT_SECONDS": str(args.beat_every),
            "PYTHONPATH": str(BENCHMARKS),
        },
        cwd=BENCHMARKS,
    )
    log(
        f"Celery worker ({args.celery_concurrency} processes, nice {args.worker_nice}) and beat: "
        f"every job every {args.beat_every:.0f} s for {day}"
    )
    for i, port in enumerate(ports):
        wait_for_health(f"http://127.0.0.1:{port}", processes.started[i][1])

    # nginx in front, with the production site configuration
    https_port, http_port = free_port(), free_port()
    cert, key = self_signed_certificate(folder)
    site = folder / "qmsflow.conf"
    site.write_text(
        render_site(
            {
                "app_server_1": f"127.0.0.1:{ports[0]}",
                "app_server_2": f"127.0.0.1:{ports[1]}",
                "https_listen": f"127.0.0.1:{https_port}",
                "http_listen": f"127.0.0.1:{http_port}",
                "server_name": "127.0.0.1",
                "ssl_certificate": str(cert),
                "ssl_certificate_key": str(key),
            }
        )
    )
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / kind).mkdir(exist_ok=True)
    conf = folder / "nginx.conf"
    conf.write_text(main_config(folder, site, getpass.getuser() if os.geteuid() == 0 else None))
    check = subprocess.run([nginx_bin, "-t", "-c", str(conf), "-p", str(folder)], capture_output=True, text=True)
    if check.returncode != 0:
        sys.exit(f"nginx refused the configuration:\n{check.stderr}")
    nginx = processes.start("nginx", [nginx_bin, "-c", str(conf), "-p", str(folder)], env)
    wait_for_nginx(https_port, nginx)
    base = f"https://127.0.0.1:{https_port}"
    log(f"nginx on {base} (TLS) in front of both, configuration from deploy/nginx.conf")

    # 1. the shared rate limit, on both app servers directly
    from qms.security import LOGIN_LIMIT
    from qms.services.identity import MAX_ATTEMPTS

    per_minute = int(LOGIN_LIMIT.split(" ", 1)[0])
    rate_lines = shared_rate_limit(ports, per_minute, MAX_ATTEMPTS)

    # 2. locust through nginx: warm-up, quiet, slow; the crons and the SQL floor alongside
    phase = ["warmup"]
    phase_file = folder / "phase"
    set_phase(phase_file, "warmup", phase)
    results_path = folder / "phases.json"
    extra_path = folder / "extra.json"
    total = args.warmup + 2 * args.duration
    locust = processes.start(
        "locust",
        [
            str(BIN / "locust"),
            "-f",
            str(BENCHMARKS / "topology_locustfile.py"),
            "--headless",
            "-u",
            str(args.users),
            "-r",
            str(args.users),
            "-t",
            f"{total + 60}s",
            "--host",
            base,
            "--only-summary",
            "--stop-timeout",
            "10",
            "--loglevel",
            "WARNING",
        ],
        env
        | {
            "QMS_BENCH_FIXTURE": str(fixture_path),
            "QMS_BENCH_EXTRA": str(extra_path),
            "QMS_BENCH_WAIT": args.wait,
            "QMS_BENCH_PHASE_FILE": str(phase_file),
            "QMS_BENCH_PHASE_RESULTS": str(results_path),
        },
    )
    log(f"locust: {args.users} users through nginx; warm-up {args.warmup} s, then {args.duration} s quiet, "
        f"{args.duration} s with {args.slow_clients} slow clients of each kind")  # fmt: skip
    time.sleep(args.warmup)
    floor = SqlFloor(url.set(drivername="postgresql").render_as_string(hide_password=False), phase)
    floor_thread = threading.Thread(target=floor.run, daemon=True, name="sql-floor")
    ledger = CpuLedger(processes)
    ledger.mark("start")
    set_phase(phase_file, "quiet", phase)
    floor_thread.start()
    cron_outputs: list[str] = []

    nice = ["nice", "-n", str(args.worker_nice)] if args.worker_nice else []

    def cron(server: int) -> None:
        """What each app server's crontab does (docs/deploying.md), for every job at once."""
        output = []
        for job in jobs:
            result = subprocess.run(
                # as the production guide's crontab: jobs give way to requests, like the worker
                [*nice, str(BIN / "qms"), "jobs", "run", job, "--on", day.isoformat()],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            output.append(result.stdout + result.stderr)
        cron_outputs.append("".join(output))
        (folder / f"cron{server}.log").write_text("".join(output))

    crons = [threading.Thread(target=cron, args=(i,), daemon=True, name=f"cron{i}") for i in (1, 2)]
    for thread in crons:
        thread.start()
    time.sleep(args.duration)
    if locust.poll() is not None:
        sys.exit(f"locust stopped early:\n{processes.log_of('locust')[-3000:]}")
    slow = SlowClients(https_port, token, args.slow_clients)
    ledger.mark("quiet phase (the crons run)")
    set_phase(phase_file, "slow", phase)
    slow.start()
    time.sleep(args.duration)
    ledger.mark("phase with slow clients")
    set_phase(phase_file, "stop", phase)
    floor.stop.set()
    slow.finish()
    try:
        locust.wait(timeout=60)
    except subprocess.TimeoutExpired:
        log("locust did not stop within 60 s")
    floor_thread.join(timeout=10)
    if not results_path.exists():
        sys.exit(f"locust wrote no figures:\n{processes.log_of('locust')[-3000:]}")
    results = json.loads(results_path.read_text())
    extra = json.loads(extra_path.read_text()) if extra_path.exists() else {}

    # 3. without nginx: stalled sockets straight to one app server, then the same against nginx
    direct = stalled_health(ports[0], args.workers, tls=False)
    proxied = stalled_health(https_port, 2 * args.workers + 4, tls=True)

    # 4. the scheduled jobs, once the crons and the worker are done
    for thread in crons:
        thread.join(timeout=args.jobs_timeout)
    wait_for_jobs(engine, day, jobs, args.jobs_timeout)
    time.sleep(2 * args.beat_every)  # a last round of beat's sends, so every job is contested after its run too
    once_ok, once_lines = check_once(
        jobs, day_runs(engine, day), attempts_from_logs(processes.log_of("worker"), cron_outputs), since
    )
    engine.dispose()

    # the report
    rows = nginx_log(folder / "nginx-access.log")
    floors = {"sql_p50": percentile(floor.times["slow"], 50), "sql_p95": percentile(floor.times["slow"], 95)}
    table, misses = request_table(results, floors)
    slow_s, quiet_s = results["durations"].get("slow", 0), results["durations"].get("quiet", 0)
    count = sum(len(t) for t in results["times"].get("slow", {}).values())
    quiet_count = sum(len(t) for t in results["times"].get("quiet", {}).values())
    spread = Counter(row["upstream"] for row in rows if row["upstream"] not in ("", "-") and "," not in row["upstream"])
    slow_health = results["times"].get("slow", {}).get("health", [])
    print()
    print(
        f"Topology benchmark: nginx (TLS) → 2 app servers × {args.workers} gunicorn workers, PostgreSQL "
        f"{url.database}, Redis, Celery worker and beat; {args.users} users; ms"
    )
    print(
        f"load average (1 min) at the start {load_at_start:.1f}, at the end {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} cores: other work on this machine shares them"
    )
    print("\n".join(table))
    print(
        f"with slow clients: {count} requests in {slow_s:.0f} s ({count / max(slow_s, 1):.1f}/s); "
        f"quiet: {quiet_count} in {quiet_s:.0f} s; events answered 409: {extra.get('event_conflicts', 0)}; "
        f"targets missed: {misses}"
    )
    print(
        f"floors: /health through nginx p95 {percentile(slow_health, 95):.0f} ms; "
        f"the NC register's list query in raw SQL (psycopg) p50 {floors['sql_p50']:.1f} ms, "
        f"p95 {floors['sql_p95']:.1f} ms (quiet p95 {percentile(floor.times['quiet'], 95):.1f} ms)"
    )
    print("\nWhere the cores went (CPU seconds of each part; app servers with their gunicorn workers):")
    print("\n".join(ledger.lines()))
    print("\nSlow clients (through nginx; the time an app server spent on each is nginx's upstream time):")
    print("\n".join(slow_client_lines(rows, slow)))
    print(
        f"  without nginx: {args.workers} stalled sockets on an app server → its /health "
        + ("got no answer within 5 s (both workers held)" if direct is None else f"answered in {direct * 1000:.0f} ms")
        + f"; through nginx with {2 * args.workers + 4} stalled sockets → /health "
        + ("got no answer within 5 s" if proxied is None else f"answered in {proxied * 1000:.0f} ms")
    )
    print("\nRequests per app server (nginx's upstream): " + ", ".join(f"{k}: {v}" for k, v in sorted(spread.items())))
    print("\nShared rate limit (Redis), failed sign-ins sent in turn to each app server:")
    print("\n".join(rate_lines))
    print(f"\nScheduled jobs for {day} (beat every {args.beat_every:.0f} s, and each app server's cron):")
    print("\n".join(once_lines))
    print(f"  {'each ran exactly once: PASS' if once_ok else 'not every job ran exactly once: FAIL'}")
    if args.output:
        print(f"\nConfiguration, logs and figures: {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
