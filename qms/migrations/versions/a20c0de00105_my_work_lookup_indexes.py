"""My work's row-by-row lookups: the open corrective actions of an NC, the revisions with work of a
document (partial indexes, PostgreSQL only)

A page of My work reads NCs whose plan runs in reference order and asks of each whether an action is
still open (most have one: some 500 asked to fill a page at a million NCs), and documents in number
order asking of each whether a revision is a draft, in review or approved (some 800 asked). The
indexes on the whole tables answered from the heap (every action or revision of the record, then
their state); these hold only the open actions and the revisions with work, a small fraction, and
answer from the index. Named ``ix_work_`` like migration a20c0de00103's, and like them outside the
models (``search.include_object``).

Revision ID: a20c0de00105
Revises: a20c0de00103
Create Date: 2026-12-06 10:45:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "a20c0de00105"
down_revision = "a20c0de00103"
branch_labels = None
depends_on = None

#: (name, table, columns, partial condition): the states are CorrectiveAction.OPEN_STATES and
#: my_work.REVISION_WORK_STATES without review_due (those are read by their review date)
INDEXES = (
    (
        "ix_work_corrective_actions_open_nc",
        "corrective_actions",
        "nonconformity_id",
        "state IN ('planned', 'in_progress')",
    ),
    (
        "ix_work_document_revisions_undated",
        "document_revisions",
        "document_id",
        "state IN ('draft', 'in_review', 'approved')",
    ),
)


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, table, columns, where in INDEXES:
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns}) WHERE {where}")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, _table, _columns, _where in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
