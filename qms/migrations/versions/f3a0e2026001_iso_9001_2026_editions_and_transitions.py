"""ISO 9001:2026: imported mapping sets, edition status and transition dates, certificates' edition history and planned transition audits, actions per clause change

Revision ID: f3a0e2026001
Revises: b8a1c0de0002
Create Date: 2026-12-06 00:39:46.105754

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "f3a0e2026001"
down_revision = "b8a1c0de0002"
branch_labels = None
depends_on = None


def upgrade():

    op.create_table(
        "imported_mappings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_identifier", sa.String(length=60), nullable=False),
        sa.Column("target_identifier", sa.String(length=60), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("source_format", sa.String(length=10), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("entry_count", sa.Integer(), nullable=False),
        sa.Column("imported_by_id", sa.Integer(), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["imported_by_id"], ["users.id"], name=op.f("fk_imported_mappings_imported_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imported_mappings")),
        sa.UniqueConstraint("source_identifier", "target_identifier", name="uq_imported_mappings_pair"),
    )
    op.create_table(
        "standard_edition_statuses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identifier", sa.String(length=60), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=True),
        sa.Column("replaces", sa.String(length=60), nullable=True),
        sa.Column("transition_ends_on", sa.Date(), nullable=True),
        sa.Column("cutover_on", sa.Date(), nullable=True),
        sa.Column("warn_months", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("edited_by_id", sa.Integer(), nullable=True),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["edited_by_id"], ["users.id"], name=op.f("fk_standard_edition_statuses_edited_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standard_edition_statuses")),
        sa.UniqueConstraint("identifier", name=op.f("uq_standard_edition_statuses_identifier")),
    )
    with op.batch_alter_table("certifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("transition_audit_planned_on", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("transition_audit_combined_with", sa.String(length=20), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("previous_standard_identifier", sa.String(length=60), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("edition_changed_on", sa.Date(), nullable=True))

    with op.batch_alter_table("review_actions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("change_item_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_review_actions_change_item_id"), ["change_item_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_review_actions_change_item_id_iso_change_items"),
            "iso_change_items",
            ["change_item_id"],
            ["id"],
            ondelete="SET NULL",
        )

    _refresh_unedited_body_profiles()


def _refresh_unedited_body_profiles() -> None:
    """Body profiles nobody edited take the corrected bundled ones: every rule labelled with its source,
    "programme settings" instead of "ISO/IEC 17021-1 defaults", the unsourced SGS rule gone."""
    from standards import body_to_dict, bundled_bodies

    bodies = sa.table(
        "certification_bodies",
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("profile", sa.JSON),
        sa.column("edited_at", sa.DateTime),
    )
    connection = op.get_bind()
    for body in bundled_bodies():
        connection.execute(
            bodies.update()
            .where(bodies.c.code == body.code, bodies.c.edited_at.is_(None))
            .values(name=body.name, profile=body_to_dict(body))
        )


def downgrade():

    with op.batch_alter_table("review_actions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_review_actions_change_item_id_iso_change_items"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_review_actions_change_item_id"))
        batch_op.drop_column("change_item_id")

    with op.batch_alter_table("certifications", schema=None) as batch_op:
        batch_op.drop_column("edition_changed_on")
        batch_op.drop_column("previous_standard_identifier")
        batch_op.drop_column("transition_audit_combined_with")
        batch_op.drop_column("transition_audit_planned_on")

    op.drop_table("standard_edition_statuses")
    op.drop_table("imported_mappings")
