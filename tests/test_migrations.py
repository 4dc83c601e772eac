"""`qms init` builds the schema from the Alembic migrations, identical to the models."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import make_url

from qms import create_app
from qms.database import db
from qms.models import AuditChainHead
from qms.services.search import include_object

from .conftest import PG_URL


@contextlib.contextmanager
def _database(kind: str, tmp_path) -> Iterator[str]:
    """An empty database: a SQLite file, or a new PostgreSQL database dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    base = make_url(PG_URL)
    name = f"qmsflow_migrate_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


DATABASES = ["sqlite"] + (["postgresql"] if PG_URL else [])


@pytest.mark.parametrize("database", DATABASES)
def test_init_migrates_an_empty_database_to_the_models(database, tmp_path, monkeypatch):
    monkeypatch.setenv("QMS_INSTANCE_PATH", str(tmp_path))
    with _database(database, tmp_path) as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url})
        runner = app.test_cli_runner()
        result = runner.invoke(args=["init"])
        assert result.exit_code == 0, result.output
        assert "Database ready" in result.output
        with app.app_context():
            with db.engine.connect() as conn:
                context = MigrationContext.configure(
                    conn, opts={"compare_type": False, "include_object": include_object}
                )
                diff = compare_metadata(context, db.metadata)
            assert diff == [], diff
            # the only entries on a new database: the bundled certification body profiles, loaded once
            import standards
            from qms.services.audit_trail import verify

            assert db.session.get(AuditChainHead, 1).last_seq == len(standards.bundled_bodies())
            assert verify(db.session).ok
            again = runner.invoke(args=["init"])
            assert again.exit_code == 0, again.output
            db.session.rollback()
            assert db.session.get(AuditChainHead, 1).last_seq == len(standards.bundled_bodies())
            # Running init again is harmless.
            assert runner.invoke(args=["init"]).exit_code == 0
            db.session.remove()
            db.engine.dispose()
