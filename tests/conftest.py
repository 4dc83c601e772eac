"""Fixtures: an app per database (SQLite always, PostgreSQL when QMS_TEST_DATABASE_URL is set).

Tests that take ``app`` (or anything built on it) run once per database.  In
CI (``CI`` set) PostgreSQL is required: an unreachable server fails the run
instead of skipping its tests.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from qms import create_app
from qms.database import db
from qms.services.audit_trail import ensure_head
from qms.services.search import ensure_search_index
from qms.services.users import create_user

PG_URL = os.environ.get("QMS_TEST_DATABASE_URL", "")
DATABASES = ["sqlite"] + (["postgresql"] if PG_URL else [])
PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """Real Argon2id with the smallest cost: the suite hashes hundreds of passwords."""
    from argon2 import PasswordHasher

    from qms.services import users

    saved = users._hasher, users._DUMMY_HASH
    users._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    users._DUMMY_HASH = users._hasher.hash("dummy-password")
    yield
    users._hasher, users._DUMMY_HASH = saved


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("CI") and not PG_URL:
        raise pytest.UsageError("CI must test PostgreSQL too: set QMS_TEST_DATABASE_URL (see .ci/run)")


def pytest_report_header(config: pytest.Config) -> str:
    return "databases: " + ", ".join(DATABASES)


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of this test worker's own on the PostgreSQL server, dropped at the end."""
    if not PG_URL:
        pytest.skip("QMS_TEST_DATABASE_URL is not set")
    base = make_url(PG_URL)
    # unique per run, so that two test runs on one server never drop each other's database
    name = f"qmsflow_test_{_worker()}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:  # a skip would hide a broken CI: fail loudly
        pytest.fail(f"PostgreSQL at {base.render_as_string(hide_password=True)} is unreachable: {exc}")
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def _pg_schema(postgres_url: str) -> str:
    app = create_app({"SQLALCHEMY_DATABASE_URI": postgres_url, "TESTING": True})
    with app.app_context():
        db.create_all()
        ensure_search_index(db.session)
        db.session.commit()
        db.engine.dispose()
    return postgres_url


def _database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "postgresql":
        url = request.getfixturevalue("_pg_schema")
        return url
    return f"sqlite:///{tmp_path / 'qms.sqlite3'}"


@pytest.fixture(params=DATABASES)
def app(request: pytest.FixtureRequest, tmp_path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("QMS_INSTANCE_PATH", str(tmp_path / "instance"))
    url = _database_url(request, tmp_path)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            # the dashboard counts afresh on every view (tests/core/test_web.py tests its cache on its own)
            "QMS_DASHBOARD_CACHE_SECONDS": 0,
            # the test client sends Secure cookies only over https
            "SESSION_COOKIE_SECURE": False,
        }
    )
    app.config["QMS_TEST_DATABASE"] = request.param
    with app.app_context():
        if request.param == "postgresql":
            tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            db.session.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            db.session.commit()
        else:
            db.create_all()
            ensure_search_index(db.session)
            db.session.commit()
        ensure_head(db.session)
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class Org:
    """A small organisation: one user per role, plus a second quality officer."""

    def __init__(self) -> None:
        def user(key: str, *roles: str):
            return create_user(f"{key}@example.test", key.replace("_", " ").title(), PASSWORD, set(roles))

        self.admin = user("admin", "admin")
        self.manager = user("manager", "manager")
        self.quality = user("quality", "quality_officer")
        self.quality2 = user("quality_two", "quality_officer")
        self.auditor = user("auditor", "internal_auditor")
        self.owner = user("owner", "process_owner")
        self.viewer = user("viewer", "viewer")


@pytest.fixture
def org(app) -> Org:
    return Org()


def login(client, email: str, password: str = PASSWORD):
    return client.post("/login", data={"email": email, "password": password}, follow_redirects=False)


@pytest.fixture
def tokens(org) -> dict[str, str]:
    """An API token for each person of the organisation (a test module may override it)."""
    from qms.services.tokens import create_token

    from .helpers import ORG_PEOPLE

    return {who: create_token(getattr(org, who), "tests")[1] for who in ORG_PEOPLE}


@pytest.fixture
def api(client, tokens):
    """The test client speaking to the REST API as ``api.get("quality", url)``."""
    from .helpers import ApiClient

    return ApiClient(client, tokens)
