"""No stored value reaches a person: every page a quality officer and an administrator can reach
in the demo organisation, and every kind of PDF linked from them, read in words.

A crawler follows the links from the dashboard and reads the visible text of each page (not
markup, scripts, code samples or the diagrams' SVG). It fails on what only a developer would
write: snake_case values (``five_whys``), JSON (``["a", "b"]``, ``{"key": …}``), standard
identifiers (``iso-9001-2015``), lifecycle versions and body codes.
"""

from __future__ import annotations

import html.parser
import io
import re
from collections import defaultdict

import pytest
from pypdf import PdfReader

from qms.demo import DEMO_PASSWORD, seed_demo

pytestmark = pytest.mark.parametrize("app", ["sqlite"], indirect=True)

DEVELOPER_VALUES = re.compile(
    r"\b[a-z0-9]+_[a-z0-9_]+\b"  # snake_case
    r"|[\[{]\s*\"|\"\s*:\s*[\[{\"0-9]"  # JSON
    r"|\biso-\d{4}-\d{4}[a-z0-9-]*"  # a standard's identifier
    r"|\blifecycle v\d|\((?:kebs|sgs)\)"
)
SKIPPED_TAGS = {"script", "style", "code", "pre", "textarea", "title", "svg", "option"}
NOT_CRAWLED = ("/static", "/api", "/logout", "/calendar-feed")
MAX_PAGES = 400


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


def crawl(client) -> tuple[dict[str, set[str]], set[str], int]:
    """(developer value → pages showing it, PDF links found, pages read)."""
    seen: set[str] = set()
    queue = ["/"]
    found: dict[str, set[str]] = defaultdict(set)
    pdfs: set[str] = set()
    while queue and len(seen) < MAX_PAGES:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        assert response.status_code < 500, url
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        page = response.get_data(as_text=True)
        for link in re.findall(r'href="(/[^"#?]*)', page):
            if link.endswith(".pdf"):
                pdfs.add(link)
            elif not link.startswith(NOT_CRAWLED) and not link.endswith((".csv", ".xlsx", ".ics")) and link not in seen:
                queue.append(link)
        for value in DEVELOPER_VALUES.findall(visible_text(page)):
            found[value].add(url)
    return found, pdfs, len(seen)


def one_of_each_kind(links: set[str]) -> list[str]:
    """One PDF per kind of report: the links with their numbers taken out are the kinds."""
    kinds: dict[str, str] = {}
    for link in sorted(links):
        kinds.setdefault(re.sub(r"\d+", "N", link), link)
    return list(kinds.values())


@pytest.mark.parametrize("email", ["quality@example.com", "admin@example.com"])
def test_pages_and_pdfs_of_the_demo_show_no_stored_values(app, client, email):
    with app.app_context():
        seed_demo()
    assert client.post("/login", data={"email": email, "password": DEMO_PASSWORD}).status_code == 302

    found, pdfs, pages = crawl(client)

    assert pages > 40, f"only {pages} pages reached: is the crawler signed in?"
    problems = [f"{value!r} on {sorted(urls)[:3]}" for value, urls in sorted(found.items())]
    for link in one_of_each_kind(pdfs):
        response = client.get(link)
        assert response.status_code == 200 and response.mimetype == "application/pdf", link
        text = " ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(response.data)).pages)
        problems += [f"{value!r} in {link}" for value in sorted(set(DEVELOPER_VALUES.findall(text)))]
    assert not problems, "\n".join(problems)
