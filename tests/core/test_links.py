"""No page links a person to a page they may not open: every link each demo role is shown, followed one
to at most three pages of each kind, answers (a page, a file or a redirect), never "forbidden" or "not found".

The demo is seeded once per test worker (conftest's ``demo``); each test starts from a copy of it. A
link that leads only some roles somewhere is shown as plain text to the others.
"""

from __future__ import annotations

import re
from collections import defaultdict

import pytest

from qms.demo import DEMO_PASSWORD

pytestmark = pytest.mark.parametrize("app", ["sqlite"], indirect=True)
ROLES = {
    "administrator": "admin@example.com",
    "manager": "manager@example.com",
    "quality officer": "quality@example.com",
    "auditor": "auditor@example.com",
    "process owner": "owner@example.com",
    "viewer": "viewer@example.com",
}
NOT_FOLLOWED = ("/static", "/logout")
MAX_PAGES = 600
#: pages of one kind (their address with the numbers taken out) followed: a person's own record and others'
PER_KIND = 3


def kind_of(link: str) -> str:
    return re.sub(r"\d+", "N", link)


@pytest.mark.parametrize("role", list(ROLES))
def test_every_link_shown_to_a_role_opens(demo, client, role):
    assert client.post("/login", data={"email": ROLES[role], "password": DEMO_PASSWORD}).status_code == 302
    seen: set[str] = set()
    kinds: dict[str, int] = defaultdict(int)
    linked_from: dict[str, set[str]] = defaultdict(set)
    queue = ["/"]
    refused: dict[str, int] = {}
    while queue and len(seen) < MAX_PAGES:
        link = queue.pop(0)
        if link in seen or kinds[kind_of(link)] >= PER_KIND:
            continue
        seen.add(link)
        kinds[kind_of(link)] += 1
        response = client.get(link)
        if response.status_code in (403, 404):
            refused[link] = response.status_code
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        for found in re.findall(r'href="(/[^"#?]*)', response.get_data(as_text=True)):
            linked_from[found].add(link)
            if not found.startswith(NOT_FOLLOWED) and found not in seen:
                queue.append(found)

    assert len(seen) > 40, f"only {len(seen)} pages reached: is the crawler signed in?"
    assert not refused, "\n".join(
        f"{link} answers {status}, linked from {sorted(linked_from[link])[:3]}"
        for link, status in sorted(refused.items())
    )
