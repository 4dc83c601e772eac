"""document full-text search

Revision ID: 45bffea8ef3f
Revises: d549be02feb5
Create Date: 2026-11-24 10:00:00.000000

The search index of controlled documents (ISO 9001 7.5): an FTS5 virtual table on SQLite, a
table with a tsvector column and a GIN index on PostgreSQL (see qms.services.search), back-filled
from the revisions already stored.  It is not part of the models, so autogenerate must ignore it
(qms.services.search.include_object).
"""

from alembic import op

from qms.services.search import drop_search_index, ensure_search_index, reindex_all

# revision identifiers, used by Alembic.
revision = "45bffea8ef3f"
down_revision = "d549be02feb5"
branch_labels = None
depends_on = None


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name not in ("sqlite", "postgresql"):
        raise NotImplementedError(f"document search needs SQLite (FTS5) or PostgreSQL, not {bind.dialect.name}")
    ensure_search_index(bind)
    reindex_all(bind)


def downgrade():
    drop_search_index(op.get_bind())
