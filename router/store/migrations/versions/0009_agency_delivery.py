"""agency delivery mode: push to an endpoint, wait for the agency's pull, or hand over on paper

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 02:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('agencies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivery', sa.String(length=8), nullable=False, server_default='push'))
    # An agency without an endpoint could never be pushed to: it waits for its pull from now on.
    op.execute("UPDATE agencies SET delivery = 'pull' WHERE endpoint IS NULL")


def downgrade() -> None:
    with op.batch_alter_table('agencies', schema=None) as batch_op:
        batch_op.drop_column('delivery')
