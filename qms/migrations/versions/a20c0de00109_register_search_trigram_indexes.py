"""Register search by any part of a word without reading the whole table: trigram indexes
(PostgreSQL only)

The registers' search box finds records whose reference, title or description contains the words
typed, anywhere and in any case (``ILIKE '%…%'``, ``services.filters.contains``). No B-tree index
can answer that, so every search read the whole table: 226 ms for the NCs' search at 100,000 NCs
(and ten times that at 1M), 13 ms for the documents' at 10,000 documents, twice per page (the
count and the page). PostgreSQL's ``pg_trgm`` extension indexes the three-letter pieces of each
value, and its GIN indexes answer ``ILIKE '%…%'`` directly (0.2 ms for the same NC search).

``pg_trgm`` ships with PostgreSQL (Debian's ``postgresql`` package; elsewhere ``postgresql-contrib``)
and is a trusted extension: the owner of the database may create it. Where it is not available or
may not be created, this migration says so and adds no index: the searches give the same answers,
by reading the table as before. SQLite keeps reading its table (the embedded database is small).
The indexes' names start with ``ix_trgm_``; ``search.include_object`` leaves them out of the
comparison with the models, like the other PostgreSQL-only indexes.

Revision ID: a20c0de00109
Revises: a20c0de00107
Create Date: 2026-12-06 14:00:00

"""

import logging

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a20c0de00109"
down_revision = "a20c0de00107"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

#: (table, column) searched with ILIKE '%…%' by a register or the API
SEARCHED = (
    ("nonconformities", "reference"),
    ("nonconformities", "title"),
    ("nonconformities", "description"),
    ("nonconformities", "process"),
    ("documents", "number"),
    ("documents", "title"),
    ("documents", "process"),
    ("risks", "reference"),
    ("risks", "title"),
    ("risks", "cause"),
    ("risks", "effect"),
)


def _name(table: str, column: str) -> str:
    return f"ix_trgm_{table}_{column}"


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError as exc:
        log.warning(
            "PostgreSQL's pg_trgm extension could not be created (%s): register searches will read "
            "their tables. Install PostgreSQL's contrib modules, or have the database owner run "
            "CREATE EXTENSION pg_trgm, then run this migration again (qms init after a downgrade to "
            "a20c0de00107).",
            str(exc.orig).splitlines()[0],
        )
        return
    for table, column in SEARCHED:
        op.execute(f"CREATE INDEX IF NOT EXISTS {_name(table, column)} ON {table} USING gin ({column} gin_trgm_ops)")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in SEARCHED:
        op.execute(f"DROP INDEX IF EXISTS {_name(table, column)}")
    # the extension stays: other databases' objects or an administrator's may use it
