"""Registers whose default order puts NULLs where a plain index cannot: indexes in that order
(PostgreSQL only)

The risk register opens sorted by current score, highest first, unrated risks last
(``current_score DESC NULLS LAST, id DESC``), and the measuring-equipment register by next
calibration due, undated instruments first (``next_calibration_due NULLS FIRST, identifier, id``).
On PostgreSQL an ascending index read backwards gives ``DESC NULLS FIRST`` and read forwards
``ASC NULLS LAST``, so neither order was served by the existing (column, id) indexes: each first
page sorted the whole table (50,000 risks at 1M NCs). These indexes are built in the pages' order.
SQLite cannot declare NULLS FIRST/LAST in an index, and its default places NULLs where these pages
want them for the equipment (first, ascending) — so, like My work's indexes, these live in this
migration only, on PostgreSQL, and ``search.include_object`` leaves them out of the comparison with
the models (their names start with ``ix_order_``).

Revision ID: a20c0de00107
Revises: a20c0de00105
Create Date: 2026-12-06 10:40:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "a20c0de00107"
down_revision = "a20c0de00105"
branch_labels = None
depends_on = None

#: (name, table, columns in the page's order)
INDEXES = (
    ("ix_order_risks_score_desc", "risks", "current_score DESC NULLS LAST, id DESC"),
    ("ix_order_equipment_calibration_due", "equipment", "next_calibration_due NULLS FIRST, identifier, id"),
)


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, table, columns in INDEXES:
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns})")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, _table, _columns in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
