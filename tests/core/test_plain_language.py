"""The demo as each role reads it: no stored value reaches a person, and no link shown to a person
leads to a refusal. The pages each demo role can reach in the demo organisation (manager, quality
officer, auditor, process owner, viewer, administrator), and every kind of PDF linked from them, read
in words; and a refused signature answers in a sentence on every signed event the demo offers.

The demo is seeded once per test worker (conftest's ``demo``); each test starts from a copy of its database file. The
quality officer reads every page reachable; the other roles read every kind of page, and at most
``PER_KIND`` pages of each kind (record pages differ by role in their actions, not by record), so
that six roles cost little more than two did. Each kind of PDF is read once, by the first role that
reaches it.

A crawler follows the links from the dashboard and reads the visible text of each page (not
markup, scripts, code samples or the diagrams' SVG). It fails on what only a developer would
write: snake_case values (``five_whys``), JSON (``["a", "b"]``, ``{"key": …}``), standard
identifiers (``iso-9001-2015``), lifecycle versions, body codes and a record's edit counter.
The same crawl fails on a link that answers "forbidden" or "not found" to the person it is shown
to: the pages it follows, and the downloads, API and calendar links it does not read (opened, at
most ``PER_KIND`` of each kind). A link that leads only some roles somewhere is plain text to the others.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html.parser
import io
import re
from collections import defaultdict

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from qms.database import db
from qms.demo import DEMO_PASSWORD
from qms.models import User, WorkflowRecord
from qms.services.identity import SignatureRefused
from qms.services.workflow import SIGNATURE_PASSWORD_WRONG, available_events_many, fire

pytestmark = pytest.mark.parametrize("app", ["sqlite"], indirect=True)

DEVELOPER_VALUES = re.compile(
    r"\b[a-z0-9]+_[a-z0-9_]+\b"  # snake_case
    r"|[\[{]\s*\"|\"\s*:\s*[\[{\"0-9]"  # JSON
    r"|\biso-\d{4}-\d{4}[a-z0-9-]*"  # a standard's identifier
    r"|\blifecycle v\d|\((?:kebs|sgs)\)"
    r"|· version \d"  # a record's edit counter (kept to refuse a stale form), which no reader asked for
)
SKIPPED_TAGS = {"script", "style", "code", "pre", "textarea", "title", "svg", "option"}
NOT_CRAWLED = ("/static", "/api", "/logout", "/calendar-feed")
#: links the crawl neither reads nor opens
NOT_OPENED = ("/static", "/logout")
MAX_PAGES = 400
#: pages of one kind (their address with the numbers taken out) a role other than the quality officer reads
PER_KIND = 3
#: a demo user of every role; the quality officer reads every page
ROLES = {
    "quality officer": "quality@example.com",
    "administrator": "admin@example.com",
    "manager": "manager@example.com",
    "auditor": "auditor@example.com",
    "process owner": "owner@example.com",
    "viewer": "viewer@example.com",
}
#: kinds of PDF already read by an earlier test of the module
PDF_KINDS_READ: set[str] = set()


class VisibleText(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in SKIPPED_TAGS:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED_TAGS and self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if not self.depth:
            self.parts.append(data)


def visible_text(page: str) -> str:
    parser = VisibleText()
    parser.feed(page)
    return " ".join(parser.parts)


def kind_of(link: str) -> str:
    """The kind of a page or PDF: its address with the numbers taken out."""
    return re.sub(r"\d+", "N", link)


@dataclasses.dataclass
class Crawl:
    #: developer value → the pages showing it
    found: dict[str, set[str]]
    #: the PDF links found
    pdfs: set[str]
    #: pages read
    pages: int
    #: a link shown that answers 403 or 404 → its status and the pages that show it
    refused: dict[str, tuple[int, set[str]]]


def crawl(client, per_kind: int | None = None) -> Crawl:
    """Read the pages reachable from the dashboard (at most ``per_kind`` of each kind when given) and
    open, without reading, the other links they show (at most ``PER_KIND`` of each kind)."""
    seen: set[str] = set()
    kinds: dict[str, int] = defaultdict(int)
    queue = ["/"]
    found: dict[str, set[str]] = defaultdict(set)
    pdfs: set[str] = set()
    linked_from: dict[str, set[str]] = defaultdict(set)
    statuses: dict[str, int] = {}
    while queue and len(seen) < MAX_PAGES:
        url = queue.pop(0)
        if url in seen or (per_kind is not None and kinds[kind_of(url)] >= per_kind):
            continue
        seen.add(url)
        kinds[kind_of(url)] += 1
        response = client.get(url)
        assert response.status_code < 500, url
        statuses[url] = response.status_code
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        page = response.get_data(as_text=True)
        for link in re.findall(r'href="(/[^"#?]*)', page):
            linked_from[link].add(url)
            if link.endswith(".pdf"):
                pdfs.add(link)
            elif not link.startswith(NOT_CRAWLED) and not link.endswith((".csv", ".xlsx", ".ics")) and link not in seen:
                queue.append(link)
        for value in DEVELOPER_VALUES.findall(visible_text(page)):
            found[value].add(url)
    # the links not read as pages (downloads, the API, calendar feeds): opened, a few of each kind
    opened: dict[str, int] = defaultdict(int)
    for link in sorted(set(linked_from) - seen):
        if link.startswith(NOT_OPENED) or opened[kind_of(link)] >= PER_KIND:
            continue
        opened[kind_of(link)] += 1
        response = client.get(link)
        assert response.status_code < 500, link
        statuses[link] = response.status_code
    refused = {link: (status, linked_from[link]) for link, status in statuses.items() if status in (403, 404)}
    return Crawl(found, pdfs, len(seen), refused)


def one_of_each_kind(links: set[str]) -> list[str]:
    """One PDF per kind of report not read yet in this module."""
    kinds: dict[str, str] = {}
    for link in sorted(links):
        if kind_of(link) not in PDF_KINDS_READ:
            kinds.setdefault(kind_of(link), link)
    return list(kinds.values())


@pytest.mark.parametrize("role", list(ROLES))
def test_the_demo_read_by_each_role_shows_no_stored_values_and_no_refused_links(demo, client, role):
    email = ROLES[role]
    assert client.post("/login", data={"email": email, "password": DEMO_PASSWORD}).status_code == 302

    read = crawl(client, None if role == "quality officer" else PER_KIND)

    assert read.pages > 40, f"only {read.pages} pages reached: is the crawler signed in?"
    problems = [f"{value!r} on {sorted(urls)[:3]}" for value, urls in sorted(read.found.items())]
    for link in one_of_each_kind(read.pdfs):
        response = client.get(link)
        assert response.status_code == 200 and response.mimetype == "application/pdf", link
        PDF_KINDS_READ.add(kind_of(link))
        text = " ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(response.data)).pages)
        problems += [f"{value!r} in {link}" for value in sorted(set(DEVELOPER_VALUES.findall(text)))]
    problems += [
        f"{link} answers {status}, linked from {sorted(pages)[:3]}"
        for link, (status, pages) in sorted(read.refused.items())
    ]
    assert not problems, "\n".join(problems)


def _workflow_models() -> list[type[WorkflowRecord]]:
    found, todo = [], list(WorkflowRecord.__subclasses__())
    while todo:
        model = todo.pop()
        todo += model.__subclasses__()
        if getattr(model, "__tablename__", None):
            found.append(model)
    return sorted(found, key=lambda model: model.__name__)


def test_a_wrong_signature_password_is_answered_in_a_sentence_on_every_signed_event(demo):
    """Every signed event a demo user may fire on a demo record, fired with a wrong password: refused
    with the sentence that names the password, never "is incorrect" alone."""
    today = dt.date.today()
    users = list(db.session.scalars(select(User).order_by(User.id)))
    signed: dict[tuple[str, str], str] = {}
    for model in _workflow_models():
        records = list(db.session.scalars(select(model)))
        for user in users:
            for record_id, events in available_events_many(records, user, today).items():
                for availability in events:
                    key = (model.lifecycle_name, availability.event.name)
                    if not (availability.allowed and availability.event.signature) or key in signed:
                        continue
                    record = db.session.get(model, record_id)
                    with pytest.raises(SignatureRefused) as refused:
                        fire(record, availability.event.name, user, {}, signature_password="not-my-password")
                    signed[key] = refused.value.errors["signature_password"]
                    db.session.refresh(user)
                    user.signing_failures, user.signing_locked_until = 0, None  # not locked by the test
                    db.session.commit()

    assert len(signed) >= 8, f"only {len(signed)} signed events reached: {sorted(signed)}"
    wrong = {key: message for key, message in signed.items() if message != SIGNATURE_PASSWORD_WRONG}
    assert not wrong, wrong
    assert SIGNATURE_PASSWORD_WRONG.startswith("The password you signed with is incorrect. ")
