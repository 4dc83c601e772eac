"""inspections (incoming, in-process, final) with the instrument used; supplier evaluation weights an
administrator sets; training sessions link the revision of their material

Revision ID: a20c0de00004
Revises: a20c0de00002
Create Date: 2026-12-06 03:50:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "a20c0de00004"
down_revision = "a20c0de00002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "supplier_criteria_weights",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("weights", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("set_by_id", sa.Integer(), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["set_by_id"], ["users.id"], name=op.f("fk_supplier_criteria_weights_set_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supplier_criteria_weights")),
    )
    op.create_table(
        "inspections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=30), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("inspected_on", sa.Date(), nullable=False),
        sa.Column("item", sa.String(length=200), nullable=False),
        sa.Column("lot", sa.String(length=120), nullable=False),
        sa.Column("quantity", sa.String(length=60), nullable=False),
        sa.Column("criteria", sa.Text(), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("result", sa.String(length=20), nullable=False),
        sa.Column("concession", sa.Text(), nullable=False),
        sa.Column("process", sa.String(length=200), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=True),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column("order_reference", sa.String(length=60), nullable=False),
        sa.Column("equipment_id", sa.Integer(), nullable=True),
        sa.Column("nonconformity_id", sa.Integer(), nullable=True),
        sa.Column("inspected_by_id", sa.Integer(), nullable=False),
        sa.Column("review_comment", sa.Text(), nullable=False),
        sa.Column("void_reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=40), nullable=False),
        sa.Column("lifecycle_version", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('incoming', 'in_process', 'final')", name=op.f("ck_inspections_kind")),
        sa.CheckConstraint("result IN ('accepted', 'rejected', 'concession')", name=op.f("ck_inspections_result")),
        sa.CheckConstraint(
            "kind <> 'incoming' OR supplier_id IS NOT NULL", name=op.f("ck_inspections_incoming_supplier")
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"], ["supplier_deliveries.id"], name=op.f("fk_inspections_delivery_id_supplier_deliveries")
        ),
        sa.ForeignKeyConstraint(["equipment_id"], ["equipment.id"], name=op.f("fk_inspections_equipment_id_equipment")),
        sa.ForeignKeyConstraint(["inspected_by_id"], ["users.id"], name=op.f("fk_inspections_inspected_by_id_users")),
        sa.ForeignKeyConstraint(
            ["nonconformity_id"], ["nonconformities.id"], name=op.f("fk_inspections_nonconformity_id_nonconformities")
        ),
        sa.ForeignKeyConstraint(["supplier_id"], ["suppliers.id"], name=op.f("fk_inspections_supplier_id_suppliers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspections")),
        sa.UniqueConstraint("reference", name=op.f("uq_inspections_reference")),
    )
    with op.batch_alter_table("inspections", schema=None) as batch_op:
        batch_op.create_index("ix_inspections_equipment_date", ["equipment_id", "inspected_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_inspections_inspected_on"), ["inspected_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_inspections_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_inspections_result"), ["result"], unique=False)
        batch_op.create_index(batch_op.f("ix_inspections_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_inspections_supplier_id"), ["supplier_id"], unique=False)

    with op.batch_alter_table("training_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("material_revision_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_training_sessions_material_revision_id_document_revisions"),
            "document_revisions",
            ["material_revision_id"],
            ["id"],
        )

    # Sessions recorded before: their material is the revision that was in force on the day of the
    # session (held, or planned), else the one in force now, else the document's latest revision.
    bind = op.get_bind()
    sessions = bind.execute(
        sa.text(
            "SELECT id, material_document_id, COALESCE(held_on, planned_on) AS day FROM training_sessions "
            "WHERE material_document_id IS NOT NULL"
        )
    ).all()
    for session_id, document_id, day in sessions:
        revision_id = bind.execute(
            sa.text(
                "SELECT id FROM document_revisions WHERE document_id = :document AND effective_date IS NOT NULL "
                "AND effective_date <= :day AND state IN ('effective', 'review_due', 'superseded', 'obsolete') "
                "ORDER BY effective_date DESC, id DESC LIMIT 1"
            ),
            {"document": document_id, "day": day},
        ).scalar()
        if revision_id is None:
            revision_id = bind.execute(
                sa.text(
                    "SELECT id FROM document_revisions WHERE document_id = :document "
                    "ORDER BY CASE WHEN state IN ('effective', 'review_due') THEN 0 ELSE 1 END, id DESC LIMIT 1"
                ),
                {"document": document_id},
            ).scalar()
        if revision_id is not None:
            bind.execute(
                sa.text("UPDATE training_sessions SET material_revision_id = :revision WHERE id = :id"),
                {"revision": revision_id, "id": session_id},
            )


def downgrade():
    with op.batch_alter_table("training_sessions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_training_sessions_material_revision_id_document_revisions"), type_="foreignkey"
        )
        batch_op.drop_column("material_revision_id")

    with op.batch_alter_table("inspections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inspections_supplier_id"))
        batch_op.drop_index(batch_op.f("ix_inspections_state"))
        batch_op.drop_index(batch_op.f("ix_inspections_result"))
        batch_op.drop_index(batch_op.f("ix_inspections_kind"))
        batch_op.drop_index(batch_op.f("ix_inspections_inspected_on"))
        batch_op.drop_index("ix_inspections_equipment_date")

    op.drop_table("inspections")
    op.drop_table("supplier_criteria_weights")
