"""The load benchmark's workload (benchmarks/locustfile.py), its figures kept per phase of the topology run.

One locust process runs the whole topology benchmark (so the users sign in once: sign-in is rate
limited per address, and through nginx every user has the same address). benchmarks/topology.py
writes the current phase ("warmup", "quiet", "slow", then "stop") to the file named by
QMS_BENCH_PHASE_FILE; each request's time is kept under the phase it ended in, and at the end
the times and failures per phase and request name go to QMS_BENCH_PHASE_RESULTS (JSON).
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import gevent
from locust import events
from locustfile import QmsUser  # noqa: F401  (the load benchmark's users and mix)

PHASE_FILE = Path(os.environ["QMS_BENCH_PHASE_FILE"])
RESULTS = Path(os.environ["QMS_BENCH_PHASE_RESULTS"])

_phase = "warmup"
_since = time.monotonic()
#: phase → request name → response times (ms)
_times: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
_failures: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
_durations: dict[str, float] = defaultdict(float)


def _follow_phase(environment: Any) -> None:
    global _phase, _since
    while True:
        try:
            phase = PHASE_FILE.read_text().strip() or _phase
        except OSError:
            phase = _phase
        if phase != _phase:
            now = time.monotonic()
            _durations[_phase] += now - _since
            _phase, _since = phase, now
            if phase == "stop" and environment.runner is not None:
                environment.runner.quit()
                return
        gevent.sleep(0.2)


@events.init.add_listener
def _on_init(environment: Any, **_: Any) -> None:
    gevent.spawn(_follow_phase, environment)


@events.request.add_listener
def _on_request(name: str, response_time: float, exception: BaseException | None = None, **_: Any) -> None:
    _times[_phase][name].append(response_time)
    if exception is not None:
        _failures[_phase][name] += 1


@events.quitting.add_listener
def _write_results(**_: Any) -> None:
    durations = dict(_durations)
    durations[_phase] = durations.get(_phase, 0.0) + time.monotonic() - _since
    RESULTS.write_text(
        json.dumps(
            {
                "durations": durations,
                "times": {phase: dict(names) for phase, names in _times.items()},
                "failures": {phase: dict(names) for phase, names in _failures.items()},
            }
        )
    )
