"""What every request pays to know who is asking: one statement for the signed-in user (or the API
token's user) with their roles, and no statement for the roles of the other people a page shows.

Roles are still read afresh on every request (``tests/identity/test_web.py`` checks that a role
change ends the other sessions and that the admin's own renewed session carries on).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import g
from sqlalchemy import event

from qms.database import db

from ..conftest import login
from ..helpers import new_nc


@contextmanager
def counting() -> Iterator[list[str]]:
    """The SQL statements sent to the database while the block runs (single-spaced)."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def _fresh() -> None:
    """As a new request in production: no user cached by flask-login, no row kept by the session
    (the tests share one application context with the requests they make)."""
    g.pop("_login_user", None)
    db.session.expire_all()


def _role_loads(statements: list[str]) -> list[str]:
    return [s for s in statements if s.startswith("SELECT user_roles")]


def _selects(statements: list[str]) -> list[str]:
    """The SELECTs (SQLite's BEGIN and the tests' savepoints left out)."""
    return [s for s in statements if s.startswith("SELECT")]


def test_a_signed_in_page_loads_its_user_with_their_roles_in_one_statement(client, org):
    url = f"/nonconformities/{new_nc(org).id}"  # raised by the auditor, who is named on the page
    assert login(client, org.quality.email).status_code == 302
    _fresh()
    with counting() as statements:
        page = client.get(url)
    assert page.status_code == 200
    assert "Triage" in page.get_data(as_text=True)  # the quality officer's role is known: the action is offered
    first = _selects(statements)[0]
    assert first.startswith("SELECT users.") and "JOIN user_roles" in first, "\n".join(statements)
    assert not _role_loads(statements), "roles loaded apart from their user:\n" + "\n".join(_role_loads(statements))


def test_an_api_request_finds_its_token_user_and_roles_in_one_statement(api, org):
    new_nc(org)
    assert api.get("quality", "/api/v1/nonconformities").status_code == 200  # notes the token's first use
    _fresh()
    with counting() as statements:
        answer = api.get("quality", "/api/v1/nonconformities")
    assert answer.status_code == 200
    triage = [e for e in answer.get_json()["items"][0]["available_events"] if e["event"] == "triage"]
    assert triage and triage[0]["allowed"]  # the quality officer's role is known
    first = _selects(statements)[0]
    assert first.startswith("SELECT api_tokens.") and "JOIN users" in first and "JOIN user_roles" in first
    assert not any(s.startswith("SELECT users.") and "WHERE users.id = " in s for s in statements)
    assert not _role_loads(statements)
