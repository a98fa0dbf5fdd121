"""the agencies' gap-free feed: a position per agency on every delivery

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 03:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('feed_seq', sa.Integer(), nullable=True))
    # What was delivered before the feed existed gets its positions in the order it was made.
    op.execute("UPDATE deliveries SET feed_seq = r.n FROM (SELECT id, ROW_NUMBER() OVER "
               "(ORDER BY created_at, id) AS n FROM deliveries) AS r WHERE deliveries.id = r.id")
    op.execute("INSERT INTO counters (name, value) SELECT 'feed', (SELECT MAX(feed_seq) FROM deliveries) "
               "WHERE EXISTS (SELECT 1 FROM deliveries)")
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_feed', ['agency_code', 'feed_seq'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_feed')
        batch_op.drop_column('feed_seq')
    op.execute("DELETE FROM counters WHERE name = 'feed'")
