"""The cheap pieces of the topology benchmark (benchmarks/topology.py): its nginx configuration
and how it decides that each scheduled job ran exactly once. The benchmark itself is not a test."""

import datetime as dt
import importlib.util
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("topology", ROOT / "benchmarks" / "topology.py")
topology = sys.modules.setdefault("topology", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(topology)

SINCE = dt.datetime(2026, 12, 6, 4, 0, tzinfo=dt.UTC)
JOBS = ("daily-digest", "clean-exports")


def run(job, outcome="succeeded", started=SINCE + dt.timedelta(minutes=1), trigger="beat"):
    return {"job": job, "trigger": trigger, "outcome": outcome, "started_at": started,
            "finished_at": started + dt.timedelta(seconds=3)}  # fmt: skip


def contested(ran="beat ran"):
    return Counter({ran: 1, "beat found it taken": 7, "cron found it taken": 2})


def test_the_site_template_is_filled_in_completely():
    site = topology.render_site(topology.PRODUCTION_SITE)
    assert "{{" not in site and "}}" not in site
    assert "server 10.0.0.11:5000" in site and "server 10.0.0.12:5000" in site
    assert "proxy_request_buffering on;" in site and "proxy_buffering on;" in site
    assert "keepalive 32;" in site and 'proxy_set_header Connection "";' in site
    assert "least_conn;" in site  # the next request goes where a sync worker is free


def test_a_missing_value_names_the_field():
    values = dict(topology.PRODUCTION_SITE)
    del values["app_server_2"]
    with pytest.raises(KeyError, match="app_server_2"):
        topology.render_site(values)


@pytest.mark.skipif(
    shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists() and not os.environ.get("CI"),
    reason="nginx not installed (make test installs it; under CI this test fails instead)",
)
def test_nginx_accepts_the_benchmark_configuration(tmp_path):
    cert, key = topology.self_signed_certificate(tmp_path)
    site = tmp_path / "qmsflow.conf"
    values = {"app_server_1": "127.0.0.1:1", "app_server_2": "127.0.0.1:2", "https_listen": "127.0.0.1:3",
              "http_listen": "127.0.0.1:4", "server_name": "127.0.0.1", "ssl_certificate": cert,
              "ssl_certificate_key": key}  # fmt: skip
    site.write_text(topology.render_site(values))
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / kind).mkdir()
    conf = tmp_path / "nginx.conf"
    conf.write_text(topology.main_config(tmp_path, site, None))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    result = subprocess.run([nginx, "-t", "-c", str(conf), "-p", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_each_job_once_passes():
    ok, lines = topology.check_once(JOBS, [run(j) for j in JOBS], {j: contested() for j in JOBS}, SINCE)
    assert ok, lines
    assert lines[0].strip().startswith("daily-digest") and "once: by beat, succeeded in 3.0 s" in lines[0]


@pytest.mark.parametrize(
    ("runs", "attempts", "why"),
    [
        ([run("clean-exports")], {j: contested() for j in JOBS}, "0 runs recorded"),
        ([run(j) for j in JOBS], {"daily-digest": contested() + Counter({"cron ran": 1}), "clean-exports": contested()},
         "2 attempts ran it"),
        ([run("daily-digest", outcome="failed"), run("clean-exports")], {j: contested() for j in JOBS},
         "its run failed"),
        ([run("daily-digest", outcome="running"), run("clean-exports")], {j: contested() for j in JOBS},
         "still running"),
        ([run("daily-digest", started=SINCE - dt.timedelta(hours=1)), run("clean-exports")],
         {j: contested() for j in JOBS}, "started before this benchmark"),
        ([run(j) for j in JOBS], {"daily-digest": Counter({"beat ran": 1}), "clean-exports": contested()},
         "no other attempt"),
    ],
)  # fmt: skip
def test_each_job_once_fails_saying_why(runs, attempts, why):
    ok, lines = topology.check_once(JOBS, runs, attempts, SINCE)
    assert not ok
    assert why in lines[0] and "NOT once" in lines[0]
    assert "NOT once" not in lines[1]


def test_attempts_are_read_from_the_worker_log_and_the_crons_output():
    worker = (
        "[2026-12-06 04:01:00,000: INFO/ForkPoolWorker-1] Task qms.run_job[ab-12] succeeded in 0.5s: "
        "{'job': 'clean-exports', 'run_id': 4, 'outcome': 'succeeded', 'counts': {}}\n"
        "[2026-12-06 04:01:10,000: INFO/ForkPoolWorker-2] Task qms.run_job[cd-34] succeeded in 0.01s: "
        "{'job': 'clean-exports', 'skipped': True}\n"
    )
    cron = (
        "daily-digest for 2026-12-06: succeeded. sent: 3, logged: 0\n"
        "clean-exports for 2026-12-06: already run (or running) elsewhere; nothing done.\n"
    )
    attempts = topology.attempts_from_logs(worker, [cron])
    assert attempts["clean-exports"] == Counter({"beat ran": 1, "beat found it taken": 1, "cron found it taken": 1})
    assert attempts["daily-digest"] == Counter({"cron ran": 1})


def test_percentiles_by_nearest_rank():
    values = list(range(1, 101))
    assert [topology.percentile(values, q) for q in (50, 95, 99)] == [50, 95, 99]
    assert topology.percentile([], 95) != topology.percentile([], 95)  # NaN


def test_the_cpu_ledger_charges_each_part_its_own_cpu(tmp_path):
    """A started process that burns CPU between two marks is charged for it, a crons' child of the
    script is charged to the crons, and the line names both with the machine's busy time."""
    processes = topology.Processes(tmp_path)
    burn = "import sys, time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass\n"
    go = tmp_path / "go"
    waiting = f"import os, time\nwhile not os.path.exists({str(go)!r}): time.sleep(0.01)\n"
    try:
        processes.start("burner", [sys.executable, "-c", waiting + burn + "time.sleep(30)"], {})
        ledger = topology.CpuLedger(processes)
        ledger.mark("start")
        go.touch()
        subprocess.run([sys.executable, "-c", burn], check=True)  # as a cron's `qms jobs run` would
        snapshot = ledger.snapshot()
        while snapshot["burner"] - ledger.marks[0][1]["burner"] < 0.35:  # wait for the burn, not a time
            assert processes.started[0][1].poll() is None, processes.log_of("burner")
            snapshot = ledger.snapshot()
        ledger.mark("burnt")
    finally:
        processes.stop_all()
    (line,) = ledger.lines()
    before, after = ledger.marks[0][1], ledger.marks[1][1]
    assert after["burner"] - before["burner"] >= 0.35
    assert after["crons"] - before["crons"] >= 0.35
    assert line.startswith("  burnt: machine busy ")
    assert "burner " in line and "crons " in line and "other " in line
