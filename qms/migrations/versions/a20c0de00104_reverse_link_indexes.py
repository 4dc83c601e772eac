"""reverse links indexed: the columns a record page follows back to the records that point at it

An NC's page lists the risks raised from it (``risks.source_nonconformity_id``), a complaint's, a
survey's and a context issue's theirs; a training session's page its attendance records and needs;
an NC's its inspections, out-of-tolerance assessments and objectives. Without an index each of
these reads its whole table: the NC page took 17 ms of its 25 ms of SQL at a million NCs (50,000
risks) reading the risks. The actor columns (``*_by_id``) stay unindexed: no page looks them up.

Also a partial index on the suppliers with a status proposal to decide on, so that My work's
supplier query (evaluations due OR a proposal) is two index scans, not a read of the register
(15 ms → 0.2 ms over 30,000 suppliers).

Revision ID: a20c0de00104
Revises: a20c0de00102
Create Date: 2026-12-06 08:40:00

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "a20c0de00104"
down_revision = "a20c0de00102"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_risks_source_nonconformity_id", "risks", ["source_nonconformity_id"], unique=False)
    op.create_index("ix_risks_source_complaint_id", "risks", ["source_complaint_id"], unique=False)
    op.create_index("ix_risks_source_survey_id", "risks", ["source_survey_id"], unique=False)
    op.create_index("ix_risks_source_issue_id", "risks", ["source_issue_id"], unique=False)
    op.create_index("ix_quality_objectives_nonconformity_id", "quality_objectives", ["nonconformity_id"], unique=False)
    op.create_index("ix_quality_objectives_opportunity_id", "quality_objectives", ["opportunity_id"], unique=False)
    op.create_index("ix_training_needs_nonconformity_id", "training_needs", ["nonconformity_id"], unique=False)
    op.create_index("ix_training_needs_document_revision_id", "training_needs", ["document_revision_id"], unique=False)
    op.create_index("ix_training_needs_training_session_id", "training_needs", ["training_session_id"], unique=False)
    op.create_index("ix_competence_records_training_session_id", "competence_records", ["training_session_id"], unique=False)
    op.create_index("ix_inspections_nonconformity_id", "inspections", ["nonconformity_id"], unique=False)
    op.create_index("ix_inspections_delivery_id", "inspections", ["delivery_id"], unique=False)
    op.create_index("ix_oot_assessments_nonconformity_id", "oot_assessments", ["nonconformity_id"], unique=False)
    op.create_index("ix_survey_rule_triggers_nonconformity_id", "survey_rule_triggers", ["nonconformity_id"], unique=False)
    op.create_index("ix_survey_rule_triggers_complaint_id", "survey_rule_triggers", ["complaint_id"], unique=False)
    op.create_index("ix_training_sessions_material_document_id", "training_sessions", ["material_document_id"], unique=False)
    op.create_index("ix_training_sessions_material_revision_id", "training_sessions", ["material_revision_id"], unique=False)

    op.create_index(
        "ix_suppliers_proposed",
        "suppliers",
        ["id"],
        unique=False,
        sqlite_where=sa.text("proposed_state IS NOT NULL"),
        postgresql_where=sa.text("proposed_state IS NOT NULL"),
    )


def downgrade():
    op.drop_index("ix_suppliers_proposed", table_name="suppliers")
    op.drop_index("ix_training_sessions_material_revision_id", table_name="training_sessions")
    op.drop_index("ix_training_sessions_material_document_id", table_name="training_sessions")
    op.drop_index("ix_survey_rule_triggers_complaint_id", table_name="survey_rule_triggers")
    op.drop_index("ix_survey_rule_triggers_nonconformity_id", table_name="survey_rule_triggers")
    op.drop_index("ix_oot_assessments_nonconformity_id", table_name="oot_assessments")
    op.drop_index("ix_inspections_delivery_id", table_name="inspections")
    op.drop_index("ix_inspections_nonconformity_id", table_name="inspections")
    op.drop_index("ix_competence_records_training_session_id", table_name="competence_records")
    op.drop_index("ix_training_needs_training_session_id", table_name="training_needs")
    op.drop_index("ix_training_needs_document_revision_id", table_name="training_needs")
    op.drop_index("ix_training_needs_nonconformity_id", table_name="training_needs")
    op.drop_index("ix_quality_objectives_opportunity_id", table_name="quality_objectives")
    op.drop_index("ix_quality_objectives_nonconformity_id", table_name="quality_objectives")
    op.drop_index("ix_risks_source_issue_id", table_name="risks")
    op.drop_index("ix_risks_source_survey_id", table_name="risks")
    op.drop_index("ix_risks_source_complaint_id", table_name="risks")
    op.drop_index("ix_risks_source_nonconformity_id", table_name="risks")
