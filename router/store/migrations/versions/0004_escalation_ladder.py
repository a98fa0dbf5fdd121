"""escalation ladder marks on handoffs

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 09:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ack_warn_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('handle_warn_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        for c in ('escalated_at', 'handle_warn_at', 'ack_warn_at'):
            batch_op.drop_column(c)
