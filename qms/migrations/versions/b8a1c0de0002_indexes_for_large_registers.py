"""indexes for large registers: NCs by detection and creation date, actions by creation date

Revision ID: b8a1c0de0002
Revises: b8a1c0de0001
Create Date: 2026-11-24 04:40:00.000000

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "b8a1c0de0002"
down_revision = "b8a1c0de0001"
branch_labels = None
depends_on = None


def upgrade():
    # the NC register sorts by detection date and the API lists NCs and actions newest first:
    # without these, every page of 100,000 NCs sorts the whole table
    op.create_index("ix_nonconformities_detected_on", "nonconformities", ["detected_on"], unique=False)
    op.create_index("ix_nonconformities_created_at", "nonconformities", ["created_at"], unique=False)
    op.create_index("ix_corrective_actions_created_at", "corrective_actions", ["created_at"], unique=False)


def downgrade():
    op.drop_index("ix_corrective_actions_created_at", table_name="corrective_actions")
    op.drop_index("ix_nonconformities_created_at", table_name="nonconformities")
    op.drop_index("ix_nonconformities_detected_on", table_name="nonconformities")
