"""keyed audit trail: each entry names the key of its MAC and carries the digest of its row

Revision ID: d1a00000001
Revises: d2a0c0de0001
Create Date: 2026-12-06 01:00:00.000000

Existing entries keep ``key_id`` NULL: they are legacy (plain SHA-256) entries, which
``qms init`` (through ``qms audit-trail seal``) anchors under the key after the upgrade.
"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "d1a00000001"
down_revision = "d2a0c0de0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("audit_entries") as batch:
        batch.add_column(sa.Column("key_id", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("row_digest", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("audit_entries") as batch:
        batch.drop_column("row_digest")
        batch.drop_column("key_id")
