"""My work reads each lifecycle's first rows in its order: indexes on state (or due date) and reference
in the "C" collation (PostgreSQL only)

My work lists overdue first, then by due date, then by reference in code-point order (as Python
sorts). On PostgreSQL that order is ``reference COLLATE "C"``, and an index serves it only when it
is built in the same collation, which SQLAlchemy's models cannot declare portably (SQLite has no
"C" collation; its default, BINARY, is already code-point order and its tables are small). So these
indexes live in this migration only, on PostgreSQL, and ``search.include_object`` leaves them out of
the comparison with the models (their names start with ``ix_work_``).

Revision ID: a20c0de00103
Revises: a20c0de00104
Create Date: 2026-12-06 08:05:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "a20c0de00103"
down_revision = "a20c0de00104"
branch_labels = None
depends_on = None

#: (name, table, columns, partial condition)
INDEXES = (
    # NCs in one state, by reference (reported, root cause identified, contained, action planned, …)
    ("ix_work_nonconformities_state_reference", "nonconformities", 'state, reference COLLATE "C", id', None),
    # triaged NCs by containment due date, NCs whose actions are completed by verification due date
    (
        "ix_work_nonconformities_containment_due",
        "nonconformities",
        'containment_due, reference COLLATE "C", id',
        "state = 'triaged'",
    ),
    (
        "ix_work_nonconformities_verification_due",
        "nonconformities",
        'verification_due, reference COLLATE "C", id',
        "state = 'actions_completed'",
    ),
    # whether an NC has an open action (its guards), from the index alone
    ("ix_work_corrective_actions_nc_state", "corrective_actions", "nonconformity_id, state", None),
    # open corrective actions by due date; implemented ones (state first) by due date
    (
        "ix_work_corrective_actions_open_due",
        "corrective_actions",
        'due_date, reference COLLATE "C", id',
        "state IN ('planned', 'in_progress')",
    ),
    ("ix_work_corrective_actions_state_due", "corrective_actions", 'state, due_date, reference COLLATE "C", id', None),
    # documents by number, and their revisions with work found from them without the table
    ("ix_work_documents_number", "documents", 'number COLLATE "C", id', None),
    # the few (if any) whose number holds a character up to the space: sorted apart (see my_work.py)
    ("ix_work_documents_spaced", "documents", 'number COLLATE "C", id', r"number ~ '[\x01-\x20]'"),
    ("ix_work_document_revisions_state", "document_revisions", "state, document_id, label, id", None),
    # and the same for risk treatment actions
    (
        "ix_work_risk_treatment_actions_open_due",
        "risk_treatment_actions",
        'due_date, reference COLLATE "C", id',
        "state IN ('planned', 'in_progress')",
    ),
    (
        "ix_work_risk_treatment_actions_state_due",
        "risk_treatment_actions",
        'state, due_date, reference COLLATE "C", id',
        None,
    ),
)


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, table, columns, where in INDEXES:
        partial = f" WHERE {where}" if where else ""
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns}){partial}")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, _table, _columns, _where in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
