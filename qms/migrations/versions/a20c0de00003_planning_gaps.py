"""planning gaps: an audit finding without an NC can cite the risk it realised; risks and opportunities
raised from a survey trend keep the trend in words (opportunities their survey); change requests link
the risks on the register

Revision ID: a20c0de00003
Revises: f2a0c1d2e3f4
Create Date: 2026-12-06 04:00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "a20c0de00003"
down_revision = "f2a0c1d2e3f4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("risk_realisations", schema=None) as batch_op:
        batch_op.alter_column("nonconformity_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_unique_constraint("uq_risk_realisations_item", ["risk_id", "checklist_item_id"])
        batch_op.create_check_constraint(
            "cites_something", "nonconformity_id IS NOT NULL OR checklist_item_id IS NOT NULL"
        )
        batch_op.create_index(batch_op.f("ix_risk_realisations_checklist_item_id"), ["checklist_item_id"], unique=False)

    with op.batch_alter_table("risks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_detail", sa.Text(), nullable=False, server_default=""))

    with op.batch_alter_table("opportunities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_survey_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("source_detail", sa.Text(), nullable=False, server_default=""))
        batch_op.create_index(batch_op.f("ix_opportunities_source_survey_id"), ["source_survey_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_opportunities_source_survey_id_surveys"), "surveys", ["source_survey_id"], ["id"]
        )

    op.create_table(
        "change_risks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=False),
        sa.Column("risk_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("linked_by_id", sa.Integer(), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["change_id"],
            ["change_requests.id"],
            name=op.f("fk_change_risks_change_id_change_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["linked_by_id"], ["users.id"], name=op.f("fk_change_risks_linked_by_id_users")),
        sa.ForeignKeyConstraint(["risk_id"], ["risks.id"], name=op.f("fk_change_risks_risk_id_risks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_risks")),
        sa.UniqueConstraint("change_id", "risk_id", name="uq_change_risks"),
    )
    with op.batch_alter_table("change_risks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_change_risks_change_id"), ["change_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_change_risks_risk_id"), ["risk_id"], unique=False)


def downgrade():
    with op.batch_alter_table("change_risks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_change_risks_risk_id"))
        batch_op.drop_index(batch_op.f("ix_change_risks_change_id"))
    op.drop_table("change_risks")

    with op.batch_alter_table("opportunities", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_opportunities_source_survey_id_surveys"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_opportunities_source_survey_id"))
        batch_op.drop_column("source_detail")
        batch_op.drop_column("source_survey_id")

    with op.batch_alter_table("risks", schema=None) as batch_op:
        batch_op.drop_column("source_detail")

    op.execute("DELETE FROM risk_realisations WHERE nonconformity_id IS NULL")
    with op.batch_alter_table("risk_realisations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_realisations_checklist_item_id"))
        batch_op.drop_constraint(batch_op.f("ck_risk_realisations_cites_something"), type_="check")
        batch_op.drop_constraint("uq_risk_realisations_item", type_="unique")
        batch_op.alter_column("nonconformity_id", existing_type=sa.Integer(), nullable=False)
