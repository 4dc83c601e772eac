"""Fixtures: an app per database (SQLite always, PostgreSQL when QMS_TEST_DATABASE_URL is set).

Tests that take ``app`` (or anything built on it) run once per database.  In
CI (``CI`` set) PostgreSQL is required: an unreachable server fails the run
instead of skipping its tests.

Speed: each test worker builds one app per database and one schema per database, once.
Every test then gets a database as new:

- SQLite: a copy of the worker's template file (schema and search index, nothing else);
- PostgreSQL: one connection with a transaction begun before the test and rolled back after
  it; every session of the test joins it with a savepoint (``join_transaction_mode=
  "create_savepoint"``), so the app's commits and rollbacks behave as usual inside it.

The small organisation most tests take (``org``: seven people, each account created with its
audit-trail entry) and their API tokens (``tokens``) are built once per worker too, into two more
starting points: two more SQLite templates, and on PostgreSQL two more databases of the worker's
(each with its app), whose rolled-back transaction starts from them committed (the sequences start
where they left them).  A test that takes this file's ``org`` (and ``tokens``) starts from that copy
and the fixture loads the people (gives the tokens): the database holds what the fixtures would have
written at the test's start, without paying for it in every test.

A test module can add a starting point of its own: ``pytest.mark.seeded(build=build)`` on tests that take
``org`` runs ``build(org)`` once per worker and database on top of the organisation (into one more
SQLite template; on PostgreSQL into one more database of the worker's, with its app) and hands what
it returns to the tests through the ``seeded`` fixture; the files it uploaded are copied into each
test's upload folder.

Tests marked ``real_commits`` (threads, a second connection, a live server, backup and
restore, migrations, ``kill -9``) commit for real on PostgreSQL: their tables are emptied
(TRUNCATE … RESTART IDENTITY) before and after them.  Tests marked ``sqlite_only`` cannot
depend on the database dialect and run on SQLite alone.

The app's settings, instance folder, upload folder, extensions and the extension singletons
that ``create_app`` configures are restored after every test, so a test sees the app as
``create_app`` made it.
"""

from __future__ import annotations

import contextlib
import copy
import os
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url

from qms import create_app
from qms.database import db
from qms.services.audit_trail import ensure_head
from qms.services.search import ensure_search_index
from qms.services.users import create_user

PG_URL = os.environ.get("QMS_TEST_DATABASE_URL", "")
DATABASES = ["sqlite"] + (["postgresql"] if PG_URL else [])
PASSWORD = "correct-horse-battery"
#: where a test's database starts: empty, with the organisation, with the organisation and its tokens
EMPTY, ORG, TOKENS = "empty", "org", "tokens"

#: what the ``app`` fixture gives create_app (besides the database)
APP_CONFIG = {
    "TESTING": True,
    "WTF_CSRF_ENABLED": False,
    "RATELIMIT_ENABLED": False,
    # the dashboard counts afresh on every view (tests/core/test_web.py tests its cache on its own)
    "QMS_DASHBOARD_CACHE_SECONDS": 0,
    # and counts its panels on every view (tests/dashboard tests the stored panels on their own)
    "QMS_DASHBOARD_PANELS_SECONDS": 0,
    # the test client sends Secure cookies only over https
    "SESSION_COOKIE_SECURE": False,
}


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


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Close the worker's Chromium, if a browser test started it (tests/browser.py)."""
    browser = sys.modules.get("tests.browser")
    if browser is not None:
        browser.close_chromium()


def pytest_report_header(config: pytest.Config) -> str:
    return "databases: " + ", ".join(DATABASES)


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``sqlite_only``: the same as ``parametrize("app", ["sqlite"], indirect=True)``."""
    if "app" not in metafunc.fixturenames or metafunc.definition.get_closest_marker("sqlite_only") is None:
        return
    if any("app" in _argnames(mark) for mark in metafunc.definition.iter_markers("parametrize")):
        return
    metafunc.definition.add_marker(pytest.mark.parametrize("app", ["sqlite"], indirect=True))


def _argnames(mark: pytest.Mark) -> list[str]:
    names = mark.args[0] if mark.args else mark.kwargs.get("argnames", ())
    return [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of this test worker's own on the PostgreSQL server, dropped at the end."""
    yield from _worker_database("")


@pytest.fixture(scope="session")
def postgres_org_url() -> Iterator[str]:
    """The worker's second database: the one whose tests start with the organisation committed."""
    yield from _worker_database("_org")


@pytest.fixture(scope="session")
def postgres_tokens_url() -> Iterator[str]:
    """The worker's third database: the organisation and its API tokens committed."""
    yield from _worker_database("_tokens")


def _worker_database(suffix: str) -> Iterator[str]:
    if not PG_URL:
        pytest.skip("QMS_TEST_DATABASE_URL is not set")
    base = make_url(PG_URL)
    # unique per run, so that two test runs on one server never drop each other's database
    name = f"qmsflow_test_{_worker()}_{uuid.uuid4().hex[:8]}{suffix}"
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


def build_schema() -> None:
    db.create_all()
    ensure_search_index(db.session)
    db.session.commit()


@pytest.fixture(scope="session")
def _pg_schema(request: pytest.FixtureRequest) -> str:
    """The worker's PostgreSQL database with the schema built (once, by the worker's app)."""
    return _worker_app(request, "postgresql").url


@contextlib.contextmanager
def _environ(**values: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _restart_sequences(session) -> sa.TextClause:
    """One statement that puts every id sequence back where it stands now (at 1 on empty tables,
    as TRUNCATE … RESTART IDENTITY does).

    A rolled-back transaction leaves its sequences advanced; the tables are as they were again, so
    each test starts its ids where a new database (or the worker's organisation) leaves them.
    """
    names = session.scalars(
        sa.text(
            "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'S' AND n.nspname = current_schema()"
        )
    ).all()
    calls = []
    for name in sorted(names):
        value, called = session.execute(sa.text(f"SELECT last_value, is_called FROM {name}")).one()
        calls.append(f"setval('{name}', {int(value)}, {'true' if called else 'false'})")
    return sa.text(f"SELECT {', '.join(calls)}")


class _WorkerApp:
    """The one app of this worker on one database, and what a test needs to start from it as new."""

    def __init__(
        self, kind: str, folder: Path, url: str, *, start: str = EMPTY, seed: Callable[[Org], dict] | None = None
    ) -> None:
        """``start`` (PostgreSQL): what the database holds committed (``EMPTY``, ``ORG`` or ``TOKENS``, or a
        module's ``seeded`` start: the organisation and what ``seed`` wrote); SQLite keeps a template of each."""
        self.kind = kind
        self.url = url
        #: the plaintext of the tokens in the database (or template) that has them
        self.tokens: dict[str, str] = {}
        #: per ``seeded`` start: what its build returned, and the folder of the files it uploaded
        self.seeded: dict[str, dict] = {}
        self.uploads: dict[str, Path] = {}
        with _environ(QMS_INSTANCE_PATH=str(folder / "instance")):
            self.app = create_app({"SQLALCHEMY_DATABASE_URI": url, **APP_CONFIG})
        self.app.config["QMS_TEST_DATABASE"] = kind
        self.config = copy.deepcopy(dict(self.app.config))
        self.attributes = dict(vars(self.app))
        self.extensions = dict(self.app.extensions)
        self.shared = [(obj, dict(vars(obj))) for obj in _shared_extensions()]
        with self.app.app_context():
            self.engine = db.engine
            build_schema()
            if kind == "sqlite":
                self.path = Path(make_url(url).database)
                self.templates = {EMPTY: folder / "template.sqlite3"}
                self._save_template(self.templates[EMPTY])
            if kind == "sqlite" or start != EMPTY:
                # what a test that takes ``org`` did first: the chain head, then the seven accounts
                ensure_head(db.session)
                org = Org()
            if kind == "sqlite":
                self.templates[ORG] = folder / "template-org.sqlite3"
                self._save_template(self.templates[ORG])
            if kind == "sqlite" or start == TOKENS:
                self.tokens = _create_tokens(Org(load=True) if kind == "sqlite" else org)
            if kind == "sqlite":
                self.templates[TOKENS] = folder / "template-tokens.sqlite3"
                self._save_template(self.templates[TOKENS])
            if seed is not None:
                self.seeded[start] = seed(org)
                db.session.commit()
                self.uploads[start] = Path(self.app.config["QMS_UPLOAD_FOLDER"])
            if kind == "postgresql":
                self.restart_sequences = _restart_sequences(db.session)
            db.session.remove()
            self.engine.dispose()

    def _save_template(self, template: Path) -> None:
        db.session.remove()
        self.engine.dispose()  # the last connection closed checkpoints the WAL into the file
        shutil.copyfile(self.path, template)

    def add_seeded(self, start: str, seed: Callable[[Org], dict], folder: Path) -> None:
        """SQLite: one more template, the organisation's with what ``seed`` writes (its files in ``folder``)."""
        self.reset(folder)
        with self.app.app_context():
            self.fresh_sqlite_file(ORG)
            self.seeded[start] = seed(Org(load=True))
            db.session.commit()
            self.uploads[start] = Path(self.app.config["QMS_UPLOAD_FOLDER"])
            self.templates[start] = folder / "template-seeded.sqlite3"
            self._save_template(self.templates[start])

    def reset(self, tmp_path: Path) -> None:
        """The app as create_app made it (and the last one it made), with this test's own folders."""
        app = self.app
        for obj, attributes in self.shared:  # as a test's own create_app may have left them
            vars(obj).clear()
            vars(obj).update(attributes)
        for name in [name for name in vars(app) if name not in self.attributes]:
            delattr(app, name)
        for name, value in self.attributes.items():
            if vars(app).get(name) is not value:
                setattr(app, name, value)
        app.config.clear()
        app.config.update(copy.deepcopy(self.config))
        app.extensions.clear()
        app.extensions.update(self.extensions)
        instance = tmp_path / "instance"
        instance.mkdir(exist_ok=True)
        app.instance_path = str(instance)
        app.config["QMS_UPLOAD_FOLDER"] = os.environ.get("QMS_UPLOAD_FOLDER", str(instance / "uploads"))
        celery = app.extensions["celery"]
        celery.conf.beat_schedule_filename = f"{instance}/celerybeat-schedule"
        # as create_app leaves it: this app's Celery runs the shared tasks
        celery.set_current()
        celery.set_default()

    def fresh_sqlite_file(self, start: str) -> None:
        """Nothing holds the file open; the copy of the template ``start`` replaces it (and its WAL)."""
        self.engine.dispose()
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(self.templates[start], self.path)

    def truncate(self) -> None:
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        with self.engine.begin() as conn:
            conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="session")
def _worker_apps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, _WorkerApp]]:
    apps: dict[str, _WorkerApp] = {}
    yield apps
    for built in apps.values():
        with built.app.app_context():
            db.session.remove()
            db.engine.dispose()


_PG_URL_FIXTURES = {EMPTY: "postgres_url", ORG: "postgres_org_url", TOKENS: "postgres_tokens_url"}


@pytest.fixture(scope="session")
def _seeded_postgres_urls() -> Iterator[Callable[[str], str]]:
    """Makes the worker's databases of the ``seeded`` starts; drops them at the end."""
    made: list[Iterator[str]] = []

    def new(suffix: str) -> str:
        made.append(_worker_database(suffix))
        return next(made[-1])

    yield new
    for database in made:
        next(database, None)


def _worker_app(
    request: pytest.FixtureRequest, kind: str, start: str = EMPTY, seed: Callable[[Org], dict] | None = None
) -> _WorkerApp:
    """The worker's app on ``kind``; on PostgreSQL, the one whose database holds ``start``."""
    apps = request.getfixturevalue("_worker_apps")
    key = kind if kind == "sqlite" or start == EMPTY else f"{kind}+{start}"
    if key not in apps:
        folder = request.getfixturevalue("tmp_path_factory").mktemp(f"app-{key}")
        if kind == "sqlite":
            apps[key] = _WorkerApp(kind, folder, f"sqlite:///{folder / 'qms.sqlite3'}")
        elif seed is not None:
            url = request.getfixturevalue("_seeded_postgres_urls")(f"_seeded{len(apps)}")
            apps[key] = _WorkerApp(kind, folder, url, start=start, seed=seed)
        else:
            apps[key] = _WorkerApp(kind, folder, request.getfixturevalue(_PG_URL_FIXTURES[start]), start=start)
    if kind == "sqlite" and seed is not None and start not in apps[key].seeded:
        apps[key].add_seeded(start, seed, request.getfixturevalue("tmp_path_factory").mktemp("seeded"))
    return apps[key]


def _takes_ours(request: pytest.FixtureRequest, name: str) -> bool:
    """Whether the test takes this file's fixture ``name`` (not a test module's own of that name)."""
    if name not in request.fixturenames:
        return False
    info = getattr(request.node, "_fixtureinfo", None)
    definitions = info.name2fixturedefs.get(name) if info is not None else None
    func = getattr(definitions[-1], "func", None) if definitions else None
    return getattr(func, "__module__", None) == __name__ and getattr(func, "__name__", None) == name


def _shared_extensions() -> tuple[object, ...]:
    """The extension objects that every app shares: create_app configures them for the app it makes."""
    from qms.extensions import csrf, login_manager, mail, migrate
    from qms.security import limiter, talisman

    return (limiter, talisman, login_manager, csrf, mail, migrate)


def _dispose_other_engines(apps: dict[str, _WorkerApp]) -> None:
    """Close the pooled connections of apps a test made itself (they may point at the worker's database)."""
    keep = {built.engine for built in apps.values()}
    for engines in list(db._app_engines.values()):
        for engine in engines.values():
            if engine not in keep:
                engine.dispose()


@contextlib.contextmanager
def _joined_transaction(engine: sa.Engine, restart_sequences: sa.TextClause) -> Iterator[None]:
    """Every session of the app of ``engine`` joins one outer transaction with a savepoint; rolled back at the end.

    Flask-SQLAlchemy's ``Session.get_bind`` answers the app's engine whatever the session was given,
    so each session is handed the test's connection as it begins: it then serves that engine with
    the connection (a savepoint of its own), and ``db.engine`` stays the engine.
    """
    connection = engine.connect()
    outer = connection.begin()
    connection.execute(restart_sequences)
    factory = db.session.session_factory
    saved_options = dict(factory.kw)
    factory.kw["join_transaction_mode"] = "create_savepoint"

    def join(session, transaction) -> None:
        if transaction.parent is None and session.get_bind() is engine:
            session.connection(bind_arguments={"bind": connection})

    event.listen(factory, "after_transaction_create", join)
    try:
        yield
    finally:
        event.remove(factory, "after_transaction_create", join)
        factory.kw.clear()
        factory.kw.update(saved_options)
        if outer.is_active:
            outer.rollback()
        connection.close()


#: what the test's database starts with (``org`` then loads the people, ``tokens`` gives the tokens)
_START = pytest.StashKey[str]()
_TOKENS = pytest.StashKey[dict[str, str]]()
_SEEDED = pytest.StashKey[dict]()


@pytest.fixture(params=DATABASES)
def app(request: pytest.FixtureRequest, tmp_path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("QMS_INSTANCE_PATH", str(tmp_path / "instance"))
    kind = request.param
    real_commits = request.node.get_closest_marker("real_commits") is not None
    start = EMPTY
    seeded = request.node.get_closest_marker("seeded")
    seed = seeded.kwargs["build"] if seeded is not None else None
    # a real_commits test on PostgreSQL empties its tables: it builds the organisation itself
    if _takes_ours(request, "org") and not (kind == "postgresql" and real_commits):
        start = TOKENS if _takes_ours(request, "tokens") else ORG
        if seed is not None:
            if start == TOKENS:
                pytest.fail("a seeded start holds the organisation without its tokens")
            start = f"seeded:{seed.__module__}.{seed.__qualname__}"
    elif seed is not None:
        pytest.fail("a seeded start is built on the organisation: the test must take org (and not be real_commits)")
    built = _worker_app(request, kind, start, seed)
    request.node.stash[_START] = start
    if start == TOKENS:
        request.node.stash[_TOKENS] = built.tokens
    if seed is not None:
        request.node.stash[_SEEDED] = built.seeded[start]
    app = built.app
    built.reset(tmp_path)
    if seed is not None and built.uploads[start].is_dir():
        shutil.copytree(built.uploads[start], app.config["QMS_UPLOAD_FOLDER"], dirs_exist_ok=True)
    with app.app_context():
        if kind == "sqlite":
            built.fresh_sqlite_file(start)
            joined = contextlib.nullcontext()
        elif real_commits:
            built.truncate()
            joined = contextlib.nullcontext()
        else:
            joined = _joined_transaction(built.engine, built.restart_sequences)
        try:
            with joined:
                ensure_head(db.session)
                yield app
                db.session.remove()
        finally:
            db.session.remove()
            _dispose_other_engines(request.getfixturevalue("_worker_apps"))
            if kind == "postgresql" and real_commits:
                built.truncate()
    built.reset(tmp_path)


@pytest.fixture(scope="session")
def _demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the worker keeps the demo's database file (and its uploads) once seeded."""
    return tmp_path_factory.mktemp("demo")


@pytest.fixture
def demo(app, _demo_folder: Path, request: pytest.FixtureRequest):
    """The demo organisation (``qms seed-demo``), on SQLite only: seeded by the worker's first test that
    takes it, a copy of its database file for every test after (the uploads folder is shared)."""
    if app.config["QMS_TEST_DATABASE"] != "sqlite":
        pytest.fail("the demo fixture copies a SQLite file: mark the test sqlite_only")
    if request.node.stash.get(_START, EMPTY) != EMPTY:
        pytest.fail("the demo is seeded into an empty database: a test taking demo cannot take org")
    app.config["QMS_UPLOAD_FOLDER"] = str(_demo_folder / "uploads")
    path = Path(make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database)
    saved = _demo_folder / "demo.sqlite3"
    db.session.remove()
    db.engine.dispose()
    if saved.exists():
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(saved, path)
    else:
        from qms.demo import seed_demo

        seed_demo()
        db.session.remove()
        db.engine.dispose()  # the last connection closed checkpoints the WAL into the file
        shutil.copyfile(path, saved)
    return app


@pytest.fixture
def seeded(org, request: pytest.FixtureRequest) -> dict:
    """What the module's ``pytest.mark.seeded(build=...)`` returned when it built the test's starting point."""
    made = request.node.stash.get(_SEEDED, None)
    if made is None:
        pytest.fail("the seeded fixture needs the pytest.mark.seeded(build=...) marker")
    return dict(made)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


#: the organisation's people, in the order they are created: attribute, e-mail key, role
_ORG_PEOPLE = (
    ("admin", "admin", "admin"),
    ("manager", "manager", "manager"),
    ("quality", "quality", "quality_officer"),
    ("quality2", "quality_two", "quality_officer"),
    ("auditor", "auditor", "internal_auditor"),
    ("owner", "owner", "process_owner"),
    ("viewer", "viewer", "viewer"),
)


class Org:
    """A small organisation: one user per role, plus a second quality officer.

    ``Org()`` creates the accounts; ``Org(load=True)`` reads them from a database that has them.
    """

    def __init__(self, *, load: bool = False) -> None:
        if load:
            from qms.models import User

            emails = {f"{key}@example.test": attribute for attribute, key, _ in _ORG_PEOPLE}
            people = db.session.scalars(sa.select(User).where(User.email.in_(emails))).all()
            assert len(people) == len(emails), "the test database lacks the organisation"
            for person in people:
                setattr(self, emails[person.email], person)
            # end the read, as creating them ended with a commit: on SQLite an open read keeps its
            # snapshot, and work committed on another connection (an in-process Celery task) is unseen
            db.session.commit()
            return
        for attribute, key, role in _ORG_PEOPLE:
            name = key.replace("_", " ").title()
            setattr(self, attribute, create_user(f"{key}@example.test", name, PASSWORD, {role}))


@pytest.fixture
def org(app, request: pytest.FixtureRequest) -> Org:
    return Org(load=request.node.stash.get(_START, EMPTY) != EMPTY)


def login(client, email: str, password: str = PASSWORD):
    return client.post("/login", data={"email": email, "password": password}, follow_redirects=False)


def _create_tokens(org: Org) -> dict[str, str]:
    from qms.services.tokens import create_token

    from .helpers import ORG_PEOPLE

    return {who: create_token(getattr(org, who), "tests")[1] for who in ORG_PEOPLE}


@pytest.fixture
def tokens(org, request: pytest.FixtureRequest) -> dict[str, str]:
    """An API token for each person of the organisation (a test module may override it)."""
    made = request.node.stash.get(_TOKENS, None)
    return dict(made) if made is not None else _create_tokens(org)


@pytest.fixture
def api(client, tokens, org):
    """The test client speaking to the REST API as ``api.get("quality", url)``."""
    from .helpers import ORG_PEOPLE, ApiClient

    return ApiClient(client, tokens, {who: getattr(org, who).email for who in ORG_PEOPLE})
