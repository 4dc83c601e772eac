"""dashboard counts and panels: the open NCs and corrective actions counted by the values the
dashboard charts, and the organisation-wide panels as last rendered

The dashboard sums these rows instead of counting every open record (qms/services/dashboard_counts.py
keeps them in the same flush as each change). The upgrade fills them from the records: one GROUP BY
per figure over the open NCs and the actions (seconds at a million NCs). The panels are rendered
by the first view or the beat (``qms.refresh_dashboard``).

Revision ID: a20c0de00102
Revises: a20c0de00004
Create Date: 2026-12-06 07:30:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "a20c0de00102"
down_revision = "a20c0de00004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "dashboard_counts",
        sa.Column("figure", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("figure", "key", name=op.f("pk_dashboard_counts")),
    )
    op.create_table(
        "dashboard_panels",
        sa.Column("variant", sa.String(length=40), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("variant", name=op.f("pk_dashboard_panels")),
    )
    from qms.services.dashboard_counts import recount, write

    connection = op.get_bind()
    write(connection, recount(connection))


def downgrade():
    op.drop_table("dashboard_panels")
    op.drop_table("dashboard_counts")
