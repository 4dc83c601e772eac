"""Keyset paging (qms/services/paging.py): every row once and in order, however rows come and go
between pages; bad cursors refused (422 naming the parameter in the API, the first page in the web);
the cursor format other tools build on; the Link header."""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import re
from typing import Any

import pytest
from sqlalchemy import select

from qms.database import db
from qms.models import Nonconformity
from qms.services import fire
from qms.services.paging import BadCursor, decode_cursor, encode_cursor, keyset_page

from ..conftest import login
from ..helpers import error, nc_in_state, new_nc, ok

NCS = "/api/v1/nonconformities"


def _register(org, n: int = 7) -> list[Nonconformity]:
    """``n`` NCs with repeated and missing sort values (severity NULL on some, shared dates)."""
    ncs = []
    for i in range(n):
        nc = new_nc(
            org,
            title=f"Finding {'ABC'[i % 3]} {i}",
            source="internal_audit" if i % 2 else "customer_complaint",
            process="Production" if i % 3 else "Dispatch",
            detected_on=dt.date(2026, 3, 1 + i % 2),
        )
        if i % 3 == 1:
            fire(nc, "triage", org.quality, {"severity": "minor" if i % 2 else "major"})
        ncs.append(nc)
    return ncs


def _raw_cursor(json_text: str) -> str:
    """A cursor of JSON text as given (``encode_cursor`` cannot make one with a lone surrogate)."""
    return base64.urlsafe_b64encode(json_text.encode()).decode("ascii").rstrip("=")


# --- the cursor -----------------------------------------------------------------------------


def test_cursor_format_is_the_contract():
    cursor = encode_cursor([dt.date(2026, 3, 1), 500])
    assert "=" not in cursor
    assert base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)) == b'["2026-03-01",500]'
    assert decode_cursor(cursor) == ["2026-03-01", 500]
    moment = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
    assert decode_cursor(encode_cursor([moment, None, 7])) == [moment.isoformat(), None, 7]


@pytest.mark.parametrize("text", ["", "!!!", "bm90IGpzb24", encode_cursor([])[:-1] or "W10", "e30", "x" * 3000])
def test_undecodable_cursors_are_refused(text):
    with pytest.raises(BadCursor):
        decode_cursor(text)


# --- the pager on its own, NULLs and directions -------------------------------------------------


@pytest.mark.parametrize(
    "order",
    [
        lambda: (Nonconformity.severity.asc().nulls_last(), Nonconformity.id.asc()),
        lambda: (Nonconformity.severity.desc().nulls_first(), Nonconformity.id.desc()),
        lambda: (Nonconformity.severity.asc().nulls_first(), Nonconformity.id.asc()),
        lambda: (Nonconformity.severity.desc().nulls_last(), Nonconformity.id.asc()),
        lambda: (Nonconformity.detected_on.desc(), Nonconformity.title.asc(), Nonconformity.id.desc()),
        lambda: (Nonconformity.id.desc(),),
    ],
)
def test_pager_walks_every_row_once_forwards_and_back(app, org, order):
    _register(org)
    stmt = select(Nonconformity).order_by(*order())
    expected = list(db.session.scalars(stmt.with_only_columns(Nonconformity.id)))  # NULLs placed explicitly
    seen: list[int] = []
    page = keyset_page(stmt, per_page=2)
    pages = [page]
    while True:
        seen += [nc.id for nc in page.items]
        if not page.has_next:
            break
        page = keyset_page(stmt, per_page=2, after=page.next_cursor)
        pages.append(page)
    assert seen == expected
    assert page.count == len(expected) and not page.count_capped
    # and back again with ``before``
    back: list[int] = []
    page = pages[-1]
    while page.has_prev:
        page = keyset_page(stmt, per_page=2, before=page.prev_cursor)
        back = [nc.id for nc in page.items] + back
    assert back == expected[: len(back)] and back[:2] == expected[:2]


def test_cursor_values_must_fit_the_keys(app, org):
    _register(org, 2)
    stmt = select(Nonconformity).order_by(Nonconformity.detected_on, Nonconformity.id)
    for values in (["2026-03-01"], ["2026-03-01", 1, 2], ["not a date", 1], ["2026-03-01", "1"], [None, 1]):
        with pytest.raises(BadCursor):
            keyset_page(stmt, per_page=2, after=encode_cursor(values))
    assert keyset_page(stmt, per_page=2, after=encode_cursor(["2026-03-01", 0])).items


def test_capped_count_stops_at_the_cap(app, org):
    _register(org, 4)
    page = keyset_page(select(Nonconformity).order_by(Nonconformity.id), per_page=2, cap=3)
    assert page.count == 4 and page.count_capped and page.total is None


# --- the web register ---------------------------------------------------------------------


def _rows(body: str) -> list[int]:
    return [int(i) for i in re.findall(r'<td class="ref"><a href="/nonconformities/(\d+)">', body)]


def _link(body: str, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" rel="{rel}">', body)
    return html.unescape(found.group(1)) if found else None


@pytest.mark.parametrize("sort", ["-reference", "reference", "detected_on", "-title", "state", "-severity", "process"])
def test_web_register_pages_every_row_once_while_rows_are_added(client, org, monkeypatch, sort):
    monkeypatch.setattr("qms.web.paging.PER_PAGE", 2)
    _register(org)
    login(client, org.viewer.email)
    url = f"/nonconformities?sort={sort}&source=internal_audit"
    first = client.get(url).get_data(as_text=True)
    expected = [nc.id for nc in db.session.scalars(_query(sort, "internal_audit"))]
    seen, body, added = _rows(first), first, []
    while (following := _link(body, "next")) is not None:
        assert "source=internal_audit" in following and (f"sort={sort}" in following or sort == "-reference")
        added.append(new_nc(org, title="Added between pages", source="internal_audit").id)  # inserted mid-walk
        body = client.get(following).get_data(as_text=True)
        seen += _rows(body)
    assert len(seen) == len(set(seen))
    assert [i for i in seen if i not in added] == expected
    assert "First" in body and _link(body, "prev")


def _query(sort: str, source: str):
    from qms.services.nonconformities import NcFilters, nonconformity_register

    return nonconformity_register(NcFilters(sort=sort, source=source))


def test_web_bad_cursor_shows_the_first_page(client, org):
    _register(org, 3)
    login(client, org.viewer.email)
    for sort, cursor in (
        ("detected_on", "garbage!"),
        ("detected_on", encode_cursor(["x", "y", "z"])),
        ("detected_on", encode_cursor(["2026-13-45", 1])),
        ("title", _raw_cursor('["\\ud800",1]')),
    ):
        response = client.get(f"/nonconformities?sort={sort}&after={cursor}")
        body = response.get_data(as_text=True)
        assert response.status_code == 200 and "out of date or damaged" in body
        assert len(_rows(body)) == 3


def test_web_count_is_capped(client, org, monkeypatch):
    _register(org, 3)
    login(client, org.viewer.email)
    assert "3 shown (3 in all)" in client.get("/nonconformities").get_data(as_text=True)
    monkeypatch.setattr("qms.services.paging.COUNT_CAP", 2)
    assert "3 shown (more than 2 in all)" in client.get("/nonconformities").get_data(as_text=True)


# --- the API ------------------------------------------------------------------------------


def _walk(api, url: str, org=None) -> tuple[list[int], list[dict[str, Any]]]:
    seen, pages = [], []
    page = ok(api.get("viewer", url))
    while True:
        pages.append(page)
        seen += [item["id"] for item in page["items"]]
        if page["next"] is None:
            return seen, pages
        if org is not None:
            new_nc(org, title="Added between pages")
        page = ok(api.get("viewer", f"{url}&after={page['next']}"))


@pytest.mark.parametrize("sort", ["-created_at", "reference", "-detected_on", "severity", "-severity", "state"])
def test_api_pages_by_cursor_while_rows_are_added(api, org, sort):
    _register(org)
    expected = [i["id"] for i in ok(api.get("viewer", f"{NCS}?sort={sort}&per_page=100"))["items"]]
    seen, pages = _walk(api, f"{NCS}?sort={sort}&per_page=2", org)
    assert len(seen) == len(set(seen))
    assert [i for i in seen if i in expected] == expected
    assert pages[0]["prev"] is None and pages[1]["prev"] is not None and pages[1]["page"] is None
    assert pages[0]["total"] == len(expected)


def test_api_link_header_and_previous_page(api, org):
    _register(org, 5)
    response = api.get("viewer", f"{NCS}?per_page=2&source=customer_complaint&page=1")
    body = ok(response)
    link = response.headers["Link"]
    assert link.endswith('rel="next"') and f"after={body['next']}" in link and "source=customer_complaint" in link
    assert "&page=" not in link
    second = api.get("viewer", link[1 : link.index(">")].replace("http://localhost", ""))
    assert 'rel="prev"' in second.headers["Link"] and 'rel="next"' not in second.headers["Link"]
    before = ok(api.get("viewer", f"{NCS}?per_page=2&source=customer_complaint&before={ok(second)['prev']}"))
    assert [i["id"] for i in before["items"]] == [i["id"] for i in body["items"]]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("after=garbage!", "after"),
        (f"after={encode_cursor(['a', 'b', 'c'])}", "after"),
        (f"sort=detected_on&after={encode_cursor(['2026-02-30', 1])}", "after"),
        (f"after={encode_cursor(['1'])}", "after"),
        (f"before={encode_cursor([True])}", "before"),
        (f"page=2&after={encode_cursor([1])}", "page"),
        (f"after={'A' * 2001}", "after"),
        # a lone surrogate cannot be encoded for the database; an offset that moves the moment past year 1
        ("sort=reference&after=" + _raw_cursor('["\\ud800",1]'), "after"),
        ("sort=-created_at&before=" + _raw_cursor('["0001-01-01T00:00:00+14:00",1]'), "before"),
        # numbers an INTEGER column (32 bits on PostgreSQL) cannot be compared with
        (f"sort=severity&after={encode_cursor([2**40, 1])}", "after"),
        (f"sort=-created_at&after={encode_cursor(['2026-03-01T00:00:00+00:00', -(2**31) - 1])}", "after"),
    ],
)
def test_api_bad_cursor_is_a_422_naming_it(api, org, query, field):
    _register(org, 2)
    body = error(api.get("viewer", f"{NCS}?{query}"), 422)
    assert field in json.dumps(body)


def test_corrective_actions_page_by_cursor(api, org):
    from qms.services.nonconformities import add_corrective_action

    nc = nc_in_state(org, "root_cause_identified")
    for i in range(3):
        add_corrective_action(
            nc,
            org.quality,
            title=f"Action {i}",
            owner_id=org.owner.id,
            due_date=dt.date.today() + dt.timedelta(days=30),
        )
    seen, _ = _walk(api, "/api/v1/corrective-actions?per_page=2")
    assert len(seen) == 3 == len(set(seen))
