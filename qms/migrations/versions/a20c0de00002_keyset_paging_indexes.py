"""keyset paging: an index on each large register's default sort and the id

Each register pages by keyset (``WHERE (sort key, id) > (cursor)``, see qms/services/paging.py),
which an index on (sort key, id) answers from the cursor on, however deep the page.

Revision ID: a20c0de00002
Revises: a20c0de00003
Create Date: 2026-12-06 04:20:00

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "a20c0de00002"
down_revision = "a20c0de00003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_nonconformities_created_at_id", "nonconformities", ["created_at", "id"], unique=False)
    op.create_index("ix_nonconformities_detected_on_id", "nonconformities", ["detected_on", "id"], unique=False)
    op.create_index("ix_corrective_actions_created_at_id", "corrective_actions", ["created_at", "id"], unique=False)
    op.create_index("ix_audits_planned_start_id", "audits", ["planned_start", "id"], unique=False)
    op.create_index("ix_documents_number_id", "documents", ["number", "id"], unique=False)
    op.create_index("ix_complaints_received_at_id", "complaints", ["received_at", "id"], unique=False)
    op.create_index("ix_risks_current_score_id", "risks", ["current_score", "id"], unique=False)
    op.create_index("ix_suppliers_name_id", "suppliers", ["name", "id"], unique=False)
    op.create_index("ix_equipment_next_calibration_due_identifier_id", "equipment", ["next_calibration_due", "identifier", "id"], unique=False)
    op.create_index("ix_training_sessions_planned_on_id", "training_sessions", ["planned_on", "id"], unique=False)
    op.create_index("ix_training_needs_created_at_id", "training_needs", ["created_at", "id"], unique=False)
    op.create_index("ix_quality_objectives_deadline_id", "quality_objectives", ["deadline", "id"], unique=False)
    op.create_index("ix_opportunities_created_at_id", "opportunities", ["created_at", "id"], unique=False)
    op.create_index("ix_change_requests_created_at_id", "change_requests", ["created_at", "id"], unique=False)
    op.create_index("ix_context_reviews_planned_for_id", "context_reviews", ["planned_for", "id"], unique=False)
    op.create_index("ix_surveys_created_at_id", "surveys", ["created_at", "id"], unique=False)


def downgrade():
    op.drop_index("ix_surveys_created_at_id", table_name="surveys")
    op.drop_index("ix_context_reviews_planned_for_id", table_name="context_reviews")
    op.drop_index("ix_change_requests_created_at_id", table_name="change_requests")
    op.drop_index("ix_opportunities_created_at_id", table_name="opportunities")
    op.drop_index("ix_quality_objectives_deadline_id", table_name="quality_objectives")
    op.drop_index("ix_training_needs_created_at_id", table_name="training_needs")
    op.drop_index("ix_training_sessions_planned_on_id", table_name="training_sessions")
    op.drop_index("ix_equipment_next_calibration_due_identifier_id", table_name="equipment")
    op.drop_index("ix_suppliers_name_id", table_name="suppliers")
    op.drop_index("ix_risks_current_score_id", table_name="risks")
    op.drop_index("ix_complaints_received_at_id", table_name="complaints")
    op.drop_index("ix_documents_number_id", table_name="documents")
    op.drop_index("ix_audits_planned_start_id", table_name="audits")
    op.drop_index("ix_corrective_actions_created_at_id", table_name="corrective_actions")
    op.drop_index("ix_nonconformities_detected_on_id", table_name="nonconformities")
    op.drop_index("ix_nonconformities_created_at_id", table_name="nonconformities")
