"""`qms init` builds the schema from the Alembic migrations, identical to the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from qms import create_app
from qms.database import db
from qms.models import AuditChainHead
from qms.services.search import include_object

from ..conftest import PG_URL
from ..helpers import empty_database

DATABASES = ["sqlite"] + (["postgresql"] if PG_URL else [])
pytestmark = pytest.mark.real_commits


@pytest.mark.parametrize("database", DATABASES)
def test_init_migrates_an_empty_database_to_the_models(database, tmp_path, monkeypatch):
    monkeypatch.setenv("QMS_INSTANCE_PATH", str(tmp_path))
    with empty_database(database, tmp_path, "migrate") as url:
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
                if database == "postgresql":
                    _assert_first_pages_read_an_index(conn)
                    _assert_searches_read_trigram_indexes(conn)
            assert diff == [], diff
            # the only entries on a new database: the seal under the audit key, then the bundled
            # certification body profiles, loaded once
            import standards
            from qms.services.audit_trail import verify

            assert db.session.get(AuditChainHead, 1).last_seq == 1 + len(standards.bundled_bodies())
            assert verify(db.session).ok
            again = runner.invoke(args=["init"])
            assert again.exit_code == 0, again.output
            assert "The audit trail is sealed already; nothing to do." in again.output
            db.session.rollback()
            assert db.session.get(AuditChainHead, 1).last_seq == 1 + len(standards.bundled_bodies())
            # Running init again is harmless.
            assert runner.invoke(args=["init"]).exit_code == 0
            db.session.remove()
            db.engine.dispose()


def _assert_first_pages_read_an_index(conn) -> None:
    """The registers whose default order has NULLs first or last read their first page from an index
    in that order (migration a20c0de00107), not by sorting the table: with sorting disabled, a plan
    with no index in the order would still sort."""
    from sqlalchemy import text

    from qms.services.equipment import equipment_register, in_calibration_order
    from qms.services.risks import RiskFilters, risk_register

    pages = {
        "risks": risk_register(RiskFilters.from_args({})),
        "equipment": in_calibration_order(equipment_register()),
    }
    conn.execute(text("SET LOCAL enable_sort = off"))
    for name, stmt in pages.items():
        sql = stmt.limit(26).compile(conn, compile_kwargs={"literal_binds": True})
        plan = "\n".join(row[0] for row in conn.execute(text(f"EXPLAIN {sql}")))
        assert "Sort" not in plan and "Index" in plan, (name, plan)
    conn.rollback()


def _assert_searches_read_trigram_indexes(conn) -> None:
    """The registers' searches for any part of a word (``ILIKE '%…%'``) read the trigram indexes of
    migration a20c0de00109, not the whole table or another index in full: with sequential and plain
    index scans disabled, only a bitmap scan of an index that answers the condition is left, and a
    plan without one would still take a disabled path."""
    from sqlalchemy import or_, select, text

    from qms.models import Document
    from qms.services.filters import contains
    from qms.services.nonconformities import NcFilters, nonconformity_register
    from qms.services.risks import RiskFilters, risk_register

    searches = {
        "nonconformities": nonconformity_register(NcFilters(q="gauge")),
        "nonconformities by process (API)": nonconformity_register(NcFilters(process="produ", process_exact=False)),
        "documents": select(Document).where(or_(contains(Document.number, "sop"), contains(Document.title, "sop"))),
        "risks": risk_register(RiskFilters(q="supplier")),
    }
    for setting in ("enable_seqscan", "enable_indexscan", "enable_indexonlyscan"):
        conn.execute(text(f"SET LOCAL {setting} = off"))
    for name, stmt in searches.items():
        sql = str(stmt.limit(26).compile(conn, compile_kwargs={"literal_binds": True}))
        # compiled for the driver's paramstyle (each % of the patterns doubled): the driver reads it back
        plan = "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {sql}"))
        assert "Bitmap Index Scan on ix_trgm_" in plan, (name, plan)
    conn.rollback()


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL's extensions")
def test_init_without_the_right_to_create_pg_trgm_warns_and_searches_still_work(tmp_path, monkeypatch):
    """A database owner who may not create extensions gets the whole schema, a warning naming
    pg_trgm, no trigram index, and register searches that still answer (by reading the table)."""
    import uuid

    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    from qms.services.nonconformities import NcFilters, nonconformity_register

    monkeypatch.setenv("QMS_INSTANCE_PATH", str(tmp_path))
    base = make_url(PG_URL)
    suffix = uuid.uuid4().hex[:8]
    role, name = f"qms_no_ext_{suffix}", f"qmsflow_no_ext_{suffix}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}" OWNER "{role}"'))
        conn.execute(sa.text(f'REVOKE CREATE ON DATABASE "{name}" FROM "{role}", PUBLIC'))
    try:
        url = base.set(database=name, username=role, password=None).render_as_string(hide_password=False)
        app = create_app({"SQLALCHEMY_DATABASE_URI": url})
        result = app.test_cli_runner().invoke(args=["init"])
        assert result.exit_code == 0, result.output
        assert "Database ready" in result.output
        assert "pg_trgm extension could not be created" in result.output, result.output
        with app.app_context():
            with db.engine.connect() as conn:
                head = conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
                trigram = conn.scalar(sa.text("SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'ix_trgm_%'"))
                extension = conn.scalar(sa.text("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'"))
            assert (trigram, extension) == (0, 0)
            from alembic.script import ScriptDirectory

            assert head == ScriptDirectory(app.extensions["migrate"].directory).get_current_head()
            assert db.session.scalars(nonconformity_register(NcFilters(q="gauge"))).all() == []
            db.session.remove()
            db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()
