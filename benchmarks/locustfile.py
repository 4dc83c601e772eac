"""The mixed workload of the load benchmark (run by benchmarks/load.py, which prepares its fixture).

Each simulated user signs in as a demo user through the login form (with its CSRF token) and
then, pausing between clicks, opens list pages with filters and pages, record pages, the
dashboard, the REST API's lists, fires lifecycle events through the API and asks /health, the
bare baseline. The fixture (JSON, path in QMS_BENCH_FIXTURE) holds the ids to visit, the NCs on
which an event is valid and an API token. Sign-in is rate limited per address (10 a minute), so
the users of one role share the session of the first of them to sign in.

Request names group the figures: "list: …", "record: …", "dashboard", "api: …", "event: …",
"health". An event answered 409 (another user won the race, or the fixture ran out of valid
records) counts as done and is tallied in the extra figures file (QMS_BENCH_EXTRA).
"""

# ruff: noqa: S311  (random picks of pages and records, nothing secret)
from __future__ import annotations

import json
import os
import random
import re
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

from gevent.lock import Semaphore
from locust import FastHttpUser, between, events, task

FIXTURE: dict[str, Any] = json.loads(Path(os.environ["QMS_BENCH_FIXTURE"]).read_text())
ROLES = ("manager", "quality", "auditor", "viewer")
NC_STATES = ("reported", "triaged", "contained", "action_planned", "closed")
SEVERITIES = ("major", "minor", "observation")
AUDIT_STATES = ("planned", "scheduled", "closed")
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
WAIT = tuple(float(x) for x in os.environ.get("QMS_BENCH_WAIT", "0.5,1.5").split(","))

#: role → the Cookie header of its signed-in session, shared by the users of that role
_sessions: dict[str, str] = {}
_sign_in = Semaphore()
#: (NC id, its state) on which the next event of the happy path is valid; a fired NC comes back one step on
_to_fire: list[tuple[int, str]] = [(nc_id, state) for nc_id, state in FIXTURE["fire_ncs"]]
random.shuffle(_to_fire)
#: state → (event, its data, the state it leads to)
NEXT_EVENT = {
    "reported": ("triage", lambda: {"severity": random.choice(("minor", "observation"))}, "triaged"),
    "triaged": ("contain", lambda: {"containment": "Stock quarantined and re-inspected."}, "contained"),
    "contained": (
        "analyse_root_cause",
        lambda: {"method": "five_whys", "root_cause": "No check in the procedure", "whys": ["a", "b", "c"]},
        "root_cause_identified",
    ),
}
EXTRA = {"event_conflicts": 0, "event_ids_exhausted": 0, "sign_ins": 0}
_user_count = 0


def _session_cookie(headers: str | list[str] | None) -> str:
    """``name=value`` of the cookies the Set-Cookie header(s) set (without their attributes)."""
    jar = SimpleCookie()
    for header in [headers] if isinstance(headers, str) else headers or []:
        jar.load(header)
    return "; ".join(f"{name}={morsel.value}" for name, morsel in jar.items())


#: (path, request name) of the planning and support registers' first pages
NEW_REGISTERS = (
    ("/risks", "list: risk register"),
    ("/risks?level=high&open=1", "list: risk register"),
    ("/objectives", "list: objectives"),
    ("/opportunities", "list: opportunities"),
    ("/suppliers", "list: suppliers"),
    ("/equipment", "list: measuring equipment"),
    ("/training", "list: training sessions"),
)


class QmsUser(FastHttpUser):
    wait_time = between(*WAIT)

    def on_start(self) -> None:
        global _user_count
        self.role = ROLES[_user_count % len(ROLES)]
        _user_count += 1
        self.api = {"Authorization": f"Bearer {FIXTURE['token']}", "Accept": "application/json"}
        with _sign_in:  # the first user of a role signs in; the others reuse its session
            if self.role not in _sessions:
                _sessions[self.role] = self._sign_in(FIXTURE["users"][self.role])
        self.web = {"Cookie": _sessions[self.role]}

    def _sign_in(self, email: str) -> str:
        """Sign in through the form; the session cookie (Secure, as in production) is carried by hand over http."""
        page = self.client.get("/login", name="sign in (form)")
        token = CSRF.search(page.text or "")
        if token is None:
            raise RuntimeError("no CSRF token on the login form")
        cookie = _session_cookie(page.headers.get("Set-Cookie"))
        with self.client.post(
            "/login",
            data={"csrf_token": token.group(1), "email": email, "password": FIXTURE["password"]},
            headers={"Cookie": cookie, "Referer": f"{self.host}/login"},  # as a browser does (CSRF over HTTPS)
            name="sign in",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"sign-in answered {response.status_code}")
                raise RuntimeError(f"sign-in of {email} failed: {response.status_code}")
            EXTRA["sign_ins"] += 1
            return _session_cookie(response.headers.get("Set-Cookie")) or cookie

    # ------------------------------------------------------------------ web pages

    def page(self, path: str, name: str) -> None:
        self.client.get(path, headers=self.web, name=name)

    @task(6)
    def nc_register(self) -> None:
        filters = random.choice(
            (
                f"state={random.choice(NC_STATES)}",
                f"severity={random.choice(SEVERITIES)}",
                "open=1&sort=-detected_on",
                f"process={random.choice(FIXTURE['processes'])}",
                "",
            )
        )
        self.page(f"/nonconformities?{filters}&page={random.randint(1, 20)}", "list: NC register (filters, page)")

    @task(3)
    def documents_search(self) -> None:
        self.page(f"/documents?q={random.choice(FIXTURE['document_words'])}", "list: documents (search)")

    @task(2)
    def documents(self) -> None:
        self.page(f"/documents?page={random.randint(1, 20)}", "list: documents (page)")

    @task(3)
    def audits(self) -> None:
        state = random.choice((*AUDIT_STATES, ""))
        self.page(f"/audits?state={state}&page={random.randint(1, 5)}", "list: audits (filters, page)")

    @task(5)
    def nc_record(self) -> None:
        self.page(f"/nonconformities/{random.choice(FIXTURE['nc_ids'])}", "record: NC")

    @task(3)
    def document_record(self) -> None:
        self.page(f"/documents/{random.choice(FIXTURE['document_ids'])}", "record: document")

    @task(3)
    def audit_record(self) -> None:
        self.page(f"/audits/{random.choice(FIXTURE['audit_ids'])}", "record: audit")

    @task(3)
    def dashboard(self) -> None:
        self.page("/", "dashboard")

    @task(2)
    def competence_matrix(self) -> None:
        if self.role == "viewer":  # the matrix is for managers, quality officers and auditors
            self.page("/training", "list: training sessions")
            return
        later = random.choice(FIXTURE.get("matrix_cursors") or [""])  # a later page: the cursor after a person
        filters = random.choice(("", "gaps=1", f"after={later}"))
        self.page(f"/competence?{filters}", "list: competence matrix (500 people)")

    @task(4)
    def new_registers(self) -> None:
        """The planning and support registers (risks, objectives, suppliers, equipment…)."""
        self.page(*random.choice(NEW_REGISTERS))

    @task(1)
    def my_work(self) -> None:
        self.page("/my-work", "list: my work")

    # ------------------------------------------------------------------ REST API

    @task(3)
    def api_ncs(self) -> None:
        self.client.get(
            f"/api/v1/nonconformities?state={random.choice(NC_STATES)}&page={random.randint(1, 20)}",
            headers=self.api,
            name="api: NC list (filter, page)",
        )

    @task(2)
    def api_actions(self) -> None:
        self.client.get(
            f"/api/v1/corrective-actions?page={random.randint(1, 20)}", headers=self.api, name="api: CA list"
        )

    @task(1)
    def api_documents(self) -> None:
        self.client.get(f"/api/v1/documents?page={random.randint(1, 20)}", headers=self.api, name="api: document list")

    @task(1)
    def api_audits(self) -> None:
        self.client.get(f"/api/v1/audits?page={random.randint(1, 5)}", headers=self.api, name="api: audit list")

    @task(2)
    def suppliers(self) -> None:
        state = random.choice(("listed", "approved", "suspended", ""))
        self.page(f"/suppliers?state={state}&page={random.randint(1, 20)}", "list: suppliers (filters, page)")

    @task(2)
    def equipment(self) -> None:
        status = random.choice(("overdue", "due", "in_service", ""))
        self.page(f"/equipment?status={status}&page={random.randint(1, 20)}", "list: equipment (status, page)")

    @task(1)
    def api_suppliers(self) -> None:
        self.client.get(f"/api/v1/suppliers?page={random.randint(1, 20)}", headers=self.api, name="api: supplier list")

    @task(4)
    def fire_event(self) -> None:
        if not _to_fire:
            EXTRA["event_ids_exhausted"] += 1
            return
        nc_id, state = _to_fire.pop()
        event, data, to_state = NEXT_EVENT[state]
        with self.client.post(
            f"/api/v1/nonconformities/{nc_id}/events/{event}",
            json={"data": data()},
            headers=self.api,
            name=f"event: {event} NC (API)",
            catch_response=True,
        ) as response:
            if response.status_code == 409:
                EXTRA["event_conflicts"] += 1
                response.success()
            elif response.status_code != 200:
                response.failure(f"{response.status_code}: {(response.text or '')[:200]}")
            elif to_state in NEXT_EVENT:
                _to_fire.insert(0, (nc_id, to_state))

    @task(3)
    def health(self) -> None:
        self.client.get("/health", name="health")


@events.test_stop.add_listener
def _write_extra(**_: Any) -> None:
    path = os.environ.get("QMS_BENCH_EXTRA")
    if path:
        Path(path).write_text(json.dumps(EXTRA))
