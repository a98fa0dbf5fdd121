"""agency priority: which of two equally placed agencies takes a dispute

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 21:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('agencies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('priority', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('agencies', schema=None) as batch_op:
        batch_op.drop_column('priority')
