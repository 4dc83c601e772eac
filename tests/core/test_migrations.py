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
